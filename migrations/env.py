"""Alembic environment: the engine comes from the caller (app.migrate) or SANQUAN_* settings."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection

import app.models  # noqa: F401  registers every table on Base.metadata
from app.db import Base, make_engine
from app.migrate import include_object

config = context.config


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:
        from app.config import Settings
        engine = make_engine(Settings.from_env().sqlalchemy_url)
    return engine


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            render_as_batch=sqlite,
            compare_type=True,
            # SQLite's DDL is transactional too: an upgrade is all of its steps or none
            transactional_ddl=True,
        )
        if sqlite:  # tables are rebuilt to change them: checked once, before the commit (SQLite's ALTER TABLE)
            with _foreign_keys_checked_at_the_end(connection):
                with context.begin_transaction():
                    context.run_migrations()
                    _check_foreign_keys(connection)
            return
        with context.begin_transaction():
            context.run_migrations()


@contextmanager
def _foreign_keys_checked_at_the_end(connection: Connection) -> Iterator[None]:
    """SQLite's procedure for changing a table (ALTER TABLE, "Making Other Kinds Of Table Schema Changes"):
    foreign keys off while tables are rebuilt (dropping a table others refer to would otherwise fail), on again
    after. The pragma is a no-op inside a transaction, so it is set on the driver's connection before it."""
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse to commit a migration that left a reference to a missing row (``PRAGMA foreign_key_check``)."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"the migration left references to missing rows: {[tuple(r) for r in broken[:10]]}")


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
