"""The arbitration committee's pages: the dashboard of deadlines (overdue first, coloured by urgency) and a
case with its statutory deadlines, its steps as a timeline, and its documents."""
from __future__ import annotations

import datetime as dt

from flask import Response, request

from app.console.views import actor, bp, page
from app.disputes import services as disputes
from app.extensions import unit_of_work
from app.parcels.routes import policy as parcel_policy

#: Days before a deadline from which the dashboard colours it as near.
NEAR_DAYS = 3
STATUSES = {"received": "已收到申请", "accepted": "已受理", "rejected": "不予受理", "awarded": "已裁决",
            "mediated": "已调解", "finalized": "已执行", "withdrawn": "已撤回", "in_court": "已起诉"}


def urgency(deadline: dict, today: dt.date) -> str:
    """``overdue`` (a committee's duty past due), ``near`` (due within :data:`NEAR_DAYS`), ``pending`` or ``done``."""
    if not deadline["pending"]:
        return "done"
    if deadline["overdue"]:
        return "overdue"
    return "near" if (deadline["due_on"] - today).days <= NEAR_DAYS else "pending"


@bp.route("/disputes")
def dispute_board():
    """Cases with a deadline this week or overdue (``?all=1``: every case in scope), overdue first."""
    today = dt.date.today()
    everything = request.args.get("all") == "1"
    found = disputes.list_disputes(unit_of_work(write=False), actor=actor(), overdue=not everything,
                                   within=None if everything else 7, limit=100)["items"]
    rows = []
    for case in found:
        pending = sorted((x for x in case["deadlines"].values() if x["pending"]), key=lambda x: x["due_on"])
        worst = min((urgency(x, today) for x in pending), key=("overdue", "near", "pending").index, default="done")
        rows.append((case, pending[0] if pending else None, worst))
    rows.sort(key=lambda r: (("overdue", "near", "pending", "done").index(r[2]),
                             r[1]["due_on"] if r[1] else dt.date.max))
    return page("console/disputes.html", rows=rows, everything=everything, statuses=STATUSES, today=today)


@bp.route("/disputes/<int:dispute_id>")
def dispute(dispute_id: int):
    today = dt.date.today()
    case = disputes.get_dispute(unit_of_work(write=False), actor=actor(), dispute_id=dispute_id)
    deadlines = sorted(((key, x, urgency(x, today)) for key, x in case["deadlines"].items()),
                       key=lambda k: k[1]["due_on"])
    timeline = sorted(case["events"].items(), key=lambda e: e[1])
    return page("console/dispute.html", case=case, deadlines=deadlines, timeline=timeline, statuses=STATUSES)


@bp.route("/disputes/<int:dispute_id>/<any('acceptance-notice', award):document>.pdf")
def dispute_pdf(dispute_id: int, document: str):
    uow = unit_of_work(write=False)
    if document == "award":
        pdf = disputes.award_pdf(uow, actor=actor(), dispute_id=dispute_id, limits=parcel_policy().limits)
    else:
        pdf = disputes.acceptance_notice_pdf(uow, actor=actor(), dispute_id=dispute_id)
    return Response(pdf, mimetype="application/pdf")
