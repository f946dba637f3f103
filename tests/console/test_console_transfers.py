"""Transfers, exits and settlements in the console, over HTTP on both engines: a transfer opened with the
holder's consent and its scan, refused by rule with nothing stored, taken through to completion or withdrawn;
a settlement recorded that keeps every right."""
from __future__ import annotations

import io

from tests.api.test_transfers import TODAY, land  # noqa: F401  (fixture)
from tests.console.test_console_http import csrf_of, sign_in


def _form(land, token, **over):
    return {"kind": "transfer", "parcels": [land["a1"]], "to": land["b"]["code"], "price": "12000.00",
            "signed_by_person_id": str(land["a"]["members"][0]["id"]), "signed_on": TODAY.isoformat(),
            "voluntary": "true", "csrf_token": token} | over


def _download(client, url: str) -> bytes:
    got = client.get(url)
    try:
        assert got.status_code == 200, url
        return got.data
    finally:
        got.close()


def test_a_clerk_opens_a_transfer_with_the_signed_consent_and_takes_it_to_completion(app, callers, clerk, land):
    browser = app.test_client()
    sign_in(browser, callers["clerk"].token)
    household = browser.get(f"/console/households/{land['a']['code']}").text
    url = f"/console/transfers/new?right={land['ra']}"
    assert url in household
    token = csrf_of(browser.get(url).text)

    scan = (io.BytesIO(b"%PDF-1.4 signed consent"), "同意书.pdf")
    refused = browser.post(url, data=_form(land, token, voluntary="", consent_file=scan),
                           content_type="multipart/form-data")
    assert refused.status_code == 422 and "CONSENT_REQUIRED" in refused.text and "第二十七条" in refused.text
    assert clerk.get(f"/api/v1/transfers?right={land['ra']}").get_json()["items"] == []
    kept = csrf_of(refused.text, name="consent_document")  # the scan, stored once as received, is kept
    assert _download(clerk, f"/api/v1/documents/{kept}") == b"%PDF-1.4 signed consent"

    made = browser.post(url, data=_form(land, token, consent_document=kept), content_type="multipart/form-data")
    assert made.status_code == 303, made.text
    turl = made.headers["Location"].split("?")[0]
    transfer = clerk.get(f"/api/v1{turl.removeprefix('/console')}").get_json()
    assert (transfer["status"], transfer["parcels"], transfer["consent"]["document"]) == (
        "pending", [land["a1"]], int(kept))
    page = browser.get(turl).text
    assert f"/console/documents/{kept}" in page
    assert _download(browser, f"/console/documents/{kept}") == b"%PDF-1.4 signed consent"

    early = browser.post(f"{turl}/complete", data={"csrf_token": token})
    assert early.status_code == 409 and "ISSUER_CONSENT_REQUIRED" in early.text
    for step, data in (("issuer-consent", {"decision": "granted"}),
                       ("payments", {"amount": "12000.00", "paid_on": TODAY.isoformat(), "reference": "转账 01"}),
                       ("complete", {})):
        assert browser.post(f"{turl}/{step}", data=data | {"csrf_token": token}).status_code == 303, step
    assert land["a1"] in [p["code"] for p in clerk.get(f"/api/v1/rights/{land['rb']}").get_json()["parcels"]]
    assert "已办结" in browser.get(turl).text


def test_a_transfer_to_another_collective_is_refused_by_rule_and_a_pending_one_can_be_withdrawn(app, callers,
                                                                                              clerk, land):
    browser = app.test_client()
    sign_in(browser, callers["clerk"].token)
    url = f"/console/transfers/new?right={land['ra']}"
    token = csrf_of(browser.get(url).text)
    other = browser.post(url, data=_form(land, token, to=land["c"]["code"]), content_type="multipart/form-data")
    assert other.status_code == 422 and "SAME_COLLECTIVE_ONLY" in other.text
    exit_ = browser.post(url, data=_form(land, token, kind="exit", to=""), content_type="multipart/form-data")
    assert exit_.status_code == 303, exit_.text
    turl = exit_.headers["Location"].split("?")[0]
    assert browser.post(f"{turl}/withdraw", data={"csrf_token": token}).status_code == 303
    assert clerk.get(f"/api/v1{turl.removeprefix('/console')}").get_json()["status"] == "withdrawn"
    again = browser.post(f"{turl}/withdraw", data={"csrf_token": token})
    assert again.status_code == 409 and "TRANSFER_CLOSED" in again.text


