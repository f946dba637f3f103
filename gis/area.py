"""Areas and overlaps, measured the way docs/rules.md §5 prescribes.

A parcel's area is its planar area in the CGCS2000 3-degree Gauss-Kruger zone
of the parcel, as the national contract-land survey (NY/T 2537) measures it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.crs import GK_PLAIN_EPSG, GK_PREFIXED_EPSG, from_storage, zone_epsg

M2_TO_MU = 0.0015


def to_zone(geoms_4490: Any, epsg: int) -> Any:
    """Project stored geometries to a Gauss-Kruger zone.

    Args:
        geoms_4490: array (or a single geometry) in EPSG:4490.
        epsg: a zone, EPSG:4513–4554.

    Returns:
        The geometries in metres in that zone, same shape (a geometry for a
        geometry).

    Raises:
        ValueError: if ``epsg`` is not a Gauss-Kruger zone (a caller's bug).
        GeometryInputError: OUTSIDE_SUPPORTED_AREA if a coordinate cannot be
            transformed.
    """
    if epsg not in GK_PLAIN_EPSG and epsg not in GK_PREFIXED_EPSG:
        raise ValueError(f"EPSG:{epsg} is not a CGCS2000 3-degree Gauss-Kruger zone")
    return from_storage(geoms_4490, epsg)


def _own_zone(geoms_4490: NDArray[np.object_]) -> NDArray[np.int64]:
    """The zone of each geometry's centroid longitude."""
    zones: NDArray[np.int64] = zone_epsg(shapely.get_x(shapely.centroid(geoms_4490)))
    return zones


def measure_m2(geoms_4490: Any) -> np.ndarray:
    """Measure each geometry in the 3-degree zone of its own centroid.

    Geometries are grouped by zone, one reprojection per zone, so the cost
    does not depend on a Python loop over geometries.

    Args:
        geoms_4490: 1-D array of polygonal geometries in EPSG:4490.

    Returns:
        Float array of areas in m², same length.

    Raises:
        GeometryInputError: OUTSIDE_SUPPORTED_AREA if a coordinate cannot be
            transformed.
    """
    geoms = np.asarray(geoms_4490, dtype=object).reshape(-1)
    zones = _own_zone(geoms)
    areas = np.zeros(len(geoms))
    for epsg in np.unique(zones):
        in_zone = zones == epsg
        areas[in_zone] = shapely.area(to_zone(geoms[in_zone], int(epsg)))
    return areas


def m2_to_mu(m2: Any) -> Any:
    """Convert m² to 亩 (× 0.0015), rounded to 2 decimals.

    Rounding is numpy's round-half-even on the binary product; a product
    exactly on a half cent of a 亩 is practically never representable, so in
    practice this agrees with the half-up rounding a clerk would do by hand.

    Args:
        m2: a number or an array of numbers.

    Returns:
        A float for a scalar, else a float array of the same shape.
    """
    mu = np.round(np.asarray(m2, dtype=np.float64) * M2_TO_MU, 2)
    return float(mu) if mu.ndim == 0 else mu


def overlap_areas_m2(geom_4490: Any, others_4490: Any) -> NDArray[np.float64]:
    """Area of the intersection of one geometry with each of others.

    Everything is measured in the zone of ``geom_4490``'s centroid, so every
    overlap of a parcel is measured on the same plane as the parcel itself.

    Args:
        geom_4490: one polygonal geometry in EPSG:4490.
        others_4490: 1-D array of polygonal geometries in EPSG:4490.

    Returns:
        Float array of overlap areas in m² (0 where disjoint or touching).

    Raises:
        GeometryInputError: OUTSIDE_SUPPORTED_AREA if a coordinate cannot be
            transformed.
    """
    epsg = int(_own_zone(np.asarray([geom_4490], dtype=object))[0])
    geom = to_zone(geom_4490, epsg)
    others = to_zone(np.asarray(others_4490, dtype=object).reshape(-1), epsg)
    areas: NDArray[np.float64] = shapely.area(shapely.intersection(geom, others))
    return areas


def interiors_intersect(geom: Any, others: Any) -> np.ndarray:
    """Tell which of others share interior with ``geom`` (any common CRS).

    Neighbours that only touch along an edge or at a corner are False.

    Args:
        geom: one geometry.
        others: array of geometries.

    Returns:
        Bool array, same shape as ``others``.
    """
    return shapely.relate_pattern(geom, np.asarray(others, dtype=object), "T********")
