"""The console in a real browser: journeys a county's staff make, each watched for console errors and for
any request to another host, with screenshots kept under build/browser/."""
from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import api

#: a villager group of the journeys' own, beside the demo county's (as the README's walkthrough makes one)
COLLECTIVE = "21068119900101"
#: a refusal is answered with its status (409, 422); Chromium notes that on its console, and nothing else may
REFUSAL_STATUS = ("the server responded with a status of 409", "the server responded with a status of 422")


@pytest.fixture
def clerk(server):
    """A county clerk's token, and the collective the journey works in."""
    try:
        api(server, "POST", "/collectives", {"code": COLLECTIVE, "name": "示范村第一村民小组"})
    except AssertionError as e:  # made by an earlier journey on this server
        assert "409" in str(e)
    return api(server, "POST", "/users", {"name": "王会计", "role": "clerk", "scope": "210681"})["token"]


def sign_in(w, token: str, then: str = "/console/"):
    w.go(then)
    assert "/console/sign-in" in w.page.url
    w.page.fill("input[name=token]", token)
    w.shot("sign-in")
    w.page.click("button[type=submit]")
    w.page.wait_for_url(f"**{then}")


def test_a_clerk_registers_a_household_and_a_parcel_and_sees_it_on_the_map(watched, clerk):
    w, page = watched, watched.page
    sign_in(w, clerk, then=f"/console/collectives/{COLLECTIVE}")
    household = page.locator("form[action$='/households']")
    household.locator("input[name=name]").fill("刘秀英")
    household.locator("input[name=id_number]").fill("11010519491231002X")
    household.locator("select[name=sex]").select_option("female")
    household.locator("input[name=address]").fill("示范村1号")
    household.locator("button[type=submit]").click()
    page.wait_for_url("**/console/households/*")
    assert page.locator("h1").inner_text().startswith("承包方（农户）")
    assert page.get_by_text("刘秀英").count() >= 1
    w.shot("household")

    w.go(f"/console/collectives/{COLLECTIVE}")
    page.select_option("select[name=crs]", "EPSG:4550")
    page.fill("textarea[name=coordinates]", "640000,4400000\n640050,4400000\n640050,4400050\n640000,4400050")
    page.fill("form[action$='/parcels'] input[name=name]", "南大地")
    page.click("form[action$='/parcels'] button[type=submit]")
    page.wait_for_url("**/console/parcels/*")
    page.wait_for_selector("#map[data-drawn]")
    assert page.locator("#map path.leaflet-interactive").count() >= 1
    assert "3.75" in page.inner_text("main")  # 50 m × 50 m = 2,500 m² = 3.75 亩
    w.shot("parcel-on-map")
    w.assert_clean()


def test_a_refused_overlap_is_drawn_over_the_parcel_it_overlaps(watched, clerk, server):
    w, page = watched, watched.page
    lines = "640300,4400300\n640340,4400300\n640340,4400340\n640300,4400340"
    sign_in(w, clerk, then=f"/console/collectives/{COLLECTIVE}")
    for shift in (0, 10):
        page.select_option("select[name=crs]", "EPSG:4550")
        moved = "\n".join(f"{int(x) + shift},{int(y) + shift}" for x, y in (p.split(",") for p in lines.split("\n")))
        page.fill("textarea[name=coordinates]", moved)
        page.click("form[action$='/parcels'] button[type=submit]")
        page.wait_for_load_state()
        if shift == 0:
            page.wait_for_url("**/console/parcels/*")
            first = page.url.rsplit("/", 1)[1].split("?")[0]
            w.go(f"/console/collectives/{COLLECTIVE}")
    assert "PARCEL_OVERLAP" in page.inner_text("main")
    page.wait_for_selector("#map[data-drawn]")
    assert page.locator("#map path[stroke-dasharray]").count() == 1  # the boundary given, dashed red
    assert page.locator(f"main a:has-text('{first}')").count() >= 1  # the parcel it overlaps, named
    w.shot("overlap-refused")
    w.readme("overlap-refused")
    w.assert_clean(allowed_errors=REFUSAL_STATUS)


