"""Parcels through the API: area, 四至, overlap refusal, queries, history, CRS."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from gis.crs import to_storage
from tests.conftest import COLLECTIVE, square


def test_parcel_area_and_code_assigned(make_parcel):
    f = make_parcel()
    assert f["id"] == COLLECTIVE + "00001"
    p = f["properties"]
    assert p["area_m2"] == pytest.approx(2500, rel=0.01)
    assert p["area_mu"] == 3.75
    assert p["neighbours"] == {"east": [], "south": [], "west": [], "north": []}
    assert f["geometry"]["type"] == "MultiPolygon"


def test_parcel_codes_follow_collective_serial(make_parcel):
    assert make_parcel(0, 0)["id"].endswith("00001")
    assert make_parcel(100, 0)["id"].endswith("00002")
    assert make_parcel(200, 0, code=COLLECTIVE + "00010")["id"].endswith("00010")
    assert make_parcel(300, 0)["id"].endswith("00011")


def test_given_parcel_code_must_be_free_and_of_the_collective(clerk, make_parcel):
    make_parcel(code=COLLECTIVE + "00007")
    body = {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated",
            "geometry": square(500, 0)}
    r = clerk.post("/api/v1/parcels", json=body | {"code": COLLECTIVE + "00007"})
    assert r.status_code == 409 and r.get_json()["rule"] == "PARCEL_CODE_TAKEN"
    r = clerk.post("/api/v1/parcels", json=body | {"code": "2106811010010200001"})
    assert r.status_code == 422 and r.get_json()["rule"] == "PARCEL_CODE_INVALID"


def test_four_sides_name_adjoining_parcels(clerk, make_parcel):
    centre = make_parcel(100, 100)["id"]
    east = make_parcel(150, 100)["id"]
    west = make_parcel(50, 100)["id"]
    north = make_parcel(100, 150)["id"]
    south = make_parcel(100, 50)["id"]
    make_parcel(400, 400)
    got = clerk.get(f"/api/v1/parcels/{centre}").get_json()["properties"]["neighbours"]
    assert got == {"east": [east], "south": [south], "west": [west], "north": [north]}


def test_overlap_refused_with_codes_and_area(clerk, make_parcel):
    first = make_parcel(0, 0)["id"]
    body = {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated",
            "geometry": square(40, 0)}
    r = clerk.post("/api/v1/parcels", json=body)
    err = r.get_json()
    assert r.status_code == 409 and err["rule"] == "PARCEL_OVERLAP"
    assert err["details"]["overlaps"][0]["code"] == first
    assert err["details"]["overlaps"][0]["overlap_m2"] == pytest.approx(500, rel=0.01)
    assert "basis" in err


def test_touching_parcel_is_not_an_overlap(make_parcel):
    make_parcel(0, 0)
    f = make_parcel(50, 0)
    assert "warnings" not in f["properties"]


def test_overlap_within_tolerance_accepted_with_warning(make_parcel):
    make_parcel(0, 0)
    f = make_parcel(49.995, 0)  # 0.005 m × 50 m = 0.25 m², below the 0.5 m² default
    warnings = f["properties"]["warnings"]
    assert warnings[0]["rule"] == "PARCEL_OVERLAP" and 0 < warnings[0]["overlap_m2"] <= 0.5


def test_overlap_tolerance_is_a_setting(app, clerk, make_parcel):
    app.extensions["sanquan"].settings.overlap_tolerance_m2 = 0.0
    make_parcel(0, 0)
    body = {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated",
            "geometry": square(49.995, 0)}
    assert clerk.post("/api/v1/parcels", json=body).status_code == 409


def test_projected_input_crs_reprojected_to_storage(clerk, make_collective):
    make_collective()
    e0, n0 = 600_000, 4_420_000
    ring = [[e0, n0], [e0 + 50, n0], [e0 + 50, n0 + 50], [e0, n0 + 50], [e0, n0]]
    r = clerk.post("/api/v1/parcels", json={"collective": COLLECTIVE, "kind": "contract_land",
                                            "land_use": "cultivated", "crs": "EPSG:4550",
                                            "geometry": {"type": "Polygon", "coordinates": [ring]}})
    assert r.status_code == 201
    f = r.get_json()
    lon, lat = f["geometry"]["coordinates"][0][0][0]
    assert 123.9 < lon < 124.3 and 39.8 < lat < 40.0
    assert f["properties"]["area_m2"] == pytest.approx(2500, rel=0.001)
    back = clerk.get(f"/api/v1/parcels/{f['id']}?crs=EPSG:4550").get_json()
    x, y = back["geometry"]["coordinates"][0][0][0]
    assert (x, y) == (pytest.approx(e0, abs=0.001), pytest.approx(n0, abs=0.001))


def test_query_by_point_bbox_and_collective(clerk, make_parcel, make_collective):
    a = make_parcel(0, 0)
    b = make_parcel(1000, 0)
    centre = shapely.geometry.shape(a["geometry"]).centroid
    got = clerk.get(f"/api/v1/parcels?contains={centre.x},{centre.y}").get_json()
    assert [f["id"] for f in got["features"]] == [a["id"]]
    minx, miny, maxx, maxy = shapely.geometry.shape(b["geometry"]).bounds
    got = clerk.get(f"/api/v1/parcels?bbox={minx},{miny},{maxx},{maxy}").get_json()
    assert [f["id"] for f in got["features"]] == [b["id"]]
    got = clerk.get(f"/api/v1/parcels?collective={COLLECTIVE}&limit=1").get_json()
    assert [f["id"] for f in got["features"]] == [a["id"]] and got["next_cursor"] == a["id"]
    got = clerk.get(f"/api/v1/parcels?collective={COLLECTIVE}&limit=1&cursor={a['id']}").get_json()
    assert [f["id"] for f in got["features"]] == [b["id"]] and got["next_cursor"] is None


def test_bbox_query_excludes_parcels_whose_box_but_not_shape_meets_it(clerk, make_collective):
    make_collective()
    # An L-shaped parcel: its bounding box covers the empty corner, its shape does not.
    l_shape = shapely.Polygon([(0, 0), (100, 0), (100, 20), (20, 20), (20, 100), (0, 100)])
    geom = to_storage(np.array([shapely.affinity.translate(l_shape, 590_000, 4_413_000)]), 4550)[0]
    r = clerk.post("/api/v1/parcels", json={"collective": COLLECTIVE, "kind": "contract_land",
                                            "land_use": "cultivated", "geometry": shapely.geometry.mapping(geom)})
    assert r.status_code == 201
    corner = to_storage(np.array([shapely.box(590_060, 4_413_060, 590_090, 4_413_090)]), 4550)[0]
    box = ",".join(str(v) for v in corner.bounds)
    assert clerk.get(f"/api/v1/parcels?bbox={box}").get_json()["features"] == []
    x, y = corner.centroid.x, corner.centroid.y
    assert clerk.get(f"/api/v1/parcels?contains={x},{y}").get_json()["features"] == []


def test_parcel_history_links_ledger_entry(clerk, admin, make_parcel):
    f = make_parcel()
    hist = clerk.get(f"/api/v1/parcels/{f['id']}/history").get_json()
    assert [v["properties"]["version"] for v in hist["versions"]] == [1]
    seq = hist["versions"][0]["properties"]["ledger_seq"]
    entries = admin.get(f"/api/v1/ledger/210681?after={seq - 1}&limit=1").get_json()["items"]
    assert entries[0]["kind"] == "parcel.registered" and entries[0]["subjects"] == [f["id"]]


def test_parcel_outside_scope_is_404(callers, make_parcel):
    f = make_parcel()
    other = callers["other_clerk"]
    assert other.get(f"/api/v1/parcels/{f['id']}").status_code == 404
    assert other.get(f"/api/v1/parcels/{f['id']}/history").status_code == 404
    assert other.get("/api/v1/parcels").get_json()["features"] == []


@pytest.mark.parametrize("role", ["exchange", "arbitrator", "auditor"])
def test_only_registry_writers_register_parcels(callers, make_collective, role):
    make_collective()
    body = {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated", "geometry": square(0, 0)}
    assert callers[role].post("/api/v1/parcels", json=body).status_code == 403
    assert callers[role].get("/api/v1/parcels").status_code == 200


def test_homestead_kind_requires_homestead_land_use(clerk, make_collective):
    make_collective()
    body = {"collective": COLLECTIVE, "kind": "homestead", "land_use": "cultivated", "geometry": square(0, 0)}
    r = clerk.post("/api/v1/parcels", json=body)
    assert r.status_code == 422 and "land_use" in r.get_json()["errors"]


def test_parcel_codes_stop_at_99999(clerk, make_parcel):
    make_parcel(0, 0, code=COLLECTIVE + "99999")
    body = {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated", "geometry": square(100, 0)}
    r = clerk.post("/api/v1/parcels", json=body)
    assert r.status_code == 409 and r.get_json()["rule"] == "PARCEL_CODES_EXHAUSTED"


def test_lists_carry_four_sides_only_when_asked(clerk, make_parcel):
    a = make_parcel(0, 0)["id"]
    b = make_parcel(50, 0)["id"]
    plain = clerk.get("/api/v1/parcels").get_json()["features"]
    assert all("neighbours" not in f["properties"] for f in plain)
    full = clerk.get("/api/v1/parcels?neighbours=true").get_json()["features"]
    assert {f["id"]: f["properties"]["neighbours"]["east"] for f in full} == {a: [b], b: []}


def test_failed_output_reprojection_is_422_not_500(clerk, make_parcel, monkeypatch):
    from app.parcels import services
    from gis.errors import GeometryInputError
    code = make_parcel()["id"]

    def refuse(geoms, epsg):
        raise GeometryInputError("OUTSIDE_SUPPORTED_AREA", "not_transformable", "no image", "无法转换")
    monkeypatch.setattr(services.gis_crs, "from_storage", refuse)
    for url in (f"/api/v1/parcels/{code}?crs=EPSG:4513", f"/api/v1/parcels/{code}/history?crs=EPSG:4513",
                "/api/v1/parcels?crs=EPSG:4513"):
        r = clerk.get(url)
        assert r.status_code == 422 and r.get_json()["rule"] == "OUTSIDE_SUPPORTED_AREA", url
