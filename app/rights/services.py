"""Rights: land contracts, homesteads and income shares, their rules, and queries over time."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Date, Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from app import ids
from app.auth.services import Principal
from app.db import UnitOfWork, coded
from app.errors import DomainError, NotFound, RuleViolation
from app.holds import services as holds
from app.ids import RowKey
from app.ledger import services as ledger
from app.ledger.models import LedgerSubject
from app.parcels.models import ParcelVersion
from app.parties.models import Collective, Household, Membership, Person
from app.parties.services import (
    PERSON_COLUMNS,
    REGISTRY_WRITERS,
    belongs,
    person_view,
    require_role,
    visible_collective,
    visible_document,
)
from app.rights.models import (
    CODE_LENGTH,
    ID_SUFFIX,
    HouseDisposal,
    Right,
    RightParcel,
    RightShares,
    SharePlan,
    right_id_for,
)
from gis.area import m2_to_mu

#: 农村土地承包法 第二十一条: term in whole years by land use (min, max). Garden and
#: other farmland follow cultivated land, the law's default.
CONTRACT_TERM_YEARS = {"cultivated": (30, 30), "garden": (30, 30), "other": (30, 30),
                       "grassland": (30, 50), "forest": (30, 70)}


@dataclass(frozen=True)
class RightsPolicy:
    #: how far ahead a term may start (contracts are signed before the round begins).
    max_start_ahead_days: int = 1830
    #: homestead area standard where the collective has none of its own.
    homestead_max_m2: float = 300.0


def term_years(start: dt.date, end: dt.date) -> int | None:
    """Whole years of a term written with an inclusive end (2028-01-01 to 2057-12-31 is 30), else None."""
    if end >= dt.date.max:  # no day after it: never a whole-year term
        return None
    after = end + dt.timedelta(days=1)
    years = after.year - start.year
    try:
        whole = start.replace(year=after.year)
    except ValueError:  # 29 February
        whole = start.replace(year=after.year, day=28) + dt.timedelta(days=1)
    return years if whole == after else None


def check_contract_term(start: dt.date, end: dt.date, land_uses: set[str]) -> None:
    years = term_years(start, end)
    for use in sorted(land_uses):
        low, high = CONTRACT_TERM_YEARS.get(use, (30, 30))
        if years is None or not low <= years <= high:
            span = f"{low}" if low == high else f"{low}–{high}"
            raise RuleViolation("TERM_NOT_LAWFUL", details={"land_use": use, "start": start.isoformat(),
                                                            "end": end.isoformat(), "lawful_years": [low, high]},
                                reason_zh=f"{use} 的承包期应为 {span} 年（含终止日）",
                                reason_en=f"a {use} contract runs {span} whole years (end date inclusive)")


def check_dates(start: dt.date, end: dt.date | None, policy: RightsPolicy) -> None:
    if end is not None and end < start:
        raise RuleViolation("DATE_ORDER", reason_zh="终止日期早于起始日期", reason_en="end is before start")
    if start > dt.date.today() + dt.timedelta(days=policy.max_start_ahead_days):
        raise RuleViolation("DATE_ORDER", reason_zh="起始日期超出允许的提前范围",
                            reason_en="start lies too far in the future",
                            details={"max_start_ahead_days": policy.max_start_ahead_days})


def _visible_household(s, actor: Principal, code: str) -> Household:
    h = coded(s, Household, code) if isinstance(code, str) and actor.sees(code) else None
    if h is None:
        raise NotFound("承包方", "Household", code)
    return h


def rights_under(s, code: str) -> list[Right]:
    """Every right the household has had under the printed ``code``, first to latest."""
    # A right's id starts with its holder's code, which never changes: the holder's index finds the few
    # candidates (a LIKE on the id is a full scan of every right on PostgreSQL, whose collation is not "C").
    rows = s.scalars(_RIGHTS_UNDER, {"county": code[:6], "holder": code[:CODE_LENGTH - 1], "code": code,
                                     "later": code + "-"}).all()
    return sorted(rows, key=lambda r: r.number)


# Built once: a read's statements are the same every time but for their parameters, and building and keying
# a statement per request was a third of reading a right.
_RIGHTS_UNDER = select(Right).where(Right.county_code == bindparam("county"), Right.holder_code == bindparam("holder"),
                                    or_(Right.id == bindparam("code"), Right.id.startswith(bindparam("later"))))


def find_right(s, actor: Principal, ref: str, as_of: dt.date | None = None) -> Right | None:
    """The right ``ref`` names, inside the actor's scope, or None.

    A 19-character code names the household's right under it that was in force on ``as_of`` (when
    given), else its right in force now, else its latest; a longer id (``<code>-<n>``) names that
    right itself.
    """
    if not isinstance(ref, str) or not actor.sees(ref):
        return None
    if len(ref) != CODE_LENGTH:
        return coded(s, Right, ref)
    rows = rights_under(s, ref)
    alive = [r for r in rows if as_of is not None and r.valid_from <= as_of
             and (r.valid_to is None or r.valid_to > as_of)]
    chosen = alive or [r for r in rows if r.valid_to is None] or rows
    return chosen[-1] if chosen else None


def next_right_id(s, code: str) -> str:
    """The id for the household's next right under ``code``: the code itself first, then ``<code>-2`` …"""
    rows = rights_under(s, code)
    return right_id_for(code, rows[-1].number + 1 if rows else 1)


