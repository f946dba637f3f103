"""Lease and share-in contracts and the registration of management rights (农村土地承包法 第四十、四十一条).

Transfers and listings carry the written contract's clauses (``contract_terms``); a management right of five
years or more can be registered: its number, yearly serial, day and the ledger entry recording it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('transfers', sa.Column('contract_terms', sa.JSON(), nullable=True))
    op.add_column('listings', sa.Column('contract_terms', sa.JSON(), nullable=True))
    op.add_column('management_rights', sa.Column('registration_number', sa.String(length=80), nullable=True))
    op.add_column('management_rights', sa.Column('registration_serial', sa.Integer(), nullable=True))
    op.add_column('management_rights', sa.Column('registered_on', sa.Date(), nullable=True))
    op.add_column('management_rights', sa.Column('registration_seq', _SEQ, nullable=True))
    op.create_index('uq_management_rights_registration_number', 'management_rights', ['registration_number'],
                    unique=True)


def downgrade() -> None:
    op.drop_index('uq_management_rights_registration_number', table_name='management_rights')
    with op.batch_alter_table('management_rights') as batch:
        for column in ('registration_seq', 'registered_on', 'registration_serial', 'registration_number'):
            batch.drop_column(column)
    with op.batch_alter_table('listings') as batch:
        batch.drop_column('contract_terms')
    with op.batch_alter_table('transfers') as batch:
        batch.drop_column('contract_terms')
