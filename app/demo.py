"""Load the synthetic demo county (``sanquan demo``) through the bulk write path.

The generator (:mod:`app.demo_data`, :mod:`gis.synth`) makes non-overlapping
parcels by construction, so the loader skips the per-parcel overlap query and
writes with multi-row inserts, one transaction per collective, each row with
its ledger entry exactly as the services write them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import numpy as np
from sqlalchemy import bindparam, insert, select

from app.auth.services import SYSTEM, Principal
from app.db import UnitOfWork
from app.demo_data import DemoCollective, iter_county
from app.ledger import services as ledger
from app.parcels.models import Parcel, ParcelVersion
from app.parcels.services import new_version, version_entry
from app.parties.models import Collective, Household, Membership, Person
from app.parties.services import household_entry, membership_entry
from app.rights.models import ID_SUFFIX, Right, RightParcel, RightShares, SharePlan
from app.rights.services import RightsPolicy, contract_entry, homestead_entry, plan_entry, shares_entry
from gis.area import measure_m2


def is_empty(uow: UnitOfWork) -> bool:
    with uow:
        return uow.session.scalar(select(Collective.code).limit(1)) is None


def load_collective(uow: UnitOfWork, c: DemoCollective, *, actor: Principal = SYSTEM) -> int:
    """Write one generated collective with its households, members and parcels.

    Returns:
        The number of parcels written.
    """
    county = c.code14[:6]
    level = "village" if c.code14.endswith("00") else "group"
    with uow:
        s = uow.session
        seq = ledger.append(s, county=county, kind="collective.registered", actor=actor, subjects=[c.code14],
                            data={"code": c.code14, "name": c.name, "level": level})
        s.execute(insert(Collective), [{"code": c.code14, "county_code": county, "name": c.name,
                                        "level": level, "ledger_seq": seq}])
        persons = _load_households(s, c, county, actor)
        versions = _load_parcels(s, c, county, actor)
        _load_rights(s, c, county, actor, versions, persons)
        uow.commit()
    return len(c.parcel_codes)


def _load_households(s, c: DemoCollective, county: str, actor: Principal) -> list[Person]:
    if not c.households:
        return []
    s.execute(insert(Household), [{"code": h.code18, "collective_code": c.code14, "county_code": county,
                                   "address": h.address, "ledger_seq": 0} for h in c.households])
    rows = [{"household_code": h.code18, "county_code": county, "name": p.name, "id_number": p.id_number,
             "sex": p.sex, "birth_date": p.birth_date, "relation": p.relation}
            for h in c.households for p in h.members]
    persons = _inserted(s, Person, rows)
    by_household: dict[str, list[Person]] = {}
    for p in persons:
        by_household.setdefault(p.household_code, []).append(p)
    seqs = ledger.append_many(s, county=county, actor=actor, items=[
        ("household.registered", [h.code18], household_entry(h.code18, c.code14, h.address, by_household[h.code18]))
        for h in c.households])
    _set_ledger_seqs(s, Household.code, [h.code18 for h in c.households], seqs)

    decided = c.membership_decided_on
    members = _inserted(s, Membership, [
        {"collective_code": c.code14, "person_id": p.id, "county_code": county, "basis": "original",
         "decided_on": decided, "valid_from": decided, "ledger_seq": 0} for p in persons])
    seqs = ledger.append_many(s, county=county, actor=actor, items=[
        ("membership.recognised", [c.code14, p.household_code], membership_entry(m, p.id_number))
        for m, p in zip(members, persons)])
    _set_ledger_seqs(s, Membership.id, [m.id for m in members], seqs)
    return persons


def _inserted(s, model, rows: list[dict]) -> list:
    """Insert rows in one multi-row statement; return them as detached objects with their ids."""
    ids = s.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows).all()
    return [model(id=i, **r) for i, r in zip(ids, rows)]


def _set_ledger_seqs(s, key, keys: list, seqs: list[int]) -> None:
    # Entries are appended after the rows exist (their bodies name the new ids).
    table = key.table
    s.execute(table.update().where(key == bindparam("b_key")).values(ledger_seq=bindparam("b_seq")),
              [{"b_key": k, "b_seq": q} for k, q in zip(keys, seqs)])


def _load_parcels(s, c: DemoCollective, county: str, actor: Principal) -> list[ParcelVersion]:
    if not len(c.parcel_codes):
        return []
    areas = measure_m2(np.asarray(c.parcels_geoms_4490, dtype=object))
    versions = [new_version(code=code, version=1, collective=c.code14, kind=str(kind), land_use=str(use), name=name,
                            declared_area_m2=round(float(a), 2), basic_farmland=kind == "contract_land",
                            area_m2=float(a), geom=g)
                for code, kind, use, name, a, g in zip(c.parcel_codes, c.parcel_kinds, c.parcel_land_uses,
                                                       c.parcel_names, areas, c.parcels_geoms_4490)]
    seqs = ledger.append_many(s, county=county, actor=actor, items=[
        ("parcel.registered", [v.parcel_code], version_entry(v)) for v in versions])
    s.execute(insert(Parcel), [{"code": v.parcel_code, "collective_code": c.code14, "county_code": county}
                               for v in versions])
    cols = ("parcel_code", "version", "collective_code", "county_code", "kind", "land_use", "name",
            "declared_area_m2", "basic_farmland", "area_m2", "geom", "minx", "miny", "maxx", "maxy")
    s.execute(insert(ParcelVersion), [{k: getattr(v, k) for k in cols} | {"ledger_seq": q}
                                      for v, q in zip(versions, seqs)])
    return versions


#: The demo's second-round family contracts, in force today (农村土地承包法 第二十一条: 30 years).
CONTRACT_TERM = (dt.date(1998, 1, 1), dt.date(2027, 12, 31))
SHARES_PER_MEMBER = 10
SHARE_CAP = 100


def _load_rights(s, c: DemoCollective, county: str, actor: Principal, versions: list[ParcelVersion],
                 persons: list[Person]) -> None:
    """Give every household its family contract, its homestead and its income shares."""
    if not c.households:
        return
    start, end = CONTRACT_TERM
    by_household: dict[int, list[ParcelVersion]] = {}
    for v, owner in zip(versions, c.parcel_household):
        if owner >= 0:
            by_household.setdefault(int(owner), []).append(v)
    members = {}
    for p in persons:
        members[p.household_code] = members.get(p.household_code, 0) + 1
    total = SHARES_PER_MEMBER * len(persons)
    items, rights, links, holdings = [], [], [], []
    plan = SharePlan(collective_code=c.code14, county_code=county, total_shares=total,
                     max_holding_per_household=SHARE_CAP, whole_shares=True, valid_from=start)
    items.append(("collective.share_plan_set", [c.code14], plan_entry(c.code14, total, SHARE_CAP, True)))
    for i, h in enumerate(c.households):
        fields = [v for v in by_household.get(i, []) if v.kind == "contract_land"]
        plots = [v for v in by_household.get(i, []) if v.kind == "homestead"]
        if fields:
            right = Right(id=h.code18 + ID_SUFFIX["contract"], type="contract", holder_code=h.code18,
                          collective_code=c.code14, county_code=county, start=start, end=end,
                          acquisition="family_contract", valid_from=start)
            own = [RightParcel(right_id=right.id, parcel_code=v.parcel_code, county_code=county,
                               contract_area_m2=round(v.area_m2, 2), valid_from=start) for v in fields]
            rights.append(right)
            links.append(own)
            items.append(("right.contract.registered", [right.id, h.code18, *(v.parcel_code for v in fields)],
                          contract_entry(right, own)))
        if plots:
            approved = dt.date(1985, 1, 1) + dt.timedelta(days=(i * 137) % 10_950)
            right = Right(id=h.code18 + ID_SUFFIX["homestead"], type="homestead", holder_code=h.code18,
                          collective_code=c.code14, county_code=county, start=approved, valid_from=approved)
            own = [RightParcel(right_id=right.id, parcel_code=plots[0].parcel_code, county_code=county,
                               valid_from=approved)]
            rights.append(right)
            links.append(own)
            items.append(("right.homestead.registered", [right.id, h.code18, plots[0].parcel_code],
                          homestead_entry(right, plots[0].parcel_code, plots[0].area_m2,
                                          RightsPolicy().homestead_max_m2)))
        shares = min(SHARES_PER_MEMBER * members.get(h.code18, 0), SHARE_CAP)
        if shares:
            right = Right(id=h.code18 + ID_SUFFIX["income_share"], type="income_share", holder_code=h.code18,
                          collective_code=c.code14, county_code=county, start=start, valid_from=start)
            rights.append(right)
            links.append([])
            holdings.append(RightShares(right_id=right.id, county_code=county, shares=shares, valid_from=start))
            items.append(("right.income_share.registered", [right.id, h.code18],
                          shares_entry(right.id, h.code18, shares, total)))
    seqs = iter(ledger.append_many(s, county=county, actor=actor, items=items))
    plan.ledger_seq = next(seqs)
    s.add(plan)
    s.flush()
    by_right = {}
    for right, own in zip(rights, links):
        right.ledger_seq = next(seqs)
        by_right[right.id] = right.ledger_seq
        for link in own:
            link.ledger_seq = right.ledger_seq
    s.execute(insert(Right), [_columns(r) for r in rights])
    s.execute(insert(RightParcel), [_columns(link) for own in links for link in own])
    s.execute(insert(RightShares), [_columns(h) | {"ledger_seq": by_right[h.right_id]} for h in holdings])


def _columns(obj) -> dict:
    """An unsaved ORM object's column values, for a multi-row insert."""
    values = {col.key: getattr(obj, col.key) for col in obj.__table__.columns}
    # Leave out what the database or the column default fills in (serial ids, created_at).
    return {k: v for k, v in values.items()
            if v is not None or not (obj.__table__.c[k].primary_key or obj.__table__.c[k].default is not None)}


def load_demo(uow_factory: Callable[[], UnitOfWork], *, seed: int = 2017, parcels: int = 3000,
              progress: Callable[[int], None] | None = None,
              collectives: Iterable[DemoCollective] | None = None) -> dict:
    """Generate and load a demo county, one transaction per collective.

    Args:
        uow_factory: makes a fresh unit of work per collective.
        seed: the generator's seed (same seed, same county).
        parcels: about how many parcels to make.
        progress: called with the number of parcels written after each collective.
    Returns:
        Counts of what was written.
    """
    counts = {"collectives": 0, "households": 0, "persons": 0, "parcels": 0}
    for c in collectives if collectives is not None else iter_county(seed=seed, parcels=parcels):
        n = load_collective(uow_factory(), c)
        counts["collectives"] += 1
        counts["households"] += len(c.households)
        counts["persons"] += sum(len(h.members) for h in c.households)
        counts["parcels"] += n
        if progress:
            progress(n)
    return counts