def open_contract(s, household: str, *, lock: bool = False) -> Right | None:
    """The household's family contract in force now (at most one: uq_rights_holder_type_open)."""
    return s.scalar(_OPEN_CONTRACT_LOCKED if lock else _OPEN_CONTRACT,
                    {"county": household[:6], "household": household})


_OPEN_CONTRACT = select(Right).where(Right.county_code == bindparam("county"),
                                     Right.holder_code == bindparam("household"),
                                     Right.type == "contract", Right.valid_to.is_(None))
_OPEN_CONTRACT_LOCKED = _OPEN_CONTRACT.with_for_update(key_share=True)


def _returned_land():
    """The household's earliest returned parcel in a contract whose term meets [start, end] (made once: the
    three aliases cost about 4 ms to build per call)."""
    closed, received, back = aliased(RightParcel), aliased(RightParcel), aliased(RightParcel)
    return (select(closed.end_ledger_seq, closed.county_code, closed.valid_to, Right.id, Right.start, Right.end)
            .join(Right, (Right.county_code == closed.county_code) & (Right.id == closed.right_id))
            .where(closed.county_code == bindparam("county"), Right.holder_code == bindparam("household"),
                   Right.type == "contract", Right.start <= bindparam("end"), Right.end >= bindparam("start"),
                   closed.end_ledger_seq.is_not(None),
                   ~exists().where(received.county_code == closed.county_code,
                                   received.parcel_code == closed.parcel_code,
                                   received.ledger_seq == closed.end_ledger_seq),
                   ~exists().where(back.county_code == closed.county_code, back.parcel_code == closed.parcel_code,
                                   back.right_id == closed.right_id, back.ledger_seq > closed.end_ledger_seq))
            .order_by(closed.valid_to, closed.end_ledger_seq).limit(1))


_RETURNED_LAND = _returned_land()


def check_no_new_land_after_return(s, household: str, start: dt.date, end: dt.date) -> None:
    """Refuse contract land for a term that overlaps the term of a contract the household returned land from.

    农村土地承包法 第三十条: 承包方在承包期内交回承包地的，在承包期内不得再要求承包土地. Returned land is a
    parcel that left one of the household's contracts for that term to no one: the entry that closed its link
    (an ``exit``'s completion) opened no link of the parcel, where a 转让, an exchange or an award's move
    open the receiver's in the same entry; and it did not come back to that contract (an exit voided by an
    award links it again). A contract for a later term is fine.

    Raises:
        RuleViolation: NO_NEW_LAND_AFTER_RETURN, naming the entry (and its transfer) that returned the land.
    """
    returned = s.execute(_RETURNED_LAND, {"county": household[:6], "household": household, "start": start,
                                          "end": end}).first()
    if returned is not None:
        seq, county, on, right, term_start, term_end = returned
        by = s.scalar(select(LedgerSubject.subject).where(LedgerSubject.log == county, LedgerSubject.seq == seq,
                                                          LedgerSubject.subject.like("transfer:%")))
        by_transfer = ids.public_id(county, int(by.split(":")[1])) if by else None
        raise RuleViolation("NO_NEW_LAND_AFTER_RETURN", details={
            "household": household, "returned_by_transfer": by_transfer,
            "returned_in_entry": seq, "returned_on": on.isoformat(), "right": right,
            "term": [term_start.isoformat(), term_end.isoformat()], "requested": [start.isoformat(), end.isoformat()]})


def _current_versions(s, actor: Principal, codes: list[str]) -> list[ParcelVersion]:
    if len(set(codes)) != len(codes):
        raise DomainError("同一地块在请求中出现两次", "the same parcel appears twice", status=422,
                          errors={"parcels": ["duplicate codes"]})
    found = {v.parcel_code: v for v in s.scalars(select(ParcelVersion).where(
        ParcelVersion.parcel_code.in_(codes), ParcelVersion.valid_to.is_(None)))}
    for code in codes:
        if code not in found or not actor.sees(code):
            raise NotFound("地块", "Parcel", code)
    return [found[c] for c in codes]


def _parcels_of_kind(s, actor: Principal, household: Household, codes: list[str], kind: str) -> list[ParcelVersion]:
    """Current versions of ``codes``, each of ``kind`` and of the household's collective.

    Raises:
        RuleViolation: PARCEL_KIND_MISMATCH; NOT_A_MEMBER (农村土地承包法 第十六条).
    """
    versions = _current_versions(s, actor, codes)
    wrong_kind = [v.parcel_code for v in versions if v.kind != kind]
    if wrong_kind:
        raise RuleViolation("PARCEL_KIND_MISMATCH", details={"parcels": wrong_kind, "required": kind})
    foreign = [v.parcel_code for v in versions if not belongs(household.code, v.collective_code)]
    if foreign:
        raise RuleViolation("NOT_A_MEMBER", details={"holder": household.code, "parcels": foreign})
    return versions


def contract_entry(right: Right, links: list[RightParcel]) -> dict:
    """The ledger facts of a contract registered or extended with ``links`` (also used by bulk loads)."""
    assert right.end is not None, "a contract's term has an end"
    return {"right": right.id, "holder": right.holder_code, "start": right.start.isoformat(),
            "end": right.end.isoformat(), "acquisition": right.acquisition,
            "parcels": [{"code": link.parcel_code, "contract_area_m2": float(_contract_area(link)),
                         "valid_from": link.valid_from.isoformat()} for link in links]}


