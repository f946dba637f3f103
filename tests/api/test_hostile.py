"""Hostile input: every malformed, oversized, mistyped or out-of-scope request is refused.

Each case of the table below is one request. The test asserts that it gets
the expected 4xx in the API's error shape (``code`` = the status, a Chinese
``message``, ``rule`` where a business rule refused it), that NOTHING was
stored (ledger size and row counts are unchanged) and that the server still
answers its health check afterwards.

Huge bodies are built lazily (``raw`` may be a callable), so collecting the
table costs nothing.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.errors import RULES
from app.ids import row_key
from app.ledger.models import LedgerEntry
from app.parcels.models import Parcel, ParcelVersion
from app.parties.models import Collective, Document, Household, Membership, Person
from tests.conftest import COLLECTIVE, COUNTY, id_number, square

PARCELS = "/api/v1/parcels"
COLLECTIVES = "/api/v1/collectives"
HOUSEHOLDS = f"/api/v1/collectives/{COLLECTIVE}/households"
MEMBERS = f"/api/v1/collectives/{COLLECTIVE}/members"
TERMINATION = MEMBERS + "/{person}/termination"
MiB = 1024 * 1024

#: Tables whose row counts must not move when a request is refused.
STORED = (Collective, Household, Person, Membership, Document, Parcel, ParcelVersion, LedgerEntry, User)


# --- body builders ------------------------------------------------------------------------

LON, LAT = 124.30, 39.90  # well away from the world's parcel; only valid shapes need that


def pts(*offsets: tuple[float, float]) -> list[list[float]]:
    """Positions at (dx, dy) thousandths of a degree from (LON, LAT)."""
    return [[round(LON + dx / 1000, 6), round(LAT + dy / 1000, 6)] for dx, dy in offsets]


def polygon(*rings) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


SHELL = pts((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))


def parcel(**fields) -> dict:
    """A parcel body that would be accepted (a free 50 m square) but for ``fields``."""
    return {"collective": COLLECTIVE, "kind": "contract_land", "land_use": "cultivated",
            "geometry": square(500, 0)} | fields


def with_geometry(geometry) -> dict:
    return parcel(geometry=geometry)


_GEOMETRY_SLOT = '"@geometry@"'


def parcel_text(geometry_text: str) -> bytes:
    """A parcel body as raw JSON text whose geometry is ``geometry_text`` verbatim."""
    return json.dumps(parcel(geometry="@geometry@")).replace(_GEOMETRY_SLOT, geometry_text).encode()


def with_token(token: str) -> bytes:
    """A parcel body whose first longitude is the raw JSON token ``token`` (NaN, 1e400, …)."""
    coords = json.dumps(SHELL)
    ring = coords.replace(str(SHELL[0][0]), token, 1)
    return parcel_text(f'{{"type": "Polygon", "coordinates": [{ring}]}}')


def nested_collections(depth: int) -> bytes:
    """A GeometryCollection nested ``depth`` deep, built as text (no recursion anywhere)."""
    return parcel_text('{"type": "GeometryCollection", "geometries": [' * depth + "]}" * depth)


def many_vertices(n: int) -> dict:
    ring = [[LON + 0.01 * math.cos(2 * math.pi * i / n), LAT + 0.01 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]
    return with_geometry(polygon(ring + [ring[0]]))


def many_parts(n: int) -> dict:
    return with_geometry({"type": "MultiPolygon", "coordinates": [[SHELL]] * n})


def household(head_id: str, sex: str | None = None, **fields) -> dict:
    head = {"name": "赵一", "id_number": head_id} | ({"sex": sex} if sex else {})
    return {"head": head} | fields


GOOD_ID = id_number(COUNTY, "19800101", 11)  # male
BAD_CHECK = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")
SPOUSE = {"name": "钱二", "id_number": id_number(COUNTY, "19820303", 12), "relation": "spouse"}


# --- the table ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One hostile request and the refusal it must get.

    ``path`` may hold ``{parcel}``, ``{household}``, ``{person}`` (filled from the
    world fixture). ``json`` is sent as JSON; else ``raw`` (bytes, or a callable
    building them) is sent with ``content_type``. ``before`` lists (method, path,
    json, headers) requests made first, which must succeed. ``bug`` marks a known
    app bug: the case is a strict xfail until it is fixed (on ``bug_on`` only, if given).
    """

    id: str
    method: str
    path: str
    json: Any = None
    raw: bytes | Callable[[], bytes] | None = None
    content_type: str = "application/json"
    caller: str | None = "clerk"
    headers: dict | None = None
    status: int = 422
    rule: str | None = None
    check: Callable[[dict, dict], None] | None = None
    before: tuple = ()
    bug: str | None = None
    bug_on: str | None = None  # "sqlite" or "postgis" when ``bug`` shows on one database only


def post(id, path, json=None, **kw) -> Case:
    return Case(id, "POST", path, json, **kw)


def get(id, path, **kw) -> Case:
    return Case(id, "GET", path, **kw)


def overlap_names_the_parcel(body, world):
    overlaps = body["details"]["overlaps"]
    assert [o["code"] for o in overlaps] == [world["parcel"]]
    assert overlaps[0]["overlap_m2"] == pytest.approx(40 * 40, rel=0.01)


def basis_names_the_law(body, world):
    assert "农村集体经济组织法" in body["basis"]


def reason_is(reason):
    def check(body, world):
        assert body["details"]["reason"] == reason
    return check


def errors_name(field):
    def check(body, world):
        assert field in json.dumps(body.get("errors", {}))
    return check


def bad_geometry(id, geometry, rule="GEOMETRY_INVALID", **kw) -> Case:
    """A parcel whose geometry is refused, by default as GEOMETRY_INVALID."""
    return post(id, PARCELS, with_geometry(geometry), rule=rule, **kw)


