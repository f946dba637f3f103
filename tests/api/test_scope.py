"""Scope: a user scoped to one villager group reads and acts on that group's cases and documents only, on both
engines. A case belongs to the divisions of its parties and subjects, a document to what it is attached to
(or, before that, to its uploader's scope); a scope that does not cover them answers 404, whatever the role."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from app.auth.services import SYSTEM, common_division, create_user
from app.disputes.routes import STEPS
from tests.api.test_disputes import TODAY
from tests.conftest import COLLECTIVE, COUNTY, Caller

GROUP_A = COLLECTIVE  # 21068110100101
GROUP_B = "21068110100102"
VILLAGE = GROUP_A[:12]
ROLES = ("clerk", "auditor", "arbitrator", "exchange")
#: a body each step's schema accepts, so that what refuses it is the scope, not the request's shape
STEP_BODIES = {
    "accept": {"on": "2025-09-29"},
    "reject": {"on": "2025-09-29", "grounds": "不属于本委员会受理范围"},
    "service": {"document": "application_copy", "on": "2025-09-30"},
    "defence": {"on": "2025-10-09", "summary": "答辩"},
    "tribunal": {"formed_on": "2025-10-10", "presiding": "赵仲裁",
                 "arbitrators": [{"name": n, "chosen_by": "both"} for n in ("赵仲裁", "钱仲裁", "孙仲裁")]},
    "recusal": {"on": "2025-10-11", "arbitrator": "钱仲裁", "requested_by": "applicant", "grounds": "亲属",
                "decision": "refused", "decided_by": "主任"},
    "hearings": {"on": "2025-10-20", "place": "仲裁庭", "notified_on": "2025-10-13"},
    "freeze": {"on": "2025-10-12", "grounds": "维持现状"},
    "extend": {"days": 10, "approved_on": "2025-11-01", "approved_by": "主任", "reason": "案情复杂"},
    "mediation-agreement": {"on": "2025-10-20", "terms": "和解", "signed_by_applicant": True,
                            "signed_by_respondent": True, "mediator": "仲裁庭"},
    "award": {"on": "2025-10-21", "result": "驳回", "reasons": "理由", "majority": ["赵仲裁", "钱仲裁"]},
    "lawsuit": {"filed_on": "2025-10-25", "by": "respondent", "court": "东港市人民法院"},
    "withdraw": {"on": "2025-10-01", "reason": "和解"},
    "finalize": {"on": "2025-12-01"},
}


def test_every_step_has_a_body_in_the_matrix():
    assert set(STEP_BODIES) == set(STEPS)


def test_a_cases_division_is_the_common_prefix_of_its_codes_cut_to_the_group():
    assert common_division(["210681101001010001", "210681101001010002J", "2106811010010100005"]) == GROUP_A
    assert common_division(["210681101001010001", "210681101001020001"]) == "2106811010010"
    assert common_division(["210681101001010001", "210681102001010001"]) == "21068110"


def _user(uow_factory, client, role: str, scope: str) -> Caller:
    user = create_user(uow_factory(), actor=SYSTEM, name=f"{role}@{scope}", role=role, scope=scope)
    return Caller(client, user["token"])


@pytest.fixture
def scoped(app, uow_factory):
    """A user of each role scoped to group A, to the village and to the county, and a clerk of group B."""
    client = app.test_client()
    out = {(role, where): _user(uow_factory, client, role, scope) for role in ROLES
           for where, scope in (("A", GROUP_A), ("village", VILLAGE), ("county", COUNTY))}
    out["clerk", "B"] = _user(uow_factory, client, "clerk", GROUP_B)
    return out


def upload(caller: Caller, data: bytes = b"%PDF-1.4 evidence", **form):
    fields = {"kind": "evidence", "title": "证据", **form, "file": (io.BytesIO(data), "evidence.pdf")}
    return caller.client.post("/api/v1/documents", data=fields, content_type="multipart/form-data",
                              headers={"Authorization": f"Bearer {caller.token}"})


@pytest.fixture
def groups(clerk, make_collective, make_household, make_parcel):
    """Groups A and B of one village, each with two households, the first holding a parcel under contract."""
    make_collective(code=GROUP_B, name="前阳村第二村民小组")  # group A's comes with its first household
    out = {}
    for name, (group, x) in {"A": (GROUP_A, 0), "B": (GROUP_B, 1000)}.items():
        first, second = make_household(collective=group), make_household(collective=group)
        parcel = make_parcel(x, 0, collective=group)["id"]
        r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": first["code"], "parcels": [parcel],
                                               "start": "2018-01-01", "end": "2047-12-31"})
        assert r.status_code == 201, r.get_json()
        out[name] = {"first": first, "second": second, "parcel": parcel, "right": r.get_json()["id"]}
    return out


def case_of(g: dict, other: dict | None = None, **over) -> dict:
    """An application of ``g``'s first household against its second (or ``other``'s first)."""
    respondent = (other or {"first": g["second"]})["first"]
    return {"procedure": "arbitration", "category": "infringement",
            "applicant": {"kind": "household", "code": g["first"]["code"]},
            "respondent": {"kind": "household", "code": respondent["code"]},
            "subjects": {"rights": [g["right"]], "parcels": [g["parcel"]]}, "claims": "请求停止侵害",
            "knew_of_harm_on": "2025-08-01", "received_on": "2025-09-26"} | over


def transfer_of(g: dict) -> dict:
    return {"kind": "transfer", "right": g["right"], "from": g["first"]["code"], "to": g["second"]["code"],
            "parcels": [g["parcel"]], "price": "1000.00",
            "consent": {"signed_by_person_id": g["first"]["members"][0]["id"], "signed_on": TODAY.isoformat(),
                        "voluntary": True}}


@pytest.fixture
def group_b_case(callers, groups):
    """Group B's accepted case, freezing its right and parcel, with an evidence document the county's
    arbitrator uploaded and attached to it."""
    arbitrator = callers["arbitrator"]
    doc = upload(arbitrator).get_json()
    r = arbitrator.post("/api/v1/disputes", json=case_of(groups["B"], freeze=True, documents=[doc["id"]]))
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert arbitrator.post(f"/api/v1/disputes/{d['id']}/accept", json={"on": "2025-09-29"}).status_code == 200
    return {"case": d["id"], "document": doc["id"]}


def status(caller: Caller, path: str) -> int:
    """A GET's status, its file closed (a document is sent as a file)."""
    r = caller.get(path)
    r.close()
    return r.status_code


