"""Set-up shared by the benchmarks: a loaded database per engine and size, apps, tokens.

A *pristine* database holds exactly the generated county (``load_demo``) and
is reused while its parcel count and the generator's sources match, so reruns
skip the load. Every benchmark runs on a *working copy* (a file copy on
SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so the pristine one
never drifts and every run starts from the same data.

    python -m bench.common prepare --engine sqlite --n 10000   # load (or reuse) only

Databases:
    sqlite   ``bench/out/sqlite-<n>/sanquan.db`` (bench/out is git-ignored)
    postgis  ``sanquan_bench_<n>`` on ``SANQUAN_BENCH_PG_URL``
             (default ``postgresql+psycopg://root@127.0.0.1:5432/``)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PROJECT = ROOT.parent
OUT = ROOT / "out"
ENGINES = ("sqlite", "postgis")
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/"
SEED = 2017
COUNTY = "210681"


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pg_server_url() -> str:
    return os.environ.get("SANQUAN_BENCH_PG_URL", DEFAULT_PG_URL)


def _pg_url(database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(pg_server_url()).set(database=database).render_as_string(hide_password=False)


def _pg_admin():
    """An autocommit engine on the server's ``postgres`` database (CREATE/DROP DATABASE)."""
    from sqlalchemy import create_engine

    return create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")


@dataclass(frozen=True)
class BenchDB:
    """One benchmark database: where it is and how to reach it."""

    engine: str  # sqlite | postgis
    n: int
    work: bool = False  # a working copy rather than the pristine load
    purpose: str = ""  # "" for the loaded demo county; another word names a scratch database

    @property
    def dir(self) -> Path:
        return OUT / f"{self.purpose + '-' if self.purpose else ''}{self.engine}-{self.n}"

    @property
    def instance(self) -> Path:
        return self.dir / ("instance-work" if self.work else "instance")

    @property
    def sqlite_path(self) -> Path:
        return self.dir / ("work.db" if self.work else "sanquan.db")

    @property
    def pg_name(self) -> str:
        return f"sanquan_bench_{self.purpose + '_' if self.purpose else ''}{self.n}" + ("_work" if self.work else "")

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite+pysqlite:///{self.sqlite_path}"
        return _pg_url(self.pg_name)

    def working(self) -> BenchDB:
        return BenchDB(self.engine, self.n, work=True)


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise SystemExit(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")


# --- create, count, drop -------------------------------------------------------------------

def _exists(db: BenchDB) -> bool:
    if db.engine == "sqlite":
        return db.sqlite_path.exists()
    from sqlalchemy import text

    admin = _pg_admin()
    try:
        with admin.connect() as c:
            return c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": db.pg_name}).first() is not None
    finally:
        admin.dispose()


def drop(db: BenchDB) -> None:
    if db.engine == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db.sqlite_path}{suffix}").unlink(missing_ok=True)
        return
    admin = _pg_admin()
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db.pg_name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _create_empty(db: BenchDB) -> None:
    drop(db)
    db.dir.mkdir(parents=True, exist_ok=True)
    if db.engine == "postgis":
        admin = _pg_admin()
        try:
            with admin.connect() as c:
                c.exec_driver_sql(f'CREATE DATABASE "{db.pg_name}" TEMPLATE template0 '
                                  "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")  # codes sort byte by byte
        finally:
            admin.dispose()
        from sqlalchemy import create_engine

        eng = create_engine(db.url, isolation_level="AUTOCOMMIT")
        try:
            with eng.connect() as c:
                c.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        finally:
            eng.dispose()
    from app.db import make_engine
    from app.migrate import upgrade

    eng = make_engine(db.url)
    try:
        upgrade(eng)
    finally:
        eng.dispose()


