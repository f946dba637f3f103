"""The registry's request rates as shares of this machine's limit (issue 18), each engine in one run.

    python -m bench.ratio [--engines sqlite,postgis] [--n 200000] [--duration 10] [--connections 4]
                          [--json bench/out/ratio.json]

For each engine, on a working copy of the loaded county, gunicorn is started as ``make run`` starts it
(``gunicorn_conf.py``, 2 workers, 16 threads each) and driven by one client (keep-alive ``http.client``
connections on threads of this process):

1. **bare**: :mod:`bench.bare`, a WSGI app answering a constant: requests per second at ``--connections``;
   then :mod:`bench.hello`, the smallest Flask app, whose share is what Flask alone leaves for the registry.
2. **household read**: ``GET /api/v1/households/{code}`` (members, rights), authenticated, same connections:
   its rate as a share of the bare one (target ≥ 0.85).
3. **transfer lifecycle**: two clients on disjoint parcels each walk create (with consent), issuer consent,
   payment and completion: lifecycles per second as a share of the bare rate divided by 4 (target ≥ 0.5).
4. **floor**: :mod:`bench.floor`, the smallest Flask app that touches the same database (one indexed
   ``SELECT``; one ``INSERT`` committed): what a read or a write costs before the registry does anything of its
   own. Four floor writes are the floor of a lifecycle, read against the same ceiling.
5. **bare** again: the ceiling is the mean of the two bare runs (both are printed, to show the drift).
6. **in process** (Flask test client, no HTTP, collector frozen as the workers freeze it): p50 of each write
   request of 200 lifecycles (target ≤ 2.5 ms on SQLite) and of reads of one object (≤ 1 ms on SQLite).

Prints one line per figure and, at the end, everything as JSON.
"""
from __future__ import annotations

import argparse
import gc
import json
import queue
import time
from pathlib import Path

from bench.common import PROJECT, log, make_app, make_token, percentiles, prepare, working_copy
from bench.parcels import Gunicorn
from bench.transfers import _walk, drive_lifecycles, lifecycles, rate

#: The issue's targets.
READ_SHARE_TARGET = 0.85
LIFECYCLE_SHARE_TARGET = 0.5
WRITE_P50_TARGET_MS = 2.5
READ_P50_TARGET_MS = 1.0
#: What ``make run`` passes gunicorn (Makefile: WORKERS, THREADS).
WORKERS, THREADS = 2, 16
IN_PROCESS_LIFECYCLES = 200
IN_PROCESS_READS = 300


class _TestConnection:
    """The few ``http.client.HTTPConnection`` calls :func:`bench.transfers._walk` makes, on a Flask test
    client: the same four requests, in process."""

    def __init__(self, client):
        self.client, self.response = client, None

    def request(self, method: str, url: str, body: str, headers: dict) -> None:
        self.response = self.client.open(url, method=method, data=body, headers=headers)

    def getresponse(self):
        r = self.response

        class _Response:
            status = r.status_code

            @staticmethod
            def read() -> bytes:
                return r.data

        return _Response


def in_process(db, token: str, jobs: list[dict], reads: dict[str, str]) -> dict:
    """Per-request cost without HTTP: the app's own time for each write of ``jobs`` and for reads."""
    import datetime as dt

    app = make_app(db)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    today = dt.date.today().isoformat()
    connection = _TestConnection(client)
    warm, jobs = jobs[:20], jobs[20:]
    for job in warm:  # statements compiled, schemas built, caches filled
        _walk(connection, headers, job, today)
    for url in reads.values():
        assert client.get(url, headers=headers).status_code == 200, url
    gc.collect()
    gc.freeze()  # as gunicorn_conf.post_worker_init does in each worker
    steps: list[tuple[str, float, int]] = []
    for job in jobs:
        steps += _walk(connection, headers, job, today)
    out = {"writes": {}, "reads": {}}
    bad = [s for s in steps if s[2] >= 300]
    if bad:
        raise RuntimeError(f"in-process lifecycle refused: {bad[:3]}")
    out["writes"]["all"] = percentiles([ms for _, ms, _ in steps], (50, 90, 99))
    for step in ("create", "consent", "pay", "complete"):
        out["writes"][step] = percentiles([ms for s, ms, _ in steps if s == step], (50, 99))
    for name, url in reads.items():
        samples = []
        for _ in range(IN_PROCESS_READS):
            t = time.perf_counter()
            r = client.get(url, headers=headers)
            samples.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        out["reads"][name] = percentiles(samples, (50, 90, 99))
    gc.unfreeze()
    app.extensions["sanquan"].engine.dispose()
    return out


