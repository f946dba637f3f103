"""Import benchmark (issue 4): a synthetic NY/T 2539 package read, checked and committed.

    python -m bench.imports --engine sqlite|postgis --n 200000

Writes the package once (``bench/out/package-<n>.zip``, by :mod:`bench.package`),
then on a fresh, migrated, empty database runs the importer exactly as the
API's background job does (:func:`app.imports.services.run_job`): first a dry
run (read + QA + registry checks), then a full import (read + QA + registry
checks + the one-transaction commit of the whole county with its ledger
entries). Prints each phase's seconds, the rows written and the peak RSS.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import OUT, BenchDB, _create_empty, drop, log, make_app, peak_rss_mb


def package_path(n: int) -> Path:
    return OUT / f"package-{n}.zip"


def ensure_package(n: int):
    from bench.package import write_synthetic_package

    path = package_path(n)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        log(f"writing a synthetic package of {n:,} parcels")
        t0 = time.perf_counter()
        write_synthetic_package(path, n)
        log(f"package written in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.1f} MB")
    return path


def run(engine: str, n: int) -> dict:
    from app.auth.services import SYSTEM
    from app.db import UnitOfWork
    from app.imports import services
    from app.imports.routes import policy

    path = ensure_package(n)
    db = BenchDB(engine, n, purpose="import")
    _create_empty(db)
    app = make_app(db)
    factory = app.extensions["sanquan"].session_factory
    with app.test_request_context():
        rules = policy()
    out = {"engine": engine, "n": n, "package_mb": round(path.stat().st_size / 1e6, 1)}
    for label, dry_run in (("dry_run", True), ("import", False)):
        with open(path, "rb") as stream:
            job = services.create_import(UnitOfWork(factory), actor=SYSTEM, policy=rules, stream=stream,
                                         filename=path.name, dry_run=dry_run, accept_warnings=True)
        t0 = time.perf_counter()
        services.run_job(lambda: UnitOfWork(factory), rules, job["id"])
        wall = time.perf_counter() - t0
        view = services.get_import(UnitOfWork(factory), actor=SYSTEM, policy=rules, job_id=job["id"])
        expected = "ready" if dry_run else "committed"
        if view["status"] != expected:
            raise RuntimeError(f"{label}: {view['status']} {view['error']} {view['qa']}")
        out[label] = {"seconds": round(wall, 1), "phases": view["counts"]["seconds"],
                      "problems": {k: v for k, v in view["qa"].items() if v}}
        if not dry_run:
            out[label]["written"] = view["counts"]["written"]
            out[label]["ledger_entries"] = view["ledger"]["last"] - view["ledger"]["first"] + 1
        log(f"{engine}-{n}: {label} {wall:.1f} s {view['counts']['seconds']}")
    out["peak_rss_mb"] = peak_rss_mb()
    app.extensions["sanquan"].engine.dispose()
    drop(db)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.imports")
    p.add_argument("--engine", required=True, choices=("sqlite", "postgis"))
    p.add_argument("--n", type=int, default=200_000)
    args = p.parse_args(argv)
    print(json.dumps(run(args.engine, args.n), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
