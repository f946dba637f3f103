"""What each step of a dispute decided: tribunal, hearings, recusals, award and its orders.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disputes') as batch:
        batch.add_column(sa.Column('record', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table('disputes') as batch:
        batch.drop_column('record')
