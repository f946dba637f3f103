"""Summary figures of a division: the registry's contents, the rights, the transfers and what settled people kept."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, OrderedDict
from contextlib import closing

from sqlalchemy import func, select

from app.auth.services import Principal
from app.db import UnitOfWork
from app.disputes.models import ENDED, Dispute
from app.disputes.services import dispute_view
from app.exchange.models import Listing
from app.ledger.models import LedgerHead
from app.parcels.models import ParcelVersion
from app.parties.models import Collective, Household, Membership, Person
from app.queries import code_prefix, county_prefix, narrowest
from app.rights.models import Right
from app.transfers.models import Settlement, Transfer
from app.workdays.services import work_calendar
from gis.area import m2_to_mu


def summary(uow: UnitOfWork, *, actor: Principal, within: str | None = None, today: dt.date | None = None) -> dict:
    """Counts and totals within a division-code prefix (narrowed to the actor's scope)."""
    prefix = narrowest(actor.scope, within)
    if prefix is None:
        prefix = "\uffff"  # disjoint from the scope: every figure is zero
    with uow:
        s = uow.session
        contents = _contents(s, prefix)
        transfers = s.execute(select(Transfer.kind, Transfer.status, func.count(), func.sum(Transfer.price))
                              .where(code_prefix(Transfer.right_id, prefix))
                              .group_by(Transfer.kind, Transfer.status)).all()
        settled_households = select(Settlement.household_code).where(code_prefix(Settlement.household_code, prefix))
        settled_people = s.scalar(select(func.count(func.distinct(Settlement.person_id)))
                                  .where(code_prefix(Settlement.household_code, prefix)))
        kept = s.execute(select(Right.type, func.count()).where(Right.holder_code.in_(settled_households),
                                                                Right.valid_to.is_(None)).group_by(Right.type)).all()
        exits = s.scalar(select(func.count()).select_from(Transfer).where(
            Transfer.from_household.in_(settled_households), Transfer.kind == "exit", Transfer.status == "completed"))
        out = {
            "within": "" if prefix == "\uffff" else prefix,
            **contents,
            "transfers": {f"{kind}.{status}": {"count": n, "value": str(total or 0)} for kind, status, n, total
                          in transfers},
            "settled": {"people": settled_people, "rights_kept": dict(kept), "completed_exits": exits},
            "disputes": _disputes(s, prefix, today or dt.date.today()),
            "exchange": _exchange(s, prefix),
        }
    return out


#: The registry's contents by division as last counted, keyed by the division and the head (size and hash) of
#: every county log that covers it. Every change to these rows appends to its county's log in the same
#: transaction, and a head's hash fixes the whole history before it, so an unchanged key is unchanged
#: contents, in any database. Counting them reads every parcel, person and right of the division (about
#: 100 ms for 200,000 parcels on PostGIS); the rest of the summary reads small tables and is read each time.
_CONTENTS: OrderedDict[tuple, dict] = OrderedDict()
_CONTENTS_KEPT = 64
_contents_lock = threading.Lock()


def forget_counted_contents() -> None:
    """Drop every division's counted contents (the benchmark times a summary counted afresh)."""
    with _contents_lock:
        _CONTENTS.clear()


def _contents(s, prefix: str) -> dict:
    """Collectives, households, persons, members, parcels, 亩 by land use and rights by type and status."""
    # the heads first: a write committed between the two reads is then counted under the older key, which
    # no later request asks for again (heads only grow)
    heads = tuple(s.execute(select(LedgerHead.log, LedgerHead.size, LedgerHead.head_hash)
                            .where(county_prefix(LedgerHead.log, prefix)).order_by(LedgerHead.log)).all())
    key = (prefix, heads)
    with _contents_lock:
        if heads and key in _CONTENTS:
            _CONTENTS.move_to_end(key)
            return _CONTENTS[key]
    contents = _count_contents(s, prefix)
    if heads:
        with _contents_lock:
            _CONTENTS[key] = contents
            while len(_CONTENTS) > _CONTENTS_KEPT:
                _CONTENTS.popitem(last=False)
    return contents


def _count_contents(s, prefix: str) -> dict:
    def count(model, column, *where) -> int:
        q = select(func.count()).select_from(model).where(code_prefix(column, prefix), *where)
        return s.execute(q).scalar_one()  # count(*) gives one row, never NULL

    land = s.execute(select(ParcelVersion.land_use, func.count(), func.sum(ParcelVersion.area_m2))
                     .where(ParcelVersion.valid_to.is_(None), code_prefix(ParcelVersion.parcel_code, prefix))
                     .group_by(ParcelVersion.land_use)).all()
    # one pass over the (type, id, valid_to) index: all rights and the ended ones, by type
    rights = [(kind, status, n) for kind, total, ended in s.execute(
              select(Right.type, func.count(), func.count(Right.valid_to))
              .where(code_prefix(Right.id, prefix)).group_by(Right.type)).all()
              for status, n in (("active", total - ended), ("ended", ended)) if n]
    return {
        "collectives": count(Collective, Collective.code),
        "households": count(Household, Household.code),
        "persons": count(Person, Person.household_code),
        # members of the division's collectives (their current memberships), read from memberships alone
        "members": count(Membership, Membership.collective_code, Membership.valid_to.is_(None)),
        "parcels": sum(n for _, n, _ in land),
        "area_mu_by_land_use": {use: round(float(m2_to_mu(m2 or 0)), 2) for use, _, m2 in land},
        "rights": _nest(rights),
    }


def _exchange(s, prefix: str) -> dict:
    """The exchange desk's figures: listings by kind and status; awards by method and how many a member won
    on equal terms (第三十八条); the average price per 亩 by the land use of the land awarded."""
    in_division = code_prefix(Listing.right_id, prefix)
    listings = s.execute(select(Listing.kind, Listing.status, func.count()).where(in_division)
                         .group_by(Listing.kind, Listing.status)).all()
    awarded = s.execute(select(Listing.award, Listing.parcels, Transfer.price)
                        .join(Transfer, (Transfer.county_code == Listing.county_code)
                              & (Transfer.id == Listing.transfer_id))
                        .where(in_division, Listing.status == "awarded")).all()
    methods: Counter[str] = Counter()
    by_priority = 0
    land: dict[str, list[float]] = {}  # land use → [price, 亩]
    codes = {c for _, parcels, _ in awarded for c in parcels}
    current = s.execute(select(ParcelVersion.parcel_code, ParcelVersion.area_m2, ParcelVersion.land_use).where(
        ParcelVersion.parcel_code.in_(codes), ParcelVersion.valid_to.is_(None))).all() if codes else []
    areas = {code: area for code, area, _ in current}
    uses = {code: use for code, _, use in current}
    for award, parcels, price in awarded:
        methods[(award or {}).get("method", "bidding")] += 1
        by_priority += (award or {}).get("rule") == "PRIORITY_RIGHT"
        if parcels:
            mu = sum(float(m2_to_mu(areas.get(c) or 0)) for c in parcels)
            use = uses.get(max(parcels, key=lambda c: areas.get(c) or 0), "other")
            totals = land.setdefault(use, [0.0, 0.0])
            totals[0], totals[1] = totals[0] + float(price), totals[1] + mu
    return {
        "listings": {f"{kind}.{status}": n for kind, status, n in listings},
        "awards": {"count": len(awarded), **dict(methods), "won_by_member_priority": by_priority,
                   "share_won_by_member_priority": round(by_priority / len(awarded), 4) if awarded else 0.0},
        "price_per_mu_by_land_use": {use: round(price / mu, 2) for use, (price, mu) in land.items() if mu},
    }


def _disputes(s, prefix: str, today: dt.date) -> dict:
    """Open cases of the division, and those with a duty of the committee past due.

    A case belongs to the common division of its parties and subjects, so it counts where the prefix
    covers that division (as the dashboard lists it for a scope). Overdue is the dashboard's own flag;
    only open arbitrations have periods to miss.
    """
    county = code_prefix(Dispute.division_code, prefix)
    is_open = Dispute.status.notin_(ENDED)
    opened = s.scalar(select(func.count()).select_from(Dispute).where(county, is_open))
    overdue = 0
    if opened:
        calendar = work_calendar(s)
        q = select(Dispute).where(county, is_open, Dispute.procedure == "arbitration").order_by(Dispute.id)
        with closing(s.scalars(q.execution_options(yield_per=200))) as cases:
            overdue = sum(any(x["overdue"] for x in dispute_view(d, calendar, today=today)["deadlines"].values())
                          for d in cases)
    return {"open": opened, "overdue": overdue}


def _nest(rows) -> dict:
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in rows:
        out.setdefault(kind, {})[status] = n
    return out
