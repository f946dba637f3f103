"""Quality assurance of an NY/T 2539 land-confirmation package before import.

:func:`check_package` looks at a :class:`gis.package.Package` as read and
returns a :class:`Report`: what is in it (``counts``), how many problems each
check found (``qa``, every check key present) and the problems themselves,
each with the codes involved, a clerk's sentence in Chinese and English, a
size and a geometry in EPSG:4490 that locates it.

The checks (keys of ``Report.qa``), with their severity:

=========================  ===========  ==================================================
key                        severity     what
=========================  ===========  ==================================================
invalid                    blocking     missing, empty, non-polygonal or invalid geometry
                                        (the GEOS reason and its location)
implausible                blocking     no parcel: larger than ``max_area_m2``, across its
                                        3-degree zone, or outside the county's zones
duplicate_codes            blocking     one DKBM on several features
malformed_codes            blocking     codes that break NY/T 2539 (docs/rules.md §5)
overlaps                   blocking /   two parcels whose interiors intersect; a warning
                           warning      when the overlap is at most ``overlap_tolerance_m2``
duplicate_geometries       blocking     two parcels with the same geometry
gaps                       warning      a sliver of empty space between two parcels
                                        narrower than ``gap_width_m``
slivers                    warning      a parcel too small or too thin to be a field
area_mismatch              warning      SCMJ differs from the measured area by more than
                                        ``area_tolerance``
missing_parcels            blocking     CBDKXX names a DKBM the layer does not hold
missing_households         blocking     CBHT, CBDKXX or CBF_JTCY name a CBFBM CBF lacks
missing_contracts          blocking     CBDKXX names a CBHTBM CBHT lacks
parcels_in_two_contracts   blocking     one DKBM in two contracts (承包法 第二十三、二十四条)
invalid_id_numbers         blocking     resident ID numbers that fail GB 11643
households_without_head    blocking     a CBF household none of whose members is the head
duplicate_households       blocking     one CBFBM on several CBF rows
duplicate_members          blocking     one resident ID number on several CBF_JTCY rows
=========================  ===========  ==================================================

Geometry checks always run; a table check runs only when the tables it
reads are in the package, so a plain parcel layer gets the geometry and
DKBM checks only.

How the geometry is judged
--------------------------
Everything is measured in metres on one CGCS2000 3-degree Gauss-Kruger
plane, the zone most parcels lie in; areas (sizes, SCMJ comparison) are
measured in each parcel's own zone (:func:`gis.area.measure_m2`).

* An *overlap* is a pair whose interiors intersect (DE-9IM ``2********``):
  neighbours that only touch are not. An intersection on average thinner
  than :data:`NOISE_WIDTH_M` (area over half its perimeter) is the rounding
  noise of a boundary two parcels share, digitised twice, and is not
  reported: on the sample package 22 such pairs meet by at most 0.0011 m²
  (none wider than 0.05 mm), next to its 14 real overlaps of 28–2,456 m².
* A *gap* is empty space between two neighbouring parcels, of any
  collectives, narrower than ``gap_width_m`` (default 0.2 m, narrower than
  any ridge, furrow or road: real fields are separated by those, up to a
  few metres apart, and that is not an error) where their boundaries run
  side by side for at least :data:`GAP_MIN_LENGTH_M` without meeting: a
  common boundary digitised twice. The candidates come from GEOS coverage
  validation (:func:`shapely.coverage_invalid_edges` with the gap width,
  which marks segments "nearly parallel within the gap width"); the gap
  itself is the morphological closing of the pair by ``gap_width_m / 2``
  less the parcels, keeping the pieces at least :data:`GAP_MIN_LENGTH_M`
  long and on average wider than :data:`NOISE_WIDTH_M`. Where two fields
  meet at a corner and part at an angle, the wedge narrower than the gap
  width is short and is not a gap.
* A *sliver* is a parcel smaller than :data:`SLIVER_MAX_AREA_M2` or on
  average narrower (twice the area over the perimeter) than
  :data:`SLIVER_MAX_WIDTH_M`: a fragment left by cutting at a map-sheet
  edge or by a stray vertex, not a field anyone farms.

Household heads are the GB/T 4761-2008 family-relationship codes 01 (本人)
and 02 (户主) in YHZGX (:data:`HEAD_CODES`).
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Self, SupportsIndex, TypeVar, cast

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.errors import GEOSException

from gis.area import measure_m2, to_zone
from gis.codes import CodeError, mask_id_number, parse_collective_code, parse_id_number
from gis.crs import GK_PLAIN_EPSG, outside_band, spans_zones, to_storage, zone_band, zone_epsg
from gis.package import Package

BLOCKING = "blocking"
WARNING = "warning"

#: Every check key, in report order, with its severity (overlaps: blocking above the tolerance).
CHECKS: dict[str, str] = {
    "invalid": BLOCKING,
    "implausible": BLOCKING,
    "duplicate_codes": BLOCKING,
    "malformed_codes": BLOCKING,
    "overlaps": BLOCKING,
    "duplicate_geometries": BLOCKING,
    "gaps": WARNING,
    "slivers": WARNING,
    "area_mismatch": WARNING,
    "missing_parcels": BLOCKING,
    "missing_households": BLOCKING,
    "missing_contracts": BLOCKING,
    "parcels_in_two_contracts": BLOCKING,
    "invalid_id_numbers": BLOCKING,
    "households_without_head": BLOCKING,
    "duplicate_households": BLOCKING,
    "duplicate_members": BLOCKING,
}
_ORDER = {key: i for i, key in enumerate(CHECKS)}

#: GB/T 4761-2008 family-relationship codes of the head of household: 01 本人, 02 户主.
HEAD_CODES = frozenset({"01", "02"})
#: Resident identity card (居民身份证) in CYZJLX / CBFZJLX.
RESIDENT_ID = "1"
#: Overlaps and gaps on average thinner than this (m) are coordinate noise on a shared boundary.
NOISE_WIDTH_M = 0.001
#: A gap must run at least this long (m); shorter ones are where two fields part at a corner.
GAP_MIN_LENGTH_M = 2.0
#: Parcels smaller than this (m²) are slivers.
SLIVER_MAX_AREA_M2 = 1.0
#: Parcels on average narrower than this (m, 2 × area / perimeter) are slivers.
SLIVER_MAX_WIDTH_M = 0.5

#: Pairs (or geometries) handed to one thread at a time.
_CHUNK = 20_000
#: Snap-rounding grid (m) for overlays that fail in floating point.
_GRID_M = 0.001

Progress = Callable[[int, int], None]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a package.

    Attributes:
        check: the check that found it, a key of :data:`CHECKS` (or of a
            caller's own checks added with :meth:`Report.add`).
        severity: ``"blocking"`` (the package cannot be imported until it is
            fixed) or ``"warning"`` (the clerk must look and may accept it).
        codes: the codes involved: both DKBM of an overlap, the CBFBM of a
            household, …; empty for a parcel without a code.
        message_zh: a sentence for the clerk naming the codes and the size.
        message_en: the same in English.
        size: m² for overlaps, gaps, slivers, duplicate geometries and
            implausible parcels (their area), the relative difference for an
            area mismatch, else None.
        geometry: a shapely geometry in EPSG:4490 locating the problem (the
            overlap itself, the gap, the parcel), None for table problems.
        details: JSON-serialisable facts (rows, measured and declared areas,
            the GEOS reason, …).
    """

    check: str
    severity: str
    codes: tuple[str, ...]
    message_zh: str
    message_en: str
    size: float | None = None
    geometry: Any = field(default=None, compare=False, hash=False)
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as JSON-able data, the geometry as a GeoJSON object (EPSG:4490)."""
        return {
            "check": self.check,
            "severity": self.severity,
            "codes": list(self.codes),
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "size": self.size,
            "geometry": _geojson([self.geometry])[0],
            "details": self.details,
        }


def _sort_key(p: Problem) -> tuple[bool, int, str, tuple[str, ...], str]:
    return (p.severity != BLOCKING, _ORDER.get(p.check, len(_ORDER)), p.check, p.codes,
            json.dumps(p.details, sort_keys=True, ensure_ascii=False, default=str))


@dataclass
class Report:
    """The result of :func:`check_package`.

    Attributes:
        counts: parcels, collectives, households, members, contracts and
            contract_parcels in the package (0 for an absent table; for a
            plain layer, collectives counts the distinct issuers in DKBM).
        qa: the number of problems per check key; every key of
            :data:`CHECKS` is present, 0 when the check found nothing or did
            not run.
        problems: blocking problems first, then by check, codes and details.
        timings: seconds each step took (not part of :meth:`to_dict`).
    """

    counts: dict[str, int]
    qa: dict[str, int]
    problems: list[Problem]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def blocking(self) -> int:
        """How many problems block the import."""
        return sum(p.severity == BLOCKING for p in self.problems)

    def add(self, problems: Iterable[Problem]) -> None:
        """Add problems found elsewhere (e.g. against the registry), keeping the order and counts.

        Args:
            problems: more problems; their check keys join ``qa``.
        """
        problems = list(problems)
        for p in problems:
            self.qa[p.check] = self.qa.get(p.check, 0) + 1
        self.problems = sorted([*self.problems, *problems], key=_sort_key)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data; geometries as GeoJSON objects in EPSG:4490.

        Returns:
            ``{"counts", "qa", "blocking", "problems": [...]}``.
        """
        geometries = _geojson([p.geometry for p in self.problems])
        problems = [
            {"check": p.check, "severity": p.severity, "codes": list(p.codes), "message_zh": p.message_zh,
             "message_en": p.message_en, "size": p.size, "geometry": geometry, "details": p.details}
            for p, geometry in zip(self.problems, geometries, strict=True)
        ]
        return {"counts": dict(self.counts), "qa": dict(self.qa), "blocking": self.blocking,
                "problems": problems}

    def to_geojson(self) -> dict[str, Any]:
        """Return the problems as a GeoJSON FeatureCollection a clerk can open in QGIS.

        One feature per problem; table problems without a place have a null
        geometry. Coordinates are longitude, latitude in EPSG:4490 (CGCS2000,
        within a metre of the WGS 84 that RFC 7946 names), polygons wound
        counter-clockwise as RFC 7946 asks.

        Returns:
            A ``FeatureCollection`` dict; each feature's properties are
            check, severity, codes, message_zh, message_en and size.
        """
        geometries = _geojson([p.geometry for p in self.problems])
        features = [
            {"type": "Feature", "geometry": geometry,
             "properties": {"check": p.check, "severity": p.severity, "codes": list(p.codes),
                            "message_zh": p.message_zh, "message_en": p.message_en, "size": p.size}}
            for p, geometry in zip(self.problems, geometries, strict=True)
        ]
        return {"type": "FeatureCollection", "features": features}


