"""Collectives, households, persons, memberships and documents."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any, overload

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import ids
from app.auth.services import Principal, common_division
from app.db import UnitOfWork, coded, county_row
from app.errors import DomainError, Forbidden, NotFound, RuleViolation
from app.ids import RowKey
from app.ledger import services as ledger
from app.parties.models import (
    DOCUMENT_KINDS,
    LAWFUL_TERMINATION_GROUNDS,
    Collective,
    Document,
    Household,
    IdNumber,
    Membership,
    Person,
)
from app.queries import after_row, code_prefix, county_order, narrowest
from gis.codes import CodeError, mask_id_number, parse_collective_code, parse_id_number

REGISTRY_WRITERS = frozenset({"admin", "clerk"})
DOCUMENT_WRITERS = frozenset({"admin", "clerk", "exchange", "arbitrator"})
MAX_HOUSEHOLD_SERIAL = 8000  # NY/T 2539: 0001–8000 households, 8001+ individuals and organisations


def require_role(actor: Principal, roles: frozenset[str]) -> None:
    """Raises Forbidden unless ``actor`` has one of ``roles``."""
    if actor.role not in roles:
        raise Forbidden(f"角色 {actor.role} 无权执行此操作", f"Role {actor.role} may not do this")


def _today() -> dt.date:
    return dt.date.today()


def _not_future(value: dt.date, field: str) -> None:
    if value > _today():
        raise RuleViolation("DATE_ORDER", reason_zh=f"{field} 不能晚于今天",
                            reason_en=f"{field} may not be in the future", details={"field": field})


# --- collectives -------------------------------------------------------------------------

def collective_view(c: Collective) -> dict:
    return {"code": c.code, "name": c.name, "level": c.level, "county": c.county_code,
            "township": c.code[:9], "village": c.code[:12], "created_at": c.created_at,
            "ledger_seq": c.ledger_seq}


def create_collective(uow: UnitOfWork, *, actor: Principal, code: str, name: str) -> dict:
    """Register a collective economic organisation (发包方).

    Raises:
        RuleViolation: COLLECTIVE_CODE_INVALID, OUTSIDE_SCOPE, COLLECTIVE_EXISTS.
    """
    require_role(actor, REGISTRY_WRITERS)
    try:
        parsed = parse_collective_code(code)
    except CodeError as e:
        raise RuleViolation("COLLECTIVE_CODE_INVALID", reason_en=str(e), details={"code": code}) from None
    if not actor.sees(code):
        raise RuleViolation("OUTSIDE_SCOPE", details={"scope": actor.scope})
    with uow:
        s = uow.session
        if coded(s, Collective, code) is not None:
            raise RuleViolation("COLLECTIVE_EXISTS", details={"code": code})
        seq = ledger.append(s, county=parsed.county, kind="collective.registered", actor=actor,
                            subjects=[code], data={"code": code, "name": name, "level": parsed.level})
        c = Collective(code=code, county_code=parsed.county, name=name, level=parsed.level, ledger_seq=seq)
        s.add(c)
        s.flush()
        view = collective_view(c)
        uow.commit()
    return view


def visible_collective(s, actor: Principal, code: str, *, lock: bool = False) -> Collective:
    if not (isinstance(code, str) and actor.sees(code)):
        raise NotFound("发包方", "Collective", code)
    q = select(Collective).where(Collective.county_code == code[:6], Collective.code == code)
    c = s.execute(q.with_for_update(key_share=True) if lock else q).scalar_one_or_none()
    if c is None:
        raise NotFound("发包方", "Collective", code)
    return c


def get_collective(uow: UnitOfWork, *, actor: Principal, code: str) -> dict:
    with uow:
        c = visible_collective(uow.session, actor, code)
        view = collective_view(c)
        s = uow.session
        view["households"] = s.scalar(select(func.count()).select_from(Household)
                                      .where(Household.collective_code == code))
        view["members"] = s.scalar(select(func.count()).select_from(Membership)
                                   .where(Membership.collective_code == code, Membership.valid_to.is_(None)))
    return view


def list_collectives(uow: UnitOfWork, *, actor: Principal, within: str | None = None, limit: int = 50,
                     cursor: str | None = None) -> dict:
    prefix = narrowest(actor.scope, within)
    if prefix is None:
        return {"items": [], "next_cursor": None}
    with uow:
        q = select(Collective).where(code_prefix(Collective.code, prefix))
        if cursor:
            q = q.where(Collective.code > cursor)
        rows = uow.session.scalars(q.order_by(Collective.code).limit(limit + 1)).all()
    return _page([collective_view(c) for c in rows], limit, key="code")


def _page(items: list[dict], limit: int, *, key: str) -> dict:
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": str(items[-1][key]) if more else None}


# --- households and persons --------------------------------------------------------------

#: What :func:`person_view` reads, for selecting people as rows rather than ORM objects.
PERSON_COLUMNS = (Person.id, Person.name, Person.id_number, Person.sex, Person.birth_date, Person.relation,
                  Person.household_code, Person.county_code)


def person_view(p: Person, actor: Principal) -> dict:
    return {"id": ids.of(p), "name": p.name,
            "id_number": p.id_number if actor.sees_id_numbers else mask_id_number(p.id_number),
            "sex": p.sex, "birth_date": p.birth_date, "relation": p.relation,
            "household": p.household_code}


def head_name(s: Session, household: str) -> str | None:
    """The name of a household's head (``None`` for a household without one)."""
    return s.scalar(select(Person.name).where(Person.county_code == household[:6], Person.household_code == household,
                                              Person.relation == "head"))