def _contract_area(link: RightParcel) -> float:
    assert link.contract_area_m2 is not None, "a contract's links carry a contract area (a homestead's has none)"
    return link.contract_area_m2


def homestead_entry(right: Right, parcel: str, area_m2: float, standard_m2: float) -> dict:
    """The ledger facts of a registered homestead right (also used by bulk loads)."""
    return {"right": right.id, "holder": right.holder_code, "parcel": parcel,
            "approved_on": right.start.isoformat(), "approval_document": right.approval_document_id,
            "area_m2": round(area_m2, 2), "standard_m2": standard_m2}


def shares_entry(right_id: str, holder: str, shares: Decimal | int, plan_total) -> dict:
    """The ledger facts of a household's shares (also used by bulk loads)."""
    return {"right": right_id, "holder": holder, "shares": str(shares), "plan_total": str(plan_total)}


def plan_entry(collective: str, total_shares, max_holding, whole_shares: bool) -> dict:
    """The ledger facts of a share plan (also used by bulk loads)."""
    return {"collective": collective, "total_shares": str(total_shares),
            "max_holding_per_household": None if max_holding is None else str(max_holding),
            "whole_shares": whole_shares}


def register_contract(uow: UnitOfWork, *, actor: Principal, policy: RightsPolicy, holder: str,
                      parcels: list[str], start: dt.date, end: dt.date,
                      acquisition: str = "family_contract") -> dict:
    """Register a household's family contract, or extend it with more parcels.

    Raises:
        RuleViolation: TERM_NOT_LAWFUL, PARCEL_KIND_MISMATCH, NOT_A_MEMBER, PARCEL_ALREADY_CONTRACTED,
            CONTRACT_TERM_MISMATCH, DATE_ORDER.
        NotFound: the household or a parcel is unknown or outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    check_dates(start, end, policy)
    with uow:
        s = uow.session
        household = _visible_household(s, actor, holder)
        ledger.lock_log(s, household.county_code)
        versions = _parcels_of_kind(s, actor, household, parcels, "contract_land")
        check_contract_term(start, end, {v.land_use for v in versions})
        check_no_new_land_after_return(s, household.code, start, end)
        taken = s.execute(select(RightParcel.parcel_code, RightParcel.right_id).where(
            RightParcel.parcel_code.in_(parcels), RightParcel.valid_to.is_(None))).all()
        if taken:
            raise RuleViolation("PARCEL_ALREADY_CONTRACTED",
                                details={"parcels": [{"code": c, "right": r} for c, r in taken]})
        right = open_contract(s, household.code, lock=True)
        kind = "right.contract.extended"
        if right is None:  # the first contract, or one after the last ended (a later term, or land again)
            kind = "right.contract.registered"
            right = Right(id=next_right_id(s, household.code + ID_SUFFIX["contract"]), type="contract",
                          holder_code=household.code,
                          collective_code=household.collective_code, county_code=household.county_code,
                          start=start, end=end, acquisition=acquisition, valid_from=start, ledger_seq=0)
            s.add(right)
        elif (right.start, right.end) != (start, end):
            assert right.end is not None, "a contract's term has an end"
            raise RuleViolation("CONTRACT_TERM_MISMATCH", details={
                "right": right.id, "start": right.start.isoformat(), "end": right.end.isoformat()})
        links = [RightParcel(right_id=right.id, parcel_code=v.parcel_code, county_code=v.county_code,
                             contract_area_m2=round(float(v.declared_area_m2 or v.area_m2), 2),
                             valid_from=max(start, dt.date.today()) if kind.endswith("extended") else start,
                             ledger_seq=0) for v in versions]
        seq = ledger.append(s, county=household.county_code, kind=kind, actor=actor,
                            subjects=[right.id, household.code, *parcels],
                            data=contract_entry(right, links))
        if kind.endswith("registered"):
            right.ledger_seq = seq
        for link in links:
            link.ledger_seq = seq
        s.add_all(links)
        s.flush()
        view = right_view(s, right, actor, as_of=None)
        uow.commit()
    return view


def register_right(uow: UnitOfWork, *, actor: Principal, policy: RightsPolicy, type: str, **fields) -> dict:
    """Register a right of the given type (the body of ``POST /rights``)."""
    if type == "contract":
        return register_contract(uow, actor=actor, policy=policy, **fields)
    if type == "homestead":
        return register_homestead(uow, actor=actor, policy=policy, **fields)
    return register_income_share(uow, actor=actor, **fields)


def register_homestead(uow: UnitOfWork, *, actor: Principal, policy: RightsPolicy, holder: str, parcel: str,
                       approved_on: dt.date, approval_document: RowKey | None = None) -> dict:
    """Register a homestead use right (宅基地使用权) on an approved homestead plot.

    Raises:
        RuleViolation: ONE_HOMESTEAD_PER_HOUSEHOLD, HOMESTEAD_AREA_EXCEEDS_STANDARD,
            HOMESTEAD_REAPPLICATION_BARRED, PARCEL_KIND_MISMATCH, NOT_A_MEMBER, PARCEL_ALREADY_HELD, DATE_ORDER.
        NotFound: the household, parcel or document is unknown or outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    check_dates(approved_on, None, policy)
    with uow:
        s = uow.session
        household = _visible_household(s, actor, holder)
        ledger.lock_log(s, household.county_code)
        (version,) = _parcels_of_kind(s, actor, household, [parcel], "homestead")
        doc = visible_document(s, actor, approval_document, attach_to=household.code)
        disposal = s.scalar(select(HouseDisposal).where(HouseDisposal.household_code == household.code)
                            .order_by(HouseDisposal.occurred_on).limit(1))
        if disposal is not None:
            raise RuleViolation("HOMESTEAD_REAPPLICATION_BARRED", details={
                "disposal": disposal.kind, "occurred_on": disposal.occurred_on.isoformat()})
        held = coded(s, Right, household.code + ID_SUFFIX["homestead"])
        if held is not None and held.valid_to is None:
            raise RuleViolation("ONE_HOMESTEAD_PER_HOUSEHOLD", details={"right": held.id})
        if held is not None:  # a homestead given up (e.g. a paid exit) is not granted again
            assert held.valid_to is not None, "one in force was refused just above"
            raise RuleViolation("HOMESTEAD_REAPPLICATION_BARRED", details={
                "right": held.id, "ended_on": held.valid_to.isoformat()})
        collective = coded(s, Collective, household.collective_code)
        assert collective is not None, "a household's collective_code is a foreign key to collectives"
        standard = float(collective.homestead_max_m2 or policy.homestead_max_m2)
        if round(version.area_m2, 2) > standard:
            raise RuleViolation("HOMESTEAD_AREA_EXCEEDS_STANDARD", details={
                "area_m2": round(version.area_m2, 2), "standard_m2": standard})
        occupied = s.scalar(select(RightParcel.right_id).where(RightParcel.parcel_code == parcel,
                                                                RightParcel.valid_to.is_(None)))
        if occupied is not None:
            raise RuleViolation("PARCEL_ALREADY_HELD", details={"parcel": parcel, "right": occupied})
        right = Right(id=household.code + ID_SUFFIX["homestead"], type="homestead", holder_code=household.code,
                      collective_code=household.collective_code, county_code=household.county_code,
                      start=approved_on, approval_document_id=doc, valid_from=approved_on, ledger_seq=0)
        link = RightParcel(right_id=right.id, parcel_code=parcel, county_code=household.county_code,
                           valid_from=approved_on, ledger_seq=0)
        right.ledger_seq = link.ledger_seq = ledger.append(
            s, county=household.county_code, kind="right.homestead.registered", actor=actor,
            subjects=[right.id, household.code, parcel],
            data=homestead_entry(right, parcel, version.area_m2, standard))
        s.add(right)
        s.flush()
        s.add(link)
        s.flush()
        view = right_view(s, right, actor, as_of=None)
        uow.commit()
    return view


