"""A case from application to enforcement: the steps of an arbitration in their legal order, the rules
that refuse them out of order, freezes and their release, and the registry orders a binding award
executes, on both engines."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from app.ids import number_of, row_key
from tests.api.test_disputes import LAW, TODAY, application, pdf_text, transfer_of
from tests.conftest import COLLECTIVE

ARBITRATORS = [{"name": "赵仲裁", "chosen_by": "both"}, {"name": "钱仲裁", "chosen_by": "applicant"},
               {"name": "孙仲裁", "chosen_by": "respondent"}]


@pytest.fixture
def land(clerk, make_household, make_parcel):
    """Household A holds a1 and a2, household B holds b1, all under contract in one collective."""
    make_parcel(0, 0)
    a, b = make_household(collective=COLLECTIVE), make_household(collective=COLLECTIVE)
    a1, a2, b1 = (make_parcel(x, 0)["id"] for x in (100, 200, 300))
    for household, parcels in ((a, [a1, a2]), (b, [b1])):
        r = clerk.post("/api/v1/rights", json={"type": "contract", "holder": household["code"], "parcels": parcels,
                                               "start": "2018-01-01", "end": "2047-12-31"})
        assert r.status_code == 201, r.get_json()
    return {"a": a, "b": b, "a1": a1, "a2": a2, "b1": b1, "ra": a["code"] + "J", "rb": b["code"] + "J"}


class Case:
    """One case driven through the API by the committee's staff."""

    def __init__(self, callers, land, **over):
        self.arbitrator, self.auditor = callers["arbitrator"], callers["auditor"]
        r = self.arbitrator.post("/api/v1/disputes", json=application(land, **over))
        assert r.status_code == 201, r.get_json()
        self.id = r.get_json()["id"]

    def post(self, step: str, body: dict, status: int = 200) -> dict:
        r = self.arbitrator.post(f"/api/v1/disputes/{self.id}/{step}", json=body)
        assert r.status_code == status, (step, r.get_json())
        return r.get_json()

    def get(self) -> dict:
        return self.arbitrator.get(f"/api/v1/disputes/{self.id}").get_json()

    def refused(self, step: str, body: dict, status: int, rule: str | None) -> dict:
        """The step is refused with ``rule`` and changes neither the case nor the ledger."""
        before, size = self.get(), self.ledger_size()
        out = self.post(step, body, status)
        assert out.get("rule") == rule, out
        assert self.get() == before and self.ledger_size() == size
        return out

    def ledger_size(self) -> int:
        return self.auditor.get("/api/v1/ledger/210681?limit=1").get_json()["size"]

    def to_hearing(self) -> None:
        """Accepted on Monday 29 September 2025, copy served, defence, tribunal formed and notified."""
        self.post("accept", {"on": "2025-09-29"})
        self.post("service", {"document": "application_copy", "on": "2025-09-30"})
        self.post("defence", {"on": "2025-10-09", "summary": "被申请人系经村委会同意耕种"})
        self.post("tribunal", {"formed_on": "2025-10-10", "arbitrators": ARBITRATORS, "presiding": "赵仲裁"})
        self.post("service", {"document": "tribunal_notice", "on": "2025-10-11"})  # an adjusted working Saturday

    def heard(self) -> None:
        # Monday 20 October 2025: notice by Monday 13 October (five working days before)
        self.post("hearings", {"on": "2025-10-20", "place": "长山镇人民政府仲裁庭", "notified_on": "2025-10-13",
                               "last": True})


def move_a1_to_b(land) -> dict:
    return {"type": "move_parcels", "parcels": [land["a1"]], "to_right": land["rb"]}


