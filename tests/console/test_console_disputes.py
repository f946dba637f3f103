"""A case through the console's step forms, over HTTP on both engines: each step read by the API's schema and
done by its service, a refusal shown on the case's page with its rule and article and nothing changed, an
award with a registry order enforced, and the forms offered only to the committee."""
from __future__ import annotations

import re

from tests.api.test_arbitration import Case, land  # noqa: F401  (fixture)
from tests.api.test_disputes import application
from tests.console.test_console_http import csrf_of, sign_in


def _steps_offered(html: str) -> list[str]:
    return re.findall(r'action="/console/disputes/\d+/([a-z-]+)"', html)


def test_an_arbitrator_takes_a_case_from_acceptance_to_an_enforced_award_in_the_console(app, callers, land):
    case = Case(callers, land, applicant={"kind": "household", "code": land["b"]["code"]},
                respondent={"kind": "household", "code": land["a"]["code"]}, category="confirmation",
                claims="确认地块 a1 的承包经营权归申请人", freeze=True)
    browser = app.test_client()
    sign_in(browser, callers["arbitrator"].token)
    url = f"/console/disputes/{case.id}"
    page = browser.get(url).text
    assert _steps_offered(page) == ["accept", "reject", "withdraw"]
    token = csrf_of(page)

    def step(name: str, status: int = 303, **form) -> str:
        before, size = case.get(), case.ledger_size()
        r = browser.post(f"{url}/{name}", data=form | {"csrf_token": token})
        assert r.status_code == status, (name, r.text[:2000])
        if status != 303:  # refused: shown on the case's page, nothing changed
            assert case.get() == before and case.ledger_size() == size
        return r.text

    refused = step("service", 409, document="application_copy", on="2025-09-30")
    assert "DISPUTE_STEP_ORDER" in refused and "<details class=\"step\"" in refused
    step("accept", on="2025-09-29")
    page = browser.get(url).text
    assert "受理" in page and f"/console/disputes/{case.id}/acceptance-notice.pdf" in page
    assert _steps_offered(page)[:3] == ["service", "defence", "tribunal"]
    step("service", document="application_copy", on="2025-09-30")
    step("defence", on="2025-10-09", summary="被申请人系经村委会同意耕种")
    two = step("tribunal", 422, formed_on="2025-10-10", arbitrator_0="赵仲裁", chosen_by_0="both",
               arbitrator_1="钱仲裁", chosen_by_1="applicant", presiding="赵仲裁")
    assert "TRIBUNAL_COMPOSITION" in two and "第二十七条" in two
    step("tribunal", formed_on="2025-10-10", arbitrator_0="赵仲裁", chosen_by_0="both", arbitrator_1="钱仲裁",
         chosen_by_1="applicant", arbitrator_2="孙仲裁", chosen_by_2="respondent", presiding="赵仲裁")
    step("service", document="tribunal_notice", on="2025-10-11")
    short = step("hearings", 422, on="2025-10-20", place="长山镇人民政府仲裁庭", notified_on="2025-10-16", last="true")
    assert "HEARING_NOTICE_SHORT" in short
    step("hearings", on="2025-10-20", place="长山镇人民政府仲裁庭", notified_on="2025-10-13",
         applicant_present="true", respondent_present="true", last="true")
    award = {"on": "2025-10-24", "result": "地块 a1 的承包经营权归申请人", "reasons": "发包方 2018 年的发包记录",
             "dissent": "孙仲裁认为应维持现状", "order_type": "move_parcels", "order_parcels": land["a1"],
             "order_to_right": land["rb"]}
    assert "AWARD_MAJORITY" in step("award", 422, **award, majority="赵仲裁")
    step("award", **award, majority="赵仲裁\n钱仲裁")
    page = browser.get(url).text
    assert _steps_offered(page) == ["service", "lawsuit", "finalize"] and "award.pdf" in page
    assert "作出裁决" in page  # the timeline names its events
    step("service", document="award", on="2025-10-27")
    step("finalize", on="2025-11-28")
    d = case.get()
    assert (d["status"], d["freeze"]) == ("finalized", False)
    assert land["a1"] in [p["code"] for p in callers["clerk"].get(f"/api/v1/rights/{land['rb']}")
                          .get_json()["parcels"]]
    assert _steps_offered(browser.get(url).text) == []


def test_only_the_committee_is_offered_a_cases_steps_and_a_forced_one_is_refused(app, callers, land):
    made = callers["arbitrator"].post("/api/v1/disputes", json=application(land)).get_json()
    auditor = app.test_client()
    sign_in(auditor, callers["auditor"].token)
    url = f"/console/disputes/{made['id']}"
    page = auditor.get(url)
    assert page.status_code == 200 and _steps_offered(page.text) == []
    forced = auditor.post(f"{url}/accept", data={"on": "2025-09-29", "csrf_token": csrf_of(page.text)})
    assert forced.status_code == 403
    assert callers["arbitrator"].get(f"/api/v1/disputes/{made['id']}").get_json()["status"] == "received"
    assert auditor.post(f"{url}/nonsense", data={"csrf_token": csrf_of(page.text)}).status_code in (404, 405)
