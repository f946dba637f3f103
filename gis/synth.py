"""Synthetic farmland: the parcels of one villager group, in metres.

The demo county and the benchmarks need many parcels that look and behave
like confirmed contract land (long, slightly irregular strips in field
blocks cut by farm roads, a cluster of house plots beside them) and that
never overlap, so that the overlap checks of a real import stay meaningful.

Everything here is vectorised over the parcels of a group (shapely 2
ufuncs on arrays); the only Python loops run over field blocks (about ten a
group) and refinement rounds. Randomness comes only from the
``numpy.random.Generator`` passed in, so a seed fixes every coordinate.

Coordinates are CGCS2000 / 3-degree Gauss-Kruger CM 123E (EPSG:4550,
easting with the 500 km false easting, no zone prefix); :func:`to_4490`
turns them into the storage CRS with x = longitude, y = latitude.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal, cast, overload

import numpy as np
import shapely
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pyproj

#: Parcel kinds returned by :func:`group_parcels`.
CONTRACT_LAND = "contract_land"
RESERVE = "reserve"  # 机动地: kept back by the collective, at most 5 % (docs/rules.md)
PRIVATE_PLOT = "private_plot"  # 自留地
HOMESTEAD = "homestead"

SOURCE_EPSG = 4550
STORAGE_EPSG = 4490

_KIND_DTYPE = "<U13"
_MITRE: Final = "mitre"

#: What :meth:`_Lattice.cells` returns: row, k0, k1, start and end position of every cell.
_Cells = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]


@overload
def group_parcels(
    rng: np.random.Generator,
    origin_xy: tuple[float, float],
    size_m: float,
    n_parcels: int,
    n_homesteads: int,
    *,
    with_blocks: Literal[False] = ...,
) -> tuple[NDArray[np.object_], NDArray[np.str_]]: ...


@overload
def group_parcels(
    rng: np.random.Generator,
    origin_xy: tuple[float, float],
    size_m: float,
    n_parcels: int,
    n_homesteads: int,
    *,
    with_blocks: Literal[True],
) -> tuple[NDArray[np.object_], NDArray[np.str_], NDArray[np.int32]]: ...


def group_parcels(
    rng: np.random.Generator,
    origin_xy: tuple[float, float],
    size_m: float,
    n_parcels: int,
    n_homesteads: int,
    *,
    with_blocks: bool = False,
) -> tuple[NDArray[np.object_], NDArray[np.str_]] | tuple[NDArray[np.object_], NDArray[np.str_], NDArray[np.int32]]:
    """Draw the parcels of one villager group inside a square of land.

    The group's land is the square ``[x0, x0 + size_m] × [y0, y0 + size_m]``
    less a boundary road and an irregular margin, so groups placed on
    squares that do not overlap never share land. Inside it: a cluster of
    house plots in rows beside one edge, a yard around it, and field blocks
    separated by farm roads, each cut into strips of one orientation;
    neighbouring strips are separated by a ridge of 0.6–1 m.

    Args:
        rng: the only source of randomness.
        origin_xy: south-west corner of the square, EPSG:4550 metres.
        size_m: side of the square in metres.
        n_parcels: parcels to return in total, homesteads included.
        n_homesteads: how many of them are house plots (150–280 m² each).
        with_blocks: also return the field block of every parcel.
    Returns:
        ``(geoms, kinds)``: exactly ``n_parcels`` valid, non-empty Polygons
        in EPSG:4550 with pairwise disjoint interiors, fields first (block by
        block, strip by strip), then homesteads row by row; and their kinds
        (``contract_land``, ``reserve`` (at most 5 % of the fields),
        ``private_plot`` (the fields nearest the houses), ``homestead``).
        With ``with_blocks`` a third array gives each parcel's block number
        (``-1`` for homesteads).
    Raises:
        ValueError: on counts that cannot be drawn (no fields, or more house
            plots than the square holds).
    """
    n_parcels, n_homesteads, size = int(n_parcels), int(n_homesteads), float(size_m)
    n_fields = n_parcels - n_homesteads
    if n_homesteads < 0 or n_fields < 1:
        raise ValueError("need at least one field parcel and no negative counts")
    if size < 40:
        raise ValueError("size_m must be at least 40 m")

    boundary, inset = _group_boundary(rng, size)
    lots, yard_zone, village_xy = _homestead_cluster(rng, n_homesteads, boundary, size, inset)
    region = shapely.difference(boundary, yard_zone) if yard_zone is not None else boundary
    fields, blocks = _field_strips(rng, region, size, n_fields)

    kinds = np.full(n_fields, CONTRACT_LAND, dtype=_KIND_DTYPE)
    if n_fields >= 10:
        centres = shapely.get_coordinates(shapely.centroid(fields))
        dist = np.hypot(*(centres - village_xy).T)
        n_private = int(round(n_fields * rng.uniform(0.04, 0.09)))
        private = np.argsort(dist, kind="stable")[:n_private]
        kinds[private] = PRIVATE_PLOT
        n_reserve = int(math.floor(n_fields * rng.uniform(0.01, 0.045)))
        if n_reserve:
            candidates = np.flatnonzero(kinds == CONTRACT_LAND)
            kinds[rng.choice(candidates, n_reserve, replace=False)] = RESERVE

    geoms = np.concatenate([fields, lots])
    geoms = shapely.transform(geoms, lambda xy: xy + np.asarray(origin_xy, dtype=float))
    kinds = np.concatenate([kinds, np.full(len(lots), HOMESTEAD, dtype=_KIND_DTYPE)])
    if with_blocks:
        return geoms, kinds, np.concatenate([blocks, np.full(len(lots), -1, dtype=np.int32)])
    return geoms, kinds


def to_4490(geoms_4550: np.ndarray) -> np.ndarray:
    """Reproject EPSG:4550 geometries to EPSG:4490 (x = longitude, y = latitude).

    Args:
        geoms_4550: array of shapely geometries in CGCS2000 GK CM 123E metres.
    Returns:
        A new array of the same geometries in CGCS2000 degrees.
    """
    transformer = _transformer(SOURCE_EPSG, STORAGE_EPSG)

    def project(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms_4550, dtype=object), project)


def lonlat_box_to_4550(west: float, south: float, east: float, north: float) -> tuple[float, float, float, float]:
    """Return the largest EPSG:4550 rectangle inside a longitude/latitude box.

    Args:
        west, south, east, north: the box in EPSG:4490 degrees.
    Returns:
        ``(xmin, ymin, xmax, ymax)`` in metres; meridians converge, so the
        rectangle takes the inner edge on every side.
    """
    transformer = _transformer(STORAGE_EPSG, SOURCE_EPSG)
    xs, ys = transformer.transform([west, east, west, east], [south, south, north, north])
    return max(xs[0], xs[2]), max(ys[0], ys[1]), min(xs[1], xs[3]), min(ys[2], ys[3])


@lru_cache(maxsize=4)
def _transformer(src: int, dst: int) -> pyproj.Transformer:
    # Built on first use, not at import (docs/architecture.md, Conventions).
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


# --- the group's outline -----------------------------------------------------


def _group_boundary(rng: np.random.Generator, size: float) -> tuple[shapely.Polygon, float]:
    """Return the group's land (a ragged square) and the deepest inset used."""
    road = rng.uniform(2.5, 4.0)  # half of the road between groups
    ragged = 0.03 * size
    per_side = max(3, int(round(size / 45.0)))
    # Star-shaped around the centre with increasing angles, so always simple;
    # an inset of sqrt(2)*road along a ray is at least `road` from every edge.
    t = (np.arange(4 * per_side) + 0.5 + rng.uniform(-0.3, 0.3, 4 * per_side)) / per_side
    angle = np.concatenate([np.arange(4) * (np.pi / 2) - 3 * np.pi / 4, (t * (np.pi / 2)) - 3 * np.pi / 4])
    angle = np.sort(angle)
    half = size / 2
    to_edge = half / np.maximum(np.abs(np.cos(angle)), np.abs(np.sin(angle)))
    inset = math.sqrt(2) * road + rng.uniform(0, ragged, len(angle))
    radius = to_edge - inset
    ring = np.column_stack([half + radius * np.cos(angle), half + radius * np.sin(angle)])
    outline = shapely.Polygon(ring)
    if rng.random() < 0.35:  # a hill, river bend or neighbouring holding cuts a corner off
        corner = rng.integers(4)
        a, b = rng.uniform(0.12, 0.3, 2) * size
        cx, cy = [(0, 0), (size, 0), (size, size), (0, size)][corner]
        sx, sy = (1 if cx == 0 else -1), (1 if cy == 0 else -1)
        cut = shapely.Polygon([(cx, cy), (cx + sx * a, cy), (cx, cy + sy * b)])
        outline = _largest_polygon(np.array([shapely.difference(outline, cut)]))[0]
    return outline, float(math.sqrt(2) * road + ragged)


