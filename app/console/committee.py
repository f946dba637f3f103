"""The arbitration committee's pages: the dashboard of deadlines (overdue first, coloured by urgency) and a
case with its statutory deadlines, its steps as a timeline, and its documents."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, cast

from flask import Response, redirect, request, url_for

from app.console.views import actor, bp, cursor_arg, load, page
from app.disputes import services as disputes
from app.disputes.orders import ORDER_TYPES
from app.disputes.routes import NEEDS_POLICY, STEPS
from app.errors import DomainError
from app.extensions import unit_of_work
from app.ids import RowKey
from app.parcels.routes import policy as parcel_policy

#: Days before a deadline from which the dashboard colours it as near.
NEAR_DAYS = 3
STATUSES = {"received": "已收到申请", "accepted": "已受理", "rejected": "不予受理", "awarded": "已裁决",
            "mediated": "已调解", "finalized": "已执行", "withdrawn": "已撤回", "in_court": "已起诉"}


#: Who may act on a case (app.disputes.services.CASE_ROLES): the others read it.
CASE_ROLES = frozenset({"arbitrator", "admin"})

#: Each step's form: (field, label, input). Inputs: ``date``, ``text``, ``area`` (long text), ``check`` (a box:
#: true or false), ``yesno`` (yes, no or not recorded), ``int``, ``names`` (one per line or separated by 、),
#: ``choice:a|b`` (a select), ``arbitrators`` (three rows of name and who chose them), ``order`` (one registry
#: order of an award or agreement). The API's schemas read what comes back, so its rules hold here unchanged.
STEP_FORMS: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "accept": ("受理（第二十四条）", (("on", "书面决定受理的日期", "date"),)),
    "reject": ("不予受理（第二十四条）", (("on", "书面决定的日期", "date"), ("grounds", "理由", "area"))),
    "service": ("送达（第二十五、二十七、四十五条）", (
        ("document", "送达的文书", "choice:application_copy|tribunal_notice|award"), ("on", "送达日期", "date"))),
    "defence": ("答辩（第二十五条）", (("on", "答辩日期", "date"), ("summary", "答辩要点", "area"),
                                  ("oral", "口头答辩，已记录在案", "check"), ("counterclaim", "反请求", "area"))),
    "tribunal": ("组成仲裁庭（第二十七条）", (
        ("formed_on", "组庭日期", "date"), ("arbitrators", "仲裁员", "arbitrators"),
        ("presiding", "首席仲裁员", "text"),
        ("sole_by_agreement", "双方约定由一名仲裁员仲裁", "check"))),
    "recusal": ("回避（第二十八、二十九条）", (
        ("on", "申请日期", "date"), ("arbitrator", "被申请回避的仲裁员", "text"),
        ("requested_by", "申请人", "choice:applicant|respondent|arbitrator"), ("grounds", "理由", "area"),
        ("learned_after_first_hearing", "首次开庭后才知道回避事由", "check"),
        ("decision", "决定", "choice:granted|refused"), ("decided_by", "决定人（仲裁委员会主任）", "text"),
        ("replacement", "替换的仲裁员", "text"))),
    "hearings": ("开庭（第三十一、三十五条）", (
        ("on", "开庭日期（晚于今天为排期）", "date"), ("place", "地点", "text"),
        ("notified_on", "通知当事人的日期", "date"),
        ("applicant_present", "申请人到庭", "yesno"), ("respondent_present", "被申请人到庭", "yesno"),
        ("last", "本次为最后一次开庭", "check"))),
    "freeze": ("先行裁定维持现状（第四十二条）", (("on", "裁定日期", "date"), ("grounds", "理由", "area"),
                                        ("rights", "权利编号", "names"), ("parcels", "地块编码", "names"))),
    "extend": ("延长审理期限（第四十七条）", (("days", "延长天数（至多 30 日）", "int"),
                                     ("approved_on", "批准日期", "date"),
                                     ("approved_by", "批准人（仲裁委员会主任）", "text"), ("reason", "理由", "area"))),
    "mediation-agreement": ("调解协议（第十、十一条）", (
        ("on", "双方签收日期", "date"), ("terms", "协议内容", "area"),
        ("signed_by_applicant", "申请人已签字", "check"), ("signed_by_respondent", "被申请人已签字", "check"),
        ("mediator", "调解人", "text"), ("order", "登记事项", "order"))),
    "award": ("裁决（第三十五、四十五条）", (
        ("on", "裁决日期", "date"), ("result", "裁决结果", "area"), ("reasons", "裁决理由", "area"),
        ("majority", "作出裁决的仲裁员", "names"), ("dissent", "不同意见", "area"),
        ("by_default", "缺席裁决", "check"), ("order", "登记事项", "order"))),
    "lawsuit": ("起诉（第四十八条）", (
        ("filed_on", "起诉日期", "date"), ("by", "起诉方", "choice:applicant|respondent"),
        ("court", "人民法院", "text"))),
    "withdraw": ("撤回申请（第三十四、三十五条）", (("on", "撤回日期", "date"), ("reason", "理由", "area"),
                                         ("deemed", "视为撤回（申请人无正当理由不到庭）", "check"))),
    "finalize": ("执行裁决或调解协议", (("on", "生效日期", "date"),)),
}
#: The steps a case in each state is offered (arbitration / mediation); a step forced out of order is refused
#: by the service with DISPUTE_STEP_ORDER, as in the API.
OFFERED = {
    ("arbitration", "received"): ("accept", "reject", "withdraw"),
    ("arbitration", "accepted"): ("service", "defence", "tribunal", "recusal", "hearings", "freeze", "extend",
                                  "mediation-agreement", "award", "withdraw"),
    ("arbitration", "awarded"): ("service", "lawsuit", "finalize"),
    ("arbitration", "mediated"): ("finalize",),
    ("mediation", "received"): ("mediation-agreement", "withdraw"),
    ("mediation", "mediated"): ("finalize",),
}
#: A case's events as its timeline names them.
EVENTS = {"received": "收到仲裁申请", "accepted": "受理", "rejected": "不予受理", "copy_served": "送达申请书副本",
          "defence_filed": "提交答辩", "tribunal_formed": "组成仲裁庭", "tribunal_notified": "送达组庭通知",
          "first_hearing": "首次开庭", "hearings_ended": "庭审结束", "agreement_signed": "签收调解协议",
          "award_made": "作出裁决", "award_served": "送达裁决书", "lawsuit_filed": "当事人起诉",
          "claims_withdrawn": "撤回请求", "withdrawn": "撤回申请", "finalized": "执行完毕"}
CHOICES = {"application_copy": "仲裁申请书副本", "tribunal_notice": "仲裁庭组成通知", "award": "裁决书",
           "applicant": "申请人", "respondent": "被申请人", "arbitrator": "仲裁员", "both": "双方共同",
           "chair": "主任指定", "granted": "准许", "refused": "驳回"}
ORDER_NAMES = {"move_parcels": "地块划归另一权利", "restore_membership": "恢复成员身份",
               "restore_shares": "恢复收益分配份额", "void_transfer": "撤销流转"}
ORDER_FIELDS = {"move_parcels": ("parcels", "to_right"), "restore_membership": ("collective", "person"),
                "restore_shares": ("household", "shares"), "void_transfer": ("transfer", "grounds")}


def step_body(step: str, form) -> dict[str, Any]:
    """A step's form as the API's body: empty fields left out (the schema names what is missing)."""
    body: dict[str, Any] = {}
    for name, _label, kind in STEP_FORMS[step][1]:
        value = form.get(name, "").strip()
        if kind == "check":
            body[name] = form.get(name) == "true"
        elif kind == "yesno":
            if value in ("true", "false"):
                body[name] = value == "true"
        elif kind == "names":
            if value:
                body[name] = [x for x in re.split(r"[\s、,，;；]+", value) if x]
        elif kind == "int":
            if value:
                body[name] = int(value) if value.isascii() and value.isdigit() and len(value) <= 16 else value
        elif kind == "arbitrators":
            rows = [{"name": form.get(f"arbitrator_{i}", "").strip(), "chosen_by": form.get(f"chosen_by_{i}", "")}
                    for i in range(3)]
            body[name] = [row for row in rows if row["name"]]
        elif kind == "order":
            if form.get("order_type") in ORDER_TYPES:
                body["orders"] = [_order(form)]
        elif value:
            body[name] = value
    return body


def _order(form) -> dict[str, Any]:
    order: dict[str, Any] = {"type": form["order_type"]}
    for name in ORDER_FIELDS.get(form["order_type"], ()):
        value = form.get(f"order_{name}", "").strip()
        if not value:
            continue
        if name == "parcels":
            order[name] = [x for x in re.split(r"[\s、,，;；]+", value) if x]
        elif name in ("person", "transfer"):
            order[name] = int(value) if value.isascii() and value.isdigit() and len(value) <= 16 else value
        else:
            order[name] = value
    return order


def urgency(deadline: dict, today: dt.date) -> str:
    """``overdue`` (a committee's duty past due), ``near`` (due within :data:`NEAR_DAYS`), ``pending`` or ``done``."""
    if not deadline["pending"]:
        return "done"
    if deadline["overdue"]:
        return "overdue"
    return "near" if (deadline["due_on"] - today).days <= NEAR_DAYS else "pending"


@bp.route("/disputes")
def dispute_board():
    """Cases with a deadline this week or overdue (``?all=1``: every case in scope), overdue first."""
    today = dt.date.today()
    everything = request.args.get("all") == "1"
    found = disputes.list_disputes(unit_of_work(write=False), actor=actor(), overdue=not everything,
                                   within=None if everything else 7, limit=100,
                                   cursor=cursor_arg())
    rows = []
    for case in found["items"]:
        pending = sorted((x for x in case["deadlines"].values() if x["pending"]), key=lambda x: x["due_on"])
        worst = min((urgency(x, today) for x in pending), key=("overdue", "near", "pending").index, default="done")
        rows.append((case, pending[0] if pending else None, worst))
    rows.sort(key=lambda r: (("overdue", "near", "pending", "done").index(r[2]),
                             r[1]["due_on"] if r[1] else dt.date.max))
    return page("console/disputes.html", rows=rows, everything=everything, statuses=STATUSES, today=today,
                next_cursor=found["next_cursor"])


@bp.route("/disputes/<row:dispute_id>")
def dispute(dispute_id: RowKey, error: DomainError | None = None, status: int = 200, tried: str | None = None):
    today = dt.date.today()
    case = disputes.get_dispute(unit_of_work(write=False), actor=actor(), dispute_id=dispute_id)
    deadlines = sorted(((key, x, urgency(x, today)) for key, x in case["deadlines"].items()),
                       key=lambda k: k[1]["due_on"])
    timeline = sorted(case["events"].items(), key=lambda e: e[1])
    offered = OFFERED.get((case["procedure"], case["status"]), ()) if actor().role in CASE_ROLES else ()
    return page("console/dispute.html", status, case=case, deadlines=deadlines, timeline=timeline,
                statuses=STATUSES, events=EVENTS, steps=[(key, *STEP_FORMS[key]) for key in offered], error=error,
                tried=tried, choices=CHOICES, order_names=ORDER_NAMES, today=today.isoformat())


_STEP_PATHS = ", ".join(f"'{key}'" for key in STEP_FORMS)


@bp.route(f"/disputes/<row:dispute_id>/<any({_STEP_PATHS}):step>", methods=["POST"])
def dispute_step(dispute_id: RowKey, step: str):
    """One step of a case, read by the API's schema for it and done by the API's service: one transaction with
    its ledger entry ``dispute.<step>``; a refusal is shown on the case's page with its rule and article."""
    schema, act, _summary = STEPS[step]
    act = cast(Callable[..., dict], act)
    try:
        data = load(schema(), step_body(step, request.form))
        extra = {"policy": parcel_policy()} if act in NEEDS_POLICY else {}
        act(unit_of_work(), actor=actor(), dispute_id=dispute_id, **extra, **data)
    except DomainError as e:
        return dispute(dispute_id, error=e, status=e.status, tried=step)
    return redirect(url_for("console.dispute", dispute_id=dispute_id, saved=1), code=303)


@bp.route("/disputes/<row:dispute_id>/<any('acceptance-notice', award):document>.pdf")
def dispute_pdf(dispute_id: RowKey, document: str):
    uow = unit_of_work(write=False)
    if document == "award":
        pdf = disputes.award_pdf(uow, actor=actor(), dispute_id=dispute_id, limits=parcel_policy().limits)
    else:
        pdf = disputes.acceptance_notice_pdf(uow, actor=actor(), dispute_id=dispute_id)
    return Response(pdf, mimetype="application/pdf")
