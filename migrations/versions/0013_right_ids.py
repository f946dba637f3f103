"""Room for a household's later contracts: right ids ``<code>-<n>`` beside the 19-character code.

A right's id stays its printed code (household code + ``J``/``Z``/``G``) for the household's first right of
the type, so every existing id, reference and ledger entry is kept as it is; a later contract of the same
household (a later term after a return, land received again after a contract emptied by transfer) gets
``<code>-2``, ``<code>-3`` … The id and every column that references it widen from 19 to 24 characters.

PostgreSQL widens the columns in place (varchar to a longer varchar needs no rewrite and keeps the foreign
keys). SQLite never checks a varchar's length, so its tables keep their rows and only the declared types in
the schema change: a rebuild of ``rights`` would have to drop a table the others reference, which SQLite's
enforced foreign keys refuse inside the migration's transaction. The declared type is edited as SQLite
documents for changes that leave the stored content as it is (ALTER TABLE, "Making Other Kinds Of Table
Schema Changes": writable_schema and a new schema_version, in one transaction).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 18:00:00
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

#: (table, column, nullable) of the right id and of every column that references it
COLUMNS = (
    ('rights', 'id', False),
    ('right_parcels', 'right_id', False),
    ('right_shares', 'right_id', False),
    ('certificates', 'right_id', False),
    ('transfers', 'right_id', False),
    ('transfers', 'counter_right_id', True),
    ('transfer_parcels', 'right_id', False),
    ('management_rights', 'contract_right_id', False),
)


def _sqlite_retype(conn, old: int, new: int) -> None:
    """Change the declared length of :data:`COLUMNS` in SQLite's schema text (the rows stay as stored)."""
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for table in dict.fromkeys(t for t, _, _ in COLUMNS):
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                       (table,)).scalar()
            for t, column, _ in COLUMNS:
                if t != table:
                    continue
                pattern = re.compile(rf"(^|\s|\(){column} VARCHAR\({old}\)", re.MULTILINE)
                sql, found = pattern.subn(rf"\g<1>{column} VARCHAR({new})", sql)
                if found != 1:
                    raise RuntimeError(f"{table}.{column}: expected one VARCHAR({old}) column in the table's schema")
            conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
        conn.exec_driver_sql(f"PRAGMA schema_version={version + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after the type change: {problems}")


def _retype(old: int, new: int) -> None:
    conn = op.get_bind()
    if conn.dialect.name == 'sqlite':
        _sqlite_retype(conn, old, new)
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                        existing_nullable=nullable)


def upgrade() -> None:
    _retype(19, 24)


def downgrade() -> None:
    conn = op.get_bind()
    later = conn.execute(sa.text("SELECT count(*) FROM rights WHERE length(id) > 19")).scalar()
    if later:
        raise RuntimeError(f"{later} rights are a household's later contracts (ids longer than 19 characters); "
                           "the schema before this revision cannot hold them")
    _retype(24, 19)