def record_house_disposal(uow: UnitOfWork, *, actor: Principal, household: str, kind: str,
                          occurred_on: dt.date, document: RowKey | None = None) -> dict:
    """Record that a household sold, rented out or gave away its house (土地管理法 第六十二条)."""
    require_role(actor, REGISTRY_WRITERS)
    if occurred_on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="日期不能晚于今天", reason_en="occurred_on is in the future")
    with uow:
        s = uow.session
        h = _visible_household(s, actor, household)
        doc = visible_document(s, actor, document, attach_to=h.code)
        event = HouseDisposal(household_code=h.code, county_code=h.county_code, kind=kind,
                              occurred_on=occurred_on, document_id=doc, ledger_seq=0)
        s.add(event)
        s.flush()
        event.ledger_seq = ledger.append(s, county=h.county_code, kind="household.house_disposed", actor=actor,
                                         subjects=[h.code], data={"id": event.id, "household": h.code,
                                                                  "kind": kind, "occurred_on": occurred_on.isoformat(),
                                                                  "document": doc})
        view = {"id": ids.of(event), "household": h.code, "kind": kind, "occurred_on": occurred_on,
                "document": ids.optional(h.county_code, doc), "ledger_seq": event.ledger_seq}
        uow.commit()
    return view


def set_homestead_standard(uow: UnitOfWork, *, actor: Principal, collective: str, max_m2: float | None) -> dict:
    """Set (or clear, with None) a collective's own homestead area standard."""
    require_role(actor, REGISTRY_WRITERS)
    with uow:
        s = uow.session
        c = visible_collective(s, actor, collective, lock=True)
        c.homestead_max_m2 = max_m2
        ledger.append(s, county=c.county_code, kind="collective.homestead_standard_set", actor=actor,
                      subjects=[c.code], data={"collective": c.code, "max_m2": max_m2})
        uow.commit()
    return {"collective": collective, "max_m2": max_m2}


def recognised_members(s, household: str) -> int:
    """How many of the household's people are recognised members of a collective now."""
    return s.scalar(select(func.count()).select_from(Membership).join(Person).where(
        Person.county_code == household[:6], Person.household_code == household, Membership.valid_to.is_(None)))


def open_plan(s, collective: str, *, lock: bool = False) -> SharePlan | None:
    q = select(SharePlan).where(SharePlan.county_code == collective[:6], SharePlan.collective_code == collective,
                                SharePlan.valid_to.is_(None))
    return s.scalar(q.with_for_update(key_share=True) if lock else q)


#: a right's holdings of shares, joined as a distributed deployment joins them: within the county
_SHARES_OF_RIGHT = (Right.county_code == RightShares.county_code) & (Right.id == RightShares.right_id)