def bench_engine(engine: str, n: int, *, duration: float, connections: int) -> dict:
    prepare(engine, n)
    db = working_copy(engine, n)
    jobs = lifecycles(db, limit=5_000)
    token = make_token(db, role="exchange", name="bench-ratio")
    auth = {"Authorization": f"Bearer {token}"}
    household = jobs[0]["from"]
    reads = {"household": f"/api/v1/households/{household}", "right": f"/api/v1/rights/{jobs[0]['right']}",
             "parcel": f"/api/v1/parcels/{jobs[0]['parcel']}"}
    http_jobs, local_jobs = jobs[1:-IN_PROCESS_LIFECYCLES - 20], jobs[-IN_PROCESS_LIFECYCLES - 20:]
    settings = {"workers": WORKERS, "threads": THREADS, "config": "gunicorn_conf.py"}
    out: dict = {"engine": engine, "n": n, "connections": connections, "duration_s": duration,
                 "gunicorn": settings}

    def bare(app: str = "bench.bare:app", path: str = "/") -> float:
        with Gunicorn(db, app=app, **settings) as server:
            rate(server.port, path, {}, connections, 1.0)  # warm
            return rate(server.port, path, {}, connections, duration)

    first = bare()
    log(f"{engine}: bare app {first} req/s")
    flask = bare("bench.hello:app", "/api/v1/health")
    log(f"{engine}: the smallest Flask app {flask} req/s")
    with Gunicorn(db, **settings) as server:
        url = reads["household"]
        rate(server.port, url, auth, connections, 2.0)  # warm both workers
        household_rate = rate(server.port, url, auth, connections, duration)
        log(f"{engine}: household read {household_rate} req/s")
        todo: queue.Queue = queue.Queue()
        for job in http_jobs:
            todo.put(job)
        results, seconds = drive_lifecycles(server.port, auth | {"Content-Type": "application/json"}, todo,
                                            connections=2, duration=duration)
    completed = sum(1 for step, _, status in results if step == "complete" and status == 200)
    refused = sum(1 for _, _, status in results if status >= 300)
    lifecycle_rate = completed / seconds
    log(f"{engine}: {completed} lifecycles in {seconds:.1f} s = {lifecycle_rate:.1f}/s ({refused} refused)")
    with Gunicorn(db, app="bench.floor:app", **settings) as server:
        url = f"/floor/households/{household}"
        rate(server.port, url, {}, connections, 1.0)
        floor_read = rate(server.port, url, {}, connections, duration)
        floor_write = rate(server.port, "/floor/writes", {"Content-Type": "application/json"}, 2, duration,
                           method="POST", body=b"{}", ok=201)
    log(f"{engine}: floor read {floor_read} req/s, floor write {floor_write} req/s")
    second = bare()
    log(f"{engine}: bare app again {second} req/s")
    ceiling = (first + second) / 2
    out["bare_req_per_s"] = {"before": first, "after": second, "ceiling": round(ceiling, 1)}
    out["flask_floor"] = {"req_per_s": flask, "share": round(flask / ceiling, 3)}
    out["floor"] = {"read": {"req_per_s": floor_read, "share": round(floor_read / ceiling, 3)},
                    "write": {"clients": 2, "req_per_s": floor_write,
                              # four writes a lifecycle against a ceiling ÷ 4: the fours cancel
                              "lifecycle_share": round(floor_write / ceiling, 3)}}
    out["household_read"] = {"req_per_s": household_rate, "share": round(household_rate / ceiling, 3),
                             "target": READ_SHARE_TARGET}
    out["lifecycle"] = {"clients": 2, "completed": completed, "refused_requests": refused,
                        "per_s": round(lifecycle_rate, 1), "ceiling_per_s": round(ceiling / 4, 1),
                        "share": round(lifecycle_rate / (ceiling / 4), 3), "target": LIFECYCLE_SHARE_TARGET,
                        "request_ms": percentiles([ms for _, ms, _ in results], (50, 99))}
    out["in_process_ms"] = in_process(db, token, local_jobs, reads)
    out["in_process_ms"]["targets"] = {"write_p50": WRITE_P50_TARGET_MS, "read_p50": READ_P50_TARGET_MS}
    return out


def report(results: list[dict]) -> None:
    for r in results:
        e = r["engine"]
        print(f"{e:8} bare {r['bare_req_per_s']['before']:.0f} / {r['bare_req_per_s']['after']:.0f} req/s "
              f"(ceiling {r['bare_req_per_s']['ceiling']:.0f})")
        f = r["flask_floor"]
        print(f"{e:8} smallest Flask app  {f['req_per_s']:8.1f} req/s   share {f['share']:.3f}  (the framework)")
        fl = r["floor"]
        print(f"{e:8} floor: one SELECT   {fl['read']['req_per_s']:8.1f} req/s   share {fl['read']['share']:.3f}; "
              f"one INSERT committed {fl['write']['req_per_s']:.1f} req/s, as lifecycles of four: share "
              f"{fl['write']['lifecycle_share']:.3f}")
        h = r["household_read"]
        print(f"{e:8} household read      {h['req_per_s']:8.1f} req/s   share {h['share']:.3f}  "
              f"(target ≥ {h['target']})")
        lc = r["lifecycle"]
        print(f"{e:8} transfer lifecycle  {lc['per_s']:8.1f} /s      share {lc['share']:.3f}  "
              f"(target ≥ {lc['target']}; ceiling {lc['ceiling_per_s']}/s)")
        w = r["in_process_ms"]["writes"]
        print(f"{e:8} in process: write p50 {w['all']['p50']} ms (" + ", ".join(
            f"{k} {w[k]['p50']}" for k in ("create", "consent", "pay", "complete")) + ")  reads p50 " + ", ".join(
            f"{k} {v['p50']}" for k, v in r["in_process_ms"]["reads"].items()) + " ms")


def _main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ratio")
    p.add_argument("--engines", default="sqlite,postgis")
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--json", type=Path, default=PROJECT / "bench" / "out" / "ratio.json")
    args = p.parse_args(argv)
    results = [bench_engine(e, args.n, duration=args.duration, connections=args.connections)
               for e in args.engines.split(",")]
    report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    _main()
