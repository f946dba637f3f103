"""The core guarantee (docs/rules.md §0): settling in a city never costs a right, by any request of any shape.

农村土地承包法 第二十七条; 土地管理法实施条例 第三十六条; 农村集体经济组织法 第十七、十八条.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import COLLECTIVE

TODAY = dt.date.today()


@pytest.fixture
def village(clerk, make_household, make_parcel):
    """Three member households, each with a contract, the first also with shares; returns their codes and people."""
    make_parcel(0, 0)
    households = [make_household(collective=COLLECTIVE) for _ in range(3)]
    for i, h in enumerate(households):
        parcel = make_parcel(100 * (i + 1), 0)["id"]
        assert clerk.post("/api/v1/rights", json={"type": "contract", "holder": h["code"], "parcels": [parcel],
                                                  "start": "2018-01-01", "end": "2047-12-31"}).status_code == 201
        for m in h["members"]:
            assert clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members", json={
                "person_id": m["id"], "basis": "original", "decided_on": "2020-01-01"}).status_code == 201
    clerk.put(f"/api/v1/collectives/{COLLECTIVE}/share-plan", json={"total_shares": 100, "whole_shares": True})
    assert clerk.post("/api/v1/rights", json={"type": "income_share", "holder": households[0]["code"],
                                              "shares": 10}).status_code == 201
    return households


def snapshot(uow_factory) -> tuple:
    """Every right, parcel link, share holding and membership, with the fields a change would touch."""
    from app.parties.models import Membership
    from app.rights.models import Right, RightParcel, RightShares

    def rows(values) -> list[tuple]:
        return sorted(tuple(str(v) for v in row) for row in values)  # str: None sorts beside dates

    with uow_factory(write=False) as uow:
        s = uow.session
        return (
            rows((r.id, r.holder_code, r.start, r.end, r.valid_to) for r in s.scalars(select(Right))),
            rows((x.right_id, x.parcel_code, x.valid_from, x.valid_to) for x in s.scalars(select(RightParcel))),
            rows((x.right_id, x.shares, x.valid_from, x.valid_to) for x in s.scalars(select(RightShares))),
            rows((m.person_id, m.collective_code, m.valid_to, m.end_ground) for m in s.scalars(select(Membership))),
        )


operations = st.lists(st.tuples(
    st.sampled_from(["settle", "transfer_linked", "transfer_flagged", "listing_linked", "listing_flagged",
                     "terminate_settled", "rights_linked", "exchange"]),
    st.integers(0, 2), st.integers(0, 1), st.integers(0, 3650)), min_size=1, max_size=8)


def exchange(clerk, village, h: int) -> None:
    """A lawful, voluntary exchange of the only parcels of two neighbours: rights do change here."""
    a, b = village[h], village[(h + 1) % 3]
    mine = clerk.get(f"/api/v1/rights/{a['code']}J").get_json()["parcels"][0]["code"]
    theirs = clerk.get(f"/api/v1/rights/{b['code']}J").get_json()["parcels"][0]["code"]
    r = clerk.post("/api/v1/transfers", json={
        "kind": "exchange", "right": a["code"] + "J", "counter_right": b["code"] + "J", "from": a["code"],
        "to": b["code"], "parcels": [mine, theirs], "price": "0",
        "consent": {"signed_by_person_id": a["members"][0]["id"], "signed_on": TODAY.isoformat(), "voluntary": True},
        "counter_consent": {"signed_by_person_id": b["members"][0]["id"], "signed_on": TODAY.isoformat(),
                            "voluntary": True}})
    assert r.status_code == 201, r.get_json()
    assert clerk.post(f"/api/v1/transfers/{r.get_json()['id']}/complete", json={}).status_code == 200


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_no_sequence_of_requests_makes_a_settlement_cost_a_right(clerk, callers, uow_factory, village, ops):
    settlements = []
    for op, h, m, days in ops:
        household = village[h]
        person = household["members"][m]["id"]
        before = snapshot(uow_factory)
        if op == "exchange":
            exchange(clerk, village, h)
            assert snapshot(uow_factory) != before  # the lawful change happened
            continue
        if op == "settle":
            r = clerk.post("/api/v1/settlements", json={"person_id": person, "city_code": "210602",
                                                        "settled_on": (TODAY - dt.timedelta(days=days)).isoformat()})
            assert r.status_code == 201 and r.get_json()["membership_retained"] is True
            assert {x["id"] for x in r.get_json()["rights_retained"]} >= {household["code"] + "J"}
            settlements.append(r.get_json()["id"])
        elif op in ("transfer_linked", "transfer_flagged"):
            link = {"settlement": settlements[-1] if settlements else 1} if op == "transfer_linked" \
                else {"condition_of_settlement": True}
            r = clerk.post("/api/v1/transfers", json={
                "kind": "exit", "right": household["code"] + "J", "from": household["code"], "price": "1000",
                "notice_given_on": "2020-01-01",
                "consent": {"signed_by_person_id": person, "signed_on": TODAY.isoformat(), "voluntary": True},
                **link})
            assert r.status_code == 422 and r.get_json()["rule"] == "NO_SURRENDER_CONDITION"
        elif op in ("listing_linked", "listing_flagged"):  # the exchange desk takes no listing tied to settling
            link = {"settlement": settlements[-1] if settlements else 1} if op == "listing_linked" \
                else {"condition_of_settlement": True}
            parcel = clerk.get(f"/api/v1/rights/{household['code']}J").get_json()["parcels"][0]["code"]
            r = callers["exchange"].post("/api/v1/listings", json={
                "right": household["code"] + "J", "kind": "transfer", "parcels": [parcel], "asking_price": "1000",
                "listed_on": TODAY.isoformat(),
                "consent": {"signed_by_person_id": person, "signed_on": TODAY.isoformat(), "voluntary": True},
                **link})
            assert r.status_code == 422 and r.get_json()["rule"] == "NO_SURRENDER_CONDITION"
            assert callers["exchange"].get("/api/v1/listings").get_json()["items"] == []
        elif op == "terminate_settled":
            r = clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members/{person}/termination",
                           json={"ground": "settled_in_city", "decided_on": TODAY.isoformat()})
            assert r.status_code == 422 and r.get_json()["rule"] == "MEMBERSHIP_GROUND_NOT_LAWFUL"
        else:  # a rights request carrying a settlement is not a request the registry understands
            r = clerk.post("/api/v1/rights", json={"type": "income_share", "holder": household["code"],
                                                   "shares": 0, "settlement": 1})
            assert 400 <= r.status_code < 500
        assert snapshot(uow_factory) == before, op  # a settlement, or anything linked to one, changed nothing


@pytest.mark.parametrize("endpoint, body", [
    ("/api/v1/rights", {"type": "income_share", "holder": "H", "shares": 5, "condition_of_settlement": True}),
    ("/api/v1/rights", {"type": "contract", "holder": "H", "parcels": ["P"], "start": "2018-01-01",
                        "end": "2047-12-31", "settlement": 1}),
    ("/api/v1/transfers", {"kind": "transfer", "right": "HJ", "from": "H", "to": "H2", "parcels": ["P"],
                           "price": "1", "condition_of_settlement": True}),
    ("/api/v1/transfers", {"kind": "exit", "right": "HJ", "from": "H", "parcels": ["P"], "price": "1",
                           "notice_given_on": "2020-01-01", "settlement": 1}),
    ("/api/v1/transfers", {"kind": "exchange", "right": "HJ", "from": "H", "to": "H2", "counter_right": "H2J",
                           "parcels": ["P"], "price": "0", "condition_of_settlement": True}),
])
def test_every_request_that_changes_rights_refuses_a_link_to_settlement(clerk, uow_factory, village, endpoint, body):
    h, h2 = village[0], village[1]
    parcel = clerk.get(f"/api/v1/rights/{h['code']}J").get_json()["parcels"][0]["code"]
    fill = {"H": h["code"], "HJ": h["code"] + "J", "H2": h2["code"], "H2J": h2["code"] + "J", "P": parcel}
    body = {k: (fill.get(v, v) if isinstance(v, str) else [fill.get(x, x) for x in v] if isinstance(v, list) else v)
            for k, v in body.items()}
    body.setdefault("consent", {"signed_by_person_id": h["members"][0]["id"], "signed_on": TODAY.isoformat(),
                                "voluntary": True}) if endpoint.endswith("transfers") else None
    before = snapshot(uow_factory)
    r = clerk.post(endpoint, json=body)
    assert 400 <= r.status_code < 500, r.get_json()
    if endpoint.endswith("transfers"):
        assert r.get_json()["rule"] == "NO_SURRENDER_CONDITION"
    assert snapshot(uow_factory) == before
