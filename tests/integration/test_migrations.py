"""Migrations: the models and the migration history agree, and every step downgrades."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import app.models  # noqa: F401
from app.db import Base, make_engine
from app.migrate import downgrade, include_object, upgrade


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(engine):
    downgrade(engine, "base")
    tables = set(inspect(engine).get_table_names())
    assert tables <= {"alembic_version", "spatial_ref_sys"}
    upgrade(engine)
    assert {"parcel_versions", "ledger_entries", "memberships"} <= set(inspect(engine).get_table_names())