def _geojson(geoms: list[Any]) -> list[dict[str, Any] | None]:
    """GeoJSON objects of geometries (None stays None), counter-clockwise, to 1e-9 degrees."""
    arr = np.asarray(geoms, dtype=object).reshape(-1)
    out: list[dict[str, Any] | None] = [None] * len(arr)
    present = np.flatnonzero(~shapely.is_missing(arr))
    if len(present):
        shown = shapely.orient_polygons(arr[present], exterior_cw=False)
        shown = shapely.transform(shown, lambda xy: np.round(xy, 9))
        for i, text in zip(present.tolist(), shapely.to_geojson(shown).tolist(), strict=True):
            out[i] = json.loads(text)
    return out


# --- the entry point -----------------------------------------------------------------------------


def check_package(
    package: Package,
    *,
    overlap_tolerance_m2: float = 0.5,
    area_tolerance: float = 0.10,
    gap_width_m: float = 0.2,
    max_area_m2: float = 10_000_000.0,
    county_longitudes: tuple[float, float] | None = None,
    threads: int = 2,
    progress: Progress | None = None,
) -> Report:
    """Check a package before import.

    Args:
        package: a :class:`gis.package.Package` as read (EPSG:4490, invalid
            geometries kept as read).
        overlap_tolerance_m2: overlaps of at most this many m² are warnings,
            larger ones block the import.
        area_tolerance: relative difference between SCMJ and the measured
            area above which a parcel is reported (0.10 = 10 %).
        gap_width_m: empty space between two parcels narrower than this (m)
            is a gap (see the module docstring).
        max_area_m2: a parcel measuring more than this is implausible (blocking).
        county_longitudes: how far west and east the county's registered parcels reach, if it has
            any; with the zones most of the package's parcels lie in, they make the county's zones,
            and a parcel outside them is implausible (blocking).
        threads: threads for the GEOS work (GEOS releases the GIL); 1 runs
            everything in the calling thread.
        progress: called as ``progress(done, total)`` from the calling
            thread after each step (the set-up, each geometry check, the
            code checks, the table checks), counted in steps.

    Returns:
        The :class:`Report`.

    Raises:
        GeometryInputError: OUTSIDE_SUPPORTED_AREA if a coordinate cannot be
            projected to a Gauss-Kruger zone (the reader refuses such
            packages first).
    """
    threads = max(1, int(threads))
    tables = _Tables(package.tables)
    geometry_steps: list[tuple[str, Callable[[_Layer], list[Problem]]]] = [
        ("invalid", lambda layer: layer.invalid_problems),
        ("implausible", lambda layer: _implausible(layer, max_area_m2, county_longitudes)),
        ("duplicate_codes", _duplicate_codes),
        ("overlaps", lambda layer: _overlaps(layer, overlap_tolerance_m2)),
        ("gaps", lambda layer: _gaps(layer, gap_width_m)),
        ("slivers", _slivers),
        ("area_mismatch", lambda layer: _area_mismatch(layer, area_tolerance)),
    ]
    table_steps: list[tuple[str, Callable[[_Layer], list[Problem]]]] = [
        ("malformed_codes", lambda layer: _malformed_codes(layer, tables)),
        ("tables", lambda layer: _table_checks(layer, tables)),
    ]
    total = 1 + len(geometry_steps) + len(table_steps)
    done = 0
    timings: dict[str, float] = {}

    def run(steps: list[tuple[str, Callable[[_Layer], list[Problem]]]], layer: _Layer,
            report_progress: bool) -> list[Problem]:
        nonlocal done
        found: list[Problem] = []
        for name, step in steps:
            t0 = time.perf_counter()
            found += step(layer)
            timings[name] = time.perf_counter() - t0
            if report_progress:
                done += 1
                if progress:
                    progress(done, total)
        return found

    with _Pool(threads) as pool, ThreadPoolExecutor(1) as side:
        layer = _Layer(package.parcels, pool)
        # The code and table checks are Python and pandas work; with threads they run beside
        # the GEOS work, which releases the GIL.
        tables_done = side.submit(run, table_steps, layer, False) if threads > 1 else None
        t0 = time.perf_counter()
        layer.prepare_geometry()
        timings["setup"] = time.perf_counter() - t0
        done += 1
        if progress:
            progress(done, total)
        problems = run(geometry_steps, layer, True)
        if tables_done is None:
            problems += run(table_steps, layer, True)
        else:
            problems += tables_done.result()
            for _ in table_steps:
                done += 1
                if progress:
                    progress(done, total)
    qa = dict.fromkeys(CHECKS, 0)
    for p in problems:
        qa[p.check] = qa.get(p.check, 0) + 1
    return Report(counts=_counts(layer, tables), qa=qa, problems=sorted(problems, key=_sort_key),
                  timings={k: round(v, 3) for k, v in timings.items()})


def _counts(layer: _Layer, tables: _Tables) -> dict[str, int]:
    def rows(name: str) -> int:
        return tables.rows(name) if name in tables else 0

    if "FBF" in tables:
        collectives = rows("FBF")
    else:
        codes = pd.Series(layer.codes[layer.code_ok], dtype=object)
        collectives = int(codes.str[:14].nunique())
    return {"parcels": layer.n, "collectives": collectives, "households": rows("CBF"),
            "members": rows("CBF_JTCY"), "contracts": rows("CBHT"), "contract_parcels": rows("CBDKXX")}


