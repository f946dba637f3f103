"""The registry orders of a binding arbitration award, run in one transaction as the award's caller runs them.

State is built through the API; the orders run through the session-level services
(`move_parcels`, `restore_membership`, `restore_shares`) inside ``with uow: …; uow.commit()``.
The conftest checks after each test that the log still replays to exactly the tables.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.auth.services import Principal
from app.errors import DomainError, NotFound, RuleViolation
from app.ids import row_key
from app.parties.services import restore_membership
from app.rights.services import move_parcels, restore_shares
from tests.conftest import COLLECTIVE, COUNTY

START, END = "2020-01-01", "2049-12-31"
TODAY = dt.date.today()
CAUSE = {"dispute": 7, "order": 0}
ARBITRATOR = Principal(id=None, name="arbitrator", role="arbitrator", scope=COUNTY)
OTHER_COUNTY = Principal(id=None, name="elsewhere", role="arbitrator", scope="210682")


@pytest.fixture
def contract(clerk, make_household, make_parcel):
    """A household (or ``holder``) with a contract over new parcels drawn at ``xs`` (in collective ``collective``)."""
    def make(xs=(0,), holder=None, collective=COLLECTIVE):
        holder = holder or make_household(collective=collective)["code"]
        parcels = [make_parcel(x, 0, collective=collective)["id"] for x in xs]
        r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": holder, "parcels": parcels,
                                               "start": START, "end": END})
        assert r.status_code == 201, r.get_json()
        return r.get_json()
    return make


def _order(uow_factory, service, *, actor=ARBITRATOR, **kw) -> int:
    with uow_factory() as uow:
        seq = service(uow.session, actor=actor, cause=CAUSE, **kw)
        uow.commit()
    return seq


def _entry(admin, seq: int) -> dict:
    entry = admin.get(f"/api/v1/ledger/{COUNTY}?after={seq - 1}&limit=1").get_json()["items"][0]
    assert entry["seq"] == seq
    return entry


def _size(admin) -> int:
    return admin.get(f"/api/v1/ledger/{COUNTY}").get_json()["size"]


def _parcels(clerk, right: str) -> list[str]:
    return [p["code"] for p in clerk.get(f"/api/v1/rights/{right}").get_json()["parcels"]]


# --- move_parcels ------------------------------------------------------------------------------

def test_award_moves_a_parcel_onto_the_other_households_contract(clerk, admin, contract, uow_factory):
    a = contract(xs=(0, 100))
    b = contract(xs=(200,))
    moved, kept = (p["code"] for p in a["parcels"])
    seq = _order(uow_factory, move_parcels, parcels=[moved], to_right=b["id"], on=TODAY)
    got = clerk.get(f"/api/v1/rights/{b['id']}").get_json()
    assert [p["code"] for p in got["parcels"]] == sorted([b["parcels"][0]["code"], moved])
    arrived = next(p for p in got["parcels"] if p["code"] == moved)
    assert (arrived["valid_from"], arrived["ledger_seq"]) == (TODAY.isoformat(), seq)
    assert arrived["contract_area_m2"] == a["parcels"][0]["contract_area_m2"]
    left = clerk.get(f"/api/v1/rights/{a['id']}").get_json()
    assert ([p["code"] for p in left["parcels"]], left["status"]) == ([kept], "active")
    entry = _entry(admin, seq)
    assert entry["kind"] == "right.parcels_moved"
    assert set(entry["subjects"]) == {a["id"], b["id"], moved}
    data = entry["body"]["data"]
    assert (data["to"], data["on"], data["cause"]) == (b["id"], TODAY.isoformat(), CAUSE)
    assert [(p["code"], p["from"]) for p in data["parcels"]] == [(moved, a["id"])]


def test_a_contract_left_without_land_ends_on_the_day_of_the_order(clerk, contract, uow_factory):
    a = contract(xs=(0,))
    b = contract(xs=(100,))
    c = contract(xs=(200, 300))
    on = TODAY - dt.timedelta(days=10)
    plot = a["parcels"][0]["code"]
    _order(uow_factory, move_parcels, parcels=[plot, c["parcels"][0]["code"]], to_right=b["id"], on=on)
    ended = clerk.get(f"/api/v1/rights/{a['id']}").get_json()
    assert (ended["status"], ended["valid_to"], ended["parcels"]) == ("ended", on.isoformat(), [])
    assert clerk.get(f"/api/v1/rights/{c['id']}").get_json()["status"] == "active"  # it kept a parcel
    assert len(_parcels(clerk, b["id"])) == 3
    history = clerk.get(f"/api/v1/parcels/{plot}/history").get_json()["rights"]
    assert [(h["right"], h["valid_to"]) for h in history] == [(a["id"], on.isoformat()), (b["id"], None)]
    before = (on - dt.timedelta(days=1)).isoformat()
    assert _parcels(clerk, a["id"] + f"?as_of={before}") == [plot]


def test_refused_moves_change_nothing(clerk, admin, contract, make_parcel, make_collective, make_household,
                                      uow_factory):
    a = contract(xs=(0, 100))
    b = contract(xs=(200,))
    loose = make_parcel(300, 0)["id"]
    make_collective(code="21068110100102", name="二组")
    foreign = contract(xs=(400,), collective="21068110100102")
    ended = contract(xs=(500,))
    _order(uow_factory, move_parcels, parcels=[ended["parcels"][0]["code"]], to_right=b["id"], on=TODAY)
    size, held_by_b = _size(admin), _parcels(clerk, b["id"])
    mine = a["parcels"][0]["code"]
    refusals = [
        ({"parcels": [mine, loose], "to_right": b["id"]}, "PARCEL_NOT_IN_RIGHT"),
        ({"parcels": [foreign["parcels"][0]["code"]], "to_right": b["id"]}, "SAME_COLLECTIVE_ONLY"),
        ({"parcels": [mine], "to_right": foreign["id"]}, "SAME_COLLECTIVE_ONLY"),
        ({"parcels": [mine], "to_right": ended["id"]}, "RIGHT_NOT_ACTIVE"),
        ({"parcels": [mine, b["parcels"][0]["code"]], "to_right": b["id"]}, "PARCEL_ALREADY_CONTRACTED"),
        ({"parcels": [mine], "to_right": b["id"], "on": TODAY + dt.timedelta(days=1)}, "DATE_ORDER"),
        ({"parcels": [mine], "to_right": b["id"], "on": dt.date(2019, 12, 31)}, "DATE_ORDER"),
    ]
    for kw, rule in refusals:
        with pytest.raises(RuleViolation) as refused:
            _order(uow_factory, move_parcels, **({"on": TODAY} | kw))
        assert refused.value.rule == rule, kw
    assert refused.value.details["links_from"] == START
    with pytest.raises(DomainError) as bad:
        _order(uow_factory, move_parcels, parcels=[mine, mine], to_right=b["id"], on=TODAY)
    assert bad.value.status == 422
    for kw in ({"parcels": [mine], "to_right": b["id"][:-1] + "Z"},
               {"parcels": ["2106811010010199999"], "to_right": b["id"]}):
        with pytest.raises(NotFound):
            _order(uow_factory, move_parcels, on=TODAY, **kw)
    with pytest.raises(NotFound):
        _order(uow_factory, move_parcels, actor=OTHER_COUNTY, parcels=[mine], to_right=b["id"], on=TODAY)
    assert _size(admin) == size
    assert _parcels(clerk, a["id"]) == [p["code"] for p in a["parcels"]]
    assert _parcels(clerk, b["id"]) == held_by_b


def test_a_parcel_in_an_open_transfer_is_not_moved(clerk, admin, contract, uow_factory):
    a = contract(xs=(0,))
    b = contract(xs=(100,))
    plot = a["parcels"][0]["code"]
    r = clerk.post("/api/v1/transfers", json={
        "kind": "transfer", "right": a["id"], "from": a["holder"], "to": b["holder"], "parcels": [plot],
        "price": "1000.00", "consent": {"signed_by_person_id": a["co_holders"][0]["id"],
                                        "signed_on": TODAY.isoformat(), "voluntary": True}})
    assert r.status_code == 201, r.get_json()
    size = _size(admin)
    with pytest.raises(RuleViolation) as refused:
        _order(uow_factory, move_parcels, parcels=[plot], to_right=b["id"], on=TODAY)
    assert refused.value.rule == "RIGHT_BUSY" and refused.value.details["open_transfers"] == [r.get_json()["id"]]
    assert _size(admin) == size


# --- restore_membership ------------------------------------------------------------------------

def _recognise(clerk, person_id, basis="original", decided_on="2020-01-01"):
    r = clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members",
                   json={"person_id": person_id, "basis": basis, "decided_on": decided_on})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_an_unlawfully_terminated_membership_is_restored(clerk, admin, make_household, uow_factory):
    pid = make_household()["members"][1]["id"]
    _recognise(clerk, pid, basis="marriage")
    r = clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members/{pid}/termination",
                   json={"ground": "joined_other_collective", "decided_on": "2024-01-01"})
    assert r.status_code == 200, r.get_json()
    with pytest.raises(RuleViolation) as early:
        _order(uow_factory, restore_membership, collective_code=COLLECTIVE, person_id=row_key(pid),
               on=dt.date(2023, 12, 31))
    assert early.value.rule == "DATE_ORDER"
    seq = _order(uow_factory, restore_membership, collective_code=COLLECTIVE, person_id=row_key(pid),
                 on=dt.date(2024, 1, 1))
    (active,) = clerk.get(f"/api/v1/collectives/{COLLECTIVE}/members?active=true").get_json()["items"]
    assert (active["person"]["id"], active["basis"], active["valid_from"], active["ledger_seq"]) == (
        pid, "marriage", "2024-01-01", seq)
    entry = _entry(admin, seq)
    assert entry["kind"] == "membership.recognised"
    assert (entry["body"]["data"]["cause"], entry["body"]["data"]["basis"]) == (CAUSE, "marriage")
    with pytest.raises(RuleViolation) as again:
        _order(uow_factory, restore_membership, collective_code=COLLECTIVE, person_id=row_key(pid), on=TODAY)
    assert again.value.rule == "ALREADY_A_MEMBER"


def test_restoring_a_person_never_a_member_is_refused(clerk, admin, make_household, uow_factory):
    h = make_household()
    _recognise(clerk, h["members"][0]["id"])  # the head is a member; the spouse never was
    size = _size(admin)
    with pytest.raises(RuleViolation) as refused:
        _order(uow_factory, restore_membership, collective_code=COLLECTIVE, person_id=row_key(h["members"][1]["id"]),
               on=TODAY)
    assert refused.value.rule == "NOT_A_MEMBER"
    assert refused.value.details["reason"] == "never a member of this collective"
    with pytest.raises(RuleViolation) as current:  # a current member has no ended membership either
        _order(uow_factory, restore_membership, collective_code=COLLECTIVE, person_id=row_key(h["members"][0]["id"]),
               on=TODAY)
    assert current.value.rule == "NOT_A_MEMBER"
    with pytest.raises(NotFound):
        _order(uow_factory, restore_membership, actor=OTHER_COUNTY, collective_code=COLLECTIVE,
               person_id=row_key(h["members"][1]["id"]), on=TODAY)
    assert _size(admin) == size


# --- restore_shares -----------------------------------------------------------------------------

@pytest.fixture
def holdings(clerk, make_household, ensure_collective):
    """A plan of 100 shares; A holds 60 and B 40, each with a recognised member."""
    ensure_collective()
    assert clerk.put(f"/api/v1/collectives/{COLLECTIVE}/share-plan",
                     json={"total_shares": 100, "whole_shares": True}).status_code == 200
    out = {}
    for name, n in (("a", 60), ("b", 40)):
        h = make_household()
        _recognise(clerk, h["members"][0]["id"])
        r = clerk.post("/api/v1/rights", json={"type": "income_share", "holder": h["code"], "shares": n})
        assert r.status_code == 201, r.get_json()
        out[name] = h["code"]
    return out


def _held(clerk, household):
    return clerk.get(f"/api/v1/rights/{household}G").get_json()["shares"]


def test_an_award_restores_shares_lowering_one_holding_first(clerk, admin, holdings, uow_factory):
    with uow_factory() as uow:
        lowered = restore_shares(uow.session, actor=ARBITRATOR, holder=holdings["b"], shares=Decimal(30), on=TODAY,
                                 cause={"dispute": 7, "order": 0})
        raised = restore_shares(uow.session, actor=ARBITRATOR, holder=holdings["a"], shares=Decimal(70), on=TODAY,
                                cause={"dispute": 7, "order": 1})
        uow.commit()
    assert raised == lowered + 1
    assert (_held(clerk, holdings["a"]), _held(clerk, holdings["b"])) == ("70.0000", "30.0000")
    entry = _entry(admin, raised)
    assert entry["kind"] == "right.income_share.requantified"
    assert entry["body"]["data"] | {"plan_total": None} == {
        "right": holdings["a"] + "G", "holder": holdings["a"], "shares": "70", "plan_total": None,
        "on": TODAY.isoformat(), "cause": {"dispute": 7, "order": 1}}
    history = clerk.get(f"/api/v1/rights?holder={holdings['a']}&history=true").get_json()["items"][0]
    assert [x["shares"] for x in history["shares_history"]] == ["60.0000", "70.0000"]


def test_restored_shares_still_keep_to_the_plan(clerk, admin, holdings, uow_factory, make_household):
    outsider = make_household()["code"]  # no recognised member
    size = _size(admin)
    with pytest.raises(RuleViolation) as refused:
        _order(uow_factory, restore_shares, holder=holdings["a"], shares=Decimal(61), on=TODAY)
    assert refused.value.rule == "SHARES_EXCEED_PLAN" and Decimal(refused.value.details["would_total"]) == 101
    with pytest.raises(RuleViolation) as stranger:
        _order(uow_factory, restore_shares, holder=outsider, shares=Decimal(1), on=TODAY)
    assert stranger.value.rule == "NOT_A_MEMBER"
    with pytest.raises(RuleViolation) as future:
        _order(uow_factory, restore_shares, holder=holdings["a"], shares=Decimal(50),
               on=TODAY + dt.timedelta(days=1))
    assert future.value.rule == "DATE_ORDER"
    with pytest.raises(DomainError) as zero:
        _order(uow_factory, restore_shares, holder=holdings["a"], shares=Decimal(0), on=TODAY)
    assert zero.value.status == 422
    assert _size(admin) == size
    assert (_held(clerk, holdings["a"]), _held(clerk, holdings["b"])) == ("60.0000", "40.0000")
