"""Provincial benchmark (issue 19): ten counties on a Citus cluster beside one PostgreSQL, in the same run.

    python -m bench.citus [--counties 10] [--n 100000] [--duration 15] [--connections 2]

Ten counties of ``n`` synthetic parcels each (Donggang and nine more Liaoning counties,
:data:`app.demo_data.PROVINCE_COUNTIES`) are loaded through the importer, one NY/T 2539 package a county as its
survey contractor would deliver it (``bench/out/package-<county>-<n>.zip``, written once), into:

    single   one PostgreSQL + PostGIS: database ``sanquan_bench_province_<n>`` on ``SANQUAN_BENCH_PG_URL``'s
             server (default ``postgresql+psycopg://root@127.0.0.1:5432/``)
    cluster  a Citus coordinator with two workers, three PostgreSQL 15 servers on this machine, started by
             ``.ci/citus-cluster`` on ports 5450-5452 with its own data directory (so a test cluster on 5440
             may run meanwhile) and removed at the end; ``--cluster-url`` uses a running cluster instead

Then the same gunicorn (2 workers, as ``make run``) serves each in turn, and the same clients measure:

    point lookup   ``GET /api/v1/parcels?contains=lon,lat`` at a point inside a random parcel of a random county,
                   asked by that county's clerk (routed to the county's shard group): p50 and p99
    code lookup    ``GET /api/v1/parcels/{code}`` of a random parcel: p50 and p99
    lifecycle      voluntary paid transfers within a collective (create, issuer consent, payment, completion),
                   across the ten counties: completed per second

and prints each beside the other and the cluster's over the single server's. On 2 cores the cluster cannot be
faster (its three servers share the cores the single one has alone): the ratio is the cost of distribution, which
the issue asks to stay within 2x. It also prints what docs/scaling.md sizes the province from: each county's rows
and bytes (parcels, rights, people, ledger entries), how the cluster's bytes lie on its nodes, and where a
lookup's and a completed transfer's CPU went, by server (:mod:`bench.cpu`). Everything is written to
``bench/out/citus.json``.

About 25 minutes for ten counties of 100,000 parcels on this machine: packages 3 min the first time, loading
8 min into the single server and 12 into the cluster, measuring 3.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import (
    OUT,
    PROJECT,
    BenchDB,
    _create_empty,
    count_parcels,
    drop,
    log,
    make_app,
    make_token,
    peak_rss_mb,
    percentiles,
)
from bench.cpu import CpuMeter
from bench.parcels import Gunicorn
from bench.transfers import drive_lifecycles, lifecycles

#: Donggang first, then the nine of :data:`app.demo_data.PROVINCE_COUNTIES`.
COUNTY_ORDER = ("210681", "210281", "210283", "210323", "210381", "210521", "210881", "210882", "211021",
                "211221")
CLUSTER_PORT = 5450
CLUSTER_DIR = "/tmp/sanquan-citus-bench"
#: The county's tables a sizing counts, with what their rows are.
SIZED = {"parcels": "parcels", "parcel_versions": "parcel versions", "rights": "rights",
         "right_parcels": "right-parcel links", "households": "households", "persons": "persons",
         "memberships": "memberships", "ledger_entries": "ledger entries", "ledger_nodes": "ledger tree nodes",
         "ledger_subjects": "ledger subject index"}


@dataclass(frozen=True)
class ClusterDB:
    """The cluster's database, shaped as :class:`bench.common.BenchDB` is for the servers and clients."""

    url: str
    dir: Path = OUT / "province-citus"

    @property
    def instance(self) -> Path:
        return self.dir / "instance"


# --- the cluster ---------------------------------------------------------------------------