def test_an_arbitration_runs_from_application_to_an_enforced_award_that_moves_a_parcel(callers, land):
    clerk, auditor = callers["clerk"], callers["auditor"]
    case = Case(callers, land, applicant={"kind": "household", "code": land["b"]["code"]},
                respondent={"kind": "household", "code": land["a"]["code"]}, category="confirmation",
                claims="确认地块 a1 的承包经营权归申请人", freeze=True)
    case.to_hearing()
    d = case.get()
    assert d["deadlines"]["copy_to_respondent"]["pending"] is False
    # formed Friday 10 October 2025; Saturday 11 October was an adjusted working day, so Monday 13 October
    assert d["deadlines"]["tribunal_notice"] == {
        "due_on": "2025-10-13", "basis": f"{LAW} 第二十七条", "what": "将仲裁庭组成情况书面通知当事人",
        "by": "committee", "pending": False, "overdue": False, "assumed_years": []}
    # a recusal before the first hearing, granted: the new arbitrator takes the seat, presiding included
    d = case.post("recusal", {"on": "2025-10-13", "arbitrator": "赵仲裁", "requested_by": "respondent",
                              "grounds": "系申请人近亲属", "decision": "granted", "decided_by": "仲裁委员会主任",
                              "replacement": "李仲裁"})
    assert d["record"]["tribunal"]["presiding"] == "李仲裁"
    assert [a["name"] for a in d["record"]["tribunal"]["arbitrators"]] == ["李仲裁", "钱仲裁", "孙仲裁"]
    case.heard()
    # after the last hearing no recusal, not even for a cause learned late
    case.refused("recusal", {"on": "2025-10-21", "arbitrator": "钱仲裁", "requested_by": "respondent",
                             "grounds": "私自会见当事人", "learned_after_first_hearing": True, "decision": "refused",
                             "decided_by": "仲裁委员会主任"}, 409, "RECUSAL_TOO_LATE")
    award = {"on": "2025-10-24", "result": "地块 a1 的承包经营权归申请人", "reasons": "发包方 2018 年的发包记录",
             "majority": ["李仲裁", "钱仲裁"], "dissent": "孙仲裁认为应维持现状", "orders": [move_a1_to_b(land)]}
    case.refused("award", award | {"majority": ["李仲裁"]}, 422, "AWARD_MAJORITY")
    case.refused("award", award | {"majority": ["李仲裁", "赵仲裁"]}, 422, "AWARD_MAJORITY")  # recused
    d = case.post("award", award)
    assert d["status"] == "awarded" and d["deadlines"]["case_closed"]["pending"] is False
    assert d["deadlines"]["award_served"]["due_on"] == "2025-10-29"  # three working days from Friday 24 October
    # not binding before it is served and the 30 days to sue have passed
    case.refused("finalize", {"on": TODAY.isoformat()}, 409, "AWARD_NOT_BINDING")
    assert clerk.post("/api/v1/transfers", json=transfer_of(land) | {"parcels": [land["a1"]]}) \
        .get_json()["rule"] == "RIGHT_IN_DISPUTE"
    d = case.post("service", {"document": "award", "on": "2025-10-27"})
    assert d["deadlines"]["lawsuit"]["due_on"] == "2025-11-26" and d["deadlines"]["lawsuit"]["by"] == "parties"
    assert (d["binding"], d["binding_on"]) == (True, "2025-11-27")
    case.refused("lawsuit", {"filed_on": "2025-11-27", "by": "respondent", "court": "东港市人民法院"}, 409,
                 "LAWSUIT_PERIOD_OVER")
    case.refused("finalize", {"on": "2025-11-26"}, 422, "DATE_ORDER")
    text = pdf_text(auditor.get(f"/api/v1/disputes/{case.id}/award.pdf"))
    for words in ("裁决书", f"（2025）210681农仲裁字第{number_of(case.id)}号", "地块 a1 的承包经营权归申请人",
                  land["a1"],
                  "首席仲裁员：李仲裁", "孙仲裁认为应维持现状", "自收到裁决书之日起三十日内向人民法院起诉",
                  "2025年10月27日", "2025年11月26日", "第四十八条", "附图"):
        assert words in text, words
    size = case.ledger_size()
    d = case.post("finalize", {"on": "2025-11-28"})
    assert d["status"] == "finalized" and d["freeze"] is False
    # the registry changed exactly as ruled: a1 is on B's contract, a2 stays with A
    assert sorted(p["code"] for p in clerk.get(f"/api/v1/rights/{land['rb']}").get_json()["parcels"]) == \
        sorted([land["a1"], land["b1"]])
    assert [p["code"] for p in clerk.get(f"/api/v1/rights/{land['ra']}").get_json()["parcels"]] == [land["a2"]]
    entries = auditor.get(f"/api/v1/ledger/210681?after={size}&limit=10").get_json()["items"]
    assert [e["kind"] for e in entries] == ["right.parcels_moved", "freeze.lifted", "dispute.finalized"]
    assert entries[0]["body"]["data"]["cause"] == {"dispute": number_of(case.id), "order": 0}
    assert d["record"]["finalized"]["entries"] == [entries[0]["seq"]]
    # the freeze is gone: A may transfer what it kept
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).status_code == 201
    case.refused("finalize", {"on": "2025-11-28"}, 409, "DISPUTE_STEP_ORDER")


