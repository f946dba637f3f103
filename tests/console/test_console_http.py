"""The web console over HTTP, on both engines: sign-in, the session's cookie, CSRF, idle expiry, sign-out,
scope and roles as the API has them, refusals shown with their rule and article, and nothing from another
host."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import COLLECTIVE


def csrf_of(html: str, name: str = "csrf_token") -> str:
    """The value of the page's first hidden input called ``name`` (by default the form's CSRF token)."""
    return re.search(rf'name="{name}" value="([^"]+)"', html)[1]


def sign_in(client, token: str, next_: str = "") -> object:
    page = client.get("/console/sign-in" + (f"?next={next_}" if next_ else ""))
    assert page.status_code == 200 and 'name="token"' in page.text
    return client.post("/console/sign-in", data={"token": token, "csrf_token": csrf_of(page.text), "next": next_})


@pytest.fixture
def console(app, callers):
    """A browser-like client signed in as the county's clerk."""
    client = app.test_client()
    r = sign_in(client, callers["clerk"].token)
    assert r.status_code == 303, r.text
    return client


def ledger_size(callers) -> int:
    return callers["auditor"].get("/api/v1/ledger/210681?limit=1").get_json()["size"]


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back_where_they_were(app, callers, make_household):
    h = make_household()
    client = app.test_client()
    r = client.get(f"/console/households/{h['code']}")
    assert r.status_code == 302 and r.location.startswith("/console/sign-in?next=")
    r = sign_in(client, callers["clerk"].token, next_=f"/console/households/{h['code']}")
    assert r.status_code == 303 and r.location == f"/console/households/{h['code']}"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert client.get(r.location).status_code == 200


@pytest.mark.parametrize("next_", ["https://evil.example/", "//evil.example/x", "/api/v1/users", "/console\\@x"])
def test_sign_in_goes_on_only_to_a_console_page(app, callers, next_):
    r = sign_in(app.test_client(), callers["clerk"].token, next_=next_)
    assert r.status_code == 303 and r.location == "/console/"