SQUARE_AT_1E308 = [[LON, LAT], [1e308, LAT], [1e308, 1e308], [LON, 1e308], [LON, LAT]]
OVERLAPPING_PART = pts((0.5, 0.5), (1.5, 0.5), (1.5, 1.5), (0.5, 1.5), (0.5, 0.5))
FAR_HOLE = pts((5, 5), (5, 6), (6, 6), (6, 5), (5, 5))
GULF_OF_GUINEA = [[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001], [0, 0]]

GEOMETRY_CASES = [
    bad_geometry("bow_tie", polygon(pts((0, 0), (1, 1), (1, 0), (0, 1), (0, 0)))),
    bad_geometry("unclosed_ring", polygon(SHELL[:-1] + pts((0, 0.5)))),
    bad_geometry("ring_of_three_positions", polygon(pts((0, 0), (1, 0), (0, 0)))),
    bad_geometry("empty_ring", polygon([])),
    bad_geometry("empty_coordinates", polygon()),
    bad_geometry("zero_area_sliver", polygon(pts((0, 0), (1, 0), (2, 0), (0, 0)))),
    bad_geometry("hole_outside_shell", polygon(SHELL, FAR_HOLE), check=reason_is("hole_outside_shell")),
    bad_geometry("multipolygon_parts_overlap", {"type": "MultiPolygon", "coordinates": [[SHELL], [OVERLAPPING_PART]]}),
    bad_geometry("strings_as_coordinates", polygon([[str(x), str(y)] for x, y in SHELL])),
    bad_geometry("null_coordinates", polygon([[None, None]] * 5)),
    bad_geometry("boolean_coordinates", polygon([[True, False]] * 5)),
    bad_geometry("position_of_four_numbers", polygon([p + [0, 0] for p in SHELL])),
    bad_geometry("point", {"type": "Point", "coordinates": [LON, LAT]}),
    bad_geometry("line_string", {"type": "LineString", "coordinates": SHELL}),
    bad_geometry("geometry_collection", {"type": "GeometryCollection", "geometries": [polygon(SHELL)]}),
    bad_geometry("feature_instead_of_geometry", {"type": "Feature", "geometry": polygon(SHELL), "properties": {}}),
    bad_geometry("lowercase_type", {"type": "polygon", "coordinates": [SHELL]}),
    bad_geometry("crs_member_inside_geometry",
                 polygon(SHELL) | {"crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}),
    bad_geometry("coordinates_nested_too_deep", polygon([[p] for p in SHELL]), rule="GEOMETRY_TOO_COMPLEX"),
    bad_geometry("coordinate_1e308", polygon(SQUARE_AT_1E308), rule="OUTSIDE_SUPPORTED_AREA"),
    bad_geometry("swapped_lon_lat", polygon([[y, x] for x, y in SHELL]), rule="OUTSIDE_SUPPORTED_AREA",
                 check=reason_is("axes_swapped")),
    bad_geometry("square_in_gulf_of_guinea", polygon(GULF_OF_GUINEA), rule="OUTSIDE_SUPPORTED_AREA"),
    post("coordinate_1e400_is_infinite", PARCELS, raw=with_token("1e400"), rule="GEOMETRY_INVALID"),
    post("nan_token", PARCELS, raw=with_token("NaN")),
    post("infinity_token", PARCELS, raw=with_token("Infinity")),
    post("minus_infinity_token", PARCELS, raw=with_token("-Infinity")),
    post("coordinate_5000_digit_integer", PARCELS, raw=with_token("1" * 5000)),
    post("geometry_collection_nested_20000_deep", PARCELS, raw=lambda: nested_collections(20_000)),
    post("vertices_200000", PARCELS, raw=lambda: json.dumps(many_vertices(200_000)).encode(),
         rule="GEOMETRY_TOO_COMPLEX"),
    post("multipolygon_20000_parts", PARCELS, raw=lambda: json.dumps(many_parts(20_000)).encode(),
         rule="GEOMETRY_TOO_COMPLEX"),
    post("wkt_instead_of_geojson", PARCELS, parcel(geometry="POLYGON((124.3 39.9, 124.31 39.9, 124.3 39.9))"),
         check=errors_name("geometry")),
    post("crs_web_mercator", PARCELS, parcel(crs="EPSG:3857"), rule="CRS_UNSUPPORTED"),
    post("crs_foo", PARCELS, parcel(crs="foo"), rule="CRS_UNSUPPORTED"),
    post("crs_as_number", PARCELS, parcel(crs=4490), check=errors_name("crs")),
    post("projected_crs_with_lon_lat_numbers", PARCELS, parcel(crs="EPSG:4550", geometry=polygon(SHELL)),
         rule="OUTSIDE_SUPPORTED_AREA"),
    post("overlaps_registered_parcel", PARCELS, parcel(geometry=square(10, 10)), status=409,
         rule="PARCEL_OVERLAP", check=overlap_names_the_parcel),
]

PARCEL_FIELD_CASES = [
    post("parcel_unknown_field", PARCELS, parcel(owner="王"), check=errors_name("owner")),
    *[post(f"parcel_read_only_{field}", PARCELS, parcel(**{field: value}), check=errors_name(field))
      for field, value in [("area_m2", 1.0), ("area_mu", 0.01), ("id", COLLECTIVE + "00099"), ("ledger_seq", 1),
                           ("neighbours", {"east": [], "south": [], "west": [], "north": []})]],
    post("parcel_collective_as_number", PARCELS, parcel(collective=int(COLLECTIVE))),
    post("parcel_kind_as_list", PARCELS, parcel(kind=["contract_land"]), check=errors_name("kind")),
    post("parcel_basic_farmland_yes", PARCELS, parcel(basic_farmland="yes"), check=errors_name("basic_farmland")),
    post("parcel_declared_area_big", PARCELS, parcel(declared_area_m2="big"), check=errors_name("declared_area_m2")),
    post("parcel_declared_area_negative", PARCELS, parcel(declared_area_m2=-5)),
    post("parcel_declared_area_infinite", PARCELS, raw=parcel_text(
        json.dumps(square(500, 0))).replace(b'"kind"', b'"declared_area_m2": 1e400, "kind"')),
    post("parcel_code_18_digits", PARCELS, parcel(code=COLLECTIVE + "0001"), rule="PARCEL_CODE_INVALID"),
    post("parcel_code_of_another_collective", PARCELS, parcel(code="2106811010010200001"),
         rule="PARCEL_CODE_INVALID"),
    post("parcel_code_serial_zero", PARCELS, parcel(code=COLLECTIVE + "00000"), rule="PARCEL_CODE_INVALID"),
    post("homestead_kind_on_cultivated_land", PARCELS, parcel(kind="homestead")),
    post("parcel_in_unknown_collective", PARCELS, parcel(collective="21068110100199"), status=404),
    post("parcel_by_other_county_clerk", PARCELS, parcel(), caller="other_clerk", status=404),
    post("parcel_by_exchange_desk", PARCELS, parcel(), caller="exchange", status=403),
]

COLLECTIVE_CASES = [
    post("collective_code_as_number", COLLECTIVES, {"code": 21068110100102, "name": "二组"}, check=errors_name("code")),
    post("collective_code_13_digits", COLLECTIVES, {"code": "2106811010010", "name": "二组"},
         rule="COLLECTIVE_CODE_INVALID"),
    post("collective_code_15_digits", COLLECTIVES, {"code": "210681101001021", "name": "二组"},
         rule="COLLECTIVE_CODE_INVALID"),
    post("collective_code_with_letters", COLLECTIVES, {"code": "2106811010010A", "name": "二组"},
         rule="COLLECTIVE_CODE_INVALID"),
    post("collective_township_000", COLLECTIVES, {"code": "21068100010102", "name": "二组"},
         rule="COLLECTIVE_CODE_INVALID"),
    post("collective_unknown_field", COLLECTIVES, {"code": "21068110100102", "name": "二组", "village_head": "王"},
         check=errors_name("village_head")),
    post("collective_name_blank", COLLECTIVES, {"code": "21068110100102", "name": "   "}),
    post("collective_name_lone_surrogate", COLLECTIVES,
         raw=b'{"code": "21068110100102", "name": "\\ud800"}'),
    post("collective_name_with_nul", COLLECTIVES, {"code": "21068110100102", "name": "二\u0000组"}),
    post("collective_name_10000_chars", COLLECTIVES, {"code": "21068110100102", "name": "组" * 10_000}),
    post("collective_of_other_county", COLLECTIVES, {"code": "21068210100101", "name": "凤城"}, status=403,
         rule="OUTSIDE_SCOPE"),
    post("collective_by_auditor", COLLECTIVES, {"code": "21068110100102", "name": "二组"}, caller="auditor",
         status=403),
]

HOUSEHOLD_CASES = [
    post("id_bad_check_digit", HOUSEHOLDS, household(BAD_CHECK), rule="ID_NUMBER_INVALID"),
    post("id_born_february_30", HOUSEHOLDS, household(id_number(COUNTY, "19800230", 11)), rule="ID_NUMBER_INVALID"),
    post("id_born_in_the_future", HOUSEHOLDS, household(id_number(COUNTY, "20990101", 11)), rule="ID_NUMBER_INVALID"),
    post("id_sex_digit_contradicts_sex", HOUSEHOLDS, household(GOOD_ID, sex="female"), rule="ID_NUMBER_INVALID"),
    post("id_17_characters", HOUSEHOLDS, household(GOOD_ID[:17]), rule="ID_NUMBER_INVALID"),
    post("id_unknown_province", HOUSEHOLDS, household(id_number("990681", "19800101", 11)), rule="ID_NUMBER_INVALID"),
    post("id_bad_check_digit_of_a_member", HOUSEHOLDS,
         household(GOOD_ID, members=[SPOUSE | {"id_number": SPOUSE["id_number"][:-1] + "X"}]),
         rule="ID_NUMBER_INVALID"),
    post("id_twice_in_one_household", HOUSEHOLDS, household(GOOD_ID, members=[SPOUSE | {"id_number": GOOD_ID}]),
         rule="ID_NUMBER_INVALID"),
    post("id_already_registered", HOUSEHOLDS, household(id_number(COUNTY, "19700101", 3)), status=409,
         rule="PERSON_ALREADY_REGISTERED"),
    post("household_head_name_blank", HOUSEHOLDS, {"head": {"name": " ", "id_number": GOOD_ID}}),
    post("id_number_as_number", HOUSEHOLDS, household(int(GOOD_ID[:17]))),
    post("household_members_as_dict", HOUSEHOLDS, household(GOOD_ID, members={"0": SPOUSE}),
         check=errors_name("members")),
    post("household_51_members", HOUSEHOLDS, household(GOOD_ID, members=[
        SPOUSE | {"id_number": id_number(COUNTY, "19900101", 100 + i), "relation": "child"} for i in range(51)])),
    post("household_without_head", HOUSEHOLDS, {"members": [SPOUSE]}, check=errors_name("head")),
    post("household_unknown_field", HOUSEHOLDS, household(GOOD_ID, income="100000"), check=errors_name("income")),
    post("household_member_unknown_field", HOUSEHOLDS, household(GOOD_ID, members=[SPOUSE | {"phone": "110"}]),
         check=errors_name("phone")),
    post("household_by_other_county_clerk", HOUSEHOLDS, household(GOOD_ID), caller="other_clerk", status=404),
]

MEMBERSHIP_CASES = [
    post("terminate_for_settling_in_city", TERMINATION, {"ground": "settled_in_city", "decided_on": "2024-01-01"},
         rule="MEMBERSHIP_GROUND_NOT_LAWFUL", check=basis_names_the_law),
    post("terminate_for_divorce", TERMINATION, {"ground": "divorce", "decided_on": "2024-01-01"},
         rule="MEMBERSHIP_GROUND_NOT_LAWFUL", check=basis_names_the_law),
    post("terminate_on_february_30", TERMINATION, {"ground": "death", "decided_on": "2024-02-30"}),
    post("terminate_person_id_beyond_64_bits", MEMBERS + "/100000000000000000000000000000/termination",
         {"ground": "death", "decided_on": "2024-01-01"}, status=404),
    post("member_person_id_as_string", MEMBERS, {"person_id": "1", "basis": "birth", "decided_on": "2020-01-01"},
         check=errors_name("person_id")),
    post("member_person_id_beyond_64_bits", MEMBERS,
         {"person_id": 10**30, "basis": "birth", "decided_on": "2020-01-01"}),
    post("member_person_id_beyond_32_bits", MEMBERS,
         {"person_id": 2**31, "basis": "birth", "decided_on": "2020-01-01"}),
    post("member_unknown_basis", MEMBERS, {"person_id": 1, "basis": "purchase", "decided_on": "2020-01-01"}),
]

ACCESS_CASES = [
    get("other_county_reads_parcel", "/api/v1/parcels/{parcel}", caller="other_clerk", status=404),
    get("other_county_reads_household", "/api/v1/households/{household}", caller="other_clerk", status=404),
    get("other_county_reads_collective", f"{COLLECTIVES}/{COLLECTIVE}", caller="other_clerk", status=404),
    get("document_id_beyond_64_bits", "/api/v1/documents/100000000000000000000000000000", status=404),
    get("document_id_beyond_32_bits", "/api/v1/documents/2147483648", status=404),
    post("no_token", COLLECTIVES, {"code": "21068110100102", "name": "二组"}, caller=None, status=401),
    post("wrong_token", COLLECTIVES, {"code": "21068110100102", "name": "二组"}, caller=None, status=401,
         headers={"Authorization": "Bearer not-a-token"}),
    post("basic_auth_instead_of_bearer", COLLECTIVES, {"code": "21068110100102", "name": "二组"}, caller=None,
         status=401, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}),
    post("token_of_10000_characters", COLLECTIVES, {"code": "21068110100102", "name": "二组"}, caller=None,
         status=401, headers={"Authorization": "Bearer " + "a" * 10_000}),
    post("idempotency_key_reused_with_other_body", COLLECTIVES, {"code": "21068110100103", "name": "三组"},
         headers={"Idempotency-Key": "hostile-1"}, rule="IDEMPOTENCY_KEY_REUSED",
         before=(("POST", COLLECTIVES, {"code": "21068110100102", "name": "二组"}, {"Idempotency-Key": "hostile-1"}),)),
    post("idempotency_key_of_300_characters", COLLECTIVES, {"code": "21068110100102", "name": "二组"},
         headers={"Idempotency-Key": "k" * 300}),
]

QUERY_CASES = [
    get("bbox_of_three_numbers", PARCELS + "?bbox=1,2,3", check=errors_name("bbox")),
    get("bbox_of_nan", PARCELS + "?bbox=nan,nan,nan,nan", check=errors_name("bbox")),
    get("bbox_min_above_max", PARCELS + "?bbox=125,40,124,39", check=errors_name("bbox")),
    get("contains_abc", PARCELS + "?contains=abc", check=errors_name("contains")),
    get("limit_100000", PARCELS + "?limit=100000", check=errors_name("limit")),
    get("within_letters", PARCELS + "?within=abc", check=errors_name("within")),
    get("ledger_after_beyond_64_bits", f"/api/v1/ledger/{COUNTY}?after=100000000000000000000", caller="admin",
        check=errors_name("after")),
    get("members_cursor_beyond_64_bits", MEMBERS + "?cursor=100000000000000000000", check=errors_name("cursor")),
    get("output_crs_web_mercator", "/api/v1/parcels/{parcel}?crs=EPSG:3857", rule="CRS_UNSUPPORTED"),
]

TRANSPORT_CASES = [
    post("json_nested_100000_deep_unclosed", COLLECTIVES, raw=b"[" * 100_000),
    post("json_nested_100000_deep", COLLECTIVES, raw=lambda: b"[" * 100_000 + b"]" * 100_000),
    post("coordinates_nested_100000_deep", PARCELS,
         raw=lambda: parcel_text('{"type": "Polygon", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}")),
    post("body_of_50_mib", COLLECTIVES, raw=lambda: b'{"a":"' + b"x" * (50 * MiB) + b'"}', status=413),
    post("json_body_of_20_mib", COLLECTIVES, raw=lambda: b'{"a":"' + b"x" * (20 * MiB) + b'"}', status=413),
    post("text_plain_content_type", COLLECTIVES, raw=b'{"code": "21068110100102", "name": "x"}',
         content_type="text/plain"),
    post("form_encoded_body", COLLECTIVES, raw=b"code=21068110100102&name=x",
         content_type="application/x-www-form-urlencoded"),
    post("empty_body", COLLECTIVES, raw=b""),
    post("truncated_json", COLLECTIVES, raw=b'{"code": "2106811'),
    post("invalid_utf8", COLLECTIVES, raw=b'{"code": "\xff\xfe", "name": "x"}'),
    post("json_array_instead_of_object", COLLECTIVES, [{"code": "21068110100102", "name": "二组"}]),
    post("json_null", COLLECTIVES, raw=b"null"),
    post("json_string", COLLECTIVES, raw=b'"21068110100102"'),
]

# --- multipart bodies ---------------------------------------------------------------------

BOUNDARY = "hostile-boundary-7f3a"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]] = ()) -> bytes:
    """A multipart/form-data body written byte by byte, so names and part headers carry anything.

    ``files`` maps a field to (file name, part Content-Type, bytes).
    """
    out = b""
    for name, value in fields.items():
        out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
    for name, (filename, content_type, data) in dict(files).items():
        out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def upload_case(id, path, fields, files=None, **kw) -> Case:
    return post(id, path, raw=multipart(fields, files or {"file": ("evidence.pdf", "application/pdf", b"%PDF-1.4")}),
                content_type=MULTIPART, **kw)