def test_an_award_whose_order_the_registry_would_refuse_is_refused_with_that_rule(callers, land, make_collective,
                                                                                  make_household, make_parcel):
    other = make_collective("21068110100102", "前阳村第二村民小组")["code"]
    outsider = make_household(collective=other)
    c1 = make_parcel(400, 0, collective=other)["id"]
    r = callers["clerk"].post("/api/v1/rights", json={"type": "contract", "holder": outsider["code"], "parcels": [c1],
                                                      "start": "2018-01-01", "end": "2047-12-31"})
    assert r.status_code == 201, r.get_json()
    case = Case(callers, land)
    case.to_hearing()
    case.heard()
    award = {"on": "2025-10-24", "result": "x", "reasons": "y", "majority": ["赵仲裁", "钱仲裁"]}
    refusal = case.refused("award", award | {"orders": [
        {"type": "move_parcels", "parcels": [land["a1"]], "to_right": outsider["code"] + "J"}]}, 422,
        "SAME_COLLECTIVE_ONLY")
    assert refusal["basis"].startswith("农村土地承包法")
    case.refused("award", award | {"orders": [{"type": "move_parcels", "parcels": [land["a1"]]}]}, 422, None)
    unknown = {"type": "void_transfer", "transfer": 2106810999999999, "grounds": "胁迫"}
    case.refused("award", award | {"orders": [unknown]},
                 404, None)
    # a refused dry run leaves nothing behind: the next award appends right after the last entry
    size = case.ledger_size()
    case.post("award", award | {"orders": [move_a1_to_b(land)]})
    assert case.ledger_size() == size + 1


@pytest.mark.parametrize("step, body, status, rule", [
    ("award", {"on": "2025-10-24", "result": "x", "reasons": "y", "majority": ["赵仲裁"]}, 409,
     "DISPUTE_STEP_ORDER"),
    ("defence", {"on": "2025-10-09", "summary": "x"}, 409, "DISPUTE_STEP_ORDER"),
    ("hearings", {"on": "2025-10-20", "place": "x", "notified_on": "2025-10-13"}, 409, "DISPUTE_STEP_ORDER"),
    ("finalize", {"on": "2025-11-28"}, 409, "DISPUTE_STEP_ORDER"),
    ("lawsuit", {"filed_on": "2025-11-01", "by": "applicant", "court": "x"}, 409, "DISPUTE_STEP_ORDER"),
    ("service", {"document": "award", "on": "2025-10-27"}, 409, "DISPUTE_STEP_ORDER"),
    ("extend", {"days": 10, "approved_on": "2025-10-01", "approved_by": "x", "reason": "y"}, 409,
     "DISPUTE_STEP_ORDER"),
])
def test_no_step_before_acceptance(callers, land, step, body, status, rule):
    Case(callers, land).refused(step, body, status, rule)


def test_the_tribunal_is_three_arbitrators_or_one_by_agreement(callers, land):
    case = Case(callers, land)
    case.post("accept", {"on": "2025-09-29"})
    assert case.arbitrator.get(f"/api/v1/disputes/{case.id}/award.pdf").get_json()["rule"] == "DISPUTE_STEP_ORDER"
    case.refused("tribunal", {"formed_on": "2025-10-10", "arbitrators": ARBITRATORS[:2], "presiding": "赵仲裁"},
                 422, "TRIBUNAL_COMPOSITION")
    case.refused("tribunal", {"formed_on": "2025-10-10", "arbitrators": ARBITRATORS, "presiding": "周仲裁"},
                 422, "TRIBUNAL_COMPOSITION")
    case.refused("tribunal", {"formed_on": "2025-10-10", "arbitrators": ARBITRATORS[:1]}, 422, "TRIBUNAL_COMPOSITION")
    case.refused("tribunal", {"formed_on": "2025-09-28", "arbitrators": ARBITRATORS[:1], "sole_by_agreement": True},
                 422, "DATE_ORDER")
    d = case.post("tribunal", {"formed_on": "2025-10-10", "arbitrators": ARBITRATORS[:1], "sole_by_agreement": True})
    assert d["record"]["tribunal"]["presiding"] == "赵仲裁"
    assert d["deadlines"]["tribunal_notice"]["due_on"] == "2025-10-13" and d["deadlines"]["tribunal_notice"]["overdue"]
    case.refused("tribunal", {"formed_on": "2025-10-10", "arbitrators": ARBITRATORS, "presiding": "赵仲裁"},
                 409, "DISPUTE_STEP_ORDER")