def test_a_wrong_token_or_a_forged_sign_in_form_opens_no_session(app, callers):
    client = app.test_client()
    page = client.get("/console/sign-in")
    wrong = client.post("/console/sign-in", data={"token": "sq_wrong", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401 and "sanquan_console=" not in wrong.headers.get("Set-Cookie", "")
    forged = app.test_client().post("/console/sign-in", data={"token": callers["clerk"].token, "csrf_token": "x"})
    assert forged.status_code == 403
    assert app.test_client().get("/console/").status_code == 302


def test_every_form_post_needs_the_sessions_csrf_token(console, callers, make_household):
    h = make_household()
    person = h["members"][0]["id"]
    size = ledger_size(callers)
    url = f"/console/households/{h['code']}/members"
    body = {"person_id": person, "basis": "original", "decided_on": "2020-01-01"}
    assert console.post(url, data=body).status_code == 403
    assert console.post(url, data=body | {"csrf_token": "not-it"}).status_code == 403
    assert ledger_size(callers) == size
    page = console.get(f"/console/households/{h['code']}")
    done = console.post(url, data=body | {"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and ledger_size(callers) == size + 1


def test_a_session_idle_longer_than_the_setting_ends(app, console, uow_factory):
    from sqlalchemy import update

    from app.auth.models import ConsoleSession

    assert console.get("/console/").status_code == 200
    idle = app.extensions["sanquan"].settings.console_idle_minutes
    with uow_factory() as uow:
        uow.session.execute(update(ConsoleSession).values(
            last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=idle, seconds=5)))
        uow.commit()
    r = console.get("/console/")
    assert r.status_code == 302 and "/console/sign-in" in r.location


def test_signing_out_ends_the_session_for_good(console):
    page = console.get("/console/")
    cookie = console.get_cookie("sanquan_console", path="/console").value
    r = console.post("/console/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    console.set_cookie("sanquan_console", cookie, path="/console")  # the old cookie, replayed
    assert console.get("/console/").status_code == 302


def test_pages_outside_the_scope_are_404_as_in_the_api(app, callers, make_household, make_parcel):
    h = make_household()
    parcel = make_parcel()
    other = app.test_client()
    assert sign_in(other, callers["other_clerk"].token).status_code == 303
    for url in (f"/console/households/{h['code']}", f"/console/parcels/{parcel['id']}",
                f"/console/collectives/{COLLECTIVE}", "/console/no-such-page"):
        r = other.get(url)
        assert r.status_code == 404 and "text/html" in r.content_type, url
    found = other.get(f"/console/search?q={h['members'][0]['name']}")
    assert found.status_code == 200 and h["code"] not in found.text


def test_an_action_the_role_may_not_take_is_not_offered_and_is_refused_if_forced(app, callers, make_household):
    h = make_household()
    auditor = app.test_client()
    sign_in(auditor, callers["auditor"].token)
    page = auditor.get(f"/console/households/{h['code']}")
    assert page.status_code == 200 and "/members\"" not in page.text and "termination" not in page.text
    r = auditor.post(f"/console/households/{h['code']}/members", data={
        "person_id": h["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01",
        "csrf_token": csrf_of(page.text)})
    assert r.status_code == 403


def test_settling_in_a_city_never_ends_a_membership_and_the_form_says_why(console, callers, make_household):
    h = make_household()
    person = h["members"][0]["id"]
    page = console.get(f"/console/households/{h['code']}")
    console.post(f"/console/households/{h['code']}/members", data={
        "person_id": person, "basis": "original", "decided_on": "2020-01-01", "csrf_token": csrf_of(page.text)})
    size = ledger_size(callers)
    r = console.post(f"/console/households/{h['code']}/members/{person}/termination", data={
        "ground": "settled_in_city", "decided_on": "2024-05-01", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert "MEMBERSHIP_GROUND_NOT_LAWFUL" in r.text and "农村集体经济组织法 第十七、十八条" in r.text
    assert ledger_size(callers) == size


def test_a_clerk_registers_a_household_and_finds_it(console, callers, ensure_collective):
    ensure_collective(COLLECTIVE)
    page = console.get(f"/console/collectives/{COLLECTIVE}")
    assert page.status_code == 200
    r = console.post(f"/console/collectives/{COLLECTIVE}/households", data={
        "name": "刘秀英", "id_number": "11010519491231002X", "sex": "female", "address": "示范村1号",
        "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    code = r.location.split("/")[-1].split("?")[0]
    assert "刘秀英" in console.get(r.location).text
    found = console.get("/console/search?q=刘秀英")
    assert code in found.text and "11010519491231002X" in found.text  # a clerk sees ID numbers whole
    assert console.get(f"/console/search?q={code}").location == f"/console/households/{code}"
    bad = console.post(f"/console/collectives/{COLLECTIVE}/households", data={
        "name": "王五", "id_number": "110105194912310021", "sex": "male", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 422 and "ID_NUMBER_INVALID" in bad.text and "GB 11643" in bad.text


def test_the_auditor_sees_id_numbers_masked(app, callers, make_household):
    h = make_household()
    auditor = app.test_client()
    sign_in(auditor, callers["auditor"].token)
    page = auditor.get(f"/console/households/{h['code']}").text
    number = h["members"][0]["id_number"]
    assert number not in page and number[:6] in page


def test_a_parcel_page_carries_its_map_and_loads_nothing_from_another_host(console, make_parcel):
    parcel = make_parcel()
    neighbour = make_parcel(x0=50.0)
    r = console.get(f"/console/parcels/{parcel['id']}")
    assert r.status_code == 200
    data = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', r.text, re.S)[1]
    assert parcel["id"] in data and neighbour["id"] in data
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//', r.text)  # every script, style and image is this host's
    script = console.get("/console/static/vendor/leaflet-1.9.4/leaflet.js")
    script.close()
    assert script.status_code == 200 and "nosniff" in script.headers["X-Content-Type-Options"]


def test_english_when_the_browser_prefers_it_and_every_word_has_its_english(console, make_household):
    import pathlib

    from app.console.i18n import EN

    h = make_household()
    page = console.get(f"/console/households/{h['code']}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Members" in page.text and "家庭成员" not in page.text
    root = pathlib.Path(__file__).parents[2] / "app" / "console"
    from app.console import committee, imports
    from app.rights.certificates import RELATIONS_ZH
    from gis.render import CATEGORY_STYLES

    tables = (committee.CHOICES, committee.EVENTS, committee.ORDER_NAMES, imports.STATUSES, imports.COUNTS,
              imports.LAPS, imports.CHECK_NAMES, imports.SEVERITIES)
    said = set(RELATIONS_ZH.values()) | {zh for _c, zh, _en in CATEGORY_STYLES.values()}
    said |= {text for table in tables for text in table.values()}
    said |= {text for title, fields in committee.STEP_FORMS.values()
             for text in (title, *(label for _n, label, _k in fields))}
    for path in [*root.glob("templates/**/*.html"), *root.glob("*.py")]:
        said |= set(re.findall(r'_\(\s*"([^"]+)"\s*\)', path.read_text())) | set(
            re.findall(r"_\(\s*'([^']+)'\s*\)", path.read_text()))
    assert said and said <= EN.keys(), sorted(said - EN.keys())


def _square_lines(e0: float, n0: float, size: float = 50.0) -> str:
    """A square's vertices in EPSG:4550 metres, one per line, as a clerk types them (left open)."""
    return "\n".join(f"{x},{y}" for x, y in ((e0, n0), (e0 + size, n0), (e0 + size, n0 + size), (e0, n0 + size)))


def test_a_parcel_typed_as_coordinates_is_registered_and_a_refused_overlap_is_drawn(console, callers,
                                                                                   ensure_collective):
    ensure_collective(COLLECTIVE)
    page = console.get(f"/console/collectives/{COLLECTIVE}")
    form = {"kind": "contract_land", "land_use": "cultivated", "crs": "EPSG:4550", "name": "南大地",
            "csrf_token": csrf_of(page.text)}
    r = console.post(f"/console/collectives/{COLLECTIVE}/parcels", data=form | {
        "coordinates": _square_lines(590_000, 4_413_000)})
    assert r.status_code == 303, r.text
    code = r.location.split("/")[-1].split("?")[0]
    shown = console.get(r.location).text
    assert "南大地" in shown and "2,49" not in shown and "3.75" in shown  # 50 m × 50 m is 3.75 亩
    size = ledger_size(callers)
    refused = console.post(f"/console/collectives/{COLLECTIVE}/parcels", data=form | {
        "coordinates": _square_lines(590_010, 4_413_010)})
    assert refused.status_code == 409 and "PARCEL_OVERLAP" in refused.text, refused.text
    data = re.search(r'id="map-data">(.*?)</script>', refused.text, re.S)[1]
    drawn = {f["id"]: f["properties"] for f in __import__("json").loads(data)["features"]}
    assert drawn["proposed"] == {"proposed": True} and drawn[code]["selected"] is True
    assert ledger_size(callers) == size
    bad = console.post(f"/console/collectives/{COLLECTIVE}/parcels", data=form | {"coordinates": "1,2\nx,y"})
    assert bad.status_code == 422 and "GEOMETRY_INVALID" in bad.text and "第 2 行" in bad.text


@pytest.mark.parametrize("kind", ["geojson", "shapefile", "gpkg"])
def test_a_parcel_uploaded_as_a_file_of_one_feature_is_registered(console, ensure_collective, tmp_path, kind):
    import io
    import json
    import zipfile

    import geopandas as gpd
    import shapely

    ensure_collective(COLLECTIVE)
    box = shapely.box(590_200, 4_413_200, 590_240, 4_413_240)
    frame = gpd.GeoDataFrame({"name": ["一号地"]}, geometry=[box], crs="EPSG:4550")
    if kind == "geojson":
        frame = frame.to_crs(4490)
        data, name = json.dumps(json.loads(frame.to_json())).encode(), "p.geojson"
    elif kind == "shapefile":
        frame.to_file(tmp_path / "p.shp")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            for part in tmp_path.glob("p.*"):
                z.write(part, part.name)
        data, name = buffer.getvalue(), "p.zip"
    else:
        frame.to_file(tmp_path / "p.gpkg", driver="GPKG")
        data, name = (tmp_path / "p.gpkg").read_bytes(), "p.gpkg"
    page = console.get(f"/console/collectives/{COLLECTIVE}")
    r = console.post(f"/console/collectives/{COLLECTIVE}/parcels", content_type="multipart/form-data", data={
        "kind": "contract_land", "land_use": "cultivated", "csrf_token": csrf_of(page.text),
        "file": (io.BytesIO(data), name)})
    assert r.status_code == 303, r.text
    assert "2.40" in console.get(r.location).text  # 40 m × 40 m = 1,600 m² = 2.40 亩


@pytest.mark.parametrize("text", ["1,2\x00\n3,4\n5,6", "1,2\n3,4\x85\n5,6", "1,2\x1b\n3,4\n5,6"])
def test_a_textarea_may_hold_lines_and_tabs_but_no_other_control_character(console, ensure_collective, text):
    ensure_collective(COLLECTIVE)
    page = console.get(f"/console/collectives/{COLLECTIVE}")
    r = console.post(f"/console/collectives/{COLLECTIVE}/parcels", data={
        "kind": "contract_land", "land_use": "cultivated", "coordinates": text, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and "text/html" in r.content_type and "CONTROL_CHARACTERS" in r.text
