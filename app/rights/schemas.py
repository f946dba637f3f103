from __future__ import annotations

from marshmallow import fields, validate

from app.extensions import PageArgsSchema, Schema
from app.parties.schemas import PersonSchema
from app.rights.models import RIGHT_TYPES


class RightCreateSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["contract"]), metadata={
        "description": "contract (土地承包经营权); homestead and income_share follow"})
    holder = fields.String(required=True, validate=validate.Length(max=18),
                           metadata={"description": "18-digit household code"})
    parcels = fields.List(fields.String(validate=validate.Length(max=19)), required=True,
                          validate=validate.Length(min=1, max=500), metadata={"description": "parcel codes"})
    start = fields.Date(required=True)
    end = fields.Date(required=True, metadata={"description": "last day of the term, inclusive"})
    acquisition = fields.String(load_default="family_contract", validate=validate.OneOf(["family_contract"]))


class RightParcelSchema(Schema):
    code = fields.String()
    name = fields.String(allow_none=True)
    land_use = fields.String()
    contract_area_m2 = fields.Float(allow_none=True, metadata={"description": "contract area (HTMJ)"})
    area_m2 = fields.Float(metadata={"description": "measured area of the current parcel version"})
    area_mu = fields.Float()
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    ledger_seq = fields.Integer()


class RightSchema(Schema):
    id = fields.String(metadata={"description": "household code + J (contract)"})
    type = fields.String()
    holder = fields.String()
    collective = fields.String()
    status = fields.String()
    start = fields.Date()
    end = fields.Date(allow_none=True)
    acquisition = fields.String(allow_none=True)
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    ledger_seq = fields.Integer()
    parcels = fields.List(fields.Nested(RightParcelSchema))
    total_area_m2 = fields.Float()
    total_area_mu = fields.Float()
    co_holders = fields.List(fields.Nested(PersonSchema), metadata={"description": "the household's members"})


class RightQueryArgsSchema(PageArgsSchema):
    holder = fields.String(validate=validate.Length(max=18))
    parcel = fields.String(validate=validate.Length(max=19))
    type = fields.String(validate=validate.OneOf(RIGHT_TYPES))
    status = fields.String(validate=validate.OneOf(["active", "ended"]))
    as_of = fields.Date(metadata={"description": "who held what on this day"})


class AsOfArgsSchema(Schema):
    as_of = fields.Date()


class RightPageSchema(Schema):
    items = fields.List(fields.Nested(RightSchema))
    next_cursor = fields.String(allow_none=True)
