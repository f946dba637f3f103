"""Safe intake of GeoJSON polygons.

Every guard on size, depth and type runs in plain Python over the decoded
value before anything reaches GEOS, so a hostile body costs at most one walk
bounded by the limits, and never recursion.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.errors import GeometryInputError


@dataclass(frozen=True)
class GeometryLimits:
    """Upper bounds on one submitted geometry.

    Attributes:
        max_vertices: positions in all rings, closing positions included.
        max_parts: polygons in a MultiPolygon.
        max_rings: rings in all polygons together.
        max_depth: nesting of ``coordinates`` (Polygon 3, MultiPolygon 4).
    """

    max_vertices: int = 100_000
    max_parts: int = 10_000
    max_rings: int = 10_000
    max_depth: int = 4


_DEPTH = {"Polygon": 3, "MultiPolygon": 4}
# bbox is tolerated because RFC 7946 allows it, but ignored: bounds are
# recomputed from the coordinates, which are the only thing we trust.
_MEMBERS = ("type", "coordinates", "bbox")
_TOO_COMPLEX = {"too_deep", "too_many_vertices", "too_many_parts", "too_many_rings"}

_MESSAGES = {
    "wrong_type": (
        "A Polygon or MultiPolygon geometry is required, not {got}.",
        "地块图形必须是面（Polygon）或多面（MultiPolygon），不能是 {got}。",
    ),
    "unknown_member": (
        "Unknown member {member!r}: a geometry may hold only type, coordinates and bbox.",
        "图形含有不认识的字段“{member}”，只允许 type、coordinates、bbox。",
    ),
    "missing_member": ("The geometry has no coordinates.", "图形缺少坐标（coordinates）。"),
    "empty": ("The geometry is empty{where}.", "图形为空，没有坐标{where}。"),
    "malformed": (
        "Coordinates are not nested as the geometry type requires{where}.",
        "坐标的层次结构与图形类型不符{where}。",
    ),
    "too_deep": (
        "Coordinates are nested deeper than allowed ({limit} levels){where}.",
        "坐标嵌套层数超过上限（{limit} 层）{where}。",
    ),
    "bad_position": (
        "A position must have 2 or 3 numbers{where}.",
        "每个坐标点必须由 2 个或 3 个数字组成{where}。",
    ),
    "not_a_number": ("A coordinate is not a number{where}.", "坐标值不是数字{where}。"),
    "not_finite": (
        "A coordinate is NaN or infinite{where}.",
        "坐标值无效（非数值或无穷大）{where}。",
    ),
    "too_many_vertices": (
        "More than {limit} vertices: simplify the geometry.",
        "图形顶点超过 {limit} 个，请简化后再提交。",
    ),
    "too_many_parts": (
        "More than {limit} polygons in one geometry.",
        "一个图形中的面超过 {limit} 个。",
    ),
    "too_many_rings": (
        "More than {limit} rings in one geometry.",
        "一个图形中的边界环超过 {limit} 个。",
    ),
    "too_few_points": (
        "A ring needs at least 4 positions, the last equal to the first{where}.",
        "每个边界环至少需要 4 个坐标点，且首尾两点相同{where}。",
    ),
    "ring_not_closed": (
        "A ring is not closed: its last position must equal its first{where}.",
        "边界环没有闭合：最后一个点必须与第一个点相同{where}。",
    ),
    "self_intersection": (
        "The boundary crosses itself{where}.",
        "地块边界自相交（如“8”字形），请检查该处的界址点{where}。",
    ),
    "ring_self_intersection": (
        "A ring touches itself{where}.",
        "边界环在一点上与自身接触，请检查该处的界址点{where}。",
    ),
    "hole_outside_shell": (
        "A hole lies outside its outer ring{where}.",
        "内环（挖空部分）位于外边界之外{where}。",
    ),
    "nested_holes": ("One hole lies inside another{where}.", "两个内环相互嵌套{where}。"),
    "interior_disconnected": (
        "Holes split the interior into disconnected pieces{where}.",
        "内环把地块分割成互不相连的几块{where}。",
    ),
    "nested_shells": (
        "One polygon of the MultiPolygon lies inside another{where}.",
        "多面中的一个面位于另一个面之内{where}。",
    ),
    "duplicate_rings": ("A ring is repeated{where}.", "存在重复的边界环{where}。"),
    "invalid": ("Invalid geometry: {geos}{where}.", "图形无效：{geos}{where}。"),
}

# GEOS validity labels (lower-cased prefixes), most specific first.
_GEOS_REASONS = (
    ("ring self-intersection", "ring_self_intersection"),
    ("self-intersection", "self_intersection"),
    ("hole lies outside shell", "hole_outside_shell"),
    ("holes are nested", "nested_holes"),
    ("interior is disconnected", "interior_disconnected"),
    ("nested shells", "nested_shells"),
    ("duplicate rings", "duplicate_rings"),
    ("too few", "too_few_points"),
    ("ring is not closed", "ring_not_closed"),
    ("invalid coordinate", "not_finite"),
)
_GEOS_REASON_RE = re.compile(r"^(?P<label>[^\[]*)(?:\[(?P<x>\S+) (?P<y>\S+)[^\]]*\])?$")


def _refuse(
    reason: str,
    location: tuple[float, float] | None = None,
    path: tuple[int, ...] | None = None,
    **facts: Any,
) -> GeometryInputError:
    """Build the refusal for ``reason``; ``facts`` fill the messages and details."""
    where_en = where_zh = ""
    details = dict(facts)
    if path is not None:
        details["path"] = list(path)
        pointer = "coordinates" + "".join(f"[{i}]" for i in path)
        where_en, where_zh = f" at {pointer}", f"（位置 {pointer}）"
    if location is not None:
        where_en += f" near ({location[0]}, {location[1]})"
        where_zh += f"（坐标 {location[0]}, {location[1]} 附近）"
    en, zh = _MESSAGES[reason]
    rule = "GEOMETRY_TOO_COMPLEX" if reason in _TOO_COMPLEX else "GEOMETRY_INVALID"
    return GeometryInputError(
        rule,
        reason,
        en.format(where=where_en, **facts),
        zh.format(where=where_zh, **facts),
        location,
        details,
    )


def parse_polygonal(obj: Any, limits: GeometryLimits = GeometryLimits()) -> shapely.MultiPolygon:
    """Turn a decoded GeoJSON Polygon or MultiPolygon into a valid MultiPolygon.

    The numbers are taken as they come, in whatever CRS the caller declared;
    a third coordinate is dropped.

    Args:
        obj: the JSON-decoded value (any type).
        limits: size and depth bounds.

    Returns:
        A valid MultiPolygon (a Polygon becomes a one-part MultiPolygon).

    Raises:
        GeometryInputError: GEOMETRY_INVALID or GEOMETRY_TOO_COMPLEX, with the
            reason, the location where GEOS gives one, and the path into
            ``coordinates`` where the walk found the fault.
    """
    kind = _check_members(obj)
    if _DEPTH[kind] > limits.max_depth:
        raise _refuse("too_deep", limit=limits.max_depth)
    coordinates = obj["coordinates"]
    # A Polygon is walked as a one-part MultiPolygon; paths drop that extra level.
    polygons = coordinates if kind == "MultiPolygon" else [coordinates]
    flat, ring_sizes, rings_per_polygon = _walk(polygons, limits, skip=int(kind == "Polygon"))
    geometry = _build(flat, ring_sizes, rings_per_polygon)
    _check_valid(geometry)
    return geometry


def _check_members(obj: Any) -> str:
    """Check the envelope only: never look into members other than ``type``.

    Args:
        obj: the JSON-decoded value.

    Returns:
        The geometry type, "Polygon" or "MultiPolygon".

    Raises:
        GeometryInputError: wrong_type, unknown_member or missing_member.
    """
    if not isinstance(obj, dict):
        raise _refuse("wrong_type", got=type(obj).__name__)
    kind = obj.get("type")
    # Type before members, so a Feature or GeometryCollection is named as such;
    # their "geometry"/"geometries" are never read, however deep they go.
    if not (isinstance(kind, str) and kind in _DEPTH):
        raise _refuse("wrong_type", got=kind[:40] if isinstance(kind, str) else type(kind).__name__)
    unknown = next((key for key in obj if key not in _MEMBERS), None)
    if unknown is not None:
        raise _refuse("unknown_member", member=str(unknown)[:40])
    if "coordinates" not in obj:
        raise _refuse("missing_member", member="coordinates")
    return kind


def _walk(
    polygons: Any, limits: GeometryLimits, skip: int
) -> tuple[list[float], list[int], list[int]]:
    """Check the coordinate arrays iteratively and flatten them.

    Sizes are checked with ``len`` before a list is entered, so the work is
    bounded by the limits whatever the input holds.

    Args:
        polygons: list of polygons, each a list of rings of positions.
        limits: size bounds.
        skip: leading path levels to drop in error paths (1 for a Polygon).

    Returns:
        ``(flat, ring_sizes, rings_per_polygon)``: x, y interleaved; positions
        per ring; rings per polygon.

    Raises:
        GeometryInputError: on the first fault found.
    """
    if not isinstance(polygons, (list, tuple)):
        raise _refuse("malformed", path=())
    if not polygons:
        raise _refuse("empty")
    if len(polygons) > limits.max_parts:
        raise _refuse("too_many_parts", limit=limits.max_parts)
    flat: list[float] = []
    ring_sizes: list[int] = []
    rings_per_polygon: list[int] = []
    n_rings = n_vertices = 0
    for i, rings in enumerate(polygons):
        if not isinstance(rings, (list, tuple)):
            raise _refuse("malformed", path=(i,)[skip:])
        if not rings:
            raise _refuse("empty", path=(i,)[skip:])
        n_rings += len(rings)
        if n_rings > limits.max_rings:
            raise _refuse("too_many_rings", limit=limits.max_rings)
        rings_per_polygon.append(len(rings))
        for j, ring in enumerate(rings):
            if not isinstance(ring, (list, tuple)):
                raise _refuse("malformed", path=(i, j)[skip:])
            n_vertices += len(ring)
            if n_vertices > limits.max_vertices:
                raise _refuse("too_many_vertices", limit=limits.max_vertices)
            start = len(flat)
            for k, position in enumerate(ring):
                _check_position(position, limits, (i, j, k)[skip:])
                flat += position[:2]
            first = (flat[start], flat[start + 1]) if ring else None
            if first is None or len(ring) < 4:  # None only for an empty ring
                raise _refuse("too_few_points", location=first, path=(i, j)[skip:])
            if flat[-2] != first[0] or flat[-1] != first[1]:
                raise _refuse("ring_not_closed", location=first, path=(i, j)[skip:])
            ring_sizes.append(len(ring))
    return flat, ring_sizes, rings_per_polygon


def _check_position(position: Any, limits: GeometryLimits, path: tuple[int, ...]) -> None:
    """Check one position: a list of 2 or 3 finite numbers, nothing nested.

    Raises:
        GeometryInputError: malformed, too_deep, bad_position, not_a_number
            or not_finite.
    """
    if not isinstance(position, (list, tuple)):
        raise _refuse("malformed", path=path)
    for value in position[:3]:
        if isinstance(value, (list, tuple)):
            raise _refuse("too_deep", path=path, limit=limits.max_depth)
    if len(position) not in (2, 3):
        raise _refuse("bad_position", path=path)
    for value in position:
        # bool is an int subclass, and true/false in a coordinate is a client bug.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _refuse("not_a_number", path=path)
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            raise _refuse("not_finite", path=path)


def _build(
    flat: list[float], ring_sizes: list[int], rings_per_polygon: list[int]
) -> shapely.MultiPolygon:
    """Build the MultiPolygon from flat coordinates in three vectorised calls."""
    coords = np.array(flat, dtype=np.float64).reshape(-1, 2)
    # The stubs cannot tell an array from a single geometry by shape: with indices
    # these return arrays, and a 1-D array of polygons makes one MultiPolygon.
    rings = cast(NDArray[np.object_], shapely.linearrings(
        coords, indices=np.repeat(np.arange(len(ring_sizes)), ring_sizes)
    ))
    polygons = cast(NDArray[np.object_], shapely.polygons(
        rings, indices=np.repeat(np.arange(len(rings_per_polygon)), rings_per_polygon)
    ))
    return cast(shapely.MultiPolygon, shapely.multipolygons(polygons))


def _check_valid(geometry: shapely.MultiPolygon) -> None:
    """Refuse an OGC-invalid geometry with a reason key and the GEOS location.

    Raises:
        GeometryInputError: GEOMETRY_INVALID.
    """
    # Huge but finite coordinates overflow inside GEOS' robust predicates; that
    # only makes numpy warn, and such input is refused later by the area check.
    with np.errstate(all="ignore"):
        text = shapely.is_valid_reason(geometry)
    if text == "Valid Geometry":
        return
    match = _GEOS_REASON_RE.match(text)
    label = (match["label"] if match else text).strip()
    reason = next(
        (key for prefix, key in _GEOS_REASONS if label.lower().startswith(prefix)), "invalid"
    )
    location = None
    if match and match["x"] is not None:
        try:
            location = (float(match["x"]), float(match["y"]))
        except ValueError:  # GEOS printed something that is not a number
            pass
    if location is not None and not all(map(math.isfinite, location)):
        location = None  # keep details and location JSON-serialisable
    raise _refuse(reason, location=location, geos=label)


def padded_bounds(geometry: dict[str, Any], pad: float) -> tuple[float, float, float, float]:
    """The bounding box of a GeoJSON geometry (one the registry wrote) grown by ``pad`` on every side, in its
    own units: the window a map of a parcel and its neighbours shows."""
    xmin, ymin, xmax, ymax = shapely.bounds(shapely.geometry.shape(geometry))
    return float(xmin) - pad, float(ymin) - pad, float(xmax) + pad, float(ymax) + pad
