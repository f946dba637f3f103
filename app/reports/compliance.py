"""The auditor's view of exits, transfers and exchange-desk listings by households whose members settled in a city.

Settling may never be made to cost a right (docs/rules.md §0), so every transfer or exit
by a settled household is listed with what would show pressure behind it: consent
signed close to the settlement, a price per 亩 far below what the collective's
land fetched recently, many exits in one collective at once (a campaign), a
consent without a signed document. A flag asks for a look; it decides nothing. A transfer an exchange-desk
award opened names its listing; listings still on the desk are listed beside the transfers, flagged alike.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, tuple_

from app import ids
from app.auth.services import Principal
from app.config import Settings
from app.db import UnitOfWork
from app.errors import Forbidden
from app.exchange.models import Listing
from app.ids import RowKey
from app.queries import after_row, code_prefix, county_order, narrowest
from app.rights.models import RightParcel
from app.transfers.models import Settlement, Transfer, TransferParcel
from gis.area import m2_to_mu

AUDITORS = frozenset({"admin", "auditor"})


@dataclass(frozen=True)
class CompliancePolicy:
    #: consent signed this close to a settlement (before or after) is flagged.
    window_days: int = 90
    #: a price per 亩 below this share of the collective's recent median is flagged.
    price_ratio: float = 0.5
    #: the median is taken over completed transfers of the last this many days.
    price_lookback_days: int = 365
    #: this many exits in one collective within campaign_days is a campaign.
    campaign_exits: int = 5
    campaign_days: int = 30


def compliance_policy(s: Settings) -> CompliancePolicy:
    """The report's thresholds from the settings (``SANQUAN_COMPLIANCE_*``)."""
    return CompliancePolicy(window_days=s.compliance_window_days, price_ratio=s.compliance_price_ratio,
                            campaign_exits=s.compliance_campaign_exits, campaign_days=s.compliance_campaign_days)


def settlement_exits(uow: UnitOfWork, *, actor: Principal, policy: CompliancePolicy, within: str | None = None,
                     window_days: int | None = None, limit: int = 50, cursor: RowKey | None = None) -> dict:
    """Every transfer and exit by a settled household, with the days from settlement to consent and the flags.

    A page of ``limit`` transfers after ``cursor`` (a transfer id), found by a keyset query; the
    collective medians and campaigns their flags compare with are read for the page's collectives only.

    Raises:
        Forbidden: only auditors and admins read this report.
    """
    if actor.role not in AUDITORS:
        raise Forbidden("只有审计和管理员可查看此报告", "Only auditors and admins read this report")
    window = policy.window_days if window_days is None else window_days
    prefix = narrowest(actor.scope, within)
    report = {"window_days": window, "price_ratio": policy.price_ratio,
              "campaign": {"exits": policy.campaign_exits, "days": policy.campaign_days}}
    if prefix is None:
        return report | {"items": [], "listings": [], "next_cursor": None}
    with uow:
        s = uow.session
        settled_households = select(Settlement.household_code).where(code_prefix(Settlement.household_code, prefix))
        q = select(Transfer).where(code_prefix(Transfer.right_id, prefix),
                                   Transfer.from_household.in_(settled_households))
        if cursor is not None:
            q = q.where(after_row(Transfer, cursor))
        transfers = s.scalars(q.order_by(*county_order(Transfer)).limit(limit + 1)).all()
        more = len(transfers) > limit
        transfers = transfers[:limit]
        settled: dict[str, list[Settlement]] = defaultdict(list)
        # the desk's open listings come with the first page (there are few: a listing closes within weeks)
        listings = s.scalars(select(Listing).where(
            code_prefix(Listing.right_id, prefix), Listing.status == "announced",
            Listing.holder_code.in_(settled_households)).order_by(*county_order(Listing)).limit(limit)).all() \
            if cursor is None else []
        households = sorted({t.from_household for t in transfers} | {x.holder_code for x in listings})
        if households:
            for x in s.scalars(select(Settlement).where(Settlement.household_code.in_(households))
                               .order_by(Settlement.settled_on, Settlement.id)):
                settled[x.household_code].append(x)
        mu = _areas_mu(s, transfers)
        listed_mu = _listed_mu(s, listings)
        collectives = sorted({t.collective_code for t in transfers} | {x.collective_code for x in listings})
        medians = _median_prices(s, collectives, policy)
        campaigns = _page_campaigns(s, [t for t in transfers if t.kind == "exit"], policy)
        from_desk = {(county, transfer): ids.public_id(county, listing) for county, transfer, listing in s.execute(
            select(Listing.county_code, Listing.transfer_id, Listing.id).where(
                tuple_(Listing.county_code, Listing.transfer_id).in_([_key(t) for t in transfers])))} \
            if transfers else {}

    def looked_at(household: str, signed_on: dt.date, price, area_mu: float | None, collective: str,
                  document: int | None, campaign: bool = False) -> dict:
        nearest = min(settled[household], key=lambda x: abs((signed_on - x.settled_on).days))
        days = (signed_on - nearest.settled_on).days
        flags = []
        if abs(days) <= window:
            flags.append("consent_near_settlement")
        per_mu = _per_mu(price, area_mu)
        median = medians.get(collective)
        if per_mu is not None and median and per_mu < policy.price_ratio * median:
            flags.append("price_far_below_collective")
        if campaign:
            flags.append("exit_campaign")
        if document is None:
            flags.append("consent_without_document")
        return {"household": household,
                "settlements": [{"id": ids.of(x), "person": ids.public_id(x.county_code, x.person_id),
                                 "settled_on": x.settled_on,
                                 "city_code": x.city_code} for x in settled[household]],
                "days_settlement_to_consent": days, "consent_signed_on": signed_on,
                "price_per_mu": None if per_mu is None else round(per_mu, 2),
                "collective_median_per_mu": None if median is None else round(median, 2), "flags": flags}

    items = []
    for t in transfers:
        item = looked_at(t.from_household, t.consent_signed_on, t.price, mu.get(_key(t)), t.collective_code,
                         t.consent_document_id, campaign=t.kind == "exit" and _key(t) in campaigns)
        items.append({"transfer": ids.of(t), "kind": t.kind, "status": t.status, "right": t.right_id,
                      "listing": from_desk.get(_key(t)), **item, "price": str(t.price)})
    on_desk = [{"listing": ids.of(x), "kind": x.kind, "status": x.status, "right": x.right_id,
                **looked_at(x.holder_code, x.consent_signed_on, x.asking_price, listed_mu.get(_key(x)),
                            x.collective_code, x.consent_document_id), "asking_price": str(x.asking_price)}
               for x in listings]
    return report | {"items": items, "listings": on_desk,
                     "next_cursor": str(items[-1]["transfer"]) if more else None}


