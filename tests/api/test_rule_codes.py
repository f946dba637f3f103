"""Every business refusal names its rule and its basis; every date in a response is ``YYYY-MM-DD``; the
compliance report pages; the summary counts open and overdue disputes. On both engines."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.config import Settings
from app.errors import RULES
from tests.api.test_disputes import application
from tests.api.test_transfers import TODAY, _walk, body, counter, homesteads, land, share_holdings  # noqa: F401  (fixtures)
from tests.conftest import COLLECTIVE, square

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: RFC 3339 with an offset (Z or ±hh:mm)
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
HTTP_DATE = re.compile(r"\b\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\b")
DATE_KEYS = re.compile(r"(_on|_from|_to|^term_end|^start|^end)$")


@pytest.fixture
def settings(database_url, tmp_path):
    """Two exits of one collective within 30 days make a campaign, so one page can show the flag."""
    return Settings(instance=str(tmp_path / "instance"), database_url=database_url, demo=False,
                    compliance_campaign_exits=2)


def refused(r, status: int, rule: str) -> dict:
    out = r.get_json()
    assert r.status_code == status and out.get("rule") == rule, out
    assert out["basis"] == RULES[rule].basis and out["basis"], out
    return out


def dates_in(value, path: str = "$", key: str = "") -> list[tuple[str, str]]:
    """Every (path, string) of a JSON document whose key names a day or a time."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in dates_in(v, f"{path}.{k}", k)]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in dates_in(v, f"{path}[{i}]", key)]
    assert not (isinstance(value, str) and HTTP_DATE.search(value)), (path, value)
    if isinstance(value, str) and (DATE_KEYS.search(key) or key.endswith("_at")):
        return [(path, value)]
    return []


def assert_iso_dates(doc) -> int:
    found = dates_in(doc)
    for path, value in found:
        pattern = DATETIME if path.endswith("_at") else DATE
        assert pattern.match(value), (path, value)
    return len(found)


# --- the rules themselves -------------------------------------------------------------------

def test_every_rule_names_its_basis_and_both_messages():
    for code, rule in RULES.items():
        assert rule.basis and rule.basis.strip(), f"{code} has no basis"
        assert rule.zh and rule.en, code
        assert rule.status in (403, 409, 413, 422), code


# --- transfers ------------------------------------------------------------------------------

@pytest.mark.parametrize("consent, missing", [
    (None, ["consent"]),
    ({"voluntary": None}, ["voluntary"]),
    ({"voluntary": False}, ["voluntary"]),
    ({"signed_by_person_id": None}, ["signed_by_person_id"]),
])
def test_a_transfer_without_the_holders_voluntary_signed_consent_is_consent_required(clerk, land, consent,
                                                                                       missing):
    payload = body(land)
    if consent is None:
        del payload["consent"]
    else:
        for k, v in consent.items():
            if v is None:
                del payload["consent"][k]
            else:
                payload["consent"][k] = v
    out = refused(clerk.post("/api/v1/transfers", json=payload), 422, "CONSENT_REQUIRED")
    assert "第二十七条" in out["basis"] and out["details"]["missing"] == missing
    assert clerk.get("/api/v1/transfers").get_json()["items"] == []


def test_a_consent_signed_outside_the_holding_household_is_consent_required(clerk, land):
    payload = body(land)
    payload["consent"]["signed_by_person_id"] = land["c"]["members"][0]["id"]  # a member of another household
    refused(clerk.post("/api/v1/transfers", json=payload), 422, "CONSENT_REQUIRED")


def test_a_homestead_cannot_be_moved_by_lease_or_exchange(clerk, land, homesteads):  # noqa: F811
    for kind, extra in (("lease", {"term_end": "2040-12-31"}), ("exchange", {"price": "0",
                                                                             "counter_right": land["rb"]})):
        payload = body(land, kind=kind, right=homesteads["right"], **extra)
        del payload["parcels"]
        out = refused(clerk.post("/api/v1/transfers", json=payload), 422, "TRANSFER_KIND_NOT_LAWFUL")
        assert "三十六条" in out["basis"] and "第六十二条" in out["basis"]
        assert out["details"] == {"right_type": "homestead", "kind": kind} and out["errors"]["kind"]


def test_only_a_lease_or_share_in_goes_to_an_outside_party(clerk, land):
    party = {"name": "东港市绿野农业专业合作社", "credit_code": "93210681MA0Q8L1X2H"}
    out = refused(clerk.post("/api/v1/transfers", json=body(land, to=party)), 422, "SAME_COLLECTIVE_ONLY")
    assert out["errors"]["to"]


def test_a_household_cannot_transfer_to_itself(clerk, land):
    out = refused(clerk.post("/api/v1/transfers", json=body(land, to=land["a"]["code"])), 422,
                  "RECIPIENT_IS_HOLDER")
    assert "三十四条" in out["basis"] and out["errors"]["to"]


