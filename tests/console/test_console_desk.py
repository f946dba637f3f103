"""The exchange desk in the console, over HTTP on both engines: the notice board, a listing's bids, the
award, the transfer's payment and completion, and the documents, with refusals shown by rule."""
from __future__ import annotations

import datetime as dt

from tests.api.test_exchange import BID, LISTED, OUTSIDER, desk, listed  # noqa: F401  (fixture)
from tests.api.test_transfers import TODAY, land  # noqa: F401  (fixture)
from tests.console.test_console_http import csrf_of, sign_in


def test_a_desk_clerk_takes_a_lease_from_the_board_to_its_certificate(app, callers, desk, land):
    made = listed(desk, land, kind="lease", term_end="2035-12-31", asking_price="3000.00")
    browser = app.test_client()
    assert sign_in(browser, callers["exchange"].token).status_code == 303
    board = browser.get("/console/listings")
    assert board.status_code == 200 and f"/console/listings/{made['id']}" in board.text
    url = f"/console/listings/{made['id']}"
    page = browser.get(url)
    token = csrf_of(page.text)

    wrong = browser.post(f"{url}/bids", data={"party_name": "某合作社", "party_credit_code": "91210600MA0XXXXX1A",
                                             "amount": "3200.00", "bid_on": BID.isoformat(), "csrf_token": token})
    assert wrong.status_code == 422 and "bidder" in wrong.text  # the check character is wrong (GB 32100)
    low = browser.post(f"{url}/bids", data={"household": land["b"]["code"], "amount": "2999.99",
                                           "bid_on": BID.isoformat(), "csrf_token": token})
    assert low.status_code == 422 and "BID_BELOW_ASKING" in low.text
    for data in ({"party_name": OUTSIDER["name"], "party_credit_code": OUTSIDER["credit_code"], "amount": "3200.00"},
                 {"household": land["b"]["code"], "amount": "3200.00"}):
        r = browser.post(f"{url}/bids", data=data | {"bid_on": BID.isoformat(), "csrf_token": token})
        assert r.status_code == 303, r.text
    early = browser.post(f"{url}/award", data={"on": (LISTED + dt.timedelta(days=2)).isoformat(), "csrf_token": token})
    assert early.status_code == 409 and "ANNOUNCEMENT_NOT_OVER" in early.text
    assert browser.post(f"{url}/award", data={"on": TODAY.isoformat(), "csrf_token": token}).status_code == 303
    shown = browser.get(url).text
    assert "PRIORITY_RIGHT" in shown and "第三十八条" in shown  # the member won on equal terms
    transfer = desk.get(f"/api/v1/listings/{made['id']}").get_json()["transfer"]
    assert f"/console/transfers/{transfer}" in shown

    turl = f"/console/transfers/{transfer}"
    early_cert = browser.get(f"{url}/certificate.pdf")
    assert early_cert.status_code == 409 and "LISTING_NOT_COMPLETED" in early_cert.text
    assert browser.post(f"{turl}/payments", data={"amount": "3200.00", "paid_on": TODAY.isoformat(),
                                                  "reference": "农商行 0003", "csrf_token": token}).status_code == 303
    assert browser.post(f"{turl}/complete", data={"csrf_token": token}).status_code == 303
    assert "已办结" in browser.get(turl).text
    for document in ("announcement", "contract", "certificate"):
        pdf = browser.get(f"{url}/{document}.pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF"), document


def test_only_the_desk_is_offered_the_desks_forms(app, callers, desk, land):
    made = listed(desk, land)
    clerk = app.test_client()
    sign_in(clerk, callers["clerk"].token)
    page = clerk.get(f"/console/listings/{made['id']}")
    assert page.status_code == 200 and "/bids\"" not in page.text and "/award\"" not in page.text
    forced = clerk.post(f"/console/listings/{made['id']}/award", data={"on": TODAY.isoformat(),
                                                                       "csrf_token": csrf_of(page.text)})
    assert forced.status_code == 403


def test_a_desk_clerk_lists_a_right_only_with_the_holders_voluntary_consent(app, callers, desk, land):
    browser = app.test_client()
    sign_in(browser, callers["exchange"].token)
    household = browser.get(f"/console/households/{land['a']['code']}").text
    assert f"/console/listings/new?right={land['ra']}" in household
    url = f"/console/listings/new?right={land['ra']}"
    form = browser.get(url)
    assert form.status_code == 200
    body = {"kind": "lease", "parcels": [land["a1"]], "asking_price": "3000.00", "term_end": "2035-12-31",
            "use": "种植水稻", "listed_on": LISTED.isoformat(), "signed_by_person_id": land["a"]["members"][0]["id"],
            "signed_on": LISTED.isoformat(), "csrf_token": csrf_of(form.text)}
    refused = browser.post(url, data=body)
    assert refused.status_code == 422 and "CONSENT_REQUIRED" in refused.text and "第二十七条" in refused.text
    assert desk.get("/api/v1/listings").get_json()["items"] == []
    made = browser.post(url, data=body | {"voluntary": "true"})
    assert made.status_code == 303, made.text
    listing = desk.get("/api/v1/listings").get_json()["items"][0]
    assert (listing["kind"], listing["parcels"], listing["contract_terms"]["use"]) == (
        "lease", [land["a1"]], "种植水稻")
    other = app.test_client()
    sign_in(other, callers["other_clerk"].token)
    assert other.get(url).status_code == 404