def test_hearings_need_five_working_days_notice_and_recusal_comes_before_them(callers, land):
    case = Case(callers, land)
    case.to_hearing()
    # Tuesday 21 October 2025: five working days before is Tuesday 14 October
    case.refused("hearings", {"on": "2025-10-21", "place": "x", "notified_on": "2025-10-15"}, 422,
                 "HEARING_NOTICE_SHORT")
    d = case.post("hearings", {"on": "2025-10-21", "place": "镇政府", "notified_on": "2025-10-14",
                               "respondent_present": False})
    assert d["record"]["hearings"][0]["respondent_present"] is False and d["events"]["first_hearing"] == "2025-10-21"
    recusal = {"on": "2025-10-22", "arbitrator": "钱仲裁", "requested_by": "respondent", "grounds": "私自会见当事人",
               "decision": "refused", "decided_by": "仲裁委员会主任"}
    case.refused("recusal", recusal, 409, "RECUSAL_TOO_LATE")
    # a cause learned after the first hearing may be raised until the last one ends
    d = case.post("recusal", recusal | {"learned_after_first_hearing": True})
    assert d["record"]["recusals"][0]["decision"] == "refused"
    case.refused("hearings", {"on": "2025-10-21", "respondent_present": True}, 409, "DISPUTE_STEP_ORDER")
    # a hearing to come is scheduled with its notice; attendance waits for the day
    ahead = TODAY + dt.timedelta(days=20)
    case.refused("hearings", {"on": ahead.isoformat(), "place": "x", "notified_on": TODAY.isoformat(),
                              "applicant_present": True}, 422, "DATE_ORDER")
    d = case.post("hearings", {"on": ahead.isoformat(), "place": "村委会", "notified_on": TODAY.isoformat()})
    assert [h["held"] for h in d["record"]["hearings"]] == [True, False]
    # the respondent, notified in writing, stayed away: an award by default
    award = {"on": "2025-10-24", "result": "x", "reasons": "y", "majority": ["赵仲裁", "钱仲裁"], "by_default": True}
    assert case.post("award", award)["record"]["award"]["by_default"] is True


def test_an_award_by_default_needs_the_missed_hearing(callers, land):
    case = Case(callers, land)
    case.to_hearing()
    case.heard()
    case.refused("award", {"on": "2025-10-24", "result": "x", "reasons": "y", "majority": ["赵仲裁", "钱仲裁"],
                           "by_default": True}, 422, "ABSENCE_NOT_RECORDED")
    case.refused("award", {"on": "2025-10-19", "result": "x", "reasons": "y", "majority": ["赵仲裁", "钱仲裁"]},
                 422, "DATE_ORDER")


def test_the_sixty_days_extend_once_by_at_most_thirty(callers, land):
    case = Case(callers, land)
    case.post("accept", {"on": "2025-09-29"})
    body = {"approved_on": "2025-11-20", "approved_by": "仲裁委员会主任", "reason": "需要实地测绘"}
    case.refused("extend", body | {"days": 31}, 422, "DEADLINE_EXTENSION_EXCEEDED")
    case.refused("extend", body | {"days": 10, "approved_on": "2025-12-01"}, 422, "DATE_ORDER")  # ran out 28 Nov
    d = case.post("extend", body | {"days": 30})
    # 60 days from 29 September end Friday 28 November; 90 days on Sunday 28 December move to Monday 29 December
    assert d["deadlines"]["case_closed"]["due_on"] == "2025-12-29" and d["extension_days"] == 30
    out = case.refused("extend", body | {"days": 1}, 422, "DEADLINE_EXTENSION_EXCEEDED")
    assert out["basis"] == f"{LAW} 第四十七条"