# --- the village cluster -----------------------------------------------------


def _homestead_cluster(
    rng: np.random.Generator, n_lots: int, boundary: shapely.Polygon, size: float, inset: float
) -> tuple[NDArray[np.object_], shapely.Polygon | None, NDArray[np.float64]]:
    """Lay house plots out in rows beside one edge; return lots, yard zone, centre."""
    if n_lots == 0:
        centre = np.array([size / 2, size / 2])
        return np.empty(0, dtype=object), None, centre
    per_row = max(1, int(math.ceil(math.sqrt(n_lots * rng.uniform(1.3, 2.4)))))
    n_rows = int(math.ceil(n_lots / per_row))
    index = np.arange(n_lots)
    row, pos = index // per_row, index % per_row
    row_depth = rng.uniform(14.0, 18.0, n_rows)
    depth = row_depth[row]
    width = rng.uniform(155.0, 275.0, n_lots) / depth  # areas 155–275 m², under the 300 m² cap
    wall = 0.5
    # A lane through the middle of long rows; rows slightly staggered.
    street = np.where((per_row >= 6) & (pos >= per_row // 2), rng.uniform(6.0, 9.0), 0.0)
    step = width + wall
    run = np.cumsum(step)
    row_start = run[row * per_row] - step[row * per_row]
    x0 = run - step - row_start + street + rng.uniform(0.0, 5.0, n_rows)[row]
    lane = rng.uniform(4.5, 7.5, n_rows)
    row_y = np.concatenate([[0.0], np.cumsum(row_depth[:-1] + lane[:-1])])
    y0 = row_y[row] + rng.uniform(-0.3, 0.3, n_lots)
    lots = shapely.box(x0, y0, x0 + width, y0 + depth)

    xmin, ymin, xmax, ymax = shapely.total_bounds(lots)
    turn = rng.uniform(-0.15, 0.15)
    cos_t, sin_t = math.cos(turn), math.sin(turn)
    mid = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])

    def rotate(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        d = xy - mid
        return np.column_stack([d[:, 0] * cos_t - d[:, 1] * sin_t, d[:, 0] * sin_t + d[:, 1] * cos_t])

    lots = shapely.transform(lots, rotate)
    footprint = shapely.oriented_envelope(shapely.union_all(lots))
    yard = rng.uniform(6.0, 12.0)
    zone = shapely.buffer(footprint, yard, join_style=_MITRE)
    zx0, zy0, zx1, zy1 = shapely.bounds(zone)
    hw, hh = (zx1 - zx0) / 2, (zy1 - zy0) / 2
    margin = inset + 1.0
    lo_x, hi_x = margin + hw, size - margin - hw
    lo_y, hi_y = margin + hh, size - margin - hh
    centre = np.array([size / 2, size / 2])
    for _ in range(8):  # a few tries to dodge a cut-off corner
        side = rng.integers(4)
        along = rng.uniform(0.25, 0.75)
        x = lo_x + along * (hi_x - lo_x) if side in (0, 2) else (lo_x if side == 3 else hi_x)
        y = lo_y + along * (hi_y - lo_y) if side in (1, 3) else (lo_y if side == 0 else hi_y)
        if lo_x > hi_x:
            x = size / 2
        if lo_y > hi_y:
            y = size / 2
        # The defaults bind this round's x, y (ruff B023); mypy cannot type a lambda with
        # defaults (python/mypy#15459), though shapely.transform's stub is right.
        shifted = shapely.transform(zone, lambda xy, x=x, y=y: xy + (x, y))  # type: ignore[misc]
        if shapely.contains(boundary, shifted):
            centre = np.array([x, y])
            break
    lots = shapely.transform(lots, lambda xy: xy + centre)
    zone = shapely.transform(zone, lambda xy: xy + centre)
    # Only a group too small for its houses needs this; it keeps groups disjoint.
    if not shapely.contains(boundary, zone):
        lots = _largest_polygon(shapely.intersection(lots, boundary))
        if np.any(shapely.is_missing(lots)) or np.any(shapely.area(lots) < 1.0):
            raise ValueError("too many house plots for the size of the group")
    return lots, zone, centre


# --- field blocks and strips -------------------------------------------------


def _field_blocks(
    rng: np.random.Generator, region: shapely.Geometry, size: float, unit_area: float
) -> tuple[NDArray[np.float64], NDArray[np.object_], shapely.Geometry]:
    """Cut the field land into blocks along a jittered, rotated grid of farm roads.

    Returns the road-side quadrilateral of every block (corners counter-
    clockwise, shape (n, 4, 2)), the block itself (the quadrilateral where it
    lies inside the field land, possibly clipped), and the field land less
    its edge road, which decides which strips need clipping.
    """
    block_area = unit_area * rng.uniform(22.0, 40.0)
    sx = math.sqrt(block_area) * rng.uniform(0.75, 1.5)
    sy = block_area / sx
    half = 0.75 * size
    nx, ny = int(math.ceil(2 * half / sx)), int(math.ceil(2 * half / sy))
    gx = (np.arange(nx + 1) - nx / 2) * sx
    gy = (np.arange(ny + 1) - ny / 2) * sy
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    X = X + rng.uniform(-0.12, 0.12, X.shape) * sx
    Y = Y + rng.uniform(-0.12, 0.12, Y.shape) * sy
    phi = rng.uniform(-0.35, 0.35)
    cos_p, sin_p = math.cos(phi), math.sin(phi)
    P = np.stack([size / 2 + X * cos_p - Y * sin_p, size / 2 + X * sin_p + Y * cos_p], axis=-1)
    corners = np.stack([P[:-1, :-1], P[1:, :-1], P[1:, 1:], P[:-1, 1:]], axis=2).reshape(-1, 4, 2)
    # Farm roads: every quadrilateral gives up a strip along each side.
    corners = _offset_quads(corners, rng.uniform(1.5, 3.0, len(corners)))
    quads = cast(NDArray[np.object_], shapely.polygons(corners))  # an (n, 4, 2) array makes n polygons
    land = shapely.buffer(region, -rng.uniform(1.5, 3.0), join_style=_MITRE)
    shapely.prepare(land)
    near = shapely.intersects(land, quads)
    corners, quads = corners[near], quads[near]
    inside = shapely.contains_properly(land, quads)
    blocks = quads.copy()
    blocks[~inside] = shapely.intersection(quads[~inside], land)
    keep = shapely.area(blocks) >= 0.6 * unit_area
    return corners[keep], blocks[keep], land


def _offset_quads(corners: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Move every side of convex counter-clockwise quadrilaterals inwards."""
    edge = np.roll(corners, -1, axis=1) - corners
    normal = np.stack([-edge[..., 1], edge[..., 0]], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    offset = np.einsum("qij,qij->qi", normal, corners) + distance[:, None]
    # Corner i is where the offset sides i-1 and i meet.
    n_prev, n_this = np.roll(normal, 1, axis=1), normal
    c_prev, c_this = np.roll(offset, 1, axis=1), offset
    det = n_prev[..., 0] * n_this[..., 1] - n_prev[..., 1] * n_this[..., 0]
    x = (c_prev * n_this[..., 1] - c_this * n_prev[..., 1]) / det
    y = (n_prev[..., 0] * c_this - n_this[..., 0] * c_prev) / det
    return np.stack([x, y], axis=-1)


class _Lattice:
    """Strips of all blocks of a group as a jittered vertex lattice.

    Each block's quadrilateral is parametrised bilinearly, so strip sides
    run straight from road to road and the lattice fills the quadrilateral
    exactly. Each block has rows of ``K`` narrow sub-strips; ``bnd`` marks
    which sub-strip sides are parcel sides, so merging two parcels is
    clearing one flag and the parcels stay an exact partition of the block
    whatever is merged.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        corners: NDArray[np.float64],
        blocks: NDArray[np.object_],
        land: shapely.Geometry,
        unit_area: float,
        fineness: float,
    ) -> None:
        verts, row_block, row_vlow, row_stride, row_len, bnd = [], [], [], [], [], []
        v_off = 0
        for b, quad in enumerate(corners):
            side_ab = (np.hypot(*(quad[1] - quad[0])) + np.hypot(*(quad[2] - quad[3]))) / 2
            side_ad = (np.hypot(*(quad[3] - quad[0])) + np.hypot(*(quad[2] - quad[1]))) / 2
            length = math.sqrt(unit_area * rng.uniform(5.0, 12.0))  # strips 5–12 times as long as wide
            fits = (side_ab >= 0.7 * length, side_ad >= 0.7 * length)
            if fits[0] and fits[1]:
                along_ab = bool(rng.integers(2))
            elif fits[0] or fits[1]:
                along_ab = fits[0]
            else:
                along_ab = side_ab >= side_ad
            if not along_ab:
                quad = quad[[0, 3, 2, 1]]
                side_ab, side_ad = side_ad, side_ab
            n_rows = max(1, int(round(side_ab / length)))
            row_length = side_ab / n_rows
            sub = unit_area / row_length / 1.85 * fineness  # spans average 1.85 sub-strips
            n_sub = max(1, int(round(side_ad / sub)))
            widths = rng.uniform(0.7, 1.3, n_sub)
            t_lines = np.concatenate([[0.0], np.cumsum(widths) / widths.sum()])
            s_lines = np.linspace(0.0, 1.0, n_rows + 1)
            k = np.arange(n_sub + 1)
            # Ragged strip ends: a gentle wave plus a little noise along inner cuts.
            wave = rng.uniform(0.0, 0.07, (n_rows + 1, 1)) * np.sin(
                2 * np.pi * k / rng.uniform(8.0, 30.0, (n_rows + 1, 1)) + rng.uniform(0, 2 * np.pi, (n_rows + 1, 1))
            )
            js = (wave + rng.uniform(-0.012, 0.012, (n_rows + 1, n_sub + 1))) / n_rows
            js[0], js[-1] = 0.0, 0.0
            jt = rng.uniform(-0.12, 0.12, (n_rows + 1, n_sub + 1)) / n_sub
            jt[:, 0], jt[:, -1] = 0.0, 0.0
            s = (s_lines[:, None] + js)[..., None]
            t = (t_lines[None, :] + jt)[..., None]
            a, bq, c, d = quad
            xy = (1 - s) * (1 - t) * a + s * (1 - t) * bq + s * t * c + (1 - s) * t * d
            verts.append(xy.reshape(-1, 2))
            stride = n_sub + 1
            for i in range(n_rows):
                spans = rng.choice(np.array([1, 2, 3]), size=n_sub + 1, p=[0.35, 0.45, 0.2])
                marks = np.zeros(n_sub + 1, dtype=bool)
                cuts = np.cumsum(spans)
                marks[cuts[cuts < n_sub]] = True
                marks[0] = marks[-1] = True
                bnd.append(marks)
                row_block.append(b)
                row_vlow.append(v_off + i * stride)
                row_stride.append(stride)
                row_len.append(n_sub + 1)
            v_off += (n_rows + 1) * stride
        self.blocks = blocks
        self.land = land
        self.verts = np.concatenate(verts)
        self.row_block = np.asarray(row_block, dtype=np.int64)
        self.row_vlow = np.asarray(row_vlow, dtype=np.int64)
        self.row_stride = np.asarray(row_stride, dtype=np.int64)
        lengths = np.asarray(row_len, dtype=np.int64)
        self.row_off = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.pos_row = np.repeat(np.arange(len(lengths)), lengths)
        self.bnd = np.concatenate(bnd)
        #: (start, end, clip_area, parcels, area) of the cells of the last :func:`_realise`.
        self.cache: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.object_],
                          NDArray[np.float64]] | None = None

    def cells(self) -> _Cells:
        """Return (row, k0, k1, start position, end position) of every parcel cell."""
        pos = np.flatnonzero(self.bnd)
        rows = self.pos_row[pos]
        same = rows[:-1] == rows[1:]
        start, end, row = pos[:-1][same], pos[1:][same], rows[:-1][same]
        return row, start - self.row_off[row], end - self.row_off[row], start, end

    def polygons(self, row: NDArray[np.intp], k0: NDArray[np.intp], k1: NDArray[np.intp]) -> NDArray[np.object_]:
        span = k1 - k0
        n_vert = 2 * (span + 1)
        owner = np.repeat(np.arange(len(row)), n_vert)
        j = np.arange(n_vert.sum()) - np.repeat(np.cumsum(n_vert) - n_vert, n_vert)
        half = (span + 1)[owner]
        low = self.row_vlow[row][owner]
        lower = low + k0[owner] + j
        upper = low + self.row_stride[row][owner] + k1[owner] - (j - half)
        index = np.where(j < half, lower, upper)
        cells: NDArray[np.object_] = shapely.polygons(shapely.linearrings(self.verts[index], indices=owner))
        return cells


