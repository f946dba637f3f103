"""The package QA (gis/qa.py): each check on a small hand-made package, then the sample package."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis.codes import id_check_char
from gis.crs import from_storage, to_storage
from gis.package import DK_FIELDS, TABLE_FIELDS, Package
from gis.qa import CHECKS, Problem, check_package

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "dk_package_sample.zip"
#: A point in Donggang; test parcels are drawn in metres (EPSG:4550) from it.
ORIGIN = from_storage(shapely.Point(124.15, 39.87), 4550)
ISSUER = "21068110100101"
HOUSEHOLD = ISSUER + "0001"
CONTRACT = HOUSEHOLD + "J"


def dk(n: int) -> str:
    """The n-th parcel code of the test collective."""
    return f"{ISSUER}{n:05d}"


def local(geom):
    """A geometry drawn in metres from ORIGIN, in EPSG:4490."""
    moved = shapely.transform(geom, lambda xy: xy + [ORIGIN.x, ORIGIN.y])
    return to_storage(moved, 4550)


def box(x0, y0, x1, y1):
    return shapely.box(x0, y0, x1, y1)


def id_number(birth: str = "19750702", seq: int = 983, area: str = "210681") -> str:
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + id_check_char(first17)


def layer(parcels: dict, scmj: dict | None = None) -> gpd.GeoDataFrame:
    """A DK layer: code → local geometry (None for none); SCMJ the measured area unless given."""
    codes = list(parcels)
    geoms = [None if g is None else shapely.MultiPolygon() if g.is_empty else
             shapely.multipolygons(shapely.get_parts(local(g))) for g in parcels.values()]
    frame = {f: [None] * len(codes) for f in DK_FIELDS}
    frame["BSM"] = [float(k + 1) for k in range(len(codes))]
    frame["DKBM"] = codes
    frame["SCMJ"] = [float((scmj or {}).get(c, np.nan if g is None else shapely.area(g)))
                     for c, g in parcels.items()]
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4490), crs=4490)
    gdf["row"] = np.arange(1, len(codes) + 1)
    return gdf


def tables(parcels, *, members=None, households=None, contracts=None, links=None, issuers=None) -> dict:
    """Consistent tables: one household (a head and a spouse) holding one contract of all ``parcels``."""
    def frame(name, rows):
        return pd.DataFrame([{f: r.get(f) for f in TABLE_FIELDS[name]} for r in rows],
                            columns=list(TABLE_FIELDS[name]), dtype=object)

    issuers = issuers if issuers is not None else [{"FBFBM": ISSUER, "FBFMC": "一组"}]
    households = households if households is not None else [
        {"CBFBM": HOUSEHOLD, "CBFLX": "1", "CBFMC": "丁建", "CBFZJLX": "1", "CBFZJHM": id_number(), "CBFCYSL": "2"}]
    members = members if members is not None else [
        {"CBFBM": HOUSEHOLD, "CYXM": "丁建", "CYXB": "1", "CYZJLX": "1", "CYZJHM": id_number(), "YHZGX": "02"},
        {"CBFBM": HOUSEHOLD, "CYXM": "王兰", "CYXB": "2", "CYZJLX": "1", "CYZJHM": id_number("19770304", 24),
         "YHZGX": "10"},
    ]
    contracts = contracts if contracts is not None else [
        {"CBHTBM": CONTRACT, "FBFBM": ISSUER, "CBFBM": HOUSEHOLD, "CBFS": "110", "CBQXQ": "2028-01-01",
         "CBQXZ": "2057-12-31"}]
    links = links if links is not None else [
        {"DKBM": code, "FBFBM": ISSUER, "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT, "CBJYQZBM": CONTRACT}
        for code in parcels]
    return {"FBF": frame("FBF", issuers), "CBF": frame("CBF", households), "CBF_JTCY": frame("CBF_JTCY", members),
            "CBHT": frame("CBHT", contracts), "CBDKXX": frame("CBDKXX", links)}


def package(parcels: dict, *, full: bool = True, scmj: dict | None = None, **table_overrides) -> Package:
    return Package(parcels=layer(parcels, scmj), tables=tables(parcels, **table_overrides) if full else {},
                   source_epsg=4550, layer="DK.shp")


def found(report, check: str) -> list[Problem]:
    return [p for p in report.problems if p.check == check]


def only(report, check: str) -> Problem:
    problems = found(report, check)
    assert len(problems) == 1, problems
    return problems[0]


def assert_only(report, **counts):
    """Exactly these checks found something, this many problems each."""
    assert {k: v for k, v in report.qa.items() if v} == counts


#: Three fields in a row separated by ridges 0.6 m wide: nothing wrong with them.
FIELDS = {dk(1): box(0, 0, 20, 50), dk(2): box(20.6, 0, 40.6, 50), dk(3): box(41.2, 0, 61.2, 50)}


# --- a clean package -------------------------------------------------------------------------------


def test_clean_package_reports_every_check_at_zero_and_its_counts():
    report = check_package(package(FIELDS))
    assert report.qa == dict.fromkeys(CHECKS, 0)
    assert report.problems == [] and report.blocking == 0
    assert report.counts == {"parcels": 3, "collectives": 1, "households": 1, "members": 2, "contracts": 1,
                             "contract_parcels": 3}


def test_plain_layer_gets_the_geometry_checks_only():
    parcels = {**FIELDS, dk(4): box(10, 10, 30, 30)}  # overlaps dk(1) and dk(2)
    report = check_package(package(parcels, full=False))
    assert set(report.qa) == set(CHECKS)
    assert_only(report, overlaps=2)
    assert report.counts == {"parcels": 4, "collectives": 1, "households": 0, "members": 0, "contracts": 0,
                             "contract_parcels": 0}


def test_an_empty_layer_is_an_empty_report():
    empty = gpd.GeoDataFrame({f: [] for f in DK_FIELDS} | {"row": []}, geometry=gpd.GeoSeries([], crs=4490), crs=4490)
    report = check_package(Package(parcels=empty))
    assert report.qa == dict.fromkeys(CHECKS, 0) and report.problems == []
    assert report.counts == {"parcels": 0, "collectives": 0, "households": 0, "members": 0, "contracts": 0,
                             "contract_parcels": 0}


def test_one_thread_and_two_threads_give_the_same_report():
    parcels = {**FIELDS, dk(4): box(10, 10, 30, 30), dk(5): box(0, 60, 0.4, 90)}
    one = check_package(package(parcels), threads=1)
    two = check_package(package(parcels), threads=2)
    assert one.to_dict() == two.to_dict()


def test_progress_is_reported_after_every_step_up_to_the_total():
    seen = []
    check_package(package(FIELDS), progress=lambda done, total: seen.append((done, total)))
    total = seen[-1][1]
    assert [d for d, _ in seen] == list(range(1, total + 1))
    assert {t for _, t in seen} == {total}


# --- invalid ---------------------------------------------------------------------------------------


def test_self_intersecting_parcel_is_invalid_with_the_geos_reason_and_place():
    bowtie = shapely.Polygon([(0, 0), (20, 20), (20, 0), (0, 20)])
    report = check_package(package({dk(1): bowtie, dk(2): box(30, 0, 50, 20)}))
    problem = only(report, "invalid")
    assert problem.severity == "blocking" and problem.codes == (dk(1),)
    assert problem.details["reason"] == "invalid"
    assert problem.details["geos_reason"].startswith("Self-intersection")
    crossing = local(shapely.Point(10, 10))
    assert problem.details["location"] == pytest.approx([crossing.x, crossing.y], abs=1e-7)
    assert "自相交" in problem.message_zh and "Self-intersection" in problem.message_en
    # The parcel as read, not the repaired one.
    assert np.allclose(shapely.get_coordinates(problem.geometry), shapely.get_coordinates(local(bowtie)))


def test_missing_and_empty_geometries_are_invalid_and_skip_the_other_geometry_checks():
    report = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): None, dk(3): shapely.Polygon()}))
    assert [(p.codes, p.details["row"], p.details["reason"], p.geometry) for p in found(report, "invalid")] == [
        ((dk(2),), 2, "missing", None), ((dk(3),), 3, "missing", None)]
    assert all(p.severity == "blocking" for p in report.problems)
    assert_only(report, invalid=2)


def test_an_invalid_parcel_is_still_checked_for_overlaps_once_repaired():
    bowtie = shapely.Polygon([(0, 0), (20, 20), (20, 0), (0, 20)])
    report = check_package(package({dk(1): bowtie, dk(2): box(15, 0, 35, 20)}))
    assert report.qa["invalid"] == 1
    overlap = only(report, "overlaps")
    # Repaired, the bow-tie is two triangles; the east one (apex at 10, 10) reaches 5 m into dk(2):
    # the integral of its height 2(x - 10) from x = 15 to 20 is 75 m².
    assert overlap.codes == (dk(1), dk(2))
    assert overlap.size == pytest.approx(75.0, abs=0.01)


# --- duplicate codes -------------------------------------------------------------------------------


def test_a_code_on_two_features_is_one_blocking_problem_naming_both_rows():
    pkg = package({dk(1): box(0, 0, 20, 50), dk(2): box(30, 0, 50, 50), dk(3): box(60, 0, 80, 50)})
    pkg.parcels.loc[2, "DKBM"] = dk(1)
    pkg.tables["CBDKXX"] = pkg.tables["CBDKXX"].iloc[:2]
    report = check_package(pkg)
    problem = only(report, "duplicate_codes")
    assert problem.severity == "blocking" and problem.codes == (dk(1),)
    assert problem.details == {"rows": [1, 3]}
    assert problem.geometry.area == pytest.approx(2 * shapely.area(local(box(0, 0, 20, 50))))
    assert_only(report, duplicate_codes=1)


# --- malformed codes -------------------------------------------------------------------------------


def malformed(report) -> set[tuple]:
    return {(p.details["table"], p.details["field"], p.details["value"], p.details["reason"])
            for p in found(report, "malformed_codes")}


def test_parcel_codes_must_be_19_digits_of_a_listed_issuer():
    short, other_issuer, zero_serial = "210681101001010001", "2106811010010200001", f"{ISSUER}00000"
    parcels = {dk(1): box(0, 0, 20, 50), short: box(30, 0, 50, 50), other_issuer: box(60, 0, 80, 50),
               zero_serial: box(90, 0, 110, 50), "21068110100101O0005": box(120, 0, 140, 50)}
    report = check_package(package(parcels, links=[]))
    assert malformed(report) == {
        ("DK", "DKBM", short, "format"), ("DK", "DKBM", other_issuer, "unknown_issuer"),
        ("DK", "DKBM", zero_serial, "serial"), ("DK", "DKBM", "21068110100101O0005", "format")}
    assert all(p.severity == "blocking" for p in found(report, "malformed_codes"))
    assert_only(report, malformed_codes=4)


def test_without_fbf_the_issuer_part_must_still_be_a_county_township_and_village():
    parcels = {dk(1): box(0, 0, 20, 50), "2106001010010100001": box(30, 0, 50, 50),
               "2106811010000100001": box(60, 0, 80, 50)}
    report = check_package(package(parcels, full=False))
    assert malformed(report) == {("DK", "DKBM", "2106001010010100001", "issuer_area"),
                                 ("DK", "DKBM", "2106811010000100001", "issuer_village")}


def test_issuer_household_and_contract_codes_follow_ny_t_2539():
    bad_household = ISSUER + "0000"
    report = check_package(package(
        FIELDS,
        issuers=[{"FBFBM": ISSUER}, {"FBFBM": "2106811010010"}, {"FBFBM": "21060010100101"}],
        households=[{"CBFBM": HOUSEHOLD}, {"CBFBM": bad_household}],
        contracts=[{"CBHTBM": CONTRACT, "FBFBM": ISSUER, "CBFBM": HOUSEHOLD, "CBFS": "110"},
                   {"CBHTBM": HOUSEHOLD + "X", "FBFBM": ISSUER, "CBFBM": HOUSEHOLD, "CBFS": "110"}],
        links=[{"DKBM": dk(1), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT, "CBJYQZBM": CONTRACT},
               {"DKBM": "2106811010010200002", "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT},
               {"DKBM": dk(3), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT, "CBJYQZBM": HOUSEHOLD + "K"}],
    ))
    assert malformed(report) == {
        ("FBF", "FBFBM", "2106811010010", "format"),
        ("FBF", "FBFBM", "21060010100101", "area"),
        ("CBF", "CBFBM", bad_household, "serial"),
        ("CBHT", "CBHTBM", HOUSEHOLD + "X", "contract_code"),
        ("CBDKXX", "DKBM", "2106811010010200002", "parcel_of_other_issuer"),
        ("CBDKXX", "CBJYQZBM", HOUSEHOLD + "K", "certificate_code"),
    }
    county = next(p for p in found(report, "malformed_codes") if p.details["reason"] == "area")
    assert "县级行政区划代码" in county.message_zh and "county code" in county.message_en


# --- overlaps --------------------------------------------------------------------------------------


def test_overlapping_parcels_are_one_blocking_problem_with_both_codes_and_the_area():
    report = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(18, 0, 38, 50)}))
    problem = only(report, "overlaps")
    assert problem.severity == "blocking" and problem.codes == (dk(1), dk(2))
    assert problem.size == pytest.approx(100.0, abs=0.01)  # 2 m × 50 m
    assert shapely.area(shapely.symmetric_difference(problem.geometry, local(box(18, 0, 20, 50)))) < 1e-12
    assert problem.details["rows"] == [1, 2]
    assert "100.00 平方米" in problem.message_zh and dk(1) in problem.message_zh and dk(2) in problem.message_zh
    assert "100.00 m²" in problem.message_en


def test_touching_neighbours_are_not_overlaps():
    parcels = {dk(1): box(0, 0, 20, 50), dk(2): box(20, 0, 40, 50), dk(3): box(40, 50, 60, 70),
               dk(4): box(0, 50, 10, 60)}  # an edge, a corner, a partial edge
    report = check_package(package(parcels))
    assert report.qa["overlaps"] == 0 and report.qa["duplicate_geometries"] == 0


def test_a_shared_boundary_digitised_twice_is_noise_not_an_overlap():
    # dk(2)'s west edge lies 0.1 mm inside dk(1): 5 cm² over 50 m.
    report = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(19.9999, 0, 40, 50)}))
    assert report.qa["overlaps"] == 0


@pytest.mark.parametrize(("depth_m", "severity"), [(0.5, "warning"), (0.51, "blocking")])
def test_an_overlap_at_the_tolerance_is_a_warning_just_above_it_blocks(depth_m, severity):
    # A 1 m wide tongue of dk(2) reaching depth_m into dk(1): 0.5 m² exactly is at the tolerance.
    tongue = shapely.union(box(20, 0, 40, 50), box(20 - depth_m, 10, 20, 11))
    problem = only(check_package(package({dk(1): box(0, 0, 20, 50), dk(2): tongue}), overlap_tolerance_m2=0.5),
                   "overlaps")
    assert problem.severity == severity
    assert problem.size == pytest.approx(depth_m, abs=1e-4)


def test_a_parcel_drawn_twice_is_a_duplicate_geometry_not_an_overlap():
    report = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(0, 0, 20, 50)}))
    problem = only(report, "duplicate_geometries")
    assert problem.severity == "blocking" and problem.codes == (dk(1), dk(2))
    assert problem.size == pytest.approx(1000.0, abs=0.01)
    assert report.qa["overlaps"] == 0


def test_a_parcel_inside_another_overlaps_by_its_own_area():
    problem = only(check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(5, 5, 10, 10)})), "overlaps")
    assert problem.codes == (dk(1), dk(2)) and problem.size == pytest.approx(25.0, abs=0.01)


# --- gaps ------------------------------------------------------------------------------------------


def test_a_boundary_digitised_twice_10_cm_apart_is_a_gap_warning():
    report = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(20.1, 0, 40, 50)}))
    problem = only(report, "gaps")
    assert problem.severity == "warning" and problem.codes == (dk(1), dk(2))
    assert problem.size == pytest.approx(5.0, abs=0.05)  # 0.1 m × 50 m
    assert problem.details["max_width_m"] == pytest.approx(0.1, abs=0.01)
    assert problem.details["length_m"] == pytest.approx(50.0, abs=0.5)
    assert local(box(20, 0, 20.1, 50)).contains(shapely.point_on_surface(problem.geometry))
    assert_only(report, gaps=1)


def test_fields_separated_by_a_ridge_have_no_gap():
    report = check_package(package(FIELDS))  # 0.6 m ridges
    assert report.qa["gaps"] == 0
    narrow = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(20.3, 0, 40, 50)}))
    assert narrow.qa["gaps"] == 0  # 0.3 m: a narrow ridge, wider than the 0.2 m gap width
    wider = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(20.3, 0, 40, 50)}), gap_width_m=0.5)
    assert only(wider, "gaps").size == pytest.approx(15.0, abs=0.1)


def test_fields_parting_at_a_corner_have_no_gap():
    # They share the corner (20, 0) and part at 30°: the space between them is a wedge, not a seam.
    wedge = shapely.Polygon([(20, 0), (80, 0), (80, 50), (20 + 50 * np.tan(np.radians(30)), 50)])
    report = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): wedge}))
    assert report.qa["gaps"] == 0 and report.qa["overlaps"] == 0


def test_a_short_gap_under_the_minimum_length_is_not_reported():
    report = check_package(package({dk(1): box(0, 0, 20, 50), dk(2): box(20.1, 0, 40, 1.5)}))
    assert report.qa["gaps"] == 0


# --- slivers ---------------------------------------------------------------------------------------


def test_tiny_and_thin_parcels_are_sliver_warnings_fields_are_not():
    parcels = {dk(1): box(0, 0, 20, 50), dk(2): box(30, 0, 30.5, 0.5), dk(3): box(40, 0, 40.3, 30)}
    report = check_package(package(parcels))
    assert {p.codes: (p.severity, round(p.size, 3), round(p.details["mean_width_m"], 3))
            for p in found(report, "slivers")} == {
        (dk(2),): ("warning", 0.25, 0.25),  # 0.25 m², under 1 m²
        (dk(3),): ("warning", 9.0, 0.297),  # 9 m² but 0.3 m wide
    }


# --- implausible parcels ---------------------------------------------------------------------------


def elsewhere(pkg: Package, code: str, geom_4490) -> Package:
    """The package with one parcel's geometry replaced by ``geom_4490`` (lon/lat, anywhere)."""
    parcels = pkg.parcels.copy()
    parcels.loc[parcels["DKBM"] == code, "geometry"] = shapely.MultiPolygon([geom_4490])
    return Package(parcels=parcels, tables=pkg.tables, source_epsg=pkg.source_epsg, layer=pkg.layer)