def test_a_mediation_agreement_binds_when_both_parties_and_the_mediator_signed(callers, land):
    clerk = callers["clerk"]
    case = Case(callers, land, procedure="mediation", category="contract", freeze=True,
                mediator={"body": "village_committee", "name": "前阳村人民调解委员会"})
    assert case.get()["record"]["mediator"] == {"body": "village_committee", "name": "前阳村人民调解委员会"}
    agreement = {"on": "2025-10-15", "terms": "双方同意地块 a1 由乙户承包", "signed_by_applicant": True,
                 "signed_by_respondent": False, "mediator": "前阳村人民调解委员会 张调解",
                 "orders": [move_a1_to_b(land)]}
    case.refused("accept", {"on": "2025-09-29"}, 409, "DISPUTE_STEP_ORDER")  # a mediation is not accepted
    case.refused("mediation-agreement", agreement, 422, "AGREEMENT_UNSIGNED")
    case.refused("mediation-agreement", agreement | {"signed_by_respondent": True, "on": "2025-09-25"}, 422,
                 "DATE_ORDER")
    d = case.post("mediation-agreement", agreement | {"signed_by_respondent": True})
    assert (d["status"], d["binding"], d["binding_on"], d["deadlines"]) == ("mediated", True, "2025-10-15", {})
    d = case.post("finalize", {"on": "2025-10-16"})
    assert d["status"] == "finalized"
    assert land["a1"] in [p["code"] for p in clerk.get(f"/api/v1/rights/{land['rb']}").get_json()["parcels"]]
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).status_code == 201


def test_an_interim_freeze_holds_until_the_applicant_withdraws(callers, land):
    clerk = callers["clerk"]
    case = Case(callers, land)
    case.refused("freeze", {"on": "2025-10-10", "grounds": "防止转让"}, 409, "DISPUTE_STEP_ORDER")  # no tribunal
    case.to_hearing()
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).status_code == 201  # not frozen yet
    r = clerk.get(f"/api/v1/transfers?right={land['ra']}").get_json()["items"][0]
    assert clerk.post(f"/api/v1/transfers/{r['id']}/withdraw").status_code == 200
    out = case.refused("freeze", {"on": "2025-10-12", "grounds": "x", "parcels": [land["b1"]]}, 422,
                       "FREEZE_NOT_IN_DISPUTE")  # not in dispute
    assert "第四十二条" in out["basis"] and out["errors"]["subjects"] == [land["b1"]]
    d = case.post("freeze", {"on": "2025-10-12", "grounds": "申请人申请先行裁定维持现状"})
    assert d["freeze"] is True and d["record"]["freezes"][0]["subjects"] == [land["ra"], land["a1"]]
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).get_json()["rule"] == "RIGHT_IN_DISPUTE"
    case.refused("freeze", {"on": "2025-10-13", "grounds": "x"}, 409, "DISPUTE_STEP_ORDER")  # frozen already
    case.refused("withdraw", {"on": "2025-10-14", "reason": "x", "deemed": True}, 422, "ABSENCE_NOT_RECORDED")
    d = case.post("withdraw", {"on": "2025-10-14", "reason": "双方已自行和解"})
    assert d["status"] == "withdrawn" and d["record"]["withdrawal"]["freeze_lifted"] == [land["ra"], land["a1"]]
    assert all(not x["pending"] for x in d["deadlines"].values())
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).status_code == 201
    case.refused("award", {"on": "2025-10-24", "result": "x", "reasons": "y", "majority": ["赵仲裁", "钱仲裁"]},
                 409, "DISPUTE_STEP_ORDER")