def test_an_import_runs_to_its_qa_report_with_the_progress_bar_moving(watched, clerk, tmp_path):
    from bench.package import write_synthetic_package

    # 10,000 parcels: long enough to check that the bar is seen moving (the 3,432 of the sample check in a
    # fraction of a second, between two of the page's polls)
    package = write_synthetic_package(tmp_path / "package.zip", 10_000)
    w, page = watched, watched.page
    sign_in(w, clerk, then="/console/imports")
    page.set_input_files("input[name=file]", str(package))
    page.check("input[name=dry_run]")
    page.click("form[action$='/imports'] button[type=submit]")
    page.wait_for_url("**/console/imports/*")
    shown: list[str] = []
    for _ in range(6000):  # the bar follows the job's progress until the page reloads with the report
        if page.locator("h2:has-text('质检结果')").count():
            break
        try:  # the page reloads with the report at some point: then the bar is gone
            shown.append(page.locator("#job-progress").evaluate("b => b.value + '/' + b.max", timeout=200))
        except PlaywrightError:
            pass
        else:
            if len(set(shown)) == 2:
                w.shot("progress")
        page.wait_for_timeout(20)
    assert page.locator("h2:has-text('质检结果')").count() == 1, shown
    assert len(set(shown)) >= 2, shown  # it moved
    page.wait_for_selector("#map[data-drawn]")
    assert int(page.get_attribute("#map", "data-drawn")) >= 1  # the problems found, drawn
    w.shot("qa-report")
    w.readme("import-qa", at="#map")
    w.assert_clean()


def test_a_desk_clerk_takes_a_listing_to_award_and_through_to_its_certificate(watched, server):
    import datetime as dt

    w, page = watched, watched.page
    h1, h2 = (r["holder"] for r in api(server, "GET", "/rights?type=contract&limit=2")["items"])
    right = api(server, "GET", f"/rights/{h1}J")
    desk = api(server, "POST", "/users", {"name": "产权交易窗口", "role": "exchange", "scope": "210681"})["token"]
    listed_on = (dt.date.today() - dt.timedelta(days=40)).isoformat()
    listing = api(server, "POST", "/listings", {
        "right": f"{h1}J", "kind": "lease", "parcels": [right["parcels"][-1]["code"]], "asking_price": "2000.00",
        "term_end": right["end"], "listed_on": listed_on,
        "consent": {"signed_by_person_id": right["co_holders"][0]["id"], "signed_on": listed_on, "voluntary": True}},
        token=desk)
    sign_in(w, desk, then="/console/listings")
    page.click(f"a[href='/console/listings/{listing['id']}']")
    bid = page.locator("form[action$='/bids']")
    bid.locator("input[name=household]").fill(h2)
    bid.locator("input[name=amount]").fill("2100.00")
    bid.locator("input[name=bid_on]").fill((dt.date.today() - dt.timedelta(days=39)).isoformat())
    bid.locator("button[type=submit]").click()
    page.wait_for_selector("p.notice")
    page.locator("form[action$='/award'] button[type=submit]").click()
    page.wait_for_selector("text=协议")  # one bidder: a negotiated award
    w.shot("awarded")
    w.readme("listing-awarded")
    page.click("a[href^='/console/transfers/']")
    pay = page.locator("form[action$='/payments']")
    pay.locator("input[name=amount]").fill("2100.00")
    pay.locator("input[name=reference]").fill("农商行 0004")
    pay.locator("button[type=submit]").click()
    page.wait_for_selector("p.notice")
    page.locator("form[action$='/complete'] button[type=submit]").click()
    page.wait_for_selector("text=已办结")
    w.shot("completed")
    certificate = page.request.get(f"{w.base}/console/listings/{listing['id']}/certificate.pdf")
    assert certificate.status == 200 and certificate.body().startswith(b"%PDF")
    w.assert_clean()


def test_an_arbitrator_opens_a_case_and_sees_its_deadlines(watched, server):
    w, page = watched, watched.page
    token = api(server, "POST", "/users", {"name": "赵仲裁", "role": "arbitrator", "scope": "210681"})["token"]
    sign_in(w, token, then="/console/disputes?all=1")
    first = page.locator("table.grid tbody a").first
    first.click()
    page.wait_for_url("**/console/disputes/*")
    assert page.locator("h2:has-text('法定期限')").count() == 1
    assert page.locator("table.grid tbody tr").count() >= 2 and "第" in page.inner_text("main")
    w.shot("case")
    w.assert_clean()


def test_an_auditor_runs_the_ledger_verification(watched, server):
    w, page = watched, watched.page
    token = api(server, "POST", "/users", {"name": "钱审计", "role": "auditor", "scope": "210681"})["token"]
    sign_in(w, token, then="/console/ledger")
    assert page.locator("#verification").count() == 0  # verified when asked: a county's log is millions long
    page.click("#verify")
    page.wait_for_selector("#verification")
    assert "校验通过" in page.inner_text("#verification")
    assert page.locator("text=最新签名检查点").count() == 1
    w.shot("verified")
    w.assert_clean()


def _neighbours(server) -> tuple[dict, str]:
    """A contract right of the demo county and another household of its collective, untouched by the other
    journeys (they use the first two rights)."""
    items = api(server, "GET", "/rights?type=contract&limit=50")["items"][2:]
    for right in items:
        others = [r["holder"] for r in items if r["holder"] != right["holder"]
                  and r["holder"][:14] == right["holder"][:14]]
        if others:
            return api(server, "GET", f"/rights/{right['id']}"), others[0]
    raise AssertionError("the demo county has no two households with contracts in one collective")


