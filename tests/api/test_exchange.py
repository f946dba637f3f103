"""The exchange desk (农村产权交易): listing, announcement, bids, members' priority and the award, on both engines.

Every step is dated as the desk records it on paper: the listing forty days ago, bids in its announcement, the
award after the announcement's last working day.
"""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.ids import number_of
from tests.api.test_transfers import END, START, TODAY, homesteads, land, share_holdings  # noqa: F401  (fixtures)
from tests.conftest import id_number

LISTED = TODAY - dt.timedelta(days=40)
BID = LISTED + dt.timedelta(days=1)
OUTSIDER = {"name": "丹东绿野农业合作社", "credit_code": "91210600MA0XXXXX1R"}


@pytest.fixture
def desk(callers):
    return callers["exchange"]


def consent(land, who="a", on=LISTED):
    return {"signed_by_person_id": land[who]["members"][0]["id"], "signed_on": on.isoformat(), "voluntary": True}


def listing(land, **over) -> dict:
    """A listing's body; a field given as None is left out."""
    body = {"right": land["ra"], "kind": "transfer", "parcels": [land["a1"]], "asking_price": "10000.00",
            "listed_on": LISTED.isoformat(), "consent": consent(land)} | over
    return {k: v for k, v in body.items() if v is not None}


def listed(desk, land, **over) -> dict:
    r = desk.post("/api/v1/listings", json=listing(land, **over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def bid(desk, listing_id, bidder, amount="10000.00", on=BID):
    return desk.post(f"/api/v1/listings/{listing_id}/bids", json={"bidder": bidder, "amount": amount,
                                                                  "bid_on": on.isoformat()})


def award(desk, listing_id, on=TODAY):
    return desk.post(f"/api/v1/listings/{listing_id}/award", json={"on": on.isoformat()})


def ledger_size(callers) -> int:
    return callers["auditor"].get("/api/v1/ledger/210681?limit=1").get_json()["size"]


def test_a_listing_is_announced_for_ten_working_days_and_holds_its_right(desk, clerk, land):
    made = listed(desk, land)
    assert (made["status"], made["kind"], made["parcels"], made["asking_price"]) == (
        "announced", "transfer", [land["a1"]], "10000.00")
    assert made["announcement_days"] == 10 and made["announcement_ends_on"] > made["listed_on"]
    # held as an open transfer holds it: no transfer of the parcel meanwhile, nor a second listing
    r = clerk.post("/api/v1/transfers", json={
        "kind": "transfer", "right": land["ra"], "from": land["a"]["code"], "to": land["b"]["code"],
        "parcels": [land["a1"]], "price": "12000.00", "consent": consent(land, on=TODAY)})
    assert r.status_code == 409 and r.get_json()["rule"] == "RIGHT_BUSY", r.get_json()
    assert r.get_json()["details"]["open_listings"] == [made["id"]]
    again = desk.post("/api/v1/listings", json=listing(land))
    assert again.status_code == 409 and again.get_json()["rule"] == "RIGHT_BUSY"
    assert desk.get(f"/api/v1/listings/{made['id']}").get_json()["status"] == "announced"
    board = desk.get("/api/v1/listings?status=announced").get_json()["items"]
    assert [x["id"] for x in board] == [made["id"]]


@pytest.mark.parametrize("listed_on, ends_on", [
    # 2025: 1–8 October rest (National Day, Mid-Autumn); Sunday 28 September and Saturday 11 October are worked:
    # 28, 29, 30 Sep; 9, 10, 11 Oct; 13, 14, 15, 16 Oct
    ("2025-09-26", "2025-10-16"),
    # 2026: 15–23 February rest (Spring Festival); Saturdays 14 and 28 February are worked:
    # 11, 12, 13, 14 Feb; 24, 25, 26, 27, 28 Feb; 2 Mar
    ("2026-02-10", "2026-03-02"),
], ids=["national_day_2025", "spring_festival_2026"])
def test_the_announcement_counts_working_days_across_the_holidays(listed_on, ends_on):
    from app.exchange.models import Listing
    from app.exchange.services import announcement_ends
    from app.workdays.calendar import WorkCalendar

    listing = Listing(listed_on=dt.date.fromisoformat(listed_on), announcement_days=10)
    assert announcement_ends(WorkCalendar(), listing) == dt.date.fromisoformat(ends_on)


@pytest.mark.parametrize("over, status, rule", [
    ({"announcement_days": 5}, 422, "ANNOUNCEMENT_TOO_SHORT"),
    ({"consent": None}, 422, "CONSENT_REQUIRED"),
    ({"condition_of_settlement": True}, 422, "NO_SURRENDER_CONDITION"),
    ({"parcels": ["2106811010010109999"]}, 422, "PARCEL_NOT_IN_RIGHT"),
    ({"listed_on": (TODAY + dt.timedelta(days=1)).isoformat()}, 422, "DATE_ORDER"),
    ({"kind": "lease"}, 422, None),  # a lease offers a term
    ({"asking_price": "１００"}, 422, None),
])
def test_a_bad_listing_is_refused_and_changes_nothing(desk, callers, land, over, status, rule):
    size = ledger_size(callers)
    r = desk.post("/api/v1/listings", json=listing(land, **over))
    assert r.status_code == status and r.get_json().get("rule") == rule, r.get_json()
    assert ledger_size(callers) == size and desk.get("/api/v1/listings").get_json()["items"] == []


def test_only_the_desk_lists(clerk, land):
    assert clerk.post("/api/v1/listings", json=listing(land)).status_code == 403


def test_a_transfer_is_bid_on_by_members_and_awarded_to_the_highest_bid(desk, clerk, callers, land, make_household):
    from tests.conftest import COLLECTIVE

    made = listed(desk, land)
    d = make_household(collective=COLLECTIVE)
    assert bid(desk, made["id"], land["b"]["code"], "11000.00").status_code == 201
    assert bid(desk, made["id"], d["code"], "12500.00").status_code == 201
    early = award(desk, made["id"], on=LISTED + dt.timedelta(days=3))
    assert early.status_code == 409 and early.get_json()["rule"] == "ANNOUNCEMENT_NOT_OVER"

    done = award(desk, made["id"])
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (body["status"], body["winner"], body["amount"]) == ("awarded", {"household": d["code"]}, "12500.00")
    assert body["details"]["method"] == "bidding" and body["details"]["bidders"] == 2
    t = body["transfer"]
    assert (t["status"], t["to"], t["price"], t["parcels"]) == ("pending", d["code"], "12500.00", [land["a1"]])

    # the transfer runs its workflow: the issuer's consent, payment, completion; the parcel moves
    url = f"/api/v1/transfers/{t['id']}"
    assert clerk.post(f"{url}/issuer-consent", json={"decision": "granted"}).status_code == 200
    assert clerk.post(f"{url}/payments", json={"amount": "12500.00", "paid_on": TODAY.isoformat(),
                                               "reference": "r"}).status_code == 201
    assert clerk.post(f"{url}/complete", json={}).get_json()["status"] == "completed"
    assert clerk.get(f"/api/v1/rights?parcel={land['a1']}").get_json()["items"][0]["holder"] == d["code"]
    closed = bid(desk, made["id"], land["b"]["code"], "20000.00", on=TODAY)
    assert closed.status_code == 409 and closed.get_json()["rule"] == "LISTING_CLOSED"
    assert callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()["ok"] is True


def test_one_bidder_is_a_negotiated_award(desk, land):
    made = listed(desk, land)
    bid(desk, made["id"], land["b"]["code"], "10000.00")
    bid(desk, made["id"], land["b"]["code"], "10500.00", on=BID + dt.timedelta(days=1))
    body = award(desk, made["id"]).get_json()
    assert body["details"]["method"] == "negotiated" and body["amount"] == "10500.00"


def test_on_equal_terms_a_member_wins_a_lease_over_an_outside_party(desk, land):
    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    assert bid(desk, made["id"], OUTSIDER, "3600.00").status_code == 201  # first, but an outside party
    assert bid(desk, made["id"], land["b"]["code"], "3600.00", on=BID + dt.timedelta(days=2)).status_code == 201
    body = award(desk, made["id"]).get_json()
    assert body["winner"] == {"household": land["b"]["code"]}
    assert body["details"]["rule"] == "PRIORITY_RIGHT" and body["details"]["basis"] == "农村土地承包法 第三十八条"
    assert body["details"]["over"] == [{"party": OUTSIDER}]
    assert body["transfer"]["kind"] == "lease" and body["transfer"]["term_end"] == "2035-12-31"


def test_a_household_of_another_county_bids_only_as_an_outside_party(desk, callers, land, make_collective):
    admin = callers["admin"]
    make_collective(code="21068210100101", name="邻县一组", caller=admin)
    r = admin.post("/api/v1/collectives/21068210100101/households", json={
        "head": {"name": "邻县户主", "id_number": id_number("210682", "19700101", 3), "sex": "male"}})
    assert r.status_code == 201, r.get_json()
    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    size = ledger_size(callers)
    refused = bid(admin, made["id"], r.get_json()["code"], "3600.00")
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"bidder"}, refused.get_json()
    assert ledger_size(callers) == size


def test_a_member_who_let_the_announcement_pass_has_no_priority(desk, land):
    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    ends = dt.date.fromisoformat(made["announcement_ends_on"])
    bid(desk, made["id"], OUTSIDER, "3600.00")
    bid(desk, made["id"], land["b"]["code"], "3600.00", on=ends + dt.timedelta(days=1))
    body = award(desk, made["id"]).get_json()
    assert body["winner"] == {"party": OUTSIDER} and "rule" not in body["details"]


@pytest.mark.parametrize("bidder, amount, on, status, rule", [
    ("c", "11000.00", BID, 422, "SAME_COLLECTIVE_ONLY"),  # another collective's household, for a transfer
    ("a", "11000.00", BID, 422, "RECIPIENT_IS_HOLDER"),
    ("b", "9999.99", BID, 422, "BID_BELOW_ASKING"),
    ("outsider", "11000.00", BID, 422, "SAME_COLLECTIVE_ONLY"),  # an outside party takes only a lease or share-in
    ("b", "１１０００", BID, 422, None),  # not an ASCII decimal string
    ("b", "11000.001", BID, 422, None),
    ("b", "11000.00", LISTED - dt.timedelta(days=1), 422, "DATE_ORDER"),  # before the listing
    ("b", "11000.00", TODAY + dt.timedelta(days=1), 422, "DATE_ORDER"),  # in the future
])
def test_a_bad_bid_is_refused_and_changes_nothing(desk, callers, land, bidder, amount, on, status, rule):
    made = listed(desk, land)
    size = ledger_size(callers)
    r = bid(desk, made["id"], OUTSIDER if bidder == "outsider" else land[bidder]["code"], amount, on=on)
    assert (r.status_code, r.get_json().get("rule")) == (status, rule), r.get_json()
    assert ledger_size(callers) == size and desk.get(f"/api/v1/listings/{made['id']}").get_json()["bid_count"] == 0


def test_another_countys_desk_finds_no_listing_and_changes_nothing(desk, callers, land, uow_factory):
    from app.auth.services import SYSTEM, create_user
    from tests.conftest import Caller

    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    bid(desk, made["id"], land["b"]["code"], "3000.00")
    user = create_user(uow_factory(), actor=SYSTEM, name="凤城市产权交易窗口", role="exchange", scope="210682")
    fengcheng = Caller(callers["admin"].client, user["token"])
    size = ledger_size(callers)
    url = f"/api/v1/listings/{made['id']}"
    for r in (fengcheng.post(f"{url}/bids", json={"bidder": OUTSIDER, "amount": "5000.00",
                                                  "bid_on": BID.isoformat()}),
              fengcheng.post(f"{url}/award", json={"on": TODAY.isoformat()}),
              fengcheng.post(f"{url}/withdraw", json={"on": TODAY.isoformat()}),
              fengcheng.get(url), fengcheng.get(f"{url}/announcement.pdf"), fengcheng.get(f"{url}/contract.pdf"),
              fengcheng.get(f"{url}/certificate.pdf")):
        assert r.status_code == 404, r.get_json()
    assert fengcheng.get("/api/v1/listings").get_json()["items"] == []
    assert ledger_size(callers) == size
    mine = desk.get(url).get_json()
    assert (mine["status"], mine["bid_count"]) == ("announced", 1)


def test_no_bid_no_award_and_an_award_before_the_last_bid_is_refused(desk, land):
    made = listed(desk, land)
    none = award(desk, made["id"])
    assert none.status_code == 409 and none.get_json()["rule"] == "NO_QUALIFIED_BID"
    bid(desk, made["id"], land["b"]["code"], on=TODAY)
    early = award(desk, made["id"], on=TODAY - dt.timedelta(days=1))
    assert early.status_code == 422 and early.get_json()["rule"] == "DATE_ORDER"


def test_a_withdrawn_listing_frees_its_right_and_takes_no_more_bids(desk, clerk, land):
    made = listed(desk, land)
    out = desk.post(f"/api/v1/listings/{made['id']}/withdraw", json={"on": TODAY.isoformat()}).get_json()
    assert (out["status"], out["withdrawn_on"]) == ("withdrawn", TODAY.isoformat())
    late = bid(desk, made["id"], land["b"]["code"], on=TODAY)
    assert late.status_code == 409 and late.get_json()["rule"] == "LISTING_CLOSED"
    assert listed(desk, land)["status"] == "announced"  # the parcel may be listed again


def test_a_freeze_suspends_a_listing_until_it_is_lifted(desk, callers, land):
    from tests.api.test_scope import case_of  # noqa: F401  (the same application shape)

    made = listed(desk, land)
    arbitrator = callers["arbitrator"]
    r = arbitrator.post("/api/v1/disputes", json={
        "procedure": "arbitration", "category": "infringement",
        "applicant": {"kind": "household", "code": land["b"]["code"]},
        "respondent": {"kind": "household", "code": land["a"]["code"]},
        "subjects": {"rights": [land["ra"]], "parcels": [land["a1"]]}, "claims": "请求停止侵害",
        "knew_of_harm_on": (TODAY - dt.timedelta(days=30)).isoformat(),
        "received_on": (TODAY - dt.timedelta(days=10)).isoformat(), "freeze": True})
    assert r.status_code == 201, r.get_json()
    assert desk.get(f"/api/v1/listings/{made['id']}").get_json()["suspended"] is True
    frozen = bid(desk, made["id"], land["b"]["code"])
    assert frozen.status_code == 409 and frozen.get_json()["rule"] == "RIGHT_IN_DISPUTE"
    assert award(desk, made["id"]).get_json()["rule"] == "RIGHT_IN_DISPUTE"


def test_bids_are_the_desks_and_the_auditors_to_see(desk, clerk, callers, land):
    made = listed(desk, land)
    bid(desk, made["id"], land["b"]["code"])
    assert [b["household"] for b in desk.get(f"/api/v1/listings/{made['id']}").get_json()["bids"]] == [
        land["b"]["code"]]
    assert len(callers["auditor"].get(f"/api/v1/listings/{made['id']}").get_json()["bids"]) == 1
    seen = clerk.get(f"/api/v1/listings/{made['id']}").get_json()
    assert "bids" not in seen and "highest_bid" not in seen and seen["bid_count"] == 1
    assert callers["other_clerk"].get(f"/api/v1/listings/{made['id']}").status_code == 404
    # the notice board gives each listing's count of bids, and to the desk and auditors the highest
    bid(desk, made["id"], land["b"]["code"], "12345.67", on=BID + dt.timedelta(days=1))
    assert desk.get(f"/api/v1/listings/{made['id']}").get_json()["highest_bid"] == "12345.67"
    for who, highest in ((desk, "12345.67"), (callers["auditor"], "12345.67"), (clerk, None)):
        line = who.get("/api/v1/listings").get_json()["items"][0]
        assert (line["bid_count"], line.get("highest_bid"), "bids" in line) == (2, highest, False), line


def test_the_notice_board_pages_by_cursor(desk, land):
    first = listed(desk, land)
    second = listed(desk, land, right=land["rb"], parcels=[land["b1"]], consent=consent(land, "b"))
    page = desk.get("/api/v1/listings?limit=1").get_json()
    assert [x["id"] for x in page["items"]] == [first["id"]] and page["next_cursor"] == str(first["id"])
    rest = desk.get(f"/api/v1/listings?limit=1&cursor={page['next_cursor']}").get_json()
    assert [x["id"] for x in rest["items"]] == [second["id"]] and rest["next_cursor"] is None
    assert desk.get("/api/v1/listings?within=210681101001").get_json()["items"][0]["id"] == first["id"]
    assert desk.get("/api/v1/listings?within=210682").get_json()["items"] == []  # outside the scope


def test_sixteen_concurrent_awards_of_one_listing_award_it_once(app, desk, callers, land):
    made = listed(desk, land)
    bid(desk, made["id"], land["b"]["code"], "11000.00")
    headers = {"Authorization": f"Bearer {desk.token}"}

    def award_once(_):
        return app.test_client().post(f"/api/v1/listings/{made['id']}/award", json={"on": TODAY.isoformat()},
                                      headers=headers).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = sorted(pool.map(award_once, range(16)))
    assert codes == [200] + [409] * 15
    assert len(desk.get("/api/v1/transfers").get_json()["items"]) == 1
    kinds = [e["kind"] for e in callers["admin"].get("/api/v1/ledger/210681?limit=1000").get_json()["items"]]
    assert kinds.count("listing.awarded") == 1 and kinds.count("transfer.created") == 1


def test_sixteen_concurrent_bids_are_each_recorded_once_and_a_retry_changes_nothing(app, desk, land,
                                                                                 make_household):
    from tests.conftest import COLLECTIVE

    made = listed(desk, land)
    bidders = [land["b"]["code"]] + [make_household(collective=COLLECTIVE)["code"] for _ in range(3)]
    headers = {"Authorization": f"Bearer {desk.token}"}

    def place(n):
        body = {"bidder": bidders[n % 4], "amount": f"{10000 + n}.00", "bid_on": BID.isoformat()}
        return app.test_client().post(f"/api/v1/listings/{made['id']}/bids", json=body,
                                      headers=headers | {"Idempotency-Key": f"bid-{n}"}).status_code

    with ThreadPoolExecutor(16) as pool:
        assert sorted(pool.map(place, range(16))) == [201] * 16
    with ThreadPoolExecutor(16) as pool:  # every retry answers from the first response
        assert sorted(pool.map(place, range(16))) == [201] * 16
    bids = desk.get(f"/api/v1/listings/{made['id']}").get_json()["bids"]
    assert sorted(b["amount"] for b in bids) == [f"{10000 + n}.00" for n in range(16)]


def test_the_announcement_prints_the_offer_its_price_and_its_working_days(desk, land):
    import io

    from pypdf import PdfReader

    from tests.pdf_fonts import fonts_not_carried

    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    pdf = desk.get(f"/api/v1/listings/{made['id']}/announcement.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    printed = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    ends = dt.date.fromisoformat(made["announcement_ends_on"])
    for words in ("农村产权流转交易挂牌公告", f"第{number_of(made['id'])}号", land["a"]["members"][0]["name"],
                  land["a1"],
                  "出租", "3,000.00", "10 个工作日", f"{ends.year}年{ends.month}月{ends.day}日", "第三十八条",
                  "2035年12月31日"):
        assert words in printed, words
    assert fonts_not_carried(pdf.data) == []  # it reads without Chinese fonts on the reader's machine
    assert desk.get("/api/v1/listings/999999/announcement.pdf").status_code == 404


def test_a_lease_from_listing_to_its_transaction_certificate(desk, clerk, callers, land):
    import io
    from urllib.parse import quote

    from pypdf import PdfReader

    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    bid(desk, made["id"], OUTSIDER, "3200.00")
    won = award(desk, made["id"]).get_json()
    early = desk.get(f"/api/v1/listings/{made['id']}/certificate.pdf")
    assert early.status_code == 409 and early.get_json()["rule"] == "LISTING_NOT_COMPLETED"

    url = f"/api/v1/transfers/{won['transfer']['id']}"  # a lease needs no issuer's consent (第三十六条)
    assert clerk.post(f"{url}/payments", json={"amount": "3200.00", "paid_on": TODAY.isoformat(),
                                               "reference": "r"}).status_code == 201
    assert clerk.post(f"{url}/complete", json={}).get_json()["status"] == "completed"
    pdf = desk.get(f"/api/v1/listings/{made['id']}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    printed = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for words in ("农村产权流转交易鉴证书", "丹东绿野农业合作社", land["a"]["members"][0]["name"], "3,200.00",
                  "协议成交", land["a1"], "2035年12月31日"):
        assert words in printed, words

    entry = next(e for e in callers["admin"].get("/api/v1/ledger/210681?limit=1000").get_json()["items"]
                 if e["kind"] == "listing.awarded")
    qr = f"listing:{number_of(made['id'])}|210681|{entry['seq']}|{entry['leaf_hash']}"
    checked = callers["auditor"].get(f"/api/v1/certificates/check?qr={quote(qr)}").get_json()
    assert checked["genuine"] is True and checked["entry"]["kind"] == "listing.awarded", checked
    other = qr[:-1] + ("1" if qr[-1] == "0" else "0")
    forged = callers["auditor"].get(f"/api/v1/certificates/check?qr={quote(other)}").get_json()
    assert forged["genuine"] is False
    assert callers["other_clerk"].get(f"/api/v1/certificates/check?qr={quote(qr)}").status_code == 404


def test_the_summary_counts_the_desks_listings_awards_and_prices_per_mu(desk, callers, land):
    lease = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    bid(desk, lease["id"], OUTSIDER, "3000.00")
    bid(desk, lease["id"], land["b"]["code"], "3000.00", on=BID + dt.timedelta(days=1))
    award(desk, lease["id"])  # the member wins on equal terms
    withdrawn = listed(desk, land, right=land["rb"], parcels=[land["b1"]], consent=consent(land, "b"))
    desk.post(f"/api/v1/listings/{withdrawn['id']}/withdraw", json={"on": TODAY.isoformat()})

    desk_figures = callers["auditor"].get("/api/v1/reports/summary").get_json()["exchange"]
    assert desk_figures["listings"] == {"lease.awarded": 1, "transfer.withdrawn": 1}
    assert desk_figures["awards"] == {"count": 1, "bidding": 1, "won_by_member_priority": 1,
                                      "share_won_by_member_priority": 1.0}
    area_mu = desk.get(f"/api/v1/parcels/{land['a1']}").get_json()["properties"]["area_mu"]
    assert desk_figures["price_per_mu_by_land_use"] == {"cultivated": round(3000 / area_mu, 2)}


def test_the_auditor_sees_listings_of_settled_households_in_the_compliance_report(desk, clerk, callers, land):
    person = land["a"]["members"][0]["id"]
    settled = clerk.post("/api/v1/settlements", json={"person_id": person, "city_code": "210602",
                                                       "settled_on": (LISTED - dt.timedelta(days=20)).isoformat()})
    assert settled.status_code == 201
    on_desk = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    other = listed(desk, land, right=land["rb"], parcels=[land["b1"]], consent=consent(land, "b"))  # not settled

    report = callers["auditor"].get("/api/v1/compliance/settlement-exits").get_json()
    assert [x["listing"] for x in report["listings"]] == [on_desk["id"]] and other["id"] != on_desk["id"]
    item = report["listings"][0]
    assert (item["household"], item["days_settlement_to_consent"], item["asking_price"]) == (
        land["a"]["code"], 20, "3000.00")
    assert item["flags"] == ["consent_near_settlement", "consent_without_document"]

    bid(desk, on_desk["id"], OUTSIDER, "3000.00")
    won = award(desk, on_desk["id"]).get_json()
    report = callers["auditor"].get("/api/v1/compliance/settlement-exits").get_json()
    assert report["listings"] == []  # awarded: its transfer is listed now, naming the listing
    assert [(x["transfer"], x["listing"]) for x in report["items"]] == [(won["transfer"]["id"], on_desk["id"])]


def _run_transfer(clerk, transfer: dict, *, consent: bool = True) -> dict:
    url = f"/api/v1/transfers/{transfer['id']}"
    if consent:
        assert clerk.post(f"{url}/issuer-consent", json={"decision": "granted"}).status_code == 200
    assert clerk.post(f"{url}/payments", json={"amount": transfer["price"], "paid_on": TODAY.isoformat(),
                                               "reference": "r"}).status_code == 201
    return clerk.post(f"{url}/complete", json={}).get_json()


def test_a_homestead_with_its_house_goes_whole_to_a_member_household_without_one(desk, clerk, callers, land,
                                                                                homesteads):
    made = listed(desk, land, right=homesteads["right"], parcels=None, asking_price="80000.00")
    assert made["parcels"] == [homesteads["plot"]]  # a homestead moves whole, with its plot
    bid(desk, made["id"], land["b"]["code"], "82000.00")
    won = award(desk, made["id"]).get_json()
    assert _run_transfer(clerk, won["transfer"])["status"] == "completed"
    theirs = clerk.get(f"/api/v1/rights/{land['b']['code']}Z").get_json()
    assert [p["code"] for p in theirs["parcels"]] == [homesteads["plot"]]
    before = (TODAY - dt.timedelta(days=1)).isoformat()
    assert clerk.get(f"/api/v1/rights?parcel={homesteads['plot']}&as_of={before}").get_json()["items"][0][
        "holder"] == land["a"]["code"]
    assert callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()["ok"] is True


def test_income_shares_are_listed_by_number_and_go_to_a_member(desk, clerk, callers, land, share_holdings):
    made = listed(desk, land, right=share_holdings["a"], parcels=None, shares="5", asking_price="1500.00")
    assert (made["shares"], made["parcels"]) == ("5.0000", [])
    too_many = desk.post("/api/v1/listings", json=listing(land, right=share_holdings["b"], parcels=None,
                                                          shares="11", consent=consent(land, "b")))
    assert too_many.status_code == 422 and too_many.get_json()["rule"] == "SHARES_EXCEED_HOLDING"
    bid(desk, made["id"], land["b"]["code"], "1500.00")
    won = award(desk, made["id"]).get_json()
    assert _run_transfer(clerk, won["transfer"])["status"] == "completed"
    assert clerk.get(f"/api/v1/rights/{share_holdings['a']}").get_json()["shares"] == "25.0000"
    assert clerk.get(f"/api/v1/rights/{share_holdings['b']}").get_json()["shares"] == "15.0000"
    assert callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()["ok"] is True
