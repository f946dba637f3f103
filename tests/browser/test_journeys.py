"""The console in a real browser: journeys a county's staff make, each watched for console errors and for
any request to another host, with screenshots kept under build/browser/."""
from __future__ import annotations

import pytest

from tests.browser.conftest import api

COLLECTIVE = "21068110100101"
#: a refusal is answered with its status (409, 422); Chromium notes that on its console, and nothing else may
REFUSAL_STATUS = ("the server responded with a status of 409", "the server responded with a status of 422")


@pytest.fixture
def clerk(server):
    """A county clerk's token, and the collective the journey works in."""
    try:
        api(server, "POST", "/collectives", {"code": COLLECTIVE, "name": "前阳村第一村民小组"})
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
    page.fill("textarea[name=coordinates]", "590000,4413000\n590050,4413000\n590050,4413050\n590000,4413050")
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
    lines = "590300,4413300\n590340,4413300\n590340,4413340\n590300,4413340"
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
    w.assert_clean(allowed_errors=REFUSAL_STATUS)
