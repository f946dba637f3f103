"""The console's pages: sign-in and sign-out, a home per role, search, households, parcels and collectives.

Views are thin: they call the services the API calls, with the signed-in user as the actor, and render what
comes back. A refusal is shown next to the form with its rule and article; a page outside the user's scope
is a 404, as in the API.
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

import shapely
from flask import Blueprint, Response, g, make_response, redirect, render_template, request, send_file, url_for
from marshmallow import Schema, ValidationError

from app import ids
from app.auth import sessions
from app.auth.services import Principal
from app.console import fonts, panels
from app.console.i18n import _, lang
from app.errors import DomainError, NotFound
from app.extensions import settings, unit_of_work
from app.ids import RowKey
from app.ledger import services as ledger
from app.parcels import services as parcels
from app.parcels.models import LAND_USES_ZH, PARCEL_KINDS
from app.parcels.routes import policy as parcel_policy
from app.parties import services as parties
from app.rights import certificates, histories
from app.rights import services as rights
from app.transfers import services as transfers
from gis import single
from gis.errors import GeometryInputError
from gis.geojson import padded_bounds
from gis.render import CATEGORY_STYLES

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

#: The session cookie, and the sign-in form's own CSRF cookie (there is no session yet to hold the token).
COOKIE, SIGN_IN_COOKIE = "sanquan_console", "sanquan_console_signin"
#: Pages a visitor without a session may open.
OPEN_ENDPOINTS = frozenset({"console.sign_in", "console.static", "console.font"})
ROLE_NAMES = {"admin": "管理员", "clerk": "经办人员", "exchange": "产权交易窗口", "arbitrator": "仲裁委员会",
              "auditor": "审计人员"}
BASES = {"original": "原始取得", "birth": "出生", "marriage": "婚姻", "adoption": "收养", "resettlement": "移民安置"}
GROUNDS = {"death": "死亡", "nationality_lost": "丧失中国国籍", "joined_other_collective": "加入其他集体经济组织",
           "civil_servant": "成为公务员", "voluntary_exit": "书面自愿退出", "settled_in_city": "进城落户"}
PARCEL_KIND_NAMES = {"contract_land": "承包地", "homestead": "宅基地", "reserve": "机动地", "private_plot": "自留地",
                     "other": "其他"}
#: How far around a parcel its page's map looks for neighbours: about 100 m (EPSG:4490 degrees).
NEIGHBOURHOOD_DEG = 0.001
RIGHT_TYPES = {"contract": "土地承包经营权", "homestead": "宅基地使用权", "income_share": "集体收益分配权"}


def actor() -> Principal:
    return g.console.principal


def reads_county_log(county: str) -> bool:
    """Whether the signed-in user may open the county's log (the links to entries and proofs are shown)."""
    try:
        ledger.check_readable_log(actor(), county)
    except DomainError:
        return False
    return True


# --- the session around every page ------------------------------------------------------------------

@bp.before_request
def _session():
    """Find the visitor's session; send a visitor without one to sign in; check every form's CSRF token."""
    g.console = None
    sid = request.cookies.get(COOKIE, "")
    found = sessions.session_user(unit_of_work(write=False), sid, _idle()) if sid else None
    if found is not None:
        g.console, due = found
        if due:
            sessions.touch(unit_of_work(), sid)
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if g.console is None:
        if request.method != "GET":
            return page("console/message.html", 401, title=_("登录"), message=_("会话已过期或未登录，请重新登录"))
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
    if request.method == "POST" and not hmac.compare_digest(request.form.get("csrf_token", ""),
                                                            g.console.csrf_token):
        return page("console/message.html", 403, title=_("被拒绝"),
                     message=_("页面已过期，请刷新后重试（CSRF 校验失败）"))
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    """Nothing from another host (a configured basemap's tiles excepted), no framing, no caching of pages."""
    tiles = urlsplit(settings().basemap_url)
    tile_host = f" {tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; img-src 'self' data:{tile_host}; script-src 'self'; style-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint not in ("console.static", "console.font"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/fonts/wqy-microhei.ttf")
def font():
    """The Chinese font the pages are set in, served from here (no reader needs one installed), cached."""
    return send_file(fonts.web_font(settings().instance_path), mimetype="font/ttf", max_age=30 * 86400)