class Cluster:
    """``.ci/citus-cluster`` on its own ports and directory: up on enter, down (and removed) on exit unless
    ``keep``."""

    def __init__(self, keep: bool = False):
        self.keep = keep
        self.env = os.environ | {"SANQUAN_CITUS_PORT": str(CLUSTER_PORT), "SANQUAN_CITUS_DIR": CLUSTER_DIR}

    def _run(self, command: str) -> str:
        return subprocess.run([str(PROJECT / ".ci" / "citus-cluster"), command], env=self.env, cwd=PROJECT,
                              check=True, capture_output=True, text=True).stdout.strip()

    def __enter__(self) -> str:
        log(f"starting a Citus coordinator and two workers on ports {CLUSTER_PORT}-{CLUSTER_PORT + 2}")
        self._run("up")
        return self._run("url")

    def __exit__(self, *exc) -> None:
        if self.keep:
            log(f"the cluster stays up: {self._run('url')} (stop it with SANQUAN_CITUS_PORT={CLUSTER_PORT} "
                f"SANQUAN_CITUS_DIR={CLUSTER_DIR} .ci/citus-cluster down)")
            return
        self._run("down")


def migrate(url: str) -> None:
    from app.db import make_engine
    from app.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


# --- loading ---------------------------------------------------------------------------------

def ensure_package(county: str, n: int) -> Path:
    from bench.package import write_synthetic_package

    path = OUT / f"package-{county}-{n}.zip"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        write_synthetic_package(path, n, county=county)
        log(f"{county}: package of {n:,} parcels written in {time.perf_counter() - t0:.1f} s, "
            f"{path.stat().st_size / 1e6:.1f} MB")
    return path


def load(db, counties: list[str], n: int, label: str) -> list[dict]:
    """Import each county's package into ``db`` as the API's import job does; seconds and rows per county."""
    from app.auth.services import SYSTEM
    from app.db import UnitOfWork
    from app.imports import services
    from app.imports.routes import policy

    app = make_app(db)
    factory = app.extensions["sanquan"].session_factory
    with app.test_request_context():
        rules = policy()
    out = []
    try:
        for county in counties:
            path = ensure_package(county, n)
            with open(path, "rb") as stream:
                job = services.create_import(UnitOfWork(factory), actor=SYSTEM, policy=rules, stream=stream,
                                             filename=path.name, dry_run=False, accept_warnings=True)
            t0 = time.perf_counter()
            services.run_job(lambda: UnitOfWork(factory), rules, job["id"])
            seconds = time.perf_counter() - t0
            view = services.get_import(UnitOfWork(factory), actor=SYSTEM, policy=rules, job_id=job["id"])
            if view["status"] != "committed":
                raise RuntimeError(f"{label} {county}: {view['status']} {view['error']} {view['qa']}")
            out.append({"county": county, "seconds": round(seconds, 1), "written": view["counts"]["written"],
                        "ledger_entries": view["ledger"]["last"] - view["ledger"]["first"] + 1})
            log(f"{label}: {county} imported in {seconds:.1f} s ({n / seconds:,.0f} parcels/s)")
    finally:
        app.extensions["sanquan"].engine.dispose()
    return out


def analyze(url: str) -> None:
    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


# --- sizes -----------------------------------------------------------------------------------

def county_sizes(url: str, counties: list[str]) -> dict:
    """Rows per county of :data:`SIZED`'s tables, and the bytes of the whole database per county (tables,
    indexes and TOAST, divided by the counties loaded; on one PostgreSQL)."""
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            rows = {}
            for table in SIZED:
                column = "log" if table.startswith("ledger_") else "county_code"
                total = c.scalar(text(f"SELECT count(*) FROM {table} WHERE {column} = ANY(:c)"),
                                 {"c": list(counties)})
                rows[table] = round(total / len(counties))
            table_bytes = {table: c.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table})
                           for table in SIZED}
            ledger_body = c.scalar(text("SELECT sum(octet_length(body::text)) FROM ledger_entries "
                                        "WHERE log = ANY(:c)"), {"c": list(counties)})
            database = c.scalar(text("SELECT pg_database_size(current_database())"))
            mean_m2 = c.scalar(text("SELECT avg(area_m2) FROM parcel_versions WHERE valid_to IS NULL"))
    finally:
        engine.dispose()
    return {"rows_per_county": rows,
            "bytes_per_county": {t: round(b / len(counties)) for t, b in table_bytes.items()},
            "ledger_body_bytes_per_county": round((ledger_body or 0) / len(counties)),
            "database_bytes_per_county": round(database / len(counties)), "database_bytes": database,
            "mean_parcel_mu": round(float(mean_m2) / (10_000 / 15), 2)}