def test_a_parcel_larger_than_the_limit_is_implausible_and_blocks():
    parcels = {**FIELDS, dk(4): box(100, 0, 3100, 4000)}  # 12 km²
    problem = only(check_package(package(parcels)), "implausible")
    assert (problem.codes, problem.severity, problem.details["reason"]) == ((dk(4),), "blocking", "area_too_large")
    assert problem.size == pytest.approx(12e6, rel=1e-3) and "12.00 平方千米" in problem.message_zh
    assert check_package(package(parcels), max_area_m2=20e6).qa["implausible"] == 0
    assert check_package(package(FIELDS), max_area_m2=999.0).qa["implausible"] == 3  # 1,000 m² each


def test_a_parcel_across_its_zone_is_implausible():
    pkg = elsewhere(package(FIELDS), dk(2), box(119.0, 39.9, 125.0, 39.90001))  # 0.6 km², six degrees long
    problem = only(check_package(pkg), "implausible")
    assert (problem.codes, problem.details["reason"]) == ((dk(2),), "spans_zones")
    assert problem.details["longitudes"] == pytest.approx([119.0, 125.0])


def test_a_parcel_far_from_the_rest_of_its_county_is_implausible():
    pkg = elsewhere(package(FIELDS), dk(3), box(104.06, 30.65, 104.062, 30.6515))  # Chengdu
    problem = only(check_package(pkg), "implausible")
    assert (problem.codes, problem.details["reason"]) == ((dk(3),), "outside_county_zone")
    assert problem.details["band"] == [121.0, 125.0]  # zone 41 (123°E) and its overlap
    assert "不在本县地块所在的 3 度带内" in problem.message_zh


