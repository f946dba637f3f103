"""Every county table carries its county: a transfer's parcels, payments and holds, a management right's parcels.

The tables a county's rows live in are the unit a distributed deployment places together (docs/scaling.md:
one shard group per county, Citus distributing on ``county_code``). Four child tables reached their county only
through a parent; they now carry it, filled from the parent for rows already there.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

#: table → the statement that fills its county from its parent
_FILL = {
    'transfer_parcels': "UPDATE transfer_parcels SET county_code = "
                        "(SELECT county_code FROM transfers WHERE transfers.id = transfer_parcels.transfer_id)",
    'transfer_payments': "UPDATE transfer_payments SET county_code = "
                         "(SELECT county_code FROM transfers WHERE transfers.id = transfer_payments.transfer_id)",
    'transfer_holds': "UPDATE transfer_holds SET county_code = COALESCE("
                      "(SELECT county_code FROM transfers WHERE transfers.id = transfer_holds.transfer_id), "
                      "(SELECT county_code FROM listings WHERE listings.id = transfer_holds.listing_id))",
    'management_right_parcels': "UPDATE management_right_parcels SET county_code = "
                                "(SELECT county_code FROM management_rights "
                                "WHERE management_rights.id = management_right_parcels.management_right_id)",
}


def upgrade() -> None:
    for table, fill in _FILL.items():
        op.add_column(table, sa.Column('county_code', sa.String(length=6), nullable=True))
        op.execute(fill)
        with op.batch_alter_table(table) as batch:
            batch.alter_column('county_code', existing_type=sa.String(length=6), nullable=False)


def downgrade() -> None:
    for table in reversed(list(_FILL)):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('county_code')
