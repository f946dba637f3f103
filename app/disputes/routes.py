"""Disputes (API.md, Disputes): applications for mediation and arbitration, with their deadlines."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from app.auth.access import current_principal
from app.disputes import services
from app.disputes.schemas import (AcceptSchema, DisputeCreateSchema, DisputePageSchema, DisputeQueryArgsSchema,
                                  DisputeSchema, RejectSchema)
from app.extensions import Blueprint, unit_of_work

blp = Blueprint("disputes", __name__, description="Mediation and arbitration cases and their statutory deadlines")


@blp.route("/disputes")
class Disputes(MethodView):
    @blp.arguments(DisputeCreateSchema)
    @blp.response(201, DisputeSchema)
    def post(self, data):
        """Record an application, with every statutory deadline it starts and, with `freeze`, a freeze of
        its rights and parcels."""
        return services.open_dispute(unit_of_work(), actor=current_principal(), **data)

    @blp.arguments(DisputeQueryArgsSchema, location="query")
    @blp.response(200, DisputePageSchema)
    def get(self, args):
        """The committee's dashboard: cases in scope, `overdue` or with a deadline `due_before` a day."""
        return services.list_disputes(unit_of_work(write=False), actor=current_principal(), **args)


_ID = "<int(max=2147483647):dispute_id>"


@blp.route(f"/disputes/{_ID}")
class DisputeItem(MethodView):
    @blp.response(200, DisputeSchema)
    def get(self, dispute_id):
        """A case with its events and deadlines."""
        return services.get_dispute(unit_of_work(write=False), actor=current_principal(), dispute_id=dispute_id)


@blp.route(f"/disputes/{_ID}/accept")
class Accept(MethodView):
    @blp.arguments(AcceptSchema)
    @blp.response(200, DisputeSchema)
    def post(self, data, dispute_id):
        """Accept the application in writing (第二十四条): the copy to the respondent and the case's 60 days run."""
        return services.accept_dispute(unit_of_work(), actor=current_principal(), dispute_id=dispute_id, **data)


@blp.route(f"/disputes/{_ID}/reject")
class Reject(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, DisputeSchema)
    def post(self, data, dispute_id):
        """Refuse the application in writing, with grounds (第二十四条); the case ends and its freeze lifts."""
        return services.reject_dispute(unit_of_work(), actor=current_principal(), dispute_id=dispute_id, **data)


@blp.route(f"/disputes/{_ID}/acceptance-notice.pdf")
class AcceptanceNoticePdf(MethodView):
    @blp.response(200, description="the acceptance notice as PDF", content_type="application/pdf")
    def get(self, dispute_id):
        """Print the acceptance notice (受理通知书): the parties, the claims and the deadlines the acceptance starts."""
        pdf = services.acceptance_notice_pdf(unit_of_work(write=False), actor=current_principal(),
                                             dispute_id=dispute_id)
        return Response(pdf, mimetype="application/pdf")
