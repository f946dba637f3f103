"""The arbitration committee's dashboard (issue 7): listing cases with their statutory deadlines.

    python -m bench.disputes --engine sqlite|postgis [--n 20000] [--repeat 30]

Loads ``n`` cases of one county into a scratch database (a fifth still being decided, the rest ended,
awarded or in their first steps, spread over 2024–2026) and times, in process through the API,
the dashboard's requests: ``GET /api/v1/disputes?overdue=true&within=7`` (open cases' deadlines
computed on the working-day calendar until a page is full), ``?within=0`` (few match, so every open
case is read: the worst case), a page of all cases, and one case. Prints the
latency percentiles of each.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from bench.common import BenchDB, _create_empty, log, make_app, make_token, percentiles

COUNTY = "210681"


def _case(i: int, rng: random.Random) -> dict:
    received = dt.date(2024, 1, 2) + dt.timedelta(days=rng.randrange(0, 1000))
    events = {"received": received}
    status = rng.choices(["received", "accepted", "awarded", "finalized", "withdrawn", "rejected"],
                         weights=(5, 20, 15, 40, 10, 10))[0]
    if status != "received":
        events["rejected" if status == "rejected" else "accepted"] = received + dt.timedelta(days=3)
    if status in ("accepted", "awarded", "finalized"):
        events |= {"copy_served": received + dt.timedelta(days=6), "tribunal_formed": received + dt.timedelta(days=12)}
    if status in ("awarded", "finalized"):
        events |= {"award_made": received + dt.timedelta(days=50), "award_served": received + dt.timedelta(days=52)}
    if status == "withdrawn":
        events["withdrawn"] = received + dt.timedelta(days=20)
    party = {"kind": "outside", "name": f"当事人{i}"}
    return {"county_code": COUNTY, "procedure": "arbitration", "category": "contract", "applicant": party,
            "respondent": party, "rights": [], "parcels": [f"{COUNTY}1010010100{i % 10000:05d}"[:19]],
            "claims": "请求确认承包经营权", "knew_of_harm_on": received - dt.timedelta(days=30),
            "received_on": received, "time_barred": False, "freeze": False, "status": status,
            "events": {k: v.isoformat() for k, v in events.items()}, "extension_days": 0, "record": {},
            "opened_by": "bench", "ledger_seq": i + 1}


def load(db: BenchDB, n: int) -> None:
    from app.db import UnitOfWork, bulk_insert, make_engine, make_session_factory
    from app.disputes.models import Dispute

    _create_empty(db)
    rng = random.Random(7)
    engine = make_engine(db.url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            bulk_insert(uow.session, Dispute, [_case(i, rng) for i in range(n)])
            uow.commit()
    finally:
        engine.dispose()


def timed(client, headers: dict, url: str, repeat: int) -> tuple[dict, int]:
    samples, count = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.get_json()
        count = len(r.get_json().get("items", [r.get_json()]))
    return percentiles(samples), count


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=("sqlite", "postgis"), required=True)
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args(argv)
    db = BenchDB(args.engine, args.n, purpose="disputes")
    log(f"loading {args.n:,} cases ({args.engine})")
    load(db, args.n)
    headers = {"Authorization": f"Bearer {make_token(db, role='arbitrator', scope=COUNTY)}"}
    client = make_app(db).test_client()
    for name, url in (("dashboard overdue or due within 7 days", "/api/v1/disputes?overdue=true&within=7&limit=50"),
                      ("due today (few match: every open case read)", "/api/v1/disputes?within=0&limit=50"),
                      ("first page of all cases", "/api/v1/disputes?limit=50"),
                      ("one case", "/api/v1/disputes/1")):
        client.get(url, headers=headers)  # warm
        pct, count = timed(client, headers, url, args.repeat)
        print(f"{args.engine:8} n={args.n:>7,}  {name:40} items={count:>3}  "
              + "  ".join(f"{k}={v:.1f} ms" for k, v in pct.items()))


if __name__ == "__main__":
    main()