# --- threads -------------------------------------------------------------------------------------


class _Pool:
    """Run a vectorised function over chunks of arrays, in threads when there are several."""

    def __init__(self, threads: int):
        self.threads = threads
        self._executor = ThreadPoolExecutor(threads) if threads > 1 else None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown()

    def map(self, fn: Callable[[slice], _T], n: int, chunk: int = _CHUNK) -> list[_T]:
        """Call ``fn(slice)`` over ``range(n)`` cut into chunks; results in chunk order."""
        if self._executor is None or n <= chunk:
            return [fn(slice(0, n))]
        size = max(chunk, math.ceil(n / (4 * self.threads)))
        return list(self._executor.map(fn, [slice(i, min(i + size, n)) for i in range(0, n, size)]))

    def submit_all(self, fns: list[Callable[[], _T]]) -> list[_T]:
        """Run independent calls, concurrently when there are threads."""
        if self._executor is None or len(fns) == 1:
            return [fn() for fn in fns]
        return [f.result() for f in [self._executor.submit(fn) for fn in fns]]


# --- the layer -----------------------------------------------------------------------------------


class _Layer:
    """The DK layer as arrays: codes, rows, repaired geometries, the plane, areas."""

    def __init__(self, parcels: Any, pool: _Pool):
        self.pool = pool
        self.n = n = len(parcels)
        self.geoms = np.asarray(parcels.geometry.array, dtype=object).reshape(-1) if n else np.empty(0, object)
        self.codes = _text(parcels["DKBM"]) if "DKBM" in parcels else np.full(n, None, dtype=object)
        self.rows = (pd.to_numeric(parcels["row"], errors="coerce").fillna(-1).astype(np.int64).to_numpy()
                     if "row" in parcels else np.arange(1, n + 1))
        self.scmj = (pd.to_numeric(pd.Series(parcels["SCMJ"], dtype=object), errors="coerce").to_numpy(float)
                     if "SCMJ" in parcels else np.full(n, np.nan))
        self.code_ok = ~pd.isna(self.codes)

    def prepare_geometry(self) -> None:
        """Judge the geometries, repair the invalid ones for the other checks, project and measure."""
        self.invalid_problems = self._judge_geometry()
        self._project()

    # Geometry validity, and what the other checks work on.
    def _judge_geometry(self) -> list[Problem]:
        g = self.geoms
        missing = shapely.is_missing(g) | shapely.is_empty(g)
        polygonal = np.isin(shapely.get_type_id(g), (3, 6))
        valid = np.concatenate(self.pool.map(lambda s: shapely.is_valid(g[s]), self.n)) if self.n \
            else np.zeros(0, dtype=bool)
        wrong_type = ~missing & ~polygonal
        invalid = ~missing & polygonal & ~valid
        work = g.copy()
        if invalid.any():
            work[invalid] = _polygonal(shapely.make_valid(g[invalid], method="structure", keep_collapsed=False))
        work[missing | wrong_type] = None
        self.work = work
        self.usable = ~shapely.is_missing(work) & ~shapely.is_empty(work)

        problems = []
        for i in np.flatnonzero(missing):
            problems.append(self._invalid(i, "missing", "缺少图形", "has no geometry"))
        for i in np.flatnonzero(wrong_type):
            kind = shapely.get_type_id(g[i])
            problems.append(self._invalid(i, "not_polygon", "图形不是面", f"is not a polygon (GEOS type {kind})",
                                          geometry=g[i]))
        reasons = shapely.is_valid_reason(g[invalid]) if invalid.any() else []
        for i, reason in zip(np.flatnonzero(invalid), reasons, strict=True):
            problems.append(self._invalid_reason(i, str(reason)))
        return problems

    def _invalid(self, i: SupportsIndex, reason: str, zh: str, en: str, geometry: Any = None,
                 **details: Any) -> Problem:
        code = self.codes[i]
        who_zh, who_en = _parcel_zh(code, self.rows[i]), _parcel_en(code, self.rows[i])
        return Problem("invalid", BLOCKING, _codes(code), f"{_sp(who_zh)}{zh}。", f"{who_en} {en}.",
                       None, geometry, {"row": int(self.rows[i]), "reason": reason, **details})

    def _invalid_reason(self, i: SupportsIndex, reason: str) -> Problem:
        match = re.fullmatch(r"(.*?)\s*\[\s*(\S+)\s+(\S+)\s*\]", reason)
        what, location = (match[1], [float(match[2]), float(match[3])]) if match else (reason, None)
        what_zh = _GEOS_REASONS_ZH.get(what.lower(), what)
        at_zh = f"，位置：东经 {location[0]:.6f}°，北纬 {location[1]:.6f}°" if location else ""
        at_en = f" at {location[0]:.6f} E, {location[1]:.6f} N" if location else ""
        return self._invalid(i, "invalid", f"图形无效（{what_zh}）{at_zh}", f"has an invalid geometry ({what}){at_en}",
                             geometry=self.geoms[i], geos_reason=reason, location=location)

    # One plane in metres for the topology, each parcel's own zone for areas.
    def _project(self) -> None:
        use = np.flatnonzero(self.usable)
        self.use = use
        self.areas = np.full(self.n, np.nan)
        self.perimeters = np.full(self.n, np.nan)
        if not len(use):
            self.epsg, self.plane, self.zones = 4550, np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
            return
        work = self.work[use]
        self.zones = zones = zone_epsg(shapely.get_x(shapely.centroid(work)))
        values, counts = np.unique(zones, return_counts=True)
        self.epsg = epsg = int(values[np.argmax(counts)])
        self.plane = np.concatenate(self.pool.map(lambda s: to_zone(work[s], epsg), len(work)))
        areas = shapely.area(self.plane)
        elsewhere = zones != epsg
        if elsewhere.any():
            areas[elsewhere] = measure_m2(work[elsewhere])
        self.areas[use] = areas
        self.perimeters[use] = shapely.length(self.plane)

    def to_4490(self, plane_geoms: NDArray[np.object_]) -> NDArray[np.object_]:
        geoms: NDArray[np.object_] = to_storage(plane_geoms, self.epsg)
        return geoms

    @functools.cached_property
    def tree(self) -> shapely.STRtree:
        """One STRtree of the plane geometries, shared by the checks."""
        return shapely.STRtree(self.plane)


_GEOS_REASONS_ZH = {
    "self-intersection": "自相交",
    "ring self-intersection": "环自相交",
    "too few points in geometry component": "顶点过少",
    "hole lies outside shell": "内环位于外环之外",
    "nested holes": "内环嵌套",
    "interior is disconnected": "内部不连通",
    "nested shells": "外环嵌套",
    "duplicate rings": "重复的环",
    "invalid coordinate": "坐标无效",
    "ring is not closed": "环未闭合",
}


# --- helpers -------------------------------------------------------------------------------------


def _text(values: Any) -> np.ndarray:
    """Text as an object array of stripped ``str``, None where missing or blank.

    Values that are already clean strings are kept as they are (no copies of
    a million codes); the rest are converted and stripped with numpy's
    string ufuncs.
    """
    arr = pd.Series(values, dtype=object).to_numpy(dtype=object)
    out = np.full(len(arr), None, dtype=object)
    present = np.flatnonzero(~pd.isna(arr))
    if not len(present):
        return out
    given = arr[present]
    text = given.astype(str)
    stripped = np.strings.strip(text)
    if pd.api.types.infer_dtype(given, skipna=False) == "string":
        out[present] = given
        redo = np.flatnonzero(stripped != text)
    else:
        redo = np.arange(len(present))
    out[present[redo]] = stripped[redo].astype(object)
    out[present[stripped == ""]] = None
    return out