def test_the_county_zones_come_from_its_registered_parcels():
    chengdu = elsewhere(elsewhere(elsewhere(package(FIELDS), dk(1), box(104.06, 30.65, 104.062, 30.6515)),
                                  dk(2), box(104.07, 30.65, 104.072, 30.6515)),
                        dk(3), box(104.08, 30.65, 104.082, 30.6515))
    assert check_package(chengdu).qa["implausible"] == 0  # a county of its own, as far as the package says
    report = check_package(chengdu, county_longitudes=(124.0, 124.4))  # but its county's parcels are in Donggang
    assert {p.details["reason"] for p in found(report, "implausible")} == {"outside_county_zone"}
    assert report.qa["implausible"] == 3
    # a county astride 124.5°E registered west of it so far: its parcels east of the boundary are its own
    dandong = elsewhere(package(FIELDS), dk(1), box(125.6, 40.1, 125.601, 40.101))
    dandong = elsewhere(elsewhere(dandong, dk(2), box(125.7, 40.1, 125.701, 40.101)),
                        dk(3), box(125.8, 40.1, 125.801, 40.101))
    assert check_package(dandong, county_longitudes=(124.0, 124.4)).qa["implausible"] == 0


# --- area mismatch ---------------------------------------------------------------------------------


def test_declared_area_off_by_more_than_the_tolerance_is_a_warning():
    parcels = {dk(1): box(0, 0, 20, 50), dk(2): box(30, 0, 50, 50), dk(3): box(60, 0, 80, 50),
               dk(4): box(90, 0, 110, 50)}
    report = check_package(package(parcels, scmj={dk(1): 1200.0, dk(2): 1090.0, dk(3): 850.0, dk(4): np.nan}))
    by_code = {p.codes: p for p in found(report, "area_mismatch")}
    assert set(by_code) == {(dk(1),), (dk(3),)}
    assert by_code[(dk(1),)].severity == "warning"
    assert by_code[(dk(1),)].size == pytest.approx(0.2, abs=1e-4)
    assert by_code[(dk(3),)].details["relative_difference"] == pytest.approx(-0.15, abs=1e-4)
    assert by_code[(dk(1),)].details["measured_m2"] == pytest.approx(1000.0, abs=0.01)
    assert by_code[(dk(1),)].details["declared_m2"] == 1200.0
    assert check_package(package(parcels, scmj={dk(1): 1200.0}), area_tolerance=0.25).qa["area_mismatch"] == 0


