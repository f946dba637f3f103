"""The county ledger (API.md, Ledger)."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from app.auth.access import current_principal
from app.extensions import Blueprint, Schema, unit_of_work
from app.ledger import services

blp = Blueprint("ledger", __name__, description="Append-only, hash-chained county logs")


class LedgerQueryArgsSchema(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


class LedgerEntrySchema(Schema):
    seq = fields.Integer()
    recorded_at = fields.AwareDateTime()
    actor = fields.String()
    kind = fields.String()
    subjects = fields.List(fields.String())
    body = fields.Dict(metadata={"description": "the canonical JSON body (RFC 8785) that body_sha256 covers"})
    body_sha256 = fields.String()
    prev_hash = fields.String()
    leaf_hash = fields.String()


class LedgerPageSchema(Schema):
    log = fields.String()
    size = fields.Integer()
    head_hash = fields.String()
    items = fields.List(fields.Nested(LedgerEntrySchema))
    next_after = fields.Integer(allow_none=True, metadata={"description": "pass as ?after= for the next page"})


@blp.route("/ledger/<county>")
class Ledger(MethodView):
    @blp.arguments(LedgerQueryArgsSchema, location="query")
    @blp.response(200, LedgerPageSchema)
    def get(self, args, county):
        """List a county's ledger entries after a sequence number."""
        return services.list_entries(unit_of_work(write=False), actor=current_principal(), county=county, **args)
