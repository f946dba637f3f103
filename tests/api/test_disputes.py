"""Opening mediation and arbitration cases: deadlines, the limitation flag, freezes and the dashboard, on
both engines."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from app.ids import number_of
from tests.conftest import COLLECTIVE
from tests.pdf_fonts import fonts_not_carried

TODAY = dt.date.today()
LAW = "农村土地承包经营纠纷调解仲裁法"


@pytest.fixture
def land(clerk, make_household, make_parcel):
    """Household A holds parcels a1 and a2 under contract; B holds none."""
    make_parcel(0, 0)
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, a2 = (make_parcel(x, 0)["id"] for x in (100, 200))
    r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": a["code"], "parcels": [a1, a2],
                                           "start": "2018-01-01", "end": "2047-12-31"})
    assert r.status_code == 201, r.get_json()
    return {"a": a, "b": b, "a1": a1, "a2": a2, "ra": a["code"] + "J"}


def application(land, **over):
    return {"procedure": "arbitration", "category": "infringement",
            "applicant": {"kind": "household", "code": land["a"]["code"]},
            "respondent": {"kind": "household", "code": land["b"]["code"]},
            "subjects": {"rights": [land["ra"]], "parcels": [land["a1"]]},
            "claims": "被申请人占用承包地，请求停止侵害、返还土地", "knew_of_harm_on": "2025-08-01",
            "received_on": "2025-09-26"} | over


def test_an_application_gets_its_deadline_and_freezes_what_it_names(callers, land):
    arbitrator, clerk, auditor = callers["arbitrator"], callers["clerk"], callers["auditor"]
    r = arbitrator.post("/api/v1/disputes", json=application(land, freeze=True))
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert (d["status"], d["time_barred"], d["freeze"]) == ("received", False, True)
    assert d["applicant"]["name"] == land["a"]["members"][0]["name"]  # the head, read from the registry
    # 5 working days from Friday 26 September 2025, across National Day: Friday 10 October
    assert d["deadlines"] == {"acceptance_decision": {
        "due_on": "2025-10-10", "basis": f"{LAW} 第二十三、二十四条", "what": "书面决定受理或者不予受理",
        "by": "committee", "pending": True, "overdue": TODAY > dt.date(2025, 10, 10),
        "assumed_years": []}}
    assert d["calendar_assumed"] == []
    entries = auditor.get(f"/api/v1/ledger/210681?after={d['ledger_seq'] - 1}&limit=2").get_json()["items"]
    assert [e["kind"] for e in entries] == ["dispute.opened", "freeze.set"]
    assert f"dispute:{number_of(d['id'])}" in entries[0]["subjects"] and land["a1"] in entries[1]["subjects"]
    # the frozen right refuses a transfer until the case ends
    refused = clerk.post("/api/v1/transfers", json={
        "kind": "transfer", "right": land["ra"], "from": land["a"]["code"], "to": land["b"]["code"],
        "parcels": [land["a2"]], "price": "1000.00",
        "consent": {"signed_by_person_id": land["a"]["members"][0]["id"], "signed_on": TODAY.isoformat(),
                    "voluntary": True}})
    assert refused.status_code == 409 and refused.get_json()["rule"] == "RIGHT_IN_DISPUTE"
    assert auditor.get(f"/api/v1/disputes/{d['id']}").get_json() == d


def test_an_application_after_two_years_is_flagged_not_refused(callers, land):
    late = callers["arbitrator"].post("/api/v1/disputes", json=application(
        land, knew_of_harm_on="2023-09-25", received_on="2025-09-26"))
    assert late.status_code == 201 and late.get_json()["time_barred"] is True
    # two years from 3 October 2023 end on a holiday, so Thursday 9 October 2025 is still in time
    in_time = callers["arbitrator"].post("/api/v1/disputes", json=application(
        land, knew_of_harm_on="2023-10-03", received_on="2025-10-09"))
    assert in_time.status_code == 201 and in_time.get_json()["time_barred"] is False


def test_the_dashboard_lists_overdue_cases_and_those_due_before_a_day(callers, land):
    arbitrator = callers["arbitrator"]
    old = arbitrator.post("/api/v1/disputes", json=application(land)).get_json()
    new = arbitrator.post("/api/v1/disputes", json=application(
        land, category="contract", received_on=TODAY.isoformat(), knew_of_harm_on=TODAY.isoformat())).get_json()
    mediation = arbitrator.post("/api/v1/disputes", json=application(
        land, procedure="mediation", received_on=TODAY.isoformat(), knew_of_harm_on=TODAY.isoformat())).get_json()
    assert mediation["deadlines"] == {}  # a village or township mediation keeps no statutory clock
    ids = lambda q: [d["id"] for d in arbitrator.get(f"/api/v1/disputes{q}").get_json()["items"]]  # noqa: E731
    assert ids("") == [old["id"], new["id"], mediation["id"]]
    assert ids("?overdue=true") == [old["id"]]
    assert ids("?due_before=2025-10-11") == [old["id"]]
    assert ids("?due_before=2025-10-10") == []
    assert ids(f"?due_before={(TODAY + dt.timedelta(days=30)).isoformat()}") == [old["id"], new["id"]]
    # five working days are at least a week away: due within 14 days, not within 4
    assert ids("?within=14") == [new["id"]] and ids("?within=4") == []
    assert ids("?overdue=true&within=14") == [old["id"], new["id"]]
    page = arbitrator.get("/api/v1/disputes?limit=1").get_json()
    assert [d["id"] for d in page["items"]] == [old["id"]]
    assert [d["id"] for d in arbitrator.get(f"/api/v1/disputes?limit=1&cursor={page['next_cursor']}")
            .get_json()["items"]] == [new["id"]]
    assert callers["other_clerk"].get("/api/v1/disputes").get_json()["items"] == []  # another county's scope
    for bad in ("cursor=abc", "cursor=99999999999", "overdue=maybe", "due_before=tomorrow", "status=open",
                "within=-1", "within=x"):
        assert arbitrator.get(f"/api/v1/disputes?{bad}").status_code == 422, bad


@pytest.mark.parametrize("change, status, rule", [
    ({"category": "expropriation"}, 422, "DISPUTE_OUT_OF_SCOPE"),
    ({"knew_of_harm_on": "2025-09-27"}, 422, "DATE_ORDER"),
    ({"received_on": (TODAY + dt.timedelta(days=1)).isoformat()}, 422, "DATE_ORDER"),
    ({"received_on": "2009-12-31", "knew_of_harm_on": "2008-01-01"}, 422, "DATE_ORDER"),  # before the law
    ({"knew_of_harm_on": "0001-01-01"}, 422, None),  # before any date the registry takes (1949-10-01)
    ({"received_on": "2200-01-01"}, 422, None),
    ({"subjects": {"rights": ["210681101001010099J"]}}, 404, None),
    ({"subjects": {}}, 422, None),
    ({"respondent": {"kind": "household", "code": "210681101001019999"}}, 404, None),
    ({"respondent": {"kind": "outside"}}, 422, None),
    ({"respondent": {"kind": "person", "code": "abc"}}, 422, None),
    ({"category": "weather"}, 422, None),
    ({"mediator": {"body": "township", "name": "长山镇"}}, 422, None),  # an arbitration has its tribunal
    ({"documents": [2106810999999999]}, 404, None),
    ({"documents": [999999]}, 422, None),  # not a registry id: no county, no number
    ({"respondent": {"kind": "person", "code": "2106810999999999"}}, 404, None),
])
def test_bad_applications_name_the_problem_and_store_nothing(callers, land, change, status, rule):
    arbitrator, auditor = callers["arbitrator"], callers["auditor"]
    size = auditor.get("/api/v1/ledger/210681?limit=1").get_json()["size"]
    r = arbitrator.post("/api/v1/disputes", json=application(land, **change))
    assert r.status_code == status, r.get_json()
    if rule:
        assert r.get_json()["rule"] == rule
    if rule == "DISPUTE_OUT_OF_SCOPE":
        assert r.get_json()["basis"] == f"{LAW} 第二条" and "征收" in r.get_json()["message"]
    assert arbitrator.get("/api/v1/disputes").get_json()["items"] == []
    assert auditor.get("/api/v1/ledger/210681?limit=1").get_json()["size"] == size


def test_only_the_committee_opens_cases_and_parties_may_be_outside_the_registry(callers, land):
    assert callers["clerk"].post("/api/v1/disputes", json=application(land)).status_code == 403
    outsider = callers["arbitrator"].post("/api/v1/disputes", json=application(
        land, respondent={"kind": "outside", "name": "某农业公司"},
        applicant={"kind": "person", "code": str(land["a"]["members"][0]["id"])}))
    assert outsider.status_code == 201, outsider.get_json()
    d = outsider.get_json()
    assert d["respondent"] == {"kind": "outside", "name": "某农业公司"}
    assert d["applicant"]["household"] == land["a"]["code"] and d["freeze"] is False


def transfer_of(land):
    return {"kind": "transfer", "right": land["ra"], "from": land["a"]["code"], "to": land["b"]["code"],
            "parcels": [land["a2"]], "price": "1000.00",
            "consent": {"signed_by_person_id": land["a"]["members"][0]["id"], "signed_on": TODAY.isoformat(),
                        "voluntary": True}}


def test_acceptance_starts_the_copy_and_the_cases_sixty_days(callers, land):
    arbitrator, auditor = callers["arbitrator"], callers["auditor"]
    d = arbitrator.post("/api/v1/disputes", json=application(land)).get_json()
    r = arbitrator.post(f"/api/v1/disputes/{d['id']}/accept", json={"on": "2025-09-30"})
    assert r.status_code == 200, r.get_json()
    a = r.get_json()
    assert (a["status"], a["events"]) == ("accepted", {"received": "2025-09-26", "accepted": "2025-09-30"})
    due = {k: (v["due_on"], v["pending"]) for k, v in a["deadlines"].items()}
    # decided in time; then 5 working days across National Day, and 60 days ending on a Saturday
    assert due == {"acceptance_decision": ("2025-10-10", False), "copy_to_respondent": ("2025-10-14", True),
                   "case_closed": ("2025-12-01", True)}
    assert a["deadlines"]["acceptance_decision"]["overdue"] is False
    entry = auditor.get(f"/api/v1/ledger/210681?after={d['ledger_seq']}&limit=1").get_json()["items"][0]
    assert entry["kind"] == "dispute.accepted" and entry["subjects"] == [f"dispute:{number_of(d['id'])}"]


@pytest.mark.parametrize("first, then, body, status, rule", [
    ("accept", "accept", {"on": "2025-09-30"}, 409, "DISPUTE_STEP_ORDER"),
    ("accept", "reject", {"on": "2025-09-30", "grounds": "不属于受理范围"}, 409, "DISPUTE_STEP_ORDER"),
    (None, "accept", {"on": "2025-09-25"}, 422, "DATE_ORDER"),
    (None, "accept", {"on": (TODAY + dt.timedelta(days=1)).isoformat()}, 422, "DATE_ORDER"),
    (None, "reject", {"on": "2025-09-30"}, 422, None),
])
def test_steps_out_of_order_or_out_of_time_change_nothing(callers, land, first, then, body, status, rule):
    arbitrator, auditor = callers["arbitrator"], callers["auditor"]
    d = arbitrator.post("/api/v1/disputes", json=application(land)).get_json()
    if first:
        assert arbitrator.post(f"/api/v1/disputes/{d['id']}/{first}", json={"on": "2025-09-29"}).status_code == 200
    before = arbitrator.get(f"/api/v1/disputes/{d['id']}").get_json()
    size = auditor.get("/api/v1/ledger/210681?limit=1").get_json()["size"]
    r = arbitrator.post(f"/api/v1/disputes/{d['id']}/{then}", json=body)
    assert r.status_code == status, r.get_json()
    assert r.get_json().get("rule") == rule
    assert arbitrator.get(f"/api/v1/disputes/{d['id']}").get_json() == before
    assert auditor.get("/api/v1/ledger/210681?limit=1").get_json()["size"] == size


def test_a_refusal_ends_the_case_and_lifts_its_freeze(callers, land):
    arbitrator, clerk, auditor = callers["arbitrator"], callers["clerk"], callers["auditor"]
    d = arbitrator.post("/api/v1/disputes", json=application(land, freeze=True)).get_json()
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).get_json()["rule"] == "RIGHT_IN_DISPUTE"
    assert clerk.post(f"/api/v1/disputes/{d['id']}/reject", json={"on": "2025-09-29", "grounds": "x"}) \
        .status_code == 403
    r = arbitrator.post(f"/api/v1/disputes/{d['id']}/reject", json={"on": "2025-09-29",
                                                                    "grounds": "申请人不是本案的利害关系人"})
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    assert r.get_json()["deadlines"]["acceptance_decision"]["pending"] is False
    kinds = [e["kind"] for e in auditor.get(f"/api/v1/ledger/210681?after={d['ledger_seq'] + 1}&limit=5")
             .get_json()["items"]]
    assert kinds == ["freeze.lifted", "dispute.rejected"]  # the step records what it lifted
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).status_code == 201
    assert [x["id"] for x in arbitrator.get("/api/v1/disputes?status=rejected").get_json()["items"]] == [d["id"]]


def pdf_text(response) -> str:
    """The text of a PDF response, lines joined."""
    from pypdf import PdfReader

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages).replace("\n", "")


def test_the_acceptance_notice_prints_the_parties_and_the_deadlines_acceptance_started(callers, land):
    arbitrator = callers["arbitrator"]
    d = arbitrator.post("/api/v1/disputes", json=application(land)).get_json()
    early = arbitrator.get(f"/api/v1/disputes/{d['id']}/acceptance-notice.pdf")
    assert early.status_code == 409 and early.get_json()["rule"] == "DISPUTE_STEP_ORDER"
    arbitrator.post(f"/api/v1/disputes/{d['id']}/accept", json={"on": "2025-09-30"})
    notice = callers["auditor"].get(f"/api/v1/disputes/{d['id']}/acceptance-notice.pdf")
    assert fonts_not_carried(notice.data) == []  # it reads without Chinese fonts on the reader's machine
    text = pdf_text(notice)
    for words in ("受理通知书", f"（2025）210681农仲字第{number_of(d['id'])}号", d["applicant"]["name"],
                  "2025年9月30日",
                  "2025年10月14日", "2025年12月1日", "第二十五条", "第四十七条", "不得向当事人收取费用"):
        assert words in text, words
