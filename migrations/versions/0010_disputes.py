"""Disputes brought to mediation or arbitration, from the application on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('procedure', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('applicant', sa.JSON(), nullable=False),
    sa.Column('respondent', sa.JSON(), nullable=False),
    sa.Column('rights', sa.JSON(), nullable=False),
    sa.Column('parcels', sa.JSON(), nullable=False),
    sa.Column('claims', sa.Text(), nullable=False),
    sa.Column('knew_of_harm_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('time_barred', sa.Boolean(), nullable=False),
    sa.Column('freeze', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes'))
    )
    op.create_index(op.f('ix_disputes_county_code'), 'disputes', ['county_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_disputes_county_code'), table_name='disputes')
    op.drop_table('disputes')