def cluster_layout(url: str) -> dict:
    """How the cluster's shards lie: bytes and shard placements per node."""
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            nodes = c.execute(text("SELECT nodename || ':' || nodeport, count(*), sum(shard_size) FROM citus_shards "
                                   "GROUP BY 1 ORDER BY 1")).all()
            groups = c.scalar(text("SELECT count(DISTINCT colocation_id) FROM citus_tables "
                                   "WHERE citus_table_type = 'distributed'"))
    finally:
        engine.dispose()
    return {"nodes": {node: {"placements": int(k), "bytes": int(b)} for node, k, b in nodes},
            "colocation_groups": groups}


# --- measuring -------------------------------------------------------------------------------

def sample(url: str, counties: list[str], per_county: int, seed: int) -> list[tuple[str, str, float, float]]:
    """``per_county`` random parcels of each county: (county, code, lon, lat) of a point inside each."""
    import shapely
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            c.exec_driver_sql(f"SELECT setseed({(seed % 1000) / 1000})")
            found = []
            for county in counties:
                found += [(county, code, wkb) for code, wkb in c.execute(text(
                    "SELECT p.code, ST_AsBinary(ST_PointOnSurface(v.geom)) FROM parcels p "
                    "JOIN parcel_versions v ON v.county_code = p.county_code AND v.parcel_code = p.code "
                    "AND v.valid_to IS NULL WHERE p.county_code = :c ORDER BY random() LIMIT :k"),
                    {"c": county, "k": per_county})]
    finally:
        engine.dispose()
    points = shapely.from_wkb([bytes(w) for _, _, w in found])
    return [(county, code, float(p.x), float(p.y)) for (county, code, _), p in zip(found, points, strict=True)]


def lookups(port: int, tokens: dict[str, str], points, path, *, connections: int, duration: float,
            seed: int) -> dict:
    """``connections`` keep-alive clients asking ``path(point)`` with the point's county clerk's token for
    ``duration`` seconds; latency percentiles, requests per second, and any answer but a 200 naming the parcel."""
    lock = threading.Lock()
    latencies: list[float] = []
    wrong: list[str] = []
    stop_at = time.perf_counter() + duration

    def client(i: int) -> None:
        rng = np.random.default_rng(seed + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], []
        while time.perf_counter() < stop_at:
            county, code, lon, lat = points[int(rng.integers(len(points)))]
            t0 = time.perf_counter()
            conn.request("GET", path(code, lon, lat), headers={"Authorization": f"Bearer {tokens[county]}"})
            resp = conn.getresponse()
            body = resp.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if resp.status != 200 or code.encode() not in body:
                bad.append(f"{resp.status} {code}")
        conn.close()
        with lock:
            latencies.extend(mine)
            wrong.extend(bad)

    t0 = time.perf_counter()
    clients = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    seconds = time.perf_counter() - t0
    if wrong:
        raise RuntimeError(f"{len(wrong)} lookups did not find their parcel, e.g. {wrong[:3]}")
    return percentiles(latencies, (50, 99)) | {"requests": len(latencies),
                                               "per_s": round(len(latencies) / seconds, 1)}


POINT = ("point lookup", lambda code, lon, lat: f"/api/v1/parcels?contains={lon:.9f},{lat:.9f}")
CODE = ("code lookup", lambda code, lon, lat: f"/api/v1/parcels/{code}")


