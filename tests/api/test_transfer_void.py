"""Voiding a transfer an award found made under duress (民法典 第一百五十条), on both engines.

``void_transfer`` runs in the caller's transaction (the dispute that ordered it); these tests call it
through a unit of work and read the result through the API. The end-of-test replay check proves the
``transfer.voided`` entries redo exactly what the tables hold.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.auth.services import Principal
from app.errors import NotFound, RuleViolation
from app.ids import number_of, row_key
from tests.api import test_transfers
from tests.api.test_transfers import END, START, TODAY, _walk, body, counter, parcels_of
from tests.api.test_transfers import _shares as shares_of
from tests.conftest import COLLECTIVE, COUNTY

share_holdings = test_transfers.share_holdings  # the fixture: a plan of 100 shares, A holds 30, B 10

#: The arbitration committee as the dispute module acts for it.
COMMITTEE = Principal(id=None, name="东港市农村土地承包仲裁委员会", role="arbitrator", scope=COUNTY)
GROUNDS = "裁决认定该流转系受胁迫所为（民法典 第一百五十条），予以撤销"
CAUSE = {"dispute": "东港农仲字〔2026〕第3号", "award": "binding"}


@pytest.fixture
def land(clerk, make_household, make_parcel, make_collective):
    """Household A holds parcels a1, a2; B holds b1; D (same collective) holds nothing; C is of another collective."""
    make_parcel(0, 0)
    a, b, d = (make_household(collective=COLLECTIVE) for _ in range(3))
    a1, a2, b1 = (make_parcel(x, 0)["id"] for x in (100, 200, 300))
    for holder, parcels in ((a, [a1, a2]), (b, [b1])):
        r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": holder["code"], "parcels": parcels,
                                               "start": START, "end": END})
        assert r.status_code == 201, r.get_json()
    make_collective(code="21068110100102", name="二组")
    c = make_household(collective="21068110100102")
    return {"a": a, "b": b, "c": c, "d": d, "a1": a1, "a2": a2, "b1": b1,
            "ra": a["code"] + "J", "rb": b["code"] + "J", "rd": d["code"] + "J"}


@pytest.fixture
def void(uow_factory):
    """Void a transfer as the dispute does: inside one unit of work, committed by the caller."""
    from app.transfers.services import void_transfer

    def run(transfer_id: int, on: dt.date = TODAY, actor: Principal = COMMITTEE) -> int:
        with uow_factory() as uow:
            seq = void_transfer(uow.session, actor=actor, transfer_id=row_key(transfer_id), on=on, grounds=GROUNDS,
                                cause=CAUSE)
            uow.commit()
        return seq
    return run


def signed_by(land, who):
    return body(land)["consent"] | {"signed_by_person_id": land[who]["members"][0]["id"]}


def status_of(clerk, right):
    return clerk.get(f"/api/v1/rights/{right}").get_json()["status"]


def entry(admin, seq):
    return admin.get(f"/api/v1/ledger/210681?after={seq - 1}&limit=1").get_json()["items"][0]


def ledger_size(admin):
    return admin.get("/api/v1/ledger/210681").get_json()["size"]


def frozen_by_a_case(uow_factory, land, subject: str) -> None:
    """A dispute over ``subject``, opened with a freeze (第四十二条)."""
    from app.disputes.services import open_dispute

    open_dispute(uow_factory(), actor=COMMITTEE, procedure="arbitration", category="transfer",
                 applicant={"kind": "household", "code": land["a"]["code"]},
                 respondent={"kind": "household", "code": land["b"]["code"]}, subjects={"parcels": [subject]},
                 claims="请求确认流转受胁迫所为", knew_of_harm_on=TODAY, received_on=TODAY, freeze=True)


@pytest.mark.parametrize("to", ["b", "d"])
def test_a_voided_transfer_puts_the_land_back_on_the_givers_contract(clerk, admin, land, void, uow_factory, to):
    done = _walk(clerk, body(land, to=land[to]["code"], parcels=[land["a1"], land["a2"]]))
    assert done.status_code == 200, done.get_json()
    assert status_of(clerk, land["ra"]) == "ended"  # left without land
    frozen_by_a_case(uow_factory, land, land["a1"])  # the dispute froze the land: that does not stop its award
    seq = void(done.get_json()["id"])
    right = clerk.get(f"/api/v1/rights/{land['ra']}").get_json()
    assert right["status"] == "active" and right["valid_to"] is None
    assert sorted(p["code"] for p in right["parcels"]) == sorted([land["a1"], land["a2"]])
    recipient = land["r" + to]
    if to == "b":  # B's own contract stays, with its own land
        assert (status_of(clerk, recipient), parcels_of(clerk, recipient)) == ("active", [land["b1"]])
    else:  # D's contract was made by the transfer and is left without land
        assert (status_of(clerk, recipient), parcels_of(clerk, recipient)) == ("ended", [])
    t = clerk.get(f"/api/v1/transfers/{done.get_json()['id']}").get_json()
    assert (t["status"], t["completed_on"]) == ("voided", TODAY.isoformat())
    history = clerk.get(f"/api/v1/parcels/{land['a1']}/history").get_json()["rights"]
    assert [(h["right"], h["valid_to"]) for h in history][-2:] == [(recipient, TODAY.isoformat()), (land["ra"], None)]
    logged = entry(admin, seq)
    assert logged["kind"] == "transfer.voided" and f"transfer:{number_of(t['id'])}" in logged["subjects"]
    data = logged["body"]["data"]
    assert (data["grounds"], data["cause"], data["status_before"], data["on"]) == (GROUNDS, CAUSE, "completed",
                                                                                 TODAY.isoformat())
    assert data["links"] == [{"parcel": land[p], "from": recipient, "to": land["ra"]} for p in ("a1", "a2")]
    assert data["reopened"] == [land["ra"]] and data["ended"] == ([] if to == "b" else [recipient])
    voided = clerk.get("/api/v1/transfers?status=voided").get_json()["items"]
    assert [x["id"] for x in voided] == [t["id"]]


def test_a_voided_exchange_swaps_the_parcels_back(clerk, land, void):
    done = _walk(clerk, body(land, kind="exchange", price="0", counter_right=land["rb"],
                             parcels=[land["a1"], land["b1"]], counter_consent=counter(land)), consent=False)
    assert done.status_code == 200, done.get_json()
    assert parcels_of(clerk, land["rb"]) == [land["a1"]]
    void(done.get_json()["id"])
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])
    assert parcels_of(clerk, land["rb"]) == [land["b1"]]


def test_a_voided_exit_gives_the_land_back(clerk, land, void):
    notice = TODAY - dt.timedelta(days=200)
    payload = body(land, kind="exit", notice_given_on=notice.isoformat())
    payload["consent"]["signed_on"] = notice.isoformat()
    del payload["to"]
    done = _walk(clerk, payload, consent=False)
    assert done.status_code == 200, done.get_json()
    to_a = body(land, right=land["rb"], parcels=[land["b1"]], to=land["a"]["code"], consent=signed_by(land, "b"),
                **{"from": land["b"]["code"]})
    refused = clerk.post("/api/v1/transfers", json=to_a).get_json()  # land returned in the term (第三十条)
    assert refused["rule"] == "NO_NEW_LAND_AFTER_RETURN", refused
    assert refused["details"]["returned_by_transfer"] == done.get_json()["id"]

    void(done.get_json()["id"])
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])
    assert clerk.post("/api/v1/transfers", json=to_a).status_code == 201  # a voided exit returned nothing


def test_a_voided_lease_ends_the_management_right_and_frees_the_land(clerk, land, void, uow_factory):
    from app.transfers.models import ManagementRight, ManagementRightParcel

    done = _walk(clerk, body(land, kind="lease", to=land["c"]["code"], term_end="2040-12-31", price="6000"),
                 consent=False)
    assert done.status_code == 200, done.get_json()
    managed = done.get_json()["management_right"]
    void(done.get_json()["id"])
    last = TODAY - dt.timedelta(days=1)  # inclusive: it no longer runs on the day of the void
    with uow_factory(write=False) as uow:
        assert uow.session.get(ManagementRight, row_key(managed)).end == last
        assert uow.session.scalars(select(ManagementRightParcel.end).where(
            ManagementRightParcel.management_right_id == number_of(managed))).all() == [last]
    t = clerk.get(f"/api/v1/transfers/{done.get_json()['id']}").get_json()
    assert (t["status"], t["management_right"]) == ("voided", managed)
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])  # the contract never moved
    again = clerk.post("/api/v1/transfers", json=body(land, kind="lease", to=land["b"]["code"],
                                                      term_end="2030-12-31", price="100"))
    assert again.status_code == 201, again.get_json()


def share_transfer(land, right, n, **over):
    payload = body(land, right=right, shares=n, price="3000", **over)
    del payload["parcels"]
    return payload


def test_a_voided_income_share_transfer_gives_the_shares_back(clerk, land, share_holdings, void):
    done = _walk(clerk, share_transfer(land, share_holdings["a"], 30))
    assert done.status_code == 200, done.get_json()
    assert shares_of(clerk, share_holdings["a"]) == (None, "ended")
    void(done.get_json()["id"])
    assert shares_of(clerk, share_holdings["a"]) == ("30.0000", "active")
    assert shares_of(clerk, share_holdings["b"]) == ("10.0000", "active")


def test_an_income_share_transfer_is_not_voided_once_the_shares_moved_on(clerk, admin, land, share_holdings, void):
    done = _walk(clerk, share_transfer(land, share_holdings["a"], 30))
    assert done.status_code == 200, done.get_json()
    onward = share_transfer(land, share_holdings["b"], 15, kind="exit", consent=signed_by(land, "b"),
                            **{"from": land["b"]["code"]})
    del onward["to"]
    assert _walk(clerk, onward, consent=False).status_code == 200
    size = ledger_size(admin)
    with pytest.raises(RuleViolation) as refused:
        void(done.get_json()["id"])
    assert refused.value.rule == "SHARES_EXCEED_HOLDING"
    assert refused.value.details == {"held": "25.0000", "shares": "30.0000", "right": share_holdings["b"]}
    assert ledger_size(admin) == size
    assert shares_of(clerk, share_holdings["b"]) == ("25.0000", "active")
    assert clerk.get(f"/api/v1/transfers/{done.get_json()['id']}").get_json()["status"] == "completed"


def test_a_voided_homestead_transfer_gives_the_homestead_back(clerk, land, make_parcel, void):
    plot = make_parcel(100, 500, size_m=14, kind="homestead", land_use="homestead")["id"]
    assert clerk.post("/api/v1/rights", json={"type": "homestead", "holder": land["a"]["code"], "parcel": plot,
                                              "approved_on": "2015-06-01"}).status_code == 201
    payload = body(land, right=land["a"]["code"] + "Z")
    del payload["parcels"]
    done = _walk(clerk, payload)
    assert done.status_code == 200, done.get_json()
    void(done.get_json()["id"])
    assert (status_of(clerk, land["a"]["code"] + "Z"), parcels_of(clerk, land["a"]["code"] + "Z")) == ("active",
                                                                                                       [plot])
    assert (status_of(clerk, land["b"]["code"] + "Z"), parcels_of(clerk, land["b"]["code"] + "Z")) == ("ended", [])


def test_a_voided_open_transfer_frees_the_right(clerk, admin, land, void):
    t = clerk.post("/api/v1/transfers", json=body(land)).get_json()
    assert clerk.post("/api/v1/transfers", json=body(land)).get_json()["rule"] == "RIGHT_BUSY"
    seq = void(t["id"])
    assert clerk.get(f"/api/v1/transfers/{t['id']}").get_json()["status"] == "voided"
    assert entry(admin, seq)["body"]["data"]["status_before"] == "pending"
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])  # nothing had moved
    assert clerk.post("/api/v1/transfers", json=body(land)).status_code == 201  # holds released
    r = clerk.post(f"/api/v1/transfers/{t['id']}/complete", json={})
    assert r.status_code == 409 and r.get_json()["rule"] == "TRANSFER_CLOSED"


@pytest.mark.parametrize("closed", ["voided", "withdrawn"])
def test_a_closed_transfer_cannot_be_voided(clerk, admin, land, void, closed):
    t = clerk.post("/api/v1/transfers", json=body(land)).get_json()
    if closed == "voided":
        void(t["id"])
    else:
        clerk.post(f"/api/v1/transfers/{t['id']}/withdraw")
    size = ledger_size(admin)
    with pytest.raises(RuleViolation) as refused:
        void(t["id"])
    assert (refused.value.rule, refused.value.details) == ("TRANSFER_CLOSED", {"status": closed})
    assert ledger_size(admin) == size


def test_a_transfer_is_not_voided_once_the_land_moved_on(clerk, admin, land, void):
    first = _walk(clerk, body(land, to=land["b"]["code"]))
    assert first.status_code == 200, first.get_json()
    onward = _walk(clerk, body(land, right=land["rb"], to=land["d"]["code"], parcels=[land["a1"]],
                               consent=signed_by(land, "b"), **{"from": land["b"]["code"]}))
    assert onward.status_code == 200, onward.get_json()
    size = ledger_size(admin)
    with pytest.raises(RuleViolation) as refused:
        void(first.get_json()["id"])
    assert refused.value.rule == "PARCEL_NOT_IN_RIGHT"
    assert refused.value.details["parcels"] == [land["a1"]]
    assert refused.value.details["now_under"] == {land["a1"]: land["rd"]}
    assert ledger_size(admin) == size
    assert parcels_of(clerk, land["ra"]) == [land["a2"]] and parcels_of(clerk, land["rd"]) == [land["a1"]]
    assert clerk.get(f"/api/v1/transfers/{first.get_json()['id']}").get_json()["status"] == "completed"


def test_a_void_needs_the_scope_and_a_day_after_completion(clerk, land, void):
    done = _walk(clerk, body(land))
    assert done.status_code == 200, done.get_json()
    other = Principal(id=None, name="x", role="arbitrator", scope="210682")
    with pytest.raises(NotFound):
        void(done.get_json()["id"], actor=other)
    with pytest.raises(NotFound):
        void(2106810999999999)
    for day in (TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)):
        with pytest.raises(RuleViolation) as refused:
            void(done.get_json()["id"], on=day)
        assert refused.value.rule == "DATE_ORDER"
    assert parcels_of(clerk, land["rb"]) == sorted([land["a1"], land["b1"]])
