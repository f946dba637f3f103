"""Settlements, transfers (with their parcels, payments and holds) and dispute freezes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 07:09:21.681086
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('freezes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=19), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('dispute_ref', sa.String(length=50), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('frozen_on', sa.Date(), nullable=False),
    sa.Column('lifted_on', sa.Date(), nullable=True),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_freezes'))
    )
    with op.batch_alter_table('freezes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_freezes_subject'), ['subject'], unique=False)

    op.create_table('settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('household_code', sa.String(length=18), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('city_code', sa.String(length=6), nullable=False),
    sa.Column('hukou_ref', sa.String(length=100), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_settlements_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements'))
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlements_household_code'), ['household_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlements_person_id'), ['person_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('right_id', sa.String(length=19), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('from_household', sa.String(length=18), nullable=False),
    sa.Column('to_household', sa.String(length=18), nullable=True),
    sa.Column('to_party', sa.JSON(), nullable=True),
    sa.Column('counter_right_id', sa.String(length=19), nullable=True),
    sa.Column('shares', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.Column('notice_given_on', sa.Date(), nullable=True),
    sa.Column('consent_person_id', sa.Integer(), nullable=False),
    sa.Column('consent_signed_on', sa.Date(), nullable=False),
    sa.Column('consent_document_id', sa.Integer(), nullable=True),
    sa.Column('issuer_decision', sa.String(length=30), nullable=True),
    sa.Column('issuer_decided_on', sa.Date(), nullable=True),
    sa.Column('issuer_grounds', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['consent_document_id'], ['documents.id'], name=op.f('fk_transfers_consent_document_id_documents')),
    sa.ForeignKeyConstraint(['consent_person_id'], ['persons.id'], name=op.f('fk_transfers_consent_person_id_persons')),
    sa.ForeignKeyConstraint(['counter_right_id'], ['rights.id'], name=op.f('fk_transfers_counter_right_id_rights')),
    sa.ForeignKeyConstraint(['from_household'], ['households.code'], name=op.f('fk_transfers_from_household_households')),
    sa.ForeignKeyConstraint(['right_id'], ['rights.id'], name=op.f('fk_transfers_right_id_rights')),
    sa.ForeignKeyConstraint(['to_household'], ['households.code'], name=op.f('fk_transfers_to_household_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_collective_code'), ['collective_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_from_household'), ['from_household'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_right_id'), ['right_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_to_household'), ['to_household'], unique=False)

    op.create_table('transfer_holds',
    sa.Column('key', sa.String(length=30), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_holds_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_transfer_holds'))
    )
    with op.batch_alter_table('transfer_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_holds_transfer_id'), ['transfer_id'], unique=False)

    op.create_table('transfer_parcels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('parcel_code', sa.String(length=19), nullable=False),
    sa.Column('right_id', sa.String(length=19), nullable=False),
    sa.ForeignKeyConstraint(['parcel_code'], ['parcels.code'], name=op.f('fk_transfer_parcels_parcel_code_parcels')),
    sa.ForeignKeyConstraint(['right_id'], ['rights.id'], name=op.f('fk_transfer_parcels_right_id_rights')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_parcels_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_parcels'))
    )
    with op.batch_alter_table('transfer_parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_parcels_parcel_code'), ['parcel_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_parcels_transfer_id'), ['transfer_id'], unique=False)

    op.create_table('transfer_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_payments_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_payments'))
    )
    with op.batch_alter_table('transfer_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_payments_transfer_id'), ['transfer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transfer_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_payments_transfer_id'))

    op.drop_table('transfer_payments')
    with op.batch_alter_table('transfer_parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_parcels_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_parcels_parcel_code'))

    op.drop_table('transfer_parcels')
    with op.batch_alter_table('transfer_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_holds_transfer_id'))

    op.drop_table('transfer_holds')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_to_household'))
        batch_op.drop_index(batch_op.f('ix_transfers_status'))
        batch_op.drop_index(batch_op.f('ix_transfers_right_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_from_household'))
        batch_op.drop_index(batch_op.f('ix_transfers_county_code'))
        batch_op.drop_index(batch_op.f('ix_transfers_collective_code'))

    op.drop_table('transfers')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlements_person_id'))
        batch_op.drop_index(batch_op.f('ix_settlements_household_code'))
        batch_op.drop_index(batch_op.f('ix_settlements_county_code'))

    op.drop_table('settlements')
    with op.batch_alter_table('freezes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_freezes_subject'))

    op.drop_table('freezes')