DOCUMENTS = "/api/v1/documents"
IMPORTS = "/api/v1/imports"
DOC_FORM = {"kind": "resolution", "title": "村民会议决议"}


def nested_field_map(depth: int) -> str:
    return '{"DKBM": ' + "[" * depth + "]" * depth + "}"


FORM_CASES = [
    upload_case("import_field_map_nested_1000_deep", IMPORTS, {"field_map": nested_field_map(1000)},
                {"file": ("layer.geojson", "application/geo+json", b"{}")}, check=errors_name("field_map")),
    upload_case("import_field_map_nested_100000_deep", IMPORTS, {"field_map": nested_field_map(100_000)},
                {"file": ("layer.geojson", "application/geo+json", b"{}")}, check=errors_name("field_map")),
    upload_case("import_field_map_nan", IMPORTS, {"field_map": '{"DKBM": NaN}'},
                {"file": ("layer.geojson", "application/geo+json", b"{}")}, check=errors_name("field_map")),
    upload_case("import_field_map_of_100000_characters", IMPORTS, {"field_map": '{"DKBM": "' + "x" * 100_000 + '"}'},
                {"file": ("layer.geojson", "application/geo+json", b"{}")}, check=errors_name("field_map")),
]


# --- control characters, refused once at the edge -----------------------------------------

