"""The auditor's pages: a county's ledger verified with its result, the latest signed checkpoint and the
verifier key; the compliance report of exits and transfers by settled households, with a chart by month."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from decimal import Decimal

from flask import request

from app.audit.verify import verify_log
from app.console.desk import KINDS
from app.console.i18n import _
from app.console.views import RIGHT_TYPES, actor, bp, cursor_arg, page
from app.errors import DomainError, NotFound
from app.extensions import settings, unit_of_work
from app.ledger import merkle
from app.ledger import services as ledger
from app.parcels.models import LAND_USES_ZH
from app.reports import compliance
from app.reports import services as reports


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


@bp.route("/ledger/<county>/entries/<int:seq>")
def ledger_entry(county: str, seq: int):
    """One entry of a county's log (its body masked as the role requires) and its inclusion proof in the
    latest signed checkpoint, checked here: the leaf hash from the entry's fields, the path to the signed root.
    An entry newer than the last checkpoint is proved against the log as it stands, and says so."""
    found = ledger.list_entries(unit_of_work(write=False), actor=actor(), county=county, after=seq - 1, limit=1)
    if not found["items"] or found["items"][0]["seq"] != seq:
        raise NotFound("登记簿记录", "Ledger entry", f"{county}#{seq}")
    entry = found["items"][0]
    try:
        checkpoint = ledger.get_checkpoint(unit_of_work(write=False), actor=actor(), county=county)
    except NotFound:
        checkpoint = None
    signed = checkpoint if checkpoint is not None and checkpoint["size"] >= seq else None
    proof = ledger.inclusion(unit_of_work(write=False), actor=actor(), county=county, seq=seq,
                             size=signed["size"] if signed else found["size"])
    root = signed["root"] if signed else proof["root"]
    leaf_ok = ledger.leaf_hash(seq, entry["prev_hash"], entry["body_sha256"]) == entry["leaf_hash"]
    # a masked body no longer hashes as stored: GET …/verify checks the stored one, on the server
    body_ok = None if entry["masked"] or entry["body"] is None else \
        hashlib.sha256(ledger.canonical_json(entry["body"])).hexdigest() == entry["body_sha256"]
    path_ok = merkle.verify_inclusion(bytes.fromhex(entry["leaf_hash"]), seq - 1, proof["size"],
                                      [bytes.fromhex(h) for h in proof["proof"]], bytes.fromhex(root))
    return page("console/ledger_entry.html", county=county, entry=entry, proof=proof, checkpoint=checkpoint,
                signed=signed is not None, root=root, body_ok=body_ok,
                verified=leaf_ok and path_ok and body_ok is not False,
                body=json.dumps(entry["body"], ensure_ascii=False, indent=2, sort_keys=True))


@bp.route("/compliance")
def compliance_page():
    """Every exit or transfer by a settled household, flagged, and a chart of those near a settlement by month."""
    policy, within = compliance.compliance_policy(settings()), request.args.get("within") or None
    report = compliance.settlement_exits(unit_of_work(write=False), actor=actor(), policy=policy, within=within,
                                         limit=200, cursor=cursor_arg())
    chart = compliance.near_settlement_by_month(unit_of_work(write=False), actor=actor(), policy=policy,
                                                within=within)
    return page("console/compliance.html", report=report, chart=chart, within=within,
                peak=max((n for _month, n in chart), default=0))


@bp.route("/summary")
def summary_page():
    """The summary report of the user's scope (``?within=`` narrows it) with its figures as charts."""
    report = reports.summary(unit_of_work(write=False), actor=actor(), within=request.args.get("within") or None)
    count: Counter[str] = Counter()
    value: dict[str, Decimal] = {}
    for key, x in report["transfers"].items():
        kind, status = key.split(".", 1)
        count[kind] += x["count"]
        if status == "completed":
            value[kind] = value.get(kind, Decimal(0)) + Decimal(x["value"])
    area = report["area_mu_by_land_use"]
    return page("console/summary.html", report=report, area_total=sum(area.values()),
                area=[(_(LAND_USES_ZH.get(use, use)), mu, f"{mu:,.2f}") for use, mu in sorted(area.items())],
                rights_active=[(_(RIGHT_TYPES.get(t, t)), x.get("active", 0), x.get("active", 0))
                               for t, x in sorted(report["rights"].items())],
                kept=[(_(RIGHT_TYPES.get(t, t)), n, n) for t, n in sorted(report["settled"]["rights_kept"].items())],
                transfers=[(_(KINDS.get(k, k)), n, n) for k, n in sorted(count.items())],
                values=[(_(KINDS.get(k, k)), float(v), f"{v:,.2f}") for k, v in sorted(value.items())])
