"""Parcels: intake of geometry, area, 四至, overlap refusal, history."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import and_
from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.db import UnitOfWork, coded, utcnow
from app.errors import DomainError, NotFound, RuleViolation
from app.ledger import services as ledger
from app.parcels.models import LAND_USES_ZH, PARCEL_KINDS, Parcel, ParcelVersion
from app.parcels.queries import ParcelRepository
from app.parties.services import REGISTRY_WRITERS, require_role, visible_collective
from app.queries import code_prefix, county_prefix, narrowest
from gis import area as gis_area
from gis import crs as gis_crs
from gis.codes import CodeError, parse_parcel_code
from gis.errors import GeometryInputError
from gis.geojson import GeometryLimits, parse_polygonal
from gis.neighbours import four_sides
from gis.render import parcel_map_png

MAX_PARCEL_SERIAL = 99_999
#: degrees that surely cover a metre anywhere in China (1° of longitude ≥ 60 km up to 57° N).
DEG_PER_M = 1 / 60_000


@dataclass(frozen=True)
class ParcelPolicy:
    """The settings that shape parcel intake (see README, Settings)."""

    overlap_tolerance_m2: float = 0.5
    neighbour_tolerance_m: float = 2.0
    limits: GeometryLimits = field(default_factory=GeometryLimits)
    #: PARCEL_IMPLAUSIBLE above this measured area (setting SANQUAN_MAX_PARCEL_AREA_M2).
    max_area_m2: float = 10_000_000.0


def geometry_violation(e: GeometryInputError) -> RuleViolation:
    details = {"reason": e.reason, **e.details}
    if e.location is not None:
        details["location"] = list(e.location)
    return RuleViolation(e.rule, reason_zh=e.message_zh, reason_en=e.message_en, details=details)


def intake_geometry(geometry, crs: str | None, limits: GeometryLimits) -> shapely.MultiPolygon:
    """Check untrusted GeoJSON and return it as a valid MultiPolygon in EPSG:4490.

    Raises:
        RuleViolation: GEOMETRY_INVALID, GEOMETRY_TOO_COMPLEX, CRS_UNSUPPORTED, OUTSIDE_SUPPORTED_AREA,
            PARCEL_IMPLAUSIBLE (not inside one 3-degree zone band).
    """
    try:
        epsg = gis_crs.parse_crs(crs)
        geom = parse_polygonal(geometry, limits)
        stored = gis_crs.to_storage(np.array([geom], dtype=object), epsg)
        gis_crs.check_supported_area(stored)
        gis_crs.check_zone_band(stored)
    except GeometryInputError as e:
        raise geometry_violation(e) from None
    if not shapely.is_valid(stored[0]):
        raise RuleViolation("GEOMETRY_INVALID", reason_zh="投影变换后图形无效，请检查坐标参照系",
                            reason_en="the geometry is invalid after reprojection; check the CRS",
                            details={"reason": shapely.is_valid_reason(stored[0])})
    return stored[0]


def check_in_county(repo: ParcelRepository, county: str, geom) -> None:
    """Refuse a parcel outside the 3-degree zones where its county's parcels lie.

    Raises:
        RuleViolation: PARCEL_IMPLAUSIBLE (reason ``outside_county_zone``).
    """
    extent = repo.county_longitudes(county)
    if extent is None:
        return
    try:
        gis_crs.check_county_zone(np.array([geom], dtype=object), *extent)
    except GeometryInputError as e:
        raise geometry_violation(e) from None


def measured_area_m2(geom, policy: ParcelPolicy) -> float:
    """The parcel's area in its 3-degree zone, refused when no parcel is that large.

    Raises:
        RuleViolation: PARCEL_IMPLAUSIBLE (reason ``area_too_large``) above ``policy.max_area_m2``.
    """
    area_m2 = float(gis_area.measure_m2(np.array([geom], dtype=object))[0])
    if area_m2 > policy.max_area_m2:
        km2, limit_km2 = f"{area_m2 / 1e6:,.2f}", f"{policy.max_area_m2 / 1e6:,.2f}"
        raise RuleViolation("PARCEL_IMPLAUSIBLE",
                            reason_zh=f"面积 {km2} 平方千米，超过一宗地块的上限 {limit_km2} 平方千米",
                            reason_en=f"its area of {km2} km² exceeds a parcel's limit of {limit_km2} km²",
                            details={"reason": "area_too_large", "area_m2": round(area_m2, 2),
                                     "max_area_m2": policy.max_area_m2})
    return area_m2


def output_crs(crs: str | None) -> int:
    try:
        return gis_crs.parse_crs(crs)
    except GeometryInputError as e:
        raise geometry_violation(e) from None


def neighbours_of(repo: ParcelRepository, versions: list[ParcelVersion], tolerance_m: float) -> list[dict]:
    """四至 of each version among the current parcels."""
    if not versions:
        return []
    geoms = np.array([v.geom for v in versions], dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    cands, cand_geoms = repo.near((minx, miny, maxx, maxy), tolerance_m * DEG_PER_M, versions[0].county_code)
    return four_sides(geoms, [v.parcel_code for v in versions], cand_geoms,
                      [c.parcel_code for c in cands], tolerance_m=tolerance_m)


def _features(repo: ParcelRepository, versions: list[ParcelVersion], epsg: int,
              tolerance_m: float | None) -> list[dict]:
    """Features of versions; with 四至 unless ``tolerance_m`` is None."""
    neighbours = neighbours_of(repo, versions, tolerance_m) if tolerance_m is not None else [None] * len(versions)
    return [feature(v, g, n) for v, g, n in zip(versions, output_geoms(versions, epsg), neighbours, strict=True)]


def output_geoms(versions: list[ParcelVersion], epsg: int) -> np.ndarray:
    """The versions' geometries in the output CRS; a failed reprojection is a 422, not a 500."""
    geoms = np.array([v.geom for v in versions], dtype=object)
    if not len(geoms) or epsg == gis_crs.STORAGE_EPSG:
        return geoms
    try:
        return gis_crs.from_storage(geoms, epsg)
    except GeometryInputError as e:
        raise geometry_violation(e) from None