def control(id, method, path, json=None, **kw) -> Case:
    """A request whose path, query, form, file name or JSON string holds a control character."""
    kw.setdefault("rule", "CONTROL_CHARACTERS")
    return Case(id, method, path, json, **kw)


NUL = "\u0000"
CONTROL_CASES = [
    # path segments
    control("path_parcel_nul", "GET", PARCELS + "/{parcel}%00"),
    control("path_parcel_history_nul", "GET", PARCELS + "/21%00/history"),
    control("path_parcel_map_nul", "GET", PARCELS + "/21%00/map.png"),
    control("path_collective_nul", "GET", COLLECTIVES + f"/{COLLECTIVE}%00"),
    control("path_collective_map_nul", "GET", COLLECTIVES + "/2106%00/map.png"),
    control("path_household_nul", "GET", "/api/v1/households/{household}%00"),
    control("path_household_history_nul", "GET", "/api/v1/households/21%00/history"),
    control("path_right_nul", "GET", "/api/v1/rights/2106%00J"),
    control("path_certificate_nul", "GET", "/api/v1/certificates/a%00b"),
    control("path_certificate_pdf_nul", "GET", "/api/v1/certificates/a%00b.pdf"),
    control("path_ogc_item_nul", "GET", "/ogc/collections/parcels/items/{parcel}%00"),
    control("path_ogc_collection_nul", "GET", "/ogc/collections/parc%00els"),
    control("path_ledger_county_nul", "GET", "/api/v1/ledger/2106%0081", caller="admin"),
    control("path_members_collective_nul", "GET", COLLECTIVES + "/2106%00/members"),
    control("path_unknown_route_soh", "GET", "/api/v1/nowhere%01"),
    control("path_del", "GET", PARCELS + "/21%7F"),
    control("path_c1_next_line", "GET", PARCELS + "/21%C2%85"),
    # query arguments
    control("query_rights_holder_nul", "GET", "/api/v1/rights?holder=210681101001010001%00"),
    control("query_parcels_collective_nul", "GET", PARCELS + f"?collective={COLLECTIVE}%00"),
    control("query_parcels_cursor_nul", "GET", PARCELS + "?cursor=%00"),
    control("query_collectives_cursor_nul", "GET", COLLECTIVES + "?cursor=21%00"),
    control("query_transfers_right_nul", "GET", "/api/v1/transfers?right=%00"),
    control("query_disputes_status_nul", "GET", "/api/v1/disputes?status=open%00", caller="admin"),
    control("query_ogc_cursor_nul", "GET", "/ogc/collections/parcels/items?cursor=21%00"),
    control("query_export_crs_nul", "GET", "/api/v1/exports/parcels?crs=EPSG:4490%00"),
    control("query_certificate_check_nul", "GET", "/api/v1/certificates/check?qr=a%00b"),
    control("query_summary_within_nul", "GET", "/api/v1/reports/summary?within=2106%00"),
    control("query_name_nul", "GET", PARCELS + "?%00=1"),
    control("query_tab", "GET", PARCELS + f"?collective={COLLECTIVE}%09"),
    # JSON strings, keys included
    control("json_user_name_nul", "POST", "/api/v1/users", {"name": f"x{NUL}y", "role": "clerk", "scope": COUNTY},
            caller="admin"),
    control("json_collective_code_nul", "POST", COLLECTIVES, {"code": f"2106811010010{NUL}", "name": "二组"}),
    control("json_collective_name_soh", "POST", COLLECTIVES, {"code": "21068110100102", "name": "二\u0001组"}),
    control("json_collective_name_del", "POST", COLLECTIVES, {"code": "21068110100102", "name": "二\u007f组"}),
    control("json_parcel_name_nul", "POST", PARCELS, parcel(name=f"地{NUL}块")),
    control("json_parcel_crs_nul", "POST", PARCELS, parcel(crs=f"EPSG:4490{NUL}")),
    control("json_parcel_code_nul", "POST", PARCELS, parcel(code=f"{COLLECTIVE}0009{NUL}")),
    control("json_right_holder_nul", "POST", "/api/v1/rights", {"type": "income_share", "holder": f"21{NUL}",
                                                               "shares": 1}),
    control("json_transfer_right_nul", "POST", "/api/v1/transfers", {"kind": "transfer", "right": f"21{NUL}"}),
    control("json_settlement_city_nul", "POST", "/api/v1/settlements", {"person_id": 1, "settled_on": "2020-01-01",
                                                                       "city_code": f"21060{NUL}"}),
    control("json_dispute_claims_nul", "POST", "/api/v1/disputes", {"procedure": "mediation", "claims": f"退{NUL}还"},
            caller="admin"),
    control("json_household_head_name_nul", "POST", HOUSEHOLDS, household(GOOD_ID) | {"address": f"前阳村{NUL}"}),
    control("json_key_nul", "POST", COLLECTIVES, {"code": "21068110100102", f"na{NUL}me": "二组"}),
    control("json_nested_in_list_nul", "POST", MEMBERS, {"person_id": 1, "basis": "original",
                                                        "decided_on": "2020-01-01", "x": [["a", f"b{NUL}"]]}),
    control("json_lone_surrogate_in_a_code", "POST", COLLECTIVES, raw=b'{"code": "2106811010010\\udc00", "name": "x"}'),
    # form fields and file names
    control("form_document_title_nul", "POST", DOCUMENTS, raw=multipart(
        DOC_FORM | {"title": f"决议{NUL}"}, {"file": ("a.pdf", "application/pdf", b"%PDF")}), content_type=MULTIPART),
    control("form_document_kind_nul", "POST", DOCUMENTS, raw=multipart(
        DOC_FORM | {"kind": f"resolution{NUL}"}, {"file": ("a.pdf", "application/pdf", b"%PDF")}),
        content_type=MULTIPART),
    control("form_document_filename_nul", "POST", DOCUMENTS, raw=multipart(
        DOC_FORM, {"file": (f"a{NUL}.pdf", "application/pdf", b"%PDF")}), content_type=MULTIPART),
    control("form_document_filename_soh", "POST", DOCUMENTS, raw=multipart(
        DOC_FORM, {"file": ("a\u0001.pdf", "application/pdf", b"%PDF")}), content_type=MULTIPART),
    control("form_import_collective_nul", "POST", IMPORTS, raw=multipart(
        {"collective": f"{COLLECTIVE}{NUL}"}, {"file": ("layer.geojson", "application/geo+json", b"{}")}),
        content_type=MULTIPART),
    control("form_import_filename_esc", "POST", IMPORTS, raw=multipart(
        {}, {"file": ("layer\u001b.zip", "application/zip", b"PK")}), content_type=MULTIPART),
]