def test_a_clerk_opens_a_transfer_with_the_signed_consent_and_records_a_settlement(watched, clerk, server,
                                                                                   tmp_path):
    w, page = watched, watched.page
    right, neighbour = _neighbours(server)
    holder = right["holder"]
    sign_in(w, clerk, then=f"/console/households/{holder}")
    page.click(f"a[href='/console/transfers/new?right={right['id']}']")
    page.wait_for_url("**/console/transfers/new*")
    page.select_option("select[name=kind]", "transfer")
    page.check(f"input[name=parcels][value='{right['parcels'][0]['code']}']")
    page.fill("input[name=to]", neighbour)
    page.fill("input[name=price]", "8000.00")
    scan = tmp_path / "同意书.pdf"
    scan.write_bytes(b"%PDF-1.4\n% the holder's signed consent\n")
    page.set_input_files("input[name=consent_file]", str(scan))
    w.readme("transfer-form", at="h1")
    page.click("form.stacked button[type=submit]")  # without the voluntary box: refused, the scan kept
    page.wait_for_selector("div.refusal")
    assert "CONSENT_REQUIRED" in page.inner_text("div.refusal")
    assert page.locator("input[name=consent_document]").count() == 1
    page.check("input[name=voluntary]")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url("**/console/transfers/*")
    assert "待办" in page.inner_text("h1") and page.locator("a[href^='/console/documents/']").count() == 1
    w.shot("transfer-opened")

    w.go(f"/console/households/{holder}")
    settle = page.locator("form[action$='/settlements']")
    settle.locator("input[name=city_code]").fill("210602")
    settle.locator("input[name=hukou_ref]").fill("丹公户迁〔2026〕8号")
    settle.locator("button[type=submit]").click()
    page.wait_for_url("**/console/settlements/*")
    assert "仍由本户享有" in page.inner_text("main") and right["id"] in page.inner_text("main")
    w.shot("settlement")

    w.go(f"/console/collectives/{holder[:14]}?by=right")
    page.wait_for_selector("#map[data-drawn]")
    assert int(page.get_attribute("#map", "data-drawn")) >= 2 and page.locator("li.rt-contract").count() == 1
    w.shot("map-by-right")
    w.readme("collective-by-right")
    w.go("/console/summary")
    assert page.locator("svg.chart rect.bar").count() >= 3
    w.shot("summary")
    w.readme("summary")
    w.assert_clean(allowed_errors=REFUSAL_STATUS)


def test_an_arbitrator_accepts_a_case_through_its_step_form(watched, server):
    import datetime as dt

    w, page = watched, watched.page
    right, neighbour = _neighbours(server)
    token = api(server, "POST", "/users", {"name": "孙仲裁", "role": "arbitrator", "scope": "210681"})["token"]
    today = dt.date.today().isoformat()
    case = api(server, "POST", "/disputes", {
        "procedure": "arbitration", "category": "infringement",
        "applicant": {"kind": "household", "code": right["holder"]},
        "respondent": {"kind": "household", "code": neighbour},
        "subjects": {"rights": [right["id"]], "parcels": []}, "claims": "被申请人越界耕种，请求停止侵害",
        "knew_of_harm_on": today, "received_on": today}, token=token)
    sign_in(w, token, then=f"/console/disputes/{case['id']}")
    page.click("summary:has-text('受理（第二十四条）')")
    accept = page.locator("form[action$='/accept']")
    assert accept.locator("input[name=on]").input_value() == today
    accept.locator("button[type=submit]").click()
    page.wait_for_selector("p.notice")
    assert "已受理" in page.inner_text("h1") and page.locator("ol.timeline li:has-text('受理')").count() == 1
    assert page.locator("a[href$='/acceptance-notice.pdf']").count() == 1
    page.click("summary:has-text('组成仲裁庭')")
    w.shot("case-accepted")
    w.readme("case-steps")
    w.assert_clean()


def test_an_auditor_checks_an_entrys_inclusion_proof_from_a_households_history(watched, server):
    w, page = watched, watched.page
    token = api(server, "POST", "/users", {"name": "李审计", "role": "auditor", "scope": "210681"})["token"]
    holder = api(server, "GET", "/rights?type=contract&limit=1")["items"][0]["holder"]
    api(server, "POST", "/ledger/210681/checkpoint", {}, token=token)
    sign_in(w, token, then=f"/console/households/{holder}")
    page.locator("a[href^='/console/ledger/210681/entries/']").first.click()
    page.wait_for_url("**/console/ledger/210681/entries/*")
    assert "包含证明校验通过" in page.inner_text("#inclusion")
    w.shot("proof")
    w.readme("ledger-proof")
    w.assert_clean()
