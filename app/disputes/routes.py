"""Disputes: mediation and arbitration cases from the application to the enforced award."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from app.auth.access import current_principal
from app.disputes import proceedings, services
from app.disputes.schemas import (
    AcceptSchema,
    AgreementSchema,
    AwardSchema,
    DefenceSchema,
    DisputeCreateSchema,
    DisputePageSchema,
    DisputeQueryArgsSchema,
    DisputeSchema,
    ExtendSchema,
    FinalizeSchema,
    FreezeSchema,
    HearingSchema,
    LawsuitSchema,
    RecusalSchema,
    RejectSchema,
    ServiceSchema,
    TribunalSchema,
    WithdrawSchema,
)
from app.extensions import Blueprint, unit_of_work
from app.parcels.routes import policy as parcel_policy

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
        """The committee's dashboard: cases in scope with a duty `overdue` or a deadline due `within` so many days
        (either), or before `due_before`."""
        return services.list_disputes(unit_of_work(write=False), actor=current_principal(), **args)


_ID = "<row:dispute_id>"


@blp.route(f"/disputes/{_ID}")
class DisputeItem(MethodView):
    @blp.response(200, DisputeSchema)
    def get(self, dispute_id):
        """A case with its events and deadlines."""
        return services.get_dispute(unit_of_work(write=False), actor=current_principal(), dispute_id=dispute_id)


#: path → (request schema, step, summary). Each step is one transaction with its ledger entry ``dispute.<step>``;
#: a step out of order is refused with DISPUTE_STEP_ORDER (409), a day out of order with DATE_ORDER (422).
STEPS = {
    "accept": (AcceptSchema, proceedings.accept,
               "Accept the application in writing (第二十四条): the copy to the respondent and the case's "
               "60 days run."),
    "reject": (RejectSchema, proceedings.reject,
               "Refuse the application in writing, with grounds (第二十四条); the case ends and its freeze lifts."),
    "service": (ServiceSchema, proceedings.serve,
                "Record the day a document reached the parties: the copy of the application (第二十五条), the "
                "tribunal's composition (第二十七条), the award (第四十五条: the 30 days to sue run from it)."),
    "defence": (DefenceSchema, proceedings.defence,
                "The respondent's defence, written or oral, with any counterclaim (第二十五条); a late one is marked."),
    "tribunal": (TribunalSchema, proceedings.form_tribunal,
                 "Form the tribunal: three arbitrators, one presiding, or one when both parties agreed "
                 "(第二十七条; TRIBUNAL_COMPOSITION)."),
    "recusal": (RecusalSchema, proceedings.recuse,
                "A recusal request and the chair's decision (第二十八、二十九条): before the first hearing, or for a "
                "cause learned later before the last one ends (RECUSAL_TOO_LATE)."),
    "hearings": (HearingSchema, proceedings.hearing,
                 "Schedule a hearing noticed five working days ahead (第三十一条; HEARING_NOTICE_SHORT), or record one "
                 "held with who attended (第三十五条)."),
    "freeze": (FreezeSchema, proceedings.interim_freeze,
               "An interim ruling keeping the status quo (第四十二条): the case's rights and parcels refuse transfers "
               "(RIGHT_IN_DISPUTE) until it ends."),
    "extend": (ExtendSchema, proceedings.extend,
               "The chair's one extension of the 60 days, at most 30 days (第四十七条; DEADLINE_EXTENSION_EXCEEDED)."),
    "mediation-agreement": (AgreementSchema, proceedings.mediation_agreement,
                            "A mediation agreement signed by both parties and the mediator (第十、十一条; "
                            "AGREEMENT_UNSIGNED): binding at once; its registry orders are checked now."),
    "award": (AwardSchema, proceedings.award,
              "The award, by the tribunal's majority after its hearings (AWARD_MAJORITY), by default when the "
              "respondent missed a hearing (第三十五条); its registry orders are checked now."),
    "lawsuit": (LawsuitSchema, proceedings.lawsuit,
                "A party sued within 30 days of receiving the award (第四十八条; LAWSUIT_PERIOD_OVER): the award "
                "does not bind and the freeze lifts."),
    "withdraw": (WithdrawSchema, proceedings.withdraw,
                 "The applicant withdraws (第三十四条) or is deemed to (第三十五条); the case ends and its freeze "
                 "lifts unless a counterclaim keeps it going."),
    "finalize": (FinalizeSchema, proceedings.finalize,
                 "Enforce a binding award or agreement: its registry orders run through the registry's services, "
                 "each with its ledger entry naming the case (AWARD_NOT_BINDING before)."),
}
NEEDS_POLICY = {proceedings.mediation_agreement, proceedings.award, proceedings.finalize}


def _step_view(path: str, schema, step, summary: str) -> type[MethodView]:
    """The ``POST /disputes/{id}/<path>`` view of one step (the decorators go on before the route reads them)."""
    @blp.arguments(schema)
    @blp.response(200, DisputeSchema)
    def post(self, data, dispute_id):
        extra = {"policy": parcel_policy()} if step in NEEDS_POLICY else {}
        return step(unit_of_work(), actor=current_principal(), dispute_id=dispute_id, **extra, **data)
    post.__doc__ = summary
    view = type(f"Dispute{path.title().replace('-', '')}", (MethodView,), {"post": post})
    return blp.route(f"/disputes/{_ID}/{path}")(view)


for _path, (_schema, _step, _summary) in STEPS.items():
    _step_view(_path, _schema, _step, _summary)


@blp.route(f"/disputes/{_ID}/acceptance-notice.pdf")
class AcceptanceNoticePdf(MethodView):
    @blp.response(200, description="the acceptance notice as PDF", content_type="application/pdf")
    def get(self, dispute_id):
        """Print the acceptance notice (受理通知书): the parties, the claims and the deadlines the acceptance starts."""
        pdf = services.acceptance_notice_pdf(unit_of_work(write=False), actor=current_principal(),
                                             dispute_id=dispute_id)
        return Response(pdf, mimetype="application/pdf")


@blp.route(f"/disputes/{_ID}/award.pdf")
class AwardPdf(MethodView):
    @blp.response(200, description="the award as PDF", content_type="application/pdf")
    def get(self, dispute_id):
        """Print the award (裁决书): the claims, reasons and result, the registry orders, the tribunal, and the right
        to sue within 30 days of receiving it (第四十五、四十八条)."""
        return Response(services.award_pdf(unit_of_work(write=False), actor=current_principal(),
                                           dispute_id=dispute_id, limits=parcel_policy().limits),
                        mimetype="application/pdf")
