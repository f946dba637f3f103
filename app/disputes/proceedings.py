"""The steps of a case after its application (农村土地承包经营纠纷调解仲裁法), each one transaction with
its ledger entry ``dispute.<step>``.

Arbitration: accept or reject → service of the copy → defence → tribunal (and its notice) → recusals
→ hearings with notice → interim freeze → mediation (an agreement) or award by majority → service
→ lawsuit within 30 days, or the award binds → finalize (its registry orders). The applicant may
withdraw at any time before the award; the extension of the 60 days is granted once.
Mediation (village committee or township): an agreement signed by both parties and the mediator,
or the case is withdrawn.

Every step checks that the case is in a state that allows it (DISPUTE_STEP_ORDER otherwise), that its
day lies between the step it follows and today (DATE_ORDER), and that its evidence documents exist.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.db import UnitOfWork
from app.disputes import orders as registry_orders
from app.disputes.calendar import MAX_EXTENSION_DAYS, deadlines, hearing_notice_by
from app.disputes.models import ENDED, Dispute
from app.disputes.services import (
    CASE_ROLES,
    binding_on,
    dispute_view,
    event_days,
    freeze_subjects,
    lift_freeze,
    visible_case,
)
from app.errors import DomainError, Forbidden, NotFound, RuleViolation
from app.ids import RowKey
from app.ledger import services as ledger
from app.parcels.services import ParcelPolicy
from app.parties.services import visible_document
from app.workdays.calendar import WorkCalendar
from app.workdays.services import work_calendar

LAW = "农村土地承包经营纠纷调解仲裁法"


#: What a registry order may name by registry id, and what it is called when it is not found.
_NAMED_IN_ORDERS = {"person": ("人员", "Person"), "transfer": ("流转", "Transfer")}


@dataclass
class Step:
    """What a step's rule sees: the case (locked), the calendar and today."""

    s: Session
    actor: Principal
    d: Dispute
    calendar: WorkCalendar
    today: dt.date

    def require(self, allowed: bool, step: str) -> None:
        if not allowed:
            raise RuleViolation("DISPUTE_STEP_ORDER", details={"status": self.d.status, "step": step})

    def day(self, on: dt.date, after: str, what: str) -> None:
        """``on`` lies between the event ``after`` and today."""
        start = dt.date.fromisoformat(self.d.events[after])
        if not start <= on <= self.today:
            raise RuleViolation("DATE_ORDER", reason_zh=f"{what}须在{start.isoformat()}之后、今天之前",
                                reason_en=f"{what} must lie between {start.isoformat()} and today",
                                details={"after": after, "on": on.isoformat()})

    def event(self, name: str, on: dt.date) -> None:
        self.d.events = {**self.d.events, name: on.isoformat()}

    def note(self, key: str, value) -> None:
        self.d.record = {**self.d.record, key: value}

    def documents(self, keys: Sequence[RowKey]) -> list[int]:
        """The evidence of a step, by the documents' numbers in the county (as the case keeps them)."""
        return [visible_document(self.s, self.actor, i, attach_to=self.d.division_code) for i in dict.fromkeys(keys)]

    def orders(self, orders: Sequence[dict]) -> list[dict]:
        """Registry orders as the case keeps them: the persons and transfers they name by their numbers in the
        case's county.

        Raises:
            NotFound: an order names another county's person or transfer.
        """
        kept = []
        for o in orders:
            for name, (zh, en) in _NAMED_IN_ORDERS.items():
                key = o.get(name)
                if key is not None and key.county_code != self.d.county_code:
                    raise NotFound(zh, en, key)
            kept.append(o | {name: o[name].id for name in _NAMED_IN_ORDERS if o.get(name) is not None})
        return kept

    @property
    def arbitration(self) -> bool:
        return self.d.procedure == "arbitration"

    @property
    def open(self) -> bool:
        """Accepted (or, for a mediation, being mediated) and not yet decided."""
        return self.d.status == ("accepted" if self.arbitration else "received")


