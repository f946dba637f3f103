"""Growth without downtime (issue 19): a third worker joins the cluster while clerks keep registering, and Citus
moves shard groups onto it online (``citus_rebalance_start``, logical replication). No acknowledged write may be
lost, and afterwards every county's ledger verifies and replays to exactly its tables.

The write load runs on one county per shard group, so whichever groups the rebalancer picks, writes were going to
them while they moved. It is bounded: a few writers, each pausing between requests, for as long as the rebalance
takes, then a little longer.

The test adds a node to the cluster, so it runs alone: ``make test-citus`` runs it after the parallel suite, with
``SANQUAN_CITUS_CLUSTER`` naming the cluster script (``.ci/citus-cluster``). Anywhere else it skips.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from app.audit.verify import verify_county
from app.auth.services import SYSTEM, create_user
from app.db import UnitOfWork, on_citus
from app.parties.services import create_collective
from tests.conftest import id_number, square

pytestmark = [pytest.mark.postgis, pytest.mark.rebalance]

CLUSTER = os.environ.get("SANQUAN_CITUS_CLUSTER")
NEEDS = ("adds a worker to a Citus cluster: `make test-citus` runs it alone after the parallel suite, "
         "with SANQUAN_CITUS_CLUSTER naming .ci/citus-cluster")
WRITERS = 4
PAUSE = 0.02  # seconds each writer waits between its requests
AFTER = 3.0  # seconds the load goes on once the rebalance has finished
MAX_WRITES = 20_000  # the bound, should the rebalance hang
RETRIES = 5


@dataclass
class Load:
    """What the writers were told: every 201 is an acknowledged write."""

    households: dict[str, list[str]] = field(default_factory=dict)  # county -> household codes
    parcels: dict[str, list[str]] = field(default_factory=dict)  # county -> parcel codes (DKBM)
    during: dict[str, int] = field(default_factory=dict)  # county -> writes acknowledged while shards moved
    refused: list[str] = field(default_factory=list)  # anything but a 201, retries spent
    retried: int = 0  # 503s (nothing written, try again) a writer tried again after
    lock: threading.Lock = field(default_factory=threading.Lock)
    moving: bool = False


def _one_county_per_shard_group(connection) -> dict[int, str]:
    """A county code of Liaoning's form (21xxyy) for each shard of the county tables: shard id -> county."""
    shards = connection.execute(text(
        "SELECT DISTINCT ON (shard) county, shard FROM ("
        "  SELECT c AS county, get_shard_id_for_distribution_column('collectives', c) AS shard"
        "  FROM (SELECT '21' || lpad(n::text, 4, '0') AS c FROM generate_series(101, 9999) n) codes"
        "  WHERE substr(c, 3, 2) <> '00' AND substr(c, 5, 2) <> '00') found "
        "ORDER BY shard, county")).all()
    total = connection.scalar(text("SELECT shard_count FROM citus_tables WHERE table_name = 'collectives'::regclass"))
    assert len(shards) == total, (len(shards), total)
    return {shard: county for county, shard in shards}


def _placements(connection) -> dict[int, str]:
    """Where each shard of the collectives table lives: shard id -> host:port."""
    return {shard: f"{host}:{port}" for shard, host, port in connection.execute(text(
        "SELECT shardid, nodename, nodeport FROM citus_shards WHERE table_name = 'collectives'::regclass"))}


def _post(client, url: str, body: dict, headers: dict, load: Load):
    """POST as a client keeping to the API's contract: a 503 says nothing was written and when to try again."""
    for _ in range(RETRIES):
        r = client.post(url, json=body, headers=headers)
        if r.status_code != 503:
            break
        with load.lock:
            load.retried += 1
        time.sleep(float(r.headers.get("Retry-After", 1)))
    return r