def household_label(s: Session, code: str) -> str:
    """A household as a document names it: its head and its code."""
    return f"{head_name(s, code) or '—'}（承包方编码 {code}）"


def party_label(party: dict[str, Any]) -> str:
    """An outside party as a document names it: its name and credit code, or its masked ID number."""
    code = party.get("credit_code") or mask_id_number(party.get("id_number") or "")
    return f"{party.get('name', '—')}（{code}）"


def household_view(h: Household, actor: Principal) -> dict:
    return {"code": h.code, "collective": h.collective_code, "address": h.address,
            "created_at": h.created_at, "ledger_seq": h.ledger_seq,
            "members": [person_view(p, actor) for p in h.members]}


def _checked_person(raw: dict, relation: str, path: str) -> dict:
    try:
        parsed = parse_id_number(raw["id_number"], sex=raw.get("sex"))
    except CodeError as e:
        raise RuleViolation("ID_NUMBER_INVALID", reason_en=f"{path}.id_number: {e}",
                            reason_zh=f"{path}.id_number：{_ID_REASONS_ZH.get(e.reason, str(e))}",
                            details={"field": f"{path}.id_number", "reason": e.reason}) from None
    return {"name": raw["name"], "id_number": parsed.value, "sex": parsed.sex,
            "birth_date": parsed.birth_date, "relation": relation}


_ID_REASONS_ZH = {
    "format": "须为 17 位数字加 1 位校验码（数字或 X）",
    "area": "地址码的省级代码不存在",
    "birth_date": "出生日期不存在或不合理",
    "check_digit": "校验码错误（GB 11643）",
    "sex": "顺序码的性别与所填性别不符",
}


