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


def test_widening_right_ids_keeps_every_row_both_ways(callers, clerk, make_household, make_parcel, engine):
    """0013 widens the right id and its references (on SQLite by editing the declared types in place); the
    registry's rows and its ledger come through a downgrade below it and the upgrade back."""
    household = make_household()["code"]
    right = clerk.post("/api/v1/rights", json={"type": "contract", "holder": household, "start": "2018-01-01",
                                               "end": "2047-12-31", "parcels": [make_parcel()["id"]]}).get_json()
    before = clerk.get(f"/api/v1/rights/{right['id']}").get_json()

    downgrade(engine, "0012")
    assert {c["name"]: c["type"] for c in inspect(engine).get_columns("rights")}["id"].length == 19
    upgrade(engine)
    widths = {(t, c["name"]): getattr(c["type"], "length", None) for t in ("rights", "transfers", "right_parcels")
              for c in inspect(engine).get_columns(t)}
    assert widths["rights", "id"] == widths["transfers", "counter_right_id"] \
        == widths["right_parcels", "right_id"] == 24
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []

    assert clerk.get(f"/api/v1/rights/{right['id']}").get_json() == before
    assert callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()["ok"] is True
