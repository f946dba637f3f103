"""The ledger's Merkle tree and signed checkpoints: stored perfect subtrees, each head's
compact range, and checkpoints; both new tables are append-only like the entries.
Existing logs get their nodes and frontier computed from their leaves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 08:45:00
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TABLES = ('ledger_nodes', 'ledger_checkpoints')


def upgrade() -> None:
    op.create_table('ledger_nodes',
    sa.Column('log', sa.String(length=6), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('index', _BIG, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('log', 'level', 'index', name=op.f('pk_ledger_nodes'))
    )
    op.create_table('ledger_checkpoints',
    sa.Column('log', sa.String(length=6), nullable=False),
    sa.Column('size', _BIG, nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('signed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('key_name', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=8), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('log', 'size', name=op.f('pk_ledger_checkpoints'))
    )
    op.add_column('ledger_heads', sa.Column('frontier', sa.Text(), nullable=False, server_default=''))
    op.add_column('ledger_heads', sa.Column('checkpoint_size', _BIG, nullable=False, server_default='0'))
    op.add_column('ledger_heads', sa.Column('checkpoint_at', app.db.UTCDateTime(timezone=True), nullable=True))
    _backfill()
    if op.get_bind().dialect.name == 'postgresql':
        for t in _TABLES:
            op.execute(f"""CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
                           FOR EACH ROW EXECUTE FUNCTION ledger_append_only()""")
            op.execute(f"""CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
                           FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()""")
    else:
        for t in _TABLES:
            for verb in ('update', 'delete'):
                op.execute(f"""CREATE TRIGGER {t}_no_{verb} BEFORE {verb.upper()} ON {t} BEGIN
                                 SELECT RAISE(ABORT, 'ledger entries are append-only');
                               END""")


def _backfill() -> None:
    """Nodes and frontier of every existing log, computed from its leaves in order."""
    from app.ledger import merkle

    bind = op.get_bind()
    nodes = sa.table('ledger_nodes', sa.column('log'), sa.column('level'), sa.column('index'), sa.column('hash'))
    for log, in bind.execute(sa.text("SELECT log FROM ledger_heads")).all():
        frontier, size, batch = [], 0, []
        rows = bind.execute(sa.text("SELECT leaf_hash FROM ledger_entries WHERE log = :log ORDER BY seq"),
                            {"log": log})
        for leaf, in rows:
            frontier, done = merkle.frontier_append(frontier, size, bytes.fromhex(leaf))
            size += 1
            batch += [{"log": log, "level": lv, "index": ix, "hash": h.hex()} for lv, ix, h in done]
            if len(batch) >= 10_000:
                bind.execute(nodes.insert(), batch)
                batch = []
        if batch:
            bind.execute(nodes.insert(), batch)
        bind.execute(sa.text("UPDATE ledger_heads SET frontier = :f WHERE log = :log"),
                     {"f": "".join(h.hex() for h in frontier), "log": log})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for t in _TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")
            op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
    else:
        for t in _TABLES:
            for verb in ('update', 'delete'):
                op.execute(f"DROP TRIGGER IF EXISTS {t}_no_{verb}")
    with op.batch_alter_table('ledger_heads', schema=None) as batch_op:
        batch_op.drop_column('checkpoint_at')
        batch_op.drop_column('checkpoint_size')
        batch_op.drop_column('frontier')
    op.drop_table('ledger_checkpoints')
    op.drop_table('ledger_nodes')