def register_household(uow: UnitOfWork, *, actor: Principal, collective_code: str, head: dict,
                       members: list[dict], address: str | None = None) -> dict:
    """Register a household with its head and members; assign the next 18-digit code.

    Raises:
        RuleViolation: ID_NUMBER_INVALID, PERSON_ALREADY_REGISTERED, HOUSEHOLD_CODES_EXHAUSTED.
        NotFound: the collective is unknown or outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    people = [_checked_person(head, "head", "head")]
    people += [_checked_person(m, m["relation"], f"members[{i}]") for i, m in enumerate(members)]
    numbers = [p["id_number"] for p in people]
    if len(set(numbers)) != len(numbers):
        raise RuleViolation("ID_NUMBER_INVALID", reason_zh="同一农户中身份号码重复",
                            reason_en="the same ID number appears twice in the household")
    with uow:
        s = uow.session
        collective = visible_collective(s, actor, collective_code, lock=True)
        _not_registered(s, numbers)
        last = s.scalar(select(func.max(Household.code)).where(Household.county_code == collective.county_code,
                                                               Household.collective_code == collective.code))
        serial = int(last[14:]) + 1 if last else 1
        if serial > MAX_HOUSEHOLD_SERIAL:
            raise RuleViolation("HOUSEHOLD_CODES_EXHAUSTED", details={"collective": collective.code})
        code = f"{collective.code}{serial:04d}"
        household = Household(code=code, collective_code=collective.code,
                               county_code=collective.county_code, address=address, ledger_seq=0)
        s.add(household)
        persons = [Person(household_code=code, county_code=collective.county_code, **p) for p in people]
        s.add_all(persons)
        s.flush()
        s.add_all(IdNumber(id_number=p.id_number, county_code=p.county_code, person_id=p.id) for p in persons)
        try:
            s.flush()
        except IntegrityError:  # another county's registration of a number committed since the check
            raise RuleViolation("PERSON_ALREADY_REGISTERED", details={"id_numbers": [
                mask_id_number(n) for n in numbers]}) from None
        household.ledger_seq = ledger.append(
            s, county=collective.county_code, kind="household.registered", actor=actor, subjects=[code],
            data=household_entry(code, collective.code, address, persons))
        s.flush()
        view = household_view(household, actor)
        view["members"] = [person_view(p, actor) for p in persons]
        uow.commit()
    return view


def _not_registered(s: Session, numbers: list[str]) -> None:
    """Refuse resident ID numbers registered anywhere in the registry (PERSON_ALREADY_REGISTERED)."""
    taken = s.scalars(select(IdNumber.id_number).where(IdNumber.id_number.in_(numbers))).all()
    if taken:
        raise RuleViolation("PERSON_ALREADY_REGISTERED", details={"id_numbers": [mask_id_number(n) for n in taken]})


def household_entry(code: str, collective: str, address: str | None, persons) -> dict:
    """The ledger facts of a registered household (also used by bulk loads)."""
    return {"code": code, "collective": collective, "address": address,
            "members": [{"id": p.id, "name": p.name, "id_number": p.id_number, "sex": p.sex,
                         "birth_date": p.birth_date.isoformat(), "relation": p.relation} for p in persons]}


def membership_entry(m: Membership, id_number: str) -> dict:
    """The ledger facts of a recognised membership (also used by bulk loads)."""
    return {"membership": m.id, "collective": m.collective_code, "person": m.person_id,
            "id_number": id_number, "basis": m.basis, "decided_on": m.decided_on.isoformat(),
            "resolution_document": m.resolution_document_id}


#: A household and its people in one statement (Core, compiled once): the hottest read of the registry.
_HOUSEHOLD_WITH_MEMBERS = (
    select(Household.code, Household.collective_code, Household.address, Household.created_at,
           Household.ledger_seq, Person.id, Person.name, Person.id_number, Person.sex, Person.birth_date,
           Person.relation, Household.county_code)
    .outerjoin(Person, (Person.county_code == Household.county_code) & (Person.household_code == Household.code))
    .where(Household.county_code == bindparam("county"), Household.code == bindparam("code"))
    .order_by(Person.id))


def get_household(uow: UnitOfWork, *, actor: Principal, code: str) -> dict:
    """A household and its members (:func:`household_view`), read without building ORM objects.

    Raises:
        NotFound: unknown, or outside the actor's scope.
    """
    if not actor.sees(code):
        raise NotFound("承包方", "Household", code)
    rows = uow.read(_HOUSEHOLD_WITH_MEMBERS, {"county": code[:6], "code": code})
    if not rows:
        raise NotFound("承包方", "Household", code)
    first = rows[0]
    unmasked = actor.sees_id_numbers
    return {"code": first[0], "collective": first[1], "address": first[2], "created_at": first[3],
            "ledger_seq": first[4],
            "members": [{"id": ids.public_id(r[11], r[5]), "name": r[6],
                         "id_number": r[7] if unmasked else mask_id_number(r[7]), "sex": r[8],
                         "birth_date": r[9], "relation": r[10], "household": first[0]}
                        for r in rows if r[5] is not None]}


def find_people(uow: UnitOfWork, *, actor: Principal, text: str, limit: int = 50) -> list[dict]:
    """People in the actor's scope whose ID number is ``text`` or whose name contains it, by household."""
    text = text.strip()
    if not text:
        return []
    with uow:
        q = select(Person).where(code_prefix(Person.household_code, actor.scope))
        q = q.where(Person.id_number == text.upper()) if _looks_like_id_number(text) else \
            q.where(Person.name.contains(text, autoescape=True))
        return [person_view(p, actor) for p in uow.session.scalars(
            q.order_by(Person.household_code, Person.id).limit(limit))]