# --- tables ----------------------------------------------------------------------------------------


def test_links_to_missing_parcels_households_and_contracts_block():
    stranger = ISSUER + "0002"
    report = check_package(package(
        FIELDS,
        links=[{"DKBM": dk(1), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT},
               {"DKBM": dk(9), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT},
               {"DKBM": dk(2), "CBFBM": stranger, "CBHTBM": stranger + "J"},
               {"DKBM": dk(3), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT}],
    ))
    assert only(report, "missing_parcels").codes == (dk(9),)
    assert only(report, "missing_parcels").details == {"table": "CBDKXX", "rows": [2]}
    assert only(report, "missing_contracts").codes == (stranger + "J",)
    assert {(p.codes, p.details["table"]) for p in found(report, "missing_households")} == {
        ((stranger,), "CBDKXX")}
    assert all(p.severity == "blocking" for p in report.problems)
    assert_only(report, missing_parcels=1, missing_contracts=1, missing_households=1)


def test_members_and_contracts_of_a_household_cbf_lacks_block_once_per_table():
    stranger = ISSUER + "0002"
    members = [{"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": id_number(), "CYXB": "1", "YHZGX": "02"},
               {"CBFBM": stranger, "CYZJLX": "1", "CYZJHM": id_number("19800101", 11), "CYXB": "1", "YHZGX": "02"},
               {"CBFBM": stranger, "CYZJLX": "1", "CYZJHM": id_number("19820101", 22), "CYXB": "2", "YHZGX": "10"}]
    contracts = [{"CBHTBM": CONTRACT, "FBFBM": ISSUER, "CBFBM": HOUSEHOLD, "CBFS": "110"},
                 {"CBHTBM": stranger + "J", "FBFBM": ISSUER, "CBFBM": stranger, "CBFS": "110"}]
    report = check_package(package(FIELDS, members=members, contracts=contracts))
    assert {(p.codes, p.details["table"], tuple(p.details["rows"])) for p in found(report, "missing_households")} == {
        ((stranger,), "CBF_JTCY", (2, 3)), ((stranger,), "CBHT", (2,))}