def test_a_withdrawal_leaves_the_counterclaim_to_be_decided(callers, land):
    case = Case(callers, land, freeze=True)
    case.post("accept", {"on": "2025-09-29"})
    case.post("defence", {"on": "2025-10-09", "summary": "x", "counterclaim": "请求确认地块 a1 归被申请人"})
    d = case.post("withdraw", {"on": "2025-10-14", "reason": "撤回仲裁请求"})
    assert (d["status"], d["record"]["withdrawal"]["continues_on_counterclaim"], d["freeze"]) == (
        "accepted", True, True)
    assert d["deadlines"]["case_closed"]["pending"] is True  # the 60 days run on for the counterclaim
    case.refused("withdraw", {"on": "2025-10-15", "reason": "x"}, 409, "DISPUTE_STEP_ORDER")


def test_a_lawsuit_in_time_keeps_the_award_from_binding_and_ends_the_freeze(callers, land):
    clerk = callers["clerk"]
    case = Case(callers, land, freeze=True)
    case.to_hearing()
    case.heard()
    case.post("award", {"on": "2025-10-24", "result": "x", "reasons": "y", "majority": ["赵仲裁", "孙仲裁"],
                        "orders": [move_a1_to_b(land)]})
    case.post("service", {"document": "award", "on": "2025-10-27"})
    d = case.post("lawsuit", {"filed_on": "2025-11-26", "by": "respondent", "court": "东港市人民法院"})
    assert (d["status"], d["binding"], d["binding_on"]) == ("in_court", False, None)
    case.refused("finalize", {"on": "2025-11-28"}, 409, "DISPUTE_STEP_ORDER")
    assert clerk.post("/api/v1/transfers", json=transfer_of(land)).status_code == 201
    assert land["a1"] not in [p["code"] for p in clerk.get(f"/api/v1/rights/{land['rb']}").get_json()["parcels"]]


def test_evidence_documents_attach_to_a_step_and_only_the_committee_acts(callers, land):
    arbitrator, clerk = callers["arbitrator"], callers["clerk"]
    case = Case(callers, land)
    doc = arbitrator.post("/api/v1/documents", data={"kind": "evidence", "title": "2018年发包记录",
                                                     "file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf")},
                          content_type="multipart/form-data")
    assert doc.status_code == 201, doc.get_json()
    case.refused("accept", {"on": "2025-09-29", "documents": [2106810999999999]}, 404, None)
    with_evidence = arbitrator.post("/api/v1/disputes", json=application(land, documents=[doc.get_json()["id"]]))
    assert with_evidence.get_json()["record"]["application"]["documents"] == [doc.get_json()["id"]]
    assert arbitrator.post("/api/v1/disputes", json=application(land, documents=[2106810999999999])).status_code == 404
    d = case.post("accept", {"on": "2025-09-29", "documents": [doc.get_json()["id"]]})
    assert d["record"]["acceptance"]["documents"] == [doc.get_json()["id"]]
    assert clerk.post(f"/api/v1/disputes/{case.id}/defence", json={"on": "2025-10-09", "summary": "x"}) \
        .status_code == 403
    assert arbitrator.post("/api/v1/disputes/999999/defence", json={"on": "2025-10-09", "summary": "x"}) \
        .status_code == 404


