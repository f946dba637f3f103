"""Fixtures: every service and API test runs on SQLite and on PostgreSQL + PostGIS.

The PostGIS half needs ``SANQUAN_TEST_DATABASE_URL`` (a database with the
postgis extension; ``.ci/run`` makes one). Without it those tests skip.
Each xdist worker gets its own schema in that database.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text

import app.models  # noqa: F401  every table on Base.metadata (the reset empties them children first)
from app import create_app
from app.auth.services import SYSTEM, create_user
from app.config import Settings
from app.db import Base, UnitOfWork, make_engine
from app.migrate import upgrade

PG_URL = os.environ.get("SANQUAN_TEST_DATABASE_URL")
SKIP_PG = "PostGIS tests need SANQUAN_TEST_DATABASE_URL (a database with the postgis extension; see .ci/run)"

#: The NY/T 2539 sample package (3,432 real field shapes moved to Donggang; see tests/data/README.md).
SAMPLE_PACKAGE = Path(__file__).resolve().parent / "data" / "dk_package_sample.zip"

COUNTY = "210681"
COLLECTIVE = "21068110100101"
#: a point in Donggang where test parcels are drawn
ORIGIN = (124.15, 39.87)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "sanquan.db"
    engine = make_engine(f"sqlite+pysqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def fresh_pg_schema(schema: str) -> str:
    """Drop and create ``schema`` in the test database; the URL whose search path starts with it."""
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    admin.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema},public"


@pytest.fixture(scope="session")
def pg_schema_url():
    if not PG_URL:
        pytest.skip(SKIP_PG)
    url = fresh_pg_schema(f"test_{_worker()}")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _truncate_pg(url: str) -> None:
    """Empty every table of the test schema and restart its sequences, triggers on again afterwards (tamper
    tests disable them, as an attacker would).

    PostgreSQL truncates, the ledger's TRUNCATE trigger off meanwhile. On Citus a TRUNCATE empties every shard
    of every table (6 s for the registry's 30 tables of 32 shards), so the rows are deleted instead, children
    before parents, one connection a node (a reference table others refer to asks for that).
    """
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = set(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
        )).scalars())
        triggered = conn.execute(text(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal")).scalars().all()
        citus = conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'citus'").scalar() is not None
        if citus:
            conn.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        for table in triggered:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        if citus:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in tables:
                    conn.exec_driver_sql(f"DELETE FROM {table.name}")
            for sequence in conn.execute(text("SELECT sequencename FROM pg_sequences "
                                              "WHERE schemaname = current_schema()")).scalars():
                conn.exec_driver_sql(f"SELECT setval('{sequence}', 1, false)")
        else:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(sorted(tables))} RESTART IDENTITY CASCADE")
        for table in triggered:
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "sanquan.db"
        shutil.copy(template, path)
        return f"sqlite+pysqlite:///{path}"
    url = request.getfixturevalue("pg_schema_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(database_url, tmp_path):
    return Settings(instance=str(tmp_path / "instance"), database_url=database_url, demo=False)


@pytest.fixture
def app(settings, request):
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    from app.imports import runner
    runner.wait(timeout=120)  # no import job outlives its test
    if "no_replay_check" not in request.keywords:
        _assert_logs_replay(app)
    app.extensions["sanquan"].engine.dispose()


def _assert_logs_replay(app) -> None:
    """Whatever a test did, every county's log must still verify and replay to exactly the tables."""
    from sqlalchemy import select

    from app.audit.verify import verify_database
    from app.ledger.models import LedgerHead

    ext = app.extensions["sanquan"]
    with UnitOfWork(ext.session_factory, write=False) as uow:
        for log in uow.session.scalars(select(LedgerHead.log)).all():
            result = verify_database(uow.session, log, public_key=ext.signer.public_key, origin=ext.signer.origin(log))
            assert result.ok, f"log {log} no longer verifies after the test: {result.problem}"


@pytest.fixture
def uow_factory(app):
    factory = app.extensions["sanquan"].session_factory
    return lambda write=True: UnitOfWork(factory, write=write)


@dataclass
class Caller:
    """A test client that sends one user's token."""

    client: object
    token: str

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url, headers=None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url, json=None, headers=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(headers), **kw)

    def put(self, url, json=None, headers=None, **kw):
        return self.client.put(url, json=json, headers=self._headers(headers), **kw)


USERS = {
    "admin": ("admin", ""),
    "clerk": ("clerk", COUNTY),
    "other_clerk": ("clerk", "210682"),
    "exchange": ("exchange", COUNTY),
    "arbitrator": ("arbitrator", COUNTY),
    "auditor": ("auditor", COUNTY),
}


@pytest.fixture
def callers(app, uow_factory):
    client = app.test_client()
    out = {}
    for name, (role, scope) in USERS.items():
        user = create_user(uow_factory(), actor=SYSTEM, name=name, role=role, scope=scope)
        out[name] = Caller(client, user["token"])
    return out


@pytest.fixture
def clerk(callers):
    return callers["clerk"]


@pytest.fixture
def admin(callers):
    return callers["admin"]


# --- factories ----------------------------------------------------------------------------

def id_number(area: str, birth: str, seq: int) -> str:
    """A valid resident ID number; odd ``seq`` is male."""
    from gis.codes import id_check_char
    first = f"{area}{birth}{seq:03d}"
    return first + id_check_char(first)


def square(x0: float, y0: float, size_m: float = 50.0) -> dict:
    """A GeoJSON square of ``size_m`` metres whose south-west corner is (x0, y0) metres from ORIGIN."""
    import numpy as np

    from gis.crs import to_storage
    e0, n0 = 590_000 + x0, 4_413_000 + y0  # EPSG:4550 near Donggang
    geom = shapely.box(e0, n0, e0 + size_m, n0 + size_m)
    return shapely.geometry.mapping(to_storage(np.array([geom]), 4550)[0])


@pytest.fixture
def make_collective(clerk):
    def make(code=COLLECTIVE, name="前阳村第一村民小组", caller=None):
        r = (caller or clerk).post("/api/v1/collectives", json={"code": code, "name": name})
        assert r.status_code == 201, r.get_json()
        return r.get_json()
    return make


@pytest.fixture
def ensure_collective(make_collective):
    """Create the default collective once per test, whichever factory needs it first."""
    made = []

    def ensure(code=COLLECTIVE):
        if code == COLLECTIVE and not made:
            made.append(make_collective())
    return ensure


@pytest.fixture
def make_household(clerk, ensure_collective):
    counter = {"n": 0}

    def make(collective=COLLECTIVE, **overrides):
        ensure_collective(collective)
        counter["n"] += 1
        n = counter["n"]
        body = {"head": {"name": f"王{n}", "id_number": id_number(COUNTY, "19700101", 2 * n + 1), "sex": "male"},
                "members": [{"name": f"李{n}", "id_number": id_number(COUNTY, "19720202", 2 * n),
                             "sex": "female", "relation": "spouse"}],
                "address": "东港市长山镇前阳村"} | overrides
        r = clerk.post(f"/api/v1/collectives/{collective}/households", json=body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()
    return make


@pytest.fixture
def make_parcel(clerk, ensure_collective):
    def make(x0=0.0, y0=0.0, size_m=50.0, **overrides):
        ensure_collective(overrides.get("collective", COLLECTIVE))
        body = {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated",
                "geometry": square(x0, y0, size_m)} | overrides
        r = clerk.post("/api/v1/parcels", json=body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()
    return make