def test_a_parcel_in_two_contracts_blocks():
    other = ISSUER + "0002"
    report = check_package(package(
        FIELDS,
        households=[{"CBFBM": HOUSEHOLD}, {"CBFBM": other}],
        members=[{"CBFBM": HOUSEHOLD, "YHZGX": "02", "CYZJLX": "9", "CYZJHM": "x"},
                 {"CBFBM": other, "YHZGX": "01", "CYZJLX": "9", "CYZJHM": "y"}],
        contracts=[{"CBHTBM": CONTRACT, "FBFBM": ISSUER, "CBFBM": HOUSEHOLD},
                   {"CBHTBM": other + "J", "FBFBM": ISSUER, "CBFBM": other}],
        links=[{"DKBM": dk(1), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT},
               {"DKBM": dk(1), "CBFBM": other, "CBHTBM": other + "J"},
               {"DKBM": dk(2), "CBFBM": other, "CBHTBM": other + "J"},
               {"DKBM": dk(2), "CBFBM": other, "CBHTBM": other + "J"}],  # listed twice, same contract: fine
    ))
    problem = only(report, "parcels_in_two_contracts")
    assert problem.severity == "blocking"
    assert problem.codes == (dk(1), CONTRACT, other + "J") and problem.details["rows"] == [1, 2]
    assert_only(report, parcels_in_two_contracts=1)