def test_a_mediation_agreement_enforces_every_kind_of_registry_order(callers, land):
    from tests.conftest import square

    clerk, auditor = callers["clerk"], callers["auditor"]
    head, spouse = (m["id"] for m in land["a"]["members"])
    for person, basis in ((head, "original"), (spouse, "marriage")):
        assert clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members", json={
            "person_id": person, "basis": basis, "decided_on": "2020-01-01"}).status_code == 201
    assert clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members/{spouse}/termination", json={
        "ground": "joined_other_collective", "decided_on": "2024-01-01"}).status_code == 200
    assert clerk.put(f"/api/v1/collectives/{COLLECTIVE}/share-plan",
                     json={"total_shares": 100, "whole_shares": True}).status_code == 200
    assert clerk.post("/api/v1/rights", json={"type": "income_share", "holder": land["a"]["code"],
                                              "shares": 60}).status_code == 201
    pressed = clerk.post("/api/v1/transfers", json=transfer_of(land) | {"parcels": [land["a1"]]}).get_json()
    case = Case(callers, land, procedure="mediation", category="membership")
    orders = [{"type": "correct_boundary", "parcel": land["a2"], "geometry": square(200, 0, 40)},
              {"type": "restore_membership", "collective": COLLECTIVE, "person": spouse},
              {"type": "restore_shares", "household": land["a"]["code"], "shares": "70"},
              {"type": "void_transfer", "transfer": pressed["id"], "grounds": "受让方以断水相胁迫"}]
    case.refused("mediation-agreement", {"on": TODAY.isoformat(), "terms": "x", "signed_by_applicant": True,
                                         "signed_by_respondent": True, "mediator": "x",
                                         "orders": [orders[0] | {"geometry": square(250, 0, 100)}]},
                 409, "PARCEL_OVERLAP")  # over b1
    case.post("mediation-agreement", {"on": TODAY.isoformat(), "terms": "恢复成员身份与份额，界址按实测更正",
                                      "signed_by_applicant": True, "signed_by_respondent": True,
                                      "mediator": "长山镇人民调解委员会", "orders": orders})
    size = case.ledger_size()
    d = case.post("finalize", {"on": TODAY.isoformat()})
    entries = auditor.get(f"/api/v1/ledger/210681?after={size}&limit=10").get_json()["items"]
    assert [e["kind"] for e in entries] == ["parcel.revised", "membership.recognised",
                                            "right.income_share.requantified",
                                            "transfer.voided", "dispute.finalized"]
    assert [e["body"]["data"]["cause"] for e in entries[:4]] == [{"dispute": number_of(case.id), "order": i}
                                                                   for i in range(4)]
    assert d["record"]["finalized"]["entries"] == [e["seq"] for e in entries[:4]]
    history = clerk.get(f"/api/v1/parcels/{land['a2']}/history").get_json()
    assert len(history["versions"]) == 2
    members = clerk.get(f"/api/v1/collectives/{COLLECTIVE}/members?active=true").get_json()["items"]
    assert sorted(m["person"]["id"] for m in members) == sorted([head, spouse])
    assert clerk.get(f"/api/v1/rights/{land['a']['code']}G").get_json()["shares"] == "70.0000"
    assert clerk.get(f"/api/v1/transfers/{pressed['id']}").get_json()["status"] == "voided"


def test_an_edit_of_a_case_or_its_freeze_that_bypassed_the_ledger_is_found(callers, land, app):
    """Lifting a freeze or finalising a case by hand would let a frozen right move: verification names the
    entry the tables no longer agree with."""
    from sqlalchemy import update

    from app.disputes.models import Dispute
    from app.holds.models import Freeze

    auditor = callers["auditor"]
    case = Case(callers, land, freeze=True)
    d = case.post("accept", {"on": "2025-09-29"})
    freeze_seq = d["ledger_seq"] + 1  # dispute.opened, then freeze.set
    last = case.ledger_size()  # dispute.accepted
    engine = app.extensions["sanquan"].engine
    for table, where, change, undo, blamed in (
            (Freeze, Freeze.subject == land["a1"], {"active": False}, {"active": True}, freeze_seq),
            (Dispute, Dispute.id == number_of(case.id), {"status": "finalized"}, {"status": "accepted"}, last),
            (Dispute, Dispute.id == number_of(case.id), {"record": {}}, {"record": d["record"]}, last)):
        with engine.begin() as conn:
            conn.execute(update(table).where(where).values(change))
        result = auditor.get("/api/v1/ledger/210681/verify").get_json()
        assert (result["ok"], result["first_bad_seq"]) == (False, blamed), (table, change, result)
        with engine.begin() as conn:
            conn.execute(update(table).where(where).values(undo))
        assert auditor.get("/api/v1/ledger/210681/verify").get_json()["ok"] is True


