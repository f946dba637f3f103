import json
import math

import pytest
import shapely
from shapely.geometry import mapping

from gis.errors import GeometryInputError
from gis.geojson import GeometryLimits, parse_polygonal

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
HOLE = [[2, 2], [2, 4], [4, 4], [4, 2], [2, 2]]


def polygon(*rings):
    return {"type": "Polygon", "coordinates": list(rings)}


DEFAULT_LIMITS = GeometryLimits()


def refused(obj, limits=DEFAULT_LIMITS):
    """Parse, expect a refusal, and check it is fit to become an HTTP error."""
    with pytest.raises(GeometryInputError) as caught:
        parse_polygonal(obj, limits)
    error = caught.value
    json.dumps(error.details, allow_nan=False)
    assert error.message_en and any("\u4e00" <= ch <= "\u9fff" for ch in error.message_zh)
    if error.location is not None:
        assert len(error.location) == 2 and all(math.isfinite(v) for v in error.location)
    return error


def test_valid_polygon_becomes_one_part_multipolygon():
    geometry = parse_polygonal(polygon(SQUARE))
    assert isinstance(geometry, shapely.MultiPolygon)
    assert len(geometry.geoms) == 1 and geometry.area == 100


def test_valid_multipolygon_with_hole_is_accepted():
    far = [[20, 20], [30, 20], [30, 30], [20, 30], [20, 20]]
    geometry = parse_polygonal({"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [far]]})
    assert isinstance(geometry, shapely.MultiPolygon)
    assert len(geometry.geoms) == 2 and geometry.area == 100 - 4 + 100
    assert len(geometry.geoms[0].interiors) == 1


def test_z_coordinates_are_dropped():
    geometry = parse_polygonal(polygon([[x, y, 7.5] for x, y in SQUARE]))
    assert not geometry.has_z and geometry.area == 100


def test_tuples_from_shapely_mapping_are_accepted():
    source = shapely.Polygon(SQUARE, [HOLE])
    assert parse_polygonal(mapping(source)).equals(source)


def test_bbox_member_is_tolerated():
    assert parse_polygonal({**polygon(SQUARE), "bbox": [0, 0, 10, 10]}).area == 100


def test_bow_tie_is_self_intersection_with_location():
    error = refused(polygon([[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]))
    assert (error.rule, error.reason) == ("GEOMETRY_INVALID", "self_intersection")
    assert error.location == (5.0, 5.0)


def test_unclosed_ring_is_refused_at_its_first_point():
    error = refused(polygon([[1, 1], [10, 0], [10, 10], [0, 10]]))
    assert (error.rule, error.reason, error.location) == ("GEOMETRY_INVALID", "ring_not_closed", (1.0, 1.0))


def test_ring_of_three_positions_has_too_few_points():
    error = refused(polygon([[0, 0], [10, 0], [0, 0]]))
    assert (error.rule, error.reason) == ("GEOMETRY_INVALID", "too_few_points")


def test_ring_collapsing_to_one_point_has_too_few_points():
    assert refused(polygon([[3, 3]] * 4)).reason == "too_few_points"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), 10**400])
def test_non_finite_number_is_refused_with_its_path(bad):
    error = refused(polygon(SQUARE, [[2, 2], [2, bad], [4, 4], [4, 2], [2, 2]]))
    assert (error.rule, error.reason, error.details["path"]) == ("GEOMETRY_INVALID", "not_finite", [1, 1])


@pytest.mark.parametrize("bad", ["5", True, None, {"x": 1}])
def test_coordinate_that_is_not_a_number_is_refused(bad):
    error = refused(polygon([[0, 0], [10, bad], [10, 10], [0, 10], [0, 0]]))
    assert (error.rule, error.reason, error.details["path"]) == ("GEOMETRY_INVALID", "not_a_number", [0, 1])


@pytest.mark.parametrize("position", [[1], [1, 2, 3, 4]])
def test_position_needs_two_or_three_numbers(position):
    assert refused(polygon([[0, 0], position, [10, 10], [0, 0]])).reason == "bad_position"


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "Point", "coordinates": [1, 2]},
        {"type": "LineString", "coordinates": [[1, 2], [3, 4]]},
        {"type": "GeometryCollection", "geometries": [polygon(SQUARE)]},
        {"type": "Feature", "geometry": polygon(SQUARE), "properties": {}},
        {"type": "polygon", "coordinates": [SQUARE]},
        {"type": ["Polygon"], "coordinates": [SQUARE]},
        {"coordinates": [SQUARE]},
        None,
        [SQUARE],
        "POLYGON ((0 0, 1 0, 1 1, 0 0))",
    ],
    ids=[
        "point", "linestring", "collection", "feature", "lowercase",
        "list-type", "no-type", "none", "list", "wkt",
    ],
)
def test_anything_but_polygon_or_multipolygon_is_wrong_type(obj):
    error = refused(obj)
    assert (error.rule, error.reason) == ("GEOMETRY_INVALID", "wrong_type")


