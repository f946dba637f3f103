"""Disputes: cases from the application on, their statutory deadlines and freezes, and the calendar
those deadlines are counted on (docs/rules.md §4; docs/disputes.md)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import ids
from app.auth.services import Principal, common_division
from app.db import UnitOfWork, coded, county_row
from app.disputes.calendar import PERIODS, deadlines, time_barred
from app.disputes.models import ENDED, Dispute
from app.errors import DomainError, Forbidden, NotFound, RuleViolation
from app.holds import services as holds
from app.ids import RowKey
from app.ledger import services as ledger
from app.parcels.models import Parcel
from app.parcels.queries import ParcelRepository
from app.parcels.services import intake_geometry, map_over_neighbours
from app.parties.models import Collective, Household, Person
from app.parties.services import head_name, visible_document
from app.queries import after_row, county_order, county_prefix
from app.rights.models import Right
from app.workdays.calendar import WorkCalendar
from app.workdays.services import work_calendar
from gis.geojson import GeometryLimits

# --- cases ----------------------------------------------------------------------------------------

#: 农村土地承包经营纠纷调解仲裁法 第五十三条: in force from this day; no application is received before it.
LAW_IN_FORCE = dt.date(2010, 1, 1)
#: Roles that run cases: the arbitration committee's staff, and admins.
CASE_ROLES = frozenset({"arbitrator", "admin"})
#: Roles that may read cases (the parties' personal data is in them).
CASE_READERS = CASE_ROLES | {"clerk", "auditor"}
#: The events that complete each deadline: until one happens the deadline is pending.
_DONE_BY = {"acceptance_decision": ("accepted", "rejected"), "copy_to_respondent": ("copy_served",),
            "defence": ("defence_filed",), "tribunal_notice": ("tribunal_notified",),
            "award_served": ("award_served",), "case_closed": ("award_made", "agreement_signed", "withdrawn"),
            "lawsuit": ("lawsuit_filed",)}
assert set(_DONE_BY) == {p.key for p in PERIODS}


def open_dispute(uow: UnitOfWork, *, actor: Principal, procedure: str, category: str, applicant: dict,
                 respondent: dict, subjects: dict, claims: str, knew_of_harm_on: dt.date, received_on: dt.date,
                 freeze: bool = False, documents: Sequence[RowKey] = (), mediator: dict | None = None,
                 today: dt.date | None = None) -> dict:
    """Record an application for mediation or arbitration, with its deadlines and evidence ``documents``;
    ``freeze`` keeps the status quo of its rights and parcels while it is open (第四十二条).

    Raises:
        Forbidden: only the committee's staff (arbitrator) or an admin opens a case.
        RuleViolation: DISPUTE_OUT_OF_SCOPE (expropriation), DATE_ORDER (harm known after the application,
            or an application dated in the future).
        NotFound: a party, right, parcel or document of the registry that is not there or not in the actor's scope.
        RuleViolation: DISPUTE_VENUE (rights and parcels of more than one county: 第二十一条).
        DomainError 422: nothing in dispute, or a party of the registry in another county.
    """
    if actor.role not in CASE_ROLES:
        raise Forbidden("只有仲裁委员会工作人员可以登记纠纷", "Only the arbitration committee's staff may open a case")
    if category == "expropriation":
        raise RuleViolation("DISPUTE_OUT_OF_SCOPE", details={"category": category})
    today = today or dt.date.today()
    if received_on > today:
        raise RuleViolation("DATE_ORDER", reason_zh="收到申请的日期晚于今天", reason_en="received_on is in the future")
    if received_on < LAW_IN_FORCE:
        raise RuleViolation("DATE_ORDER", reason_zh="农村土地承包经营纠纷调解仲裁法自2010年1月1日起施行",
                            reason_en="the law these cases run under took effect on 1 January 2010")
    if knew_of_harm_on > received_on:
        raise RuleViolation("DATE_ORDER", reason_zh="知道权利受侵害的日期晚于收到申请的日期",
                            reason_en="knew_of_harm_on is after received_on")
    rights, parcels = list(dict.fromkeys(subjects.get("rights", []))), list(dict.fromkeys(subjects.get("parcels", [])))
    counties = {code[:6] for code in rights + parcels}
    if not counties:
        raise DomainError("纠纷须指明争议的权利或地块", "name the rights or parcels in dispute",
                          status=422, errors={"subjects": ["none named"]})
    if len(counties) > 1:  # 第二十一条: the committee where the land lies
        raise RuleViolation("DISPUTE_VENUE", details={"counties": sorted(counties)},
                            errors={"subjects": [f"counties {sorted(counties)}"]})
    county = counties.pop()
    with uow:
        s = uow.session
        for right in rights:
            if not actor.sees(right) or coded(s, Right, right) is None:
                raise NotFound("权利", "Right", right)
        for code in parcels:
            if not actor.sees(code) or coded(s, Parcel, code) is None:
                raise NotFound("地块", "Parcel", code)
        parties = {role: _party(s, actor, party) for role, party in (("applicant", applicant),
                                                                     ("respondent", respondent))}
        division = case_division(county, parties, rights, parcels)
        docs = [visible_document(s, actor, i, attach_to=division) for i in dict.fromkeys(documents)]
        calendar = work_calendar(s)
        seq = ledger.next_seq(s, county)
        d = Dispute(county_code=county, division_code=division, procedure=procedure, category=category,
                    applicant=parties["applicant"], respondent=parties["respondent"], rights=rights, parcels=parcels,
                    claims=claims, knew_of_harm_on=knew_of_harm_on, received_on=received_on,
                    time_barred=time_barred(calendar, knew_of_harm_on, received_on), freeze=freeze,
                    status="received", events={"received": received_on.isoformat()}, extension_days=0,
                    record={"application": {"documents": docs}, **({"mediator": mediator} if mediator else {})},
                    opened_by=actor.name, ledger_seq=seq)
        s.add(d)
        s.flush()
        ledger.append(s, county=county, kind="dispute.opened", actor=actor,
                      subjects=[f"dispute:{d.id}", *rights, *parcels,
                                *(p.get("household") or p["code"] for p in parties.values() if p.get("code"))],
                      data={"dispute": d.id, "division": division, "procedure": procedure, "category": category,
                            "applicant": d.applicant, "respondent": d.respondent, "rights": rights, "parcels": parcels,
                            "claims": claims,
                            "knew_of_harm_on": knew_of_harm_on.isoformat(), "received_on": received_on.isoformat(),
                            "time_barred": d.time_barred, "freeze": freeze, "documents": docs, "mediator": mediator,
                            "state": d.state()})
        if freeze:
            freeze_subjects(s, actor, d, rights + parcels, received_on, "申请时请求维持现状")
        view = dispute_view(d, calendar, today=today)
        uow.commit()
    return view


def freeze_subjects(s: Session, actor: Principal, d: Dispute, subjects: list[str], on: dt.date,
                    grounds: str) -> list[str]:
    """Keep the status quo of ``subjects`` (第四十二条) for this case, those not frozen by it already;
    returns what it froze."""
    ref = f"dispute:{d.id}"
    held = {f.subject for f in holds.active_freezes(s, d.county_code, ref)}
    new = [code for code in dict.fromkeys(subjects) if code not in held]
    if not new:
        return []
    seq = ledger.append(s, county=d.county_code, kind="freeze.set", actor=actor, subjects=new,
                        data={"dispute": d.id, "subjects": new, "on": on.isoformat(), "grounds": grounds,
                              "basis": "农村土地承包经营纠纷调解仲裁法 第四十二条"})
    holds.freeze(s, new, county=d.county_code, ref=ref, reason=f"纠纷 {d.id} 审理期间维持现状", on=on, seq=seq)
    d.freeze = True
    return new


def lift_freeze(s: Session, actor: Principal, d: Dispute, on: dt.date) -> list[str]:
    """The case ended: its rights and parcels may move again. Returns what was lifted."""
    frozen = holds.active_freezes(s, d.county_code, f"dispute:{d.id}")
    if not frozen:
        return []
    subjects = [f.subject for f in frozen]
    ledger.append(s, county=d.county_code, kind="freeze.lifted", actor=actor, subjects=subjects,
                  data={"dispute": d.id, "on": on.isoformat(), "subjects": subjects})
    holds.lift(frozen, on)
    d.freeze = False  # the case no longer holds anything still
    return subjects


def case_division(county: str, parties: dict[str, dict], rights: list[str], parcels: list[str]) -> str:
    """What a case belongs to: the longest common division prefix of its parties' codes (a person by its
    household; someone outside the registry has none) and its subjects' (a right's id begins with its
    holder's code). A user acts on the case only when the scope covers all of them, that is this prefix.

    Raises:
        DomainError 422: a party of the registry outside the case's county.
    """
    codes = {role: p.get("household") or p["code"] for role, p in parties.items() if p.get("code")}
    elsewhere = {role: [f"outside county {county}"] for role, code in codes.items() if not code.startswith(county)}
    if elsewhere:
        raise DomainError("当事人须与争议的权利、地块在同一县内", "the parties of the registry must be in the "
                          "county of the rights and parcels in dispute", status=422, errors=elsewhere)
    return common_division([*codes.values(), *rights, *parcels])


def _party(s: Session, actor: Principal, party: dict) -> dict:
    """A party as the case records it: a household, person or collective of the registry (its name read
    from there), or someone outside it by name."""
    kind = party["kind"]
    if kind == "outside":
        return {"kind": kind, "name": party["name"]}
    code = str(party.get("code") or "")
    if kind == "person":  # a person of the registry by its id; in scope through its household
        key = ids.parse(code)
        person = county_row(s, Person, key) if key is not None else None
        if person is None or not actor.sees(person.household_code):
            raise NotFound("成员", "Person", code)
        return {"kind": kind, "code": code, "name": person.name, "household": person.household_code}
    what = {"household": ("农户", "Household"), "collective": ("集体经济组织", "Collective")}[kind]
    row: Household | Collective | None = coded(s, Household if kind == "household" else Collective, code)
    if row is None or not actor.sees(code):
        raise NotFound(*what, code)
    name = row.name if isinstance(row, Collective) else head_name(s, code) or code
    return {"kind": kind, "code": code, "name": name}


def get_dispute(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, today: dt.date | None = None) -> dict:
    with uow:
        s = uow.session
        d = visible_case(s, actor, dispute_id)
        return dispute_view(d, work_calendar(s), today=today or dt.date.today())


def list_disputes(uow: UnitOfWork, *, actor: Principal, overdue: bool = False, due_before: dt.date | None = None,
                  within: int | None = None, status: str | None = None, limit: int = 50, cursor: RowKey | None = None,
                  today: dt.date | None = None) -> dict:
    """The committee's dashboard: cases in scope, oldest first. ``overdue`` keeps those with a duty of the
    committee past due, ``within`` those with a deadline pending in the next so many days (both given: either);
    ``due_before`` those with a deadline pending before that day."""
    _readable(actor)
    today = today or dt.date.today()
    horizon = None if within is None else today + dt.timedelta(days=within)

    def wanted(deadlines: list[dict]) -> bool:
        if (overdue or horizon) and not any(overdue and x["overdue"] or horizon and x["pending"]
                                            and today <= x["due_on"] <= horizon for x in deadlines):
            return False
        return due_before is None or any(x["pending"] and x["due_on"] < due_before for x in deadlines)

    with uow:
        s = uow.session
        calendar = work_calendar(s)
        # covered: the scope is a prefix of every code of the case, i.e. of their common prefix
        q = select(Dispute).where(county_prefix(Dispute.county_code, actor.scope),
                                  Dispute.division_code.startswith(actor.scope, autoescape=True))
        if status:
            q = q.where(Dispute.status == status)
        if cursor:
            q = q.where(after_row(Dispute, cursor))
        q = q.order_by(*county_order(Dispute))
        if overdue or horizon or due_before:
            q = q.where(Dispute.status.notin_(ENDED))  # nothing of an ended case is pending
        else:
            q = q.limit(limit + 1)  # no filter on the deadlines: the page is the query's
        items: list[dict] = []
        more = False
        # filtered: read on, 200 at a time, until the page is full (closing the server-side cursor after)
        with closing(s.scalars(q.execution_options(yield_per=200))) as cases:
            for d in cases:
                view = dispute_view(d, calendar, today=today)
                if not wanted(list(view["deadlines"].values())):
                    continue
                if len(items) == limit:
                    more = True
                    break
                items.append(view)
    return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}


def _readable(actor: Principal) -> None:
    if actor.role not in CASE_READERS:
        raise Forbidden("您的角色无权查看纠纷案件", "Your role may not read dispute cases")


def visible_case(s: Session, actor: Principal, dispute_id: RowKey, *, lock: bool = False) -> Dispute:
    """A case whose parties and subjects the actor's scope all covers, for a role that reads cases.

    Raises:
        NotFound: no such case, or one the scope does not cover (whatever the role: its existence is not told).
        Forbidden: a role that does not read cases.
    """
    d = county_row(s, Dispute, dispute_id, lock=lock)
    if d is None or not actor.sees(d.division_code):
        raise NotFound("纠纷案件", "Dispute", dispute_id)
    _readable(actor)
    return d


def event_days(d: Dispute) -> dict[str, dt.date]:
    """Each step's day, as the deadlines count from them."""
    return {k: dt.date.fromisoformat(v) for k, v in d.events.items()}


