"""Summary reports."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from app.auth.access import current_principal
from app.extensions import Blueprint, Schema, unit_of_work
from app.reports import services

blp = Blueprint("reports", __name__, description="Summary figures")


class SummaryArgsSchema(Schema):
    within = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,18}$"))


@blp.route("/reports/summary")
class Summary(MethodView):
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, description="collectives, households, persons, members, parcels, 亩 by land use, rights by "
                                   "type and status, transfers by kind and status with their value, what "
                                   "settled people kept, and open and overdue disputes")
    def get(self, args):
        """Summarise a division: its registry, rights, transfers and settlements."""
        return services.summary(unit_of_work(write=False), actor=current_principal(), **args)
