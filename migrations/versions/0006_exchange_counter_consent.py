"""The counterpart household's own signed consent to an exchange (it gives land away too).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:53:09.067091
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counter_consent', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_column('counter_consent')

