"""The exchange desk: listings and their bids; a listing holds its right and parcels as an open transfer does.

``transfer_holds`` takes a hold of either kind: ``transfer_id`` becomes nullable beside a new ``listing_id``,
so one primary key keeps a right or parcel in one open transfer or listing, race or no race. SQLite rebuilds
the small table (open holds only) to change the column.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 12:00:00
"""
from alembic import op
import sqlalchemy as sa

import app.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('right_id', sa.String(length=24), nullable=False),
    sa.Column('holder_code', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('parcels', sa.JSON(), nullable=False),
    sa.Column('shares', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('asking_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.Column('listed_on', sa.Date(), nullable=False),
    sa.Column('announcement_days', sa.Integer(), nullable=False),
    sa.Column('consent_person_id', sa.Integer(), nullable=False),
    sa.Column('consent_signed_on', sa.Date(), nullable=False),
    sa.Column('consent_document_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('awarded_on', sa.Date(), nullable=True),
    sa.Column('winning_bid_id', sa.Integer(), nullable=True),
    sa.Column('award', sa.JSON(), nullable=True),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', _SEQ, nullable=False),
    sa.ForeignKeyConstraint(['consent_document_id'], ['documents.id'],
                            name=op.f('fk_listings_consent_document_id_documents')),
    sa.ForeignKeyConstraint(['consent_person_id'], ['persons.id'], name=op.f('fk_listings_consent_person_id_persons')),
    sa.ForeignKeyConstraint(['holder_code'], ['households.code'], name=op.f('fk_listings_holder_code_households')),
    sa.ForeignKeyConstraint(['right_id'], ['rights.id'], name=op.f('fk_listings_right_id_rights')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_listings_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings'))
    )
    for column in ('collective_code', 'county_code', 'holder_code', 'right_id'):
        op.create_index(op.f(f'ix_listings_{column}'), 'listings', [column], unique=False)
    op.create_table('listing_bids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('bidder_household', sa.String(length=18), nullable=True),
    sa.Column('bidder_party', sa.JSON(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('bid_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', _SEQ, nullable=False),
    sa.ForeignKeyConstraint(['bidder_household'], ['households.code'],
                            name=op.f('fk_listing_bids_bidder_household_households')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_bids_listing_id_listings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_bids'))
    )
    op.create_index(op.f('ix_listing_bids_listing_id'), 'listing_bids', ['listing_id'], unique=False)
    with op.batch_alter_table('transfer_holds', schema=None) as batch_op:
        batch_op.alter_column('transfer_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('listing_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_transfer_holds_listing_id'), ['listing_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_transfer_holds_listing_id_listings'), 'listings',
                                    ['listing_id'], ['id'])


def downgrade() -> None:
    op.execute("DELETE FROM transfer_holds WHERE listing_id IS NOT NULL")
    with op.batch_alter_table('transfer_holds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_transfer_holds_listing_id_listings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_transfer_holds_listing_id'))
        batch_op.drop_column('listing_id')
        batch_op.alter_column('transfer_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f('ix_listing_bids_listing_id'), table_name='listing_bids')
    op.drop_table('listing_bids')
    for column in ('collective_code', 'county_code', 'holder_code', 'right_id'):
        op.drop_index(op.f(f'ix_listings_{column}'), table_name='listings')
    op.drop_table('listings')