def test_resident_id_numbers_must_pass_gb_11643():
    good, head = id_number("19800101", 11), id_number()
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    members = [
        {"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": head, "CYXB": "1", "YHZGX": "02"},
        {"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": wrong_check, "CYXB": "1", "YHZGX": "20"},
        {"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": id_number("19800230", 11), "CYXB": "1", "YHZGX": "20"},
        {"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": id_number("19800101", 12), "CYXB": "1", "YHZGX": "30"},
        {"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": "21068119800101", "CYXB": "2", "YHZGX": "30"},
        {"CBFBM": HOUSEHOLD, "CYZJLX": "2", "CYZJHM": "军官证 123", "CYXB": "1", "YHZGX": "20"},  # not a resident ID
        {"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": "11010519491231002X", "CYXB": "2", "YHZGX": "50"},
    ]
    households = [{"CBFBM": HOUSEHOLD, "CBFZJLX": "1", "CBFZJHM": head[:17] + "Y"}]
    report = check_package(package(FIELDS, members=members, households=households))
    assert {(p.details["table"], p.details["row"], p.details["reason"]) for p in found(report, "invalid_id_numbers")} \
        == {("CBF_JTCY", 2, "check_digit"), ("CBF_JTCY", 3, "birth_date"), ("CBF_JTCY", 4, "sex"),
            ("CBF_JTCY", 5, "format"), ("CBF", 1, "format")}
    problem = next(p for p in found(report, "invalid_id_numbers") if p.details["reason"] == "check_digit")
    assert problem.severity == "blocking" and problem.codes == (HOUSEHOLD,)
    assert wrong_check not in problem.message_zh and problem.details["id_number"] == wrong_check[:6] + "*" * 8 + \
        wrong_check[-4:]


