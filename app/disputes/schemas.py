from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate, validates_schema

from app.disputes.models import CATEGORIES, DISPUTE_STATUSES, PROCEDURES
from app.extensions import PageArgsSchema, Schema, StrictBoolean, Text


class PartySchema(Schema):
    """A household (18-digit code), a person (its id), a collective (14-digit code) of the registry, or
    someone outside it by name."""

    kind = fields.String(required=True, validate=validate.OneOf(("household", "person", "collective", "outside")))
    code = fields.String(validate=validate.Length(min=1, max=18))
    name = Text(max_length=200)

    @validates_schema
    def _identified(self, data, **kwargs):
        pattern = {"household": r"\d{18}", "person": r"\d{1,9}", "collective": r"\d{14}"}.get(data["kind"])
        if pattern is None:
            if "name" not in data:
                raise ValidationError({"name": ["an outside party is named"]})
        elif not re.fullmatch(pattern, data.get("code", "")):
            raise ValidationError({"code": [f"the {data['kind']}'s code ({pattern})"]})


class SubjectsSchema(Schema):
    rights = fields.List(fields.String(validate=validate.Length(equal=19)), load_default=list,
                         validate=validate.Length(max=200))
    parcels = fields.List(fields.String(validate=validate.Regexp(r"^\d{19}$", error="a 19-digit parcel code")),
                          load_default=list, validate=validate.Length(max=200))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data["rights"] and not data["parcels"]:
            raise ValidationError("name the rights or parcels in dispute")


class DisputeCreateSchema(Schema):
    procedure = fields.String(required=True, validate=validate.OneOf(PROCEDURES))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES),
                             metadata={"description": "农村土地承包经营纠纷调解仲裁法 第二条; `expropriation` is "
                                                      "refused (DISPUTE_OUT_OF_SCOPE)"})
    applicant = fields.Nested(PartySchema, required=True)
    respondent = fields.Nested(PartySchema, required=True)
    subjects = fields.Nested(SubjectsSchema, required=True)
    claims = Text(required=True, max_length=4000)
    knew_of_harm_on = fields.Date(required=True, metadata={"description": "starts the two-year limitation"})
    received_on = fields.Date(required=True, metadata={"description": "the day the committee received it"})
    freeze = StrictBoolean(load_default=False,
                           metadata={"description": "keep the status quo (第四十二条): transfers of its rights and "
                                                    "parcels are refused with RIGHT_IN_DISPUTE while it is open"})


class DeadlineSchema(Schema):
    due_on = fields.Date()
    basis = fields.String()
    what = fields.String()
    pending = fields.Boolean()
    overdue = fields.Boolean()
    assumed_years = fields.List(fields.Integer(), metadata={
        "description": "years whose official schedule is not known yet: Monday–Friday was assumed"})


class DisputeSchema(Schema):
    id = fields.Integer()
    county = fields.String()
    procedure = fields.String()
    category = fields.String()
    status = fields.String()
    applicant = fields.Dict()
    respondent = fields.Dict()
    subjects = fields.Dict()
    claims = fields.String()
    knew_of_harm_on = fields.Date()
    received_on = fields.Date()
    time_barred = fields.Boolean(metadata={"description": "applied after the two-year limitation (第十八条); "
                                                          "the committee may still decide"})
    freeze = fields.Boolean()
    events = fields.Dict(keys=fields.String(), values=fields.Date())
    deadlines = fields.Dict(keys=fields.String(), values=fields.Nested(DeadlineSchema))
    calendar_assumed = fields.List(fields.Integer())
    opened_by = fields.String()
    ledger_seq = fields.Integer()


class DisputeQueryArgsSchema(PageArgsSchema):
    cursor = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,10}$"),
                           metadata={"description": "`next_cursor` of the previous page."})
    overdue = fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"},
                             metadata={"description": "only cases with a deadline past due"})
    due_before = fields.Date(load_default=None, metadata={"description": "only cases with a deadline due before"})
    status = fields.String(load_default=None, validate=validate.OneOf(DISPUTE_STATUSES))


class DisputePageSchema(Schema):
    items = fields.List(fields.Nested(DisputeSchema))
    next_cursor = fields.String(allow_none=True)


class AcceptSchema(Schema):
    on = fields.Date(required=True, metadata={"description": "the day of the written decision to accept"})


class RejectSchema(Schema):
    on = fields.Date(required=True, metadata={"description": "the day of the written decision to refuse"})
    grounds = Text(required=True, max_length=2000, metadata={"description": "the grounds, as the decision states them"})