@bp.errorhandler(NotFound)
def _not_found(error: NotFound):
    return page("console/message.html", 404, title=_("未找到"), message=_("在您的权限范围内没有找到该页面或记录"))


@bp.errorhandler(DomainError)
def _refused(error: DomainError):
    """A refusal the page had no form for (a document not printable yet, a role's limit): shown with its rule."""
    return page("console/message.html", error.status, title=_("被拒绝"), message="", error=error)


@bp.route("/<path:rest>")
def unknown(rest: str):
    raise NotFound("页面", "Page", rest)


def _idle() -> dt.timedelta:
    return dt.timedelta(minutes=settings().console_idle_minutes)


def load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """Read a form as the API reads a body; a value it refuses is a 422 naming the field."""
    try:
        return schema.load(data)
    except ValidationError as e:
        fields = ", ".join(sorted(e.messages)) if isinstance(e.messages, dict) else ""
        raise DomainError(f"请检查填写的内容：{fields}", f"Check what was entered: {fields}", status=422,
                          errors=e.messages if isinstance(e.messages, dict) else {"form": e.messages}) from None


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A console page rendered with ``context``, answered with ``status``."""
    return make_response(render_template(template, **context), status)


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"_": _, "lang": lang, "user": g.get("console"), "role_names": ROLE_NAMES,
            "basemap": settings().basemap_url, "parcel_kinds": PARCEL_KIND_NAMES,
            "relations": certificates.RELATIONS_ZH,
            "land_uses": LAND_USES_ZH, "bases": BASES, "grounds": GROUNDS, "right_types": RIGHT_TYPES}


# --- sign-in and sign-out ---------------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """A form whose input is named ``token``; a valid token opens a session and goes on to ``next``."""
    target = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        if g.console is not None:
            return redirect(target)
        return _sign_in_form(200)
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(request.form.get("csrf_token", ""), expected):
        return _sign_in_form(403, _("页面已过期，请刷新后重试（CSRF 校验失败）"))
    opened = sessions.sign_in(unit_of_work(), request.form.get("token", "").strip())
    if opened is None:
        return _sign_in_form(401, _("令牌无效，请核对后重试"))
    session_id, _user = opened
    response = redirect(target, code=303)
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Strict", secure=request.is_secure,
                        path="/console")
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


def _sign_in_form(status: int, error: str | None = None) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = page("console/sign_in.html", status, csrf=csrf, error=error,
                     next=_safe_next(request.values.get("next", "")))
    response.set_cookie(SIGN_IN_COOKIE, csrf, httponly=True, samesite="Strict", secure=request.is_secure,
                        path="/console")
    return response


def _safe_next(target: str) -> str:
    """Only a path of the console itself: never another host or scheme."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or "\\" in target:
        return url_for("console.home")
    return target


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    sessions.sign_out(unit_of_work(), request.cookies.get(COOKIE, ""))
    response = redirect(url_for("console.sign_in"), code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


# --- home and search ----------------------------------------------------------------------------------

@bp.route("/")
def home():
    """A home per role: the clerk's recent registrations, the desk's open listings and transfers, the
    committee's deadlines this week and overdue, the auditor's ledger status and compliance flags."""
    return page("console/home.html", **panels.for_role(actor()))


@bp.route("/search")
def search():
    """A household, parcel or collective code goes to its page; an ID number or a name lists the people."""
    q = request.args.get("q", "").strip()
    if q.isdigit() and len(q) == 18:
        return redirect(url_for("console.household", code=q))
    if q.isdigit() and len(q) == 19:
        return redirect(url_for("console.parcel", code=q))
    if q.isdigit() and len(q) == 14:
        return redirect(url_for("console.collective", code=q))
    people = parties.find_people(unit_of_work(write=False), actor=actor(), text=q) if q else []
    return page("console/search.html", q=q, people=people)


# --- households ---------------------------------------------------------------------------------------

@bp.route("/households/<code>")
def household(code: str, error: DomainError | None = None, status: int = 200, form: str | None = None):
    """Members, memberships, rights with terms and parcels, certificates and the household's history."""
    household = parties.get_household(unit_of_work(write=False), actor=actor(), code=code)
    memberships = parties.household_memberships(unit_of_work(write=False), actor=actor(), code=code)
    held = rights.list_rights(unit_of_work(write=False), actor=actor(), holder=code, limit=50)["items"]
    after = request.args.get("after", "")
    history = histories.household_history(unit_of_work(write=False), actor=actor(), code=code, limit=50,
                                          after=int(after) if after.isdigit() and len(after) < 19 else 0)
    numbers = certificates.current_certificates(unit_of_work(write=False), actor=actor(),
                                                right_ids=[r["id"] for r in held])
    settled = transfers.list_settlements(unit_of_work(write=False), actor=actor(), household=code)
    return page("console/household.html", status, household=household, memberships=memberships, rights=held,
                 certificates=numbers, history=history, settlements=settled, error=error, form=form,
                 proofs=reads_county_log(code[:6]),
                 today=dt.date.today().isoformat())


@bp.route("/certificates/<path:number>.pdf")
def certificate_pdf(number: str):
    """A certificate as PDF, printed as the API prints it."""
    pdf = certificates.certificate_pdf(unit_of_work(write=False), actor=actor(), number=number,
                                       neighbour_tolerance_m=settings().neighbour_tolerance_m)
    return Response(pdf, mimetype="application/pdf")


@bp.route("/households/<code>/members", methods=["POST"])
def recognise(code: str):
    """Recognise a member of the household's collective (农村集体经济组织法 第十二条)."""
    found = parties.get_household(unit_of_work(write=False), actor=actor(), code=code)
    try:
        parties.recognise_member(unit_of_work(), actor=actor(), collective_code=found["collective"],
                                 person_id=_person(request.form.get("person_id")), basis=request.form.get("basis", ""),
                                 decided_on=_day(request.form.get("decided_on")))
    except DomainError as e:
        return household(code, error=e, status=e.status, form="recognise")
    return redirect(url_for("console.household", code=code, saved=1), code=303)


@bp.route("/households/<code>/members/<row:person_id>/termination", methods=["POST"])
def terminate(code: str, person_id: RowKey):
    """End a membership, on a lawful ground only (第十七、十八条): the refusal names the article."""
    found = parties.get_household(unit_of_work(write=False), actor=actor(), code=code)
    try:
        parties.terminate_membership(unit_of_work(), actor=actor(), collective_code=found["collective"],
                                     person_id=person_id, ground=request.form.get("ground", ""),
                                     decided_on=_day(request.form.get("decided_on")))
    except DomainError as e:
        return household(code, error=e, status=e.status, form=f"terminate-{person_id}")
    return redirect(url_for("console.household", code=code, saved=1), code=303)


# --- collectives and parcels ------------------------------------------------------------------------

@bp.route("/collectives/<code>")
def collective(code: str, error: DomainError | None = None, status: int = 200,
               proposed: tuple[dict, str] | None = None):
    """A collective: its parcels on a map coloured by land use (``?by=right``: by the right over each), and the
    forms to register a household and a parcel; after a refused overlap, the boundary given drawn over the
    parcels it overlaps."""
    found = parties.get_collective(unit_of_work(write=False), actor=actor(), code=code)
    features = parcels.list_parcels(unit_of_work(write=False), actor=actor(), policy=parcel_policy(),
                                    collective=code, limit=1000)
    by = "right" if request.args.get("by") == "right" else "land_use"
    categories = histories.right_categories(unit_of_work(write=False), actor=actor(), code=code) \
        if by == "right" else None
    overlapped = {o["code"] for o in (error.details.get("overlaps", []) if error else [])}
    drawn = json.loads(_map_data(features, selected=overlapped, rights=categories))
    if proposed is not None and overlapped:
        geometry = parcels.intake_geometry(proposed[0], proposed[1], parcel_policy().limits)
        drawn["features"].append({"type": "Feature", "id": "proposed", "geometry": shapely.geometry.mapping(geometry),
                                  "properties": {"proposed": True}})
    return page("console/collective.html", status, collective=found, error=error, count=len(features["features"]),
                 by=by, right_legend={key: zh for key, (_colour, zh, _en) in CATEGORY_STYLES.items()},
                 features=json.dumps(drawn, ensure_ascii=False).replace("</", "<\\/"),
                 kinds=PARCEL_KINDS, overlapped=sorted(overlapped))


@bp.route("/collectives/<code>/households", methods=["POST"])
def register_household(code: str):
    form = request.form
    try:
        name = form.get("name", "").strip()
        if not name or len(name) > 100:
            raise DomainError("请填写户主姓名（不超过 100 字）", "Give the head's name (at most 100 characters)",
                              status=422, errors={"name": ["required"]})
        made = parties.register_household(
            unit_of_work(), actor=actor(), collective_code=code, address=form.get("address", "").strip() or None,
            head={"name": name, "id_number": form.get("id_number", "").strip(), "sex": form.get("sex") or None},
            members=[])
    except DomainError as e:
        return collective(code, error=e, status=e.status)
    return redirect(url_for("console.household", code=made["code"], saved=1), code=303)


@bp.route("/collectives/<code>/parcels", methods=["POST"])
def register_parcel(code: str):
    """Register a parcel from a file of one feature or from typed coordinates. A refused overlap is drawn:
    the boundary given, in red, over the parcels it overlaps."""
    form = request.form
    crs = form.get("crs") or "EPSG:4490"
    proposed = None
    try:
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            geometry, file_crs = single.from_file(upload.read(), upload.filename)
            crs = file_crs or crs
        else:
            geometry = single.from_text(form.get("coordinates", ""))
        proposed = geometry, crs
        made = parcels.register_parcel(unit_of_work(), actor=actor(), policy=parcel_policy(), collective=code,
                                       kind=form.get("kind", ""), land_use=form.get("land_use", ""),
                                       geometry=geometry, crs=crs, name=form.get("name", "").strip() or None)
    except GeometryInputError as e:
        return collective(code, error=parcels.geometry_violation(e), status=422)
    except DomainError as e:
        return collective(code, error=e, status=e.status, proposed=proposed)
    return redirect(url_for("console.parcel", code=made["id"], saved=1), code=303)


@bp.route("/parcels/<code>")
def parcel(code: str):
    """The parcel on a map with its neighbours and 四至, its areas, and who held it over time."""
    feature = parcels.get_parcel(unit_of_work(write=False), actor=actor(), policy=parcel_policy(), code=code)
    held = rights.list_rights(unit_of_work(write=False), actor=actor(), parcel=code, history=True)["items"]
    near = parcels.list_parcels(unit_of_work(write=False), actor=actor(), policy=parcel_policy(),
                                bbox=padded_bounds(feature["geometry"], NEIGHBOURHOOD_DEG), limit=200)
    return page("console/parcel.html", parcel=feature, rights=held,
                 features=_map_data(near, selected=code))


def _map_data(collection: dict, selected: str | set[str] | None = None, rights: dict[str, str] | None = None) -> str:
    """The features a page's map draws, as JSON for a ``<script type="application/json">`` block; with
    ``rights``, each parcel's right category (:func:`app.rights.histories.right_categories`)."""
    chosen = {selected} if isinstance(selected, str) else selected or set()
    slim = [{"type": "Feature", "id": f["id"], "geometry": f["geometry"],
             "properties": {"land_use": f["properties"].get("land_use"), "name": f["properties"].get("name"),
                            "selected": f["id"] in chosen}
                           | ({"right": rights.get(f["id"], "none")} if rights is not None else {})}
            for f in collection["features"]]
    return json.dumps({"type": "FeatureCollection", "features": slim}, ensure_ascii=False).replace("</", "<\\/")


def cursor_arg() -> RowKey | None:
    """A page's ``?cursor=`` (the registry id the previous page ended at); none, or junk, is the first page."""
    return ids.parse(request.args.get("cursor", ""))


def _person(value: str | None) -> RowKey:
    key = ids.parse((value or "").strip())
    if key is None:
        raise DomainError("请填写有效的编号", "Give a valid id", status=422, errors={"person_id": ["invalid"]})
    return key


def _day(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        raise DomainError("请填写日期（年-月-日）", "Give a date (YYYY-MM-DD)", status=422,
                          errors={"decided_on": ["invalid"]}) from None


@bp.route("/documents/<row:document_id>")
def document(document_id: RowKey):
    """An evidence document (a signed consent, a resolution), downloaded as the API serves it."""
    doc, path = parties.open_document(unit_of_work(write=False), actor=actor(), document_id=document_id,
                                      storage=settings().documents_path)
    return send_file(path, mimetype=doc["content_type"], as_attachment=True, download_name=doc["filename"],
                     etag=doc["sha256"])