def _looks_like_id_number(text: str) -> bool:
    return len(text) == 18 and text[:17].isdigit() and (text[17].isdigit() or text[17] in "xX")


def household_memberships(uow: UnitOfWork, *, actor: Principal, code: str) -> list[dict]:
    """Every membership, current and ended, of the household's people, oldest first.

    Raises:
        NotFound: the household is unknown or outside the scope.
    """
    with uow:
        s = uow.session
        if not actor.sees(code) or coded(s, Household, code) is None:
            raise NotFound("承包方", "Household", code)
        rows = s.scalars(select(Membership).join(Person, (Person.county_code == Membership.county_code)
                                                 & (Person.id == Membership.person_id))
                         .where(Person.household_code == code).order_by(Membership.valid_from, Membership.id))
        return [membership_view(m, actor) for m in rows]


def _visible_person(s, actor: Principal, person_id: RowKey) -> Person:
    p = county_row(s, Person, person_id)
    if p is None or not actor.sees(p.household_code):
        raise NotFound("人员", "Person", person_id)
    return p


# --- memberships -------------------------------------------------------------------------

def membership_view(m: Membership, actor: Principal) -> dict:
    return {"id": ids.of(m), "collective": m.collective_code, "person": person_view(m.person, actor),
            "basis": m.basis, "decided_on": m.decided_on,
            "resolution_document": ids.optional(m.county_code, m.resolution_document_id), "valid_from": m.valid_from,
            "valid_to": m.valid_to, "active": m.active, "end_ground": m.end_ground,
            "end_document": ids.optional(m.county_code, m.end_document_id), "ledger_seq": m.ledger_seq,
            "end_ledger_seq": m.end_ledger_seq}


def belongs(household_code: str, collective_code: str) -> bool:
    """Whether a household belongs to a collective economic organisation.

    A village-level organisation (group ``00``) includes the households of its groups.
    """
    prefix = collective_code[:12] if collective_code.endswith("00") else collective_code
    return household_code.startswith(prefix)


@overload
def visible_document(s, actor: Principal, doc_id: RowKey, *, attach_to: str | None = None) -> int: ...
@overload
def visible_document(s, actor: Principal, doc_id: None, *, attach_to: str | None = None) -> None: ...
@overload
def visible_document(s, actor: Principal, doc_id: RowKey | None, *, attach_to: str | None = None) -> int | None: ...
def visible_document(s, actor: Principal, doc_id: RowKey | None, *, attach_to: str | None = None) -> int | None:
    """A document the actor's scope covers, by id, as its number in its county; ``attach_to`` (the
    division-derived code of the membership, right, transfer or case it is being attached to) makes it that
    object's: the first attachment narrows it to the object, a later one widens it to what both share, so
    everyone who reads it covers all it is attached to. The change is part of the caller's transaction.

    Raises:
        NotFound: unknown, outside the actor's scope, or another county's than ``attach_to``'s (a county's
            records cite the county's own documents).
    """
    if doc_id is None:
        return None
    d = county_row(s, Document, doc_id)
    if d is None or not actor.sees(d.division_code) or (attach_to is not None and attach_to[:6] != d.county_code):
        raise NotFound("文件", "Document", doc_id)
    if attach_to is not None:
        d.division_code = common_division([d.division_code, attach_to] if d.attached else [attach_to])
        d.attached = True
    return d.id


def _membership_parties(s, actor: Principal, collective_code: str, person_id: RowKey,
                        document: RowKey | None) -> tuple[Collective, Person, int | None]:
    return (visible_collective(s, actor, collective_code), _visible_person(s, actor, person_id),
            visible_document(s, actor, document, attach_to=collective_code))


