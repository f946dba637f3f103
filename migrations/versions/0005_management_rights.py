"""Land management rights (土地经营权) created by leases and share-ins, and their parcels.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 07:23:56.353178
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('management_rights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('contract_right_id', sa.String(length=19), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('holder_household', sa.String(length=18), nullable=True),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('holder_id_number', sa.String(length=18), nullable=True),
    sa.Column('holder_credit_code', sa.String(length=18), nullable=True),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['contract_right_id'], ['rights.id'], name=op.f('fk_management_rights_contract_right_id_rights')),
    sa.ForeignKeyConstraint(['holder_household'], ['households.code'], name=op.f('fk_management_rights_holder_household_households')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_management_rights_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_rights'))
    )
    with op.batch_alter_table('management_rights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_rights_contract_right_id'), ['contract_right_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_management_rights_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_management_rights_transfer_id'), ['transfer_id'], unique=False)

    op.create_table('management_right_parcels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('management_right_id', sa.Integer(), nullable=False),
    sa.Column('parcel_code', sa.String(length=19), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['management_right_id'], ['management_rights.id'], name=op.f('fk_management_right_parcels_management_right_id_management_rights')),
    sa.ForeignKeyConstraint(['parcel_code'], ['parcels.code'], name=op.f('fk_management_right_parcels_parcel_code_parcels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_right_parcels'))
    )
    with op.batch_alter_table('management_right_parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_right_parcels_management_right_id'), ['management_right_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_management_right_parcels_parcel_code'), ['parcel_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('management_right_parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_management_right_parcels_parcel_code'))
        batch_op.drop_index(batch_op.f('ix_management_right_parcels_management_right_id'))

    op.drop_table('management_right_parcels')
    with op.batch_alter_table('management_rights', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_management_rights_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_management_rights_county_code'))
        batch_op.drop_index(batch_op.f('ix_management_rights_contract_right_id'))

    op.drop_table('management_rights')