def ledger_size(callers) -> int:
    return callers["auditor"].get(f"/api/v1/ledger/{COUNTY}?limit=1").get_json()["size"]


@pytest.mark.parametrize("role", ROLES)
def test_a_group_scoped_user_finds_nothing_of_another_groups_case_and_the_county_sees_it(
        callers, groups, group_b_case, scoped, role):
    case, doc = group_b_case["case"], group_b_case["document"]
    url = f"/api/v1/disputes/{case}"
    before, size = callers["arbitrator"].get(url).get_json(), ledger_size(callers)
    frozen = callers["clerk"].post("/api/v1/transfers", json=transfer_of(groups["B"]))
    assert frozen.get_json()["rule"] == "RIGHT_IN_DISPUTE"
    mine = scoped[role, "A"]
    # read, PDFs, the document: not found
    for path in (url, f"{url}/acceptance-notice.pdf", f"{url}/award.pdf", f"/api/v1/documents/{doc}"):
        assert status(mine, path) == 404, path
    # listed: absent (a role that reads no case is refused the list, scoped or not)
    listed = mine.get("/api/v1/disputes")
    if role == "exchange":
        assert listed.status_code == 403
    else:
        assert listed.status_code == 200 and listed.get_json()["items"] == []
    # every step: not found, and neither the case, its freeze nor the ledger moves
    for step, body in STEP_BODIES.items():
        r = mine.post(f"{url}/{step}", json=body)
        assert r.status_code == 404, (step, r.get_json())
    assert callers["arbitrator"].get(url).get_json() == before and ledger_size(callers) == size
    assert callers["clerk"].post("/api/v1/transfers", json=transfer_of(groups["B"])).get_json()["rule"] \
        == "RIGHT_IN_DISPUTE"
    # the same role scoped to the county finds them (and acts only if it is the committee's)
    county = scoped[role, "county"]
    assert status(county, f"/api/v1/documents/{doc}") == 200
    if role == "exchange":  # it reads no case: refused, not hidden
        assert county.get(url).status_code == 403 and county.get("/api/v1/disputes").status_code == 403
        assert county.post(f"{url}/reject", json=STEP_BODIES["reject"]).status_code == 403
        return
    assert county.get(url).get_json() == before
    assert [x["id"] for x in county.get("/api/v1/disputes").get_json()["items"]] == [case]
    notice = county.get(f"{url}/acceptance-notice.pdf")
    assert notice.status_code == 200 and notice.mimetype == "application/pdf"
    assert county.get(f"{url}/award.pdf").get_json()["rule"] == "DISPUTE_STEP_ORDER"  # found: no award yet
    if role != "arbitrator":
        assert county.post(f"{url}/reject", json=STEP_BODIES["reject"]).status_code == 403
        return
    assert county.post(f"{url}/withdraw", json=STEP_BODIES["withdraw"]).get_json()["status"] == "withdrawn"
    assert callers["clerk"].post("/api/v1/transfers", json=transfer_of(groups["B"])).status_code == 201