# --- integers beyond their columns --------------------------------------------------------

TOO_BIG = "2147483648"  # PostgreSQL integer ends at 2147483647
HUGE = "9" * 30
BEYOND_BIGINT = str(2**63)


def out_of_range(id, method, path, json=None, status=None, **kw) -> Case:
    """An integer out of its column's range: 404 in a path, else 422."""
    return Case(id, method, path, json, status=status or (422 if json is not None or "?" in path else 404), **kw)


INTEGER_CASES = [
    # path ids (the app's bounded <int:…> converter)
    *[out_of_range(f"path_{name}_{label}", method, path.format(n=value), caller="admin")
      for name, method, path in [
          ("transfer", "GET", "/api/v1/transfers/{n}"),
          ("transfer_payment", "POST", "/api/v1/transfers/{n}/payments"),
          ("transfer_withdraw", "POST", "/api/v1/transfers/{n}/withdraw"),
          ("dispute", "GET", "/api/v1/disputes/{n}"),
          ("dispute_accept", "POST", "/api/v1/disputes/{n}/accept"),
          ("dispute_award_pdf", "GET", "/api/v1/disputes/{n}/award.pdf"),
          ("import", "GET", "/api/v1/imports/{n}"),
          ("import_commit", "POST", "/api/v1/imports/{n}/commit"),
          ("import_report", "GET", "/api/v1/imports/{n}/report.json"),
          ("document", "GET", "/api/v1/documents/{n}"),
          ("termination", "POST", MEMBERS + "/{n}/termination"),
      ]
      for label, value in [("2_31", TOO_BIG), ("zero", "0"), ("30_digits", HUGE), ("fullwidth", "１"),
                           # registry ids: a county's number past 2³¹ − 1, and a county code no county has
                           ("number_2_31", "2106812147483648"), ("county_9", "9106810000000001")]],
    # cursors and other integer query arguments
    out_of_range("transfers_cursor_2_31", "GET", f"/api/v1/transfers?cursor={TOO_BIG}", check=errors_name("cursor")),
    out_of_range("transfers_cursor_10_nines", "GET", "/api/v1/transfers?cursor=9999999999"),
    out_of_range("disputes_cursor_2_31", "GET", f"/api/v1/disputes?cursor={TOO_BIG}", caller="admin",
                 check=errors_name("cursor")),
    out_of_range("members_cursor_2_31", "GET", MEMBERS + f"?cursor={TOO_BIG}", check=errors_name("cursor")),
    out_of_range("imports_cursor_2_31", "GET", f"/api/v1/imports?cursor={TOO_BIG}", check=errors_name("cursor")),
    out_of_range("compliance_cursor_2_31", "GET", f"/api/v1/compliance/settlement-exits?cursor={TOO_BIG}",
                 caller="auditor", check=errors_name("cursor")),
    out_of_range("compliance_window_days_huge", "GET", f"/api/v1/compliance/settlement-exits?window_days={HUGE}",
                 caller="auditor"),
    out_of_range("disputes_within_huge", "GET", f"/api/v1/disputes?within={HUGE}", caller="admin"),
    out_of_range("parcels_limit_2_31", "GET", PARCELS + f"?limit={TOO_BIG}"),
    out_of_range("ledger_after_beyond_bigint", "GET", f"/api/v1/ledger/{COUNTY}?after={BEYOND_BIGINT}",
                 caller="admin"),
    out_of_range("ledger_inclusion_seq_beyond_bigint", "GET",
                 f"/api/v1/ledger/{COUNTY}/proof/inclusion?seq={BEYOND_BIGINT}", caller="admin"),
    out_of_range("ledger_consistency_to_beyond_bigint", "GET",
                 f"/api/v1/ledger/{COUNTY}/proof/consistency?from=1&to={BEYOND_BIGINT}", caller="admin"),
    out_of_range("ledger_checkpoint_size_beyond_bigint", "GET",
                 f"/api/v1/ledger/{COUNTY}/checkpoint?size={BEYOND_BIGINT}", caller="admin"),
    out_of_range("household_history_after_beyond_bigint", "GET",
                 f"/api/v1/households/{{household}}/history?after={BEYOND_BIGINT}"),
    out_of_range("ogc_offset_huge", "GET", f"/ogc/collections/parcels/items?offset={HUGE}", status=400),
    out_of_range("ogc_limit_huge", "GET", f"/ogc/collections/parcels/items?limit={HUGE}", status=400),
    # JSON ids (the Id field)
    out_of_range("member_person_id_2_31", "POST", MEMBERS, {"person_id": 2**31, "basis": "original",
                                                           "decided_on": "2020-01-01"}, check=errors_name("person_id")),
    out_of_range("member_resolution_document_2_31", "POST", MEMBERS, {
        "person_id": 1, "basis": "original", "decided_on": "2020-01-01", "resolution_document": 2**31},
        check=errors_name("resolution_document")),
    out_of_range("settlement_person_id_2_63", "POST", "/api/v1/settlements", {
        "person_id": 2**63, "settled_on": "2020-01-01", "city_code": "210602"}, check=errors_name("person_id")),
    out_of_range("house_disposal_document_2_31", "POST", "/api/v1/households/{household}/house-disposals", {
        "kind": "sold", "occurred_on": "2020-01-01", "document": 2**31}, check=errors_name("document")),
    out_of_range("homestead_approval_document_2_31", "POST", "/api/v1/rights", {
        "type": "homestead", "holder": "210681101001010001", "parcel": "2106811010010100001",
        "approved_on": "2020-01-01", "approval_document": 2**31}, check=errors_name("approval_document")),
    out_of_range("transfer_consent_signer_2_31", "POST", "/api/v1/transfers", {
        "kind": "exit", "right": "210681101001010001J", "from": "210681101001010001", "price": "100",
        "consent": {"signed_by_person_id": 2**31, "signed_on": "2020-01-01", "voluntary": True}},
        check=errors_name("signed_by_person_id")),
]