class _Tables:
    """The package's tables, each column read once as normalised text (:func:`_text`)."""

    def __init__(self, tables: dict[str, pd.DataFrame | None]):
        self.frames = {name: t for name, t in (tables or {}).items() if t is not None}
        self._columns: dict[tuple[str, str], np.ndarray] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.frames

    def rows(self, name: str) -> int:
        return len(self.frames[name])

    def col(self, name: str, column: str) -> np.ndarray:
        key = (name, column)
        if key not in self._columns:
            t = self.frames[name]
            self._columns[key] = _text(t[column]) if column in t else np.full(len(t), None, dtype=object)
        return self._columns[key]


def _codes(*codes: Any) -> tuple[str, ...]:
    return tuple(str(c) for c in codes if c is not None)


def _parcel_zh(code: str | None, row: int) -> str:
    return f"地块 {code}" if code else f"第 {row} 个地块（无地块编码）"


def _parcel_en(code: str | None, row: int) -> str:
    return f"Parcel {code}" if code else f"Feature {row} (no parcel code)"


def _sp(text: str) -> str:
    """A space after text ending in a Latin letter or digit, before more Chinese."""
    return f"{text} " if text and text[-1].isascii() else text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygon parts of each geometry, as a MultiPolygon (None where there is none)."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    if keep.any():
        owners = np.unique(owner[keep])
        out[owners] = shapely.multipolygons(parts[keep], indices=np.searchsorted(owners, owner[keep]))
    return out


def _overlay(
    fn: Callable[..., NDArray[np.object_]], a: NDArray[np.object_], b: NDArray[np.object_]
) -> NDArray[np.object_]:
    """An overlay of pairs in metres, retried on a 1 mm snap-rounding grid where floating point fails."""
    try:
        return fn(a, b)
    except GEOSException:
        pass
    try:
        return fn(a, b, grid_size=_GRID_M)
    except GEOSException:
        out = np.full(len(a), None, dtype=object)
        for k in range(len(a)):  # only the rare pairs GEOS cannot node
            try:
                out[k] = fn(a[k], b[k], grid_size=_GRID_M)
            except GEOSException:
                out[k] = shapely.Polygon()
        return out


# --- DKBM ----------------------------------------------------------------------------------------


def _duplicate_codes(layer: _Layer) -> list[Problem]:
    """One problem per DKBM found on more than one feature, naming every row."""
    idx = np.flatnonzero(layer.code_ok)
    frame = pd.DataFrame({"code": layer.codes[idx], "i": idx})
    dup = frame[frame["code"].duplicated(keep=False)]
    problems = []
    for code, group in dup.groupby("code", sort=True):
        members = group["i"].to_numpy()
        rows = [int(r) for r in layer.rows[members]]
        usable = members[layer.usable[members]]
        # Every feature's polygons side by side: a locator, not a union (they may overlap).
        geometry = shapely.multipolygons(shapely.get_parts(layer.work[usable])) if len(usable) else None
        listed = "、".join(map(str, rows))
        problems.append(Problem(
            "duplicate_codes", BLOCKING, (str(code),),
            f"地块编码 {code} 出现在 {len(rows)} 个要素上（第 {listed} 个），地块编码必须唯一。",
            f"Parcel code {code} is on {len(rows)} features (features {', '.join(map(str, rows))}); "
            "a parcel code must be unique.",
            None, geometry, {"rows": rows}))
    return problems


# --- codes ---------------------------------------------------------------------------------------


def _digits(values: np.ndarray, n: int) -> np.ndarray:
    """Whether each value is exactly ``n`` ASCII digits, on a fixed-width view of the text."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    text = np.where(pd.isna(values), "", values).astype(f"U{n + 1}")
    chars = text.view(np.uint32).reshape(len(text), n + 1)
    digits: NDArray[np.bool_] = ((chars[:, :n] >= 0x30) & (chars[:, :n] <= 0x39)).all(axis=1) & (chars[:, n] == 0)
    return digits


def _issuer_reasons(prefixes: np.ndarray, known: set[str] | None) -> np.ndarray:
    """Why each 14-digit issuer code is unacceptable (None when it is fine).

    With an FBF table the issuer must be listed in it; without one the code
    must at least be a well-formed issuer code (:func:`gis.codes.parse_collective_code`:
    a county-level division, township and village digits not 000).
    """
    out = np.full(len(prefixes), None, dtype=object)
    if not len(prefixes):
        return out
    if known is not None:
        out[~pd.Series(prefixes, dtype=object).isin(known).to_numpy()] = "unknown_issuer"
        return out
    distinct, back = np.unique(prefixes.astype(str), return_inverse=True)
    verdicts = np.full(len(distinct), None, dtype=object)
    for k, prefix in enumerate(distinct.tolist()):  # a loop over issuers, not parcels
        try:
            parse_collective_code(prefix)
        except CodeError as e:
            verdicts[k] = f"issuer_{e.reason}"
    return verdicts[back]


_REASONS = {
    "missing": ("缺少编码", "the code is missing"),
    "format": ("位数或字符不对", "wrong number of digits or characters"),
    "serial": ("顺序号为全零", "the serial number is all zeros"),
    "unknown_issuer": ("前 14 位的发包方不在发包方表（FBF）中", "its first 14 digits are not an issuer in FBF"),
    "issuer_format": ("前 14 位不是发包方编码", "its first 14 digits are not an issuer code"),
    "issuer_area": ("前 6 位不是县级行政区划代码（GB/T 2260）", "its first 6 digits are not a county code (GB/T 2260)"),
    "issuer_township": ("乡镇代码为 000", "its township digits are 000"),
    "issuer_village": ("村代码为 000", "its village digits are 000"),
    "area": ("前 6 位不是县级行政区划代码（GB/T 2260）", "its first 6 digits are not a county code (GB/T 2260)"),
    "township": ("乡镇代码为 000", "its township digits are 000"),
    "village": ("村代码为 000", "its village digits are 000"),
    "contract_code": ("不等于承包方编码加“J”", "is not the contractor code followed by 'J'"),
    "issuer_mismatch": ("与承包方编码的前 14 位（发包方）不一致", "does not match the issuer in the contractor code"),
    "parcel_of_other_issuer": ("不以合同的发包方编码开头", "does not start with the issuer code of its contract"),
    "certificate_code": ("不等于承包合同编码", "differs from the contract code"),
}
_FIELDS_ZH = {"DKBM": "地块编码", "FBFBM": "发包方编码", "CBFBM": "承包方编码", "CBHTBM": "承包合同编码",
              "CBJYQZBM": "经营权证编码"}


def _code_problem(table: str, row: int, column: str, value: str | None, reason: str,
                  codes: tuple[str, ...] = (), **details: Any) -> Problem:
    zh, en = _REASONS[reason]
    where_zh = "地块图层" if table == "DK" else f"{table} 表"
    where_en = "the parcel layer" if table == "DK" else f"table {table}"
    shown_zh = f"{value} " if value is not None else "（空）"
    return Problem(
        "malformed_codes", BLOCKING, codes or _codes(value),
        f"{where_zh}第 {row} 条记录的{_FIELDS_ZH[column]}（{column}）{shown_zh}{zh}。",
        f"{column} {value if value is not None else '(empty)'} in record {row} of {where_en}: {en}.",
        None, None, {"table": table, "row": int(row), "field": column, "value": value, "reason": reason, **details})


def _code_reasons(values: np.ndarray, digits: int, known: set[str] | None) -> np.ndarray:
    """Why each code of ``digits`` digits (FBFBM + serial) is unacceptable, None where it is fine.

    Reasons: missing, format (not ``digits`` digits), serial (all zeros),
    and the issuer reasons of :func:`_issuer_reasons` for the first 14 digits.
    """
    reasons = np.full(len(values), None, dtype=object)
    ok = _digits(values, digits)
    reasons[~ok] = "format"
    reasons[pd.isna(values)] = "missing"
    good = np.flatnonzero(ok)
    if len(good):
        text = values[good].astype(f"U{digits}")
        serial = text.view(np.uint32).reshape(len(text), digits)[:, 14:]
        zero = (serial == 0x30).all(axis=1)
        reasons[good[zero]] = "serial"
        rest = good[~zero]
        reasons[rest] = _issuer_reasons(text[~zero].astype("U14").astype(object), known)
    return reasons


def _str(values: np.ndarray) -> pd.Series:
    """Text with pandas' missing-aware string operations (comparisons with NA are NA)."""
    return pd.Series(values, dtype="string")