def feature(v: ParcelVersion, geom_out, neighbours: dict | None) -> dict:
    """A parcel version as a GeoJSON Feature whose ``id`` is the parcel code."""
    props: dict[str, Any] = {
        "code": v.parcel_code, "collective": v.collective_code, "county": v.county_code,
        "kind": v.kind, "land_use": v.land_use, "name": v.name,
        "area_m2": round(v.area_m2, 2), "area_mu": float(gis_area.m2_to_mu(v.area_m2)),
        "declared_area_m2": float(v.declared_area_m2) if v.declared_area_m2 is not None else None,
        "basic_farmland": v.basic_farmland, "version": v.version,
        "valid_from": v.valid_from.isoformat(), "valid_to": v.valid_to.isoformat() if v.valid_to else None,
        "ledger_seq": v.ledger_seq,
    }
    if neighbours is not None:
        props["neighbours"] = neighbours
    return {"type": "Feature", "id": v.parcel_code, "geometry": shapely.geometry.mapping(geom_out),
            "properties": props}


def parcel_rows(versions: list[ParcelVersion]) -> tuple[tuple[str, str, str, str, str], ...]:
    """(code, name, land use in Chinese, area m², area 亩) of each version, as documents print them."""
    return tuple((v.parcel_code, v.name or "—", LAND_USES_ZH.get(v.land_use, v.land_use), f"{v.area_m2:,.2f}",
                  f"{float(gis_area.m2_to_mu(v.area_m2)):,.2f}") for v in versions)


def _check_kind(kind: str, land_use: str) -> None:
    # A homestead plot is used as a homestead, and no other kind of parcel is.
    if kind not in PARCEL_KINDS:
        raise DomainError(f"地块类别 {kind} 无效", f"kind {kind} is not a parcel kind", status=422,
                          errors={"kind": [f"one of {', '.join(PARCEL_KINDS)}"]})
    if (kind == "homestead") != (land_use == "homestead"):
        raise RuleViolation("PARCEL_LAND_USE_MISMATCH", details={"kind": kind, "land_use": land_use},
                            errors={"land_use": ["does not fit kind"]})