class _Sealed(dict):
    """A dict that fails the test if anything but its type is read."""

    def __getitem__(self, key):
        assert key == "type", f"read {key!r}"
        return super().__getitem__(key)

    def get(self, key, default=None):
        assert key == "type", f"read {key!r}"
        return super().get(key, default)


def test_deeply_nested_geometry_collection_is_refused_without_reading_it():
    nested = {"type": "GeometryCollection", "geometries": []}
    for _ in range(20_000):
        nested = {"type": "GeometryCollection", "geometries": [nested]}
    error = refused(_Sealed(nested))
    assert (error.rule, error.reason) == ("GEOMETRY_INVALID", "wrong_type")


def test_unknown_member_is_refused():
    error = refused({**polygon(SQUARE), "crs": {"type": "name"}})
    assert (error.rule, error.reason, error.details["member"]) == ("GEOMETRY_INVALID", "unknown_member", "crs")


def test_missing_coordinates_is_refused():
    assert refused({"type": "Polygon"}).reason == "missing_member"


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "Polygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": [[]]},
    ],
)
def test_empty_coordinates_are_refused(obj):
    error = refused(obj)
    assert (error.rule, error.reason) == ("GEOMETRY_INVALID", "empty")


def test_hole_outside_shell_is_refused_with_location():
    error = refused(polygon(SQUARE, [[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]]))
    assert (error.rule, error.reason) == ("GEOMETRY_INVALID", "hole_outside_shell")
    assert error.location == (20.0, 20.0)


@pytest.mark.parametrize(
    ("coordinates", "reason"),
    [
        ([[SQUARE], [[[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]]], "nested_shells"),
        ([[SQUARE], [[[5, 5], [15, 5], [15, 15], [5, 15], [5, 5]]]], "self_intersection"),
        ([[[[0, 0], [10, 0], [10, 10], [5, 0], [0, 10], [0, 0]]]], "ring_self_intersection"),
        ([[SQUARE, [[0, 5], [5, 0], [10, 5], [5, 10], [0, 5]]]], "interior_disconnected"),
        ([[SQUARE, [[1, 1], [9, 1], [9, 9], [1, 9], [1, 1]], HOLE]], "nested_holes"),
    ],
)
def test_geos_validity_reasons_are_mapped(coordinates, reason):
    error = refused({"type": "MultiPolygon", "coordinates": coordinates})
    assert (error.rule, error.reason) == ("GEOMETRY_INVALID", reason)
    assert error.location is not None and error.details["geos"]


def test_two_hundred_thousand_vertices_are_too_complex():
    ring = [[math.cos(i / 1e4), math.sin(i / 1e4)] for i in range(199_999)]
    error = refused(polygon(ring + ring[:1]))
    assert (error.rule, error.reason) == ("GEOMETRY_TOO_COMPLEX", "too_many_vertices")
    assert error.details["limit"] == 100_000


def test_too_many_parts_and_rings_are_too_complex():
    parts = {"type": "MultiPolygon", "coordinates": [[SQUARE]] * 3}
    error = refused(parts, GeometryLimits(max_parts=2))
    assert (error.rule, error.reason) == ("GEOMETRY_TOO_COMPLEX", "too_many_parts")
    error = refused(polygon(SQUARE, HOLE, HOLE), GeometryLimits(max_rings=2))
    assert (error.rule, error.reason) == ("GEOMETRY_TOO_COMPLEX", "too_many_rings")


def test_multipolygon_beyond_depth_limit_is_too_complex():
    error = refused({"type": "MultiPolygon", "coordinates": [[SQUARE]]}, GeometryLimits(max_depth=3))
    assert (error.rule, error.reason) == ("GEOMETRY_TOO_COMPLEX", "too_deep")


def test_polygon_given_multipolygon_nesting_is_too_deep():
    error = refused(polygon([SQUARE]))
    assert (error.rule, error.reason) == ("GEOMETRY_TOO_COMPLEX", "too_deep")


def test_coordinates_nested_a_hundred_thousand_deep_are_refused_without_recursion():
    deep = [0, 0]
    for _ in range(100_000):
        deep = [deep]
    error = refused({"type": "Polygon", "coordinates": deep})
    assert (error.rule, error.reason) == ("GEOMETRY_TOO_COMPLEX", "too_deep")


@pytest.mark.parametrize("coordinates", ["0 0 1 1", [1, 2, 3, 4], [[1, 2, 3, 4]]])
def test_coordinates_nested_too_shallow_are_malformed(coordinates):
    assert refused({"type": "Polygon", "coordinates": coordinates}).reason == "malformed"


def test_huge_finite_coordinates_pass_intake():
    big = [[1e308, 1e308], [1.1e308, 1e308], [1.1e308, 1.1e308], [1e308, 1.1e308], [1e308, 1e308]]
    assert not parse_polygonal(polygon(big)).is_empty