def _field_strips(
    rng: np.random.Generator, region: shapely.Geometry, size: float, n_fields: int
) -> tuple[NDArray[np.object_], NDArray[np.int32]]:
    """Fill the field land with exactly ``n_fields`` strip parcels."""
    ridge = rng.uniform(0.3, 0.5)  # half the width of the ridge between fields
    unit: float = shapely.area(region) * 0.85 / n_fields
    corners, blocks, land = _field_blocks(rng, region, size, unit)
    if len(blocks) == 0:  # very few, very large fields: one block is the whole land
        blocks = _largest_polygon(np.array([land]))
        envelope = shapely.get_coordinates(shapely.oriented_envelope(blocks[0]))[:4]
        corners = envelope[None, :, :]
    unit = float(shapely.area(blocks).sum()) * 0.95 / n_fields
    a_min = float(np.clip(0.3 * unit, 20.0, 300.0))
    # Strips narrower than this (2A/P) join a neighbour: 3 m, less for tiny fields.
    min_width = min(3.0, 0.3 * math.sqrt(unit / 8.5))
    fineness = 0.85
    for _ in range(12):
        lattice = _Lattice(rng, corners, blocks, land, unit, fineness)
        for round_ in range(5):  # slivers at block edges join a neighbour in their row
            row, k0, k1, start, end, clip_area, parcels, area = _realise(lattice, ridge)
            sliver = (clip_area > 0) & ~_workable(parcels, area, a_min, min_width)
            if not sliver.any() or round_ == 4:
                break
            same_left = np.r_[False, row[1:] == row[:-1]]
            same_right = np.r_[row[:-1] == row[1:], False]
            left_ok = same_left & (np.r_[0.0, clip_area[:-1]] > 0)
            right_ok = same_right & (np.r_[clip_area[1:], 0.0] > 0)
            left_area = np.r_[np.inf, area[:-1]]
            right_area = np.r_[area[1:], np.inf]
            go_left = left_ok & (~right_ok | (left_area <= right_area))
            go_right = right_ok & ~go_left
            if not (sliver & (go_left | go_right)).any():
                break
            lattice.bnd[start[sliver & go_left]] = False
            lattice.bnd[end[sliver & go_right]] = False
        valid = area >= a_min
        n_valid = int(valid.sum())
        if n_valid >= n_fields:
            break
        fineness *= 0.85 * max(n_valid, 1) / n_fields
    else:  # pragma: no cover - the refinement always converges for sane inputs
        raise RuntimeError("could not cut enough field parcels")

    excess = n_valid - n_fields
    if excess:
        pair = (row[:-1] == row[1:]) & valid[:-1] & valid[1:]
        combined = (area[:-1] + area[1:]) * np.exp(rng.normal(0.0, 0.25, len(area) - 1))
        combined[~pair] = np.inf
        chosen = np.argsort(combined, kind="stable")[: min(excess, int(pair.sum()))]
        lattice.bnd[end[chosen]] = False
        row, k0, k1, start, end, clip_area, parcels, area = _realise(lattice, ridge)
        valid = area >= a_min
        surplus = int(valid.sum()) - n_fields
        if surplus > 0:  # whole rows left as single parcels: leave the smallest fallow
            smallest = np.flatnonzero(valid)[np.argsort(area[valid], kind="stable")[:surplus]]
            valid[smallest] = False
    keep = np.flatnonzero(valid)
    if len(keep) != n_fields:  # pragma: no cover - guarded by the loop above
        raise RuntimeError("field parcel count drifted")
    return parcels[keep], lattice.row_block[row[keep]].astype(np.int32)


