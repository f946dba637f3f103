"""The auditor's pages: a county's ledger verified with its result, the latest signed checkpoint and the
verifier key; the compliance report of exits and transfers by settled households, with a chart by month."""
from __future__ import annotations

from collections import Counter

from flask import request

from app.audit.verify import verify_log
from app.console.views import actor, bp, page
from app.errors import DomainError, NotFound
from app.extensions import settings, unit_of_work
from app.ledger import services as ledger
from app.reports import compliance


def county_of_scope() -> str | None:
    """The county a user's ledger page opens on: their own, for a county-level or narrower scope."""
    scope = actor().scope
    return scope[:6] if len(scope) >= 6 else None


@bp.route("/ledger")
def ledger_page():
    """A county's log: its size and latest signed checkpoint with the verifier key; with ``verify=1``, the
    verification run now (every entry, the Merkle tree, the checkpoints, and the tables replayed: seconds for
    a county of millions of entries, so only when asked)."""
    county = request.args.get("county") or county_of_scope()
    result = checkpoint = error = None
    if county:
        ledger.check_readable_log(actor(), county)  # 403 for a role, 404 outside the scope, as the API
        try:
            checkpoint = ledger.get_checkpoint(unit_of_work(write=False), actor=actor(), county=county)
        except NotFound:
            checkpoint = None  # no log yet, or none signed yet
        if request.args.get("verify") == "1":
            try:
                result = verify_log(unit_of_work(write=False), actor=actor(), county=county)
            except DomainError as e:
                error = e
    return page("console/ledger.html", county=county, result=result, checkpoint=checkpoint, error=error)


@bp.route("/compliance")
def compliance_page():
    """Every exit or transfer by a settled household, flagged, and a chart of those near a settlement by month."""
    report = compliance.settlement_exits(unit_of_work(write=False), actor=actor(),
                                         policy=compliance.compliance_policy(settings()),
                                         within=request.args.get("within") or None, limit=200,
                                         cursor=request.args.get("cursor") or None)
    months = Counter(item["consent_signed_on"].strftime("%Y-%m") for item in report["items"]
                     if "consent_near_settlement" in item["flags"])
    return page("console/compliance.html", report=report, chart=sorted(months.items()),
                peak=max(months.values(), default=0))