def test_a_settlement_keeps_every_right_and_its_record_says_so(app, callers, clerk, land):
    browser = app.test_client()
    sign_in(browser, callers["clerk"].token)
    hurl = f"/console/households/{land['a']['code']}"
    token = csrf_of(browser.get(hurl).text)
    person = land["a"]["members"][0]["id"]
    assert clerk.post(f"/api/v1/collectives/{land['a']['collective']}/members",
                      json={"person_id": person, "basis": "original", "decided_on": "2020-01-01"}).status_code == 201
    stranger = browser.post(f"{hurl}/settlements", data={"person_id": str(land["b"]["members"][0]["id"]),
                                                          "settled_on": TODAY.isoformat(), "city_code": "210602",
                                                          "csrf_token": token})
    assert stranger.status_code == 422 and "person_id" in stranger.text
    bad_city = browser.post(f"{hurl}/settlements", data={"person_id": str(person), "settled_on": TODAY.isoformat(),
                                                          "city_code": "丹东", "csrf_token": token})
    assert bad_city.status_code == 422 and "city_code" in bad_city.text
    made = browser.post(f"{hurl}/settlements", data={"person_id": str(person), "settled_on": TODAY.isoformat(),
                                                      "city_code": "210602", "hukou_ref": "丹公户迁 001",
                                                      "csrf_token": token})
    assert made.status_code == 303, made.text
    surl = made.headers["Location"].split("?")[0]
    record = clerk.get(f"/api/v1{surl.removeprefix('/console')}").get_json()
    assert record["entry_intact"] and record["membership_retained"] is True
    assert [(r["id"], r["status_now"]) for r in record["rights_retained"]] == [(land["ra"], "held")]
    page = browser.get(surl).text
    assert land["ra"] in page and "仍由本户享有" in page and "第二十七条" in page
    assert surl in browser.get(hurl).text
    # the right and the membership are untouched
    assert clerk.get(f"/api/v1/rights/{land['ra']}").get_json()["status"] == "active"


def test_a_settlement_outside_the_scope_is_not_found(app, callers, clerk, land):
    person = land["a"]["members"][0]["id"]
    made = clerk.post("/api/v1/settlements", json={"person_id": person, "settled_on": TODAY.isoformat(),
                                                    "city_code": "210602"}).get_json()
    other = callers["other_clerk"]  # another county's clerk
    assert other.get(f"/api/v1/settlements/{made['id']}").status_code == 404
    browser = app.test_client()
    sign_in(browser, other.token)
    assert browser.get(f"/console/settlements/{made['id']}").status_code == 404


def test_a_collectives_map_colours_each_parcel_by_the_right_over_it(app, callers, clerk, land):
    import json
    import re

    browser = app.test_client()
    sign_in(browser, callers["clerk"].token)
    collective = land["a"]["collective"]
    by_use = browser.get(f"/console/collectives/{collective}").text
    assert 'data-colour-by="land_use"' in by_use and '"right"' not in by_use
    page = browser.get(f"/console/collectives/{collective}?by=right").text
    assert 'data-colour-by="right"' in page and "承包地（承包经营权存续）" in page
    drawn = json.loads(re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)[1])
    rights = {f["id"]: f["properties"]["right"] for f in drawn["features"]}
    assert {rights[land["a1"]], rights[land["a2"]], rights[land["b1"]]} == {"contract"}
    assert sum(1 for r in rights.values() if r == "none") == len(rights) - 3  # the reserve parcel