def allocated_shares(s, collective: str, except_right: str | None = None) -> Decimal:
    """The income shares a collective's open rights hold now (all but ``except_right``'s), to weigh against its plan."""
    q = (select(func.coalesce(func.sum(RightShares.shares), 0)).join(Right, _SHARES_OF_RIGHT)
         .where(Right.county_code == collective[:6], Right.collective_code == collective, Right.valid_to.is_(None),
                RightShares.valid_to.is_(None)))
    if except_right:
        q = q.where(Right.id != except_right)
    return Decimal(str(s.scalar(q)))


def _largest_holding(s, collective: str) -> Decimal:
    q = (select(func.coalesce(func.max(RightShares.shares), 0)).join(Right, _SHARES_OF_RIGHT)
         .where(Right.county_code == collective[:6], Right.collective_code == collective, Right.valid_to.is_(None),
                RightShares.valid_to.is_(None)))
    return Decimal(str(s.scalar(q)))


def set_share_plan(uow: UnitOfWork, *, actor: Principal, collective: str, total_shares: Decimal,
                   max_holding_per_household: Decimal | None = None, whole_shares: bool = True) -> dict:
    """Set a collective's share plan; the previous plan is closed, never overwritten.

    Raises:
        RuleViolation: SHARES_EXCEED_PLAN when shares already quantified exceed the new total,
            SHARE_HOLDING_CAP when a household already holds more than the new cap.
    """
    require_role(actor, REGISTRY_WRITERS)
    with uow:
        s = uow.session
        c = visible_collective(s, actor, collective, lock=True)
        ledger.lock_log(s, c.county_code)
        allocated = allocated_shares(s, c.code)
        if allocated > total_shares:
            raise RuleViolation("SHARES_EXCEED_PLAN", details={"allocated": str(allocated),
                                                               "total_shares": str(total_shares)})
        largest = _largest_holding(s, c.code)
        if max_holding_per_household is not None and largest > max_holding_per_household:
            raise RuleViolation("SHARE_HOLDING_CAP",
                                details={"largest_holding": str(largest),
                                         "max_holding_per_household": str(max_holding_per_household)})
        today = dt.date.today()
        previous = open_plan(s, c.code, lock=True)
        if previous is not None:
            previous.valid_to = today
            s.flush()
        plan = SharePlan(collective_code=c.code, county_code=c.county_code, total_shares=total_shares,
                         max_holding_per_household=max_holding_per_household, whole_shares=whole_shares,
                         valid_from=today, ledger_seq=0)
        plan.ledger_seq = ledger.append(s, county=c.county_code, kind="collective.share_plan_set", actor=actor,
                                        subjects=[c.code], data=plan_entry(c.code, total_shares,
                                                                           max_holding_per_household, whole_shares))
        s.add(plan)
        s.flush()
        view = _plan_view(plan, allocated)
        uow.commit()
    return view


def _plan_view(plan: SharePlan, allocated: Decimal) -> dict:
    return {"collective": plan.collective_code, "total_shares": str(plan.total_shares),
            "max_holding_per_household": None if plan.max_holding_per_household is None
            else str(plan.max_holding_per_household), "whole_shares": plan.whole_shares,
            "allocated_shares": str(allocated), "valid_from": plan.valid_from, "ledger_seq": plan.ledger_seq}


def register_income_share(uow: UnitOfWork, *, actor: Principal, holder: str, shares: Decimal) -> dict:
    """Quantify a household's income-distribution shares (集体收益分配权) under its collective's plan.

    Registering again for the same household re-quantifies: the old holding is
    closed and the new one opens on the same right.

    Raises:
        RuleViolation: SHARE_PLAN_REQUIRED, SHARES_NOT_WHOLE, SHARES_EXCEED_PLAN, SHARE_HOLDING_CAP,
            NOT_A_MEMBER (the household has no recognised member of the collective),
            RIGHT_NOT_ACTIVE (the household's income-share right has ended).
        NotFound: the household is unknown or outside the actor's scope.
    """
    require_role(actor, REGISTRY_WRITERS)
    with uow:
        s = uow.session
        right = quantify_shares(s, actor=actor, holder=holder, shares=shares)
        view = right_view(s, right, actor, as_of=None)
        uow.commit()
    return view


