"""Settlements in a city (docs/rules.md §0): recording one changes, restricts and flags nothing."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.auth.services import Principal
from app.db import UnitOfWork
from app.errors import NotFound, RuleViolation
from app.ledger import services as ledger
from app.parties.models import Membership, Person
from app.parties.services import require_role
from app.rights.models import Right
from app.rights.services import (
    right_view,
)
from app.transfers.models import (
    Settlement,
)
from app.transfers.opening import TRANSFER_WRITERS


def record_settlement(uow: UnitOfWork, *, actor: Principal, person_id: int, settled_on: dt.date, city_code: str,
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
        person = s.get(Person, person_id)
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


def settlement_view(x: Settlement) -> dict:
    return {"id": x.id, "person": x.person_id, "household": x.household_code, "settled_on": x.settled_on,
            "city_code": x.city_code, "hukou_ref": x.hukou_ref, "ledger_seq": x.ledger_seq}
