"""The auditor's view of exits and transfers by households whose members settled in a city.

Settling may never be made to cost a right (RULES.md §0), so every transfer or exit
by a settled household is listed with what would show pressure behind it: consent
signed close to the settlement, a price per 亩 far below what the collective's
land fetched recently, many exits in one collective at once (a campaign), a
consent without a signed document. A flag asks for a look; it decides nothing.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from app.auth.services import Principal
from app.db import UnitOfWork
from app.errors import Forbidden
from app.queries import code_prefix, narrowest
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


def settlement_exits(uow: UnitOfWork, *, actor: Principal, policy: CompliancePolicy, within: str | None = None,
                     window_days: int | None = None) -> dict:
    """Every transfer and exit by a settled household, with the days from settlement to consent and the flags.

    Raises:
        Forbidden: only auditors and admins read this report.
    """
    if actor.role not in AUDITORS:
        raise Forbidden("只有审计和管理员可查看此报告", "Only auditors and admins read this report")
    window = policy.window_days if window_days is None else window_days
    prefix = narrowest(actor.scope, within)
    if prefix is None:
        return {"items": [], "window_days": window}
    with uow:
        s = uow.session
        settled: dict[str, list[Settlement]] = defaultdict(list)
        for x in s.scalars(select(Settlement).where(code_prefix(Settlement.household_code, prefix))
                           .order_by(Settlement.settled_on)):
            settled[x.household_code].append(x)
        transfers = s.scalars(select(Transfer).where(code_prefix(Transfer.right_id, prefix))
                              .order_by(Transfer.id)).all()
        mu = _areas_mu(s, [t.id for t in transfers])
    medians = _median_prices(transfers, mu, policy)
    campaigns = _campaigns(transfers, policy)
    items = []
    for t in transfers:
        if t.from_household not in settled:
            continue
        nearest = min(settled[t.from_household], key=lambda x: abs((t.consent_signed_on - x.settled_on).days))
        days = (t.consent_signed_on - nearest.settled_on).days
        flags = []
        if abs(days) <= window:
            flags.append("consent_near_settlement")
        per_mu = _per_mu(t, mu)
        median = medians.get(t.collective_code)
        if per_mu is not None and median and per_mu < policy.price_ratio * median:
            flags.append("price_far_below_collective")
        if t.kind == "exit" and t.id in campaigns:
            flags.append("exit_campaign")
        if t.consent_document_id is None:
            flags.append("consent_without_document")
        items.append({
            "transfer": t.id, "kind": t.kind, "status": t.status, "right": t.right_id, "household": t.from_household,
            "settlements": [{"id": x.id, "person": x.person_id, "settled_on": x.settled_on, "city_code": x.city_code}
                            for x in settled[t.from_household]],
            "days_settlement_to_consent": days, "consent_signed_on": t.consent_signed_on,
            "price": str(t.price), "price_per_mu": None if per_mu is None else round(per_mu, 2),
            "collective_median_per_mu": None if median is None else round(median, 2), "flags": flags})
    return {"items": items, "window_days": window, "price_ratio": policy.price_ratio,
            "campaign": {"exits": policy.campaign_exits, "days": policy.campaign_days}}


def _areas_mu(s, transfer_ids: list[int]) -> dict[int, float]:
    """Each transfer's land in 亩, from the contract areas of the parcels it moves."""
    areas: dict[int, float] = defaultdict(float)
    if not transfer_ids:
        return areas
    rows = s.execute(select(TransferParcel.transfer_id, RightParcel.contract_area_m2)
                     .join(RightParcel, (RightParcel.parcel_code == TransferParcel.parcel_code)
                           & (RightParcel.right_id == TransferParcel.right_id))
                     .where(TransferParcel.transfer_id.in_(transfer_ids))).all()
    for transfer_id, m2 in rows:
        areas[transfer_id] += float(m2_to_mu(float(m2 or 0)))
    return areas


def _per_mu(t: Transfer, mu: dict[int, float]) -> float | None:
    area = mu.get(t.id)
    return float(Decimal(str(t.price))) / area if area else None


def _median_prices(transfers: list[Transfer], mu: dict[int, float], policy: CompliancePolicy) -> dict[str, float]:
    since = dt.date.today() - dt.timedelta(days=policy.price_lookback_days)
    prices: dict[str, list[float]] = defaultdict(list)
    for t in transfers:
        per_mu = _per_mu(t, mu)
        if t.status == "completed" and t.kind in ("transfer", "exit") and per_mu and t.completed_on >= since:
            prices[t.collective_code].append(per_mu)
    return {c: statistics.median(v) for c, v in prices.items()}


def _campaigns(transfers: list[Transfer], policy: CompliancePolicy) -> set[int]:
    """Exits that fall in a run of ``campaign_exits`` or more in one collective within ``campaign_days``."""
    flagged: set[int] = set()
    exits: dict[str, list[Transfer]] = defaultdict(list)
    for t in transfers:
        if t.kind == "exit" and t.status not in ("withdrawn", "refused"):
            exits[t.collective_code].append(t)
    for runs in exits.values():
        runs.sort(key=lambda t: t.consent_signed_on)
        start = 0
        for end, t in enumerate(runs):
            while (t.consent_signed_on - runs[start].consent_signed_on).days > policy.campaign_days:
                start += 1
            if end - start + 1 >= policy.campaign_exits:
                flagged.update(x.id for x in runs[start:end + 1])
    return flagged