def quantify_shares(s: Session, *, actor: Principal, holder: str, shares: Decimal, on: dt.date | None = None,
                    cause: dict | None = None) -> Right:
    """Quantify (or re-quantify) a household's shares inside the caller's transaction.

    The body of :func:`register_income_share`, also run by an award's order: no role check, no commit.
    The holding changes ``on`` (today when None); ``on`` and ``cause`` go into the ledger entry when given.

    Raises:
        RuleViolation: SHARE_PLAN_REQUIRED, SHARES_NOT_WHOLE, SHARES_EXCEED_PLAN, SHARE_HOLDING_CAP,
            NOT_A_MEMBER (the household has no recognised member of the collective),
            RIGHT_NOT_ACTIVE (the household's income-share right has ended),
            DATE_ORDER (``on`` in the future, or before the current holding or the right began).
        DomainError: 422 when ``shares`` is not above zero.
        NotFound: the household is unknown or outside the actor's scope.
    """
    shares = Decimal(str(shares))
    if not shares > 0:
        raise DomainError("份额须大于零", "shares must be above zero", status=422,
                          errors={"shares": ["must be above zero"]})
    today = dt.date.today()
    if on is not None and on > today:
        raise RuleViolation("DATE_ORDER", reason_zh="量化日期晚于今天", reason_en="on is in the future")
    day = today if on is None else on
    household = _visible_household(s, actor, holder)
    ledger.lock_log(s, household.county_code)
    plan = open_plan(s, household.collective_code)
    if plan is None:
        raise RuleViolation("SHARE_PLAN_REQUIRED", details={"collective": household.collective_code})
    if not plan.takes(shares):
        raise RuleViolation("SHARES_NOT_WHOLE", details={"shares": str(shares)})
    if not recognised_members(s, household.code):
        raise RuleViolation("NOT_A_MEMBER", details={"holder": household.code,
                                                     "reason": "no recognised member in the household"})
    right_id = household.code + ID_SUFFIX["income_share"]
    total = allocated_shares(s, household.collective_code, except_right=right_id) + shares
    if not plan.holds(total):
        raise RuleViolation("SHARES_EXCEED_PLAN", details={"requested": str(shares), "would_total": str(total),
                                                           "total_shares": str(plan.total_shares)})
    if not plan.allows_holding(shares):
        raise RuleViolation("SHARE_HOLDING_CAP", details={
            "requested": str(shares), "max_holding_per_household": str(plan.max_holding_per_household)})
    right = coded(s, Right, right_id)
    if right is not None and right.valid_to is not None:
        # its shares would count against no plan (allocated_shares reads open rights only)
        raise RuleViolation("RIGHT_NOT_ACTIVE", reason_zh="该户集体收益分配权已终止",
                            reason_en="the household's income-share right has ended",
                            details={"right": right.id, "valid_to": right.valid_to.isoformat()})
    current = s.scalar(select(RightShares).where(RightShares.right_id == right_id,
                                                 RightShares.valid_to.is_(None)))
    began = max([x.valid_from for x in (right, current) if x is not None], default=day)
    if day < began:
        raise RuleViolation("DATE_ORDER", reason_zh="量化日期早于现有份额的起始日期",
                            reason_en="on is before the current holding began",
                            details={"valid_from": began.isoformat()})
    kind = "right.income_share.requantified" if right is not None else "right.income_share.registered"
    if right is None:
        right = Right(id=right_id, type="income_share", holder_code=household.code,
                      collective_code=household.collective_code, county_code=household.county_code,
                      start=day, valid_from=day, ledger_seq=0)
        s.add(right)
        s.flush()
    if current is not None:
        current.valid_to = day
    data = shares_entry(right_id, household.code, shares, plan.total_shares)
    data |= ({"on": on.isoformat()} if on is not None else {}) | ({"cause": cause} if cause is not None else {})
    seq = ledger.append(s, county=household.county_code, kind=kind, actor=actor,
                        subjects=[right_id, household.code], data=data)
    if not right.ledger_seq:
        right.ledger_seq = seq
    s.add(RightShares(right_id=right_id, county_code=household.county_code, shares=shares,
                      valid_from=day, ledger_seq=seq))
    s.flush()
    return right


def restore_shares(s: Session, *, actor: Principal, holder: str, shares: Decimal, on: dt.date, cause: dict) -> int:
    """Set a household's income shares to ``shares`` from ``on``, as an award orders, inside the caller's
    transaction. Every plan rule applies: an award lowering one household to raise another orders the
    lowering first.

    Returns:
        The ``seq`` of the ``right.income_share.registered`` / ``.requantified`` entry, which carries ``cause``.

    Raises:
        RuleViolation: SHARE_PLAN_REQUIRED, SHARES_NOT_WHOLE, SHARES_EXCEED_PLAN, SHARE_HOLDING_CAP,
            NOT_A_MEMBER, RIGHT_NOT_ACTIVE, DATE_ORDER (as :func:`quantify_shares`).
        DomainError: 422 when ``shares`` is not above zero.
        NotFound: the household is unknown or outside the actor's scope.
    """
    right = quantify_shares(s, actor=actor, holder=holder, shares=shares, on=on, cause=cause)
    seq = s.scalar(select(RightShares.ledger_seq).where(RightShares.right_id == right.id,
                                                        RightShares.valid_to.is_(None)))
    assert seq is not None, "quantify_shares just opened the holding (shares are above zero)"
    return seq