def measure(db, counties: list[str], label: str, *, connections: int, duration: float, seed: int) -> dict:
    """The lookups and the transfer lifecycle on ``db``, served by gunicorn."""
    tokens = {county: make_token(db, role="clerk", scope=county, name=f"bench-clerk-{county}")
              for county in counties}
    desk = make_token(db, role="exchange", scope="21", name="bench-provincial-desk")
    points = sample(db.url, counties, 300, seed)
    # the counties' transfers by turns, as ten counties' desks would send them
    per_county = [lifecycles(db, limit=2_000, county=county) for county in counties]
    jobs = [job for turn in zip(*per_county, strict=False) for job in turn]
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    out: dict = {"target": label}
    with Gunicorn(db) as server:
        for name, path in (POINT, CODE):
            lookups(server.port, tokens, points, path, connections=connections, duration=2, seed=seed + 99)  # warm
            with CpuMeter(app=server.proc.pid) as cpu:
                out[name] = lookups(server.port, tokens, points, path, connections=connections,
                                    duration=duration, seed=seed)
            out[name]["cpu_ms"] = cpu.per(out[name]["requests"])
            out[name]["busy"] = cpu.busy(duration)
            log(f"{label}: {name} p50 {out[name]['p50']} ms, p99 {out[name]['p99']} ms, "
                f"{out[name]['per_s']} req/s over {connections} connections")
        with CpuMeter(app=server.proc.pid) as cpu:
            results, seconds = drive_lifecycles(server.port, {"Authorization": f"Bearer {desk}",
                                                              "Content-Type": "application/json"},
                                                todo, connections=connections * 2, duration=duration)
    completed = sum(1 for step, _, status in results if step == "complete" and status == 200)
    failed = sorted({f"{step}:{status}" for step, _, status in results if status >= 300})
    if failed:
        raise RuntimeError(f"{label}: lifecycle requests failed: {failed}")
    out["lifecycle"] = {"completed": completed, "seconds": round(seconds, 1),
                        "per_s": round(completed / seconds, 1),
                        "request_ms": percentiles([ms for _, ms, _ in results], (50, 99)),
                        "counties": len({job["right"][:6] for job in jobs[:completed]}),  # the first ones taken
                        "connections": connections * 2, "cpu_ms": cpu.per(completed),
                        "busy": cpu.busy(seconds)}
    log(f"{label}: {completed} transfers completed in {seconds:.1f} s = {out['lifecycle']['per_s']}/s")
    return out


# --- the run ---------------------------------------------------------------------------------

def run(*, counties: int, n: int, duration: float, connections: int, cluster_url: str | None, seed: int = 5,
        keep: bool = False, reuse: bool = False) -> dict:
    chosen = list(COUNTY_ORDER[:counties])
    for county in chosen:
        ensure_package(county, n)
    single = BenchDB("postgis", n, purpose="province")
    result: dict = {"counties": chosen, "parcels_per_county": n}
    if reuse and count_parcels(single) == n * len(chosen):
        log(f"single: reusing {single.pg_name}")
    else:
        log(f"single: creating and migrating {single.pg_name}")
        _create_empty(single)
        single.instance.mkdir(parents=True, exist_ok=True)
        result["single_load"] = load(single, chosen, n, "single")
        analyze(single.url)
    result["sizes"] = county_sizes(single.url, chosen)

    def on_cluster(url: str) -> None:
        db = ClusterDB(url)
        db.instance.mkdir(parents=True, exist_ok=True)
        if reuse and cluster_url and _parcels(url) == n * len(chosen):
            log("cluster: reusing its counties")
        else:
            migrate(url)
            result["cluster_load"] = load(db, chosen, n, "cluster")
            analyze(url)
        result["cluster_layout"] = cluster_layout(url)
        # the two measured in turns, under the same load of this machine
        result["single"] = measure(single, chosen, "single", connections=connections, duration=duration, seed=seed)
        result["cluster"] = measure(db, chosen, "cluster", connections=connections, duration=duration, seed=seed)

    if cluster_url:
        on_cluster(cluster_url)
    else:
        with Cluster(keep=keep) as url:
            on_cluster(url)
    if not keep:
        drop(single)
    result["ratios"] = ratios(result)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def _parcels(url: str) -> int | None:
    """Parcels in the database at ``url``, or None before its migration."""
    from sqlalchemy import inspect, text

    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return c.scalar(text("SELECT count(*) FROM parcels")) if inspect(c).has_table("parcels") else None
    finally:
        engine.dispose()


def ratios(result: dict) -> dict:
    """The cluster's figure over the single server's: latencies (above 1 is slower) and rates (below 1)."""
    s, c = result["single"], result["cluster"]
    loaded = "cluster_load" in result and "single_load" in result
    load_s = sum(x["seconds"] for x in result["cluster_load"]) / sum(x["seconds"] for x in result["single_load"]) \
        if loaded else None
    return {"point_lookup_p99": round(c[POINT[0]]["p99"] / s[POINT[0]]["p99"], 2),
            "code_lookup_p99": round(c[CODE[0]]["p99"] / s[CODE[0]]["p99"], 2),
            "lifecycle_rate": round(c["lifecycle"]["per_s"] / s["lifecycle"]["per_s"], 2),
            "import_seconds": round(load_s, 2) if load_s else None}


