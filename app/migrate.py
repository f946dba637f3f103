"""Alembic, driven from the app's settings (``sanquan db upgrade``, ``make run``, tests)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import migrations

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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(session: Session) -> str | None:
    if not inspect(session.connection()).has_table("alembic_version"):
        return None
    return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