def binding_on(events: dict[str, dt.date], sue_by: dt.date | None) -> dt.date | None:
    """The day the case's outcome binds (第四十八条): a mediation agreement the day it was signed; an award
    the day after ``sue_by`` (the end of the 30 days to sue, known once it is served) with no lawsuit.
    None while it cannot."""
    if "agreement_signed" in events:
        return events["agreement_signed"]
    if sue_by is None or "lawsuit_filed" in events:
        return None
    return sue_by + dt.timedelta(days=1)


def dispute_view(d: Dispute, calendar: WorkCalendar, *, today: dt.date) -> dict:
    """A case as the API shows it: every statutory deadline with whose it is and whether it is still
    pending or overdue (a committee's duty past due; a party's period just runs out), whether its outcome
    binds, and what each step decided. A village or township mediation has no statutory periods."""
    events = event_days(d)
    periods = deadlines(calendar, events, extension_days=d.extension_days) if d.procedure == "arbitration" else []
    due: dict[str, dict[str, Any]] = {}
    for x in periods:
        pending = d.status not in ENDED and not any(e in events for e in _DONE_BY[x.key])
        due[x.key] = {"due_on": x.due_on, "basis": x.basis, "what": x.zh, "by": x.by, "pending": pending,
                      "overdue": pending and x.by == "committee" and x.due_on < today,
                      "assumed_years": sorted(x.assumed_years)}
    binds = binding_on(events, due["lawsuit"]["due_on"] if "lawsuit" in due else None)
    return {"id": ids.of(d), "county": d.county_code, "procedure": d.procedure, "category": d.category,
            "status": d.status, "applicant": d.applicant, "respondent": d.respondent,
            "subjects": {"rights": d.rights, "parcels": d.parcels}, "claims": d.claims,
            "knew_of_harm_on": d.knew_of_harm_on, "received_on": d.received_on, "time_barred": d.time_barred,
            "freeze": d.freeze, "events": events, "deadlines": due,
            "calendar_assumed": sorted({y for x in due.values() for y in x["assumed_years"]}),
            "binding": binds is not None and binds <= today, "binding_on": binds, "extension_days": d.extension_days,
            "record": public_record(d.county_code, d.record or {}), "opened_by": d.opened_by,
            "ledger_seq": d.ledger_seq}