# --- implausible parcels and money --------------------------------------------------------

def box(west, south, east, north) -> dict:
    return polygon([[west, south], [east, south], [east, north], [west, north], [west, south]])


PLAUSIBILITY_CASES = [
    bad_geometry("parcel_spanning_100_to_125_e", box(100.0, 39.0, 125.0, 40.0), rule="PARCEL_IMPLAUSIBLE",
                 check=reason_is("spans_zones")),
    bad_geometry("sliver_across_three_zones", box(119.0, 39.9, 125.0, 39.90001), rule="PARCEL_IMPLAUSIBLE",
                 check=reason_is("spans_zones")),
    # a field's shape, 1,800 km from the county's parcels (Chengdu): a wrong coordinate, not its land
    bad_geometry("parcel_outside_the_county_zone", box(104.06, 30.65, 104.062, 30.6515), rule="PARCEL_IMPLAUSIBLE",
                 check=reason_is("outside_county_zone")),
    bad_geometry("parcel_of_12_km2", box(LON, LAT, LON + 0.041, LAT + 0.0315), rule="PARCEL_IMPLAUSIBLE",
                 check=reason_is("area_too_large")),
]

PLAUSIBILITY_CASES += [
    post(f"transfer_price_{label}", "/api/v1/transfers", {
        "kind": "exit", "right": "210681101001010001J", "from": "210681101001010001", "price": price,
        "consent": {"signed_by_person_id": 1, "signed_on": "2020-01-01", "voluntary": True}},
        check=errors_name("price"))
    for label, price in [("fullwidth_digits", "１００"), ("number", 100), ("exponent", "1e2"), ("negative", "-100"),
                         ("three_decimals", "1.005"), ("13_digits", "1234567890123")]
]