def near_settlement_by_month(uow: UnitOfWork, *, actor: Principal, policy: CompliancePolicy,
                             within: str | None = None) -> list[tuple[str, int]]:
    """How many transfers and exits by settled households were consented within the window of a settlement,
    by the month of consent (``YYYY-MM``, oldest first), over the whole report, not one page: the chart of
    the auditor's report. Reads two columns of each, so a county's years of exits count in milliseconds.

    Raises:
        Forbidden: only auditors and admins read this report.
    """
    if actor.role not in AUDITORS:
        raise Forbidden("只有审计和管理员可查看此报告", "Only auditors and admins read this report")
    prefix = narrowest(actor.scope, within)
    if prefix is None:
        return []
    with uow:
        s = uow.session
        settled_households = select(Settlement.household_code).where(code_prefix(Settlement.household_code, prefix))
        consents = s.execute(select(Transfer.from_household, Transfer.consent_signed_on).where(
            code_prefix(Transfer.right_id, prefix), Transfer.from_household.in_(settled_households))).all()
        settled: dict[str, list[dt.date]] = defaultdict(list)
        for household, day in s.execute(select(Settlement.household_code, Settlement.settled_on).where(
                code_prefix(Settlement.household_code, prefix))):
            settled[household].append(day)
    months: Counter[str] = Counter(
        signed_on.strftime("%Y-%m") for household, signed_on in consents
        if min(abs((signed_on - day).days) for day in settled[household]) <= policy.window_days)
    return sorted(months.items())


def _key(row: Transfer | Listing) -> tuple[str, int]:
    """A transfer's or listing's key (county and number) among a page's, which may be of several counties."""
    return row.county_code, row.id


def _listed_mu(s, listings: Sequence[Listing]) -> dict[tuple[str, int], float]:
    """Each listing's land in 亩, from the contract areas of the parcels it offers."""
    codes = {c for x in listings for c in x.parcels}
    if not codes:
        return {}
    area = {(right, code): float(m2 or 0) for right, code, m2 in s.execute(
        select(RightParcel.right_id, RightParcel.parcel_code, RightParcel.contract_area_m2).where(
            RightParcel.parcel_code.in_(codes), RightParcel.valid_to.is_(None)))}
    return {_key(x): float(m2_to_mu(sum(area.get((x.right_id, c), 0.0) for c in x.parcels))) for x in listings}