#: What a case's record names by number: its steps' evidence, and the persons and transfers of its orders.
_NUMBERED = {"documents", "person", "transfer"}


def public_record(county: str, record: Any) -> Any:
    """A case's record as the API shows it: the documents, persons and transfers it names (by their numbers in
    the county, as the case and its ledger entries keep them) by their registry ids."""
    if isinstance(record, list):
        return [public_record(county, x) for x in record]
    if not isinstance(record, dict):
        return record
    return {k: _public_numbers(county, v) if k in _NUMBERED else public_record(county, v) for k, v in record.items()}


def _public_numbers(county: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return ids.public_id(county, value)
    if isinstance(value, list):
        return [_public_numbers(county, v) for v in value]
    return value


def acceptance_notice_pdf(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey) -> bytes:
    """The acceptance notice (受理通知书) of an accepted case, with the deadlines its acceptance started.

    Raises:
        RuleViolation: DISPUTE_STEP_ORDER before the case is accepted (or when it was refused).
    """
    from app.disputes.documents import AcceptanceNotice, render_acceptance_notice

    with uow:
        s = uow.session
        d = visible_case(s, actor, dispute_id)
        if "accepted" not in d.events:
            raise RuleViolation("DISPUTE_STEP_ORDER", details={"status": d.status, "step": "acceptance notice"})
        accepted_on = dt.date.fromisoformat(d.events["accepted"])
        started = deadlines(work_calendar(s), {"accepted": accepted_on}, extension_days=d.extension_days)
        notice = AcceptanceNotice(
            number=f"（{accepted_on.year}）{d.county_code}农仲字第{d.id}号", applicant=d.applicant["name"],
            respondent=d.respondent["name"], claims=d.claims, received_on=d.received_on, accepted_on=accepted_on,
            deadlines=tuple((x.zh, x.due_on, x.basis) for x in started))
    return render_acceptance_notice(notice)


def _order_words(s: Session, county: str, o: dict) -> str:
    """A registry order as the award states it."""
    if o["type"] == "move_parcels":
        right = coded(s, Right, o["to_right"])
        holder = head_name(s, right.holder_code) if right else None
        return f"地块 {'、'.join(o['parcels'])} 调整至承包合同 {o['to_right']}（承包方：{holder or '—'}）"
    if o["type"] == "correct_boundary":
        return f"更正地块 {o['parcel']} 的界址，登记为该地块的新版本"
    if o["type"] == "restore_membership":
        person = county_row(s, Person, RowKey(county, o["person"]))
        return f"恢复 {person.name if person else o['person']} 在集体经济组织 {o['collective']} 的成员身份"
    if o["type"] == "restore_shares":
        return f"农户 {o['household']} 的集体收益分配份额恢复为 {o['shares']} 份"
    return f"第 {ids.public_id(county, o['transfer'])} 号流转因胁迫无效，恢复原状（{o['grounds']}）"


def award_pdf(uow: UnitOfWork, *, actor: Principal, dispute_id: RowKey, limits: GeometryLimits) -> bytes:
    """The award (裁决书) with its result, registry orders, tribunal, the time to sue and its deadlines.

    Raises:
        RuleViolation: DISPUTE_STEP_ORDER before an award is made.
    """
    from app.disputes.documents import AwardDocument, render_award

    with uow:
        s = uow.session
        d = visible_case(s, actor, dispute_id)
        a = d.record.get("award")
        if a is None:
            raise RuleViolation("DISPUTE_STEP_ORDER", details={"status": d.status, "step": "award document"})
        events = event_days(d)
        due = {x.key: x.due_on for x in deadlines(work_calendar(s), events)}
        tribunal = d.record["tribunal"]
        roles = [("独任仲裁员", x["name"]) for x in tribunal["arbitrators"]] if len(tribunal["arbitrators"]) == 1 else [
            ("首席仲裁员" if x["name"] == tribunal["presiding"] else "仲裁员", x["name"])
            for x in tribunal["arbitrators"]]
        made_on = dt.date.fromisoformat(a["on"])
        document = AwardDocument(
            number=f"（{made_on.year}）{d.county_code}农仲裁字第{d.id}号", applicant=d.applicant["name"],
            respondent=d.respondent["name"], claims=d.claims, defence=(d.record.get("defence") or {}).get("summary"),
            reasons=a["reasons"], result=a["result"],
            orders=tuple(_order_words(s, d.county_code, o) for o in a["orders"]),
            made_on=made_on, by_default=a["by_default"], tribunal=tuple(roles), dissent=a["dissent"],
            served_by=due["award_served"], served_on=events.get("award_served"), sue_by=due.get("lawsuit"),
            map_png=_orders_map(s, a["orders"], limits))
    return render_award(document)


def _orders_map(s: Session, orders: list[dict], limits: GeometryLimits) -> bytes | None:
    """The parcels an award's orders name, labelled over their neighbours: a corrected boundary as the award
    fixes it, over the boundary it corrects. None when no order names a parcel."""
    repo = ParcelRepository(s)
    targets, codes = [], []
    for o in orders:
        if o["type"] == "move_parcels":
            for code in o["parcels"]:
                if (v := repo.current(code)) is not None:
                    targets.append(v.geom)
                    codes.append(code)
        elif o["type"] == "correct_boundary":
            targets.append(intake_geometry(o["geometry"], o.get("crs"), limits))  # as the award checked it
            codes.append(o["parcel"])
    if not targets:
        return None
    corrected = frozenset(o["parcel"] for o in orders if o["type"] == "correct_boundary")
    return map_over_neighbours(repo, targets, codes, shown=corrected, image_format="jpeg")
