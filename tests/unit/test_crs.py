import json

import numpy as np
import pytest
import shapely

from gis.crs import (
    STORAGE_EPSG,
    check_projected_plausible,
    check_supported_area,
    from_storage,
    parse_crs,
    to_storage,
    zone_epsg,
)
from gis.errors import GeometryInputError
from gis.geojson import parse_polygonal

DONGGANG = (124.15, 39.87)


def donggang_square_4550(size=50.0):
    centre = from_storage(shapely.Point(*DONGGANG), 4550)
    return shapely.box(centre.x, centre.y, centre.x + size, centre.y + size)


def lonlat_square(lon, lat, size=0.001):
    return shapely.box(lon, lat, lon + size, lat + size)


def outside(call, *args):
    with pytest.raises(GeometryInputError) as caught:
        call(*args)
    error = caught.value
    assert error.rule == "OUTSIDE_SUPPORTED_AREA"
    json.dumps(error.details, allow_nan=False)
    return error


@pytest.mark.parametrize(
    ("value", "epsg"),
    [
        (None, 4490),
        ("EPSG:4490", 4490),
        ("epsg:4490", 4490),
        (" EPSG:4550 ", 4550),
        ("urn:ogc:def:crs:EPSG::4490", 4490),
        ("urn:ogc:def:crs:EPSG:9.8.15:4529", 4529),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", 4490),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", 4326),
        ("EPSG:4326", 4326),
        ("EPSG:4513", 4513),
        ("EPSG:4554", 4554),
    ],
)
def test_supported_crs_names_are_read(value, epsg):
    assert parse_crs(value) == epsg


@pytest.mark.parametrize(
    "value",
    [
        "EPSG:3857", "EPSG:4512", "EPSG:4555", "foo", "", "EPSG:" + "9" * 5000,
        123, 4490, b"EPSG:4490", ["EPSG:4490"],
    ],
    ids=[
        "web-mercator", "below-zones", "above-zones", "garbage", "empty", "huge",
        "int", "bare-code", "bytes", "list",
    ],
)
def test_unsupported_crs_is_refused_with_the_supported_list(value):
    with pytest.raises(GeometryInputError) as caught:
        parse_crs(value)
    error = caught.value
    assert error.rule == "CRS_UNSUPPORTED"
    assert 4490 in error.details["supported"] and 4550 in error.details["supported"]
    assert len(error.details["value"]) <= 80
    json.dumps(error.details)


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [
        (124.1, 4550),  # Dandong / Donggang: CM 123°E
        (124.6, 4551),  # eastern Dandong: CM 126°E
        (123.0, 4550),
        (121.5, 4550),  # on a zone boundary: goes east
        (75.0, 4534),
        (135.0, 4554),
        (70.0, 4534),
        (140.0, 4554),
    ],
)
def test_zone_is_the_nearest_central_meridian(lon, epsg):
    assert zone_epsg(lon) == epsg


def test_zone_choice_is_vectorised():
    assert zone_epsg(np.array([124.1, 124.6, 116.4])).tolist() == [4550, 4551, 4548]


def test_gauss_kruger_round_trip_is_within_a_millimetre():
    square = donggang_square_4550()
    back = from_storage(to_storage(np.array([square]), 4550), 4550)
    assert shapely.hausdorff_distance(back[0], square) < 1e-3


def test_prefixed_and_plain_zone_codes_agree():
    square = donggang_square_4550()
    prefixed = shapely.transform(square, lambda c: c + [41e6, 0])  # zone 41 = CM 123°E
    plain_4490, prefixed_4490 = to_storage(square, 4550), to_storage(prefixed, 4529)
    assert shapely.hausdorff_distance(plain_4490, prefixed_4490) < 1e-9


def test_storage_crs_is_left_untouched():
    square = lonlat_square(*DONGGANG)
    assert to_storage(np.array([square]), STORAGE_EPSG)[0] is square


def test_wgs84_input_keeps_its_longitude_and_latitude():
    square = lonlat_square(*DONGGANG)
    assert shapely.hausdorff_distance(to_storage(np.array([square]), 4326)[0], square) < 1e-9


def test_geometry_in_china_passes_the_area_check():
    check_supported_area(np.array([lonlat_square(*DONGGANG), lonlat_square(87.6, 43.8)]))


@pytest.mark.parametrize("epsg", [4490, 4326])
def test_swapped_longitude_and_latitude_are_named_as_swapped(epsg):
    swapped = parse_polygonal(shapely.geometry.mapping(lonlat_square(39.87, 124.15)))
    error = outside(check_supported_area, to_storage(np.array([swapped]), epsg))
    assert error.reason == "axes_swapped"
    assert error.details["bounds"][0] == pytest.approx(39.87)


def test_coordinates_elsewhere_in_the_world_are_outside_china():
    paris = lonlat_square(2.35, 48.85)
    error = outside(check_supported_area, np.array([lonlat_square(*DONGGANG), paris]))
    assert (error.reason, error.details["index"]) == ("outside_china", 1)


HUGE = {
    "type": "Polygon",
    "coordinates": [[[1e308, 1e308], [1.1e308, 1e308], [1.1e308, 1.1e308], [1e308, 1.1e308], [1e308, 1e308]]],
}


@pytest.mark.parametrize("epsg", [4490, 4326, 4550, 4529])
def test_huge_coordinates_end_outside_the_supported_area(epsg):
    geoms = np.array([parse_polygonal(HUGE)])
    outside(lambda: check_supported_area(to_storage(geoms, epsg)))


def test_untransformable_output_is_outside_the_supported_area():
    error = outside(from_storage, np.array([parse_polygonal(HUGE)]), 4550)
    assert error.reason == "not_transformable"


def test_northing_given_first_is_named_as_swapped_axes():
    swapped = shapely.transform(donggang_square_4550(), lambda c: c[:, ::-1])
    assert outside(to_storage, np.array([swapped]), 4550).reason == "axes_swapped"


def test_zone_prefix_declared_wrongly_is_named():
    square = donggang_square_4550()
    prefixed = shapely.transform(square, lambda c: c + [41e6, 0])
    error = outside(check_projected_plausible, np.array([prefixed]), 4550)
    assert (error.reason, error.details["suggested_epsg"]) == ("zone_prefix_mismatch", 4529)
    error = outside(check_projected_plausible, np.array([square]), 4529)
    assert (error.reason, error.details["suggested_epsg"]) == ("zone_prefix_mismatch", 4550)


def test_eastings_far_from_the_zone_are_refused():
    error = outside(check_projected_plausible, np.array([shapely.box(5_000_000, 4e6, 5_000_050, 4e6 + 50)]), 4550)
    assert error.reason == "outside_zone"


def test_geographic_input_skips_the_projected_check():
    check_projected_plausible(np.array([lonlat_square(*DONGGANG)]), 4490)
