"""The synthetic county: deterministic, non-overlapping, with valid codes and ID numbers."""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from app.demo_data import (
    COUNTIES,
    MEAN_GROUP_PARCELS,
    RELATIONS,
    DemoCollective,
    _IdAllocator,
    county_capacity,
    iter_county,
    summary,
)
from gis.codes import parse_collective_code, parse_household_code, parse_id_number, parse_parcel_code
from gis.synth import HOMESTEAD, RESERVE, group_parcels, to_4490

# Donggang's extent as the brief gives it, with a little slack (EPSG:4490, x = lon).
DONGGANG = shapely.box(123.85, 39.80, 124.45, 40.25)
TODAY = dt.date(2026, 1, 1)


def to_4550(geoms: np.ndarray) -> np.ndarray:
    transformer = Transformer.from_crs(4490, 4550, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def fingerprint(collectives: list[DemoCollective]) -> list:
    return [
        (
            c.code14,
            c.name,
            c.membership_decided_on,
            [shapely.to_wkb(g) for g in c.parcels_geoms_4490],
            c.parcel_codes,
            c.parcel_kinds.tolist(),
            c.parcel_names,
            c.parcel_household.tolist(),
            [(h.code18, h.address, [(m.name, m.id_number, m.relation, m.birth_date) for m in h.members])
             for h in c.households],
        )
        for c in collectives
    ]


@pytest.fixture(scope="module")
def county() -> list[DemoCollective]:
    return list(iter_county(seed=2017, parcels=3000))


@pytest.fixture(scope="module")
def groups(county) -> list[DemoCollective]:
    return [c for c in county if c.level == "group"]


@pytest.fixture(scope="module")
def parcels_4550(groups) -> np.ndarray:
    return to_4550(np.concatenate([g.parcels_geoms_4490 for g in groups]))


@pytest.fixture(scope="module")
def kinds(groups) -> np.ndarray:
    return np.concatenate([g.parcel_kinds for g in groups])


# --- determinism -------------------------------------------------------------


def test_same_seed_gives_identical_county():
    assert fingerprint(list(iter_county(seed=7, parcels=700))) == fingerprint(list(iter_county(seed=7, parcels=700)))


def test_other_seed_gives_different_county():
    a, b = list(iter_county(seed=7, parcels=700)), list(iter_county(seed=8, parcels=700))
    assert [c.code14 for c in a] == [c.code14 for c in b]
    assert shapely.to_wkb(a[1].parcels_geoms_4490[0]) != shapely.to_wkb(b[1].parcels_geoms_4490[0])
    assert a[1].households[0].members[0].id_number != b[1].households[0].members[0].id_number


def test_smaller_county_is_prefix_of_larger_with_same_seed(county):
    small = list(iter_county(seed=2017, parcels=1000))
    # All but the last group, which is cut to hit the count.
    assert fingerprint(small[:-1]) == fingerprint(county[: len(small) - 1])


def test_group_parcels_is_deterministic_given_generator():
    a = group_parcels(np.random.default_rng(3), (590000.0, 4420000.0), 550.0, 300, 55)
    b = group_parcels(np.random.default_rng(3), (590000.0, 4420000.0), 550.0, 300, 55)
    assert shapely.to_wkb(a[0]).tolist() == shapely.to_wkb(b[0]).tolist()
    assert a[1].tolist() == b[1].tolist()


# --- geometry ----------------------------------------------------------------


def test_parcels_do_not_overlap_within_or_across_groups(parcels_4550):
    tree = shapely.STRtree(parcels_4550)
    left, right = tree.query(parcels_4550, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    interiors_meet = shapely.relate_pattern(parcels_4550[left], parcels_4550[right], "T********")
    assert not interiors_meet.any()
    assert (shapely.area(shapely.intersection(parcels_4550[left], parcels_4550[right])) < 0.01).all()


def test_adjoining_groups_keep_to_their_own_land(groups):
    hulls = to_4550(np.array([shapely.convex_hull(shapely.union_all(g.parcels_geoms_4490)) for g in groups]))
    tree = shapely.STRtree(hulls)
    left, right = tree.query(hulls, predicate="intersects")
    assert (left == right).all()


def test_every_parcel_is_a_valid_polygon_inside_donggang(groups):
    geoms = np.concatenate([g.parcels_geoms_4490 for g in groups])
    assert (shapely.get_type_id(geoms) == 3).all()
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    assert shapely.within(geoms, DONGGANG).all()


def test_field_areas_are_mostly_half_a_mu_to_four_mu(parcels_4550, kinds):
    area = shapely.area(parcels_4550[kinds != HOMESTEAD])
    assert np.mean((area >= 200) & (area <= 3000)) >= 0.95
    assert 500 <= np.median(area) <= 1500


def test_homesteads_exist_and_stay_under_300_square_metres(parcels_4550, kinds):
    area = shapely.area(parcels_4550[kinds == HOMESTEAD])
    assert len(area) > 300
    assert (area >= 150).all() and (area <= 300).all()


def test_reserve_land_is_at_most_five_percent_of_each_group(groups):
    for g in groups:
        fields = np.count_nonzero(g.parcel_kinds != HOMESTEAD)
        assert np.count_nonzero(g.parcel_kinds == RESERVE) <= 0.05 * fields


def test_land_use_follows_kind(groups):
    for g in groups:
        expected = np.where(g.parcel_kinds == HOMESTEAD, "homestead", "cultivated")
        assert g.parcel_land_uses.tolist() == expected.tolist()
        assert len(g.parcel_names) == len(g.parcel_codes) and all(g.parcel_names)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_parcels=st.integers(1, 700),
    homestead_share=st.floats(0.0, 0.25),
    seed=st.integers(0, 2**32 - 1),
)
def test_group_parcels_returns_exactly_the_parcels_asked_for(n_parcels, homestead_share, seed):
    n_homesteads = int(n_parcels * homestead_share)
    size = max(80.0, 600.0 * min(1.0, math.sqrt(n_parcels / 370)))
    origin = (590000.0, 4420000.0)
    geoms, kinds = group_parcels(np.random.default_rng(seed), origin, size, n_parcels, n_homesteads)
    assert len(geoms) == n_parcels
    assert np.count_nonzero(kinds == HOMESTEAD) == n_homesteads
    assert (shapely.get_type_id(geoms) == 3).all() and shapely.is_valid(geoms).all()
    assert shapely.within(geoms, shapely.box(*origin, origin[0] + size, origin[1] + size)).all()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()


def test_group_parcels_refuses_a_group_without_fields():
    with pytest.raises(ValueError):
        group_parcels(np.random.default_rng(0), (0.0, 0.0), 300.0, 10, 10)


def test_to_4490_puts_false_easting_on_the_central_meridian():
    point = to_4490(np.array([shapely.Point(500000.0, 4430000.0)]))[0]
    assert point.x == pytest.approx(123.0, abs=1e-9)
    assert 39.9 < point.y < 40.1


# --- codes, households, persons ----------------------------------------------


def test_collective_codes_nest_county_township_village_group(county):
    for c in county:
        code = parse_collective_code(c.code14)
        assert code.county == "210681"
        assert c.level == code.level
    assert county[0].code14 == "21068110100100" and county[1].code14 == "21068110100101"
    assert county[1].name.endswith("村第一村民小组")


def test_village_level_collectives_hold_no_land_or_households(county):
    villages = [c for c in county if c.level == "village"]
    assert villages
    for v in villages:
        assert v.households == [] and v.parcel_codes == [] and len(v.parcels_geoms_4490) == 0


def test_household_and_parcel_codes_extend_the_collective_code_in_order(groups):
    for g in groups:
        assert 0 < len(g.households) <= 8000
        for serial, h in enumerate(g.households, start=1):
            issuer, number = parse_household_code(h.code18)
            assert issuer.value == g.code14 and number == serial
        for serial, code in enumerate(g.parcel_codes, start=1):
            issuer, number = parse_parcel_code(code)
            assert issuer.value == g.code14 and number == serial
        assert len(g.parcel_codes) == len(g.parcels_geoms_4490) == len(g.parcel_kinds)


def test_every_parcel_but_reserve_land_is_allotted_to_a_household(groups):
    for g in groups:
        holder = g.parcel_household
        assert ((holder == -1) == (g.parcel_kinds == RESERVE)).all()
        assert holder.max() < len(g.households)
        homes = holder[g.parcel_kinds == HOMESTEAD]
        assert len(set(homes.tolist())) == len(homes)


def test_id_numbers_are_valid_unique_and_match_sex(groups):
    seen = set()
    for g in groups:
        for h in g.households:
            for m in h.members:
                parsed = parse_id_number(m.id_number, sex=m.sex, today=TODAY)
                assert parsed.birth_date == m.birth_date
                assert parsed.area in COUNTIES["210681"].id_areas
                seen.add(m.id_number)
    persons = sum(len(h.members) for g in groups for h in g.households)
    assert len(seen) == persons


def test_households_are_headed_first_with_plausible_ages(groups):
    sizes = []
    for g in groups:
        for h in g.households:
            sizes.append(len(h.members))
            head = h.members[0]
            assert head.relation == "head"
            assert [m.relation for m in h.members[1:]].count("head") == 0
            assert 1950 <= head.birth_date.year <= 1985
            for m in h.members:
                assert m.relation in RELATIONS
                assert m.sex in ("male", "female")
                assert 2 <= len(m.name) <= 3
                if m.relation == "child":
                    assert 1975 <= m.birth_date.year <= 2015
                    assert m.birth_date.year - head.birth_date.year >= 18
                if m.relation == "parent":
                    assert 1930 <= m.birth_date.year <= 1955
                if m.relation == "spouse":
                    assert m.sex != head.sex
    assert 2.5 <= np.mean(sizes) <= 3.5


def test_id_allocator_spills_into_neighbouring_areas_when_a_date_is_full():
    ids = _IdAllocator(("210681", "210602"))
    day = dt.date(1970, 3, 1)
    men = [ids.allocate(day, "male") for _ in range(700)]
    women = [ids.allocate(day, "female") for _ in range(700)]
    assert len(set(men + women)) == 1400
    assert Counter(n[:6] for n in men) == {"210681": 500, "210602": 200}
    assert Counter(n[:6] for n in women) == {"210681": 499, "210602": 201}
    for n in men:
        parse_id_number(n, sex="male", today=TODAY)
    for n in women:
        parse_id_number(n, sex="female", today=TODAY)
    with pytest.raises(ValueError):
        for _ in range(1000):
            ids.allocate(day, "male")


# --- counts ------------------------------------------------------------------


@pytest.mark.parametrize("wanted", [1, 40, 3000])
def test_requested_parcel_count_is_met(wanted):
    got = summary(seed=11, parcels=wanted)
    assert abs(got.parcels - wanted) <= 0.1 * wanted
    assert got.groups >= 1 and got.villages >= 1


def test_default_county_is_one_village_of_ten_groups(county):
    assert sum(len(c.parcel_codes) for c in county) == 3000
    assert [c.level for c in county].count("village") == 1
    assert [c.level for c in county].count("group") == 10
    households = sum(len(c.households) for c in county)
    assert 450 <= households <= 800  # ~60 a group, ~5 parcels a household


def test_county_holds_a_million_parcels_but_refuses_more():
    assert county_capacity() * 300 * 0.85 >= 1_000_000
    with pytest.raises(ValueError):
        next(iter_county(parcels=10_000_000))
    with pytest.raises(ValueError):
        next(iter_county(county="110105"))


@pytest.mark.parametrize("code", sorted(set(COUNTIES) - {"210681"}))
def test_each_provincial_benchmark_county_holds_its_hundred_thousand_parcels_inside_its_box(code):
    info = COUNTIES[code]
    assert county_capacity(code) * MEAN_GROUP_PARCELS * 0.85 >= 200_000  # what iter_county lets it hold
    collectives = list(iter_county(parcels=1_500, county=code))
    box = shapely.box(*info.box)
    geoms = np.concatenate([np.asarray(c.parcels_geoms_4490, dtype=object) for c in collectives])
    assert len(geoms) == 1_500 and shapely.contains(box, geoms).all()
    assert all(c.code14.startswith(code) for c in collectives)
    people = [p.id_number for c in collectives for h in c.households for p in h.members]
    assert people and {parse_id_number(n).area for n in people} == {code}  # no other county's ID area