@pytest.mark.parametrize("step, body, status", [
    ("hearings", {"on": "0001-01-01", "place": "x", "notified_on": "2025-10-13"}, 422),
    ("hearings", {"on": "2025-10-20", "place": "x", "notified_on": "0001-01-01"}, 422),
    ("accept", {"on": "0001-01-01"}, 422),  # before any date the registry takes (1949-10-01)
    ("extend", {"days": 10 ** 12, "approved_on": "2025-10-01", "approved_by": "x", "reason": "y"}, 422),
    ("extend", {"days": 0, "approved_on": "2025-10-01", "approved_by": "x", "reason": "y"}, 422),
    ("defence", {"on": "2025-10-09", "summary": None}, 422),
    ("recusal", {"on": "2025-10-13", "arbitrator": "不存在", "requested_by": "respondent", "grounds": "x",
                 "decision": "refused", "decided_by": "主任"}, 422),
    ("recusal", {"on": "2025-10-13", "arbitrator": "钱仲裁", "requested_by": "respondent", "grounds": "x",
                 "decision": "granted", "decided_by": "主任"}, 422),  # granted without a replacement
    ("freeze", {"on": "2025-10-12", "grounds": "x", "rights": ["x" * 19]}, 422),
    ("service", {"document": "award", "on": "2025-10-27"}, 409),
    ("service", {"document": "summons", "on": "2025-10-27"}, 422),
    ("award", {"on": "2025-10-24", "result": "x", "reasons": "y", "majority": ["赵仲裁", "钱仲裁"]}, 409),
    ("lawsuit", {"filed_on": "2025-11-01", "by": "court", "court": "x"}, 422),
    ("mediation-agreement", {"on": "2025-10-15", "terms": "x", "signed_by_applicant": "yes",
                             "signed_by_respondent": True, "mediator": "x"}, 422),
    ("mediation-agreement", {"on": "2025-10-15", "terms": "x", "signed_by_applicant": True,
                             "signed_by_respondent": True, "mediator": "x",
                             "orders": [{"type": "move_parcels", "parcels": ["1" * 19], "to_right": "2" * 19}]}, 404),
    ("mediation-agreement", {"on": "2025-10-15", "terms": "x", "signed_by_applicant": True,
                             "signed_by_respondent": True, "mediator": "x",
                             "orders": [{"type": "restore_shares", "household": "1" * 18, "shares": "1e9"}]}, 422),
    ("mediation-agreement", {"on": "2025-10-15", "terms": "x", "signed_by_applicant": True,
                             "signed_by_respondent": True, "mediator": "x",
                             "orders": [{"type": "demolish", "parcel": "1" * 19}]}, 422),
    ("finalize", [], 422),
    ("tribunal", {"formed_on": "2025-10-10", "arbitrators": []}, 422),
])
def test_a_malformed_step_is_refused_and_changes_nothing(callers, land, step, body, status):
    """On a case waiting for its first hearing: every malformed step is a 4xx, never a 500, and leaves the case
    and the ledger as they were."""
    case = Case(callers, land)
    case.to_hearing()
    before, size = case.get(), case.ledger_size()
    r = case.arbitrator.post(f"/api/v1/disputes/{case.id}/{step}", json=body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["code"] == status and r.get_json()["message"]
    assert case.get() == before and case.ledger_size() == size


def test_a_hearing_scheduled_ahead_is_recorded_held_on_its_day(callers, land, uow_factory):
    from app.auth.services import Principal
    from app.disputes import proceedings

    committee = Principal(id=None, name="赵仲裁", role="arbitrator", scope="210681")
    case = Case(callers, land)
    case.to_hearing()
    # on Monday 13 October 2025 the committee schedules Monday 20 October and tells the parties
    d = proceedings.hearing(uow_factory(), actor=committee, dispute_id=row_key(case.id), on=dt.date(2025, 10, 20),
                            place="长山镇人民政府", notified_on=dt.date(2025, 10, 13), today=dt.date(2025, 10, 13))
    assert d["record"]["hearings"][0]["held"] is False and "first_hearing" not in d["events"]
    # on the day the applicant stays away; posting the day again records the hearing held
    d = proceedings.hearing(uow_factory(), actor=committee, dispute_id=row_key(case.id), on=dt.date(2025, 10, 20),
                            applicant_present=False, last=True, today=dt.date(2025, 10, 20))
    h = d["record"]["hearings"][0]
    assert (h["held"], h["place"], h["notified_on"], h["applicant_present"], h["respondent_present"], h["last"]) \
        == (True, "长山镇人民政府", "2025-10-13", False, True, True)
    assert d["events"]["first_hearing"] == d["events"]["hearings_ended"] == dt.date(2025, 10, 20)
    # notified in writing and absent without reason: deemed to have withdrawn (第三十五条)
    d = case.post("withdraw", {"on": "2025-10-21", "reason": "经书面通知无正当理由拒不到庭", "deemed": True})
    assert (d["status"], d["record"]["withdrawal"]["deemed"]) == ("withdrawn", True)
