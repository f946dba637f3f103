"""Whose a case and a document are: the division code a user's scope must cover to read or act on them.

A case's ``division_code`` is the longest common prefix (cut to the group's 14 digits) of its parties' and
subjects' codes, computed here for the cases already open. A document's is the uploader's scope until it is
attached, then what it is attached to; the documents already stored are given their county and counted as
attached (who uploaded them with which scope is not recorded), so only a county-wide scope reads them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_disputes = sa.table('disputes', sa.column('id', sa.Integer()), sa.column('county_code', sa.String()),
                     sa.column('applicant', sa.JSON()), sa.column('respondent', sa.JSON()),
                     sa.column('rights', sa.JSON()), sa.column('parcels', sa.JSON()),
                     sa.column('division_code', sa.String()))


def _division(county: str, applicant: dict, respondent: dict, rights: list, parcels: list) -> str:
    """As app.disputes.services.case_division computes it for a new case (frozen here as of this revision)."""
    codes = [c[:14] for c in (*(p.get('household') or p.get('code') for p in (applicant, respondent)
                                if p.get('kind') != 'outside'), *rights, *parcels) if c] or [county]
    first, last = min(codes), max(codes)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def upgrade() -> None:
    # added with a default so SQLite needs no table rebuild; PostgreSQL drops the default after the backfill
    op.add_column('disputes', sa.Column('division_code', sa.String(length=14), nullable=False, server_default=''))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_disputes.c.id, _disputes.c.county_code, _disputes.c.applicant,
                                  _disputes.c.respondent, _disputes.c.rights, _disputes.c.parcels)).all()
    for row in rows:
        conn.execute(_disputes.update().where(_disputes.c.id == row.id)
                     .values(division_code=_division(row.county_code, row.applicant, row.respondent, row.rights,
                                                     row.parcels)))
    op.create_index('ix_disputes_division_code', 'disputes', ['division_code'], unique=False,
                    postgresql_ops={'division_code': 'varchar_pattern_ops'})
    op.add_column('documents', sa.Column('division_code', sa.String(length=14), nullable=False, server_default=''))
    op.add_column('documents', sa.Column('attached', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE documents SET division_code = county_code")
    if conn.dialect.name == 'postgresql':
        op.alter_column('disputes', 'division_code', server_default=None)
        op.alter_column('documents', 'division_code', server_default=None)
        op.alter_column('documents', 'attached', server_default=None)


def downgrade() -> None:
    op.drop_column('documents', 'attached')
    op.drop_column('documents', 'division_code')
    op.drop_index('ix_disputes_division_code', table_name='disputes')
    op.drop_column('disputes', 'division_code')