def _parcel_code(s, repo: ParcelRepository, collective_code: str, code: str | None) -> str:
    if code is None:
        last = repo.max_code(collective_code)
        serial = int(last[14:]) + 1 if last else 1
        if serial > MAX_PARCEL_SERIAL:
            raise RuleViolation("PARCEL_CODES_EXHAUSTED", details={"collective": collective_code})
        return f"{collective_code}{serial:05d}"
    try:
        issuer, _ = parse_parcel_code(code)
    except CodeError as e:
        raise RuleViolation("PARCEL_CODE_INVALID", reason_en=str(e), details={"code": code}) from None
    if issuer.value != collective_code:
        raise RuleViolation("PARCEL_CODE_INVALID", reason_zh="地块编码须以其发包方编码开头",
                            reason_en="a parcel code must start with its issuer's code", details={"code": code})
    if coded(s, Parcel, code) is not None:
        raise RuleViolation("PARCEL_CODE_TAKEN", details={"code": code})
    return code


def new_version(*, code: str, version: int, collective: str, kind: str, land_use: str, name: str | None,
                declared_area_m2: float | None, basic_farmland: bool, area_m2: float, geom) -> ParcelVersion:
    """A parcel version with its bounding box filled in (the R*Tree reads it)."""
    if not isinstance(geom, shapely.MultiPolygon):
        geom = shapely.MultiPolygon([geom])
    minx, miny, maxx, maxy = geom.bounds
    return ParcelVersion(parcel_code=code, version=version, collective_code=collective, county_code=code[:6],
                         kind=kind, land_use=land_use, name=name, declared_area_m2=declared_area_m2,
                         basic_farmland=basic_farmland, area_m2=area_m2, geom=geom,
                         minx=minx, miny=miny, maxx=maxx, maxy=maxy)


def version_entry(v: ParcelVersion, wkb_hex: str | None = None) -> dict:
    """The ledger facts of a parcel version: enough to rebuild it exactly.

    ``wkb_hex``: the geometry's WKB when the caller already has it (bulk loads encode a whole array at once).
    """
    return {"code": v.parcel_code, "collective": v.collective_code, "version": v.version, "kind": v.kind,
            "land_use": v.land_use, "name": v.name,
            "declared_area_m2": float(v.declared_area_m2) if v.declared_area_m2 is not None else None,
            "basic_farmland": v.basic_farmland, "area_m2": round(v.area_m2, 2),
            "geometry_wkb": wkb_hex if wkb_hex is not None else shapely.to_wkb(v.geom, hex=True)}


def check_overlaps(repo: ParcelRepository, geom, tolerance_m2: float, county: str, *,
                   exclude: str | None = None) -> list[dict]:
    """Refuse ``geom`` if it overlaps a current parcel of ``county`` by more than the tolerance.

    Args:
        exclude: a parcel code left out of the check (a parcel does not overlap its own earlier boundary).
    Returns:
        The overlaps within the tolerance, ``{"code", "overlap_m2"}``, largest first.
    Raises:
        RuleViolation: PARCEL_OVERLAP, with every overlap above the tolerance.
    """
    rows, geoms = repo.overlapping(geom, county)
    if exclude is not None:
        keep = [i for i, r in enumerate(rows) if r.parcel_code != exclude]
        rows, geoms = [rows[i] for i in keep], geoms[keep]
    overlaps = gis_area.overlap_areas_m2(geom, geoms) if rows else np.array([])
    found: list[dict[str, Any]] = sorted(({"code": r.parcel_code, "overlap_m2": round(float(a), 2)}
                    for r, a in zip(rows, overlaps, strict=True) if round(a, 2) > 0), key=lambda o: -o["overlap_m2"])
    blocking = [o for o in found if o["overlap_m2"] > tolerance_m2]
    if blocking:
        raise RuleViolation("PARCEL_OVERLAP", details={"tolerance_m2": tolerance_m2, "overlaps": blocking})
    return found


