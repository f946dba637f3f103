"""Which ledger entries touch which subject (a household, right, parcel, transfer…): the index that lets
histories be answered from the log. Filled for existing entries from their subjects.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 09:00:00
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_subjects',
    sa.Column('log', sa.String(length=6), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('log', 'subject', 'seq', name=op.f('pk_ledger_subjects'))
    )
    # verification reads the index in log order
    op.create_index('ix_ledger_subjects_log_seq', 'ledger_subjects', ['log', 'seq'])
    bind = op.get_bind()
    table = sa.table('ledger_subjects', sa.column('log'), sa.column('subject'), sa.column('seq'))
    rows = bind.execute(sa.text("SELECT log, seq, subjects FROM ledger_entries ORDER BY log, seq")).all()
    batch = []
    for log, seq, subjects in rows:
        subjects = json.loads(subjects) if isinstance(subjects, str) else subjects
        batch += [{"log": log, "subject": s, "seq": seq} for s in dict.fromkeys(subjects)]
        if len(batch) >= 10_000:
            bind.execute(table.insert(), batch)
            batch = []
    if batch:
        bind.execute(table.insert(), batch)
    if bind.dialect.name == 'postgresql':
        op.execute("""CREATE TRIGGER ledger_subjects_append_only BEFORE UPDATE OR DELETE ON ledger_subjects
                      FOR EACH ROW EXECUTE FUNCTION ledger_append_only()""")
        op.execute("""CREATE TRIGGER ledger_subjects_no_truncate BEFORE TRUNCATE ON ledger_subjects
                      FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()""")
    else:
        for verb in ('update', 'delete'):
            op.execute(f"""CREATE TRIGGER ledger_subjects_no_{verb} BEFORE {verb.upper()} ON ledger_subjects BEGIN
                             SELECT RAISE(ABORT, 'ledger entries are append-only');
                           END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS ledger_subjects_no_truncate ON ledger_subjects")
        op.execute("DROP TRIGGER IF EXISTS ledger_subjects_append_only ON ledger_subjects")
    op.drop_table('ledger_subjects')
