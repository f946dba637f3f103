"""Write the synthetic county as an NY/T 2539 package zip, for import benchmarks.

    python -m bench.package OUT.zip --n 200000 [--seed 2017] [--format shp|gpkg]

Each collective of :func:`app.demo_data.iter_county` becomes a slice of the
package (its FBF row, households, members, contracts, parcels), and slices
are appended to the DK layer and the tables about every
:data:`FLUSH_PARCELS` parcels through :class:`gis.io.PackageWriter`, so a
county of a million parcels is never held whole. Prints the parcel count,
the seconds taken, the zip's size and the peak RSS.

What goes where: every parcel is a DK feature (DKLB 10 contract land, 21
private plot, 22 reserve, 99 for house plots, whose TDLYLX is 072, rural
homestead); SCMJ is the area measured in the parcel's zone. Each household
with contract land has one contract (CBHTBM = CBFBM + ``J``, CBFS 110,
term 1998-01-01 to 2027-12-31, signed QDSJ on the day its collective's
membership was decided) holding its contract-land parcels, with HTMJ = SCMJ.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from app.demo_data import COUNTIES, DemoCollective, iter_county
from app.imports.exports import YHZGX  # (relation, sex) → GB/T 4761, as exports write it
from gis.area import m2_to_mu, measure_m2
from gis.io import PackageWriter
from gis.package import TABLE_FIELDS, Package

#: Parcels gathered before a write: big enough that the per-call cost of the
#: driver vanishes, small enough to stay a few tens of MB.
FLUSH_PARCELS = 50_000
CONTRACT_START, CONTRACT_END = "1998-01-01", "2027-12-31"
#: CBFS and CBJYQQDFS: 110 家庭承包.
FAMILY_CONTRACT = "110"
#: demo_data parcel kinds → DKLB (地块类别) and TDLYLX (GB/T 21010-2007 land use).
DKLB = {"contract_land": "10", "private_plot": "21", "reserve": "22", "homestead": "99"}
_BOUNDARIES = np.array(["道路", "沟渠", "田埂", "林地"], dtype=object)
#: DLDJ (地力等级) 01–10.
_GRADES = np.array([f"{g:02d}" for g in range(1, 11)], dtype=object)


def collective_package(collective: DemoCollective, *, first_bsm: int = 1, seed: int = 2017,
                       county: str = "210681") -> Package:
    """Turn one synthetic collective into its slice of an NY/T 2539 package.

    Args:
        collective: a collective from :func:`app.demo_data.iter_county`.
        first_bsm: the BSM (feature number) of its first parcel.
        seed: keys the draws of land-use class, grade and basic-farmland flag.
        county: the county code, for addresses.

    Returns:
        A package in EPSG:4490 with the collective's parcels and all five tables.
    """
    c = collective
    info = COUNTIES[county]
    region = f"{info.province}{info.prefecture}{info.name}"
    households = c.households
    head = households[0].members[0] if households else None
    fbf = [(c.code14, c.name, head and head.name, head and "1", head and head.id_number,
            region + c.name.removesuffix("股份经济合作社"))]
    cbf = [(h.code18, "1", h.members[0].name, "1", h.members[0].id_number, h.address, str(len(h.members)))
           for h in households]
    jtcy = [(h.code18, p.name, "1" if p.sex == "male" else "2", "1", p.id_number, YHZGX[(p.relation, p.sex)], "1")
            for h in households for p in h.members]

    n = len(c.parcel_codes)
    geoms = np.asarray(c.parcels_geoms_4490, dtype=object)
    kinds = np.asarray(c.parcel_kinds)
    area = np.round(measure_m2(geoms), 2) if n else np.empty(0)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(7, int(c.code14))))
    fields = kinds != "homestead"
    holder = np.asarray(c.parcel_household, dtype=np.int64) if n else np.empty(0, dtype=np.int64)
    head_names = np.array([h.members[0].name for h in households] + [None], dtype=object)
    dk = {
        "BSM": np.arange(first_bsm, first_bsm + n, dtype=np.float64),
        "YSDM": np.full(n, "211011", dtype=object),
        "DKBM": np.asarray(c.parcel_codes, dtype=object),
        "DKMC": np.asarray(c.parcel_names, dtype=object),
        "SYQXZ": np.full(n, "31", dtype=object),
        "DKLB": np.array([DKLB[k] for k in kinds], dtype=object),
        "TDLYLX": np.where(fields, np.where(rng.random(n) < 0.7, "011", "013"), "072").astype(object),
        "DLDJ": _GRADES[rng.integers(0, len(_GRADES), n)],
        "TDYT": np.where(fields, "1", "5").astype(object),
        "SFJBNT": np.where(fields & (rng.random(n) < 0.8), "1", "2").astype(object),
        "SCMJ": area,
        "SCMJM": m2_to_mu(area) if n else np.empty(0),
        **{side: _BOUNDARIES[rng.integers(0, len(_BOUNDARIES), n)] for side in ("DKDZ", "DKNZ", "DKXZ", "DKBZ")},
        "DKBZXX": np.full(n, None, dtype=object),
        "ZJRXM": head_names[holder] if n else np.empty(0, dtype=object),  # -1 (reserve) → the trailing None
    }
    parcels = gpd.GeoDataFrame(
        {k: pd.Series(v, dtype=object if v.dtype == object else None) for k, v in dk.items()},
        geometry=gpd.GeoSeries(geoms, crs=4490),
    )

    contracted = np.flatnonzero((kinds == "contract_land") & (holder >= 0))
    lines = [(c.parcel_codes[i], c.code14, households[holder[i]].code18, FAMILY_CONTRACT,
              households[holder[i]].code18 + "J", f"{area[i]:.2f}", f"{m2_to_mu(area[i]):.2f}",
              households[holder[i]].code18 + "J") for i in contracted]
    per_household = np.bincount(holder[contracted], minlength=len(households))
    totals = np.bincount(holder[contracted], weights=np.round(area[contracted], 2), minlength=len(households))
    cbht = [(h.code18 + "J", c.code14, h.code18, FAMILY_CONTRACT, CONTRACT_START, CONTRACT_END,
             f"{totals[k]:.2f}", f"{m2_to_mu(totals[k]):.2f}", str(int(per_household[k])),
             c.membership_decided_on.isoformat())
            for k, h in enumerate(households) if per_household[k]]

    def frame(rows: list[tuple], name: str) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=list(TABLE_FIELDS[name]), dtype=object)

    tables = {"FBF": frame(fbf, "FBF"), "CBF": frame(cbf, "CBF"), "CBF_JTCY": frame(jtcy, "CBF_JTCY"),
              "CBHT": frame(cbht, "CBHT"), "CBDKXX": frame(lines, "CBDKXX")}
    return Package(parcels=parcels, tables=tables, source_epsg=4490, layer="synthetic")


def iter_package_parts(n_parcels: int, seed: int = 2017, flush: int = FLUSH_PARCELS,
                       county: str = "210681") -> Iterator[Package]:
    """Yield a synthetic county's package in slices of about ``flush`` parcels.

    Args:
        n_parcels: parcels in the county (met exactly).
        seed: the generator's seed.
        flush: parcels per slice (a slice ends at a collective's end).
        county: a county of :data:`app.demo_data.COUNTIES`.

    Yields:
        Packages in EPSG:4490 with consecutive BSM numbers.
    """
    parts: list[Package] = []
    done = buffered = 0
    for collective in iter_county(seed=seed, parcels=n_parcels, county=county):
        part = collective_package(collective, first_bsm=done + 1, seed=seed, county=county)
        parts.append(part)
        done += len(part.parcels)
        buffered += len(part.parcels)
        if buffered >= flush:
            yield _concat(parts)
            parts, buffered = [], 0
    if parts:
        yield _concat(parts)


def _concat(parts: list[Package]) -> Package:
    parcels = gpd.GeoDataFrame(pd.concat([p.parcels for p in parts], ignore_index=True), crs=4490)
    tables = {name: pd.concat([p.tables[name] for p in parts], ignore_index=True) for name in TABLE_FIELDS}
    return Package(parcels=parcels, tables=tables, source_epsg=4490, layer="synthetic")


def write_synthetic_package(path: str | Path, n_parcels: int, seed: int = 2017, format: str = "shp",
                            county: str = "210681") -> Path:
    """Write the first ``n_parcels`` parcels of a synthetic county as a package zip.

    Args:
        path: the zip to write.
        n_parcels: parcels wanted (met exactly).
        seed: the generator's seed; the same seed gives the same package.
        format: ``"shp"`` (DK.shp and CSV tables) or ``"gpkg"``.
        county: a county of :data:`app.demo_data.COUNTIES` (Donggang by default).

    Returns:
        The path of the zip.
    """
    # Donggang lies in CM 123°E (docs/rules.md §5), as a surveyor would deliver it; so do the other counties.
    with PackageWriter(path, crs_epsg=4550, format=format) as writer:
        for part in iter_package_parts(n_parcels, seed, county=county):
            writer.write(part)
    return writer.path


def main(argv: list[str] | None = None) -> None:
    """Write a synthetic package and print its size and how long it took."""
    parser = argparse.ArgumentParser(prog="python -m bench.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the zip to write")
    parser.add_argument("--n", type=int, default=10_000, help="parcels (default 10000)")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--format", choices=("shp", "gpkg"), default="shp")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    path = write_synthetic_package(args.out, args.n, seed=args.seed, format=args.format)
    seconds = time.perf_counter() - t0
    size = path.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.n:,} parcels → {path} ({args.format}): {seconds:.1f} s, {size / 1e6:.1f} MB, "
          f"peak RSS {peak:.0f} MiB", file=sys.stdout)


if __name__ == "__main__":
    main()
