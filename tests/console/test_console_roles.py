"""Each role's console pages over HTTP, on both engines: the committee's dashboard and a case, the auditor's
ledger verification and compliance report, and a home per role."""
from __future__ import annotations

import datetime as dt
import re

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


def test_a_households_history_links_each_entry_to_its_inclusion_proof_checked_against_the_signed_root(
        app, callers, land):
    from tests.api.test_ledger_proofs import tampered_body

    household = land["a"]["code"]
    assert callers["auditor"].post("/api/v1/ledger/210681/checkpoint").status_code in (200, 201)
    clerk = browser_as(app, callers, "clerk")
    page = clerk.get(f"/console/households/{household}").text
    seq = int(re.findall(r'/console/ledger/210681/entries/(\d+)"', page)[0])
    signed = clerk.get(f"/console/ledger/210681/entries/{seq}")
    assert signed.status_code == 200 and "包含证明校验通过" in signed.text
    assert "该记录包含在已签名的检查点中" in signed.text
    assert "✓" in signed.text  # the clerk reads the stored body, and it hashes as recorded
    masked = browser_as(app, callers, "auditor").get(f"/console/ledger/210681/entries/{seq}").text
    assert "包含证明校验通过" in masked and "内容已按权限遮蔽" in masked
    # an entry after the last checkpoint is proved against the log as it stands
    size = callers["auditor"].get("/api/v1/ledger/210681?limit=1").get_json()["size"]
    assert callers["clerk"].post("/api/v1/settlements", json={
        "person_id": land["a"]["members"][0]["id"], "settled_on": dt.date.today().isoformat(),
        "city_code": "210602"}).status_code == 201
    later = clerk.get(f"/console/ledger/210681/entries/{size + 1}").text
    assert "晚于最新签名检查点" in later and "包含证明校验通过" in later
    with tampered_body(app, seq, "'{\"forged\": true}'"):
        forged = clerk.get(f"/console/ledger/210681/entries/{seq}").text
        assert "包含证明校验失败" in forged and "✗" in forged
    assert clerk.get("/console/ledger/210681/entries/999999").status_code == 404
    assert browser_as(app, callers, "other_clerk").get(f"/console/ledger/210681/entries/{seq}").status_code == 404
    assert "/console/ledger/" not in browser_as(app, callers, "exchange").get(
        f"/console/households/{household}").text  # the desk reads no ledger: no links


def test_the_compliance_chart_counts_every_page_and_the_lists_page_on(app, callers, clerk, land, monkeypatch):
    today = dt.date.today()
    person = land["a"]["members"][0]["id"]
    assert clerk.post("/api/v1/settlements", json={"person_id": person, "settled_on": today.isoformat(),
                                                    "city_code": "210602"}).status_code == 201
    for _ in range(3):  # three exits consented on the day of settlement, each withdrawn to free the right
        made = clerk.post("/api/v1/transfers", json={
            "kind": "exit", "right": land["ra"], "from": land["a"]["code"], "parcels": [land["a1"]],
            "price": "1000.00", "consent": {"signed_by_person_id": person, "signed_on": today.isoformat(),
                                            "voluntary": True}})
        assert made.status_code == 201, made.get_json()
        assert clerk.post(f"/api/v1/transfers/{made.get_json()['id']}/withdraw").status_code == 200
    from app.reports import compliance

    original = compliance.settlement_exits
    monkeypatch.setattr(compliance, "settlement_exits", lambda *a, **kw: original(*a, **kw | {"limit": 2}))
    first = browser_as(app, callers, "auditor").get("/console/compliance").text
    assert f'<text x="50" y="170" text-anchor="middle">{today:%Y-%m}</text>' in first
    assert re.search(r'<text x="50" y="\d+(\.\d+)?" text-anchor="middle">3</text>', first)  # all three, not a page
    assert "/console/compliance?cursor=" in first


def test_the_committees_list_and_a_households_history_page_on(app, callers, land, monkeypatch):
    from app.disputes import services as disputes

    first = callers["arbitrator"].post("/api/v1/disputes", json=application(land)).get_json()
    second = callers["arbitrator"].post("/api/v1/disputes", json=application(land)).get_json()
    original = disputes.list_disputes
    monkeypatch.setattr(disputes, "list_disputes", lambda *a, **kw: original(*a, **kw | {"limit": 1}))
    console = browser_as(app, callers, "arbitrator")
    page = console.get("/console/disputes?all=1").text
    assert f"/console/disputes/{first['id']}\"" in page and f"/console/disputes/{second['id']}\"" not in page
    following = re.search(r'href="(/console/disputes\?[^"]*cursor=[^"]+)"', page)[1].replace("&amp;", "&")
    assert f"/console/disputes/{second['id']}\"" in console.get(following).text

    clerk = browser_as(app, callers, "clerk")
    household = clerk.get(f"/console/households/{land['a']['code']}").text
    seqs = [int(s) for s in re.findall(r'/console/ledger/210681/entries/(\d+)"', household)]
    later = clerk.get(f"/console/households/{land['a']['code']}?after={seqs[0]}").text
    assert re.findall(r'/console/ledger/210681/entries/(\d+)"', later) == [str(s) for s in seqs[1:]]
    assert 'src="/console/static/tables.js"' in later  # the list tables sort in the browser


def test_the_summary_report_draws_its_figures_as_charts(app, callers, land):
    summary = callers["auditor"].get("/api/v1/reports/summary").get_json()
    page = browser_as(app, callers, "auditor").get("/console/summary")
    assert page.status_code == 200 and "统计汇总" in page.text
    text = page.text
    assert f"<td>{summary['parcels']}</td>" in text and f"<td>{summary['households']}</td>" in text
    mu = summary["area_mu_by_land_use"]["cultivated"]
    assert re.search(r'aria-label="各地类面积"', text) and f">{mu:,.2f} 亩</text>" in text
    assert '<rect x="158"' in text  # bars drawn
    narrowed = browser_as(app, callers, "auditor").get("/console/summary?within=210682").text
    assert "<td>0</td>" in narrowed  # another county: nothing of this one is counted
