"""The registry's database on a Citus cluster (issue 19): ``make test-citus`` runs the PostgreSQL half of the
suite against a coordinator with two workers; these tests check the cluster itself and how Citus plans a
county's statements. On a plain PostgreSQL they skip.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from app.db import make_engine
from tests.conftest import PG_URL, SKIP_PG, fresh_pg_schema

pytestmark = pytest.mark.postgis

NOT_CITUS = "not a Citus cluster: `make test-citus` runs these against a coordinator with two workers"


@pytest.fixture(scope="module")
def citus():
    """An engine on a fresh schema of the cluster's coordinator."""
    if not PG_URL:
        pytest.skip(SKIP_PG)
    probe = make_engine(PG_URL)
    with probe.connect() as c:
        installed = c.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'"))
    probe.dispose()
    if not installed:
        pytest.skip(NOT_CITUS)
    engine = make_engine(fresh_pg_schema("test_citus_cluster"))
    yield engine
    with engine.begin() as c:
        c.exec_driver_sql("DROP SCHEMA test_citus_cluster CASCADE")
    engine.dispose()


def task_count(connection, statement: str, params: dict) -> int:
    """How many shards Citus sends ``statement`` to: 1 is a router plan (one county's shard group)."""
    plan = "\n".join(connection.execute(text(f"EXPLAIN {statement}"), params).scalars())
    found = re.search(r"Task Count: (\d+)", plan)
    assert found, f"not a Citus plan:\n{plan}"
    return int(found.group(1))


def test_the_cluster_has_two_workers(citus):
    with citus.connect() as c:
        workers = c.execute(text("SELECT node_name, node_port FROM citus_get_active_worker_nodes()")).all()
        version = c.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'citus'"))
    assert len(workers) >= 2, workers
    assert version.startswith("13."), version


def test_a_county_table_is_distributed_and_a_county_lookup_stays_on_one_shard(citus):
    with citus.begin() as c:
        c.exec_driver_sql("CREATE TABLE counties_probe (county_code varchar(6) NOT NULL, code varchar(19) NOT NULL, "
                          "geom geometry(MultiPolygon, 4490), PRIMARY KEY (county_code, code))")
        c.exec_driver_sql("SELECT create_distributed_table('counties_probe', 'county_code')")
    with citus.begin() as c:
        c.execute(text("INSERT INTO counties_probe VALUES (:county, :code, "
                       "ST_Multi(ST_GeomFromText('POLYGON((124 40, 124.001 40, 124.001 40.001, 124 40))', 4490)))"),
                  [{"county": county, "code": f"{county}{n:013d}"} for county in ("210681", "210682", "210603")
                   for n in range(5)])
    with citus.connect() as c:
        shards = c.scalar(text("SELECT shard_count FROM citus_tables WHERE table_name = 'counties_probe'::regclass"))
        placed = c.scalar(text("SELECT count(DISTINCT nodeport) FROM citus_shards "
                               "WHERE table_name = 'counties_probe'::regclass"))
        one = task_count(c, "SELECT code FROM counties_probe WHERE county_code = :county AND code = :code",
                         {"county": "210681", "code": "2106810000000000003"})
        every = task_count(c, "SELECT count(*) FROM counties_probe", {})
        area = c.scalar(text("SELECT count(*) FROM counties_probe WHERE county_code = :county "
                             "AND ST_Intersects(geom, ST_MakeEnvelope(123.9, 39.9, 124.1, 40.1, 4490))"),
                        {"county": "210682"})
    assert shards >= 2 and placed == 2  # the shards lie on both workers
    assert one == 1  # a county's lookup is routed to its one shard
    assert every == shards  # a query across counties goes to every shard
    assert area == 5