def test_a_group_arbitrator_can_neither_accept_nor_reject_another_groups_case_nor_lift_its_freeze(
        callers, groups, scoped):
    arbitrator, mine = callers["arbitrator"], scoped["arbitrator", "A"]
    case = arbitrator.post("/api/v1/disputes", json=case_of(groups["B"], freeze=True)).get_json()
    size = ledger_size(callers)
    for step, body in (("accept", STEP_BODIES["accept"]), ("reject", STEP_BODIES["reject"])):
        assert mine.post(f"/api/v1/disputes/{case['id']}/{step}", json=body).status_code == 404
    assert arbitrator.get(f"/api/v1/disputes/{case['id']}").get_json()["status"] == "received"
    assert ledger_size(callers) == size
    assert callers["clerk"].post("/api/v1/transfers", json=transfer_of(groups["B"])).get_json()["rule"] \
        == "RIGHT_IN_DISPUTE"
    # its own group's case it runs from the application on
    own = mine.post("/api/v1/disputes", json=case_of(groups["A"], freeze=True))
    assert own.status_code == 201, own.get_json()
    r = mine.post(f"/api/v1/disputes/{own.get_json()['id']}/reject", json=STEP_BODIES["reject"])
    assert r.status_code == 200 and r.get_json()["freeze"] is False


def test_a_case_between_two_groups_belongs_to_their_village(callers, groups, scoped):
    arbitrator = callers["arbitrator"]
    mixed = arbitrator.post("/api/v1/disputes", json=case_of(groups["A"], other=groups["B"])).get_json()
    own = arbitrator.post("/api/v1/disputes", json=case_of(groups["A"])).get_json()
    url = f"/api/v1/disputes/{mixed['id']}"
    assert status(scoped["arbitrator", "A"], url) == 404  # its respondent is of group B
    assert scoped["arbitrator", "A"].post(f"{url}/accept", json=STEP_BODIES["accept"]).status_code == 404
    assert status(scoped["auditor", "village"], url) == 200
    assert [x["id"] for x in scoped["auditor", "A"].get("/api/v1/disputes").get_json()["items"]] == [own["id"]]
    assert [x["id"] for x in scoped["auditor", "village"].get("/api/v1/disputes").get_json()["items"]] == [
        mixed["id"], own["id"]]
    # a right of group B among the subjects makes a group-A applicant's case the village's too
    subjects = {"rights": [groups["A"]["right"], groups["B"]["right"]], "parcels": []}
    both = arbitrator.post("/api/v1/disputes", json=case_of(groups["A"], subjects=subjects)).get_json()
    assert scoped["clerk", "A"].get(f"/api/v1/disputes/{both['id']}").status_code == 404
    assert scoped["clerk", "village"].get(f"/api/v1/disputes/{both['id']}").status_code == 200