def _areas_mu(s, transfers: Sequence[Transfer]) -> dict[tuple[str, int], float]:
    """Each transfer's land in 亩, from the contract areas of the parcels it moves."""
    areas: dict[tuple[str, int], float] = defaultdict(float)
    if not transfers:
        return areas
    rows = s.execute(select(TransferParcel.county_code, TransferParcel.transfer_id,
                            func.sum(RightParcel.contract_area_m2))
                     .join(RightParcel, (RightParcel.county_code == TransferParcel.county_code)
                           & (RightParcel.parcel_code == TransferParcel.parcel_code)
                           & (RightParcel.right_id == TransferParcel.right_id))
                     .where(tuple_(TransferParcel.county_code, TransferParcel.transfer_id).in_(
                         [_key(t) for t in transfers]))
                     .group_by(TransferParcel.county_code, TransferParcel.transfer_id)).all()
    for county, transfer_id, m2 in rows:
        areas[county, transfer_id] = float(m2_to_mu(float(m2 or 0)))
    return areas


def _per_mu(price, area_mu: float | None) -> float | None:
    return float(Decimal(str(price))) / area_mu if area_mu else None


def _median_prices(s, collectives: list[str], policy: CompliancePolicy) -> dict[str, float]:
    """Median price per 亩 of each collective's transfers and exits completed within the lookback.

    The database sums each transfer's area; only the prices of these collectives' recent sales are read.
    """
    if not collectives:
        return {}
    since = dt.date.today() - dt.timedelta(days=policy.price_lookback_days)
    rows = s.execute(select(Transfer.collective_code, Transfer.price, func.sum(RightParcel.contract_area_m2))
                     .join(TransferParcel, (TransferParcel.county_code == Transfer.county_code)
                           & (TransferParcel.transfer_id == Transfer.id))
                     .join(RightParcel, (RightParcel.county_code == TransferParcel.county_code)
                           & (RightParcel.parcel_code == TransferParcel.parcel_code)
                           & (RightParcel.right_id == TransferParcel.right_id))
                     .where(Transfer.collective_code.in_(collectives), Transfer.status == "completed",
                            Transfer.kind.in_(("transfer", "exit")), Transfer.completed_on >= since)
                     .group_by(Transfer.county_code, Transfer.id, Transfer.collective_code, Transfer.price)).all()
    prices: dict[str, list[float]] = defaultdict(list)
    for collective, price, m2 in rows:
        per_mu = _per_mu(price, float(m2_to_mu(float(m2 or 0))))
        if per_mu:
            prices[collective].append(per_mu)
    return {c: statistics.median(v) for c, v in prices.items()}


def _page_campaigns(s, exits: list[Transfer], policy: CompliancePolicy) -> set[tuple[str, int]]:
    """Which of ``exits`` fall in a campaign of their collective (see :func:`_campaigns`).

    A run that holds an exit lies within ``campaign_days`` of its consent, so only the collective's exits
    signed that close to the page's are read.
    """
    if not exits:
        return set()
    reach = dt.timedelta(days=policy.campaign_days)
    first = min(t.consent_signed_on for t in exits) - reach
    last = max(t.consent_signed_on for t in exits) + reach
    nearby = s.scalars(select(Transfer).where(
        Transfer.collective_code.in_({t.collective_code for t in exits}), Transfer.kind == "exit",
        Transfer.status.notin_(("withdrawn", "refused")),
        Transfer.consent_signed_on >= first, Transfer.consent_signed_on <= last)).all()
    return _campaigns(nearby, policy) & {_key(t) for t in exits}


def _campaigns(transfers: list[Transfer], policy: CompliancePolicy) -> set[tuple[str, int]]:
    """Exits that fall in a run of ``campaign_exits`` or more in one collective within ``campaign_days``."""
    flagged: set[tuple[str, int]] = set()
    exits: dict[str, list[Transfer]] = defaultdict(list)
    for t in transfers:
        if t.kind == "exit" and t.status not in ("withdrawn", "refused"):
            exits[t.collective_code].append(t)
    for runs in exits.values():
        runs.sort(key=lambda t: (t.consent_signed_on, t.id))
        start = 0
        for end, t in enumerate(runs):
            while (t.consent_signed_on - runs[start].consent_signed_on).days > policy.campaign_days:
                start += 1
            if end - start + 1 >= policy.campaign_exits:
                flagged.update(_key(x) for x in runs[start:end + 1])
    return flagged
