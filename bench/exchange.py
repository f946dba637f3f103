"""The exchange desk (issue 16): the notice board, one listing and an award, with 10,000 listings on the desk.

    python -m bench.exchange --engine sqlite|postgis [--n 200000] [--listings 10000] [--bids 100000]
                             [--repeat 200] [--awards 100]

On a working copy of the loaded demo county, ``listings`` contract rights (one parcel each, the holder's head
consenting) are put on the desk with ``bids`` bids spread over them, by other households of each right's
collective, all written in bulk (these rows carry no ledger entries: the benchmark times reads and awards, it
does not verify), and the planner's statistics are refreshed as autovacuum would. Then, in process through
the API as the desk: the notice board's first page and a page in the middle (50 listings each, with their
announcement dates, count of bids and highest bid), one listing with all its bids, and ``awards`` awards,
each opening its transfer, after one award and one read as a warm-up. Prints the latency percentiles of
each.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import time
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from bench.common import COUNTY, BenchDB, analyze, log, make_app, make_token, percentiles, prepare, working_copy


def load(db: BenchDB, listings: int, bids: int, seed: int = 16) -> list[int]:
    """Put ``listings`` rights on the desk and ``bids`` bids on them; returns the listings' ids."""
    from app.db import UnitOfWork, bulk_insert, make_engine, make_session_factory
    from app.exchange.models import Bid, Listing
    from app.parties.models import Person
    from app.rights.models import Right, RightParcel

    rng = random.Random(seed)
    listed_on = dt.date.today() - dt.timedelta(days=40)
    now = dt.datetime.now(dt.UTC)  # COPY (PostgreSQL's bulk path) applies no Python-side defaults
    engine = make_engine(db.url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            s = uow.session
            rights = s.execute(select(Right.id, Right.holder_code, Right.collective_code)
                               .where(Right.type == "contract", Right.valid_to.is_(None))
                               .order_by(Right.id)).all()
            households = defaultdict(list)
            for r in rights:
                households[r.collective_code].append(r.holder_code)
            chosen = rights[:listings]
            parcel = dict(s.execute(select(RightParcel.right_id, RightParcel.parcel_code).where(
                RightParcel.right_id.in_([r.id for r in chosen]), RightParcel.valid_to.is_(None))).all())
            signer = dict(s.execute(select(Person.household_code, Person.id).where(
                Person.household_code.in_([r.holder_code for r in chosen]), Person.relation == "head")).all())
            chosen = [r for r in chosen if r.id in parcel and r.holder_code in signer]
            bulk_insert(s, Listing, [
                {"county_code": COUNTY, "collective_code": r.collective_code, "right_id": r.id,
                 "holder_code": r.holder_code, "kind": "transfer", "parcels": [parcel[r.id]], "shares": None,
                 "asking_price": Decimal("1000.00"), "term_end": None, "listed_on": listed_on,
                 "announcement_days": 10, "consent_person_id": signer[r.holder_code], "consent_signed_on": listed_on,
                 "consent_document_id": None, "status": "announced", "created_by": "bench", "created_at": now,
                 "ledger_seq": 0}
                for r in chosen])
            ids = list(s.scalars(select(Listing.id).order_by(Listing.id)))
            by_id = dict(zip(ids, chosen, strict=True))
            rows = []
            for n in range(bids):
                listing_id = ids[n % len(ids)]
                right = by_id[listing_id]
                others = [h for h in households[right.collective_code] if h != right.holder_code]
                rows.append({"listing_id": listing_id, "county_code": COUNTY, "bidder_household": rng.choice(others),
                             "bidder_party": None, "amount": Decimal(1000 + rng.randrange(0, 1000)),
                             "bid_on": listed_on + dt.timedelta(days=1), "created_by": "bench", "created_at": now,
                             "ledger_seq": 0})
            bulk_insert(s, Bid, rows)
            uow.commit()
    finally:
        analyze(db, engine)  # as autovacuum would after the desk's rows arrived
    return ids


def timed(client, headers: dict, method: str, urls: list[str], body=None) -> dict:
    samples = []
    for url in urls:
        t = time.perf_counter()
        r = client.open(url, method=method, headers=headers, json=body)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.get_json())
    return percentiles(samples)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=("sqlite", "postgis"), required=True)
    p.add_argument("--n", type=int, default=200_000, help="parcels of the demo county")
    p.add_argument("--listings", type=int, default=10_000)
    p.add_argument("--bids", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=200)
    p.add_argument("--awards", type=int, default=100)
    args = p.parse_args(argv)
    prepare(args.engine, args.n)
    db = working_copy(args.engine, args.n)
    log(f"putting {args.listings:,} listings and {args.bids:,} bids on the desk ({args.engine})")
    ids = load(db, args.listings, args.bids)
    headers = {"Authorization": f"Bearer {make_token(db, role='exchange', scope=COUNTY)}"}
    client = make_app(db).test_client()
    middle = ids[len(ids) // 2]
    today = dt.date.today().isoformat()
    runs = (("notice board, first page (50)", "GET", ["/api/v1/listings?limit=50"] * args.repeat, None),
            ("notice board, a middle page (50)", "GET", [f"/api/v1/listings?limit=50&cursor={middle}"] * args.repeat,
             None),
            ("one listing with its bids", "GET", [f"/api/v1/listings/{i}" for i in ids[:args.repeat]], None),
            ("award (opens the transfer)", "POST", [f"/api/v1/listings/{i}/award" for i in ids[-args.awards:]],
             {"on": today}))
    # warm: the statements of a read and of an award compiled and cached, as in a server that has run a while;
    # then what the process holds frozen out of the collector's view, as the server's workers do
    # (gunicorn_conf.post_worker_init), so the load above does not lengthen the collector's pauses
    client.get("/api/v1/listings?limit=1", headers=headers)
    client.post(f"/api/v1/listings/{ids[-args.awards - 1]}/award", headers=headers, json={"on": today})
    gc.collect()
    gc.freeze()
    for name, method, urls, body in runs:
        pct = timed(client, headers, method, urls, body)
        print(f"{args.engine:8} listings={len(ids):>6,} bids={args.bids:>7,}  {name:34} "
              + "  ".join(f"{k}={v:.1f} ms" for k, v in pct.items()))


if __name__ == "__main__":
    main()