def _act(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, step: str, today: dt.date | None,
         apply: Callable[[Step], dict]) -> dict:
    """Run one step: lock the case, let ``apply`` check and change it, then append ``dispute.<step>``
    with the facts ``apply`` returns and the case's resulting state, all in one transaction."""
    today = today or dt.date.today()
    with uow:
        s = uow.session
        d = visible_case(s, actor, dispute_id, lock=True)  # a case out of scope is not found, whoever asks
        if actor.role not in CASE_ROLES:
            raise Forbidden("只有仲裁委员会工作人员可以办理案件",
                            "Only the arbitration committee's staff may act on a case")
        st = Step(s, actor, d, work_calendar(s), today)
        data = apply(st)
        ledger.append(s, county=d.county_code, kind=f"dispute.{step}", actor=actor, subjects=[f"dispute:{d.id}"],
                      data={"dispute": d.id, **data, "state": d.state()})
        view = dispute_view(d, st.calendar, today=today)
        uow.commit()
    return view


# --- acceptance ------------------------------------------------------------------------------------

def accept(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, documents: Sequence[RowKey] = (),
           today: dt.date | None = None) -> dict:
    """Accept the application in writing (第二十四条): the copy to the respondent and the 60 days run from ``on``.

    Raises:
        RuleViolation: DISPUTE_STEP_ORDER (a mediation, or already decided), DATE_ORDER.
    """
    return _decide(uow, actor=actor, dispute_id=dispute_id, on=on, grounds=None, documents=documents, today=today)