def _true(mask: pd.Series) -> np.ndarray:
    """A nullable boolean Series as a numpy mask, NA as False."""
    return mask.fillna(False).to_numpy(dtype=bool)


def _malformed_codes(layer: _Layer, tables: _Tables) -> list[Problem]:
    """Codes that break NY/T 2539: FBFBM, DKBM, CBFBM, CBHTBM, and the issuer of a contract's parcels."""
    problems: list[Problem] = []
    known: set[str] | None = None
    if "FBF" in tables:
        fbf = tables.col("FBF", "FBFBM")
        known = set()
        for j, value in enumerate(fbf.tolist()):  # the issuers: a few per village
            try:
                parse_collective_code(value)
                known.add(value)
            except CodeError as e:
                problems.append(_code_problem("FBF", j + 1, "FBFBM", value, "missing" if value is None else e.reason))

    reasons = _code_reasons(layer.codes, 19, known)
    for i in np.flatnonzero(~pd.isna(reasons)):
        problems.append(_code_problem("DK", int(layer.rows[i]), "DKBM", layer.codes[i], reasons[i],
                                      codes=_codes(layer.codes[i])))

    if "CBF" in tables:
        cbf = tables.col("CBF", "CBFBM")
        reasons = _code_reasons(cbf, 18, known)
        for i in np.flatnonzero(~pd.isna(reasons)):
            problems.append(_code_problem("CBF", int(i) + 1, "CBFBM", cbf[i], reasons[i]))

    issuer_of: pd.Series | None = None
    if "CBHT" in tables:
        contract, household, issuer = (tables.col("CBHT", f) for f in ("CBHTBM", "CBFBM", "FBFBM"))
        c, h, f, mode = _str(contract), _str(household), _str(issuer), _str(tables.col("CBHT", "CBFS"))
        # CBHTBM = CBFBM + "J" is the family contract's code (CBFS 1xx, or unstated).
        family = _true(mode.isna() | mode.str.startswith("1"))
        wrong = family & _true(h.notna() & (c.fillna("") != h + "J"))
        for k in np.flatnonzero(wrong):
            problems.append(_code_problem("CBHT", int(k) + 1, "CBHTBM", contract[k], "contract_code",
                                          codes=_codes(contract[k], household[k])))
        for k in np.flatnonzero(_true(h.str.slice(0, 14) != f)):
            problems.append(_code_problem("CBHT", int(k) + 1, "FBFBM", issuer[k], "issuer_mismatch",
                                          codes=_codes(contract[k], issuer[k])))
        if known is not None:
            for k in np.flatnonzero(_true(f.notna() & ~f.isin(known))):
                problems.append(_code_problem("CBHT", int(k) + 1, "FBFBM", issuer[k], "unknown_issuer",
                                              codes=_codes(contract[k], issuer[k])))
        listed = _true(c.notna()) & ~_true(c.duplicated())
        issuer_of = pd.Series(f[listed].to_numpy(), index=c[listed].to_numpy())

    if "CBDKXX" in tables:
        parcel, contract, certificate = (tables.col("CBDKXX", f) for f in ("DKBM", "CBHTBM", "CBJYQZBM"))
        d, c, z = _str(parcel), _str(contract), _str(certificate)
        # The contract's issuer: from CBHT, else this table's FBFBM, else the contract code's first 14 digits.
        owner = c.map(issuer_of) if issuer_of is not None else _str(np.full(tables.rows("CBDKXX"), None, dtype=object))
        owner = _str(owner.to_numpy(dtype=object))
        owner = owner.fillna(_str(tables.col("CBDKXX", "FBFBM"))).fillna(c.str.slice(0, 14))
        for k in np.flatnonzero(_true(d.str.slice(0, 14) != owner)):
            problems.append(_code_problem("CBDKXX", int(k) + 1, "DKBM", parcel[k], "parcel_of_other_issuer",
                                          codes=_codes(parcel[k], contract[k]), contract_issuer=owner.iloc[k]))
        for k in np.flatnonzero(_true(z != c)):
            problems.append(_code_problem("CBDKXX", int(k) + 1, "CBJYQZBM", certificate[k], "certificate_code",
                                          codes=_codes(certificate[k], contract[k])))
    return problems


# --- overlaps ------------------------------------------------------------------------------------


