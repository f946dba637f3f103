from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate, validates_schema

from app import ids
from app.disputes.models import CATEGORIES, DISPUTE_STATUSES, PROCEDURES
from app.disputes.orders import ORDER_TYPES
from app.extensions import Date, IdCursor, PageArgsSchema, Schema, StrictBoolean, Text
from app.ids import RowId


class PartySchema(Schema):
    """A household (18-digit code), a person (its registry id, as text), a collective (14-digit code) of the
    registry, or someone outside it by name."""

    kind = fields.String(required=True, validate=validate.OneOf(("household", "person", "collective", "outside")))
    code = fields.String(validate=validate.Length(min=1, max=18))
    name = Text(max_length=200)

    @validates_schema
    def _identified(self, data, **kwargs):
        pattern = {"household": r"\d{18}", "person": ids.PATTERN, "collective": r"\d{14}"}.get(data["kind"])
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


def documents(what: str) -> fields.List:
    """Evidence files of a step: ids from ``POST /api/v1/documents``."""
    return fields.List(RowId(),
                       load_default=list, validate=validate.Length(max=50),
                       metadata={"description": f"{what}: ids from `POST /api/v1/documents`"})


class MediatorSchema(Schema):
    body = fields.String(required=True, validate=validate.OneOf(("village_committee", "township", "other")),
                         metadata={"description": "村民委员会, 乡（镇）人民政府 or another mediation "
                                                  "organisation (第三条)"})
    name = Text(required=True, max_length=200)


class DisputeCreateSchema(Schema):
    documents = documents("the application and its evidence")
    mediator = fields.Nested(MediatorSchema, load_default=None, metadata={
        "description": "a mediation's mediator: who the parties asked to mediate"})
    procedure = fields.String(required=True, validate=validate.OneOf(PROCEDURES))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES),
                             metadata={"description": "农村土地承包经营纠纷调解仲裁法 第二条; `expropriation` is "
                                                      "refused (DISPUTE_OUT_OF_SCOPE)"})
    applicant = fields.Nested(PartySchema, required=True)
    respondent = fields.Nested(PartySchema, required=True)
    subjects = fields.Nested(SubjectsSchema, required=True)
    claims = Text(required=True, max_length=4000)
    knew_of_harm_on = Date(required=True, metadata={"description": "starts the two-year limitation"})
    received_on = Date(required=True, metadata={"description": "the day the committee received it"})
    freeze = StrictBoolean(load_default=False,
                           metadata={"description": "keep the status quo (第四十二条): transfers of its rights and "
                                                    "parcels are refused with RIGHT_IN_DISPUTE while it is open"})

    @validates_schema
    def _mediator_mediates(self, data, **kwargs):
        if data.get("mediator") and data.get("procedure") != "mediation":
            raise ValidationError({"mediator": ["only a mediation has a mediator; an arbitration has its tribunal"]})


class DeadlineSchema(Schema):
    due_on = fields.Date()
    basis = fields.String()
    what = fields.String()
    pending = fields.Boolean()
    overdue = fields.Boolean()
    by = fields.String(metadata={"description": "`committee` (overdue when missed), `respondent` or `parties` "
                                                "(their time runs out)"})
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
    freeze = fields.Boolean(metadata={"description": "its rights and parcels are frozen now (RIGHT_IN_DISPUTE); "
                                                     "false again once the case ended and the freeze lifted"})
    events = fields.Dict(keys=fields.String(), values=fields.Date())
    deadlines = fields.Dict(keys=fields.String(), values=fields.Nested(DeadlineSchema))
    calendar_assumed = fields.List(fields.Integer())
    binding = fields.Boolean(metadata={"description": "the agreement or award binds (第四十八条)"})
    binding_on = fields.Date(allow_none=True)
    extension_days = fields.Integer()
    record = fields.Dict(metadata={"description": "what each step decided, with its documents"})
    opened_by = fields.String()
    ledger_seq = fields.Integer()