CASES = (GEOMETRY_CASES + PARCEL_FIELD_CASES + COLLECTIVE_CASES + HOUSEHOLD_CASES + MEMBERSHIP_CASES
         + ACCESS_CASES + QUERY_CASES + TRANSPORT_CASES + FORM_CASES + CONTROL_CASES + INTEGER_CASES
         + PLAUSIBILITY_CASES)


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug and not case.bug_on else []
    return pytest.param(case, id=case.id, marks=marks)


# --- helpers ------------------------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def world(clerk, make_parcel, make_household):
    """A collective with one parcel and one household whose head is a member."""
    parcel_code = make_parcel()["id"]
    h = make_household(collective=COLLECTIVE)
    person = h["members"][0]["id"]
    r = clerk.post(MEMBERS, json={"person_id": person, "basis": "original", "decided_on": "2020-01-01"})
    assert r.status_code == 201, r.get_json()
    return {"parcel": parcel_code, "household": h["code"], "person": person}


def snapshot(admin, uow_factory) -> dict:
    """Ledger size of the county and row counts of every registry table."""
    ledger = admin.get(f"/api/v1/ledger/{COUNTY}")
    assert ledger.status_code == 200
    with uow_factory(write=False) as uow:
        counts = {m.__tablename__: uow.session.scalar(select(func.count()).select_from(m)) for m in STORED}
    return {"ledger_size": ledger.get_json()["size"], **counts}


def send(callers, method, path, *, json_body=None, raw=None, content_type="application/json",
         caller="clerk", headers=None):
    client = callers["admin"].client
    headers = dict(headers or {})
    if caller:
        headers.setdefault("Authorization", f"Bearer {callers[caller].token}")
    kw = {}
    if json_body is not None:
        kw["json"] = json_body
    elif raw is not None:
        kw.update(data=raw() if callable(raw) else raw, content_type=content_type)
    return client.open(path, method=method, headers=headers, **kw)


def assert_error_shape(body, status: int) -> None:
    assert isinstance(body, dict), body
    assert body["code"] == status
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and CJK.search(body["message"]), body["message"]


# --- tests --------------------------------------------------------------------------------

def test_corpus_is_large_and_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) >= 45 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_request_is_refused_and_stores_nothing(case: Case, request, database_url, app, callers, admin,
                                                      world, uow_factory):
    database = "sqlite" if database_url.startswith("sqlite") else "postgis"
    if case.bug and case.bug_on == database:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=case.bug))
    for method, path, body, headers in case.before:
        first = send(callers, method, path.format(**world), json_body=body, headers=headers)
        assert first.status_code in (200, 201), first.get_json()
    before = snapshot(admin, uow_factory)

    r = send(callers, case.method, case.path.format(**world), json_body=case.json, raw=case.raw,
             content_type=case.content_type, caller=case.caller, headers=case.headers)
    body = r.get_json(silent=True)

    assert r.status_code == case.status, body
    assert_error_shape(body, case.status)
    if case.rule:
        assert body.get("rule") == case.rule, body
        if RULES[case.rule].basis:
            assert body.get("basis") == RULES[case.rule].basis, body
    if case.check:
        case.check(body, world)
    assert snapshot(admin, uow_factory) == before, "a refused request stored something"
    health = app.test_client().get("/api/v1/health")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"