def _interior_pairs(layer: _Layer) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j, plane indices) whose interiors intersect, a chunk of parcels per thread.

    One bulk STRtree query per chunk finds the pairs that intersect; the
    DE-9IM test on those pairs, as arrays, drops the neighbours that only
    touch. (A plain box query followed by ``intersects`` on the pairs
    measured the same on 200,000 parcels.)
    """
    plane, tree = layer.plane, layer.tree

    def pairs(s: slice) -> np.ndarray:
        i, j = tree.query(plane[s], predicate="intersects")
        i = i + s.start
        keep = i < j
        i, j = i[keep], j[keep]
        inside = shapely.relate_pattern(plane[i], plane[j], "2********")
        return np.stack([i[inside], j[inside]])

    found = np.concatenate(layer.pool.map(pairs, len(plane)), axis=1)
    return found[0], found[1]


def _overlaps(layer: _Layer, tolerance_m2: float) -> list[Problem]:
    """Pairs whose interiors intersect (each once), and pairs with the same geometry."""
    plane = layer.plane
    if len(plane) < 2:
        return []
    i, j = _interior_pairs(layer)
    if not len(i):
        return []
    same = shapely.equals(plane[i], plane[j])
    problems = [_duplicate_geometry(layer, a, b) for a, b in zip(i[same].tolist(), j[same].tolist(), strict=True)]
    i, j = i[~same], j[~same]
    meet = _polygonal(_overlay(shapely.intersection, plane[i], plane[j]))
    area = np.nan_to_num(shapely.area(meet))
    width = np.where(area > 0, 2 * area / np.maximum(np.nan_to_num(shapely.length(meet)), 1e-12), 0.0)
    real = width >= NOISE_WIDTH_M
    if not real.any():
        return problems
    a, b, width = layer.use[i[real]], layer.use[j[real]], width[real]
    meet = layer.to_4490(meet[real])
    sizes = measure_m2(meet)
    for k in range(len(a)):  # the few overlaps found
        problems.append(_overlap(layer, int(a[k]), int(b[k]), float(sizes[k]), meet[k], float(width[k]),
                                 tolerance_m2))
    return problems


def _pair_codes(layer: _Layer, a: int, b: int) -> tuple[tuple[str, ...], str, str, str, str]:
    """Codes sorted, and how to name both parcels in Chinese and English."""
    if (layer.codes[a] or "") > (layer.codes[b] or ""):
        a, b = b, a
    return (_codes(layer.codes[a], layer.codes[b]),
            _parcel_zh(layer.codes[a], layer.rows[a]), _parcel_zh(layer.codes[b], layer.rows[b]),
            _parcel_en(layer.codes[a], layer.rows[a]), _lower_first(_parcel_en(layer.codes[b], layer.rows[b])))


def _overlap(layer: _Layer, a: int, b: int, size: float, geometry: Any, width: float, tolerance: float) -> Problem:
    codes, a_zh, b_zh, a_en, b_en = _pair_codes(layer, a, b)
    # Compared at the 1 cm² the size is reported to, so an overlap drawn at the tolerance is at it.
    size = round(size, 4)
    blocking = size > tolerance
    if blocking:
        tail_zh = f"超过容差 {tolerance:g} 平方米，须修正后才能导入"
        tail_en = f"more than the {tolerance:g} m² tolerance"
    else:
        tail_zh, tail_en = f"不超过容差 {tolerance:g} 平方米，请核实", f"within the {tolerance:g} m² tolerance"
    rows = sorted([int(layer.rows[a]), int(layer.rows[b])])
    return Problem(
        "overlaps", BLOCKING if blocking else WARNING, codes,
        f"{_sp(a_zh)}与{_sp(b_zh)}重叠 {size:.2f} 平方米，{tail_zh}。",
        f"{a_en} and {b_en} overlap by {size:.2f} m², {tail_en}.",
        round(size, 4), geometry,
        {"rows": rows, "area_m2": round(size, 4), "mean_width_m": round(width, 4), "tolerance_m2": tolerance})


def _duplicate_geometry(layer: _Layer, i: int, j: int) -> Problem:
    a, b = int(layer.use[i]), int(layer.use[j])
    codes, a_zh, b_zh, a_en, b_en = _pair_codes(layer, a, b)
    size = float(layer.areas[a])
    return Problem(
        "duplicate_geometries", BLOCKING, codes,
        f"{_sp(a_zh)}与{_sp(b_zh)}的图形完全相同（{size:.2f} 平方米），同一地块录入了两次。",
        f"{a_en} and {b_en} have the same geometry ({size:.2f} m²): one parcel entered twice.",
        round(size, 4), layer.work[a], {"rows": sorted([int(layer.rows[a]), int(layer.rows[b])]),
                                         "area_m2": round(size, 4)})


# --- gaps ----------------------------------------------------------------------------------------


def _invalid_edges(layer: _Layer, gap_width: float) -> np.ndarray:
    """Coverage-invalid edges of every plane polygon, validated in strips side by side.

    Each strip is validated together with every polygon that could lie
    within the gap width of it, so its members' results are exactly those
    of validating the whole layer at once.
    """
    plane = layer.plane
    n = len(plane)
    strips = layer.pool.threads if n > 4 * _CHUNK else 1
    if strips == 1:
        return shapely.coverage_invalid_edges(plane, gap_width=gap_width)
    bounds = shapely.bounds(plane)
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    order = np.argsort(x, kind="stable")
    members = np.array_split(order, strips)

    def validate(own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = bounds[own, 0].min() - gap_width, bounds[own, 2].max() + gap_width
        near = np.flatnonzero((bounds[:, 2] >= lo) & (bounds[:, 0] <= hi))
        edges = shapely.coverage_invalid_edges(plane[near], gap_width=gap_width)
        keep = np.isin(near, own)
        return near[keep], edges[keep]

    out = np.empty(n, dtype=object)
    for idx, edges in layer.pool.submit_all([functools.partial(validate, own) for own in members]):
        out[idx] = edges
    return out


def _gaps(layer: _Layer, gap_width: float) -> list[Problem]:
    """Seams of empty space narrower than ``gap_width`` between two parcels (see the module docstring)."""
    plane = layer.plane
    if len(plane) < 2 or gap_width <= 0:
        return []
    edges = _invalid_edges(layer, gap_width)
    flagged = np.flatnonzero(~shapely.is_missing(edges) & ~shapely.is_empty(edges))
    if not len(flagged):
        return []
    tree = layer.tree
    i, j = tree.query(plane[flagged], predicate="dwithin", distance=gap_width)
    i = flagged[i]
    pairs = np.unique(np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if not len(pairs):
        return []
    i, j = pairs[:, 0], pairs[:, 1]
    apart = ~shapely.relate_pattern(plane[i], plane[j], "2********")
    i, j = i[apart], j[apart]
    if not len(i):
        return []
    # The flagged edges of each side that face the other: where the gap can be.
    facing = shapely.union(
        _overlay(shapely.intersection, _missing_as_empty(edges[i]), shapely.buffer(plane[j], gap_width, quad_segs=2)),
        _overlay(shapely.intersection, _missing_as_empty(edges[j]), shapely.buffer(plane[i], gap_width, quad_segs=2)))
    has_facing = ~shapely.is_empty(facing)
    i, j, facing = i[has_facing], j[has_facing], facing[has_facing]
    if not len(i):
        return []
    both = _overlay(shapely.union, plane[i], plane[j])
    radius = gap_width / 2
    closed = shapely.buffer(shapely.buffer(both, radius, quad_segs=4), -radius, quad_segs=4)
    gap = _polygonal(_overlay(shapely.difference, closed, both))
    gap = _polygonal(_overlay(shapely.intersection, gap, shapely.buffer(facing, gap_width, quad_segs=2)))
    present = ~shapely.is_missing(gap)
    i, j, gap = i[present], j[present], gap[present]
    if not len(i):
        return []
    # Empty space only: a third parcel lying in the gap is not part of it.
    hit_gap, hit_parcel = tree.query(gap, predicate="intersects")
    others = (hit_parcel != i[hit_gap]) & (hit_parcel != j[hit_gap])
    for k in np.unique(hit_gap[others]):  # a loop over the few gaps with a third parcel in them
        gap[k] = _polygonal(np.array([_overlay(shapely.difference, np.array([gap[k]]), np.array(
            [shapely.union_all(plane[hit_parcel[others & (hit_gap == k)]])]))[0]]))[0]
    # An opening drops the noise-thin seams along shared boundaries; then keep the pieces
    # long and wide enough to be a boundary digitised twice.
    seam = NOISE_WIDTH_M / 2
    gap = _polygonal(shapely.buffer(shapely.buffer(gap, -seam, quad_segs=2), seam, quad_segs=2))
    parts, owner = shapely.get_parts(gap, return_index=True)
    area = shapely.area(parts)
    length = shapely.length(parts) / 2
    keep = (length >= GAP_MIN_LENGTH_M) & (area >= NOISE_WIDTH_M * length)
    if not keep.any():
        return []
    owners = np.unique(owner[keep])
    # With indices shapely returns an array (the stub also allows one MultiPolygon).
    gap_plane = cast(NDArray[np.object_],
                     shapely.multipolygons(parts[keep], indices=np.searchsorted(owners, owner[keep])))
    gap_4490 = layer.to_4490(gap_plane)
    sizes = measure_m2(gap_4490)
    lengths = np.bincount(np.searchsorted(owners, owner[keep]), weights=length[keep])
    widest = 2 * shapely.length(shapely.maximum_inscribed_circle(gap_plane, tolerance=gap_width / 100))
    problems = []
    for k, g in enumerate(owners.tolist()):
        a, b = int(layer.use[i[g]]), int(layer.use[j[g]])
        codes, a_zh, b_zh, a_en, b_en = _pair_codes(layer, a, b)
        size, long_m, wide = float(sizes[k]), float(lengths[k]), float(widest[k])
        problems.append(Problem(
            "gaps", WARNING, codes,
            f"{_sp(a_zh)}与{_sp(b_zh)}之间有一条窄缝：宽不足 {gap_width:g} 米（最宽 {wide:.2f} 米），"
            f"长约 {long_m:.1f} 米，"
            f"面积 {size:.2f} 平方米，多为同一条界线重复勾绘所致，请核实。",
            f"A gap narrower than {gap_width:g} m (at most {wide:.2f} m wide, about {long_m:.1f} m long, "
            f"{size:.2f} m²) separates {_lower_first(a_en)} and {b_en}: "
            "usually one boundary digitised twice.",
            round(size, 4), gap_4490[k],
            {"rows": sorted([int(layer.rows[a]), int(layer.rows[b])]), "area_m2": round(size, 4),
             "length_m": round(long_m, 2), "max_width_m": round(wide, 3), "gap_width_m": gap_width}))
    return problems


def _missing_as_empty(geoms: np.ndarray) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object).copy()
    geoms[shapely.is_missing(geoms)] = shapely.LineString()
    return geoms


# --- slivers and areas ---------------------------------------------------------------------------


def county_band(zones: np.ndarray, county_longitudes: tuple[float, float] | None) -> tuple[float, float] | None:
    """The longitudes where a package's county lies, with the band's overlap (:func:`gis.crs.zone_band`).

    The county's zones are those its registered parcels lie in or, before its first parcel, the zone
    most of the package's parcels lie in; a zone next to them where some of the package's parcels
    lie joins them (a county astride a zone boundary), as no county is wider than two zones. None
    for an empty package of a county without parcels.
    """
    values, counts = np.unique(zones, return_counts=True)
    if county_longitudes is not None:
        anchor = zone_epsg(np.asarray(county_longitudes, dtype=np.float64))
    elif len(values):
        anchor = values[counts == counts.max()]
    else:
        return None
    lo, hi = int(anchor.min()), int(anchor.max())
    lo -= int((values == lo - 1).any())
    hi += int((values == hi + 1).any())
    meridians = 75.0 + 3.0 * (np.array([lo, hi]) - GK_PLAIN_EPSG.start)
    return zone_band(float(meridians[0]), float(meridians[1]))


def _implausible(layer: _Layer, max_area_m2: float, county_longitudes: tuple[float, float] | None) -> list[Problem]:
    """Parcels no survey measures: too large, across their zone, or far from their county."""
    problems = []
    use, work = layer.use, layer.work[layer.use]
    band = county_band(layer.zones, county_longitudes)
    too_large = layer.areas[use] > max_area_m2
    across = spans_zones(work)
    away = outside_band(work, band) if band else np.zeros(len(use), dtype=bool)
    for k in np.flatnonzero(too_large | across | away):
        i = int(use[k])
        code, row = layer.codes[i], int(layer.rows[i])
        who_zh, who_en = _sp(_parcel_zh(code, row)), _parcel_en(code, row)
        minx, _, maxx, _ = (float(v) for v in shapely.bounds(work[k]))
        if too_large[k]:
            a = float(layer.areas[i])
            reason, zh, en = "area_too_large", (
                f"{who_zh}面积 {a / 1e6:,.2f} 平方千米，超过一宗地块的上限 {max_area_m2 / 1e6:,.2f} 平方千米，"
                "通常是单位或坐标系有误。"), (
                f"{who_en} measures {a / 1e6:,.2f} km², more than a parcel's limit of {max_area_m2 / 1e6:,.2f} km²: "
                "usually a unit or CRS mistake.")
        elif across[k]:
            reason, zh, en = "spans_zones", (
                f"{who_zh}跨越 CGCS2000 3 度带（经度 {minx:.4f}–{maxx:.4f}°E），无法在一个带内量算。"), (
                f"{who_en} reaches across its CGCS2000 3-degree zone (longitude {minx:.4f}–{maxx:.4f}°E) "
                "and cannot be measured in one zone.")
        else:
            assert band is not None  # away is all False without a band
            reason, zh, en = "outside_county_zone", (
                f"{who_zh}位于经度 {minx:.4f}–{maxx:.4f}°E，不在本县地块所在的 3 度带内"
                f"（{band[0]:g}–{band[1]:g}°E）：通常是坐标有误。"), (
                f"{who_en} lies at longitude {minx:.4f}–{maxx:.4f}°E, outside the 3-degree zones of its county's "
                f"parcels ({band[0]:g}–{band[1]:g}°E): usually a wrong coordinate.")
        area = round(float(layer.areas[i]), 2)
        problems.append(Problem("implausible", BLOCKING, _codes(code), zh, en, area, work[k],
                                {"row": row, "reason": reason, "area_m2": area,
                                 "longitudes": [minx, maxx], **({"band": list(band)} if band else {})}))
    return problems


def _slivers(layer: _Layer) -> list[Problem]:
    """Parcels under :data:`SLIVER_MAX_AREA_M2` or on average narrower than :data:`SLIVER_MAX_WIDTH_M`."""
    area, perimeter = layer.areas, layer.perimeters
    with np.errstate(invalid="ignore", divide="ignore"):
        width = np.where(perimeter > 0, 2 * area / perimeter, 0.0)
    sliver = layer.usable & ((area < SLIVER_MAX_AREA_M2) | (width < SLIVER_MAX_WIDTH_M))
    problems = []
    for i in np.flatnonzero(sliver):
        code, row, a, w = layer.codes[i], int(layer.rows[i]), float(area[i]), float(width[i])
        problems.append(Problem(
            "slivers", WARNING, _codes(code),
            f"{_sp(_parcel_zh(code, row))}是碎片多边形：面积 {a:.2f} 平方米，平均宽度 {w:.2f} 米，"
            "不像一块耕地，请核实。",
            f"{_parcel_en(code, row)} is a sliver: {a:.2f} m², {w:.2f} m wide on average; no field is that small.",
            round(a, 4), layer.work[i],
            {"row": row, "area_m2": round(a, 4), "mean_width_m": round(w, 4)}))
    return problems


def _area_mismatch(layer: _Layer, tolerance: float) -> list[Problem]:
    """Parcels whose SCMJ differs from the measured area by more than ``tolerance`` (relative)."""
    measured, declared = layer.areas, layer.scmj
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = (declared - measured) / measured
    off = layer.usable & (measured > 0) & np.isfinite(relative) & (np.abs(relative) > tolerance)
    problems = []
    for i in np.flatnonzero(off):
        code, row = layer.codes[i], int(layer.rows[i])
        m, d, r = float(measured[i]), float(declared[i]), float(relative[i])
        problems.append(Problem(
            "area_mismatch", WARNING, _codes(code),
            f"{_sp(_parcel_zh(code, row))}的实测面积（SCMJ）为 {d:.2f} 平方米，按图形量算为 {m:.2f} 平方米，"
            f"相差 {r:+.1%}，超过 {tolerance:.0%}。",
            f"{_parcel_en(code, row)} declares {d:.2f} m² (SCMJ) but its geometry measures {m:.2f} m², "
            f"{r:+.1%} off, more than {tolerance:.0%}.",
            round(abs(r), 6), layer.work[i],
            {"row": row, "declared_m2": round(d, 4), "measured_m2": round(m, 4),
             "relative_difference": round(r, 6), "tolerance": tolerance}))
    return problems


# --- tables --------------------------------------------------------------------------------------


def _table_checks(layer: _Layer, tables: _Tables) -> list[Problem]:
    """The links between the tables and the layer, ID numbers, heads and duplicates."""
    problems: list[Problem] = []
    households = tables.col("CBF", "CBFBM") if "CBF" in tables else None

    if "CBDKXX" in tables:
        parcels, contracts = _str(tables.col("CBDKXX", "DKBM")), _str(tables.col("CBDKXX", "CBHTBM"))
        missing = _true(parcels.notna() & ~parcels.isin(layer.codes[layer.code_ok]))
        problems += _grouped("missing_parcels", "CBDKXX", parcels, missing,
                             "承包地块信息表（CBDKXX）引用的地块 {code} 不在地块图层中（第 {rows} 条记录）。",
                             "Table CBDKXX names parcel {code}, which the parcel layer does not hold (records {rows}).")
        if "CBHT" in tables:
            missing = _true(contracts.notna() & ~contracts.isin(tables.col("CBHT", "CBHTBM")))
            problems += _grouped("missing_contracts", "CBDKXX", contracts, missing,
                                 "承包地块信息表（CBDKXX）引用的承包合同 {code} 不在承包合同表（CBHT）中"
                                 "（第 {rows} 条记录）。",
                                 "Table CBDKXX names contract {code}, which table CBHT does not hold (records {rows}).")
        frame = pd.DataFrame({"d": parcels, "c": contracts, "r": np.arange(1, tables.rows("CBDKXX") + 1)}).dropna()
        spread = frame.groupby("d")["c"].transform("nunique")
        for code, group in frame[spread.to_numpy() > 1].groupby("d", sort=True):  # the few parcels found
            named = sorted(set(group["c"]))
            problems.append(Problem(
                "parcels_in_two_contracts", BLOCKING, (str(code), *named),
                f"地块 {code} 同时出现在 {len(named)} 份承包合同中（{'、'.join(named)}），"
                "一块地只能有一份有效承包合同。",
                f"Parcel {code} is in {len(named)} contracts ({', '.join(named)}); "
                "a parcel has one contract at a time.",
                None, None, {"table": "CBDKXX", "rows": [int(r) for r in group["r"]], "contracts": named}))

    if households is not None:
        for name in ("CBF_JTCY", "CBHT", "CBDKXX"):
            if name in tables:
                referenced = _str(tables.col(name, "CBFBM"))
                missing = _true(referenced.notna() & ~referenced.isin(households))
                problems += _grouped(
                    "missing_households", name, referenced, missing,
                    f"{name} 表引用的承包方 {{code}} 不在承包方表（CBF）中（第 {{rows}} 条记录）。",
                    f"Table {name} names household {{code}}, which table CBF does not hold (records {{rows}}).")
        codes = _str(households)
        problems += _grouped("duplicate_households", "CBF", codes, _true(codes.notna() & codes.duplicated(keep=False)),
                             "承包方编码 {code} 在承包方表（CBF）中出现多次（第 {rows} 条记录），承包方编码必须唯一。",
                             "Household code {code} is on several rows of table CBF (records {rows}); "
                             "a household code must be unique.")

    problems += _id_numbers(tables)

    if "CBF_JTCY" in tables and households is not None:
        relation = _str(tables.col("CBF_JTCY", "YHZGX"))
        with_head = tables.col("CBF_JTCY", "CBFBM")[_true(relation.isin(HEAD_CODES))]
        codes = _str(households)
        headless = _true(codes.notna() & ~codes.isin(with_head)) & ~_true(codes.duplicated())
        for k in np.flatnonzero(headless):  # the few households found
            code = households[k]
            problems.append(Problem(
                "households_without_head", BLOCKING, (code,),
                f"承包方 {code} 的家庭成员中没有户主（与户主关系代码 01 本人或 02 户主，GB/T 4761）。",
                f"Household {code} has no head among its members (YHZGX 01 or 02, GB/T 4761).",
                None, None, {"table": "CBF", "row": int(k) + 1, "head_codes": sorted(HEAD_CODES)}))
    return problems


def _grouped(check: str, table: str, values: pd.Series, mask: np.ndarray, zh: str, en: str) -> list[Problem]:
    """One problem per distinct code among the rows in ``mask``, naming the rows (the first 20 in the text)."""
    problems = []
    frame = pd.DataFrame({"v": values[mask].to_numpy(dtype=object), "r": np.flatnonzero(mask) + 1})
    for code, group in frame.groupby("v", sort=True):  # the few codes found
        rows = [int(r) for r in group["r"]]
        problems.append(Problem(
            check, BLOCKING, (str(code),),
            zh.format(code=code, rows="、".join(map(str, rows[:20])) + ("等" if len(rows) > 20 else "")),
            en.format(code=code, rows=", ".join(map(str, rows[:20])) + (", …" if len(rows) > 20 else "")),
            None, None, {"table": table, "rows": rows}))
    return problems


_ID_REASONS = {
    "format": ("不是 17 位数字加 1 位校验码", "is not 17 digits and a check character"),
    "area": ("前两位不是省级行政区划代码", "does not start with a province code"),
    "birth_date": ("出生日期不存在或不合理", "has an impossible birth date"),
    "check_digit": ("校验码不对", "has a wrong check character"),
    "sex": ("顺序码的奇偶与性别（CYXB）不符", "has a sequence number that does not match the sex (CYXB)"),
}
#: GB/T 2261.1 sex codes.
_SEX = {"1": "male", "2": "female"}


def _parse_ids(numbers: Iterable[str | None]) -> dict[str, str]:
    """Each distinct number → the :func:`gis.codes.parse_id_number` reason, or "male"/"female" when valid.

    The parsing is the registry's own, one Python call per distinct number
    (a few µs); CBF repeats the heads of CBF_JTCY, so each is parsed once.
    """
    today = dt.date.today()
    out: dict[str, str] = {}
    for number in set(numbers):  # a loop over people, each once
        key = number or ""
        try:
            out[key] = parse_id_number(key, today=today).sex
        except CodeError as e:
            out[key] = e.reason
    return out


def _id_numbers(tables: _Tables) -> list[Problem]:
    """Resident ID numbers (type 1) in CBF and CBF_JTCY that fail GB 11643, and duplicated members."""
    problems: list[Problem] = []
    sources = [(name, kind, number, sex) for name, kind, number, sex in
               (("CBF", "CBFZJLX", "CBFZJHM", None), ("CBF_JTCY", "CYZJLX", "CYZJHM", "CYXB")) if name in tables]
    resident = {name: np.flatnonzero(tables.col(name, kind) == RESIDENT_ID) for name, kind, _, _ in sources}
    parsed = _parse_ids(number for name, _, field_, _ in sources
                        for number in tables.col(name, field_)[resident[name]].tolist())
    for name, _, number_field, sex_field in sources:
        idx = resident[name]
        numbers, households = tables.col(name, number_field)[idx], tables.col(name, "CBFBM")[idx]
        verdicts = pd.Series(numbers, dtype=object).fillna("").map(parsed).to_numpy(dtype=object)
        if sex_field:
            # A valid number whose sequence digit disagrees with CYXB (GB/T 2261.1: 1 male, 2 female).
            stated = pd.Series(tables.col(name, sex_field)[idx], dtype=object).map(_SEX).to_numpy(dtype=object)
            valid = np.isin(verdicts, ("male", "female"))
            verdicts = np.where(valid & ~pd.isna(stated) & (verdicts != stated), "sex", verdicts)
        verdicts[np.isin(verdicts, ("male", "female"))] = None
        for k in np.flatnonzero(~pd.isna(verdicts)):  # the few numbers found
            zh, en = _ID_REASONS[verdicts[k]]
            masked = mask_id_number(numbers[k]) if numbers[k] else None
            row = int(idx[k]) + 1
            problems.append(Problem(
                "invalid_id_numbers", BLOCKING, _codes(households[k]),
                f"{name} 表第 {row} 条记录（承包方 {households[k]}）的身份证号 {masked or '（空）'} {zh}（GB 11643）。",
                f"The resident ID number {masked or '(empty)'} in record {row} of table {name} "
                f"(household {households[k]}) {en} (GB 11643).",
                None, None, {"table": name, "row": row, "field": number_field, "id_number": masked,
                             "reason": verdicts[k]}))

    if "CBF_JTCY" in tables:
        id_numbers = _str(tables.col("CBF_JTCY", "CYZJHM")).str.upper()
        id_numbers = id_numbers.where(pd.Series(tables.col("CBF_JTCY", "CYZJLX") == RESIDENT_ID))
        repeated = _true(id_numbers.notna() & id_numbers.duplicated(keep=False))
        frame = pd.DataFrame({"n": id_numbers[repeated].to_numpy(dtype=object), "r": np.flatnonzero(repeated) + 1,
                              "h": tables.col("CBF_JTCY", "CBFBM")[repeated]})
        for number, group in frame.groupby("n", sort=True):  # the few people found
            rows = [int(r) for r in group["r"]]
            named = sorted(set(group["h"].dropna()))
            masked = mask_id_number(str(number))
            problems.append(Problem(
                "duplicate_members", BLOCKING, tuple(named),
                f"身份证号 {masked} 在家庭成员表（CBF_JTCY）中出现 {len(rows)} 次（承包方 {'、'.join(named)}，"
                f"第 {'、'.join(map(str, rows))} 条记录），一人只能是一户的成员。",
                f"Resident ID number {masked} is on {len(rows)} rows of table CBF_JTCY (households "
                f"{', '.join(named)}, records {', '.join(map(str, rows))}); a person belongs to one household.",
                None, None, {"table": "CBF_JTCY", "rows": rows, "id_number": masked}))
    return problems
