"""CGCS2000 and its 3-degree Gauss-Kruger zones: naming, reprojection, sanity.

Axis order is always x = easting/longitude, y = northing/latitude, as in
GeoJSON, whatever the EPSG definition says (``always_xy``). Wrong axis order
and wrong zone declarations are caught by extent checks rather than trusted.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
import pyproj
import shapely

from gis.errors import GeometryInputError

STORAGE_EPSG = 4490
WGS84_EPSG = 4326
#: Zones 25–45; the easting carries the zone number: zone × 10⁶ + 500 000 + E.
GK_PREFIXED_EPSG = range(4513, 4534)
#: Central meridians 75°E … 135°E; easting 500 000 + E, no zone number.
GK_PLAIN_EPSG = range(4534, 4555)
SUPPORTED_EPSG = (STORAGE_EPSG, WGS84_EPSG, *GK_PREFIXED_EPSG, *GK_PLAIN_EPSG)
#: lon min, lat min, lon max, lat max.
CHINA_EXTENT = (73.4, 3.8, 135.1, 53.6)

# Half the width of a 3-degree zone at the equator is ~170 km; 400 km leaves room
# for parcels legitimately measured in a neighbouring zone.
_EASTING_HALF_RANGE = 400_000.0
_FALSE_EASTING = 500_000.0
_MAX_NORTHING = 6_500_000.0

# Bounded digit runs, so a hostile string never reaches int()'s digit limit.
_EPSG_PATTERNS = (
    re.compile(r"epsg:(\d{1,6})"),
    re.compile(r"urn:ogc:def:crs:epsg:[\d.]{0,10}:(\d{1,6})"),
    re.compile(r"https?://www\.opengis\.net/def/crs/epsg/0/(\d{1,6})"),
)
_CRS84 = re.compile(
    r"https?://www\.opengis\.net/def/crs/ogc/1\.3/crs84|urn:ogc:def:crs:ogc:1\.3:crs84|ogc:crs84"
)


def parse_crs(value: Any) -> int:
    """Read a CRS name as sent by a client.

    Args:
        value: None (meaning EPSG:4490), ``"EPSG:n"``, ``"urn:ogc:def:crs:EPSG::n"``,
            ``"http://www.opengis.net/def/crs/EPSG/0/n"`` or the OGC CRS84 URI
            (→ 4326); case-insensitive.

    Returns:
        The EPSG code, one of `SUPPORTED_EPSG`.

    Raises:
        GeometryInputError: CRS_UNSUPPORTED for anything else, with the
            supported codes in ``details``.
    """
    if value is None:
        return STORAGE_EPSG
    if isinstance(value, str):
        text = value.strip().lower()
        if _CRS84.fullmatch(text):
            return WGS84_EPSG
        for pattern in _EPSG_PATTERNS:
            match = pattern.fullmatch(text)
            if match and int(match[1]) in SUPPORTED_EPSG:
                return int(match[1])
    raise _unsupported(value)


def _unsupported(value: Any) -> GeometryInputError:
    shown = value[:80] if isinstance(value, str) else repr(value)[:80]
    return GeometryInputError(
        "CRS_UNSUPPORTED",
        "unknown_crs",
        f"Unsupported CRS {shown}: use EPSG:4490 (CGCS2000), EPSG:4326, or a CGCS2000 "
        "3-degree Gauss-Kruger zone, EPSG:4513–4554.",
        f"不支持的坐标系 {shown}：请使用 CGCS2000（EPSG:4490）、WGS 84（EPSG:4326）"
        "或 CGCS2000 3 度带高斯-克吕格投影（EPSG:4513–4554）。",
        details={"value": shown, "supported": list(SUPPORTED_EPSG)},
    )


@cache
def _transformer(source: int, target: int) -> pyproj.Transformer:
    # Building a transformer reads proj.db and costs milliseconds; transforming
    # is cheap. pyproj ≥ 3.1 transformers are thread-safe, so one per pair is enough.
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _reproject(geoms: Any, source: int, target: int) -> Any:
    """Reproject every coordinate of ``geoms`` in one pyproj call.

    An array comes back as an array of the same shape, a single geometry as
    a geometry.

    Raises:
        GeometryInputError: CRS_UNSUPPORTED for a code outside `SUPPORTED_EPSG`;
            OUTSIDE_SUPPORTED_AREA if a coordinate has no finite image.
    """
    for epsg in (source, target):
        if epsg not in SUPPORTED_EPSG:
            raise _unsupported(epsg)
    geoms = np.asarray(geoms, dtype=object)
    if source == target:
        return geoms if geoms.ndim else geoms[()]
    transformer = _transformer(source, target)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise _outside(
                "not_transformable",
                f"The coordinates cannot be transformed from EPSG:{source} to "
                f"EPSG:{target}: they are not in China.",
                f"坐标无法从 EPSG:{source} 转换到 EPSG:{target}：不在中国境内。",
                source=source,
                target=target,
            )
        return np.column_stack([x, y])

    projected = shapely.transform(geoms, project)
    return projected if projected.ndim else projected[()]


def to_storage(geoms: Any, epsg: int) -> Any:
    """Reproject input geometries to the storage CRS, EPSG:4490.

    Projected input is first checked for plausibility in its zone
    (`check_projected_plausible`); follow with `check_supported_area`.

    Args:
        geoms: array (or a single geometry) in ``epsg``.
        epsg: one of `SUPPORTED_EPSG`.

    Returns:
        The geometries in EPSG:4490, same shape (a geometry for a geometry);
        unchanged for 4490.

    Raises:
        GeometryInputError: CRS_UNSUPPORTED, or OUTSIDE_SUPPORTED_AREA when
            the coordinates do not fit the zone or cannot be transformed.
    """
    check_projected_plausible(geoms, epsg)
    return _reproject(geoms, epsg, STORAGE_EPSG)


def from_storage(geoms: Any, epsg: int) -> Any:
    """Reproject stored EPSG:4490 geometries for output in ``epsg``.

    Args:
        geoms: array (or a single geometry) in EPSG:4490.
        epsg: one of `SUPPORTED_EPSG`.

    Returns:
        The geometries in ``epsg``, same shape (a geometry for a geometry).

    Raises:
        GeometryInputError: CRS_UNSUPPORTED, or OUTSIDE_SUPPORTED_AREA if a
            coordinate cannot be transformed.
    """
    return _reproject(geoms, STORAGE_EPSG, epsg)


def _bounds(geoms: Any) -> np.ndarray:
    """Bounds as an (n, 4) array; NaN for empty geometries."""
    return shapely.bounds(np.asarray(geoms, dtype=object)).reshape(-1, 4)


def _json_bounds(row: np.ndarray) -> list[float | None]:
    # JSON has no NaN or Infinity.
    return [float(v) if np.isfinite(v) else None for v in row]


def _outside(reason: str, message_en: str, message_zh: str, **details: Any) -> GeometryInputError:
    return GeometryInputError(
        "OUTSIDE_SUPPORTED_AREA", reason, message_en, message_zh, details=details
    )


def _within(bounds: np.ndarray, xmin: float, ymin: float, xmax: float, ymax: float) -> np.ndarray:
    # NaN compares False, so empty or non-finite geometries are never within.
    x_inside = (bounds[:, 0] >= xmin) & (bounds[:, 2] <= xmax)
    return x_inside & (bounds[:, 1] >= ymin) & (bounds[:, 3] <= ymax)


def _swap_axes(bounds: np.ndarray) -> np.ndarray:
    return bounds[:, [1, 0, 3, 2]]


def check_supported_area(geoms_4490: Any) -> None:
    """Refuse geometries not inside China's extent.

    Args:
        geoms_4490: array (or a single geometry) in EPSG:4490.

    Raises:
        GeometryInputError: OUTSIDE_SUPPORTED_AREA for the first geometry
            outside, reason ``"axes_swapped"`` if swapping x and y would put it
            inside, else ``"outside_china"``; details hold its index and bounds.
    """
    bounds = _bounds(geoms_4490)
    inside = _within(bounds, *CHINA_EXTENT)
    if inside.all():
        return
    index = int(np.flatnonzero(~inside)[0])
    row = bounds[index : index + 1]
    details = {"index": index, "bounds": _json_bounds(row[0]), "extent": list(CHINA_EXTENT)}
    if _within(_swap_axes(row), *CHINA_EXTENT)[0]:
        raise _outside(
            "axes_swapped",
            "The coordinates are not in China: they look like swapped axes "
            "(latitude, longitude); send longitude first.",
            "坐标不在中国境内：看起来经度和纬度颠倒了，请按“经度, 纬度”的顺序提交。",
            **details,
        )
    raise _outside(
        "outside_china",
        "The coordinates are not in China: usually the declared CRS is wrong "
        "or longitude and latitude are swapped.",
        "坐标不在中国境内：通常是申报的坐标系不对，或经纬度顺序颠倒。",
        **details,
    )


def _easting_range(epsg: int) -> tuple[float, float]:
    zone_prefix = (epsg - GK_PREFIXED_EPSG.start + 25) * 1e6 if epsg in GK_PREFIXED_EPSG else 0.0
    centre = zone_prefix + _FALSE_EASTING
    return centre - _EASTING_HALF_RANGE, centre + _EASTING_HALF_RANGE


def _zone_plausible(bounds: np.ndarray, epsg: int) -> np.ndarray:
    lo, hi = _easting_range(epsg)
    return _within(bounds, lo, 0.0, hi, _MAX_NORTHING)


def check_projected_plausible(geoms: Any, epsg: int) -> None:
    """Refuse Gauss-Kruger coordinates that cannot belong to zone ``epsg``.

    Eastings must lie within 500 000 ± 400 000 m (plus zone × 10⁶ for the
    prefixed codes), northings within 0–6 500 000 m. Geographic codes pass.

    Args:
        geoms: array (or a single geometry) in ``epsg``.
        epsg: an EPSG code.

    Raises:
        GeometryInputError: OUTSIDE_SUPPORTED_AREA for the first implausible
            geometry: reason ``"axes_swapped"`` (northing given first, the
            surveyors' X/Y habit), ``"zone_prefix_mismatch"`` (the same zone
            with or without the zone-number prefix fits) or ``"outside_zone"``.
    """
    if epsg not in GK_PREFIXED_EPSG and epsg not in GK_PLAIN_EPSG:
        return
    bounds = _bounds(geoms)
    plausible = _zone_plausible(bounds, epsg)
    if plausible.all():
        return
    index = int(np.flatnonzero(~plausible)[0])
    row = bounds[index : index + 1]
    details = {"index": index, "bounds": _json_bounds(row[0]), "epsg": epsg}
    # The same zone's other code: prefixed and plain codes are 21 apart.
    other = epsg + 21 if epsg in GK_PREFIXED_EPSG else epsg - 21
    if _zone_plausible(_swap_axes(row), epsg)[0]:
        raise _outside(
            "axes_swapped",
            f"The coordinates do not fit EPSG:{epsg} but would with x and y swapped: "
            "send the easting (Y) first, then the northing (X).",
            f"坐标与 EPSG:{epsg} 不符，但交换 X、Y 后相符：请先给东坐标（Y），再给北坐标（X）。",
            **details,
        )
    if _zone_plausible(row, other)[0]:
        raise _outside(
            "zone_prefix_mismatch",
            f"The eastings do not fit EPSG:{epsg} but fit EPSG:{other}, the same zone "
            f"{'without' if epsg in GK_PREFIXED_EPSG else 'with'} the zone-number prefix.",
            f"东坐标与 EPSG:{epsg} 不符，但与同一投影带"
            f"{'不带' if epsg in GK_PREFIXED_EPSG else '带'}带号的 EPSG:{other} 相符，请改用该坐标系。",
            suggested_epsg=other,
            **details,
        )
    lo, hi = _easting_range(epsg)
    raise _outside(
        "outside_zone",
        f"The coordinates do not fit EPSG:{epsg} (easting {lo:.0f}–{hi:.0f} m, northing "
        "0–6500000 m): usually the declared CRS or zone is wrong.",
        f"坐标与 EPSG:{epsg} 不符（东坐标应在 {lo:.0f}–{hi:.0f} 米，北坐标 0–6500000 米）："
        "通常是申报的坐标系或投影带不对。",
        **details,
    )


def zone_epsg(lon: Any) -> Any:
    """Pick the 3-degree zone (EPSG:4534–4554, no prefix) nearest each longitude.

    The central meridian is 3 × round(lon / 3), rounding halves up so a
    longitude exactly on a zone boundary always goes east; it is clipped to
    75°E–135°E.

    Args:
        lon: a longitude, or an array of them, in degrees east.

    Returns:
        An int for a scalar, else an int64 array of the same shape.
    """
    central_meridian = 3 * np.floor(np.asarray(lon, dtype=np.float64) / 3 + 0.5)
    first, last = GK_PLAIN_EPSG.start, GK_PLAIN_EPSG.stop - 1
    epsg = np.clip(first + (central_meridian - 75) / 3, first, last).astype(np.int64)
    return int(epsg) if epsg.ndim == 0 else epsg


#: How far past its 3-degree band a parcel may reach and still be measured in that zone: the 30′ by
#: which a zone traditionally overlaps its eastern neighbour (GB/T 17278 / 投影带重叠), taken both ways.
ZONE_OVERLAP_DEG = 0.5


def zone_band(west_lon: float, east_lon: float | None = None,
              overlap_deg: float = ZONE_OVERLAP_DEG) -> tuple[float, float]:
    """The longitudes covered by the 3-degree zones from ``west_lon``'s to ``east_lon``'s.

    The band runs from the western edge of the first zone to the eastern edge of the last
    (central meridian ± 1.5°), widened by ``overlap_deg`` on each side.
    """
    first = zone_epsg(float(west_lon))
    last = zone_epsg(float(west_lon if east_lon is None else east_lon))
    meridian = 75.0 + 3.0 * (np.array([first, last]) - GK_PLAIN_EPSG.start)
    return float(meridian[0] - 1.5 - overlap_deg), float(meridian[1] + 1.5 + overlap_deg)


def outside_band(geoms_4490: Any, band: tuple[float, float]) -> np.ndarray:
    """Which geometries reach west or east of ``band`` (a boolean mask; missing ones are inside)."""
    bounds = _bounds(np.asarray(geoms_4490, dtype=object).reshape(-1))
    with np.errstate(invalid="ignore"):
        return (bounds[:, 0] < band[0]) | (bounds[:, 2] > band[1])


def check_county_zone(geoms_4490: Any, county_west: float, county_east: float,
                      overlap_deg: float = ZONE_OVERLAP_DEG) -> None:
    """Refuse geometries that lie outside the 3-degree zones of their county.

    A county's zones are those its registered parcels lie in (``county_west`` to ``county_east``,
    the longitudes its parcels reach). A parcel of that county lies in one of them, or within
    ``overlap_deg`` of their edge (a county astride a zone boundary whose far side has no parcel
    yet); one elsewhere is a wrong CRS or a typing slip, not land of that county.

    Raises:
        GeometryInputError: PARCEL_IMPLAUSIBLE, reason ``"outside_county_zone"``, for the first
            geometry outside; details hold its index, bounds and the county's band.
    """
    band = zone_band(county_west, county_east, overlap_deg)
    outside = outside_band(geoms_4490, band)
    if not outside.any():
        return
    index = int(np.flatnonzero(outside)[0])
    bounds = _bounds(np.asarray(geoms_4490, dtype=object).reshape(-1)[index:index + 1])[0]
    raise GeometryInputError(
        "PARCEL_IMPLAUSIBLE",
        "outside_county_zone",
        f"The parcel lies outside its county's CGCS2000 3-degree zone (longitude {band[0]:g}–{band[1]:g}°E, "
        f"where the county's registered parcels lie): usually a wrong CRS or a mistyped coordinate.",
        f"地块不在其所在县的 CGCS2000 3 度带内（本县已登记地块所在经度 {band[0]:g}–{band[1]:g}°E）："
        "通常是坐标系不对或坐标录入有误。",
        details={"index": index, "bounds": _json_bounds(bounds), "band": list(band)},
    )


def spans_zones(geoms_4490: Any, overlap_deg: float = ZONE_OVERLAP_DEG) -> np.ndarray:
    """Which geometries leave the 3-degree zone band of their centroid (a boolean mask, as
    :func:`check_zone_band` judges them; missing and empty ones do not)."""
    return _own_band(np.asarray(geoms_4490, dtype=object).reshape(-1), overlap_deg)[0]


def _own_band(geoms: np.ndarray, overlap_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bounds = _bounds(geoms)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    centroid_x = np.full(len(geoms), np.nan)
    centroid_x[present] = shapely.get_x(shapely.centroid(geoms[present]))
    with np.errstate(invalid="ignore"):
        # a missing geometry's zone is meaningless, and its NaN bounds are never outside
        zones = np.asarray(zone_epsg(centroid_x), dtype=np.int64).reshape(-1)
        meridians = 75.0 + 3.0 * (zones - GK_PLAIN_EPSG.start)
        west, east = meridians - 1.5 - overlap_deg, meridians + 1.5 + overlap_deg
        outside = (bounds[:, 0] < west) | (bounds[:, 2] > east)
    return outside, zones, west, east


def check_zone_band(geoms_4490: Any, overlap_deg: float = ZONE_OVERLAP_DEG) -> None:
    """Refuse geometries that do not lie in one 3-degree Gauss-Kruger zone band.

    A parcel is measured in the zone of its centroid (docs/rules.md §5); one that reaches further east or
    west than that zone's band (central meridian ± 1.5°, plus ``overlap_deg``) cannot be measured
    in it and is no parcel: a wrong CRS, a unit mix-up or a made-up polygon.

    Args:
        geoms_4490: array (or a single geometry) in EPSG:4490, already inside China.
        overlap_deg: the overlap allowed beyond each edge of the band, in degrees of longitude.

    Raises:
        GeometryInputError: PARCEL_IMPLAUSIBLE, reason ``"spans_zones"``, for the first geometry
            that leaves its zone's band; details hold its index, bounds, zone and the band.
    """
    geoms = np.asarray(geoms_4490, dtype=object).reshape(-1)
    outside, zones, west, east = _own_band(geoms, overlap_deg)
    if not outside.any():
        return
    bounds = _bounds(geoms)
    index = int(np.flatnonzero(outside)[0])
    band = [float(west[index]), float(east[index])]
    raise GeometryInputError(
        "PARCEL_IMPLAUSIBLE",
        "spans_zones",
        f"The parcel reaches beyond its CGCS2000 3-degree zone (EPSG:{zones[index]}, longitude "
        f"{band[0]:g}–{band[1]:g}°E): it cannot be measured there; usually a wrong CRS or a made-up polygon.",
        f"地块超出其所在的 CGCS2000 3 度带（EPSG:{zones[index]}，经度 {band[0]:g}–{band[1]:g}°E），"
        "无法在该带内量算：通常是坐标系不对或图形有误。",
        details={"index": index, "bounds": _json_bounds(bounds[index]), "zone_epsg": int(zones[index]),
                 "band": band},
    )
