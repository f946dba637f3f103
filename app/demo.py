"""Load the synthetic demo county (``sanquan demo``) through the bulk write path.

The generator (:mod:`app.demo_data`, :mod:`gis.synth`) makes non-overlapping
parcels by construction, so the loader skips the per-parcel overlap query and
writes through the importer's bulk path (:mod:`app.imports.writer`), one
transaction per collective, each row with its ledger entry exactly as the
services write them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import numpy as np
from sqlalchemy import Row, insert, select

from app import ids
from app.auth.services import SYSTEM, Principal
from app.db import UnitOfWork, allocate_ids, refresh_statistics
from app.demo_data import DemoCollective, iter_county
from app.disputes import proceedings
from app.disputes import services as disputes
from app.errors import Conflict
from app.imports.writer import CollectiveBatch, ContractRow, HouseholdRow, PersonRow, write_collectives
from app.ledger import services as ledger
from app.parties.models import Collective
from app.rights.models import ID_SUFFIX, Right, RightParcel, RightShares, SharePlan
from app.rights.services import RightsPolicy, homestead_entry, plan_entry, shares_entry
from app.workdays.services import work_calendar
from gis.area import measure_m2


def is_empty(uow: UnitOfWork) -> bool:
    with uow:
        return uow.session.scalar(select(Collective.code).limit(1)) is None


def load_collective(uow: UnitOfWork, c: DemoCollective, *, actor: Principal = SYSTEM) -> int:
    """Write one generated collective with its households, members, parcels and rights.

    Returns:
        The number of parcels written.
    """
    county = c.code14[:6]
    with uow:
        s = uow.session
        written = write_collectives(s, [as_batch(c)], county=county, actor=actor)
        _load_homesteads_and_shares(s, c, county, actor, written)
        uow.commit()
    return len(c.parcel_codes)


def contract_term(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The term of the demo's family contracts (农村土地承包法 第二十一条: 30 years), in force ``today`` and
    for a year at least, whenever the demo is loaded: they end on 31 December of next year (in 2026 the
    second round's 1998–2027)."""
    end = (today or dt.date.today()).year + 1
    return dt.date(end - 29, 1, 1), dt.date(end, 12, 31)


SHARES_PER_MEMBER = 10
SHARE_CAP = 100


def as_batch(c: DemoCollective) -> CollectiveBatch:
    """A generated collective as the bulk writer takes it: every household's contract land in its contract."""
    start, end = contract_term()
    contracts: dict[str, ContractRow] = {}
    for code, kind, owner in zip(c.parcel_codes, c.parcel_kinds, c.parcel_household, strict=True):
        if owner >= 0 and kind == "contract_land":
            holder = c.households[int(owner)].code18
            contracts.setdefault(holder, ContractRow(holder=holder, start=start, end=end, parcels={}))
            contracts[holder].parcels[code] = None  # contract area = the measured area
    geoms = np.asarray(c.parcels_geoms_4490, dtype=object)
    areas = measure_m2(geoms) if len(geoms) else np.empty(0)
    return CollectiveBatch(
        code=c.code14, name=c.name,
        households=[HouseholdRow(code=h.code18, address=h.address, members=[
            PersonRow(name=p.name, id_number=p.id_number, sex=p.sex, birth_date=p.birth_date, relation=p.relation)
            for p in h.members]) for h in c.households],
        membership_decided_on=c.membership_decided_on if c.households else None,
        parcel_codes=c.parcel_codes, parcel_kinds=[str(k) for k in c.parcel_kinds],
        parcel_land_uses=[str(u) for u in c.parcel_land_uses], parcel_names=c.parcel_names,
        parcel_geoms=geoms, parcel_areas_m2=areas, declared_areas_m2=[round(float(a), 2) for a in areas],
        basic_farmland=[k == "contract_land" for k in c.parcel_kinds],
        contracts=[contracts[h.code18] for h in c.households if h.code18 in contracts])


