"""Summary reports."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from app.auth.access import current_principal
from app.extensions import Blueprint, Schema, settings, unit_of_work
from app.reports import compliance, services
from app.reports.schemas import ComplianceArgsSchema, ComplianceReportSchema

blp = Blueprint("reports", __name__, description="Summary figures")


class SummaryArgsSchema(Schema):
    within = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,18}$"))


@blp.route("/reports/summary")
class Summary(MethodView):
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, description="collectives, households, persons, members (current memberships of the division's "
                                   "collectives), parcels, 亩 by land use, rights by "
                                   "type and status, transfers by kind and status with their value, what "
                                   "settled people kept, open and overdue disputes, and the exchange desk's "
                                   "listings, awards and prices per 亩")
    def get(self, args):
        """Summarise a division: its registry, rights, transfers, settlements, disputes and the exchange desk."""
        return services.summary(unit_of_work(write=False), actor=current_principal(), **args)


@blp.route("/compliance/settlement-exits")
class SettlementExits(MethodView):
    @blp.arguments(ComplianceArgsSchema, location="query")
    @blp.response(200, ComplianceReportSchema)
    def get(self, args):
        """List every transfer and exit by a settled household, with the flags an auditor should look at."""
        return compliance.settlement_exits(unit_of_work(write=False), actor=current_principal(),
                                           policy=compliance.compliance_policy(settings()), **args)
