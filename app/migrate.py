"""Alembic, driven from the app's settings (``sanquan db upgrade``, ``make run``, tests)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import app.models  # noqa: F401  every table on Base.metadata
import migrations
from app.db import Base

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)

#: Made by hand in migrations, not from the models: the R*Tree (and the shadow
#: tables SQLite keeps for it) and the partial GiST index of PostGIS.
HAND_MADE = frozenset({"parcel_rtree", "parcel_rtree_node", "parcel_rtree_parent", "parcel_rtree_rowid",
                       "ix_parcel_versions_geom_current"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate's filter: GeoAlchemy2's, minus the hand-made objects."""
    return name not in HAND_MADE and alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["engine"] = engine
    return cfg


class CollationError(RuntimeError):
    """A PostgreSQL database whose collation does not order codes byte by byte."""


def check_collation(engine: Engine) -> None:
    """Refuse a PostgreSQL database whose default collation ignores punctuation (zh_CN.UTF-8, en_US.UTF-8 …).

    Codes are found by index ranges (``code >= '210681' AND code < '210681:'``, :func:`app.queries.code_prefix`),
    which need ':' to sort after the digits, as it does byte by byte ("C", "C.UTF-8", "POSIX"). Under a
    linguistic collation ``'21068:' < '2106810'``, and a county's scope would find nothing.

    Raises:
        CollationError: naming the collation and how to create the database.
    """
    if engine.dialect.name != "postgresql":
        return  # SQLite compares text byte by byte
    with engine.connect() as conn:
        bytewise, collation = conn.execute(text(
            # the ICU locale when the database uses one (PostgreSQL 15–16 name it daticulocale, 17 datlocale)
            "SELECT '21068:' > '2106810' AND '-' < '.', coalesce(to_jsonb(d) ->> 'daticulocale', "
            "to_jsonb(d) ->> 'datlocale', datcollate) FROM pg_database d WHERE datname = current_database()")).one()
    if not bytewise:
        raise CollationError(
            f"the database's collation {collation!r} does not order codes byte by byte; create it with "
            "CREATE DATABASE … TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' (docs/operations.md)")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``.

    Raises:
        CollationError: a PostgreSQL database that would not find codes by prefix (:func:`check_collation`).
    """
    check_collation(engine)
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(session: Session) -> str | None:
    if not inspect(session.connection()).has_table("alembic_version"):
        return None
    return session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def advance_sequences(engine: Engine) -> dict[str, int]:
    """After rows were loaded with their numbers (a county moved in, docs/scaling.md): move each id sequence past
    the largest id its table holds, never back (other counties may have drawn further). Returns the sequences
    moved, with their new value; on SQLite nothing (it numbers a county's rows one past the county's largest)."""
    moved: dict[str, int] = {}
    if engine.dialect.name != "postgresql":
        return moved
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if "id" not in table.c:
                continue
            sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
            if sequence is None:
                continue
            largest = conn.scalar(text(f"SELECT max(id) FROM {table.name}"))
            current = conn.scalar(text(f"SELECT last_value FROM {sequence}"))
            if largest is not None and largest > current:
                conn.scalar(text("SELECT setval(:s, :v)"), {"s": sequence, "v": largest})
                moved[sequence] = largest
    return moved