def test_an_exchange_moves_land_of_both_sides(clerk, land):
    payload = body(land, kind="exchange", price="0", counter_right=land["rb"], parcels=[land["a1"], land["a2"]],
                   counter_consent=counter(land))
    out = refused(clerk.post("/api/v1/transfers", json=payload), 422, "EXCHANGE_ONE_SIDED")
    assert out["basis"].startswith("农村土地承包法 第三十三条")


def test_only_a_transfer_asks_the_issuers_consent(clerk, land):
    t = clerk.post("/api/v1/transfers", json=body(land, kind="lease", term_end="2040-12-31", price="600"))
    assert t.status_code == 201, t.get_json()
    r = clerk.post(f"/api/v1/transfers/{t.get_json()['id']}/issuer-consent", json={"decision": "granted"})
    out = refused(r, 422, "ISSUER_CONSENT_NOT_REQUIRED")
    assert out["details"] == {"kind": "lease"} and "三十六条" in out["basis"]


def test_refusals_that_had_no_basis_now_name_it(clerk, land):
    out = refused(clerk.post("/api/v1/transfers", json=body(land, parcels=[land["b1"]])), 422, "PARCEL_NOT_IN_RIGHT")
    assert "农村土地承包法" in out["basis"]
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    late = body(land)
    late["consent"]["signed_on"] = tomorrow
    assert "不动产登记暂行条例" in refused(clerk.post("/api/v1/transfers", json=late), 422, "DATE_ORDER")["basis"]
    first = clerk.post("/api/v1/transfers", json=body(land)).get_json()
    busy = refused(clerk.post("/api/v1/transfers", json=body(land, parcels=[land["a2"]])), 409, "RIGHT_BUSY")
    assert "第四十六条" in busy["basis"]
    url = f"/api/v1/transfers/{first['id']}"
    over = {"amount": "12000.01", "paid_on": TODAY.isoformat(), "reference": "r"}
    assert "第三十九条" in refused(clerk.post(f"{url}/payments", json=over), 422, "PAYMENT_EXCEEDS_PRICE")["basis"]
    assert clerk.post(f"{url}/withdraw").status_code == 200
    assert "第十五条" in refused(clerk.post(f"{url}/withdraw"), 409, "TRANSFER_CLOSED")["basis"]


# --- parcels and disputes -------------------------------------------------------------------

def test_a_homestead_plot_is_used_as_a_homestead_and_nothing_else_is(clerk, make_collective):
    make_collective()
    for kind, land_use in (("homestead", "cultivated"), ("contract_land", "homestead")):
        r = clerk.post("/api/v1/parcels", json={"collective": COLLECTIVE, "kind": kind, "land_use": land_use,
                                                "geometry": square(0, 0)})
        out = refused(r, 422, "PARCEL_LAND_USE_MISMATCH")
        assert "GB/T 21010" in out["basis"] and out["errors"]["land_use"]


def test_a_dispute_goes_to_the_committee_where_its_land_lies(callers, land):
    r = callers["admin"].post("/api/v1/disputes", json=application(
        land, subjects={"rights": [land["ra"]], "parcels": ["2106820010010000001"]}))
    out = refused(r, 422, "DISPUTE_VENUE")
    assert "第二十一条" in out["basis"] and out["details"]["counties"] == ["210681", "210682"]


def test_a_granted_recusal_names_the_new_arbitrator(callers, land):
    from tests.api.test_arbitration import Case

    case = Case(callers, land)
    case.to_hearing()
    out = case.refused("recusal", {"on": "2025-10-13", "arbitrator": "钱仲裁", "requested_by": "respondent",
                                   "grounds": "与本案有利害关系", "decision": "granted", "decided_by": "主任"},
                       422, "RECUSAL_REPLACEMENT_REQUIRED")
    assert out["basis"] == "农村土地承包经营纠纷调解仲裁法 第二十九条" and out["errors"]["replacement"]


# --- dates and keys in responses ------------------------------------------------------------

def test_a_transfers_responses_carry_from_and_every_date_as_yyyy_mm_dd(clerk, callers, land, share_holdings):  # noqa: F811
    settled_on = (TODAY - dt.timedelta(days=20)).isoformat()
    settlement = clerk.post("/api/v1/settlements", json={"person_id": land["a"]["members"][1]["id"],
                                                         "settled_on": settled_on, "city_code": "210602"})
    assert settlement.status_code == 201
    responses = [settlement.get_json()]
    created = clerk.post("/api/v1/transfers", json=body(land))
    assert created.status_code == 201
    t = created.get_json()
    url = f"/api/v1/transfers/{t['id']}"
    responses += [t, clerk.post(f"{url}/issuer-consent", json={"decision": "granted"}).get_json(),
                  clerk.post(f"{url}/payments", json={"amount": "12000.00", "paid_on": TODAY.isoformat(),
                                                      "reference": "银行 1"}).get_json(),
                  clerk.post(f"{url}/complete", json={}).get_json(),
                  clerk.get(url).get_json(), clerk.get("/api/v1/transfers").get_json()]
    done = responses[-2]
    assert done["status"] == "completed" and done["from"] == land["a"]["code"]
    assert all(x["from"] == land["a"]["code"] for x in responses[1:-1])
    assert done["consent"]["signed_on"] == TODAY.isoformat() and done["issuer"]["decided_on"] == TODAY.isoformat()
    assert done["payments"][0]["paid_on"] == TODAY.isoformat()
    assert responses[-1]["items"][0]["from"] == land["a"]["code"]
    report = callers["auditor"].get("/api/v1/compliance/settlement-exits").get_json()
    assert report["items"][0]["settlements"][0]["settled_on"] == settled_on
    shares = clerk.get(f"/api/v1/rights/{share_holdings['a']}?history=true").get_json()
    assert DATE.match(shares["shares_history"][0]["valid_from"])
    responses += [report, shares]
    assert sum(assert_iso_dates(doc) for doc in responses) > 20
    assert DATETIME.match(t["created_at"])


