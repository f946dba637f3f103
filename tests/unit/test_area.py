import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.area import interiors_intersect, m2_to_mu, measure_m2, overlap_areas_m2, to_zone
from gis.crs import from_storage, to_storage, zone_epsg

DONGGANG = (124.15, 39.87)


def square_4490(lon, lat, width, height=None, dx=0.0, dy=0.0):
    """A width × height rectangle built in metres in the zone of ``lon``, stored in 4490."""
    epsg = zone_epsg(lon)
    origin = from_storage(shapely.Point(lon, lat), epsg)
    x, y = origin.x + dx, origin.y + dy
    return to_storage(shapely.box(x, y, x + width, y + (height or width)), epsg)


def test_fifty_metre_square_near_donggang_is_2500_m2_and_3_75_mu():
    area = measure_m2(np.array([square_4490(*DONGGANG, 50)]))
    assert area[0] == pytest.approx(2500, rel=0.01)
    assert m2_to_mu(area)[0] == 3.75


def test_each_geometry_is_measured_in_its_own_zone():
    squares = np.array([square_4490(*DONGGANG, 50), square_4490(126.0, 40.1, 50), square_4490(87.6, 43.8, 20)])
    assert measure_m2(squares) == pytest.approx([2500, 2500, 400], rel=1e-6)


def test_measuring_nothing_gives_nothing():
    assert measure_m2(np.array([], dtype=object)).shape == (0,)


def test_to_zone_refuses_a_non_zone_crs():
    with pytest.raises(ValueError):
        to_zone(square_4490(*DONGGANG, 50), 4326)


@pytest.mark.parametrize(("m2", "mu"), [(0, 0.0), (666.67, 1.0), (2500, 3.75), (10_000, 15.0), (1234.5, 1.85)])
def test_square_metres_convert_to_mu_with_two_decimals(m2, mu):
    assert m2_to_mu(m2) == mu


def test_mu_conversion_works_on_arrays():
    assert m2_to_mu(np.array([2500.0, 10_000.0])).tolist() == [3.75, 15.0]


def test_overlap_of_squares_sharing_a_ten_metre_strip_is_500_m2():
    parcel = square_4490(*DONGGANG, 50)
    others = np.array([square_4490(*DONGGANG, 50, dx=40), square_4490(*DONGGANG, 50, dx=200), parcel])
    assert overlap_areas_m2(parcel, others) == pytest.approx([500, 0, 2500], rel=1e-3)


def test_touching_squares_do_not_interiors_intersect():
    parcel = square_4490(*DONGGANG, 50)
    others = np.array(
        [
            square_4490(*DONGGANG, 50, dx=50),
            square_4490(*DONGGANG, 50, dx=50, dy=50),
            square_4490(*DONGGANG, 50, dx=40),
        ]
    )
    assert interiors_intersect(parcel, others).tolist() == [False, False, True]


@settings(max_examples=60, deadline=None, database=None)
@given(
    lon=st.floats(73.5, 135.0),
    lat=st.floats(18.0, 53.0),
    width=st.floats(1.0, 2000.0),
    height=st.floats(1.0, 2000.0),
)
def test_rectangle_area_in_metres_is_width_times_height(lon, lat, width, height):
    area = measure_m2(np.array([square_4490(lon, lat, width, height)]))[0]
    # Within a zone the match is exact; a rectangle whose centroid lands in the
    # neighbouring zone picks up at most ~0.07 % of scale error.
    assert area == pytest.approx(width * height, rel=1e-3)