def register_parcel(uow: UnitOfWork, *, actor: Principal, policy: ParcelPolicy, collective: str,
                    kind: str, land_use: str, geometry, crs: str | None = None, code: str | None = None,
                    name: str | None = None, declared_area_m2: float | None = None,
                    basic_farmland: bool = False) -> dict:
    """Register a parcel after checking its geometry, CRS, area and overlaps.

    Returns:
        The parcel as a GeoJSON Feature (EPSG:4490) with ``area_m2``, ``area_mu``,
        ``neighbours`` and, for overlaps within the tolerance, ``warnings``.
    Raises:
        RuleViolation: the geometry rules, PARCEL_IMPLAUSIBLE (too large, across zones, outside the county's
            zones), PARCEL_CODE_INVALID, PARCEL_CODE_TAKEN, PARCEL_OVERLAP, PARCEL_LAND_USE_MISMATCH.
        NotFound: the collective is unknown or outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    _check_kind(kind, land_use)
    geom = intake_geometry(geometry, crs, policy.limits)
    area_m2 = measured_area_m2(geom, policy)
    with uow:
        s = uow.session
        coll = visible_collective(s, actor, collective)
        # Serialise parcel writes per county so two overlapping parcels cannot
        # both pass the overlap check (on SQLite BEGIN IMMEDIATE already does).
        ledger.lock_log(s, coll.county_code)
        repo = ParcelRepository(s)
        check_in_county(repo, coll.county_code, geom)
        code = _parcel_code(s, repo, coll.code, code)
        found = check_overlaps(repo, geom, policy.overlap_tolerance_m2, coll.county_code)
        s.add(Parcel(code=code, collective_code=coll.code, county_code=coll.county_code))
        version = new_version(code=code, version=1, collective=coll.code, kind=kind, land_use=land_use,
                              name=name, declared_area_m2=declared_area_m2, basic_farmland=basic_farmland,
                              area_m2=area_m2, geom=geom)
        version.ledger_seq = ledger.append(s, county=coll.county_code, kind="parcel.registered", actor=actor,
                                           subjects=[code], data=version_entry(version))
        s.add(version)
        s.flush()
        out = _features(repo, [version], gis_crs.STORAGE_EPSG, policy.neighbour_tolerance_m)[0]
        if found:
            out["properties"]["warnings"] = [
                {"rule": "PARCEL_OVERLAP", "message": "与已登记地块有容差内的微小重叠", **o} for o in found]
        uow.commit()
    return out


def revise_boundary(s: Session, *, actor: Principal, policy: ParcelPolicy, code: str, geometry,
                    crs: str | None = None, on: dt.date, cause: dict) -> ParcelVersion:
    """Correct a parcel's boundary as a new version (the old one is closed, never overwritten).

    Runs inside the caller's transaction and neither commits nor checks the actor's role: the
    caller (an arbitration award's registry order, say) authorises. The new version keeps everything
    but the geometry and its measured area; overlaps within the tolerance are accepted, as at
    registration, and not reported.

    Args:
        s: the caller's session; the new version and its ledger entry commit or roll back with it.
        geometry: the corrected boundary, GeoJSON in ``crs`` (default EPSG:4490), checked as at registration.
        on: the day the correction takes legal effect (the order's date), recorded in the ledger entry.
        cause: JSON-ready facts of why (``{"dispute": 12, "award": "..."}``), recorded in the ledger entry.
    Returns:
        The new current version, flushed, with its ``ledger_seq``.
    Raises:
        NotFound: the parcel is unknown, has no current version, or is outside the actor's scope.
        RuleViolation: GEOMETRY_INVALID, GEOMETRY_TOO_COMPLEX, CRS_UNSUPPORTED, OUTSIDE_SUPPORTED_AREA,
            PARCEL_IMPLAUSIBLE, PARCEL_OVERLAP (with another parcel; the parcel's own boundary does not count).
        DomainError: 422 when the boundary is the current one (nothing would change).
    """
    parcel = coded(s, Parcel, code) if actor.sees(code) else None
    if parcel is None:
        raise NotFound("地块", "Parcel", code)
    geom = intake_geometry(geometry, crs, policy.limits)
    ledger.lock_log(s, parcel.county_code)
    repo = ParcelRepository(s)
    current = repo.current(code)
    if current is None:
        raise NotFound("地块", "Parcel", code)
    if shapely.equals(geom, current.geom):
        raise DomainError("新界址与地块现有界址相同，无需更正", "the new boundary is the parcel's current one: "
                          "nothing changes", status=422, details={"code": code})
    check_in_county(repo, parcel.county_code, geom)
    check_overlaps(repo, geom, policy.overlap_tolerance_m2, parcel.county_code, exclude=code)
    area_m2 = measured_area_m2(geom, policy)
    version = new_version(code=code, version=current.version + 1, collective=current.collective_code,
                          kind=current.kind, land_use=current.land_use, name=current.name,
                          declared_area_m2=current.declared_area_m2, basic_farmland=current.basic_farmland,
                          area_m2=area_m2, geom=geom)
    # The lifespans meet; the close is flushed first, as the one-current-version index and the
    # SQLite R*Tree trigger (which drops a closed version's box) need.
    current.valid_to = version.valid_from = utcnow()
    s.flush()
    version.ledger_seq = ledger.append(s, county=parcel.county_code, kind="parcel.revised", actor=actor,
                                       subjects=[code], data=version_entry(version) | {
                                           "on": on.isoformat(), "cause": cause})
    s.add(version)
    s.flush()
    return version


def get_parcel(uow: UnitOfWork, *, actor: Principal, policy: ParcelPolicy, code: str,
               crs: str | None = None) -> dict:
    epsg = output_crs(crs)
    with uow:
        repo = ParcelRepository(uow.session)
        v = repo.current(code) if actor.sees(code) else None
        if v is None:
            raise NotFound("地块", "Parcel", code)
        return _features(repo, [v], epsg, policy.neighbour_tolerance_m)[0]


def list_parcels(uow: UnitOfWork, *, actor: Principal, policy: ParcelPolicy, collective: str | None = None,
                 bbox: tuple | None = None, contains: tuple | None = None, within: str | None = None,
                 crs: str | None = None, limit: int = 50, cursor: str | None = None,
                 neighbours: bool = False) -> dict:
    """Current parcels by collective, bounding box (lon/lat) and/or containing point, as a FeatureCollection.

    四至 costs a second spatial query per page, so lists carry it only when asked.
    """
    epsg = output_crs(crs)
    prefix = narrowest(actor.scope, within)
    if prefix is None:
        return {"type": "FeatureCollection", "features": [], "next_cursor": None}
    with uow:
        repo = ParcelRepository(uow.session)
        # the county named as well as the code's prefix: a county's (or a narrower) caller stays on its shard group
        in_prefix = and_(county_prefix(ParcelVersion.county_code, prefix),
                         code_prefix(ParcelVersion.parcel_code, prefix))
        rows = repo.query(prefix_clause=in_prefix, collective=collective,
                          bbox=bbox, contains=contains, after=cursor, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        features = _features(repo, rows, epsg, policy.neighbour_tolerance_m if neighbours else None)
    return {"type": "FeatureCollection", "features": features,
            "next_cursor": rows[-1].parcel_code if more else None}


#: A context ring around a parcel map, in metres.
MAP_MARGIN_M = 150


def parcel_map(uow: UnitOfWork, *, actor: Principal, code: str) -> bytes:
    """A PNG map of a parcel with its neighbours in grey."""
    with uow:
        repo = ParcelRepository(uow.session)
        v = repo.current(code) if actor.sees(code) else None
        if v is None:
            raise NotFound("地块", "Parcel", code)
        return map_over_neighbours(repo, [v.geom], [code])


def map_over_neighbours(repo: ParcelRepository, geoms, codes: list[str], *, shown: frozenset[str] = frozenset(),
                        image_format: str = "png") -> bytes:
    """``geoms`` labelled with ``codes`` over the current parcels within the map's margin, in grey; a parcel
    named in ``codes`` is left out of the grey unless it is in ``shown`` (a corrected boundary drawn over
    the one it corrects)."""
    geoms = np.asarray(geoms, dtype=object)
    context, context_geoms = repo.near(tuple(shapely.total_bounds(geoms)), MAP_MARGIN_M * DEG_PER_M, codes[0][:6])
    hidden = set(codes) - shown
    keep = [i for i, c in enumerate(context) if c.parcel_code not in hidden]
    return parcel_map_png(geoms, codes, context_geoms[keep], image_format=image_format)
