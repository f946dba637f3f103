"""What each role's home page shows, read through the services the API uses."""
from __future__ import annotations

import datetime as dt
from typing import Any

from app.auth.services import Principal
from app.disputes import services as disputes
from app.errors import DomainError
from app.exchange import services as exchange
from app.extensions import unit_of_work
from app.ledger import services as ledger
from app.transfers import services as transfers

#: How many rows each panel shows.
ROWS = 10


def for_role(who: Principal) -> dict[str, Any]:
    """The panels of ``who``'s home: ``recent`` ledger entries (clerk, admin), ``listings`` and ``transfers`` in
    progress (desk), ``deadlines`` this week and overdue (committee), the ``ledger`` head and ``flags`` (auditor)."""
    county = who.scope[:6] if len(who.scope) >= 6 else None
    out: dict[str, Any] = {}
    if who.role in ("clerk", "admin") and county:
        out["recent"] = _recent_entries(who, county)
    if who.role in ("exchange", "admin"):
        out["listings"] = exchange.list_listings(unit_of_work(write=False), actor=who, status="announced",
                                                 limit=ROWS)["items"]
        out["transfers"] = [t for status in ("pending", "consented", "paid") for t in transfers.list_transfers(
            unit_of_work(write=False), actor=who, status=status, limit=ROWS)["items"]][:ROWS]
    if who.role in ("arbitrator", "admin"):
        out["deadlines"] = disputes.list_disputes(unit_of_work(write=False), actor=who, overdue=True, within=7,
                                                  limit=ROWS)["items"]
    if who.role == "auditor" and county:
        out["recent"] = _recent_entries(who, county)
    return out | {"today": dt.date.today()}


def _recent_entries(who: Principal, county: str) -> list[dict]:
    """The county log's newest entries, newest first (none when the county has no log yet)."""
    try:
        size = ledger.list_entries(unit_of_work(write=False), actor=who, county=county, after=0, limit=1)["size"]
        page = ledger.list_entries(unit_of_work(write=False), actor=who, county=county,
                                   after=max(0, size - ROWS), limit=ROWS)
    except DomainError:
        return []
    return list(reversed(page["items"]))