def test_a_household_without_a_head_blocks():
    other = ISSUER + "0002"
    members = [{"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": id_number(), "CYXB": "1", "YHZGX": "01"},
               {"CBFBM": other, "CYZJLX": "1", "CYZJHM": id_number("19800101", 11), "CYXB": "1", "YHZGX": "10"},
               {"CBFBM": other, "CYZJLX": "1", "CYZJHM": id_number("20050101", 22), "CYXB": "2", "YHZGX": "30"}]
    third = ISSUER + "0003"  # no members at all
    report = check_package(package(FIELDS, members=members,
                                   households=[{"CBFBM": HOUSEHOLD}, {"CBFBM": other}, {"CBFBM": third}]))
    assert [(p.codes, p.severity) for p in found(report, "households_without_head")] == [
        ((other,), "blocking"), ((third,), "blocking")]


def test_a_household_code_twice_and_a_person_in_two_households_block():
    other = ISSUER + "0002"
    person = id_number("19800101", 11)
    members = [{"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": id_number(), "CYXB": "1", "YHZGX": "02"},
               {"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": person, "CYXB": "1", "YHZGX": "20"},
               {"CBFBM": other, "CYZJLX": "1", "CYZJHM": person.lower(), "CYXB": "1", "YHZGX": "02"}]
    report = check_package(package(FIELDS, members=members,
                                   households=[{"CBFBM": HOUSEHOLD}, {"CBFBM": other}, {"CBFBM": other}]))
    assert only(report, "duplicate_households").codes == (other,)
    assert only(report, "duplicate_households").details == {"table": "CBF", "rows": [2, 3]}
    member = only(report, "duplicate_members")
    assert member.codes == (HOUSEHOLD, other) and member.details["rows"] == [2, 3]
    assert_only(report, duplicate_households=1, duplicate_members=1)


# --- the report ------------------------------------------------------------------------------------


def messy_report():
    parcels = {**FIELDS, dk(4): box(10, 10, 30, 30), dk(5): box(0, 60, 0.4, 90)}
    return check_package(package(parcels, links=[{"DKBM": dk(9), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT}]))


def test_report_lists_blocking_problems_first_and_serialises_to_json():
    report = messy_report()
    severities = [p.severity for p in report.problems]
    assert severities == sorted(severities, key=lambda s: s != "blocking")
    assert report.blocking == severities.count("blocking") == 3
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["qa"] == report.qa and data["counts"] == report.counts and data["blocking"] == 3
    assert [p["check"] for p in data["problems"]] == ["overlaps", "overlaps", "missing_parcels", "slivers"]
    assert data["problems"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert data["problems"][2]["geometry"] is None


def test_every_kind_of_problem_serialises_to_json_and_geojson():
    bowtie = shapely.Polygon([(0, 0), (20, 20), (20, 0), (0, 20)])
    parcels = {dk(1): bowtie, dk(2): box(15, 0, 35, 20), dk(3): box(35.1, 0, 55, 20), dk(4): box(60, 0, 60.4, 30),
               dk(5): None, "2106811010010200001": box(70, 0, 90, 20), dk(7): box(70, 0, 90, 20)}
    pkg = package(parcels, scmj={dk(3): 10.0},
                  members=[{"CBFBM": HOUSEHOLD, "CYZJLX": "1", "CYZJHM": "210681197507029834", "YHZGX": "10"}],
                  links=[{"DKBM": dk(1), "CBFBM": HOUSEHOLD, "CBHTBM": CONTRACT, "CBJYQZBM": "x"},
                         {"DKBM": dk(1), "CBFBM": HOUSEHOLD, "CBHTBM": HOUSEHOLD + "K"},
                         {"DKBM": dk(9), "CBFBM": ISSUER + "0009", "CBHTBM": CONTRACT}])
    pkg.parcels.loc[6, "DKBM"] = dk(2)
    report = check_package(pkg)
    assert {k for k, v in report.qa.items() if v} == {
        "invalid", "duplicate_codes", "malformed_codes", "overlaps", "duplicate_geometries", "gaps", "slivers",
        "area_mismatch", "missing_parcels", "missing_households", "missing_contracts", "parcels_in_two_contracts",
        "invalid_id_numbers", "households_without_head"}
    text = json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False)
    assert json.loads(text)["qa"] == report.qa
    collection = json.loads(json.dumps(report.to_geojson(), ensure_ascii=False, allow_nan=False))
    assert len(collection["features"]) == len(report.problems)
    for feature in collection["features"]:
        if feature["geometry"] is not None:
            assert shapely.geometry.shape(feature["geometry"]).is_empty is False