def report(result: dict) -> None:
    s, c, r = result["single"], result["cluster"], result["ratios"]
    print(f"\n{len(result['counties'])} counties x {result['parcels_per_county']:,} parcels")
    print(f"{'':28}{'single':>12}{'cluster':>12}{'cluster/single':>16}")
    for name in (POINT[0], CODE[0]):
        for q in ("p50", "p99"):
            print(f"{name + ' ' + q + ' ms':28}{s[name][q]:>12}{c[name][q]:>12}"
                  f"{round(c[name][q] / s[name][q], 2):>16}")
    print(f"{'transfers completed / s':28}{s['lifecycle']['per_s']:>12}{c['lifecycle']['per_s']:>12}"
          f"{r['lifecycle_rate']:>16}")
    if r["import_seconds"]:
        single_load = sum(x["seconds"] for x in result["single_load"])
        cluster_load = sum(x["seconds"] for x in result["cluster_load"])
        print(f"{'import, all counties s':28}{single_load:>12.0f}{cluster_load:>12.0f}{r['import_seconds']:>16}")
    for name, per in ((POINT[0], "lookup"), ("lifecycle", "completed transfer")):
        single_ms, cluster_ms = s[name].get("cpu_ms", {}), c[name].get("cpu_ms", {})
        print(f"\nCPU ms per {per}, by process group{_busy(s[name], c[name])}:")
        for group in sorted(set(single_ms) | set(cluster_ms), key=_group_order):
            a, b = single_ms.get(group, 0.0), cluster_ms.get(group, 0.0)
            if max(a, b) >= 0.1 or group == "machine":
                print(f"  {group:26}{a:>12}{b:>12}")
    sizes = result["sizes"]
    print("\nper county (one PostgreSQL):")
    for table, what in SIZED.items():
        rows, mb = sizes["rows_per_county"][table], sizes["bytes_per_county"][table] / 2**20
        print(f"  {what:24}{rows:>12,} rows{mb:>10.1f} MB")
    print(f"  {'ledger bodies':24}{'':>17}{sizes['ledger_body_bytes_per_county'] / 2**20:>10.1f} MB")
    print(f"  {'whole database':24}{'':>17}{sizes['database_bytes_per_county'] / 2**20:>10.1f} MB")
    print(f"  mean parcel {sizes['mean_parcel_mu']} mu")
    print("cluster nodes:")
    for node, v in result["cluster_layout"]["nodes"].items():
        print(f"  {node:24}{v['placements']:>8} placements{v['bytes'] / 2**20:>10.1f} MB")


def _group_order(group: str) -> tuple[int, str]:
    return ({"app": 0, "clients": 1, "other": 8, "machine": 9}.get(group, 5), group)


def _busy(single: dict, cluster: dict) -> str:
    if "busy" not in single:
        return ""
    return f" (all cores busy {single['busy']:.0%} of the time / {cluster['busy']:.0%})"


def _main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.citus", description=__doc__.split("\n\n")[0])
    p.add_argument("--counties", type=int, default=10, choices=range(1, len(COUNTY_ORDER) + 1))
    p.add_argument("--n", type=int, default=100_000, help="parcels per county (default 100000)")
    p.add_argument("--duration", type=float, default=15.0, help="seconds of each measured load (default 15)")
    p.add_argument("--connections", type=int, default=2,
                   help="lookup clients, one per gunicorn worker (default 2); the lifecycle uses twice as many")
    p.add_argument("--cluster-url", help="a running, empty Citus cluster's coordinator, instead of starting one")
    p.add_argument("--keep", action="store_true",
                   help="keep the single server's database and the cluster afterwards, for a --reuse")
    p.add_argument("--reuse", action="store_true",
                   help="measure what an earlier --keep left loaded (with --cluster-url) instead of loading again")
    a = p.parse_args(argv)
    result = run(counties=a.counties, n=a.n, duration=a.duration, connections=a.connections,
                 cluster_url=a.cluster_url, keep=a.keep, reuse=a.reuse)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "citus.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    report(result)


if __name__ == "__main__":
    _main()
