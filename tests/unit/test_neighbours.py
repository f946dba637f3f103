import numpy as np
import shapely

from gis.crs import from_storage, to_storage
from gis.neighbours import four_sides

ORIGIN = from_storage(shapely.Point(124.15, 39.87), 4550)


def parcels(**boxes):
    """Codes and 4490 geometries of boxes given in metres from a point near Donggang."""
    codes = np.array(list(boxes), dtype=object)
    local = shapely.box(*np.array(list(boxes.values()), dtype=float).T)
    return codes, to_storage(shapely.transform(local, lambda c: c + [ORIGIN.x, ORIGIN.y]), 4550)


def sides_of(target, codes, geoms, tolerance_m=1.0):
    i = list(codes).index(target)
    return four_sides(geoms[i : i + 1], codes[i : i + 1], geoms, codes, tolerance_m)[0]


NOBODY = {"east": [], "south": [], "west": [], "north": []}


def test_touching_squares_are_on_their_sides_and_far_ones_are_not_neighbours():
    codes, geoms = parcels(
        C=(0, 0, 50, 50),
        E=(50, 0, 100, 50),
        W=(-50, 0, 0, 50),
        N=(0, 50, 50, 100),
        S=(0, -50, 50, 0),
        FAR=(1000, 1000, 1050, 1050),
    )
    assert sides_of("C", codes, geoms) == {"east": ["E"], "south": ["S"], "west": ["W"], "north": ["N"]}
    assert sides_of("FAR", codes, geoms) == NOBODY


def test_all_targets_of_a_grid_are_answered_in_one_call():
    # Diagonal parcels of the grid touch only at a corner: not neighbours.
    codes, geoms = parcels(C=(0, 0, 50, 50), E=(50, 0, 100, 50), NE=(50, 50, 100, 100), N=(0, 50, 50, 100))
    assert four_sides(geoms, codes, geoms, codes) == [
        {**NOBODY, "east": ["E"], "north": ["N"]},
        {**NOBODY, "west": ["C"], "north": ["NE"]},
        {**NOBODY, "west": ["N"], "south": ["E"]},
        {**NOBODY, "east": ["NE"], "south": ["C"]},
    ]


def test_several_neighbours_on_one_side_are_sorted():
    codes, geoms = parcels(C=(0, 0, 50, 50), E2=(50, 25, 100, 50), E1=(50, 0, 100, 25))
    assert sides_of("C", codes, geoms)["east"] == ["E1", "E2"]


def test_gap_within_tolerance_still_adjoins():
    codes, geoms = parcels(C=(0, 0, 50, 50), E=(50.5, 0, 100, 50), W=(-50, 0, -2, 50))
    assert sides_of("C", codes, geoms) == {**NOBODY, "east": ["E"]}


def test_side_follows_the_shared_boundary_not_the_neighbour_centroid():
    # A tall strip whose centroid lies north-east but which meets C on its east edge.
    codes, geoms = parcels(C=(0, 0, 50, 50), TALL=(50, 40, 70, 200))
    assert sides_of("C", codes, geoms) == {**NOBODY, "east": ["TALL"]}


def test_corner_contacts_are_not_neighbours():
    codes, geoms = parcels(
        C=(0, 0, 50, 50),
        NE=(50, 50, 100, 100),
        NW=(-50, 50, 0, 100),
        SW=(-50, -50, 0, 0),
        SE=(50, -50, 100, 0),
    )
    assert sides_of("C", codes, geoms) == NOBODY


def test_short_shared_edge_below_minimum_is_not_a_neighbour():
    codes, geoms = parcels(C=(0, 0, 50, 50), E=(50, 49, 100, 100), N=(49, 50, 100, 100))
    assert sides_of("C", codes, geoms) == NOBODY
    codes, geoms = parcels(C=(0, 0, 50, 50), E=(50, 45, 100, 100))
    assert sides_of("C", codes, geoms) == {**NOBODY, "east": ["E"]}


def test_a_parcel_is_never_its_own_neighbour():
    codes, geoms = parcels(C=(0, 0, 50, 50))
    assert four_sides(geoms, codes, geoms, codes) == [NOBODY]


def test_no_candidates_means_no_neighbours():
    codes, geoms = parcels(C=(0, 0, 50, 50))
    assert four_sides(geoms, codes, np.array([], dtype=object), []) == [NOBODY]
