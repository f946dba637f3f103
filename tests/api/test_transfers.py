"""Voluntary paid transfers, exchanges and exits of contract land, and settlements, on both engines."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.ids import number_of, row_key
from tests.conftest import COLLECTIVE, id_number

START, END = "2018-01-01", "2047-12-31"
TODAY = dt.date.today()


@pytest.fixture
def land(clerk, make_household, make_parcel, make_collective):
    """Household A holds parcels a1, a2; B holds b1; C (another collective) holds nothing."""
    make_parcel(0, 0)  # the collective and a reserve parcel
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, a2, b1 = (make_parcel(x, 0)["id"] for x in (100, 200, 300))
    for holder, parcels in ((a, [a1, a2]), (b, [b1])):
        r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": holder["code"], "parcels": parcels,
                                               "start": START, "end": END})
        assert r.status_code == 201, r.get_json()
    make_collective(code="21068110100102", name="二组")
    c = make_household(collective="21068110100102")
    return {"a": a, "b": b, "c": c, "a1": a1, "a2": a2, "b1": b1,
            "ra": a["code"] + "J", "rb": b["code"] + "J"}


def counter(land, who="b"):
    return {"signed_by_person_id": land[who]["members"][0]["id"], "signed_on": TODAY.isoformat(), "voluntary": True}


def body(land, **over):
    return {"kind": "transfer", "right": land["ra"], "from": land["a"]["code"], "to": land["b"]["code"],
            "parcels": [land["a1"]], "price": "12000.00",
            "consent": {"signed_by_person_id": land["a"]["members"][0]["id"], "signed_on": TODAY.isoformat(),
                        "voluntary": True}} | over


def parcels_of(clerk, right, as_of=None):
    r = clerk.get(f"/api/v1/rights/{right}" + (f"?as_of={as_of}" if as_of else ""))
    return sorted(p["code"] for p in r.get_json()["parcels"]) if r.status_code == 200 else None


def test_a_transfer_moves_the_parcel_only_when_consented_paid_and_completed(clerk, admin, land):
    r = clerk.post("/api/v1/transfers", json=body(land))
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert (t["status"], t["parcels"], t["price"]) == ("pending", [land["a1"]], "12000.00")
    opened = admin.get(f"/api/v1/ledger/210681?after={t['ledger_seq'] - 1}&limit=1").get_json()["items"][0]
    assert opened["kind"] == "transfer.created" and f"transfer:{number_of(t['id'])}" in opened["subjects"]
    url = f"/api/v1/transfers/{t['id']}"
    assert clerk.post(f"{url}/complete", json={}).get_json()["rule"] == "ISSUER_CONSENT_REQUIRED"
    assert clerk.post(f"{url}/issuer-consent", json={"decision": "granted"}).get_json()["status"] == "consented"
    paid = clerk.post(f"{url}/payments", json={"amount": "5000", "paid_on": TODAY.isoformat(), "reference": "银行1"})
    assert paid.status_code == 201 and paid.get_json()["paid"] == "5000.00"
    refused = clerk.post(f"{url}/complete", json={})
    assert refused.status_code == 409 and refused.get_json()["rule"] == "PAYMENT_REQUIRED"
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])  # nothing moved yet
    over = clerk.post(f"{url}/payments", json={"amount": "7000.01", "paid_on": TODAY.isoformat(), "reference": "x"})
    assert over.status_code == 422 and over.get_json()["rule"] == "PAYMENT_EXCEEDS_PRICE"
    rest = clerk.post(f"{url}/payments", json={"amount": "7000", "paid_on": TODAY.isoformat(), "reference": "银行2"})
    assert rest.get_json()["status"] == "paid"
    done = clerk.post(f"{url}/complete", json={})
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert parcels_of(clerk, land["ra"]) == [land["a2"]]
    assert parcels_of(clerk, land["rb"]) == sorted([land["a1"], land["b1"]])
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    assert parcels_of(clerk, land["ra"], as_of="2030-01-01") == [land["a2"]]
    history = clerk.get(f"/api/v1/parcels/{land['a1']}/history").get_json()["rights"]
    assert [(h["right"], h["valid_to"]) for h in history] == [(land["ra"], TODAY.isoformat()), (land["rb"], None)]
    assert yesterday < TODAY.isoformat()
    entry = admin.get(f"/api/v1/ledger/210681?after={history[1]['ledger_seq'] - 1}&limit=1").get_json()["items"][0]
    assert entry["kind"] == "transfer.completed" and entry["body"]["data"]["paid"] == "12000.00"
    again = clerk.post(f"{url}/complete", json={})
    assert again.status_code == 409 and again.get_json()["rule"] == "TRANSFER_CLOSED"


def test_the_recipient_without_a_contract_gets_one_for_the_remaining_term_and_an_empty_contract_ends(clerk, land,
                                                                                                    make_household):
    d = make_household(collective=COLLECTIVE)
    t = clerk.post("/api/v1/transfers", json=body(land, to=d["code"], parcels=[land["a1"], land["a2"]])).get_json()
    url = f"/api/v1/transfers/{t['id']}"
    clerk.post(f"{url}/issuer-consent", json={"decision": "refused"})  # no grounds: recorded, does not block
    assert clerk.get(url).get_json()["issuer"]["decision"] == "refused_without_grounds"
    clerk.post(f"{url}/payments", json={"amount": "12000", "paid_on": TODAY.isoformat(), "reference": "r"})
    assert clerk.post(f"{url}/complete", json={}).status_code == 200
    theirs = clerk.get(f"/api/v1/rights/{d['code']}J").get_json()
    assert (theirs["start"], theirs["end"], theirs["acquisition"]) == (TODAY.isoformat(), END, "transfer")
    assert clerk.get(f"/api/v1/rights/{land['ra']}").get_json()["status"] == "ended"


def test_a_contract_the_recipient_got_since_the_opening_must_end_with_the_givers(clerk, land, make_household,
                                                                                make_parcel):
    d = make_household(collective=COLLECTIVE)
    t = clerk.post("/api/v1/transfers", json=body(land, to=d["code"])).get_json()
    url = f"/api/v1/transfers/{t['id']}"
    clerk.post(f"{url}/issuer-consent", json={"decision": "granted"})
    clerk.post(f"{url}/payments", json={"amount": "12000", "paid_on": TODAY.isoformat(), "reference": "r"})
    # meanwhile the recipient gets a contract of its own that ends earlier than the giver's
    r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": d["code"], "start": "2011-01-01",
                                           "end": "2040-12-31", "parcels": [make_parcel(400, 0)["id"]]})
    assert r.status_code == 201, r.get_json()
    refused = clerk.post(f"{url}/complete", json={})
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["rule"] == "CONTRACT_TERM_MISMATCH"
    assert refused.get_json()["details"]["right"] == d["code"] + "J"
    assert clerk.get(url).get_json()["status"] == "paid"
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])


def test_a_refusal_with_grounds_ends_the_transfer(clerk, land):
    t = clerk.post("/api/v1/transfers", json=body(land)).get_json()
    url = f"/api/v1/transfers/{t['id']}"
    r = clerk.post(f"{url}/issuer-consent", json={"decision": "refused", "grounds": "受让方不是本集体成员"})
    assert r.get_json()["status"] == "refused"
    assert clerk.post(f"{url}/complete", json={}).get_json()["rule"] == "TRANSFER_CLOSED"
    assert clerk.post("/api/v1/transfers", json=body(land)).status_code == 201  # the parcel is free again


@pytest.mark.parametrize("who", [None, "a"])
def test_an_exchange_needs_the_other_households_own_consent(clerk, land, who):
    payload = body(land, kind="exchange", price="0", counter_right=land["rb"], parcels=[land["a1"], land["b1"]])
    if who:
        payload["counter_consent"] = counter(land, who)  # signed by the giver's family, not by B
    r = clerk.post("/api/v1/transfers", json=payload)
    assert r.status_code == 422 and r.get_json()["rule"] == "CONSENT_REQUIRED"


def test_an_exchange_swaps_the_parcels(clerk, land):
    r = clerk.post("/api/v1/transfers", json=body(land, kind="exchange", price="0", counter_right=land["rb"],
                                                  parcels=[land["a1"], land["b1"]], counter_consent=counter(land)))
    assert r.status_code == 201, r.get_json()
    url = f"/api/v1/transfers/{r.get_json()['id']}"
    assert clerk.post(f"{url}/issuer-consent", json={"decision": "granted"}).status_code == 422  # 备案 only
    assert clerk.post(f"{url}/complete", json={}).status_code == 200
    assert parcels_of(clerk, land["ra"]) == sorted([land["a2"], land["b1"]])
    assert parcels_of(clerk, land["rb"]) == [land["a1"]]


@pytest.mark.parametrize("notice, ok", [((9, 30), True), ((10, 1), False)])
def test_an_exit_needs_written_notice_six_months_before(clerk, land, notice, ok):
    on = dt.date(TODAY.year - 1, 3, 30)  # six months after 30 September, one day short of 1 October's
    notice = dt.date(TODAY.year - 2, *notice)
    t = clerk.post("/api/v1/transfers", json=body(land, kind="exit", to=None, parcels=[land["a1"]],
                                                  notice_given_on=notice.isoformat()) | {"to": None})
    assert t.status_code == 422  # `to` must be omitted, not null
    payload = body(land, kind="exit", notice_given_on=notice.isoformat())
    payload["consent"]["signed_on"] = notice.isoformat()
    del payload["to"]
    t = clerk.post("/api/v1/transfers", json=payload).get_json()
    url = f"/api/v1/transfers/{t['id']}"
    clerk.post(f"{url}/payments", json={"amount": "12000", "paid_on": notice.isoformat(), "reference": "补偿"})
    r = clerk.post(f"{url}/complete", json={"completed_on": on.isoformat()})
    if ok:
        assert r.status_code == 200, r.get_json()
        assert parcels_of(clerk, land["ra"], as_of=on.isoformat()) == [land["a2"]]
        assert land["a1"] not in (parcels_of(clerk, land["rb"]) or [])
    else:
        assert r.status_code == 409 and r.get_json()["rule"] == "EXIT_NOTICE_PERIOD"
        assert r.get_json()["basis"] == "农村土地承包法 第三十条"


@pytest.mark.parametrize("change, status, rule", [
    ({"condition_of_settlement": True}, 422, "NO_SURRENDER_CONDITION"),
    ({"settlement": 1}, 422, "NO_SURRENDER_CONDITION"),
    ({"consent": {"voluntary": False}}, 422, "CONSENT_REQUIRED"),
    ({"consent": {"signed_by": "b"}}, 422, "CONSENT_REQUIRED"),
    ({"to": "c"}, 422, "SAME_COLLECTIVE_ONLY"),
    ({"from": "b"}, 422, "RIGHT_NOT_HELD"),
    ({"parcels": ["b1"]}, 422, "PARCEL_NOT_IN_RIGHT"),
    ({"price": "0"}, 422, "PRICE_REQUIRED"),
    ({"price": "-5"}, 422, None),  # not a decimal string of digits: the schema refuses it
    ({"price": "12.345"}, 422, None),
    ({"price": "abc"}, 422, None),
    ({"consent": {"signed_on": (TODAY + dt.timedelta(days=1)).isoformat()}}, 422, "DATE_ORDER"),
])
def test_bad_transfers_name_the_rule_and_store_nothing(clerk, admin, land, change, status, rule):
    payload = body(land)
    for key, value in change.items():
        if key == "consent":
            consent = payload["consent"] | value
            if "signed_by" in consent:
                consent["signed_by_person_id"] = land[consent.pop("signed_by")]["members"][0]["id"]
            payload["consent"] = consent
        elif key in ("to", "from"):
            payload[key] = land[value]["code"]
        elif key == "parcels":
            payload[key] = [land[p] for p in value]
        else:
            payload[key] = value
    size = admin.get("/api/v1/ledger/210681").get_json()["size"]
    r = clerk.post("/api/v1/transfers", json=payload)
    assert r.status_code == status, r.get_json()
    if rule:
        assert r.get_json()["rule"] == rule and r.get_json()["message"]
    if rule == "NO_SURRENDER_CONDITION":
        assert "第二十七条" in r.get_json()["basis"] and "第三十六条" in r.get_json()["basis"]
    assert admin.get("/api/v1/ledger/210681").get_json()["size"] == size
    assert clerk.get("/api/v1/transfers").get_json()["items"] == []


def test_one_open_transfer_per_right_and_parcel(clerk, land):
    first = clerk.post("/api/v1/transfers", json=body(land))
    assert first.status_code == 201
    busy = clerk.post("/api/v1/transfers", json=body(land, parcels=[land["a2"]]))
    assert busy.status_code == 409 and busy.get_json()["rule"] == "RIGHT_BUSY"
    assert busy.get_json()["details"]["open_transfers"] == [first.get_json()["id"]]
    clerk.post(f"/api/v1/transfers/{first.get_json()['id']}/withdraw")
    assert clerk.post("/api/v1/transfers", json=body(land, parcels=[land["a2"]])).status_code == 201


def test_a_frozen_right_refuses_transfers(callers, land):
    case = callers["arbitrator"].post("/api/v1/disputes", json={
        "procedure": "arbitration", "category": "infringement",
        "applicant": {"kind": "household", "code": land["b"]["code"]},
        "respondent": {"kind": "household", "code": land["a"]["code"]}, "subjects": {"parcels": [land["a1"]]},
        "claims": "请求确认地块归申请人", "knew_of_harm_on": TODAY.isoformat(), "received_on": TODAY.isoformat(),
        "freeze": True})
    assert case.status_code == 201, case.get_json()
    r = callers["clerk"].post("/api/v1/transfers", json=body(land))
    assert r.status_code == 409 and r.get_json()["rule"] == "RIGHT_IN_DISPUTE"
    assert r.get_json()["details"]["frozen"] == [land["a1"]]


def test_sixteen_concurrent_completions_move_the_parcel_once(app, clerk, admin, land):
    t = clerk.post("/api/v1/transfers", json=body(land)).get_json()
    url = f"/api/v1/transfers/{t['id']}"
    clerk.post(f"{url}/issuer-consent", json={"decision": "granted"})
    clerk.post(f"{url}/payments", json={"amount": "12000", "paid_on": TODAY.isoformat(), "reference": "r"})
    headers = {"Authorization": f"Bearer {clerk.token}"}

    def complete(_):
        return app.test_client().post(f"{url}/complete", json={}, headers=headers).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = sorted(pool.map(complete, range(16)))
    assert codes == [200] + [409] * 15
    assert parcels_of(clerk, land["rb"]) == sorted([land["a1"], land["b1"]])
    kinds = [e["kind"] for e in admin.get("/api/v1/ledger/210681?after=0&limit=1000").get_json()["items"]]
    assert kinds.count("transfer.completed") == 1


def test_the_issuers_answer_and_a_payment_at_the_same_moment_leave_the_transfer_paid(app, clerk, land,
                                                                                       database_url):
    """A payment in full and the issuer's consent arrive together: whichever commits last must see the other, so
    the transfer ends ``paid``. The transfer's row is held locked while both requests start, the payment
    first, so the payment commits first; an answer computed from what it read before the payment would write
    ``consented`` over it."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite takes one writer at a time (BEGIN IMMEDIATE): two writes cannot interleave")
    import threading
    import time

    from sqlalchemy import text

    from app.db import make_engine

    t = clerk.post("/api/v1/transfers", json=body(land)).get_json()
    url = f"/api/v1/transfers/{t['id']}"
    headers = {"Authorization": f"Bearer {clerk.token}"}
    answers = {}

    def send(name, path, payload):
        answers[name] = app.test_client().post(f"{url}/{path}", json=payload, headers=headers)

    holder = make_engine(database_url)
    with holder.connect() as lock:
        locked = lock.execute(text("SELECT id FROM transfers WHERE county_code = :county_code AND id = :id FOR UPDATE"),
                              row_key(t["id"])._asdict()).all()
        assert len(locked) == 1
        pay = threading.Thread(target=send, args=("pay", "payments", {
            "amount": t["price"], "paid_on": TODAY.isoformat(), "reference": "同时"}))
        pay.start()
        time.sleep(0.5)  # the payment waits for the row first
        consent = threading.Thread(target=send, args=("consent", "issuer-consent", {"decision": "granted"}))
        consent.start()
        time.sleep(0.5)  # and the answer behind it
        lock.rollback()
    holder.dispose()
    pay.join(30)
    consent.join(30)
    assert answers["pay"].status_code == 201, answers["pay"].get_json()
    assert answers["consent"].status_code == 200, answers["consent"].get_json()
    after = clerk.get(url).get_json()
    assert (after["status"], after["paid"], after["issuer"]["decision"]) == ("paid", t["price"], "granted")


