"""On a Citus cluster: every county table is distributed on its county, the shared ones copied to every node.

Runs only where the ``citus`` extension is installed (``make test-citus``, a provincial deployment:
docs/scaling.md); on SQLite and on a PostgreSQL of its own it does nothing. Every county table is distributed
on ``county_code`` and the ledger's tables on ``log`` (the same county code), all in one co-location group, so
a county's rows, its ledger and its head lie in one shard group and a county's transaction stays on one node.
Users, their console sessions, the working-day calendar and the registry-wide resident ID numbers are reference
tables (a copy on every node). A request's idempotency claim and the import jobs stay the coordinator's own.

The ledger's append-only triggers only refuse a change to the row they fire on, which is what Citus asks of a
trigger it runs on shards (``citus.enable_unsafe_triggers``, set for this step).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 05:00:00
"""
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

#: copied to every node
REFERENCE = ('users', 'console_sessions', 'calendar_days', 'id_numbers')
#: distributed on their county, each after the tables it refers to; the first is the co-location group's
DISTRIBUTED = (
    'collectives', 'households', 'persons', 'documents', 'memberships', 'parcels', 'parcel_versions', 'rights',
    'right_parcels', 'right_shares', 'share_plans', 'house_disposals', 'certificates', 'settlements', 'transfers',
    'transfer_parcels', 'transfer_payments', 'management_rights', 'management_right_parcels', 'listings',
    'listing_bids', 'transfer_holds', 'freezes', 'disputes',
)
#: the ledger, distributed on its log (the county code)
LEDGER = ('ledger_heads', 'ledger_entries', 'ledger_nodes', 'ledger_subjects', 'ledger_checkpoints')


def _citus() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == 'postgresql' and bind.exec_driver_sql(
        "SELECT 1 FROM pg_extension WHERE extname = 'citus'").scalar() is not None


#: an advisory lock's key: two sessions distributing (or bringing back) tables of one cluster at once deadlock
#: on Citus's metadata, so they wait for each other
LOCK = 2106_0022


def upgrade() -> None:
    if not _citus():
        return
    op.execute(f'SELECT pg_advisory_xact_lock({LOCK})')
    op.execute('SET LOCAL citus.enable_unsafe_triggers = on')
    for table in REFERENCE:
        op.execute(f"SELECT create_reference_table('{table}')")
    first = DISTRIBUTED[0]
    op.execute(f"SELECT create_distributed_table('{first}', 'county_code')")
    for table in DISTRIBUTED[1:]:
        op.execute(f"SELECT create_distributed_table('{table}', 'county_code', colocate_with => '{first}')")
    for table in LEDGER:
        op.execute(f"SELECT create_distributed_table('{table}', 'log', colocate_with => '{first}')")


def downgrade() -> None:
    if not _citus():
        return
    op.execute(f'SELECT pg_advisory_xact_lock({LOCK})')
    op.execute('SET LOCAL citus.enable_unsafe_triggers = on')
    # one node at a time: a reference table cannot follow a parallel change of the same transaction
    op.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    # undistribute_table brings a table's rows back to the coordinator, with every table its foreign keys join it to
    for table in (*LEDGER, *DISTRIBUTED, *REFERENCE):
        op.execute(f"SELECT undistribute_table('{table}', cascade_via_foreign_keys => true) "
                   f"WHERE EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = '{table}'::regclass)")