def _load_homesteads_and_shares(s, c: DemoCollective, county: str, actor: Principal, written) -> None:
    """Give every household its homestead and its income shares under a share plan."""
    if not c.households:
        return
    start, _ = contract_term()
    plots: dict[int, str] = {}
    for code, kind, owner in zip(c.parcel_codes, c.parcel_kinds, c.parcel_household, strict=True):
        if owner >= 0 and kind == "homestead":
            plots.setdefault(int(owner), code)
    total = SHARES_PER_MEMBER * sum(len(p) for p in written.persons.values())
    items, rights, links, holdings = [], [], [], []
    plan = SharePlan(collective_code=c.code14, county_code=county, total_shares=total,
                     max_holding_per_household=SHARE_CAP, whole_shares=True, valid_from=start)
    items.append(("collective.share_plan_set", [c.code14], plan_entry(c.code14, total, SHARE_CAP, True)))
    for i, h in enumerate(c.households):
        if i in plots:
            plot = plots[i]
            approved = dt.date(1985, 1, 1) + dt.timedelta(days=(i * 137) % 10_950)
            right = Right(id=h.code18 + ID_SUFFIX["homestead"], type="homestead", holder_code=h.code18,
                          collective_code=c.code14, county_code=county, start=approved, valid_from=approved)
            rights.append(right)
            links.append([RightParcel(right_id=right.id, parcel_code=plot, county_code=county, valid_from=approved)])
            items.append(("right.homestead.registered", [right.id, h.code18, plot],
                          homestead_entry(right, plot, written.parcel_area_m2[plot],
                                          RightsPolicy().homestead_max_m2)))
        shares = min(SHARES_PER_MEMBER * len(written.persons[h.code18]), SHARE_CAP)
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
    for right, own in zip(rights, links, strict=True):
        right.ledger_seq = next(seqs)
        by_right[right.id] = right.ledger_seq
        for link in own:
            link.ledger_seq = right.ledger_seq
    numbers = iter(allocate_ids(s, RightParcel, sum(len(own) for own in links), county))
    for own in links:
        for link in own:
            link.id = next(numbers)
    numbers = iter(allocate_ids(s, RightShares, len(holdings), county))
    for holding in holdings:
        holding.id = next(numbers)
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
    Raises:
        Conflict: the registry already holds collectives (the demo's codes would collide with them).
    """
    if not is_empty(uow_factory()):
        raise Conflict("登记簿已有数据，演示县只能载入空登记簿",
                       "the registry is not empty: the demo county loads into an empty registry only")
    counts = {"collectives": 0, "households": 0, "persons": 0, "parcels": 0}
    analysed_at = 1
    for c in collectives if collectives is not None else iter_county(seed=seed, parcels=parcels):
        n = load_collective(uow_factory(), c)
        counts["collectives"] += 1
        if counts["collectives"] == analysed_at:
            # Fresh statistics each time the county has doubled: PostgreSQL plans its foreign-key checks once
            # per connection, and a plan made while a table was nearly empty scans the whole table for every
            # row afterwards (each collective took longer than the last: 19 minutes for 200,000 parcels).
            # Gathering statistics invalidates those plans; doubling keeps it to a dozen times.
            analysed_at *= 2
            with uow_factory() as uow:
                refresh_statistics(uow.session)
                uow.commit()
        counts["households"] += len(c.households)
        counts["persons"] += sum(len(h.members) for h in c.households)
        counts["parcels"] += n
        if progress:
            progress(n)
    return counts


def load_demo_cases(uow_factory: Callable[..., UnitOfWork], *, today: dt.date | None = None) -> list[int]:
    """Open two cases on the demo county so the committee's dashboard has something to show: an
    arbitration over a contract parcel, accepted, with the parcel frozen; and a village mediation
    between two other households, just received. Dated a few days before ``today``.

    Returns:
        The cases' ids (none when the county has fewer than four contracts in one collective).
    """
    today = today or dt.date.today()
    with uow_factory() as uow:
        contracts = uow.session.execute(
            select(Right.id, Right.holder_code, Right.collective_code, RightParcel.parcel_code)
            .join(RightParcel, (RightParcel.county_code == Right.county_code) & (RightParcel.right_id == Right.id))
            .where(Right.type == "contract", Right.valid_to.is_(None), RightParcel.valid_to.is_(None))
            .order_by(Right.id.desc(), RightParcel.parcel_code)).all()  # the county's last collective
    first: dict[str, Row] = {}
    for row in contracts:
        if row.collective_code == contracts[0].collective_code:
            first.setdefault(row.id, row)
    if len(first) < 4:
        return []
    a, b, c, d = list(first.values())[:4]
    received = today - dt.timedelta(days=8)

    def party(row) -> dict:
        return {"kind": "household", "code": row.holder_code}

    arbitration = disputes.open_dispute(
        uow_factory(), actor=SYSTEM, procedure="arbitration", category="infringement", applicant=party(a),
        respondent=party(b), subjects={"rights": [a.id], "parcels": [a.parcel_code]},
        claims="被申请人越界耕种申请人承包地，请求停止侵害、恢复原状", knew_of_harm_on=received - dt.timedelta(days=40),
        received_on=received, freeze=True, today=today)
    with uow_factory(write=False) as uow:
        accepted = work_calendar(uow.session).add_working_days(received, 1).due_on  # the next working day
    proceedings.accept(uow_factory(), actor=SYSTEM, dispute_id=ids.row_key(arbitration["id"]), on=min(accepted, today),
                       today=today)
    mediation = disputes.open_dispute(
        uow_factory(), actor=SYSTEM, procedure="mediation", category="contract", applicant=party(c),
        respondent=party(d), subjects={"rights": [c.id, d.id]}, claims="双方对承包地四至界线有争议，请求村委会调解",
        mediator={"body": "village_committee", "name": "村人民调解委员会"},
        knew_of_harm_on=today - dt.timedelta(days=10), received_on=today - dt.timedelta(days=1), today=today)
    return [arbitration["id"], mediation["id"]]