def count_parcels(db: BenchDB) -> int | None:
    """Parcels in the database, or None when it is absent or not migrated."""
    if not _exists(db):
        return None
    from sqlalchemy import inspect, text

    from app.db import make_engine

    eng = make_engine(db.url)
    try:
        with eng.connect() as c:
            if not inspect(c).has_table("parcels"):
                return None
            return int(c.execute(text("SELECT count(*) FROM parcels")).scalar())
    finally:
        eng.dispose()


def db_size_bytes(db: BenchDB) -> int:
    if db.engine == "sqlite":
        return sum(Path(f"{db.sqlite_path}{s}").stat().st_size for s in ("", "-wal")
                   if Path(f"{db.sqlite_path}{s}").exists())
    from sqlalchemy import text

    admin = _pg_admin()
    try:
        with admin.connect() as c:
            return int(c.execute(text("SELECT pg_database_size(:n)"), {"n": db.pg_name}).scalar())
    finally:
        admin.dispose()


# --- loading -------------------------------------------------------------------------------

def _load_here(db: BenchDB, seed: int) -> dict:
    """Load the county into a migrated, empty database, in this process; return timings."""
    from app.db import UnitOfWork, make_engine, make_session_factory
    from app.demo import load_demo

    eng = make_engine(db.url)
    factory = make_session_factory(eng)
    step = max(db.n // 10, 1)
    state = {"done": 0, "next": step}

    def progress(k: int) -> None:
        state["done"] += k
        if state["done"] >= state["next"]:
            log(f"  {db.engine}: {state['done']:,}/{db.n:,} parcels, {time.perf_counter() - t0:.0f} s")
            state["next"] += step

    t0 = time.perf_counter()
    counts = load_demo(lambda: UnitOfWork(factory), seed=seed, parcels=db.n, progress=progress)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    analyze(db, eng)
    analyze_s = time.perf_counter() - t1
    return {"counts": counts, "load_s": round(load_s, 2), "analyze_s": round(analyze_s, 2),
            "parcels_per_s": round(counts["parcels"] / load_s, 1),
            "peak_rss_mb": peak_rss_mb()}


def generator_fingerprint() -> str:
    """SHA-256 (short) of the generator and loader sources: a changed generator means a reload."""
    import hashlib

    h = hashlib.sha256()
    for rel in ("gis/synth.py", "app/demo_data.py", "app/demo.py", "app/imports/writer.py", "migrations"):
        path = PROJECT / rel
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(PROJECT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def prepare(engine: str, n: int, *, seed: int = SEED, force: bool = False) -> dict:
    """Make sure the pristine database of ``n`` generated parcels exists; return its load record.

    The load runs in a child process so its peak RSS is the loader's own.
    """
    _check_engine(engine)
    db = BenchDB(engine, n)
    record_path = db.dir / "load.json"
    have = None if force else count_parcels(db)
    if have == n and record_path.exists():
        record = json.loads(record_path.read_text())
        if record.get("seed") == seed and record.get("generator") == generator_fingerprint():
            log(f"{engine}-{n}: reusing the loaded database ({have:,} parcels)")
            return record | {"reused": True}
        log(f"{engine}-{n}: the generator, loader or migrations changed since the load: reloading")
    log(f"{engine}-{n}: creating and migrating {db.url}")
    _create_empty(db)
    log(f"{engine}-{n}: loading {n:,} generated parcels (seed {seed})")
    fingerprint = generator_fingerprint()
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.common", "_load", "--engine", engine, "--n", str(n),
                          "--seed", str(seed)], cwd=PROJECT, stdout=subprocess.PIPE, check=True, text=True)
    record = json.loads(out.stdout.strip().splitlines()[-1])
    record |= {"engine": engine, "n": n, "seed": seed, "generator": fingerprint,
               "wall_s": round(time.perf_counter() - t0, 2),
               "db_size_mb": round(db_size_bytes(db) / 2**20, 1)}
    have = count_parcels(db)
    if have != n:
        raise RuntimeError(f"{engine}-{n}: loaded {have} parcels, expected {n}")
    record_path.write_text(json.dumps(record, indent=2))
    log(f"{engine}-{n}: loaded {n:,} parcels in {record['load_s']} s ({record['parcels_per_s']:,.0f}/s), "
        f"peak RSS {record['peak_rss_mb']} MB, database {record['db_size_mb']} MB")
    return record | {"reused": False}


