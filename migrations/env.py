"""Alembic environment: the engine comes from the caller (app.migrate) or SANQUAN_* settings."""
from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

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
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
