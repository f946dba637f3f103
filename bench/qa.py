"""Benchmark of the package QA (gis/qa.py) on a synthetic county.

    python -m bench.qa --n 200000 [--seed 2017] [--threads 2] [--defects 0.001] [--no-postgis]

Builds an NY/T 2539 package from :func:`app.demo_data.iter_county` (the DK
layer in EPSG:4490 and the FBF, CBF, CBF_JTCY, CBHT and CBDKXX tables), runs
:func:`gis.qa.check_package` on it and prints the parcel count, the seconds
each check took, the total and the peak RSS of the QA process.

The synthetic county has no defects of its own, so ``--defects`` shifts that
share of the parcels 2 m east and 1 m north: each then overlaps the parcel
beside it, and the overlap path does real work. The package is generated in
a child process and cached under ``bench/out`` (git-ignored, keyed by the
generator's sources), so the peak RSS printed is the QA's own, and a rerun
skips the generator (about 90 s per million parcels).

When a PostgreSQL server with PostGIS is reachable (``SANQUAN_BENCH_PG_URL``,
default ``postgresql+psycopg://root@127.0.0.1:5432/``, a role that may create
databases), the overlap detection is also timed as a PostGIS self-join on
the same geometries, in a scratch database ``sanquan_bench_qa`` with a GiST
index, dropped afterwards; both pair lists are compared.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import shapely

from bench.common import OUT, ROOT, log, peak_rss_mb, pg_server_url

SCRATCH_DB = "sanquan_bench_qa"

def _fingerprint() -> str:
    """A short hash of what the package is made from: the generator and the two functions below."""
    h = hashlib.sha256()
    for rel in ("gis/synth.py", "app/demo_data.py", "bench/package.py"):
        h.update((ROOT.parent / rel).read_bytes())
    for fn in (synthetic_package, shift_some):
        h.update(inspect.getsource(fn).encode())
    return h.hexdigest()[:12]


def package_path(n: int, seed: int, defects: float) -> Path:
    return OUT / f"qa-{n}-{seed}-{defects:g}-{_fingerprint()}.pickle"


def ensure_package(n: int, seed: int, defects: float) -> Path:
    """Generate (in a child process) and cache the package unless it is cached already."""
    path = package_path(n, seed, defects)
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob(f"qa-{n}-{seed}-{defects:g}-*.pickle"):
        stale.unlink()
    log(f"generating a package of {n:,} parcels (cached in {path.relative_to(ROOT.parent)})")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.qa", "_generate", "--n", str(n), "--seed", str(seed),
                    "--defects", str(defects)], check=True, cwd=ROOT.parent)
    log(f"generated in {time.perf_counter() - t0:.0f} s")
    return path


def _generate(n: int, seed: int, defects: float) -> None:
    package = synthetic_package(n, seed)
    shift_some(package, defects, seed)
    path = package_path(n, seed, defects)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(package, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def shift_some(package, share: float, seed: int) -> np.ndarray:
    """Shift ``share`` of the parcels 2 m east and 1 m north (in place); return their indices."""
    geoms = np.asarray(package.parcels.geometry.array, dtype=object)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(geoms), size=int(round(len(geoms) * share)), replace=False))
    if len(chosen):
        lat = np.radians(shapely.get_y(shapely.centroid(geoms[chosen])))
        # Metres to degrees on the CGCS2000 ellipsoid near the parcel, to a few parts in a thousand.
        dx = 2.0 / (111_320.0 * np.cos(lat))
        dy = 1.0 / 110_950.0
        offsets = np.repeat(np.column_stack([dx, np.full_like(dx, dy)]),
                            shapely.get_num_coordinates(geoms[chosen]), axis=0)
        moved = shapely.transform(geoms[chosen], lambda xy: xy + offsets)
        column = package.parcels.geometry.name
        package.parcels.loc[package.parcels.index[chosen], column] = moved
    return chosen


# --- the QA ----------------------------------------------------------------------------------------


def run_qa(package, threads: int) -> dict:
    from gis.qa import check_package

    state = {"last": time.perf_counter()}

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        log(f"  qa step {done}/{total} ({now - state['last']:.2f} s)")
        state["last"] = now

    t0 = time.perf_counter()
    report = check_package(package, threads=threads, progress=progress)
    total = time.perf_counter() - t0
    overlaps = sorted(tuple(p.codes) for p in report.problems if p.check in ("overlaps", "duplicate_geometries"))
    return {"seconds": round(total, 2), "checks": report.timings, "qa": report.qa, "counts": report.counts,
            "blocking": report.blocking, "pairs": overlaps}


# --- PostGIS -----------------------------------------------------------------------------------------


def _pg_conninfo(database: str) -> str:
    """A libpq URL for ``database`` on the benchmark server (``SANQUAN_BENCH_PG_URL``)."""
    from sqlalchemy.engine import make_url

    url = make_url(pg_server_url()).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def postgis_self_join(package) -> dict | None:
    """Time the PostGIS self-join that finds overlapping parcels; None when no server answers."""
    import psycopg

    try:
        admin = psycopg.connect(_pg_conninfo("postgres"), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        log(f"no PostgreSQL server ({str(e).splitlines()[0]}): PostGIS comparison skipped")
        return None
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
        with psycopg.connect(_pg_conninfo(SCRATCH_DB), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute("CREATE TABLE p (id integer PRIMARY KEY, code text, geom geometry(MultiPolygon, 4490))")
            geoms = shapely.set_srid(np.asarray(package.parcels.geometry.array, dtype=object), 4490)
            codes = package.parcels["DKBM"].astype(str).to_numpy()
            t0 = time.perf_counter()
            with conn.cursor().copy("COPY p (id, code, geom) FROM STDIN") as copy:
                for start in range(0, len(geoms), 50_000):
                    wkb = shapely.to_wkb(geoms[start:start + 50_000], hex=True, include_srid=True)
                    copy.write("".join(f"{start + k}\t{c}\t{w}\n" for k, (c, w) in
                                       enumerate(zip(codes[start:start + 50_000], wkb, strict=True))))
            conn.execute("CREATE INDEX p_geom ON p USING gist (geom)")
            conn.execute("VACUUM ANALYZE p")
            load_s = time.perf_counter() - t0
            log(f"  loaded {len(geoms):,} geometries into PostGIS with a GiST index in {load_s:.1f} s")
            t0 = time.perf_counter()
            rows = conn.execute(
                "SELECT a.code, b.code FROM p a JOIN p b ON a.id < b.id AND a.geom && b.geom "
                "AND ST_Relate(a.geom, b.geom, '2********')").fetchall()
            join_s = time.perf_counter() - t0
            version = conn.execute("SELECT postgis_lib_version() || ' (GEOS ' || postgis_geos_version() || ')'"
                                   ).fetchone()[0]
            workers = conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
        return {"seconds": round(join_s, 2), "load_seconds": round(load_s, 1), "postgis": version,
                "parallel_workers_per_gather": workers, "pairs": sorted(tuple(sorted(r)) for r in rows)}
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
        admin.close()


# --- main ----------------------------------------------------------------------------------------


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.qa", description="Benchmark the package QA.")
    p.add_argument("command", nargs="?", default="run", choices=("run", "_generate"))
    p.add_argument("--n", type=int, default=200_000, help="parcels (default 200000)")
    p.add_argument("--seed", type=int, default=2017)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--defects", type=float, default=0.001, help="share of parcels shifted into a neighbour")
    p.add_argument("--no-postgis", action="store_true", help="skip the PostGIS comparison")
    a = p.parse_args(argv)
    if a.command == "_generate":
        _generate(a.n, a.seed, a.defects)
        return

    path = ensure_package(a.n, a.seed, a.defects)
    t0 = time.perf_counter()
    with path.open("rb") as f:
        package = pickle.load(f)  # our own cache file, written by this module
    load_s = time.perf_counter() - t0
    log(f"loaded the cached package in {load_s:.1f} s; running the QA with {a.threads} thread(s)")
    qa = run_qa(package, a.threads)
    rss = peak_rss_mb()
    result = {"parcels": qa["counts"]["parcels"], "threads": a.threads, "qa_seconds": qa["seconds"],
              "checks": qa["checks"], "peak_rss_mb": round(rss, 1), "counts": qa["counts"],
              "problems": {k: v for k, v in qa["qa"].items() if v}, "blocking": qa["blocking"]}
    print(f"parcels        {result['parcels']:>12,}")
    print(f"threads        {a.threads:>12}   (shapely {shapely.__version__}, GEOS {shapely.geos_version_string})")
    for name, seconds in qa["checks"].items():
        print(f"  {name:<20} {seconds:>8.3f} s")
    print(f"total          {qa['seconds']:>10.2f} s")
    print(f"peak RSS       {rss:>10.0f} MiB")
    print(f"problems       {result['problems']}")
    if not a.no_postgis:
        pg = postgis_self_join(package)
        if pg is not None:
            ours = qa["checks"]["overlaps"]
            same = pg["pairs"] == qa["pairs"]
            result["postgis"] = {k: v for k, v in pg.items() if k != "pairs"} | {
                "pairs": len(pg["pairs"]), "qa_overlap_seconds": ours, "qa_pairs": len(qa["pairs"]),
                "same_pairs": same, "speedup": round(pg["seconds"] / ours, 1) if ours else None}
            print(f"overlaps: QA {ours:.2f} s ({len(qa['pairs'])} pairs), PostGIS self-join {pg['seconds']:.2f} s "
                  f"({len(pg['pairs'])} pairs, PostGIS {pg['postgis']}), ratio {pg['seconds'] / ours:.1f}x, "
                  f"same pairs: {same}")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"qa-results-{result['parcels']}-t{a.threads}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, ensure_ascii=False))


def synthetic_package(n: int, seed: int = 2017):
    """The first ``n`` parcels of the synthetic county as one package (:mod:`bench.package`'s slices).

    Returns:
        A :class:`gis.package.Package` in EPSG:4490 with all five tables and
        MultiPolygon geometry, as :func:`gis.io.read_package` delivers it.
    """
    from bench.package import _concat, iter_package_parts

    package = _concat(list(iter_package_parts(n, seed)))
    column = package.parcels.geometry.name
    package.parcels[column] = shapely.multipolygons(
        np.asarray(package.parcels.geometry.array, dtype=object)[:, np.newaxis])
    package.parcels["row"] = np.arange(1, len(package.parcels) + 1)
    return package


if __name__ == "__main__":
    main()