def _write(client, token: str, county: str, k: int, load: Load) -> None:
    """The k-th write to ``county``: a household (persons, membership, ID numbers) or a parcel, by turns."""
    collective = f"{county}10100101"
    headers = {"Authorization": f"Bearer {token}"}
    if k % 2 == 0:
        born = (dt.date(1950, 1, 1) + dt.timedelta(days=k // 998)).strftime("%Y%m%d")
        body = {"head": {"name": f"户主{k}", "id_number": id_number(county, born, k // 2 % 499 * 2 + 1), "sex": "male"},
                "members": []}
        r = _post(client, f"/api/v1/collectives/{collective}/households", body, headers, load)
        acknowledged = r.get_json().get("code") if r.status_code == 201 else None
        kept = load.households
    else:
        x, y = (k // 2 % 80) * 60.0, (k // 160) * 60.0
        body = {"collective": collective, "kind": "contract_land", "land_use": "cultivated",
                "geometry": square(x, y, 50)}
        r = _post(client, "/api/v1/parcels", body, headers, load)
        acknowledged = r.get_json().get("id") if r.status_code == 201 else None
        kept = load.parcels
    with load.lock:
        if acknowledged is None:
            load.refused.append(f"{county} #{k}: {r.status_code} {r.get_data(as_text=True)[:300]}")
            return
        kept.setdefault(county, []).append(acknowledged)
        if load.moving:
            load.during[county] = load.during.get(county, 0) + 1


def _writer(app, token: str, counties: list[str], start: int, stop: threading.Event, load: Load) -> None:
    client = app.test_client()
    turn = start
    while not stop.is_set():
        county = counties[turn % len(counties)]
        _write(client, token, county, turn // len(counties), load)
        turn += WRITERS
        if turn >= MAX_WRITES:
            return
        time.sleep(PAUSE)


@contextmanager
def writing(app, uow_factory, counties: list[str]):
    """A collective in each county, then the writers at work on them until the block ends: the load, as told."""
    for county in counties:
        create_collective(uow_factory(), actor=SYSTEM, code=f"{county}10100101", name="一组")
    token = create_user(uow_factory(), actor=SYSTEM, name="load", role="admin", scope="")["token"]
    load, stop = Load(), threading.Event()
    writers = [threading.Thread(target=_writer, args=(app, token, counties, i, stop, load)) for i in range(WRITERS)]
    for w in writers:
        w.start()
    try:
        time.sleep(AFTER)  # the load is running before the cluster changes
        yield load
        time.sleep(AFTER)  # and goes on after, on the new placements
    finally:
        stop.set()
        for w in writers:
            w.join()


def acknowledged(load: Load) -> int:
    return sum(map(len, load.households.values())) + sum(map(len, load.parcels.values()))


def assert_every_acknowledged_write_kept(app, uow_factory, counties: list[str], load: Load) -> None:
    """Each county holds exactly the households and parcels it acknowledged, with one ledger entry each (and
    its collective's), and its ledger verifies and replays to exactly its tables."""
    with UnitOfWork(app.extensions["sanquan"].session_factory, write=False) as uow:
        s = uow.session
        for county in counties:
            households = set(s.execute(text("SELECT code FROM households WHERE county_code = :c"),
                                       {"c": county}).scalars())
            parcels = set(s.execute(text("SELECT code FROM parcels WHERE county_code = :c"),
                                    {"c": county}).scalars())
            entries = s.scalar(text("SELECT count(*) FROM ledger_entries WHERE log = :c"), {"c": county})
            assert households == set(load.households.get(county, [])), county  # none lost, none made up
            assert parcels == set(load.parcels.get(county, [])), county
            assert entries == 1 + len(households) + len(parcels), county
    for county in counties:
        result = verify_county(uow_factory(write=False), county)
        assert result.ok, (county, result.problem)
        assert result.checks["replayed_objects"] > len(load.households.get(county, []))


@pytest.mark.parametrize("database_url", [pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True)
def test_a_worker_added_under_write_load_takes_shards_online_and_no_acknowledged_write_is_lost(app, uow_factory):
    engine = app.extensions["sanquan"].engine
    with engine.connect() as c:
        if not (on_citus(c) and CLUSTER):
            pytest.skip(NEEDS)
        workers_before = c.scalar(text("SELECT count(*) FROM citus_get_active_worker_nodes()"))
        county_of = _one_county_per_shard_group(c)
        before = _placements(c)
    counties = list(county_of.values())
    with writing(app, uow_factory, counties) as load:
        subprocess.run([CLUSTER, "add-node"], check=True, capture_output=True, text=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            load.moving = True
            started = time.monotonic()
            job = c.scalar(text("SELECT citus_rebalance_start()"))
            c.execute(text("SELECT citus_rebalance_wait()"))
            took = time.monotonic() - started
            load.moving = False
            state = c.scalar(text("SELECT state FROM pg_dist_background_job WHERE job_id = :job"), {"job": job})
            workers_after = c.scalar(text("SELECT count(*) FROM citus_get_active_worker_nodes()"))
            after = _placements(c)

    moved = {shard for shard, node in after.items() if node != before[shard]}
    moved_counties = [county_of[shard] for shard in moved]
    print(f"\nrebalance: {len(moved)} of {len(before)} shard groups moved in {took:.1f} s "
          f"under {acknowledged(load)} acknowledged writes ({sum(load.during.values())} while moving), "
          f"{len(load.refused)} refused, {load.retried} tried again after a 503")
    assert state == "finished", state
    assert workers_after == workers_before + 1
    assert moved and len(set(after.values())) == workers_after  # the new worker holds shards now
    assert load.refused == [], load.refused[:5]  # the move never turned a clerk away
    assert all(load.during.get(county) for county in moved_counties), (moved_counties, load.during)
    assert_every_acknowledged_write_kept(app, uow_factory, counties, load)


def _shard_of(connection, county: str) -> int:
    return connection.scalar(text("SELECT get_shard_id_for_distribution_column('collectives', CAST(:c AS varchar))"),
                              {"c": county})


@pytest.mark.parametrize("database_url", [pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True)
def test_a_county_isolated_online_gets_a_shard_group_of_its_own_and_moves_alone(app, uow_factory):
    """A large county is given a shard group of its own while its clerks write (``isolate_tenant_to_new_shard``),
    and that group is then moved to another node by itself, online: no acknowledged write lost, none refused.

    The split blocks the county's writes while it copies (``block_writes``): they wait, and go on after; one
    caught at the switch is answered 503 (nothing written, ``Retry-After: 1``) and goes through when tried again. Its
    non-blocking mode (``force_logical``) stalls here: the split's subscriber refuses the ledger head's updates
    ("publisher did not send replica identity column expected"), and the split waits for it for ever."""
    engine = app.extensions["sanquan"].engine
    with engine.connect() as c:
        if not (on_citus(c) and CLUSTER):
            pytest.skip(NEEDS)
        big = "210681"
        # a county that shares Donggang's shard group today
        neighbour = next(county for county in (f"21{n:04d}" for n in range(101, 9999))
                         if county != big and county[2:4] != "00" and county[4:6] != "00"
                         and _shard_of(c, county) == _shard_of(c, big))
    counties = [big, neighbour]
    with writing(app, uow_factory, counties) as load:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            load.moving = True
            own = c.scalar(text("SELECT isolate_tenant_to_new_shard('collectives', CAST(:c AS varchar), 'CASCADE', "
                                "shard_transfer_mode => 'block_writes')"), {"c": big})
            node, port = c.execute(text("SELECT nodename, nodeport FROM citus_shards WHERE shardid = :s"),
                                   {"s": own}).one()
            to = c.execute(text("SELECT node_name, node_port FROM citus_get_active_worker_nodes() "
                                "WHERE (node_name, node_port) <> (:n, :p) ORDER BY node_port LIMIT 1"),
                           {"n": node, "p": port}).one()
            c.execute(text("SELECT citus_move_shard_placement(:s, :n, :p, :tn, :tp, 'force_logical')"),
                      {"s": own, "n": node, "p": port, "tn": to[0], "tp": to[1]})
            load.moving = False
            mine = c.execute(text("SELECT shardminvalue::int, shardmaxvalue::int FROM pg_dist_shard "
                                  "WHERE shardid = :s"), {"s": own}).one()
            placed = c.scalar(text("SELECT nodeport FROM citus_shards WHERE shardid = :s"), {"s": own})
            apart = _shard_of(c, neighbour) != _shard_of(c, big) == own
            moved_with = c.scalar(text(
                "SELECT count(*) FROM citus_shards s JOIN pg_dist_shard d USING (shardid) "
                "WHERE d.shardminvalue = :lo AND d.shardmaxvalue = :hi AND s.nodeport = :p"),
                {"lo": str(mine[0]), "hi": str(mine[1]), "p": to[1]})
            tables = c.scalar(text("SELECT count(*) FROM citus_tables WHERE colocation_id = "
                                   "(SELECT colocationid FROM pg_dist_partition "
                                   "WHERE logicalrelid = 'collectives'::regclass)"))

    print(f"\nisolation: {big} alone in shard {own}, moved to port {placed} with its {moved_with} tables, "
          f"{acknowledged(load)} writes acknowledged ({sum(load.during.values())} meanwhile), "
          f"{len(load.refused)} refused, {load.retried} tried again after a 503")
    assert mine[0] == mine[1] and apart  # one hash value: the county's, and nobody else's
    assert placed == to[1] and moved_with == tables  # the whole shard group moved, every table of it
    assert load.refused == [] and all(load.during.get(county) for county in counties), (load.refused[:3], load.during)
    assert_every_acknowledged_write_kept(app, uow_factory, counties, load)
