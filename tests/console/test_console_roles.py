"""Each role's console pages over HTTP, on both engines: the committee's dashboard and a case, the auditor's
ledger verification and compliance report, and a home per role."""
from __future__ import annotations

import datetime as dt

from tests.api.test_disputes import application, land  # noqa: F401  (fixture)
from tests.console.test_console_http import sign_in


def browser_as(app, callers, who: str):
    client = app.test_client()
    assert sign_in(client, callers[who].token).status_code == 303
    return client


def test_the_committees_dashboard_puts_overdue_cases_first_and_a_case_shows_its_deadlines(app, callers, land):
    today = dt.date.today()
    late = callers["arbitrator"].post("/api/v1/disputes", json=application(land)).get_json()  # received 2025
    fresh = callers["arbitrator"].post("/api/v1/disputes", json=application(
        land, received_on=today.isoformat(), knew_of_harm_on=today.isoformat())).get_json()
    console = browser_as(app, callers, "arbitrator")
    board = console.get("/console/disputes")
    assert board.status_code == 200
    text = board.text
    assert f"/console/disputes/{late['id']}" in text and f"/console/disputes/{fresh['id']}" in text
    assert text.index(f"/console/disputes/{late['id']}\"") < text.index(f"/console/disputes/{fresh['id']}\"")
    assert 'class="due-overdue"' in text and "第二十三、二十四条" in text
    case = console.get(f"/console/disputes/{late['id']}")
    assert case.status_code == 200 and "收到仲裁申请" in case.text and "due-overdue" in case.text
    early = console.get(f"/console/disputes/{late['id']}/acceptance-notice.pdf")
    assert early.status_code == 409 and "DISPUTE_STEP_ORDER" in early.text  # printed once accepted
    accepted = callers["arbitrator"].post(f"/api/v1/disputes/{late['id']}/accept", json={"on": "2025-09-29"})
    assert accepted.status_code == 200, accepted.get_json()
    pdf = console.get(f"/console/disputes/{late['id']}/acceptance-notice.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    home = console.get("/console/").text
    assert f"/console/disputes/{late['id']}" in home
    assert browser_as(app, callers, "other_clerk").get(f"/console/disputes/{late['id']}").status_code == 404


def test_the_auditor_verifies_the_ledger_and_reads_the_compliance_report(app, callers, land):
    console = browser_as(app, callers, "auditor")
    assert 'id="verification"' not in console.get("/console/ledger").text
    verified = console.get("/console/ledger?verify=1")
    assert verified.status_code == 200 and 'id="verification"' in verified.text
    assert ("校验通过" in verified.text) and "校验失败" not in verified.text
    report = console.get("/console/compliance")
    assert report.status_code == 200 and "进城落户农户的退出与流转" in report.text
    assert console.get("/console/ledger?county=210682").status_code == 404  # outside the scope
    home = console.get("/console/").text
    assert "最近登记" in home and "/console/ledger" in home


def test_the_clerks_home_lists_the_countys_recent_registrations(app, callers, land):
    home = browser_as(app, callers, "clerk").get("/console/")
    assert home.status_code == 200 and "right.contract.registered" in home.text


def test_a_refusal_without_a_form_is_a_page_naming_its_rule(app, callers, land):
    case = callers["arbitrator"].post("/api/v1/disputes", json=application(land)).get_json()
    r = browser_as(app, callers, "arbitrator").get(f"/console/disputes/{case['id']}/acceptance-notice.pdf")
    assert r.status_code == 409 and "text/html" in r.content_type
    assert "DISPUTE_STEP_ORDER" in r.text and "被拒绝" in r.text
