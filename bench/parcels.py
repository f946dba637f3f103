"""Parcel benchmarks: creation with the overlap check, and point lookups under load.

    python -m bench.parcels create --engine sqlite --n 10000
    python -m bench.parcels lookup --engine postgis --n 200000 [--duration 10]

``create`` drives ``POST /api/v1/parcels`` through the Flask test client in
this process (JSON → auth → service → database → JSON), two workloads:

* ``refused``: a copy of a random existing parcel shifted by 2–5 m, so the
  whole overlap path runs against real candidates and ends in
  409 PARCEL_OVERLAP (nothing is written);
* ``accepted``: new strips of 300–1,200 m² packed edge to edge in columns in
  the empty village next to the generated county (sent in EPSG:4550, as a
  surveyor would), so later parcels have touching neighbours that the
  overlap check must look at and let through (201).

``lookup`` serves the database with gunicorn (2 workers, 127.0.0.1 only) and
sends ``GET /api/v1/parcels?contains=lon,lat`` for points inside random
existing parcels with ``wrk`` (or, without wrk, a small threaded Python load
generator), bounded in time.

Both run on a working copy of the loaded database (:mod:`bench.common`).
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Self

import numpy as np

from bench.common import (
    COUNTY,
    PROJECT,
    BenchDB,
    log,
    make_app,
    make_token,
    percentiles,
    prepare,
    server_env,
    working_copy,
)

#: Bounds of each creation workload: whichever comes first.
CREATE_MAX_REQUESTS = 1000
CREATE_MAX_SECONDS = 60.0
WARMUP_REQUESTS = 20


# --- sampling existing parcels -------------------------------------------------------------

def sample_parcels(db: BenchDB, k: int, seed: int) -> list[dict]:
    """``k`` random current parcels: code, collective, kind, land use, shapely geometry."""
    import shapely
    from sqlalchemy import select

    from app.db import make_engine
    from app.parcels.models import ParcelVersion

    eng = make_engine(db.url)
    try:
        with eng.connect() as c:
            max_id = c.execute(select(ParcelVersion.id).order_by(ParcelVersion.id.desc()).limit(1)).scalar()
            rng = np.random.default_rng(seed)
            ids = sorted({int(i) for i in rng.integers(1, max_id + 1, size=k * 2)})
            rows = c.execute(select(ParcelVersion.id, ParcelVersion.parcel_code, ParcelVersion.collective_code,
                                    ParcelVersion.kind, ParcelVersion.land_use, ParcelVersion.geom)
                             .where(ParcelVersion.id.in_(ids), ParcelVersion.valid_to.is_(None))).all()
    finally:
        eng.dispose()
    rows = [r for r in rows if r.geom is not None]
    rng.shuffle(rows)
    out = [{"code": r.parcel_code, "collective": r.collective_code, "kind": r.kind, "land_use": r.land_use,
            "geom": r.geom} for r in rows[:k]]
    assert all(isinstance(p["geom"], shapely.Geometry) for p in out)
    return out


def _shift_deg(geom, dx_m: float, dy_m: float):
    import shapely

    lat = shapely.centroid(geom).y
    dlon = dx_m / (111_320.0 * math.cos(math.radians(lat)))
    dlat = dy_m / 110_574.0
    return shapely.transform(geom, lambda xy: xy + (dlon, dlat))


def refused_bodies(db: BenchDB, k: int, seed: int) -> list[dict]:
    """Copies of random existing parcels shifted 2–5 m in a random direction."""
    import shapely

    rng = np.random.default_rng(seed + 1)
    bodies = []
    for p in sample_parcels(db, k, seed):
        d, a = rng.uniform(2.0, 5.0), rng.uniform(0, 2 * math.pi)
        g = _shift_deg(p["geom"], d * math.cos(a), d * math.sin(a))
        bodies.append({"collective": p["collective"], "kind": p["kind"], "land_use": p["land_use"],
                       "geometry": shapely.geometry.mapping(g)})
    return bodies


# --- the empty village next to the county --------------------------------------------------

def empty_village(db: BenchDB) -> tuple[str, tuple[float, float, float, float]]:
    """The first village slot of the synthetic layout after the loaded ones.

    Returns:
        (collective code for a new group there, its square in EPSG:4550 metres).
    """
    from sqlalchemy import func, select

    from app.db import make_engine
    from app.demo_data import (
        GROUP_PITCH_M,
        VILLAGE_GRID,
        VILLAGES_PER_TOWNSHIP,
        _Layout,
    )
    from app.parties.models import Collective

    eng = make_engine(db.url)
    try:
        with eng.connect() as c:
            last = c.execute(select(func.max(Collective.code)).where(Collective.code.like(f"{COUNTY}1%"))).scalar()
    finally:
        eng.dispose()
    township, village = int(last[6:9]), int(last[9:12])
    vi = (township - 101) * VILLAGES_PER_TOWNSHIP + (village - 1) + 1
    layout = _Layout(COUNTY)
    # Groups 1..5 form the top row of the village, 6..10 the bottom row.
    x0, _ = layout.group_origin(vi, 6)
    _, y0 = layout.group_origin(vi, 6)
    w, h = VILLAGE_GRID[0] * GROUP_PITCH_M, VILLAGE_GRID[1] * GROUP_PITCH_M
    t, v = 101 + vi // VILLAGES_PER_TOWNSHIP, 1 + vi % VILLAGES_PER_TOWNSHIP
    return f"{COUNTY}{t:03d}{v:03d}01", (x0, y0, x0 + w, y0 + h)


class StripPacker:
    """Strips of realistic size laid edge to edge: columns 40 m deep, 8–30 m wide.

    Shared edges have identical coordinates, so neighbours touch without
    overlapping; every new strip has its lower and left neighbours (and
    their neighbours) among the overlap check's candidates.
    """

    DEPTH_M = 40.0

    def __init__(self, box: tuple[float, float, float, float], seed: int, margin_m: float = 30.0):
        self.xmin, self.ymin, self.xmax, self.ymax = box
        self.xmin += margin_m
        self.ymin += margin_m
        self.ymax -= margin_m
        self.xmax -= margin_m
        self.rng = np.random.default_rng(seed + 2)
        self.x, self.y = self.xmin, self.ymin

    def next(self) -> dict:
        import shapely

        width = float(self.rng.uniform(8.0, 30.0))
        if self.y + width > self.ymax:
            self.x += self.DEPTH_M
            self.y = self.ymin
        if self.x + self.DEPTH_M > self.xmax:
            raise RuntimeError("the empty village is full")
        # Round to the centimetre: neighbours then share edges bit for bit.
        x0, y0 = round(self.x, 2), round(self.y, 2)
        x1, y1 = round(self.x + self.DEPTH_M, 2), round(self.y + width, 2)
        self.y = y1
        return shapely.geometry.mapping(shapely.box(x0, y0, x1, y1))


# --- creation ------------------------------------------------------------------------------

def _drive(client, token: str, bodies, expect_status: int, expect_code: str | None,
           max_requests: int, max_seconds: float, warmup: int) -> dict:
    """POST each body in turn; time the requests after ``warmup``, bounded in count and time."""
    headers = {"Authorization": f"Bearer {token}"}
    lat_ms: list[float] = []
    unexpected, examples, with_neighbours = 0, [], 0
    t_start = t_end = time.perf_counter()
    for i, body in enumerate(bodies):
        if i == warmup:
            t_start = time.perf_counter()
        t0 = time.perf_counter()
        r = client.post("/api/v1/parcels", json=body, headers=headers)
        t_end = time.perf_counter()
        ok = r.status_code == expect_status
        js = r.get_json(silent=True) or {}
        if ok and expect_code:
            ok = js.get("rule") == expect_code
        elif ok and i >= warmup:
            sides = (js.get("properties") or {}).get("neighbours") or {}
            with_neighbours += any(sides.values())
        if not ok:
            unexpected += 1
            if len(examples) < 3:
                examples.append({"status": r.status_code, "body": r.get_data(as_text=True)[:300]})
        if i >= warmup:
            lat_ms.append((t_end - t0) * 1000)
            if len(lat_ms) >= max_requests or t_end - t_start >= max_seconds:
                break
    wall = t_end - t_start
    return {"count": len(lat_ms), **percentiles(lat_ms, (50, 95, 99)),
            "throughput_rps": round(len(lat_ms) / wall, 1) if wall > 0 else None,
            "wall_s": round(wall, 2), "unexpected": unexpected, "unexpected_examples": examples,
            **({} if expect_code else {"with_neighbours": with_neighbours})}


def _accepted_bodies(collective: str, packer: StripPacker):
    while True:
        yield {"collective": collective, "kind": "contract_land", "land_use": "cultivated",
               "crs": "EPSG:4550", "geometry": packer.next()}


def bench_create(engine: str, n: int, *, seed: int = 1, max_requests: int = CREATE_MAX_REQUESTS,
                 max_seconds: float = CREATE_MAX_SECONDS, profile: str | None = None,
                 ensure: bool = True) -> dict:
    """Time parcel creation, refused and accepted, on a working copy of the ``n``-parcel database.

    ``ensure=False`` skips :func:`~bench.common.prepare` (the caller just did it).
    """
    from app.auth.services import SYSTEM
    from app.db import UnitOfWork
    from app.parties.services import create_collective

    if ensure:
        prepare(engine, n)
    db = working_copy(engine, n)
    log(f"{engine}-{n}: creation benchmark on {db.url}")
    token = make_token(db, role="clerk", scope=COUNTY)
    refused = refused_bodies(db, max_requests + WARMUP_REQUESTS, seed)
    collective, box = empty_village(db)
    app = make_app(db)
    create_collective(UnitOfWork(app.extensions["sanquan"].session_factory), actor=SYSTEM, code=collective,
                      name="基准测试村第一村民小组")
    client = app.test_client()
    out = {"engine": engine, "n": n,
           "accepted_area": {"collective": collective, "box_4550": [round(v, 1) for v in box]}}
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
    for name, bodies, status, code in (
            ("refused", refused, 409, "PARCEL_OVERLAP"),
            ("accepted", _accepted_bodies(collective, StripPacker(box, seed)), 201, None)):
        if profiler and name == profile:
            profiler.enable()
        res = _drive(client, token, bodies, status, code, max_requests, max_seconds, WARMUP_REQUESTS)
        if profiler and name == profile:
            profiler.disable()
        out[name] = res
        log(f"{engine}-{n}: {name}: {res['count']} requests, p50 {res['p50']} ms, p99 {res['p99']} ms, "
            f"{res['throughput_rps']} req/s, unexpected {res['unexpected']}")
    app.extensions["sanquan"].engine.dispose()
    if profiler:
        import pstats
        path = db.dir / f"profile-create-{profile}.pstats"
        profiler.dump_stats(path)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        out["profile"] = str(path)
    return out


# --- point lookups under load --------------------------------------------------------------

def lookup_points(db: BenchDB, k: int, seed: int) -> list[tuple[str, float, float]]:
    """Points inside ``k`` random parcels (shapely's representative point): (code, lon, lat)."""
    import shapely

    ps = sample_parcels(db, k, seed)
    pts = shapely.point_on_surface(np.array([p["geom"] for p in ps], dtype=object))
    return [(p["code"], float(pt.x), float(pt.y)) for p, pt in zip(ps, pts, strict=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn --workers 2 [--threads N] wsgi:app`` on 127.0.0.1 serving ``db``; a context manager.
    ``config`` names a settings file as ``make run`` passes it (``gunicorn_conf.py``); its access log is then
    written and dropped, as a server's would be written."""

    def __init__(self, db: BenchDB, workers: int = 2, threads: int = 1, app: str = "wsgi:app",
                 config: str | None = None):
        self.db, self.workers, self.threads, self.app, self.config = db, workers, threads, app, config
        self.port = _free_port()
        self.proc = None

    def __enter__(self) -> Self:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        errlog = self.db.dir / "gunicorn.log"
        self.proc = subprocess.Popen(
            [str(gunicorn), *(["--config", self.config] if self.config else []),
             "--workers", str(self.workers), "--threads", str(self.threads),
             "--bind", f"127.0.0.1:{self.port}",
             "--error-logfile", str(errlog), self.app],
            cwd=PROJECT, env=server_env(self.db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {errlog}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer /api/v1/health within 60 s")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


_WRK_LUA = r"""
-- Generated by bench/parcels.py: GET /api/v1/parcels?contains= for points inside random parcels.
local points = {%(points)s}
local auth = "Bearer %(token)s"
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(%(seed)d + id)
  bad = 0
  empty = 0
  ok = 0
end

function request()
  local p = points[math.random(#points)]
  return wrk.format("GET", "/api/v1/parcels?contains=" .. p, {["Authorization"] = auth})
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  elseif not string.find(body, '"id"', 1, true) then
    empty = empty + 1
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local b, e, o = 0, 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("bad"); e = e + t:get("empty"); o = o + t:get("ok")
  end
  local s = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d,' ..
    '"mean_us":%%.1f,"non200":%%d,"empty":%%d,"ok":%%d,"socket_errors":%%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, b, e, o,
    s.connect + s.read + s.write + s.timeout))
end
"""


def _run_wrk(base: str, token: str, points, duration: float, threads: int, connections: int,
             seed: int, script_dir: Path) -> dict:
    lua = _WRK_LUA % {"points": ", ".join(f'"{lon:.9f},{lat:.9f}"' for _, lon, lat in points),
                      "token": token, "seed": seed}
    script = script_dir / "lookup.lua"
    script.write_text(lua)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "5s",
           "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    r = json.loads(line[len("BENCH_JSON "):])
    secs = r["duration_us"] / 1e6
    return {"tool": "wrk", "threads": threads, "connections": connections, "duration_s": round(secs, 2),
            "requests": r["requests"], "rps": round(r["requests"] / secs, 1),
            "p50": r["p50_us"] / 1000, "p90": r["p90_us"] / 1000, "p99": r["p99_us"] / 1000,
            "max": r["max_us"] / 1000, "mean": round(r["mean_us"] / 1000, 2),
            "non200": r["non200"], "empty": r["empty"], "ok": r["ok"], "socket_errors": r["socket_errors"]}


def _run_python_load(base: str, token: str, points, duration: float, connections: int, seed: int,
                     max_requests: int = 200_000) -> dict:
    """Keep-alive HTTP/1.1 clients on ``connections`` threads, bounded in time and count."""
    host, port = base.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {token}"}
    lock = threading.Lock()
    lat_ms: list[float] = []
    counts = {"non200": 0, "empty": 0, "ok": 0, "socket_errors": 0, "requests": 0}
    stop_at = time.perf_counter() + duration

    def worker(i: int) -> None:
        rng = np.random.default_rng(seed + i)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        mine: list[float] = []
        c = {"non200": 0, "empty": 0, "ok": 0, "socket_errors": 0}
        while time.perf_counter() < stop_at:
            with lock:
                if counts["requests"] >= max_requests:
                    break
                counts["requests"] += 1
            _, lon, lat = points[int(rng.integers(len(points)))]
            t0 = time.perf_counter()
            try:
                conn.request("GET", f"/api/v1/parcels?contains={lon:.9f},{lat:.9f}", headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                c["socket_errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
                continue
            mine.append((time.perf_counter() - t0) * 1000)
            if resp.status != 200:
                c["non200"] += 1
            elif b'"id"' not in body:
                c["empty"] += 1
            else:
                c["ok"] += 1
        conn.close()
        with lock:
            lat_ms.extend(mine)
            for k, v in c.items():
                counts[k] += v

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(duration + 30)
    secs = time.perf_counter() - t0
    p = percentiles(lat_ms, (50, 90, 99))
    return {"tool": "python", "threads": connections, "connections": connections, "duration_s": round(secs, 2),
            "requests": len(lat_ms), "rps": round(len(lat_ms) / secs, 1),
            "p50": p["p50"], "p90": p["p90"], "p99": p["p99"], "max": p["max"], "mean": p["mean"],
            **{k: counts[k] for k in ("non200", "empty", "ok", "socket_errors")}}


def _verify_points(base: str, token: str, points, k: int = 20) -> None:
    """Each of the first ``k`` points must come back with the parcel it was drawn from."""
    for code, lon, lat in points[:k]:
        req = urllib.request.Request(f"{base}/api/v1/parcels?contains={lon:.9f},{lat:.9f}",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            got = [f["id"] for f in json.load(r)["features"]]
        if code not in got:
            raise AssertionError(f"point {lon},{lat} inside {code} returned {got}")


def bench_lookup(engine: str, n: int, *, duration: float = 10.0, threads: int = 2,
                 connections: tuple[int, ...] = (8, 2), seed: int = 3, n_points: int = 2000,
                 tool: str = "auto", ensure: bool = True) -> list[dict]:
    """Point lookups against gunicorn (2 workers) on a working copy of the ``n``-parcel database.

    One run per entry of ``connections``: 8 keeps both sync workers busy with
    requests queued behind them (latency = queueing + service); 2, one per
    worker, shows the service time itself. ``ensure=False`` skips
    :func:`~bench.common.prepare` (the caller just did it).
    """
    if ensure:
        prepare(engine, n)
    db = working_copy(engine, n)
    token = make_token(db, role="clerk", scope=COUNTY)
    points = lookup_points(db, n_points, seed)
    use_wrk = tool == "wrk" or (tool == "auto" and shutil.which("wrk"))
    if tool == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    out = []
    with Gunicorn(db) as server:
        _verify_points(server.base, token, points)
        for conns in connections:
            log(f"{engine}-{n}: lookup with {'wrk' if use_wrk else 'the Python load generator'}, "
                f"{len(points)} points, {duration:g} s, {conns} connections")
            if use_wrk:  # warm both workers' caches, then measure
                _run_wrk(server.base, token, points, 2, min(threads, conns), conns, seed + 100, db.dir)
                res = _run_wrk(server.base, token, points, duration, min(threads, conns), conns, seed, db.dir)
            else:
                _run_python_load(server.base, token, points, 2, conns, seed + 100)
                res = _run_python_load(server.base, token, points, duration, conns, seed)
            res |= {"engine": engine, "n": n, "workers": 2, "points": len(points)}
            log(f"{engine}-{n}: lookup: {res['requests']} requests, {res['rps']} req/s, p50 {res['p50']} ms, "
                f"p99 {res['p99']} ms, non-200 {res['non200']}, empty {res['empty']}, "
                f"socket errors {res['socket_errors']}")
            out.append(res)
    return out


def _main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.parcels")
    p.add_argument("what", choices=("create", "lookup"))
    p.add_argument("--engine", required=True, choices=("sqlite", "postgis"))
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--duration", type=float, default=10.0, help="lookup: seconds of load")
    p.add_argument("--connections", default="8,2", help="lookup: comma list of connection counts")
    p.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--max-requests", type=int, default=CREATE_MAX_REQUESTS)
    p.add_argument("--profile", choices=("refused", "accepted"), help="create: cProfile one workload")
    a = p.parse_args(argv)
    if a.what == "create":
        res = bench_create(a.engine, a.n, max_requests=a.max_requests, profile=a.profile)
    else:
        res = bench_lookup(a.engine, a.n, duration=a.duration, tool=a.tool,
                           connections=tuple(int(c) for c in a.connections.split(",")))
    print(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    _main()