def working_copy(engine: str, n: int) -> BenchDB:
    """A fresh copy of the pristine database for benchmarks that write."""
    pristine = BenchDB(engine, n)
    return copy_database(pristine, pristine.working())


def analyze(db: BenchDB, eng) -> None:
    """What a DBA (or autovacuum, a little later) does after a bulk load: fresh planner statistics.
    Disposes of ``eng``."""
    if db.engine == "postgis":
        with eng.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        eng.dispose()
    else:
        eng.dispose()
        with sqlite3.connect(db.sqlite_path, isolation_level=None) as c:
            c.execute("ANALYZE")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_database(pristine: BenchDB, work: BenchDB) -> BenchDB:
    """Replace ``work`` with a copy of ``pristine`` (SQLite file copy, PostgreSQL template) and an empty instance."""
    drop(work)
    if pristine.engine == "sqlite":
        with sqlite3.connect(pristine.sqlite_path) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(pristine.sqlite_path, work.sqlite_path)
    else:
        admin = _pg_admin()
        try:
            with admin.connect() as c:
                c.exec_driver_sql(f'CREATE DATABASE "{work.pg_name}" TEMPLATE "{pristine.pg_name}"')
        finally:
            admin.dispose()
    shutil.rmtree(work.instance, ignore_errors=True)
    work.instance.mkdir(parents=True, exist_ok=True)
    return work


# --- apps and users ------------------------------------------------------------------------

def make_app(db: BenchDB):
    """The Flask app on ``db``, built as in production (no demo, no bootstrap admin)."""
    from app import create_app
    from app.config import Settings

    app = create_app(Settings(instance=str(db.instance), database_url=db.url, demo=False, log_level="WARNING"))
    return app


def make_token(db: BenchDB, *, role: str = "clerk", scope: str = COUNTY, name: str = "bench") -> str:
    """Create a user in ``db`` and return its bearer token."""
    from app.auth.services import SYSTEM, create_user
    from app.db import UnitOfWork, make_engine, make_session_factory

    eng = make_engine(db.url)
    try:
        user = create_user(UnitOfWork(make_session_factory(eng)), actor=SYSTEM, name=name, role=role, scope=scope)
    finally:
        eng.dispose()
    return user["token"]


def server_env(db: BenchDB) -> dict:
    """Environment for a gunicorn serving ``db``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANQUAN_")}
    env |= {"SANQUAN_DATABASE_URL": db.url, "SANQUAN_INSTANCE": str(db.instance), "SANQUAN_DEMO": "0",
            "SANQUAN_LOG_LEVEL": "WARNING"}
    return env


# --- statistics ----------------------------------------------------------------------------

def percentiles(samples_ms, qs=(50, 90, 95, 99)) -> dict:
    import numpy as np

    a = np.asarray(samples_ms, dtype=float)
    if not len(a):
        return {f"p{q}": None for q in qs} | {"max": None, "mean": None}
    return {f"p{q}": round(float(np.percentile(a, q)), 2) for q in qs} | {
        "max": round(float(a.max()), 2), "mean": round(float(a.mean()), 2)}


def _main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.common")
    p.add_argument("command", choices=("prepare", "_load"))
    p.add_argument("--engine", required=True, choices=ENGINES)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--force", action="store_true", help="reload even if a loaded database exists")
    a = p.parse_args(argv)
    if a.command == "_load":
        print(json.dumps(_load_here(BenchDB(a.engine, a.n), a.seed)))
    else:
        print(json.dumps(prepare(a.engine, a.n, seed=a.seed, force=a.force), indent=2))


if __name__ == "__main__":
    _main()
