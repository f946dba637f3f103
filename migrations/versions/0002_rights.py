"""Rights (contract, homestead, income share), the parcels and shares under them with
lifespans, share plans, certificates, house disposals, and a collective's own homestead
area standard.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:10:11.997860
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('share_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('total_shares', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('max_holding_per_household', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('whole_shares', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['collective_code'], ['collectives.code'], name=op.f('fk_share_plans_collective_code_collectives')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_plans'))
    )
    with op.batch_alter_table('share_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_plans_collective_code'), ['collective_code'], unique=False)
        batch_op.create_index('uq_share_plans_open_collective', ['collective_code'], unique=True, sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))

    op.create_table('house_disposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_code', sa.String(length=18), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_house_disposals_document_id_documents')),
    sa.ForeignKeyConstraint(['household_code'], ['households.code'], name=op.f('fk_house_disposals_household_code_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_house_disposals'))
    )
    with op.batch_alter_table('house_disposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_house_disposals_household_code'), ['household_code'], unique=False)

    op.create_table('rights',
    sa.Column('id', sa.String(length=19), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('holder_code', sa.String(length=18), nullable=False),
    sa.Column('collective_code', sa.String(length=14), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('acquisition', sa.String(length=30), nullable=True),
    sa.Column('approval_document_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['approval_document_id'], ['documents.id'], name=op.f('fk_rights_approval_document_id_documents')),
    sa.ForeignKeyConstraint(['holder_code'], ['households.code'], name=op.f('fk_rights_holder_code_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights'))
    )
    with op.batch_alter_table('rights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rights_collective_code'), ['collective_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_rights_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_rights_holder_code'), ['holder_code'], unique=False)
        batch_op.create_index('uq_rights_holder_type_open', ['holder_code', 'type'], unique=True, sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))

    op.create_table('certificates',
    sa.Column('number', sa.String(length=80), nullable=False),
    sa.Column('right_id', sa.String(length=19), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('superseded_by', sa.String(length=80), nullable=True),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['right_id'], ['rights.id'], name=op.f('fk_certificates_right_id_rights')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_certificates'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_right_id'), ['right_id'], unique=False)
        batch_op.create_index('uq_certificates_county_year_serial', ['county_code', 'year', 'serial'], unique=True)

    op.create_table('right_parcels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('right_id', sa.String(length=19), nullable=False),
    sa.Column('parcel_code', sa.String(length=19), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('contract_area_m2', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('end_ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['parcel_code'], ['parcels.code'], name=op.f('fk_right_parcels_parcel_code_parcels')),
    sa.ForeignKeyConstraint(['right_id'], ['rights.id'], name=op.f('fk_right_parcels_right_id_rights')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_right_parcels'))
    )
    with op.batch_alter_table('right_parcels', schema=None) as batch_op:
        batch_op.create_index('ix_right_parcels_parcel_code', ['parcel_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_right_parcels_right_id'), ['right_id'], unique=False)
        batch_op.create_index('uq_right_parcels_open_parcel', ['parcel_code'], unique=True, sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))

    op.create_table('right_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('right_id', sa.String(length=19), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('shares', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['right_id'], ['rights.id'], name=op.f('fk_right_shares_right_id_rights')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_right_shares'))
    )
    with op.batch_alter_table('right_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_right_shares_right_id'), ['right_id'], unique=False)

    with op.batch_alter_table('collectives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('homestead_max_m2', sa.Numeric(precision=8, scale=2), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('collectives', schema=None) as batch_op:
        batch_op.drop_column('homestead_max_m2')

    with op.batch_alter_table('right_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_right_shares_right_id'))

    op.drop_table('right_shares')
    with op.batch_alter_table('right_parcels', schema=None) as batch_op:
        batch_op.drop_index('uq_right_parcels_open_parcel', sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))
        batch_op.drop_index(batch_op.f('ix_right_parcels_right_id'))
        batch_op.drop_index('ix_right_parcels_parcel_code')

    op.drop_table('right_parcels')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_county_year_serial')
        batch_op.drop_index(batch_op.f('ix_certificates_right_id'))

    op.drop_table('certificates')
    with op.batch_alter_table('rights', schema=None) as batch_op:
        batch_op.drop_index('uq_rights_holder_type_open', sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))
        batch_op.drop_index(batch_op.f('ix_rights_holder_code'))
        batch_op.drop_index(batch_op.f('ix_rights_county_code'))
        batch_op.drop_index(batch_op.f('ix_rights_collective_code'))

    op.drop_table('rights')
    with op.batch_alter_table('house_disposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_house_disposals_household_code'))

    op.drop_table('house_disposals')
    with op.batch_alter_table('share_plans', schema=None) as batch_op:
        batch_op.drop_index('uq_share_plans_open_collective', sqlite_where=sa.text('valid_to IS NULL'), postgresql_where=sa.text('valid_to IS NULL'))
        batch_op.drop_index(batch_op.f('ix_share_plans_collective_code'))

    op.drop_table('share_plans')