def move_parcels(s: Session, *, actor: Principal, parcels: list[str], to_right: str, on: dt.date,
                 cause: dict) -> int:
    """Move parcels from the contracts they are under to another household's contract (an award's order).

    Inside the caller's transaction: no role check, no commit. Each parcel's link to its contract ends
    ``on`` and a link to ``to_right`` opens ``on`` with the same contract area, as a completed transfer
    does; a contract left without land ends ``on`` (农村土地承包法 第三十四条). The receiving contract keeps
    its own term. Nothing changes when any check refuses.

    Returns:
        The ``seq`` of the ``right.parcels_moved`` entry.

    Raises:
        NotFound: ``to_right`` or a parcel unknown or outside the actor's scope.
        RuleViolation: RIGHT_NOT_ACTIVE (``to_right`` has ended), PARCEL_KIND_MISMATCH (``to_right`` is not
            a contract), PARCEL_NOT_IN_RIGHT (a parcel under no open contract), PARCEL_ALREADY_CONTRACTED
            (a parcel already under ``to_right``), SAME_COLLECTIVE_ONLY (a parcel's contract is of another
            collective; 第三十三、三十四条), RIGHT_BUSY (an open transfer holds a parcel),
            DATE_ORDER (``on`` in the future, before a current link began or outside ``to_right``'s term).
        DomainError: 422 for an empty or repeated parcel list.
    """
    if not parcels:
        raise DomainError("请给出要移转的地块", "give the parcels to move", status=422,
                          errors={"parcels": ["empty"]})
    if on > dt.date.today():
        raise RuleViolation("DATE_ORDER", reason_zh="移转日期晚于今天", reason_en="on is in the future")
    target = find_right(s, actor, to_right)
    if target is None:
        raise NotFound("权利", "Right", to_right)
    ledger.lock_log(s, target.county_code)
    s.refresh(target, with_for_update={"key_share": True})  # read again under the log's lock
    if target.type != "contract":
        raise RuleViolation("PARCEL_KIND_MISMATCH", details={"right": target.id, "type": target.type,
                                                             "required": "contract"})
    if target.valid_to is not None:
        raise RuleViolation("RIGHT_NOT_ACTIVE", reason_zh="接收地块的承包合同已终止",
                            reason_en="the receiving contract has ended",
                            details={"right": target.id, "valid_to": target.valid_to.isoformat()})
    _current_versions(s, actor, parcels)
    links = {link.parcel_code: link for link in s.scalars(select(RightParcel).where(
        RightParcel.county_code == target.county_code, RightParcel.parcel_code.in_(parcels),
        RightParcel.valid_to.is_(None)).with_for_update(key_share=True))}
    givers = {r.id: r for r in s.scalars(select(Right).where(
        Right.county_code == target.county_code, Right.id.in_(sorted({link.right_id for link in links.values()}))))}
    loose = [c for c in parcels if c not in links or givers[links[c].right_id].type != "contract"
             or givers[links[c].right_id].valid_to is not None]
    if loose:
        raise RuleViolation("PARCEL_NOT_IN_RIGHT", details={"parcels": loose,
                                                            "reason": "under no open contract"})
    already = [c for c in parcels if links[c].right_id == target.id]
    if already:
        raise RuleViolation("PARCEL_ALREADY_CONTRACTED",
                            details={"parcels": [{"code": c, "right": target.id} for c in already]})
    foreign = [{"code": c, "right": links[c].right_id, "collective": givers[links[c].right_id].collective_code}
               for c in parcels if givers[links[c].right_id].collective_code != target.collective_code]
    if foreign:
        raise RuleViolation("SAME_COLLECTIVE_ONLY", details={"collective": target.collective_code,
                                                             "parcels": foreign})
    holds.check_not_held(s, parcels=parcels)
    began = max(link.valid_from for link in links.values())
    if on < began or on < target.start or (target.end is not None and on > target.end):
        raise RuleViolation("DATE_ORDER", reason_zh="移转日期早于地块现有承包关系的起始日期，或不在接收合同的承包期内",
                            reason_en="on is before a parcel's current link began or outside the receiving "
                            "contract's term", details={"links_from": began.isoformat(),
                                                         "start": target.start.isoformat(),
                                                         "end": None if target.end is None else target.end.isoformat()})
    from_rights = list(dict.fromkeys(links[c].right_id for c in parcels))
    seq = ledger.append(s, county=target.county_code, kind="right.parcels_moved", actor=actor,
                        subjects=[target.id, *from_rights, *parcels],
                        data={"parcels": [{"code": c, "from": links[c].right_id,
                                           "contract_area_m2": None if (area := links[c].contract_area_m2) is None
                                           else float(area)} for c in parcels],
                              "to": target.id, "on": on.isoformat(), "cause": cause})
    for link in links.values():
        link.valid_to, link.end_ledger_seq = on, seq
    s.flush()  # the partial unique index allows one open link per parcel: close before opening
    s.add_all(RightParcel(right_id=target.id, parcel_code=c, county_code=links[c].county_code, valid_from=on,
                          contract_area_m2=links[c].contract_area_m2, ledger_seq=seq) for c in parcels)
    s.flush()
    left = dict(s.execute(select(RightParcel.right_id, func.count()).where(
        RightParcel.right_id.in_(from_rights), RightParcel.valid_to.is_(None))
        .group_by(RightParcel.right_id)).all())
    for right_id in from_rights:
        if not left.get(right_id):  # 第三十四条: a contract left without land ends with it
            givers[right_id].valid_to = on
    s.flush()
    return seq