def test_a_group_arbitrator_cannot_open_a_case_naming_another_groups_household_or_subjects(
        callers, groups, scoped):
    mine, size = scoped["arbitrator", "A"], ledger_size(callers)
    for application in (case_of(groups["A"], other=groups["B"]), case_of(groups["B"]),
                        case_of(groups["A"], subjects={"rights": [groups["B"]["right"]]}),
                        case_of(groups["A"], subjects={"parcels": [groups["B"]["parcel"]]})):
        r = mine.post("/api/v1/disputes", json=application)
        assert r.status_code == 404, r.get_json()
    assert ledger_size(callers) == size
    assert callers["arbitrator"].get("/api/v1/disputes").get_json()["items"] == []


def test_the_dashboard_pages_through_the_cases_a_scope_covers_only(callers, groups, scoped):
    arbitrator = callers["arbitrator"]
    ids = {"A": [], "B": []}
    for n in range(6):
        g = "AB"[n % 2]
        ids[g].append(arbitrator.post("/api/v1/disputes", json=case_of(groups[g])).get_json()["id"])
    mine, seen, cursor = scoped["auditor", "A"], [], None
    for _ in range(5):
        page = mine.get("/api/v1/disputes?limit=1" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids["A"]
    overdue = [x["id"] for x in mine.get("/api/v1/disputes?overdue=true").get_json()["items"]]
    assert overdue == (ids["A"] if TODAY.isoformat() > "2025-10-10" else [])


def test_an_unattached_document_belongs_to_its_uploaders_scope(callers, groups, scoped):
    doc = upload(scoped["clerk", "A"]).get_json()
    assert doc["county"] == COUNTY
    url = f"/api/v1/documents/{doc['id']}"
    for role in ROLES:
        assert status(scoped[role, "A"], url) == 200, role
        assert status(scoped[role, "county"], url) == 200, role
    assert status(scoped["clerk", "B"], url) == 404
    # nor can group B attach it to one of its own
    r = scoped["clerk", "B"].post(f"/api/v1/collectives/{GROUP_B}/members", json={
        "person_id": groups["B"]["first"]["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01",
        "resolution_document": doc["id"]})
    assert r.status_code == 404


def test_a_document_belongs_to_what_it_is_attached_to(callers, groups, scoped):
    clerk = callers["clerk"]
    doc = upload(clerk, kind="resolution").get_json()  # the county's clerk: a county document
    url = f"/api/v1/documents/{doc['id']}"
    assert status(scoped["clerk", "B"], url) == 404 and status(scoped["clerk", "A"], url) == 404
    r = clerk.post(f"/api/v1/collectives/{GROUP_B}/members", json={
        "person_id": groups["B"]["first"]["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01",
        "resolution_document": doc["id"]})
    assert r.status_code == 201, r.get_json()
    # group B's resolution now: its group reads it, the other does not
    for role in ROLES:
        assert status(scoped[role, "A"], url) == 404, role
    assert status(scoped["clerk", "B"], url) == 200
    # attached to group A's too, it is the village's: only a scope covering both groups reads it
    r = clerk.post(f"/api/v1/collectives/{GROUP_A}/members", json={
        "person_id": groups["A"]["first"]["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01",
        "resolution_document": doc["id"]})
    assert r.status_code == 201, r.get_json()
    assert status(scoped["clerk", "B"], url) == 404 and status(scoped["clerk", "A"], url) == 404
    assert status(scoped["clerk", "village"], url) == 200


def test_a_refused_step_leaves_its_evidence_where_it_was(callers, groups, scoped):
    arbitrator = callers["arbitrator"]
    case = arbitrator.post("/api/v1/disputes", json=case_of(groups["B"])).get_json()
    doc = upload(arbitrator).get_json()
    # refused (dated before the application): the document is not the case's
    r = arbitrator.post(f"/api/v1/disputes/{case['id']}/accept", json={"on": "2025-09-25", "documents": [doc["id"]]})
    assert r.status_code == 422
    assert status(scoped["clerk", "B"], f"/api/v1/documents/{doc['id']}") == 404
    r = arbitrator.post(f"/api/v1/disputes/{case['id']}/accept", json={"on": "2025-09-29", "documents": [doc["id"]]})
    assert r.status_code == 200
    assert status(scoped["clerk", "B"], f"/api/v1/documents/{doc['id']}") == 200


def test_the_migration_gives_open_cases_and_stored_documents_their_division(database_url):
    import datetime as dt

    import sqlalchemy as sa

    from app.db import make_engine
    from app.migrate import downgrade, upgrade

    columns = ("id", "county_code", "procedure", "category", "claims", "knew_of_harm_on", "received_on",
               "time_barred", "freeze", "status", "events", "extension_days", "record", "opened_by", "ledger_seq")
    disputes = sa.table("disputes", *(sa.column(c) for c in columns),
                        *(sa.column(c, sa.JSON()) for c in ("applicant", "respondent", "rights", "parcels")))
    common = {"county_code": COUNTY, "procedure": "arbitration", "category": "contract", "claims": "c",
              "knew_of_harm_on": dt.date(2025, 1, 1), "received_on": dt.date(2025, 1, 2), "time_barred": False,
              "freeze": False, "status": "received", "events": "{}", "extension_days": 0, "record": "{}",
              "opened_by": "x", "ledger_seq": 1, "rights": [GROUP_A + "0001J"], "parcels": []}
    engine = make_engine(database_url)
    try:
        downgrade(engine, "0011")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO documents (id, county_code, kind, title, filename, content_type, sha256, size, "
                "uploaded_by, created_at, ledger_seq) VALUES (1, :county, 'evidence', 't', 'f', 'x', :sha, 1, 'u', "
                "CURRENT_TIMESTAMP, 1)"), {"county": COUNTY, "sha": "0" * 64})
            conn.execute(disputes.insert(), [
                common | {"id": 1, "applicant": {"kind": "household", "code": GROUP_A + "0001", "name": "甲"},
                          "respondent": {"kind": "outside", "name": "公司"}},
                common | {"id": 2, "applicant": {"kind": "person", "code": "7", "household": GROUP_A + "0001",
                                                 "name": "甲"},
                          "respondent": {"kind": "household", "code": GROUP_B + "0001", "name": "乙"}}])
        upgrade(engine)
        with engine.connect() as conn:
            assert dict(conn.execute(text("SELECT id, division_code FROM disputes ORDER BY id")).all()) == {
                1: GROUP_A, 2: "2106811010010"}
            assert tuple(conn.execute(text("SELECT division_code, attached FROM documents")).one()) == (COUNTY, True)
    finally:
        engine.dispose()


LEDGER_PATHS = ("", "?limit=1", "/verify", "/checkpoint", "/proof/inclusion?seq=1", "/proof/consistency?from=1&to=2")


@pytest.mark.parametrize("role", ["auditor", "arbitrator"])
def test_a_countys_ledger_is_read_only_with_a_scope_covering_the_county(scoped, groups, role):
    """The log is one per county and cannot be cut by group: a narrower scope does not see it at all."""
    for path in LEDGER_PATHS:
        assert status(scoped[role, "county"], f"/api/v1/ledger/{COUNTY}{path}") == 200, path
        for where in ("A", "village"):
            assert status(scoped[role, where], f"/api/v1/ledger/{COUNTY}{path}") == 404, (where, path)