def reject(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, grounds: str,
           documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """Refuse the application in writing with its grounds (第二十四条); the case ends and its freeze lifts.

    Raises:
        RuleViolation: DISPUTE_STEP_ORDER (a mediation, or already decided), DATE_ORDER.
    """
    return _decide(uow, actor=actor, dispute_id=dispute_id, on=on, grounds=grounds, documents=documents, today=today)


def _decide(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, grounds: str | None,
            documents: Sequence[RowKey], today: dt.date | None) -> dict:
    """Accept (``grounds`` None) or refuse the application."""
    event, record = ("accepted", "acceptance") if grounds is None else ("rejected", "rejection")

    def apply(st: Step) -> dict:
        st.require(st.arbitration and st.d.status == "received", "accept" if grounds is None else "reject")
        st.day(on, "received", "受理或者不予受理的决定日期")
        st.d.status = event
        st.event(event, on)
        entry = {"on": on.isoformat(), "documents": st.documents(documents)}
        if grounds is not None:
            entry["grounds"] = grounds
            lift_freeze(st.s, st.actor, st.d, on)
        st.note(record, entry)
        return entry | {"basis": f"{LAW} 第二十四条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step=event, today=today, apply=apply)


# --- service of documents, defence ----------------------------------------------------------------

#: What can be served, the event it records, and the event it must follow.
SERVED = {"application_copy": ("copy_served", "accepted", "第二十五条"),
          "tribunal_notice": ("tribunal_notified", "tribunal_formed", "第二十七条"),
          "award": ("award_served", "award_made", "第四十五条")}


def serve(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, document: str, on: dt.date,
          documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """Record the day a document reached the parties (送达回证): the copy of the application and the
    acceptance notice to the respondent, the tribunal's composition, the award (its 30 days to sue run
    from then; give the later day when the parties received it on different days).

    Raises:
        RuleViolation: DISPUTE_STEP_ORDER (served already, or before what it serves exists), DATE_ORDER.
    """
    event, after, article = SERVED[document]

    def apply(st: Step) -> dict:
        st.require(st.arbitration and after in st.d.events and event not in st.d.events
                   and st.d.status not in ENDED, f"serve {document}")
        st.day(on, after, "送达日期")
        st.event(event, on)
        docs = st.documents(documents)
        st.note("service", {**st.d.record.get("service", {}), document: {"on": on.isoformat(), "documents": docs}})
        return {"document": document, "on": on.isoformat(), "documents": docs, "basis": f"{LAW} {article}"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="served", today=today, apply=apply)


def defence(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, summary: str, oral: bool = False,
            counterclaim: str | None = None, documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """The respondent's defence (第二十五条), written or oral, with any counterclaim. A defence after its ten
    days is recorded as late: it does not stop the arbitration.

    Raises:
        RuleViolation: DISPUTE_STEP_ORDER (not accepted, decided, or a defence already filed), DATE_ORDER.
    """
    def apply(st: Step) -> dict:
        st.require(st.arbitration and st.open and "defence_filed" not in st.d.events, "defence")
        st.day(on, "accepted", "答辩日期")
        due = _due(st, "defence")
        st.event("defence_filed", on)
        docs = st.documents(documents)
        entry = {"on": on.isoformat(), "summary": summary, "oral": oral, "counterclaim": counterclaim,
                 "late": due is not None and on > due, "documents": docs}
        st.note("defence", entry)
        return entry | {"basis": f"{LAW} 第二十五条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="defence", today=today, apply=apply)


# --- the tribunal --------------------------------------------------------------------------------

def form_tribunal(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, formed_on: dt.date, arbitrators: list[dict],
                  presiding: str | None = None, sole_by_agreement: bool = False, documents: Sequence[RowKey] = (),
                  today: dt.date | None = None) -> dict:
    """Form the tribunal (第二十七条): three arbitrators, one presiding, or one when both parties agreed.
    Its composition is notified within two working days (``service`` of ``tribunal_notice``).

    Raises:
        RuleViolation: TRIBUNAL_COMPOSITION, DISPUTE_STEP_ORDER (not accepted, or formed already), DATE_ORDER.
    """
    def apply(st: Step) -> dict:
        st.require(st.arbitration and st.open and "tribunal" not in st.d.record, "tribunal")
        st.day(formed_on, "accepted", "仲裁庭组成日期")
        names = [a["name"] for a in arbitrators]
        three = len(names) == 3 and presiding in names
        sole = len(names) == 1 and sole_by_agreement and presiding in (None, names[0])
        if len(set(names)) != len(names) or not (three or sole):
            raise RuleViolation("TRIBUNAL_COMPOSITION", details={"arbitrators": names, "presiding": presiding,
                                                                 "sole_by_agreement": sole_by_agreement})
        st.event("tribunal_formed", formed_on)
        docs = st.documents(documents)
        entry = {"formed_on": formed_on.isoformat(), "arbitrators": arbitrators, "presiding": presiding or names[0],
                 "sole_by_agreement": sole, "documents": docs}
        st.note("tribunal", entry)
        return entry | {"basis": f"{LAW} 第二十七条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="tribunal", today=today, apply=apply)


def _held(d: Dispute) -> list[dict]:
    return [h for h in d.record.get("hearings", []) if h["held"]]


def recuse(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, arbitrator: str, requested_by: str,
           grounds: str, decision: str, decided_by: str, replacement: str | None = None,
           learned_after_first_hearing: bool = False, documents: Sequence[RowKey] = (),
           today: dt.date | None = None) -> dict:
    """A request that an arbitrator step aside (第二十八、二十九条), and the chair's decision; a granted
    request names the arbitrator who takes the seat.

    Raises:
        RuleViolation: RECUSAL_TOO_LATE (after the first hearing without a cause learned since, or after the
            last hearing ended), DISPUTE_STEP_ORDER (no tribunal, or the case decided), DATE_ORDER.
        RuleViolation: RECUSAL_REPLACEMENT_REQUIRED (a granted request without a new arbitrator).
        DomainError 422: an arbitrator not on the tribunal.
    """
    def apply(st: Step) -> dict:
        st.require(st.arbitration and st.open and "tribunal" in st.d.record, "recusal")
        st.day(on, "tribunal_formed", "回避申请日期")
        tribunal = st.d.record["tribunal"]
        names = [a["name"] for a in tribunal["arbitrators"]]
        if arbitrator not in names:
            raise DomainError("该仲裁员不在本案仲裁庭", "the arbitrator is not on this tribunal", status=422,
                              errors={"arbitrator": [f"one of {names}"]})
        held = [h for h in _held(st.d) if dt.date.fromisoformat(h["on"]) <= on]
        if held and (not learned_after_first_hearing or any(h["last"] for h in held)):
            raise RuleViolation("RECUSAL_TOO_LATE", details={"first_hearing": held[0]["on"], "on": on.isoformat()})
        if decision == "granted":
            if not replacement or replacement in names:
                raise RuleViolation("RECUSAL_REPLACEMENT_REQUIRED", details={"arbitrator": arbitrator},
                                    errors={"replacement": ["a new arbitrator, not on the tribunal"]})
            seated = [a | {"name": replacement} if a["name"] == arbitrator else a for a in tribunal["arbitrators"]]
            presiding = replacement if tribunal["presiding"] == arbitrator else tribunal["presiding"]
            st.note("tribunal", tribunal | {"arbitrators": seated, "presiding": presiding})
        docs = st.documents(documents)
        entry = {"on": on.isoformat(), "arbitrator": arbitrator, "requested_by": requested_by, "grounds": grounds,
                 "learned_after_first_hearing": learned_after_first_hearing, "decision": decision,
                 "decided_by": decided_by, "replacement": replacement if decision == "granted" else None,
                 "documents": docs}
        st.note("recusals", [*st.d.record.get("recusals", []), entry])
        return entry | {"basis": f"{LAW} 第二十八、二十九条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="recusal", today=today, apply=apply)


# --- hearings ------------------------------------------------------------------------------------

def hearing(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, place: str | None = None,
            notified_on: dt.date | None = None, applicant_present: bool | None = None,
            respondent_present: bool | None = None, last: bool = False, documents: Sequence[RowKey] = (),
            today: dt.date | None = None) -> dict:
    """Schedule a hearing with its notice (第三十一条: five working days before it), or record one held:
    who attended (第三十五条) and whether it was the last. A hearing scheduled earlier is recorded as held
    by posting its day again.

    Raises:
        RuleViolation: HEARING_NOTICE_SHORT, DISPUTE_STEP_ORDER (no tribunal, the case decided, the hearings
            ended, or the hearing recorded already), DATE_ORDER.
        RuleViolation: DATE_ORDER for attendance of a hearing still to come.
        DomainError 422: a new hearing without place or notice day.
    """
    def apply(st: Step) -> dict:
        st.require(st.arbitration and st.open and "tribunal" in st.d.record
                   and not any(h["last"] for h in _held(st.d)), "hearing")
        hearings = list(st.d.record.get("hearings", []))
        known = next((h for h in hearings if h["on"] == on.isoformat()), None)
        st.require(known is None or not known["held"], "hearing")
        held = on <= st.today
        present = (applicant_present, respondent_present)
        if not held and (any(p is not None for p in present) or last):
            raise RuleViolation("DATE_ORDER", reason_zh="开庭尚未进行，不能记录到庭情况",
                                reason_en="a hearing still to come has no attendance",
                                errors={"on": ["a day after today schedules a hearing"]})
        entry: dict[str, Any]
        if known is None:
            if place is None or notified_on is None:
                raise DomainError("安排开庭须写明地点和通知日期", "a new hearing needs its place and notice day",
                                  status=422, errors={"place": ["required"], "notified_on": ["required"]})
            st.day(notified_on, "tribunal_formed", "开庭通知日期")
            if on <= notified_on:
                raise RuleViolation("DATE_ORDER", reason_zh="开庭日期须在通知之后", reason_en="the hearing must come "
                                    "after its notice",
                                    details={"on": on.isoformat(), "notified_on": notified_on.isoformat()})
            notice_by = hearing_notice_by(st.calendar, on)
            if notified_on > notice_by.due_on:
                raise RuleViolation("HEARING_NOTICE_SHORT", details={"notice_by": notice_by.due_on.isoformat(),
                                                                     "notified_on": notified_on.isoformat()})
            entry = {"on": on.isoformat(), "place": place, "notified_on": notified_on.isoformat(),
                     "notice_assumed_years": sorted(notice_by.assumed_years)}
        else:
            entry = known
            hearings.remove(known)
        entry = entry | {"held": held, "applicant_present": applicant_present if held else None,
                         "respondent_present": respondent_present if held else None, "last": last,
                         "documents": [*entry.get("documents", []), *st.documents(documents)]}
        if held:
            entry["applicant_present"] = True if applicant_present is None else applicant_present
            entry["respondent_present"] = True if respondent_present is None else respondent_present
            if not _held(st.d):
                st.event("first_hearing", on)
            if last:
                st.event("hearings_ended", on)
        st.note("hearings", sorted([*hearings, entry], key=lambda h: h["on"]))
        return entry | {"basis": f"{LAW} 第三十、三十一、三十五条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="hearing", today=today, apply=apply)


def interim_freeze(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, grounds: str,
                   rights: list[str] | None = None, parcels: list[str] | None = None, documents: Sequence[RowKey] = (),
                   today: dt.date | None = None) -> dict:
    """An interim ruling keeping the status quo (第四十二条): the case's rights and parcels (all of them,
    or those named) refuse transfers until the case ends.

    Raises:
        RuleViolation: DISPUTE_STEP_ORDER (no tribunal yet, the case decided, or all already frozen), DATE_ORDER.
        RuleViolation: FREEZE_NOT_IN_DISPUTE (a right or parcel that is not in dispute in this case).
        DomainError 422: nothing to freeze named.
    """
    def apply(st: Step) -> dict:
        st.require(st.arbitration and st.open and "tribunal" in st.d.record, "interim freeze")
        st.day(on, "tribunal_formed", "先行裁定日期")
        named = [*(rights if rights is not None else st.d.rights), *(parcels if parcels is not None else st.d.parcels)]
        outside = sorted(set(named) - set(st.d.rights) - set(st.d.parcels))
        if outside:
            raise RuleViolation("FREEZE_NOT_IN_DISPUTE", details={"outside": outside}, errors={"subjects": outside})
        if not named:
            raise DomainError("请列出要冻结的权利或地块", "name the rights or parcels to freeze",
                              status=422, errors={"subjects": ["none named"]})
        frozen = freeze_subjects(st.s, st.actor, st.d, named, on, grounds)
        st.require(bool(frozen), "interim freeze")
        docs = st.documents(documents)
        entry = {"on": on.isoformat(), "subjects": frozen, "grounds": grounds, "documents": docs}
        st.note("freezes", [*st.d.record.get("freezes", []), entry])
        return entry | {"basis": f"{LAW} 第四十二条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="interim_freeze", today=today, apply=apply)


def extend(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, days: int, approved_on: dt.date, approved_by: str,
           reason: str, documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """The chair's one extension of the case's 60 days, at most 30 days, approved before they run out
    (第四十七条).

    Raises:
        RuleViolation: DEADLINE_EXTENSION_EXCEEDED (a second extension, or more than 30 days),
            DISPUTE_STEP_ORDER (not accepted, or decided), DATE_ORDER (before acceptance, or after the 60 days).
    """
    def apply(st: Step) -> dict:
        st.require(st.arbitration and st.open, "extend")
        if st.d.extension_days or days > MAX_EXTENSION_DAYS:
            raise RuleViolation("DEADLINE_EXTENSION_EXCEEDED", details={"granted_before": st.d.extension_days,
                                                                        "days": days})
        st.day(approved_on, "accepted", "批准延长日期")
        closes = _due(st, "case_closed")
        assert closes is not None, "st.day found the case accepted, which starts its 60 days"
        if approved_on > closes:
            raise RuleViolation("DATE_ORDER", reason_zh=f"审理期限已于{closes.isoformat()}届满，不能再延长",
                                reason_en=f"the 60 days ran out on {closes.isoformat()}")
        st.d.extension_days = days
        docs = st.documents(documents)
        entry = {"days": days, "approved_on": approved_on.isoformat(), "approved_by": approved_by, "reason": reason,
                 "documents": docs}
        st.note("extension", entry)
        return entry | {"basis": f"{LAW} 第四十七条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="extended", today=today, apply=apply)


# --- how a case ends -------------------------------------------------------------------------------

def mediation_agreement(uow: UnitOfWork, *, actor: Principal, policy: ParcelPolicy, dispute_id: RowKey, on: dt.date,
                        terms: str, signed_by_applicant: bool, signed_by_respondent: bool, mediator: str,
                        orders: Sequence[dict] = (), documents: Sequence[RowKey] = (),
                        today: dt.date | None = None) -> dict:
    """A mediation agreement, binding from the day both parties signed it and the mediator (the village
    committee's or township's mediator; in arbitration the tribunal's 调解书) signed it (第十、十一条).
    Its registry orders are checked against the registry now and executed by ``finalize``.

    Raises:
        RuleViolation: AGREEMENT_UNSIGNED, DISPUTE_STEP_ORDER (the case decided; in arbitration before the
            tribunal), DATE_ORDER, or the rule an order would break today.
    """
    def apply(st: Step) -> dict:
        st.require(st.open and (not st.arbitration or "tribunal" in st.d.record), "mediation agreement")
        if not (signed_by_applicant and signed_by_respondent and mediator.strip()):
            raise RuleViolation("AGREEMENT_UNSIGNED", details={"applicant": signed_by_applicant,
                                                               "respondent": signed_by_respondent,
                                                               "mediator": mediator})
        st.day(on, "accepted" if st.arbitration else "received", "调解协议签收日期")
        kept = st.orders(orders)
        registry_orders.check(st.s, actor=st.actor, county=st.d.county_code, dispute_id=st.d.id, orders=kept, on=on,
                              policy=policy)
        st.d.status = "mediated"
        st.event("agreement_signed", on)
        docs = st.documents(documents)
        entry = {"on": on.isoformat(), "terms": terms, "signed_by": {"applicant": True, "respondent": True,
                                                                     "mediator": mediator},
                 "orders": kept, "documents": docs}
        st.note("agreement", entry)
        return entry | {"basis": f"{LAW} 第十、十一条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="mediated", today=today, apply=apply)


def award(uow: UnitOfWork, *, actor: Principal, policy: ParcelPolicy, dispute_id: RowKey, on: dt.date, result: str,
          reasons: str, majority: list[str], dissent: str | None = None, by_default: bool = False,
          orders: Sequence[dict] = (), documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """The award (第四十四、四十五条), made by the majority of the tribunal after its hearings, by default
    when the respondent notified in writing did not attend (第三十五条). It is served within three working
    days; its registry orders are checked against the registry now and executed by ``finalize`` once
    it binds (第四十八条).

    Raises:
        RuleViolation: AWARD_MAJORITY, ABSENCE_NOT_RECORDED, DISPUTE_STEP_ORDER (before acceptance, the
            tribunal or a hearing; or decided), DATE_ORDER (before the last hearing), or the rule an order
            would break today.
    """
    def apply(st: Step) -> dict:
        held = _held(st.d)
        st.require(st.arbitration and st.open and "tribunal" in st.d.record and bool(held), "award")
        st.day(on, "accepted", "裁决日期")
        if on < dt.date.fromisoformat(held[-1]["on"]):
            raise RuleViolation("DATE_ORDER", reason_zh="裁决日期早于最后一次开庭",
                                reason_en="the award is dated before the last hearing")
        names = [a["name"] for a in st.d.record["tribunal"]["arbitrators"]]
        joined = set(majority)
        if not joined <= set(names) or len(joined) * 2 <= len(names):
            raise RuleViolation("AWARD_MAJORITY", details={"tribunal": names, "majority": sorted(joined)})
        if by_default and not any(h["respondent_present"] is False for h in held):
            raise RuleViolation("ABSENCE_NOT_RECORDED", details={"party": "respondent"})
        kept = st.orders(orders)
        registry_orders.check(st.s, actor=st.actor, county=st.d.county_code, dispute_id=st.d.id, orders=kept, on=on,
                              policy=policy)
        closes = _due(st, "case_closed")
        assert closes is not None, "st.day found the case accepted, which starts its 60 days"
        st.d.status = "awarded"
        st.event("award_made", on)
        if "hearings_ended" not in st.d.events:
            st.event("hearings_ended", dt.date.fromisoformat(held[-1]["on"]))
        docs = st.documents(documents)
        entry = {"on": on.isoformat(), "result": result, "reasons": reasons, "majority": sorted(joined),
                 "dissent": dissent, "by_default": by_default, "late": on > closes, "orders": kept,
                 "documents": docs}
        st.note("award", entry)
        return entry | {"basis": f"{LAW} 第四十四、四十五条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="awarded", today=today, apply=apply)


def lawsuit(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, filed_on: dt.date, by: str, court: str,
            documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """A party sued in court within 30 days of receiving the award (第四十八条): the award does not bind,
    the case leaves the committee and its freeze lifts (the court decides on preservation).

    Raises:
        RuleViolation: LAWSUIT_PERIOD_OVER (the award is binding), DISPUTE_STEP_ORDER (no award, or
            a lawsuit already recorded), DATE_ORDER.
    """
    def apply(st: Step) -> dict:
        st.require(st.d.status == "awarded", "lawsuit")
        st.day(filed_on, "award_made", "起诉日期")
        due = _due(st, "lawsuit")
        if due is not None and filed_on > due:
            raise RuleViolation("LAWSUIT_PERIOD_OVER", details={"sue_by": due.isoformat(),
                                                                "filed_on": filed_on.isoformat()})
        st.d.status = "in_court"
        st.event("lawsuit_filed", filed_on)
        docs = st.documents(documents)
        lifted = lift_freeze(st.s, st.actor, st.d, filed_on)
        entry = {"filed_on": filed_on.isoformat(), "by": by, "court": court, "documents": docs,
                 "freeze_lifted": lifted}
        st.note("lawsuit", entry)
        return entry | {"basis": f"{LAW} 第四十八条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="lawsuit", today=today, apply=apply)


def withdraw(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, on: dt.date, reason: str, deemed: bool = False,
             documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """The applicant withdraws before the award (第三十四条), or is deemed to when, notified in writing,
    they did not attend (第三十五条); in mediation either party ends it. The case ends and its freeze
    lifts, unless the respondent's counterclaim keeps the arbitration going.

    Raises:
        RuleViolation: ABSENCE_NOT_RECORDED (deemed, without a missed hearing), DISPUTE_STEP_ORDER (decided
            already), DATE_ORDER.
    """
    def apply(st: Step) -> dict:
        st.require(st.d.status in ("received", "accepted") and "withdrawal" not in st.d.record, "withdraw")
        st.day(on, "received", "撤回日期")
        if deemed and not any(h["applicant_present"] is False for h in _held(st.d)):
            raise RuleViolation("ABSENCE_NOT_RECORDED", details={"party": "applicant"})
        counterclaim = (st.d.record.get("defence") or {}).get("counterclaim")
        lifted = []
        if counterclaim:  # the arbitration goes on, its 60 days with it
            st.event("claims_withdrawn", on)
        else:
            st.d.status = "withdrawn"
            st.event("withdrawn", on)
            lifted = lift_freeze(st.s, st.actor, st.d, on)
        docs = st.documents(documents)
        entry = {"on": on.isoformat(), "reason": reason, "deemed": deemed, "continues_on_counterclaim":
                 bool(counterclaim), "freeze_lifted": lifted, "documents": docs}
        st.note("withdrawal", entry)
        return entry | {"basis": f"{LAW} 第三十四、三十五条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="withdrawn", today=today, apply=apply)


def finalize(uow: UnitOfWork, *, actor: Principal, policy: ParcelPolicy, dispute_id: RowKey, on: dt.date,
             documents: Sequence[RowKey] = (), today: dt.date | None = None) -> dict:
    """Enforce a binding award or a signed agreement: execute its registry orders through the registry's
    services, each with its own ledger entry naming the case, then lift the freeze.

    Raises:
        RuleViolation: AWARD_NOT_BINDING (no service yet, or within the 30 days to sue), DISPUTE_STEP_ORDER
            (nothing binding to enforce, or enforced already), DATE_ORDER (before it bound), or the rule an
            order breaks (nothing changes).
    """
    def apply(st: Step) -> dict:
        st.require(st.d.status in ("mediated", "awarded"), "finalize")
        binding = binding_on(event_days(st.d), _due(st, "lawsuit"))
        if binding is None or binding > st.today:
            raise RuleViolation("AWARD_NOT_BINDING", details={"binding_on": binding and binding.isoformat()})
        if not binding <= on <= st.today:
            raise RuleViolation("DATE_ORDER", reason_zh=f"执行日期须在{binding.isoformat()}之后、今天之前",
                                reason_en=f"on must lie between {binding.isoformat()} and today")
        decided = st.d.record["agreement" if st.d.status == "mediated" else "award"]
        entries = registry_orders.execute(st.s, actor=st.actor, county=st.d.county_code, dispute_id=st.d.id,
                                          orders=decided["orders"], on=on, policy=policy)
        lifted = lift_freeze(st.s, st.actor, st.d, on)
        st.d.status = "finalized"
        st.event("finalized", on)
        docs = st.documents(documents)
        entry = {"on": on.isoformat(), "binding_on": binding.isoformat(), "entries": entries,
                 "freeze_lifted": lifted, "documents": docs}
        st.note("finalized", entry)
        return entry | {"basis": f"{LAW} 第四十八、四十九条"}
    return _act(uow, actor=actor, dispute_id=dispute_id, step="finalized", today=today, apply=apply)


def _due(st: Step, key: str) -> dt.date | None:
    return {x.key: x.due_on for x in deadlines(st.calendar, event_days(st.d),
                                               extension_days=st.d.extension_days)}.get(key)