class DisputeQueryArgsSchema(PageArgsSchema):
    cursor = IdCursor()
    overdue = fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"},
                             metadata={"description": "only cases with a deadline past due"})
    due_before = Date(load_default=None, metadata={"description": "only cases with a deadline due before"})
    within = fields.Integer(load_default=None, validate=validate.Range(min=0, max=366), metadata={
        "description": "only cases with a deadline pending in the next so many days (with `overdue`: either)"})
    status = fields.String(load_default=None, validate=validate.OneOf(DISPUTE_STATUSES))


class DisputePageSchema(Schema):
    items = fields.List(fields.Nested(DisputeSchema))
    next_cursor = fields.String(allow_none=True)


class StepSchema(Schema):
    documents = documents("evidence documents of this step")


class AcceptSchema(StepSchema):
    on = Date(required=True, metadata={"description": "the day of the written decision to accept"})


class RejectSchema(StepSchema):
    on = Date(required=True, metadata={"description": "the day of the written decision to refuse"})
    grounds = Text(required=True, max_length=2000, metadata={"description": "the grounds, as the decision states them"})


class ServiceSchema(StepSchema):
    document = fields.String(required=True, validate=validate.OneOf(("application_copy", "tribunal_notice", "award")),
                             metadata={"description": "`application_copy` (with the acceptance notice, to the "
                                                      "respondent: 第二十五条), `tribunal_notice` (第二十七条), "
                                                      "`award` (第四十五条; the 30 days to sue run from it)"})
    on = Date(required=True, metadata={"description": "the day it reached the parties (送达回证); the later "
                                                             "day when they received it on different days"})


class DefenceSchema(StepSchema):
    on = Date(required=True)
    summary = Text(required=True, max_length=4000)
    oral = StrictBoolean(load_default=False, metadata={"description": "an oral defence, put on record (第二十五条)"})
    counterclaim = Text(load_default=None, max_length=4000)


class ArbitratorSchema(Schema):
    name = Text(required=True, max_length=100)
    chosen_by = fields.String(required=True, validate=validate.OneOf(("applicant", "respondent", "both", "chair")))


class TribunalSchema(StepSchema):
    formed_on = Date(required=True)
    arbitrators = fields.List(fields.Nested(ArbitratorSchema), required=True, validate=validate.Length(min=1, max=5))
    presiding = Text(load_default=None, max_length=100, metadata={"description": "one of the three (首席仲裁员)"})
    sole_by_agreement = StrictBoolean(load_default=False, metadata={
        "description": "both parties agreed to one arbitrator (第二十七条)"})


class RecusalSchema(StepSchema):
    on = Date(required=True, metadata={"description": "the day the request was made"})
    arbitrator = Text(required=True, max_length=100)
    requested_by = fields.String(required=True, validate=validate.OneOf(("applicant", "respondent", "arbitrator")))
    grounds = Text(required=True, max_length=2000)
    learned_after_first_hearing = StrictBoolean(load_default=False, metadata={
        "description": "the cause became known after the first hearing: allowed until the last one ends"})
    decision = fields.String(required=True, validate=validate.OneOf(("granted", "refused")))
    decided_by = Text(required=True, max_length=100, metadata={"description": "the committee's chair (第二十九条)"})
    replacement = Text(load_default=None, max_length=100, metadata={"description": "who takes the seat when granted"})


class HearingSchema(StepSchema):
    on = Date(required=True, metadata={"description": "the hearing's day: after today schedules it; today or "
                                                             "before records it as held"})
    place = Text(load_default=None, max_length=200)
    notified_on = Date(load_default=None, metadata={"description": "the day the parties were told: five "
                                                                          "working days before (第三十一条)"})
    applicant_present = StrictBoolean(load_default=None)
    respondent_present = StrictBoolean(load_default=None)
    last = StrictBoolean(load_default=False, metadata={"description": "the hearings ended with this one"})


class FreezeSchema(StepSchema):
    on = Date(required=True)
    grounds = Text(required=True, max_length=2000)
    rights = fields.List(fields.String(validate=validate.Length(equal=19)), load_default=None)
    parcels = fields.List(fields.String(validate=validate.Length(equal=19)), load_default=None)


