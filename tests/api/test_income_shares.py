"""Collective income-distribution rights (集体收益分配权) and share plans, on both engines."""
from __future__ import annotations

import pytest

from tests.conftest import COLLECTIVE


@pytest.fixture
def member_household(clerk, make_household):
    def make():
        h = make_household()
        r = clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members",
                       json={"person_id": h["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01"})
        assert r.status_code == 201
        return h["code"]
    return make


@pytest.fixture
def plan(clerk, ensure_collective):
    def put(total, cap=None, whole=True):
        ensure_collective()
        body = {"total_shares": total, "whole_shares": whole} | ({"max_holding_per_household": cap} if cap else {})
        return clerk.put(f"/api/v1/collectives/{COLLECTIVE}/share-plan", json=body)
    return put


def shares(clerk, holder, n):
    return clerk.post("/api/v1/rights", json={"type": "income_share", "holder": holder, "shares": n})


def test_shares_quantified_under_the_plan(clerk, plan, member_household):
    h = member_household()
    assert plan(1000, cap=50).status_code == 200
    r = shares(clerk, h, 30)
    assert r.status_code == 201
    right = r.get_json()
    assert right["id"] == h + "G" and right["type"] == "income_share" and right["shares"] == "30.0000"


def test_no_plan_no_shares(clerk, plan, member_household):
    r = shares(clerk, member_household(), 5)
    assert r.status_code == 409 and r.get_json()["rule"] == "SHARE_PLAN_REQUIRED"


def test_cap_boundary(clerk, plan, member_household):
    plan(1000, cap=50)
    assert shares(clerk, member_household(), 50).status_code == 201
    r = shares(clerk, member_household(), 51)
    assert r.status_code == 409 and r.get_json()["rule"] == "SHARE_HOLDING_CAP"


def test_plan_total_boundary(clerk, plan, member_household):
    plan(100)
    assert shares(clerk, member_household(), 60).status_code == 201
    assert shares(clerk, member_household(), 40).status_code == 201
    r = shares(clerk, member_household(), 1)
    assert r.status_code == 409 and r.get_json()["rule"] == "SHARES_EXCEED_PLAN"


def test_requantifying_replaces_the_holding(clerk, plan, member_household):
    plan(100)
    h = member_household()
    shares(clerk, h, 60)
    r = shares(clerk, h, 90)  # 90 alone fits; 60 + 90 would not
    assert r.status_code == 201 and r.get_json()["shares"] == "90.0000"


def test_plan_cannot_shrink_below_what_is_held(clerk, plan, member_household):
    plan(100, cap=80)
    shares(clerk, member_household(), 70)
    assert plan(69).get_json()["rule"] == "SHARES_EXCEED_PLAN"
    assert plan(100, cap=60).get_json()["rule"] == "SHARE_HOLDING_CAP"
    out = plan(200, cap=90).get_json()
    assert (out["total_shares"], out["allocated_shares"]) == ("200.0000", "70.0000")


@pytest.mark.parametrize("n,status,rule", [(-1, 422, None), (0, 422, None), (2.5, 422, "SHARES_NOT_WHOLE"),
                                           (10**12, 422, None), ("many", 422, None)])
def test_bad_share_counts(clerk, plan, member_household, n, status, rule):
    plan(1000)
    r = shares(clerk, member_household(), n)
    assert r.status_code == status and r.get_json().get("rule") == rule


def test_fractional_shares_where_the_plan_allows(clerk, plan, member_household):
    plan(1000, whole=False)
    assert shares(clerk, member_household(), 2.5).get_json()["shares"] == "2.5000"


def test_holder_needs_a_recognised_member(clerk, plan, make_household):
    plan(1000)
    r = shares(clerk, make_household()["code"], 5)
    assert r.status_code == 422 and r.get_json()["rule"] == "NOT_A_MEMBER"


def test_household_history_keeps_every_holding(clerk, plan, member_household):
    plan(100)
    h = member_household()
    shares(clerk, h, 60)
    shares(clerk, h, 90)
    right = clerk.get(f"/api/v1/rights?holder={h}&history=true").get_json()["items"][0]
    assert [x["shares"] for x in right["shares_history"]] == ["60.0000", "90.0000"]
    assert right["shares_history"][0]["valid_to"] is not None and right["shares_history"][1]["valid_to"] is None
    assert right["shares_history"][0]["ledger_seq"] < right["shares_history"][1]["ledger_seq"]
    assert "shares_history" not in clerk.get(f"/api/v1/rights?holder={h}").get_json()["items"][0]
