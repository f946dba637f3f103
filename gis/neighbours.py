"""四至: the parcels adjoining each parcel on its east, south, west and north."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from gis.area import to_zone
from gis.crs import zone_epsg

# Sector i spans bearings (45° + 90°(i−1), 45° + 90°i], counter-clockwise from east.
_SECTORS = ("east", "north", "west", "south")
# Bearings are rounded before sectoring so that a neighbour whose contact lies
# exactly on a diagonal lands on the same side every time instead of flipping
# on floating-point noise.
_BEARING_DECIMALS = 4


def four_sides(
    targets_4490: Any,
    target_codes: Any,
    candidates_4490: Any,
    candidate_codes: Any,
    tolerance_m: float = 1.0,
    min_contact_m: float = 3.0,
) -> list[dict[str, list[str]]]:
    """Find the 四至 of each target among the candidates.

    A candidate adjoins a target when the two lie within ``tolerance_m``
    metres of each other, measured in the Gauss-Kruger zone of the targets'
    mean longitude. Its side is the bearing from the target's centroid to the
    centroid of the part of the candidate within ``tolerance_m`` of the
    target: east (−45°, 45°], north (45°, 135°], west (135°, 225°], south
    (225°, 315°]. A candidate with the same code as the target is the target
    itself and is skipped.

    Args:
        targets_4490: 1-D array of polygonal geometries in EPSG:4490.
        target_codes: their parcel codes, same length.
        candidates_4490: 1-D array of polygonal geometries in EPSG:4490.
        candidate_codes: their parcel codes, same length.
        tolerance_m: gap in metres still counted as adjoining (ridges, survey slack).
        min_contact_m: the shortest shared edge, in metres, that makes a neighbour.

    Returns:
        One ``{"east": [...], "south": [...], "west": [...], "north": [...]}``
        per target, each list the sorted unique codes on that side.

    Raises:
        GeometryInputError: OUTSIDE_SUPPORTED_AREA if a coordinate cannot be
            transformed.
    """
    targets_4490 = np.asarray(targets_4490, dtype=object).reshape(-1)
    candidates_4490 = np.asarray(candidates_4490, dtype=object).reshape(-1)
    result: list[dict[str, list[str]]] = [
        {"east": [], "south": [], "west": [], "north": []} for _ in targets_4490
    ]
    if len(targets_4490) == 0 or len(candidates_4490) == 0:
        return result

    # One plane for everything keeps the STRtree query a single call; a 1 m
    # tolerance is insensitive to the scale error of a neighbouring zone.
    epsg = int(zone_epsg(shapely.get_x(shapely.centroid(targets_4490)).mean()))
    targets = to_zone(targets_4490, epsg)
    candidates = to_zone(candidates_4490, epsg)
    target_ids, candidate_ids = shapely.STRtree(candidates).query(
        targets, predicate="dwithin", distance=tolerance_m
    )
    target_codes = np.asarray(target_codes, dtype=object)
    candidate_codes = np.asarray(candidate_codes, dtype=object)
    other = target_codes[target_ids] != candidate_codes[candidate_ids]
    target_ids, candidate_ids = target_ids[other], candidate_ids[other]

    near = shapely.intersection(
        candidates[candidate_ids], shapely.buffer(targets, tolerance_m)[target_ids]
    )
    edge = shapely.area(near) / tolerance_m >= min_contact_m
    target_ids, candidate_ids, near = target_ids[edge], candidate_ids[edge], near[edge]
    origin = shapely.centroid(targets)[target_ids]
    to = shapely.centroid(near)
    dx = shapely.get_x(to) - shapely.get_x(origin)
    dy = shapely.get_y(to) - shapely.get_y(origin)
    bearing = np.round(np.degrees(np.arctan2(dy, dx)) % 360, _BEARING_DECIMALS)
    sector = np.ceil((bearing - 45) / 90).astype(np.int64) % 4

    # Assembling the answer is a loop over found pairs, not over geometries.
    sides: dict[tuple[int, int], set[str]] = {}
    pairs = zip(target_ids.tolist(), sector.tolist(), candidate_codes[candidate_ids].tolist(), strict=True)
    for t, s, code in pairs:
        sides.setdefault((t, s), set()).add(code)
    for (t, s), codes in sides.items():
        result[t][_SECTORS[s]] = sorted(codes)
    return result
