"""Settlements in a city (docs/rules.md §0): recording one changes, restricts and flags nothing."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app import ids
from app.auth.services import Principal
from app.db import UnitOfWork, county_row
from app.errors import NotFound, RuleViolation
from app.ids import RowKey
from app.ledger import services as ledger
from app.ledger.models import LedgerEntry
from app.parties.models import Membership, Person
from app.parties.services import require_role
from app.rights.models import Right
from app.rights.services import right_view
from app.transfers.models import Settlement
from app.transfers.opening import TRANSFER_WRITERS


def record_settlement(uow: UnitOfWork, *, actor: Principal, person_id: RowKey, settled_on: dt.date, city_code: str,
                      hukou_ref: str | None = None) -> dict:
    """Record that a member settled in a city, and answer which rights the household keeps (all of them).

    Nothing else happens: no right, membership or share is ended, restricted or flagged
    (农村土地承包法 第二十七条; 土地管理法实施条例 第三十六条; 国发〔2014〕25号).

    Raises:
        NotFound: the person is unknown or outside the actor's scope.
        RuleViolation: DATE_ORDER for a settlement in the future.
    """
    require_role(actor, TRANSFER_WRITERS)
    if settled_on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="落户日期晚于今天", reason_en="settled_on is in the future")
    with uow:
        s = uow.session
        person = county_row(s, Person, person_id)
        if person is None or not actor.sees(person.household_code):
            raise NotFound("人员", "Person", person_id)
        settlement = Settlement(person_id=person.id, household_code=person.household_code,
                                county_code=person.county_code, settled_on=settled_on, city_code=city_code,
                                hukou_ref=hukou_ref, ledger_seq=0)
        s.add(settlement)
        s.flush()
        retained = _retained(s, actor, person)
        settlement.ledger_seq = ledger.append(
            s, county=person.county_code, kind="settlement.recorded", actor=actor,
            subjects=[person.household_code, f"settlement:{settlement.id}"],
            data={"settlement": settlement.id, "person": person.id, "household": person.household_code,
                  "settled_on": settled_on.isoformat(), "city_code": city_code, "hukou_ref": hukou_ref,
                  "rights_retained": [r["id"] for r in retained["rights"]],
                  "membership_retained": retained["membership"]})
        view = settlement_view(settlement) | {"rights_retained": retained["rights"],
                                               "membership_retained": retained["membership"]}
        uow.commit()
    return view


def _retained(s, actor: Principal, person: Person) -> dict:
    rights = s.scalars(select(Right).where(Right.holder_code == person.household_code, Right.valid_to.is_(None))
                       .order_by(Right.id)).all()
    member = s.scalar(select(func.count()).select_from(Membership).where(
        Membership.person_id == person.id, Membership.valid_to.is_(None))) > 0
    summary = [{"id": r.id, "type": r.type, "parcels": [p["code"] for p in v["parcels"]],
                "shares": v["shares"]} for r in rights for v in [right_view(s, r, actor, as_of=None)]]
    return {"rights": summary, "membership": member}


def get_settlement(uow: UnitOfWork, *, actor: Principal, settlement_id: RowKey) -> dict:
    """A settlement as recorded, with the rights the household kept then (from its ledger entry, which the
    record's own ``ledger_seq`` names and whose hash is checked) and each of them as it stands today.

    Raises:
        NotFound: no such settlement, or one outside the actor's scope.
    """
    with uow:
        s = uow.session
        x = county_row(s, Settlement, settlement_id)
        if x is None or not actor.sees(x.household_code):
            raise NotFound("落户记录", "Settlement", settlement_id)
        entry = s.get(LedgerEntry, (x.county_code, x.ledger_seq))
        body = ledger.intact_body(entry) if entry is not None else None
        recorded = body.get("data") if body and body.get("kind") == "settlement.recorded" else None
        recorded = recorded if isinstance(recorded, dict) else None
        kept = [r for r in recorded.get("rights_retained", []) if isinstance(r, str)] if recorded else []
        now = {r.id: r for r in s.scalars(select(Right).where(Right.id.in_(kept)))}
        person = county_row(s, Person, RowKey(x.county_code, x.person_id))
        view = settlement_view(x) | {
            "person_name": person.name if person else None, "entry_intact": recorded is not None,
            "membership_retained": recorded.get("membership_retained") if recorded else None,
            "rights_retained": [{"id": rid, "type": now[rid].type if rid in now else None,
                                 "status_now": _status_now(now.get(rid), x.household_code)} for rid in kept]}
    return view


def _status_now(r: Right | None, household: str) -> str:
    """``held`` (still the household's and in force), ``ended`` (ended since, by a voluntary transfer, an exit or
    the term) or ``unknown`` (no such right: the entry and the tables disagree, which the replay names)."""
    if r is None:
        return "unknown"
    return "held" if r.valid_to is None and r.holder_code == household else "ended"


def list_settlements(uow: UnitOfWork, *, actor: Principal, household: str) -> list[dict]:
    """A household's settlements, oldest first (none outside the actor's scope)."""
    if not actor.sees(household):
        return []
    with uow:
        rows = uow.session.scalars(select(Settlement).where(Settlement.household_code == household)
                                   .order_by(Settlement.settled_on, Settlement.id)).all()
        return [settlement_view(x) for x in rows]


def settlement_view(x: Settlement) -> dict:
    return {"id": ids.of(x), "person": ids.public_id(x.county_code, x.person_id), "household": x.household_code,
            "settled_on": x.settled_on, "city_code": x.city_code, "hukou_ref": x.hukou_ref, "ledger_seq": x.ledger_seq}
