"""Transfer lifecycle benchmark (issue 5): create, issuer consent, payment, completion over HTTP.

    python -m bench.transfers --engine sqlite|postgis --n 200000 [--duration 20] [--connections 8]
    python -m bench.transfers --engine postgis --ceiling [--duration 10]

On a working copy of the loaded demo county (every household its second-round
contract), gunicorn with 2 workers serves the API; client threads each walk
voluntary paid transfers of one contract parcel between two households of one
collective (disjoint pairs, so transfers never queue on each other's rights)
through the four requests an exchange desk makes. Prints completed transfers
per second and the per-request latency percentiles.

``--ceiling`` measures what the same server and client reach with no
transfer work at all: the smallest Flask app (:mod:`bench.hello`) and an
authenticated read of one household (``GET /api/v1/households/{code}``),
requests per second at 2 and 4 connections. A lifecycle is four write
requests, so completed transfers per second can never exceed a quarter of
either figure.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import queue
import threading
import time
from collections import defaultdict

from sqlalchemy import select

from bench.common import BenchDB, log, make_token, percentiles, prepare, working_copy
from bench.parcels import Gunicorn


def lifecycles(db: BenchDB, limit: int, county: str | None = None) -> list[dict]:
    """Disjoint (giver, receiver) household pairs of one collective, with a parcel and the giver's signer (of
    ``county`` only, when given)."""
    from app import ids
    from app.db import UnitOfWork, make_engine, make_session_factory
    from app.parties.models import Person
    from app.rights.models import Right, RightParcel

    engine = make_engine(db.url)
    try:
        with UnitOfWork(make_session_factory(engine), write=False) as uow:
            s = uow.session
            rights = s.execute(select(Right.id, Right.holder_code, Right.collective_code)
                               .where(Right.type == "contract", Right.valid_to.is_(None),
                                      *([Right.county_code == county] if county else []))
                               .order_by(Right.id).limit(limit * 3)).all()
            by_collective = defaultdict(list)
            for r in rights:
                by_collective[r.collective_code].append(r)
            pairs = [(group[i], group[i + 1]) for group in by_collective.values() for i in range(0, len(group) - 1, 2)]
            pairs = pairs[:limit]
            givers = [a.id for a, _ in pairs]
            parcel = dict(s.execute(select(RightParcel.right_id, RightParcel.parcel_code).where(
                RightParcel.right_id.in_(givers), RightParcel.valid_to.is_(None))).all())
            signer = {household: ids.public_id(county, number) for household, county, number in s.execute(
                select(Person.household_code, Person.county_code, Person.id).where(
                    Person.household_code.in_([a.holder_code for a, _ in pairs]), Person.relation == "head"))}
    finally:
        engine.dispose()
    return [{"right": a.id, "from": a.holder_code, "to": b.holder_code, "parcel": parcel[a.id],
             "signer": signer[a.holder_code]} for a, b in pairs if a.id in parcel and a.holder_code in signer]


def _walk(conn: http.client.HTTPConnection, headers: dict, job: dict, today: str) -> list[tuple[str, float, int]]:
    """The four requests of one transfer; (step, ms, status) each."""
    out = []

    def post(step: str, url: str, body: dict) -> dict:
        t0 = time.perf_counter()
        conn.request("POST", url, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        data = json.loads(resp.read() or b"{}")
        out.append((step, (time.perf_counter() - t0) * 1000, resp.status))
        return data

    created = post("create", "/api/v1/transfers", {
        "kind": "transfer", "right": job["right"], "from": job["from"], "to": job["to"], "parcels": [job["parcel"]],
        "price": "16000.00", "consent": {"signed_by_person_id": job["signer"], "signed_on": today, "voluntary": True}})
    if "id" not in created:
        return out
    url = f"/api/v1/transfers/{created['id']}"
    post("consent", f"{url}/issuer-consent", {"decision": "granted"})
    post("pay", f"{url}/payments", {"amount": "16000.00", "paid_on": today, "reference": "bench"})
    post("complete", f"{url}/complete", {})
    return out


def drive_lifecycles(port: int, headers: dict, todo: queue.Queue, *, connections: int,
                     duration: float) -> tuple[list[tuple[str, float, int]], float]:
    """Walk transfers from ``todo`` over ``connections`` client threads, one keep-alive connection each, for
    ``duration`` seconds (or until ``todo`` is empty); every request's (step, ms, status) and the seconds taken."""
    today = dt.date.today().isoformat()
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < stop_at:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                break
            mine += _walk(conn, headers, job, today)
        conn.close()
        with lock:
            results.extend(mine)

    t0 = time.perf_counter()
    clients = [threading.Thread(target=worker) for _ in range(connections)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    return results, time.perf_counter() - t0


def bench_transfers(engine: str, n: int, *, duration: float = 20.0, connections: int = 8, threads: int = 1) -> dict:
    prepare(engine, n)
    db = working_copy(engine, n)
    jobs = lifecycles(db, limit=20_000)
    token = make_token(db, role="exchange", name="bench-desk")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    with Gunicorn(db, threads=threads) as server:
        results, seconds = drive_lifecycles(server.port, headers, todo, connections=connections, duration=duration)
    completed = sum(1 for step, _, status in results if step == "complete" and status == 200)
    failures = defaultdict(int)
    for step, _, status in results:
        if status >= 300:
            failures[f"{step}:{status}"] += 1
    by_step = {step: percentiles([ms for s, ms, _ in results if s == step], (50, 99))
               for step in ("create", "consent", "pay", "complete")}
    out = {"engine": engine, "n": n, "connections": connections, "threads_per_worker": threads,
           "seconds": round(seconds, 1),
           "completed": completed, "completed_per_s": round(completed / seconds, 1),
           "requests_per_s": round(len(results) / seconds, 1),
           "request_ms": percentiles([ms for _, ms, _ in results], (50, 90, 99)), "by_step": by_step,
           "failures": dict(failures), "pairs_available": len(jobs)}
    log(f"{engine}-{n}: {completed} transfers completed in {seconds:.1f} s = {out['completed_per_s']}/s, "
        f"request p50 {out['request_ms']['p50']} ms p99 {out['request_ms']['p99']} ms, failures {dict(failures)}")
    return out


def rate(port: int, path: str, headers: dict, connections: int, duration: float, *, method: str = "GET",
         body: bytes | None = None, ok: int = 200) -> float:
    """Send ``method path`` (with ``body``) from ``connections`` client threads for ``duration`` seconds;
    requests per second (every answer must have status ``ok``)."""
    counts, stop_at = [], time.perf_counter() + duration

    def worker() -> None:
        conn, k = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
        while time.perf_counter() < stop_at:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != ok:
                raise RuntimeError(f"{method} {path}: {resp.status}")
            k += 1
        conn.close()
        counts.append(k)

    t0 = time.perf_counter()
    clients = [threading.Thread(target=worker) for _ in range(connections)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    return round(sum(counts) / (time.perf_counter() - t0), 1)


def bench_ceiling(engine: str, n: int, *, duration: float = 10.0) -> dict:
    """Requests per second of the smallest Flask app and of a household read, same server and client."""
    prepare(engine, n)
    db = working_copy(engine, n)
    token = make_token(db, role="exchange", name="bench-ceiling")
    household = lifecycles(db, limit=1)[0]["from"]
    out = {"engine": engine, "n": n, "hello_world_req_per_s": {}, "api_read_req_per_s": {}}
    with Gunicorn(db, app="bench.hello:app") as server:
        for c in (2, 4):
            out["hello_world_req_per_s"][c] = rate(server.port, "/api/v1/health", {}, c, duration)
    with Gunicorn(db) as server:
        for c in (2, 4):
            out["api_read_req_per_s"][c] = rate(server.port, f"/api/v1/households/{household}",
                                                 {"Authorization": f"Bearer {token}"}, c, duration)
    best = max(out["hello_world_req_per_s"].values())
    out["lifecycles_per_s_bound"] = round(best / 4, 1)
    log(f"{engine}-{n}: smallest Flask app {out['hello_world_req_per_s']} req/s, household read "
        f"{out['api_read_req_per_s']} req/s: at most {out['lifecycles_per_s_bound']} four-request lifecycles/s")
    return out


def _main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.transfers")
    p.add_argument("--engine", required=True, choices=("sqlite", "postgis"))
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread when > 1)")
    p.add_argument("--ceiling", action="store_true",
                   help="measure the smallest Flask app and a household read on the same server and client")
    args = p.parse_args(argv)
    if args.ceiling:
        print(json.dumps(bench_ceiling(args.engine, args.n, duration=min(args.duration, 10.0)), indent=2))
        return
    print(json.dumps(bench_transfers(args.engine, args.n, duration=args.duration, connections=args.connections,
                                     threads=args.threads), indent=2))


if __name__ == "__main__":
    _main()