def recognise_member(uow: UnitOfWork, *, actor: Principal, collective_code: str, person_id: RowKey,
                     basis: str, decided_on: dt.date, resolution_document: RowKey | None = None) -> dict:
    """Record that a person is a member of a collective economic organisation.

    Raises:
        RuleViolation: PERSON_NOT_IN_COLLECTIVE, ALREADY_A_MEMBER, MEMBER_OF_OTHER_COLLECTIVE, DATE_ORDER.
        NotFound: collective, person or document unknown or outside scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    with uow:
        m = recognise(uow.session, actor=actor, collective_code=collective_code, person_id=person_id, basis=basis,
                      decided_on=decided_on, resolution_document=resolution_document)
        view = membership_view(m, actor)
        uow.commit()
    return view


def recognise(s: Session, *, actor: Principal, collective_code: str, person_id: RowKey, basis: str,
              decided_on: dt.date, resolution_document: RowKey | None = None,
              cause: dict | None = None) -> Membership:
    """Recognise a membership inside the caller's transaction (the body of :func:`recognise_member`).

    No role check and no commit: the caller authorises and commits. ``cause`` (an award's order, say)
    goes into the ledger entry when given.

    Raises:
        RuleViolation: PERSON_NOT_IN_COLLECTIVE, ALREADY_A_MEMBER, MEMBER_OF_OTHER_COLLECTIVE, DATE_ORDER.
        NotFound: collective, person or document unknown or outside scope.
    """
    _not_future(decided_on, "decided_on")
    collective, person, doc = _membership_parties(s, actor, collective_code, person_id, resolution_document)
    ledger.lock_log(s, collective.county_code)
    if not belongs(person.household_code, collective.code):
        raise RuleViolation("PERSON_NOT_IN_COLLECTIVE",
                            details={"household": person.household_code, "collective": collective.code})
    if decided_on < person.birth_date:
        raise RuleViolation("DATE_ORDER", reason_zh="决议日期早于出生日期",
                            reason_en="decided_on is before the person's birth date")
    current = s.scalar(select(Membership).where(Membership.person_id == person.id,
                                                Membership.valid_to.is_(None)))
    if current is not None:
        rule = "ALREADY_A_MEMBER" if current.collective_code == collective.code else "MEMBER_OF_OTHER_COLLECTIVE"
        raise RuleViolation(rule, details={"collective": current.collective_code,
                                           "membership": ids.of(current)})
    m = Membership(collective_code=collective.code, person_id=person.id,
                   county_code=collective.county_code, basis=basis, decided_on=decided_on,
                   resolution_document_id=doc, valid_from=decided_on, ledger_seq=0)
    s.add(m)
    s.flush()
    data = membership_entry(m, person.id_number) | ({"cause": cause} if cause is not None else {})
    m.ledger_seq = ledger.append(s, county=collective.county_code, kind="membership.recognised", actor=actor,
                                 subjects=[collective.code, person.household_code], data=data)
    s.flush()
    return m


def restore_membership(s: Session, *, actor: Principal, collective_code: str, person_id: RowKey, on: dt.date,
                       cause: dict) -> int:
    """Recognise again a person whose membership of the collective was ended unlawfully (an award's order).

    The new membership takes the basis of the person's last ended membership of that collective and
    begins ``on`` (not before that membership ended). Inside the caller's transaction: no role check,
    no commit.

    Returns:
        The ``seq`` of the ``membership.recognised`` entry, which carries ``cause``.

    Raises:
        RuleViolation: NOT_A_MEMBER (the person never was a member of that collective),
            PERSON_NOT_IN_COLLECTIVE, ALREADY_A_MEMBER, MEMBER_OF_OTHER_COLLECTIVE,
            DATE_ORDER (``on`` in the future, before the birth date or before the last membership ended).
        NotFound: collective or person unknown or outside scope.
    """
    collective = visible_collective(s, actor, collective_code)
    person = _visible_person(s, actor, person_id)
    ledger.lock_log(s, collective.county_code)
    last = s.scalar(select(Membership).where(
        Membership.person_id == person.id, Membership.collective_code == collective.code,
        Membership.valid_to.is_not(None)).order_by(Membership.valid_to.desc(), Membership.id.desc()).limit(1))
    if last is None:
        raise RuleViolation("NOT_A_MEMBER", reason_zh="此人从未是该集体经济组织成员，无可恢复的成员身份",
                            reason_en="the person never was a member of this collective: nothing to restore",
                            details={"person": ids.of(person), "collective": collective.code,
                                     "reason": "never a member of this collective"})
    assert last.valid_to is not None, "the query takes only memberships that ended"
    if on < last.valid_to:
        raise RuleViolation("DATE_ORDER", reason_zh="恢复日期早于原成员身份终止日期",
                            reason_en="on is before the last membership ended",
                            details={"membership": ids.of(last), "ended_on": last.valid_to.isoformat()})
    m = recognise(s, actor=actor, collective_code=collective.code, person_id=person_id, basis=last.basis,
                  decided_on=on, cause=cause)
    return m.ledger_seq


def terminate_membership(uow: UnitOfWork, *, actor: Principal, collective_code: str, person_id: RowKey,
                         ground: str, decided_on: dt.date, resolution_document: RowKey | None = None) -> dict:
    """End a membership on a lawful ground only (农村集体经济组织法 第十七、十八条).

    Settling in a city, study, military service, work elsewhere, divorce or
    prison are never grounds; they are refused with MEMBERSHIP_GROUND_NOT_LAWFUL.

    Raises:
        RuleViolation: MEMBERSHIP_GROUND_NOT_LAWFUL, NOT_A_MEMBER, DATE_ORDER.
    """
    require_role(actor, REGISTRY_WRITERS)
    if ground not in LAWFUL_TERMINATION_GROUNDS:
        raise RuleViolation("MEMBERSHIP_GROUND_NOT_LAWFUL",
                            details={"ground": ground, "lawful_grounds": list(LAWFUL_TERMINATION_GROUNDS)})
    _not_future(decided_on, "decided_on")
    with uow:
        s = uow.session
        collective, person, doc = _membership_parties(s, actor, collective_code, person_id, resolution_document)
        m = s.execute(select(Membership).where(
            Membership.person_id == person.id, Membership.collective_code == collective.code,
            Membership.valid_to.is_(None), Membership.county_code == collective.county_code,
        ).with_for_update(of=Membership, key_share=True)).scalar_one_or_none()
        if m is None:
            raise RuleViolation("NOT_A_MEMBER", details={"person": ids.of(person), "collective": collective.code})
        if decided_on < m.valid_from:
            raise RuleViolation("DATE_ORDER", reason_zh="终止日期早于成员身份确认日期",
                                reason_en="decided_on is before the membership began")
        m.valid_to, m.end_ground, m.end_document_id = decided_on, ground, doc
        m.end_ledger_seq = ledger.append(
            s, county=collective.county_code, kind="membership.terminated", actor=actor,
            subjects=[collective.code, person.household_code],
            data={"membership": m.id, "collective": collective.code, "person": person.id,
                  "ground": ground, "decided_on": decided_on.isoformat(), "resolution_document": doc})
        s.flush()
        view = membership_view(m, actor)
        uow.commit()
    return view


def list_members(uow: UnitOfWork, *, actor: Principal, collective_code: str, active: bool | None,
                 limit: int, cursor: RowKey | None) -> dict:
    with uow:
        s = uow.session
        visible_collective(s, actor, collective_code)
        q = select(Membership).where(Membership.collective_code == collective_code)
        if active is not None:
            q = q.where(Membership.valid_to.is_(None) if active else Membership.valid_to.is_not(None))
        if cursor:
            q = q.where(after_row(Membership, cursor))
        rows = s.scalars(q.order_by(*county_order(Membership)).limit(limit + 1)).all()
        items = [membership_view(m, actor) for m in rows]
    return _page(items, limit, key="id")


# --- documents ---------------------------------------------------------------------------

def _document_county(actor: Principal, county: str | None) -> str:
    county = county or (actor.scope[:6] if len(actor.scope) >= 6 else None)
    if county is None or not (len(county) == 6 and county.isdigit()):
        raise DomainError("请用 county 字段给出文件所属县级行政区划代码（6 位）",
                          "Give the document's 6-digit county code in the `county` field",
                          status=422, errors={"county": ["required"]})
    if not actor.overlaps(county):
        raise RuleViolation("OUTSIDE_SCOPE", details={"scope": actor.scope})
    return county


def _upload_division(actor: Principal, county: str) -> str:
    """Whose a document is until it is attached: the uploader's scope, or its county when that is narrower
    (an admin or a province's user names the county)."""
    return actor.scope if actor.scope.startswith(county) else county


def store_document(uow: UnitOfWork, *, actor: Principal, stream: IO[bytes], filename: str,
                   content_type: str, kind: str, title: str, storage: Path, county: str | None = None,
                   max_bytes: int) -> dict:
    """Store an evidence file by its SHA-256 and record it.

    The file is streamed to disk in chunks and counted, so a large upload never sits in memory.

    Raises:
        RuleViolation: DOCUMENT_TOO_LARGE, OUTSIDE_SCOPE.
        DomainError: 422 for an unknown kind or missing county.
    """
    require_role(actor, DOCUMENT_WRITERS)
    if kind not in DOCUMENT_KINDS:
        raise DomainError(f"kind 必须是 {', '.join(DOCUMENT_KINDS)} 之一",
                          f"kind must be one of {', '.join(DOCUMENT_KINDS)}", status=422,
                          errors={"kind": ["invalid"]})
    county = _document_county(actor, county)
    storage.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=storage, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise RuleViolation("DOCUMENT_TOO_LARGE", details={"limit": max_bytes})
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        os.replace(tmp, storage / sha)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    with uow:
        s = uow.session
        doc = Document(county_code=county, division_code=_upload_division(actor, county), attached=False,
                       kind=kind, title=title, filename=_safe_filename(filename),
                       content_type=media_type(content_type), sha256=sha, size=size,
                       uploaded_by=actor.name, ledger_seq=ledger.next_seq(s, county))
        s.add(doc)
        s.flush()
        ledger.append(s, county=county, kind="document.stored", actor=actor, subjects=[f"document:{doc.id}"],
                      data={"id": doc.id, "kind": kind, "title": doc.title, "filename": doc.filename,
                            "sha256": sha, "size": size})
        view = document_view(doc)
        uow.commit()
    return view


#: RFC 6838 §4.2: type "/" subtype, each a restricted-name (a letter or digit, then up to 126 of these).
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
UNKNOWN_MEDIA_TYPE = "application/octet-stream"


def media_type(value: str | None) -> str:
    """The ``type/subtype`` of a Content-Type, lowercased and without parameters, if it is a valid RFC 6838
    media type that fits the column; otherwise ``application/octet-stream``.

    What a client calls its upload is only a label for the download, and a header value the server will
    refuse to send (a control character, say) would make the document unreadable for good.
    """
    essence = (value or "").split(";", 1)[0].strip()
    if len(essence) > 100 or not _MEDIA_TYPE.fullmatch(essence):
        return UNKNOWN_MEDIA_TYPE
    return essence.lower()


def _safe_filename(name: str) -> str:
    # The name only labels the download; the bytes are stored under their hash.
    return re.sub(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff/\\]", "_", name)[:300] or "upload"


def document_view(d: Document) -> dict[str, Any]:
    return {"id": ids.of(d), "kind": d.kind, "title": d.title, "filename": d.filename,
            "content_type": d.content_type, "sha256": d.sha256, "size": d.size, "county": d.county_code,
            "created_at": d.created_at, "ledger_seq": d.ledger_seq}


def open_document(uow: UnitOfWork, *, actor: Principal, document_id: RowKey, storage: Path) -> tuple[dict, Path]:
    """The document's record and the path of its bytes.

    Raises:
        NotFound: unknown, outside scope, or its file is missing.
    """
    with uow:
        d = county_row(uow.session, Document, document_id)
        if d is None or not actor.sees(d.division_code):
            raise NotFound("文件", "Document", document_id)
        view = document_view(d)
    # Whatever was stored (before uploads were checked, say), the headers of the download are always sendable.
    view |= {"content_type": media_type(view["content_type"]), "filename": _safe_filename(view["filename"])}
    path = storage / view["sha256"]
    if not path.exists():
        raise NotFound("文件内容", "Document content", document_id)
    return view, path