# --- the compliance report pages ------------------------------------------------------------

def test_the_compliance_report_pages_and_flags_against_the_whole_collective(clerk, callers, land):
    auditor = callers["auditor"]
    clerk.post("/api/v1/settlements", json={"person_id": land["a"]["members"][1]["id"],
                                            "settled_on": (TODAY - dt.timedelta(days=20)).isoformat(),
                                            "city_code": "210602"})
    assert _walk(clerk, body(land, price="1000.00")).status_code == 200  # A sells a1 to B cheaply
    b_consent = body(land)["consent"] | {"signed_by_person_id": land["b"]["members"][0]["id"]}
    market = body(land, right=land["rb"], **{"from": land["b"]["code"]}, to=land["a"]["code"],
                  parcels=[land["b1"]], price="12000.00", consent=b_consent)
    assert _walk(clerk, market).status_code == 200  # B, not settled, sells at the market price
    notice = (TODAY - dt.timedelta(days=200)).isoformat()
    for holder, parcel, consent in (("a", "a2", body(land)["consent"]), ("b", "a1", b_consent)):
        exit_ = body(land, kind="exit", right=land[holder]["code"] + "J", **{"from": land[holder]["code"]},
                     parcels=[land[parcel]], consent=consent, notice_given_on=notice)
        del exit_["to"]
        assert clerk.post("/api/v1/transfers", json=exit_).status_code == 201  # two exits: a campaign of two
    everything = auditor.get("/api/v1/compliance/settlement-exits?limit=1000").get_json()
    assert [i["kind"] for i in everything["items"]] == ["transfer", "exit"]  # only A is settled
    assert everything["next_cursor"] is None
    pages, cursor = [], None
    while True:
        page = auditor.get("/api/v1/compliance/settlement-exits?limit=1"
                           + (f"&cursor={cursor}" if cursor else "")).get_json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [1, 1] and [p[0] for p in pages] == everything["items"]
    sale, exit_item = everything["items"]
    assert "price_far_below_collective" in sale["flags"]  # the median counts B's sale, which no page lists
    assert sale["collective_median_per_mu"] == pytest.approx((1000 + 12000) / 2 / 3.75, rel=0.01)
    assert "exit_campaign" in exit_item["flags"]  # B's exit, not listed, makes the run
    assert auditor.get("/api/v1/compliance/settlement-exits?cursor=x").status_code == 422
    assert auditor.get("/api/v1/compliance/settlement-exits?limit=1001").status_code == 422


# --- the summary counts disputes ------------------------------------------------------------

def test_the_summary_counts_open_and_overdue_disputes(callers, land):
    arbitrator, auditor = callers["arbitrator"], callers["auditor"]
    late = arbitrator.post("/api/v1/disputes", json=application(land))  # received 2025-09-26, never decided
    recent_on = (TODAY - dt.timedelta(days=1)).isoformat()
    recent = arbitrator.post("/api/v1/disputes", json=application(
        land, knew_of_harm_on=recent_on, received_on=recent_on, subjects={"rights": [land["rb"]], "parcels": []}))
    assert late.status_code == recent.status_code == 201, (late.get_json(), recent.get_json())
    assert late.get_json()["deadlines"]["acceptance_decision"]["overdue"] is True
    assert recent.get_json()["deadlines"]["acceptance_decision"]["overdue"] is False
    summary = auditor.get("/api/v1/reports/summary?within=210681").get_json()
    assert summary["disputes"] == {"open": 2, "overdue": 1}
    village = auditor.get(f"/api/v1/reports/summary?within={COLLECTIVE}").get_json()
    assert village["disputes"] == {"open": 2, "overdue": 1}  # both cases are about this group's households
    other_group = auditor.get(f"/api/v1/reports/summary?within={COLLECTIVE[:-2]}99").get_json()
    assert other_group["disputes"] == {"open": 0, "overdue": 0}  # a case counts where its division is covered
    assert callers["other_clerk"].get("/api/v1/reports/summary").get_json()["disputes"] == {"open": 0, "overdue": 0}