def _workable(
    parcels: NDArray[np.object_], area: NDArray[np.float64], a_min: float, min_width: float
) -> NDArray[np.bool_]:
    """Whether each parcel is big enough, and wide enough on average, to farm."""
    perimeter = np.nan_to_num(shapely.length(parcels), nan=0.0)
    width = 2 * area / np.maximum(perimeter, 1e-9)
    return (area >= a_min) & (width >= min_width)


def _realise(
    lattice: _Lattice, ridge: float
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp],
           NDArray[np.float64], NDArray[np.object_], NDArray[np.float64]]:
    """Cut every cell of the lattice out of its block and open the ridges.

    Cells unchanged since the last call come from the lattice's cache, and
    only cells that leave the field land are clipped, so refinement rounds
    cost little.
    """
    row, k0, k1, start, end = lattice.cells()
    clip_area = np.zeros(len(row))
    parcels = np.full(len(row), None, dtype=object)
    area = np.zeros(len(row))
    todo = np.ones(len(row), dtype=bool)
    if lattice.cache is not None:
        c_start, c_end, c_clip, c_parcels, c_area = lattice.cache
        at = np.minimum(np.searchsorted(c_start, start), len(c_start) - 1)
        hit = (c_start[at] == start) & (c_end[at] == end)
        clip_area[hit], parcels[hit], area[hit] = c_clip[at[hit]], c_parcels[at[hit]], c_area[at[hit]]
        todo = ~hit
    if todo.any():
        cells = lattice.polygons(row[todo], k0[todo], k1[todo])
        blocks = lattice.blocks[lattice.row_block[row[todo]]]
        # Lattices cover whole quadrilaterals; cells off the land are dropped
        # cheaply, and only those across its edge pay for an overlay.
        outside = ~shapely.intersects(lattice.land, cells)
        crossing = ~outside & ~shapely.contains_properly(lattice.land, cells)
        cells[outside] = None
        cells[crossing] = _largest_polygon(shapely.intersection(cells[crossing], blocks[crossing]))
        clip_area[todo] = np.nan_to_num(shapely.area(cells), nan=0.0)
        shrunk = _largest_polygon(shapely.buffer(cells, -ridge, join_style=_MITRE))
        parcels[todo] = shrunk
        area[todo] = np.nan_to_num(shapely.area(shrunk), nan=0.0)
    lattice.cache = (start, end, clip_area, parcels, area)
    return row, k0, k1, start, end, clip_area, parcels, area


def _largest_polygon(geoms: np.ndarray) -> np.ndarray:
    """Keep the largest polygon part of each geometry (None where there is none)."""
    out = np.full(len(geoms), None, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    if len(parts):
        polygon = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
        parts, owner = parts[polygon], owner[polygon]
        order = np.lexsort((-shapely.area(parts), owner))
        first = order[np.unique(owner[order], return_index=True)[1]]
        out[owner[first]] = parts[first]
    return out