BOW_TIE = with_geometry(polygon(pts((0, 0), (1, 1), (1, 0), (0, 1), (0, 0))))


def test_rule_violation_message_is_english_on_request(clerk, world):
    zh = clerk.post(PARCELS, json=BOW_TIE).get_json()
    en = clerk.post(PARCELS, json=BOW_TIE, headers={"Accept-Language": "en"}).get_json()
    assert zh["rule"] == en["rule"] == "GEOMETRY_INVALID" and en["basis"] == zh["basis"]
    assert CJK.search(zh["message"])
    assert en["message"].isascii() and en["message"].startswith("Parcel geometry is invalid")


@pytest.mark.parametrize("path, body, zh_words, en_words", [
    (PARCELS, BOW_TIE, "自相交", "crosses itself"),
    (HOUSEHOLDS, household(BAD_CHECK), "校验码", "check digit"),
], ids=["bow_tie", "id_check_digit"])
def test_rule_violation_message_explains_the_reason(clerk, world, path, body, zh_words, en_words):
    zh = clerk.post(path, json=body).get_json()
    en = clerk.post(path, json=body, headers={"Accept-Language": "en"}).get_json()
    assert zh_words in zh["message"] and en_words in en["message"]


# --- what the edge must still let through, and documents that always read back -------------

def test_tab_lf_and_cr_in_json_strings_pass_the_edge(clerk, world):
    """Escaped as clients like Python's json send them (``\\uXXXX``), so the edge reads every string."""
    r = clerk.post(f"/api/v1/households/{world['household']}/house-disposals",
                   data=b'{"kind": "rented_out", "occurred_on": "2020-01-01", "note": "a\\u0009b\\u000d\\u000ac"}',
                   content_type="application/json")
    assert r.status_code == 422 and "note" in r.get_json()["errors"], r.get_json()  # the schema's refusal
    assert r.get_json().get("rule") != "CONTROL_CHARACTERS"
    made = clerk.post(COLLECTIVES, data=b'{"code": "21068110100102", "name": "\\u4e8c\\u7ec4\\u000a"}',
                      content_type="application/json")
    assert made.status_code == 201 and made.get_json()["name"] == "二组"


def test_a_parcel_straddling_a_zone_boundary_is_registered(clerk, world):
    """124.5°E divides the zones of 123°E and 126°E inside Dandong; a field across it is a field."""
    r = clerk.post(PARCELS, json=parcel(geometry=box(124.4996, 39.95, 124.5004, 39.9505)))
    assert r.status_code == 201, r.get_json()
    assert 3000 < r.get_json()["properties"]["area_m2"] < 4000


@pytest.mark.parametrize("sent, stored", [
    ("application/pdf\x00", "application/octet-stream"),
    ("text/plain\x01", "application/octet-stream"),
    ("image/png\x7f", "application/octet-stream"),
    ("application/pdf; name=\"x\x01\"", "application/pdf"),
    ("Application/PDF; charset=binary", "application/pdf"),
    ("image/svg+xml", "image/svg+xml"),
    ("pdf", "application/octet-stream"),
    ("text/" + "x" * 200, "application/octet-stream"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
], ids=["nul", "soh", "del", "bad_parameter_dropped", "uppercase", "svg", "no_subtype", "too_long", "docx"])
def test_a_document_stores_only_a_valid_media_type_and_always_reads_back(clerk, world, sent, stored):
    body = multipart(DOC_FORM, {"file": ("决议.pdf", sent, b"%PDF-1.4 evidence")})
    r = clerk.post(DOCUMENTS, data=body, content_type=MULTIPART)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["content_type"] == stored
    download = clerk.get(f"{DOCUMENTS}/{r.get_json()['id']}")
    data = download.get_data()
    download.close()
    assert download.status_code == 200 and data == b"%PDF-1.4 evidence"
    assert download.mimetype == stored
    for value in download.headers.values():
        wsgiref_header_ok(value)


def wsgiref_header_ok(value: str) -> None:
    """What a WSGI server checks before it sends a header (wsgiref.validate: no control characters)."""
    assert value.isascii() and not re.search(r"[\x00-\x1f\x7f]", value), repr(value)


def test_a_document_stored_with_a_bad_media_type_is_served_as_octet_stream(clerk, world, uow_factory):
    r = clerk.post(DOCUMENTS, data=multipart(DOC_FORM, {"file": ("a.pdf", "application/pdf", b"%PDF")}),
                   content_type=MULTIPART)
    doc = r.get_json()["id"]
    with uow_factory() as uow:  # a value stored before uploads were checked
        uow.session.get(Document, row_key(doc)).content_type = "text/plain\x01"
        uow.commit()
    download = clerk.get(f"{DOCUMENTS}/{doc}")
    download.close()
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("name", ['决议 "最终"; 版.pdf', "a;b=c.pdf", "back\\slash.pdf", "..%2F..%2Fetc.pdf"])
def test_a_document_name_survives_content_disposition(clerk, world, name):
    from werkzeug.http import parse_options_header

    r = clerk.post(DOCUMENTS, data=multipart(DOC_FORM, {"file": (name, "application/pdf", b"%PDF")}),
                   content_type=MULTIPART)
    assert r.status_code == 201, r.get_json()
    download = clerk.get(f"{DOCUMENTS}/{r.get_json()['id']}")
    download.close()
    disposition = download.headers["Content-Disposition"]
    wsgiref_header_ok(disposition)
    kind, options = parse_options_header(disposition)
    assert kind == "attachment" and options["filename"] == r.get_json()["filename"]