def test_geojson_has_one_feature_per_problem_in_lon_lat_with_counter_clockwise_rings():
    report = messy_report()
    collection = json.loads(json.dumps(report.to_geojson()))
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == len(report.problems)
    first = collection["features"][0]
    assert set(first["properties"]) == {"check", "severity", "codes", "message_zh", "message_en", "size"}
    shape = shapely.geometry.shape(first["geometry"])
    assert 124.1 < shape.centroid.x < 124.2 and 39.8 < shape.centroid.y < 39.9
    ring = shapely.get_exterior_ring(shapely.get_geometry(shape, 0))
    assert shapely.is_ccw(ring)


def test_problems_found_elsewhere_join_the_counts_and_the_order():
    report = messy_report()
    extra = Problem("registry_conflicts", "blocking", (dk(1),), "地块编码已登记", "parcel code already registered")
    report.add([extra])
    assert report.qa["registry_conflicts"] == 1 and report.blocking == 4
    assert report.problems.index(extra) == 3  # after the blocking checks of the QA, before its warnings


# --- the sample package ----------------------------------------------------------------------------

#: The sample's overlapping pairs and their areas in m², as measured (EPSG:4550 plane of the source).
SAMPLE_OVERLAPS = {
    ("2106811010010900094", "2106811010011000031"): 28.08,
    ("2106811010010900095", "2106811010011000016"): 90.62,
    ("2106811010010900096", "2106811010011000018"): 1376.16,
    ("2106811010010900097", "2106811010011000147"): 342.39,
    ("2106811010010900098", "2106811010011000059"): 463.90,
    ("2106811010010900099", "2106811010011000053"): 90.73,
    ("2106811010010900100", "2106811010011000123"): 507.82,
    ("2106811010010900101", "2106811010011000118"): 986.03,
    ("2106811010010900102", "2106811010011000113"): 251.88,
    ("2106811010010900103", "2106811010011000044"): 42.87,
    ("2106811010010900104", "2106811010011000045"): 1040.84,
    ("2106811010010900119", "2106811010011000088"): 1039.82,
    ("2106811010010900120", "2106811010011000073"): 1311.11,
    ("2106811010010900328", "2106811010011000139"): 2455.76,
}
#: Its slivers: fragments under 1 m² or strips under 0.5 m wide, left where fields were cut.
SAMPLE_SLIVERS = {
    "2106811010010300034", "2106811010010500152", "2106811010010500153", "2106811010010500225",
    "2106811010010500328", "2106811010010500498", "2106811010010600009", "2106811010010600055",
    "2106811010010700035", "2106811010010700199", "2106811010010800122", "2106811010010900309",
}


def read_sample() -> Package:
    """The sample through the package reader, or (until it exists) through geopandas and pandas."""
    try:
        from gis.io import read_package
    except ImportError:
        read_package = None
    if read_package is not None:
        return read_package(SAMPLE)
    parcels = gpd.read_file(f"zip://{SAMPLE}!DK.shp").to_crs(4490)
    parts, owner = shapely.get_parts(parcels.geometry.array.to_numpy(), return_index=True)
    parcels["geometry"] = shapely.multipolygons(parts, indices=owner)  # the layer's type is MultiPolygon
    parcels["row"] = np.arange(1, len(parcels) + 1)
    with zipfile.ZipFile(SAMPLE) as z:
        tables = {name: pd.read_csv(z.open(f"{name}.csv"), dtype=object, keep_default_na=False).replace({"": None})
                  for name in TABLE_FIELDS}
    return Package(parcels=parcels, tables=tables, source_epsg=4550, layer="DK.shp")


@pytest.fixture(scope="module")
def sample_report():
    return check_package(read_sample())


def test_sample_counts(sample_report):
    assert sample_report.counts == {"parcels": 3432, "collectives": 10, "households": 639, "members": 1951,
                                    "contracts": 639, "contract_parcels": 3432}


def test_sample_overlaps_are_its_14_real_ones_with_both_codes_and_their_areas(sample_report):
    overlaps = found(sample_report, "overlaps")
    assert {p.codes: p.size for p in overlaps} == pytest.approx(SAMPLE_OVERLAPS, abs=0.01)
    assert all(p.severity == "blocking" for p in overlaps)
    assert sample_report.blocking == 14


def test_sample_has_its_slivers_no_gaps_and_nothing_else(sample_report):
    assert {p.codes[0] for p in found(sample_report, "slivers")} == SAMPLE_SLIVERS
    assert_only(sample_report, overlaps=14, slivers=12)


def test_sample_geojson_is_in_lon_lat_near_donggang(sample_report):
    collection = json.loads(json.dumps(sample_report.to_geojson(), ensure_ascii=False))
    assert len(collection["features"]) == 26
    coords = np.concatenate([shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))
                             for f in collection["features"]])
    assert (coords[:, 0] > 123.9).all() and (coords[:, 0] < 124.1).all()
    assert (coords[:, 1] > 39.9).all() and (coords[:, 1] < 40.0).all()

