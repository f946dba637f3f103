"""A resident ID number is registered once in the whole registry: ``id_numbers`` holds each number once.

Migration 0020 put the county into every unique index of a county table, as a distributed deployment needs, so
``persons``' index holds a number once per county only. GB 11643's rule (one number, one person) reaches across
counties: ``id_numbers`` keeps each registered number once, with its county and person, and a registration
inserts into it with the person, so a second registration of a number anywhere is refused by its primary key.
A distributed deployment keeps it as a reference table (every node holds a copy). It is filled from the
persons already registered.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'id_numbers',
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id_number', name=op.f('pk_id_numbers')),
    )
    op.execute('INSERT INTO id_numbers (id_number, county_code, person_id) '
               'SELECT id_number, county_code, id FROM persons')


def downgrade() -> None:
    op.drop_table('id_numbers')