class ExtendSchema(StepSchema):
    days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=366), metadata={
        "description": "at most 30 (DEADLINE_EXTENSION_EXCEEDED), once"})
    approved_on = Date(required=True)
    approved_by = Text(required=True, max_length=100, metadata={"description": "the committee's chair"})
    reason = Text(required=True, max_length=2000)


class OrderSchema(Schema):
    """One registry order of an award or agreement; the fields its ``type`` needs."""

    type = fields.String(required=True, validate=validate.OneOf(ORDER_TYPES))
    parcels = fields.List(fields.String(validate=validate.Regexp(r"^\d{19}$")),
                          validate=validate.Length(min=1, max=200))
    to_right = fields.String(validate=validate.Length(equal=19))
    parcel = fields.String(validate=validate.Regexp(r"^\d{19}$"))
    geometry = fields.Dict()
    crs = fields.String(load_default=None, validate=validate.Length(max=20))
    collective = fields.String(validate=validate.Regexp(r"^\d{14}$"))
    person = RowId()
    household = fields.String(validate=validate.Regexp(r"^\d{18}$"))
    shares = fields.String(validate=validate.Regexp(r"^\d{1,9}(\.\d{1,4})?$", error="a number of shares"))
    transfer = RowId()
    grounds = Text(max_length=2000)

    _NEEDS = {"move_parcels": ("parcels", "to_right"), "correct_boundary": ("parcel", "geometry"),
              "restore_membership": ("collective", "person"), "restore_shares": ("household", "shares"),
              "void_transfer": ("transfer", "grounds")}

    @validates_schema
    def _complete(self, data, **kwargs):
        missing = [f for f in self._NEEDS.get(data.get("type"), ()) if data.get(f) is None]
        if missing:
            raise ValidationError({f: [f"required for {data['type']}"] for f in missing})


_ORDERS = {"description": "registry orders `finalize` executes once it binds: move_parcels {parcels, to_right}, "
                          "correct_boundary {parcel, geometry, crs?}, restore_membership {collective, person}, "
                          "restore_shares {household, shares}, void_transfer {transfer, grounds}. Each is checked "
                          "against the registry now: an order the registry would refuse is refused with its rule"}


class AgreementSchema(StepSchema):
    on = Date(required=True, metadata={"description": "the day both parties signed (签收)"})
    terms = Text(required=True, max_length=8000)
    signed_by_applicant = StrictBoolean(required=True)
    signed_by_respondent = StrictBoolean(required=True)
    mediator = Text(required=True, max_length=200, metadata={
        "description": "the mediator who signed (village committee, township; in arbitration the tribunal)"})
    orders = fields.List(fields.Nested(OrderSchema), load_default=list, validate=validate.Length(max=50),
                         metadata=_ORDERS)


class AwardSchema(StepSchema):
    on = Date(required=True)
    result = Text(required=True, max_length=8000)
    reasons = Text(required=True, max_length=8000)
    majority = fields.List(Text(max_length=100), required=True, validate=validate.Length(min=1, max=5),
                           metadata={"description": "the arbitrators who made the award: more than half"})
    dissent = Text(load_default=None, max_length=4000)
    by_default = StrictBoolean(load_default=False, metadata={
        "description": "缺席裁决: the respondent, notified in writing, missed a hearing (第三十五条)"})
    orders = fields.List(fields.Nested(OrderSchema), load_default=list, validate=validate.Length(max=50),
                         metadata=_ORDERS)


class LawsuitSchema(StepSchema):
    filed_on = Date(required=True)
    by = fields.String(required=True, validate=validate.OneOf(("applicant", "respondent")))
    court = Text(required=True, max_length=200)


class WithdrawSchema(StepSchema):
    on = Date(required=True)
    reason = Text(required=True, max_length=2000)
    deemed = StrictBoolean(load_default=False, metadata={
        "description": "the applicant, notified in writing, missed a hearing (第三十五条)"})


class FinalizeSchema(StepSchema):
    on = Date(required=True, metadata={"description": "the day the orders take effect"})