def right_view(s, right: Right, actor: Principal, as_of: dt.date | None, history: bool = False) -> dict:
    """A right as the API shows it: on ``as_of`` (or now), or with ``history`` every link and holding ever."""
    when = "ever" if history else "now" if as_of is None else "on"
    params = {"county": right.county_code, "right": right.id, "as_of": as_of}
    s.flush()  # what the caller changed, visible to the plain statements below (they bypass autoflush)
    c = s.connection()  # Core rows, not the ORM's result machinery: a third of the read
    links = c.execute(_view_statements(when).links, params).all()
    parcels = [{"code": link.parcel_code, "name": link.name, "land_use": link.land_use,
                "contract_area_m2": float(link.contract_area_m2) if link.contract_area_m2 is not None else None,
                "area_m2": round(link.area_m2, 2), "area_mu": float(m2_to_mu(link.area_m2)),
                "valid_from": link.valid_from, "valid_to": link.valid_to, "ledger_seq": link.ledger_seq}
               for link in links]
    total = sum(p["area_m2"] for p in parcels)
    held = c.execute(_view_statements("now" if as_of is None else "on").shares, params).scalar()
    extra = {}
    if history:
        extra["shares_history"] = [
            {"shares": str(h.shares), "valid_from": h.valid_from, "valid_to": h.valid_to, "ledger_seq": h.ledger_seq}
            for h in s.scalars(_view_statements("ever").shares, params)]
    return {"id": right.id, "code": right.code, "type": right.type, "holder": right.holder_code,
            "collective": right.collective_code,
            "status": "active" if right.valid_to is None else "ended", "start": right.start, "end": right.end,
            "acquisition": right.acquisition, "valid_from": right.valid_from, "valid_to": right.valid_to,
            "ledger_seq": right.ledger_seq, "parcels": parcels,
            "total_area_m2": round(total, 2), "total_area_mu": float(m2_to_mu(total)),
            "shares": None if held is None else str(held),
            "co_holders": [person_view(p, actor) for p in c.execute(
                _CO_HOLDERS, {"county": right.county_code, "holder": right.holder_code})],
            **extra}


@dataclass(frozen=True)
class _ViewStatements:
    links: Select  #: the right's parcel links with each parcel's current name, use and area
    shares: Select  #: its share holding (``ever``: every holding, first to last)


@functools.cache
def _view_statements(when: str) -> _ViewStatements:
    """The right view's statements for links and shares alive ``now``, ``on`` the ``as_of`` parameter, or ``ever``."""
    def alive(model) -> list:
        if when == "ever":
            return []
        return _alive(model, None if when == "now" else bindparam("as_of", type_=Date))

    # columns, not entities: no parcel geometry is decoded for a view that shows none
    links = (select(RightParcel.parcel_code, RightParcel.contract_area_m2, RightParcel.valid_from,
                    RightParcel.valid_to, RightParcel.ledger_seq, ParcelVersion.name, ParcelVersion.land_use,
                    ParcelVersion.area_m2)
             .join(ParcelVersion, and_(ParcelVersion.county_code == RightParcel.county_code,
                                       ParcelVersion.parcel_code == RightParcel.parcel_code,
                                       ParcelVersion.valid_to.is_(None)))
             .where(RightParcel.county_code == bindparam("county"), RightParcel.right_id == bindparam("right"),
                    *alive(RightParcel))
             .order_by(RightParcel.parcel_code, RightParcel.valid_from))
    shares: Select
    if when == "ever":
        shares = (select(RightShares).where(RightShares.county_code == bindparam("county"),
                                            RightShares.right_id == bindparam("right"))
                  .order_by(RightShares.valid_from, RightShares.id))
    else:
        shares = select(RightShares.shares).where(RightShares.county_code == bindparam("county"),
                                                  RightShares.right_id == bindparam("right"), *alive(RightShares))
    return _ViewStatements(links, shares)


_CO_HOLDERS = select(*PERSON_COLUMNS).where(Person.county_code == bindparam("county"),
                                             Person.household_code == bindparam("holder")).order_by(Person.id)


def _alive(model, as_of) -> list:
    """Filters for rows alive on ``as_of`` (a date or a bound parameter; start inclusive, end exclusive), or now
    when None."""
    if as_of is None:
        return [model.valid_to.is_(None)]
    return [model.valid_from <= as_of, or_(model.valid_to.is_(None), model.valid_to > as_of)]


def get_right(uow: UnitOfWork, *, actor: Principal, right_id: str, as_of: dt.date | None = None,
              history: bool = False) -> dict:
    with uow:
        right = find_right(uow.session, actor, right_id, as_of)
        if right is None:
            raise NotFound("权利", "Right", right_id)
        return right_view(uow.session, right, actor, as_of, history)


def list_rights(uow: UnitOfWork, *, actor: Principal, holder: str | None = None, parcel: str | None = None,
                type: str | None = None, status: str | None = None, as_of: dt.date | None = None,
                limit: int = 50, cursor: str | None = None, history: bool = False) -> dict:
    """Rights by holder, parcel, type and status; with ``as_of``, who held what on that day;
    with ``history``, every parcel link and share holding each right ever had.

    ``parcel`` names the right holding the parcel now; with ``as_of``, the one holding it that day;
    with ``history`` (and no ``as_of``), every right that ever held it."""
    with uow:
        s = uow.session
        q = select(Right).where(Right.id >= actor.scope, Right.id < actor.scope + ":") if actor.scope else select(Right)
        if holder:
            q = q.where(Right.holder_code == holder)
        if type:
            q = q.where(Right.type == type)
        if as_of is not None:
            q = q.where(*_alive(Right, as_of))
        elif status:
            q = q.where(Right.valid_to.is_(None) if status == "active" else Right.valid_to.is_not(None))
        if parcel:  # who holds it now, who held it on as_of, or (history) every right that ever held it
            q = q.where(Right.id.in_(select(RightParcel.right_id).where(
                RightParcel.parcel_code == parcel, *([] if history and as_of is None else _alive(RightParcel, as_of)))))
        if cursor:
            q = q.where(Right.id > cursor)
        rights = s.scalars(q.order_by(Right.id).limit(limit + 1)).all()
        items = [right_view(s, r, actor, as_of, history) for r in rights[:limit]]
    return {"items": items, "next_cursor": rights[limit - 1].id if len(rights) > limit else None}
