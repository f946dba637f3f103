"""The web console (issue 17): every page's server response, and a collective's map drawn in a browser.

    python -m bench.console --engine sqlite|postgis [--n 200000] [--repeat 50] [--browser]

On the loaded demo county (``--n`` parcels), each page is requested ``repeat`` times in process as a signed-in
user of the role that uses it, after a warm-up of every page (and the collector frozen, as the server's
workers freeze it), and its latency percentiles printed (target:
p99 ≤ 150 ms). With ``--browser``, the database is served by gunicorn and Debian's Chromium opens a
collective's page ten times, timing navigation start to the map's drawn parcels (target: within 1 s).
"""
from __future__ import annotations

import argparse
import gc
import re
import time

from sqlalchemy import func, select

from bench.common import COUNTY, BenchDB, log, make_app, make_token, percentiles, prepare, working_copy
from bench.parcels import Gunicorn

#: The summary as the first request after a write sees it: the registry's contents counted, not remembered.
AFRESH = "summary, contents counted afresh"
#: The pages timed, by the role that opens them; ``{…}`` is filled from the loaded county.
PAGES = (
    ("clerk", "home", "/console/"),
    ("clerk", "search by name", "/console/search?q={surname}"),
    ("clerk", "household", "/console/households/{household}"),
    ("clerk", "parcel with its neighbours", "/console/parcels/{parcel}"),
    ("clerk", "collective map ({collective_parcels} parcels)", "/console/collectives/{collective}"),
    ("clerk", "collective map by right", "/console/collectives/{collective}?by=right"),
    ("clerk", "new transfer form", "/console/transfers/new?right={right}"),
    ("clerk", "imports", "/console/imports"),
    ("exchange", "home (desk)", "/console/"),
    ("exchange", "notice board", "/console/listings"),
    ("arbitrator", "disputes dashboard", "/console/disputes?all=1"),
    ("auditor", "ledger status", "/console/ledger"),
    ("auditor", "compliance report", "/console/compliance"),
    ("auditor", "ledger entry with its proof", "/console/ledger/{county}/entries/{seq}"),
    ("auditor", "summary with charts", "/console/summary"),
    ("auditor", AFRESH, "/console/summary"),
)


def sample(db: BenchDB) -> dict:
    """A household, one of its parcels, its collective and the head's surname, from the loaded county."""
    from app.db import UnitOfWork, make_engine, make_session_factory
    from app.parcels.models import ParcelVersion
    from app.parties.models import Person
    from app.rights.models import RightParcel

    engine = make_engine(db.url)
    try:
        with UnitOfWork(make_session_factory(engine), write=False) as uow:
            s = uow.session
            link = s.scalars(select(RightParcel).where(RightParcel.valid_to.is_(None)).limit(1)).one()
            household = link.right_id[:18]
            collective = household[:14]
            count = s.scalar(select(func.count()).select_from(ParcelVersion).where(
                ParcelVersion.collective_code == collective, ParcelVersion.valid_to.is_(None)))
            head = s.scalar(select(Person.name).where(Person.household_code == household))
    finally:
        engine.dispose()
    return {"household": household, "parcel": link.parcel_code, "collective": collective,
            "collective_parcels": count, "surname": head[0], "right": link.right_id, "county": household[:6],
            "seq": link.ledger_seq}


def signed_in(client, token: str):
    page = client.get("/console/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    r = client.post("/console/sign-in", data={"token": token, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    return client


def server_pages(db: BenchDB, repeat: int, where: dict) -> list[tuple[str, dict]]:
    from app.reports.services import forget_counted_contents

    app = make_app(db)
    clients = {role: signed_in(app.test_client(), make_token(db, role=role, scope=COUNTY, name=f"bench-{role}"))
               for role in {role for role, _, _ in PAGES}}
    for role, _, path in PAGES:  # warm: every page's statements compiled and templates loaded
        assert clients[role].get(path.format(**where)).status_code == 200, path
    gc.collect()
    gc.freeze()  # as the server's workers do once the app is loaded (gunicorn_conf.post_worker_init)
    out = []
    for role, name, path in PAGES:
        url = path.format(**where)
        client = clients[role]
        samples = []
        for _ in range(repeat):
            if name == AFRESH:
                forget_counted_contents()
            t = time.perf_counter()
            r = client.get(url)
            samples.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (url, r.status_code)
        out.append((name.format(**where), percentiles(samples)))
    return out


def browser_map(db: BenchDB, where: dict, runs: int = 10) -> dict:
    """Navigation start to the collective map's parcels drawn, in Chromium, ``runs`` times (ms)."""
    from playwright.sync_api import sync_playwright

    token = make_token(db, role="clerk", scope=COUNTY, name="bench-browser")
    with Gunicorn(db, workers=2, threads=4, app="app:create_app()") as server, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = chromium.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(f"{server.base}/console/sign-in")
        page.fill("input[name=token]", token)
        page.click("form[action$='/sign-in'] button[type=submit]")
        page.wait_for_url("**/console/")
        samples = []
        for _ in range(runs + 1):
            page.goto(f"{server.base}/console/collectives/{where['collective']}")
            page.wait_for_selector("#map[data-drawn]")
            samples.append(page.evaluate("performance.now()"))
        chromium.close()
    return percentiles(samples[1:])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=("sqlite", "postgis"), required=True)
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=50)
    p.add_argument("--browser", action="store_true")
    args = p.parse_args(argv)
    prepare(args.engine, args.n)
    db = working_copy(args.engine, args.n)  # the bench's users and sessions go into a copy
    where = sample(db)
    log(f"timing the console's pages on {args.engine} with {args.n:,} parcels")
    for name, pct in server_pages(db, args.repeat, where):
        print(f"{args.engine:8} n={args.n:>7,}  {name:40} " + "  ".join(f"{k}={v:.1f} ms" for k, v in pct.items()))
    if args.browser:
        pct = browser_map(db, where)
        print(f"{args.engine:8} n={args.n:>7,}  {'collective map drawn in Chromium':40} "
              + "  ".join(f"{k}={v:.0f} ms" for k, v in pct.items()))


if __name__ == "__main__":
    main()
