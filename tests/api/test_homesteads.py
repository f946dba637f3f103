"""Homestead use rights (宅基地使用权) through the API, on both engines."""
from __future__ import annotations

import io
import math

import pytest

from tests.conftest import COLLECTIVE


@pytest.fixture
def plot(make_parcel):
    spot = {"x": 0}

    def make(area_m2=200.0):
        spot["x"] += 100
        return make_parcel(spot["x"], 500, size_m=math.sqrt(area_m2), kind="homestead", land_use="homestead")["id"]
    return make


@pytest.fixture
def homestead(clerk, make_household):
    def register(parcel, holder=None, expect=201, **extra):
        holder = holder or make_household()["code"]
        r = clerk.post("/api/v1/rights", json={"type": "homestead", "holder": holder, "parcel": parcel,
                                               "approved_on": "2015-06-01", **extra})
        assert r.status_code == expect, r.get_json()
        return r.get_json()
    return register


def test_homestead_registered_with_approval(clerk, homestead, plot):
    doc = clerk.client.post("/api/v1/documents", content_type="multipart/form-data",
                            headers={"Authorization": f"Bearer {clerk.token}"},
                            data={"kind": "approval", "title": "宅基地批准书", "file": (io.BytesIO(b"%PDF"), "a.pdf")})
    parcel = plot(200)
    right = homestead(parcel, approval_document=doc.get_json()["id"])
    assert right["id"].endswith("Z") and right["type"] == "homestead"
    assert [p["code"] for p in right["parcels"]] == [parcel] and right["start"] == "2015-06-01"


def test_one_homestead_per_household(make_household, homestead, plot):
    h = make_household()["code"]
    homestead(plot(), holder=h)
    r = homestead(plot(), holder=h, expect=409)
    assert r["rule"] == "ONE_HOMESTEAD_PER_HOUSEHOLD" and r["basis"] == "土地管理法 第六十二条"


def test_area_at_the_standard_passes_one_m2_over_is_refused(homestead, plot):
    homestead(plot(300.0))
    r = homestead(plot(301.0), expect=422)
    assert r["rule"] == "HOMESTEAD_AREA_EXCEEDS_STANDARD" and r["details"]["standard_m2"] == 300.0


def test_collective_may_set_its_own_standard(clerk, homestead, plot):
    big = plot(280.0)
    assert clerk.put(f"/api/v1/collectives/{COLLECTIVE}/homestead-standard", json={"max_m2": 250}).status_code == 200
    assert homestead(big, expect=422)["details"]["standard_m2"] == 250.0
    clerk.put(f"/api/v1/collectives/{COLLECTIVE}/homestead-standard", json={"max_m2": None})
    homestead(big)


def test_no_new_homestead_after_the_house_was_sold(clerk, make_household, homestead, plot):
    h = make_household()["code"]
    r = clerk.post(f"/api/v1/households/{h}/house-disposals", json={"kind": "sold", "occurred_on": "2019-05-01"})
    assert r.status_code == 201
    refused = homestead(plot(), holder=h, expect=422)
    assert refused["rule"] == "HOMESTEAD_REAPPLICATION_BARRED" and refused["details"]["disposal"] == "sold"


def test_homestead_only_on_homestead_plots_and_once_per_plot(homestead, plot, make_parcel):
    field = make_parcel(0, 0)["id"]
    assert homestead(field, expect=422)["rule"] == "PARCEL_KIND_MISMATCH"
    parcel = plot()
    homestead(parcel)
    assert homestead(parcel, expect=409)["rule"] == "PARCEL_ALREADY_HELD"


def test_fields_must_fit_the_type(clerk, make_household, plot):
    body = {"type": "homestead", "holder": make_household()["code"], "parcel": plot(), "approved_on": "2015-06-01",
            "start": "2028-01-01"}
    r = clerk.post("/api/v1/rights", json=body)
    assert r.status_code == 422 and "start" in r.get_json()["errors"]
    del body["start"], body["approved_on"]
    r = clerk.post("/api/v1/rights", json=body)
    assert r.status_code == 422 and "approved_on" in r.get_json()["errors"]