def test_sixteen_concurrent_transfers_of_one_parcel_open_once(app, clerk, land):
    headers = {"Authorization": f"Bearer {clerk.token}"}

    def create(_):
        return app.test_client().post("/api/v1/transfers", json=body(land), headers=headers).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = sorted(pool.map(create, range(16)))
    assert codes == [201] + [409] * 15
    assert len(clerk.get("/api/v1/transfers").get_json()["items"]) == 1


def test_recording_a_settlement_keeps_every_right_and_the_membership(clerk, land):
    person = land["a"]["members"][1]["id"]
    before = clerk.get(f"/api/v1/rights?holder={land['a']['code']}").get_json()["items"]
    r = clerk.post("/api/v1/settlements", json={"person_id": person, "settled_on": TODAY.isoformat(),
                                                "city_code": "210602", "hukou_ref": "丹公户〔2026〕12号"})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert [x["id"] for x in out["rights_retained"]] == [land["ra"]]
    assert out["rights_retained"][0]["parcels"] == sorted([land["a1"], land["a2"]])
    after = clerk.get(f"/api/v1/rights?holder={land['a']['code']}").get_json()["items"]
    assert after == before
    future = clerk.post("/api/v1/settlements", json={"person_id": person, "city_code": "210602",
                                                     "settled_on": (TODAY + dt.timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.get_json()["rule"] == "DATE_ORDER"


def _walk(clerk, payload, *, consent=True, completed_on=None):
    """Create, (consent), pay in full and complete; return the completion response."""
    r = clerk.post("/api/v1/transfers", json=payload)
    assert r.status_code == 201, r.get_json()
    url = f"/api/v1/transfers/{r.get_json()['id']}"
    if consent:
        clerk.post(f"{url}/issuer-consent", json={"decision": "granted"})
    clerk.post(f"{url}/payments", json={"amount": payload["price"], "paid_on": payload["consent"]["signed_on"],
                                        "reference": "r"})
    return clerk.post(f"{url}/complete", json={"completed_on": completed_on} if completed_on else {})


@pytest.fixture
def homesteads(clerk, land, make_parcel):
    """Household A holds a homestead on plot h; B has none."""
    plot = make_parcel(100, 500, size_m=14, kind="homestead", land_use="homestead")["id"]
    r = clerk.post("/api/v1/rights", json={"type": "homestead", "holder": land["a"]["code"], "parcel": plot,
                                           "approved_on": "2015-06-01"})
    assert r.status_code == 201, r.get_json()
    return {"plot": plot, "right": land["a"]["code"] + "Z"}


def test_a_homestead_goes_whole_to_a_household_without_one(clerk, land, homesteads):
    payload = body(land, right=homesteads["right"], parcels=None)
    del payload["parcels"]
    assert _walk(clerk, payload).status_code == 200
    theirs = clerk.get(f"/api/v1/rights/{land['b']['code']}Z").get_json()
    assert [p["code"] for p in theirs["parcels"]] == [homesteads["plot"]] and theirs["acquisition"] == "transfer"
    assert clerk.get(f"/api/v1/rights/{homesteads['right']}").get_json()["status"] == "ended"
    # having given its homestead up, A may not be granted another (土地管理法 第六十二条)
    back = clerk.post("/api/v1/transfers", json=body(land, right=theirs["id"], **{"from": land["b"]["code"]},
                                                     to=land["a"]["code"], parcels=[homesteads["plot"]],
                                                     consent=body(land)["consent"] | {
                                                         "signed_by_person_id": land["b"]["members"][0]["id"]}))
    assert back.status_code == 422 and back.get_json()["rule"] == "HOMESTEAD_REAPPLICATION_BARRED", back.get_json()


def test_a_homestead_only_to_a_household_without_one(clerk, land, homesteads, make_parcel):
    other = make_parcel(300, 500, size_m=14, kind="homestead", land_use="homestead")["id"]
    assert clerk.post("/api/v1/rights", json={"type": "homestead", "holder": land["b"]["code"], "parcel": other,
                                              "approved_on": "2015-06-01"}).status_code == 201
    payload = body(land, right=homesteads["right"])
    del payload["parcels"]
    r = clerk.post("/api/v1/transfers", json=payload)
    assert r.status_code == 409 and r.get_json()["rule"] == "ONE_HOMESTEAD_PER_HOUSEHOLD"


def test_a_homestead_exit_frees_the_plot(clerk, land, homesteads):
    payload = body(land, kind="exit", right=homesteads["right"])
    del payload["parcels"], payload["to"]
    assert _walk(clerk, payload, consent=False).status_code == 200
    history = clerk.get(f"/api/v1/parcels/{homesteads['plot']}/history").get_json()["rights"]
    assert [(h["right"], h["valid_to"]) for h in history] == [(homesteads["right"], TODAY.isoformat())]


@pytest.fixture
def share_holdings(clerk, land):
    """A plan of 100 shares, at most 40 per household; A holds 30, B holds 10 (both with a recognised member)."""
    for h in (land["a"], land["b"]):
        r = clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members",
                       json={"person_id": h["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01"})
        assert r.status_code == 201, r.get_json()
    clerk.put(f"/api/v1/collectives/{COLLECTIVE}/share-plan",
              json={"total_shares": 100, "max_holding_per_household": 40, "whole_shares": True})
    for h, n in ((land["a"], 30), (land["b"], 10)):
        assert clerk.post("/api/v1/rights", json={"type": "income_share", "holder": h["code"],
                                                  "shares": n}).status_code == 201
    return {"a": land["a"]["code"] + "G", "b": land["b"]["code"] + "G"}


def _shares(clerk, right):
    r = clerk.get(f"/api/v1/rights/{right}").get_json()
    return r["shares"], r["status"]


@pytest.mark.parametrize("n, status, rule", [(30, 200, None), (31, 422, "SHARES_EXCEED_HOLDING"),
                                             (1.5, 422, "SHARES_NOT_WHOLE")])
def test_income_shares_move_between_holdings(clerk, land, share_holdings, n, status, rule):
    payload = body(land, right=share_holdings["a"], shares=n, price="3000")
    del payload["parcels"]
    if status != 200:
        r = clerk.post("/api/v1/transfers", json=payload)
        assert r.status_code == status and r.get_json()["rule"] == rule
        return
    assert _walk(clerk, payload).status_code == 200
    assert _shares(clerk, share_holdings["a"]) == (None, "ended")
    assert _shares(clerk, share_holdings["b"]) == ("40.0000", "active")


def test_income_shares_respect_the_recipients_cap(clerk, land, share_holdings):
    # B re-quantified to 11: 30 more would make 41, above the plan's 40 per household
    assert clerk.post("/api/v1/rights", json={"type": "income_share", "holder": land["b"]["code"],
                                              "shares": 11}).status_code == 201
    payload = body(land, right=share_holdings["a"], shares=30, price="3000")
    del payload["parcels"]
    r = clerk.post("/api/v1/transfers", json=payload)
    assert r.status_code == 409 and r.get_json()["rule"] == "SHARE_HOLDING_CAP"
    assert r.get_json()["details"]["would_hold"] == "41.0000"


def test_an_income_share_exit_returns_shares_to_the_collective(clerk, land, share_holdings):
    payload = body(land, kind="exit", right=share_holdings["a"], shares=10, price="1000")
    del payload["parcels"], payload["to"]
    assert _walk(clerk, payload, consent=False).status_code == 200
    assert _shares(clerk, share_holdings["a"]) == ("20.0000", "active")


def test_the_compliance_report_lists_a_settled_households_transfers_with_flags(clerk, callers, land):
    person = land["a"]["members"][1]["id"]
    settled_on = TODAY - dt.timedelta(days=20)
    clerk.post("/api/v1/settlements", json={"person_id": person, "settled_on": settled_on.isoformat(),
                                            "city_code": "210602"})
    cheap = _walk(clerk, body(land, price="1000.00"))  # 1,000 for 3.75 亩, while B sold at 12,000
    assert cheap.status_code == 200
    market = body(land, right=land["rb"], **{"from": land["b"]["code"]}, to=land["a"]["code"],
                  parcels=[land["b1"]], price="12000.00",
                  consent=body(land)["consent"] | {"signed_by_person_id": land["b"]["members"][0]["id"]})
    assert _walk(clerk, market).status_code == 200
    r = callers["auditor"].get("/api/v1/compliance/settlement-exits?within=210681")
    assert r.status_code == 200
    (item,) = r.get_json()["items"]  # B has no settled member: only A's transfer is listed
    assert (item["household"], item["days_settlement_to_consent"]) == (land["a"]["code"], 20)
    assert set(item["flags"]) == {"consent_near_settlement", "price_far_below_collective", "consent_without_document"}
    assert item["price_per_mu"] == pytest.approx(1000 / 3.75, rel=0.01)
    wide = callers["auditor"].get("/api/v1/compliance/settlement-exits?window_days=10").get_json()["items"][0]
    assert "consent_near_settlement" not in wide["flags"]
    assert clerk.get("/api/v1/compliance/settlement-exits").status_code == 403
    assert callers["other_clerk"].get("/api/v1/compliance/settlement-exits").status_code == 403


def test_the_summary_counts_what_settled_people_kept_and_their_exits(clerk, callers, land):
    clerk.post("/api/v1/settlements", json={"person_id": land["a"]["members"][0]["id"],
                                            "settled_on": TODAY.isoformat(), "city_code": "210602"})
    payload = body(land, kind="exit", notice_given_on=(TODAY - dt.timedelta(days=200)).isoformat())
    del payload["to"]
    payload["consent"]["signed_on"] = (TODAY - dt.timedelta(days=200)).isoformat()
    assert _walk(clerk, payload, consent=False).status_code == 200
    report = callers["auditor"].get("/api/v1/reports/summary?within=210681").get_json()
    assert (report["households"], report["parcels"]) == (3, 4)
    assert report["rights"]["contract"] == {"active": 2}
    assert report["transfers"]["exit.completed"] == {"count": 1, "value": "12000.00"}
    assert report["settled"] == {"people": 1, "rights_kept": {"contract": 1}, "completed_exits": 1}
    assert report["area_mu_by_land_use"]["cultivated"] == pytest.approx(4 * 3.75, abs=0.05)
    assert callers["other_clerk"].get("/api/v1/reports/summary").get_json()["parcels"] == 0


def test_the_summary_counts_the_registry_once_per_change_of_its_county_log(app, callers, land, make_household):
    from sqlalchemy import event

    statements = []
    engine = app.extensions["sanquan"].engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731  (before_cursor_execute's statement)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        auditor = callers["auditor"]
        first = auditor.get("/api/v1/reports/summary?within=210681").get_json()
        counted = len(statements)
        statements.clear()
        assert auditor.get("/api/v1/reports/summary?within=210681").get_json() == first
        assert len(statements) <= counted - 6  # parcels, rights, collectives, households, persons, members: kept
        assert not any("parcel_versions" in sql for sql in statements)
        make_household(collective=COLLECTIVE)  # a write appends to the county's log: counted afresh
        after = auditor.get("/api/v1/reports/summary?within=210681").get_json()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert after["households"] == first["households"] + 1 and after["persons"] > first["persons"]


@pytest.mark.parametrize("to", ["c", {"name": "东港市绿野农业专业合作社", "credit_code": "93210681MA0Q8L1X2H"}])
def test_a_lease_gives_a_management_right_and_the_household_keeps_its_contract(clerk, land, to):
    recipient = land[to]["code"] if isinstance(to, str) else to  # C is of another collective: leases may go out
    payload = body(land, kind="lease", to=recipient, term_end="2040-12-31", price="6000")
    r = _walk(clerk, payload, consent=False)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["management_right"] is not None
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])  # the contract stays
    again = clerk.post("/api/v1/transfers", json=body(land, kind="share_in", to=land["b"]["code"],
                                                      term_end="2030-12-31", price="100"))
    assert again.status_code == 409 and again.get_json()["rule"] == "RIGHT_BUSY"  # a1 is under a management right


@pytest.mark.parametrize("change, status, rule", [
    ({"term_end": "2048-01-01"}, 422, "TERM_EXCEEDS_CONTRACT"),
    ({"term_end": (TODAY - dt.timedelta(days=1)).isoformat()}, 422, "DATE_ORDER"),
    ({"term_end": None}, 422, None),
    ({"to": {"name": "某公司", "credit_code": "bad"}}, 422, None),
    ({"to": {"name": "某公司", "credit_code": "93210681MA0Q8L1X2K"}}, 422, None),  # its check character is H
    ({"to": {"name": "张三", "id_number": "11010519491231002X", "credit_code": "93210681MA0Q8L1X2H"}}, 422, None),
])
def test_bad_leases(clerk, land, change, status, rule):
    payload = body(land, kind="lease", term_end="2040-12-31", price="6000") | change
    if payload["term_end"] is None:
        del payload["term_end"]
    r = clerk.post("/api/v1/transfers", json=payload)
    assert r.status_code == status, r.get_json()
    if rule:
        assert r.get_json()["rule"] == rule


def test_a_household_of_another_county_leases_only_as_an_outside_party(clerk, admin, land, make_collective):
    """A county's register names its own households: one of another county (a county's rows refer to its own
    rows, which a distributed deployment keeps together) takes a lease as an outside party, by name."""
    make_collective(code="21068210100101", name="邻县一组", caller=admin)
    number = id_number("210682", "19700101", 3)
    r = admin.post("/api/v1/collectives/21068210100101/households", json={
        "head": {"name": "邻县户主", "id_number": number, "sex": "male"}})
    assert r.status_code == 201, r.get_json()
    elsewhere = r.get_json()
    size = admin.get("/api/v1/ledger/210681?limit=1").get_json()["size"]
    refused = admin.post("/api/v1/transfers", json=body(land, kind="lease", to=elsewhere["code"],
                                                        term_end="2040-12-31", price="6000"))
    assert refused.status_code == 422, refused.get_json()
    assert set(refused.get_json()["errors"]) == {"to"} and "外部经营主体" in refused.get_json()["message"]
    assert admin.get("/api/v1/ledger/210681?limit=1").get_json()["size"] == size
    head = elsewhere["members"][0]
    as_party = admin.post("/api/v1/transfers", json=body(land, kind="lease", to={
        "name": head["name"], "id_number": number}, term_end="2040-12-31", price="6000"))
    assert as_party.status_code == 201, as_party.get_json()


def test_completion_dates_and_closed_transfers(clerk, land):
    t = clerk.post("/api/v1/transfers", json=body(land, kind="exchange", price="0", counter_right=land["rb"],
                                                  parcels=[land["a1"], land["b1"]],
                                                  counter_consent=counter(land))).get_json()
    url = f"/api/v1/transfers/{t['id']}"
    before_consent = (TODAY - dt.timedelta(days=1)).isoformat()
    r = clerk.post(f"{url}/complete", json={"completed_on": before_consent})
    assert r.status_code == 422 and r.get_json()["rule"] == "DATE_ORDER"  # consent dated after completion
    r = clerk.post(f"{url}/complete", json={"completed_on": (TODAY + dt.timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.get_json()["rule"] == "DATE_ORDER"  # completion in the future
    assert clerk.post(f"{url}/withdraw").get_json()["status"] == "withdrawn"
    for step, payload in (("complete", {}), ("payments", {"amount": "1", "paid_on": TODAY.isoformat(),
                                                          "reference": "x"}), ("withdraw", None)):
        r = clerk.post(f"{url}/{step}", json=payload)
        assert r.status_code == 409 and r.get_json()["rule"] == "TRANSFER_CLOSED", step
    assert parcels_of(clerk, land["ra"]) == sorted([land["a1"], land["a2"]])


@pytest.mark.parametrize("change", [
    {"kind": "exchange", "price": "0", "counter_right": "RB",
     "to": {"name": "某合作社", "credit_code": "93210681MA0Q8L1X2H"}},
    {"kind": "transfer", "to": {"name": "某合作社", "credit_code": "93210681MA0Q8L1X2H"}},
    {"kind": "transfer", "shares": 5},
    {"kind": "transfer", "counter_right": "RB"},
    {"kind": "exchange", "price": "0", "counter_right": "RB", "parcels": ["A1"]},
    {"kind": "exit", "term_end": "2030-01-01"},
    {"kind": "transfer", "parcels": ["A1", "A1"]},
    {"kind": "transfer", "right": "210681101001019999J"},
    {"kind": "transfer", "to": "210681101001019999"},
])
def test_odd_transfers_are_a_clear_4xx(clerk, land, change):
    fill = {"RB": land["rb"], "A1": land["a1"]}
    payload = body(land) | {k: ([fill.get(x, x) for x in v] if isinstance(v, list) else fill.get(v, v))
                            if not isinstance(v, dict) else v for k, v in change.items()}
    if payload["kind"] == "exit":
        payload.pop("to")
    r = clerk.post("/api/v1/transfers", json=payload)
    assert 400 <= r.status_code < 500, r.get_json()
    assert r.get_json()["message"]


def test_a_retried_payment_with_its_idempotency_key_is_counted_once(clerk, land):
    t = clerk.post("/api/v1/transfers", json=body(land), headers={"Idempotency-Key": "t-1"}).get_json()
    again = clerk.post("/api/v1/transfers", json=body(land), headers={"Idempotency-Key": "t-1"})
    assert again.status_code == 201 and again.get_json()["id"] == t["id"]  # the first answer, nothing new
    payment = {"amount": "5000", "paid_on": TODAY.isoformat(), "reference": "网银 88"}
    for _ in range(3):  # a flaky line: the desk's client sends it three times
        r = clerk.post(f"/api/v1/transfers/{t['id']}/payments", json=payment, headers={"Idempotency-Key": "pay-88"})
        assert r.status_code == 201
    assert clerk.get(f"/api/v1/transfers/{t['id']}").get_json()["paid"] == "5000.00"


def test_a_homestead_cannot_be_leased_or_exchanged(clerk, land, homesteads):
    for kind, extra in (("lease", {"term_end": "2040-12-31"}), ("exchange", {"price": "0",
                                                                             "counter_right": land["rb"]})):
        payload = body(land, kind=kind, right=homesteads["right"], **extra)
        del payload["parcels"]
        r = clerk.post("/api/v1/transfers", json=payload)
        assert r.status_code == 422 and r.get_json()["errors"]["kind"], kind


def test_a_transfer_without_a_recipient_is_422(clerk, land):
    payload = body(land)
    del payload["to"]
    r = clerk.post("/api/v1/transfers", json=payload)
    assert r.status_code == 422 and r.get_json()["errors"]["to"]


def _ledger_size(admin):
    return admin.get("/api/v1/ledger/210681").get_json()["size"]


@pytest.mark.parametrize("price", ["１００", "１２０００.００", 12000, 12000.5, "1e4", "-100", "+100", " 100",
                                   "100.001", "1234567890123", "0x64", "١٠٠", "NaN", True, None])
def test_a_price_is_an_ascii_decimal_string_or_a_422(clerk, admin, land, price):
    before = _ledger_size(admin)
    r = clerk.post("/api/v1/transfers", json=body(land, price=price))
    assert r.status_code == 422 and "price" in r.get_json()["errors"], r.get_json()
    assert _ledger_size(admin) == before


@pytest.mark.parametrize("payment", [
    {"amount": "１０００"}, {"amount": 1000}, {"amount": "0"}, {"amount": "0.00"}, {"amount": "-1"},
    {"paid_on": "0001-01-01"}, {"paid_on": "1949-09-30"}, {"paid_on": "9999-12-31"},
], ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
def test_a_payment_needs_a_positive_ascii_amount_on_a_plausible_day(clerk, admin, land, payment):
    t = clerk.post("/api/v1/transfers", json=body(land)).get_json()
    before = _ledger_size(admin)
    r = clerk.post(f"/api/v1/transfers/{t['id']}/payments",
                   json={"amount": "1000", "paid_on": TODAY.isoformat(), "reference": "银行"} | payment)
    assert r.status_code == 422 and set(payment) <= set(r.get_json()["errors"]), r.get_json()
    assert _ledger_size(admin) == before
    assert clerk.get(f"/api/v1/transfers/{t['id']}").get_json()["paid"] == "0.00"


def test_a_payment_before_the_holder_consented_is_date_order(clerk, admin, land):
    signed = TODAY - dt.timedelta(days=10)
    t = clerk.post("/api/v1/transfers", json=body(land, consent=body(land)["consent"] | {
        "signed_on": signed.isoformat()})).get_json()
    before = _ledger_size(admin)
    r = clerk.post(f"/api/v1/transfers/{t['id']}/payments", json={
        "amount": "1000", "paid_on": (signed - dt.timedelta(days=1)).isoformat(), "reference": "银行"})
    assert r.status_code == 422 and r.get_json()["rule"] == "DATE_ORDER", r.get_json()
    assert r.get_json()["details"]["consent_signed_on"] == signed.isoformat()
    assert _ledger_size(admin) == before
    on_the_day = clerk.post(f"/api/v1/transfers/{t['id']}/payments", json={
        "amount": "1000", "paid_on": signed.isoformat(), "reference": "银行"})
    assert on_the_day.status_code == 201 and on_the_day.get_json()["paid"] == "1000.00"


@pytest.mark.parametrize("path, payload", [
    ("/api/v1/transfers", lambda land: body(land, consent=body(land)["consent"] | {"signed_on": "0001-01-01"})),
    ("/api/v1/transfers", lambda land: body(land, kind="lease", term_end="0001-01-01")),
    ("/api/v1/transfers", lambda land: body(land, kind="exit", notice_given_on="1900-01-01")),
    ("/api/v1/settlements", lambda land: {"person_id": land["a"]["members"][0]["id"], "settled_on": "0001-01-01",
                                         "city_code": "210602"}),
    ("/api/v1/settlements", lambda land: {"person_id": land["a"]["members"][0]["id"], "settled_on": "1949-09-30",
                                         "city_code": "210602"}),
    ("/api/v1/households/{a}/house-disposals", lambda land: {"kind": "sold", "occurred_on": "0001-01-01"}),
    ("/api/v1/rights", lambda land: {"type": "contract", "holder": land["c"]["code"], "parcels": [land["a1"]],
                                     "start": "0001-01-01", "end": "0030-12-31"}),
    ("/api/v1/collectives/{collective}/members", lambda land: {
        "person_id": land["a"]["members"][0]["id"], "basis": "original", "decided_on": "0001-01-01"}),
], ids=["consent", "term_end", "notice", "settlement", "settlement_day_before_1949_10_01", "house_disposal",
        "contract_start", "membership"])
def test_a_date_before_the_registry_began_is_a_422_that_stores_nothing(clerk, admin, land, path, payload):
    before = _ledger_size(admin)
    r = clerk.post(path.format(a=land["a"]["code"], collective=COLLECTIVE), json=payload(land))
    assert r.status_code == 422 and r.get_json()["errors"], r.get_json()
    assert "1949-10-01" in str(r.get_json()["errors"])
    assert _ledger_size(admin) == before


@pytest.mark.parametrize("over, field", [
    ({"kind": "exit"}, "to"),  # an exit names no recipient
    ({"to": None}, "to"),
    ({"counter_right": "210681101001010002J"}, "counter_right"),
    ({"counter_consent": {"signed_by_person_id": 1, "signed_on": "2026-01-01", "voluntary": True}}, "counter_consent"),
    ({"term_end": "2030-12-31"}, "term_end"),
    ({"kind": "lease"}, "term_end"),
], ids=["exit_with_to", "no_to", "counter_right", "counter_consent", "term_end", "lease_without_term"])
def test_fields_of_another_kind_are_refused_by_the_schema_before_the_registry_is_asked(clerk, land, over, field):
    unknown = body(land, right="210681101001019999J") | over  # the registry would answer 404 for this right
    r = clerk.post("/api/v1/transfers", json=unknown)
    assert r.status_code == 422 and list(r.get_json()["errors"]) == [field], r.get_json()
