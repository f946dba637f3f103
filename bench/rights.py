"""Rights benchmarks (issue 3): rights queries and certificates on a generated county.

    python -m bench.rights --engine sqlite --n 200000 [--certificates 1000] [--queries 500]

The demo county gives every household its contract, homestead and income shares,
so a county of ``n`` parcels has about n/5 households with rights. Queries and
certificates run in-process through the Flask test client (JSON → auth → service →
database → JSON/PDF), on a working copy of the loaded database.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from urllib.parse import quote

from sqlalchemy import select

from bench.common import BenchDB, log, make_app, make_token, percentiles, prepare, working_copy


def _timed(client, method: str, url: str, headers: dict, expect: int, **kw) -> tuple[float, object]:
    t0 = time.perf_counter()
    r = client.open(url, method=method, headers=headers, **kw)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != expect:
        raise RuntimeError(f"{method} {url}: {r.status_code} {r.get_data(as_text=True)[:200]}")
    return ms, r


def bench_rights(engine: str, n: int, *, certificates: int = 1000, queries: int = 500, seed: int = 3) -> dict:
    """Time rights queries (holder, parcel, as_of) and certificate issue + PDF for ``certificates`` households."""
    from app.rights.models import Right, RightParcel

    prepare(engine, n)
    db: BenchDB = working_copy(engine, n)
    app = make_app(db)
    headers = {"Authorization": f"Bearer {make_token(db)}"}
    client = app.test_client()
    rng = random.Random(seed)
    with app.extensions["sanquan"].session_factory() as s:
        contracts = list(s.scalars(select(Right.id).where(Right.type == "contract")))
        parcels = list(s.scalars(select(RightParcel.parcel_code).limit(50_000)))
    holders = [c[:18] for c in rng.sample(contracts, min(queries, len(contracts)))]
    out: dict = {"engine": engine, "n": n, "contracts": len(contracts)}
    for name, urls in {
        "holder": [f"/api/v1/rights?holder={h}" for h in holders],
        "holder_as_of": [f"/api/v1/rights?holder={h}&as_of=2010-06-01" for h in holders],
        "parcel_as_of": [f"/api/v1/rights?parcel={p}&as_of=2020-01-01" for p in rng.sample(parcels, len(holders))],
    }.items():
        for url in urls[:20]:
            _timed(client, "GET", url, headers, 200)
        samples = []
        for url in urls:
            ms, r = _timed(client, "GET", url, headers, 200)
            if not r.get_json()["items"]:
                raise RuntimeError(f"{url}: empty answer")
            samples.append(ms)
        out[name] = percentiles(samples) | {"count": len(samples)}
        log(f"{engine}-{n}: rights {name}: p50 {out[name]['p50']} ms, p99 {out[name]['p99']} ms")
    issue, pdf, sizes = [], [], []
    for right in rng.sample(contracts, min(certificates, len(contracts))):
        ms, r = _timed(client, "POST", f"/api/v1/rights/{right}/certificates", headers, 201, json={})
        issue.append(ms)
        ms, r = _timed(client, "GET", f"/api/v1/certificates/{quote(r.get_json()['number'])}.pdf", headers, 200)
        pdf.append(ms)
        sizes.append(len(r.data))
    out["certificate_issue"] = percentiles(issue) | {"count": len(issue)}
    out["certificate_pdf"] = percentiles(pdf) | {"count": len(pdf), "mean_kb": round(sum(sizes) / len(sizes) / 1024, 1)}
    log(f"{engine}-{n}: {len(pdf)} certificates: issue p50 {out['certificate_issue']['p50']} ms, "
        f"PDF with map p50 {out['certificate_pdf']['p50']} ms, p99 {out['certificate_pdf']['p99']} ms")
    app.extensions["sanquan"].engine.dispose()
    return out


def _main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.rights")
    p.add_argument("--engine", required=True, choices=("sqlite", "postgis"))
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--certificates", type=int, default=1000)
    p.add_argument("--queries", type=int, default=500)
    args = p.parse_args(argv)
    print(json.dumps(bench_rights(args.engine, args.n, certificates=args.certificates, queries=args.queries),
                     indent=2))


if __name__ == "__main__":
    _main()
