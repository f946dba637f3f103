"""Migrations: the models and the migration history agree, and every step downgrades."""
from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import app.models  # noqa: F401
from app.db import Base, make_engine
from app.migrate import downgrade, include_object, upgrade
from tests.conftest import PG_URL, SKIP_PG


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


@pytest.mark.skipif(PG_URL is None, reason=SKIP_PG)
def test_a_postgresql_database_that_sorts_codes_linguistically_is_refused_by_name():
    """Under zh_CN's collation '21068:' sorts before '2106810', so a scope's index range would find nothing."""
    import psycopg
    from sqlalchemy.engine import make_url

    from app.migrate import CollationError

    url = make_url(PG_URL)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"sanquan_collation_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'zh-Hans-CN' "
                     "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        with pytest.raises(CollationError, match="zh-Hans-CN"):
            upgrade(engine)
        assert "alembic_version" not in inspect(engine).get_table_names()  # refused before any change
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name}")
