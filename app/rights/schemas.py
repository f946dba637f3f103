from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from app.extensions import Date, PageArgsSchema, Schema, StrictBoolean
from app.ids import RowId
from app.parties.schemas import PersonSchema
from app.rights.models import HOUSE_DISPOSALS, RIGHT_TYPES

#: The body fields of each right type (beside type and holder): (required, optional).
FIELDS_BY_TYPE = {
    "contract": ({"parcels", "start", "end"}, {"acquisition"}),
    "homestead": ({"parcel", "approved_on"}, {"approval_document"}),
    "income_share": ({"shares"}, set()),
}
_SHARES = validate.Range(min=0, min_inclusive=False, max=10**9)


class RightCreateSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(list(FIELDS_BY_TYPE)), metadata={
        "description": "contract (土地承包经营权), homestead (宅基地使用权) or income_share (集体收益分配权)"})
    holder = fields.String(required=True, validate=validate.Length(max=18),
                           metadata={"description": "18-digit household code"})
    parcels = fields.List(fields.String(validate=validate.Length(max=19)),
                          validate=validate.Length(min=1, max=500), metadata={"description": "contract: parcel codes"})
    start = Date(metadata={"description": "contract: first day of the term"})
    end = Date(metadata={"description": "contract: last day of the term, inclusive"})
    acquisition = fields.String(validate=validate.OneOf(["family_contract"]), metadata={
        "description": "contract: how it was acquired (default family_contract)"})
    parcel = fields.String(validate=validate.Length(max=19), metadata={"description": "homestead: the plot"})
    approved_on = Date(metadata={"description": "homestead: date of the approval"})
    approval_document = RowId(allow_none=True, metadata={"description": "homestead: the approval (a document id)"})
    shares = fields.Decimal(places=4, validate=_SHARES, metadata={
        "description": "income_share: the household's shares under the collective's plan"})

    @validates_schema
    def _fields_of_type(self, data, **kwargs):
        required, optional = FIELDS_BY_TYPE.get(data.get("type"), (set(), set()))
        given = set(data) - {"type", "holder"}
        errors = {f: ["Missing data for required field."] for f in sorted(required - given)}
        errors |= {f: [f"Not a field of type {data.get('type')}."] for f in sorted(given - required - optional)}
        if errors:
            raise ValidationError(errors)


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
    id = fields.String(metadata={"description": "the right's identity: its code for the household's first right "
                                                "of the type, <code>-<n> for its n-th (a later contract after the "
                                                "last one ended)"})
    code = fields.String(metadata={"description": "the printed 19-character code: household code + J (contract, "
                                                  "NY/T 2539 CBHTBM), Z (homestead) or G (income share)"})
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
    shares = fields.String(allow_none=True, metadata={"description": "income_share: shares held (decimal string)"})
    shares_history = fields.List(fields.Dict(), metadata={"description": "with ?history=true"})
    co_holders = fields.List(fields.Nested(PersonSchema), metadata={"description": "the household's members"})


class RightQueryArgsSchema(PageArgsSchema):
    holder = fields.String(validate=validate.Length(max=18))
    parcel = fields.String(validate=validate.Length(max=19), metadata={
        "description": "the right holding this parcel now; with as_of, the one holding it that day; with "
                       "history=true, every right that ever held it"})
    type = fields.String(validate=validate.OneOf(RIGHT_TYPES))
    status = fields.String(validate=validate.OneOf(["active", "ended"]), metadata={
        "description": "whether the right is in force now (ignored with as_of)"})
    as_of = Date(metadata={"description": "who held what on this day: rights in force that day, with the "
                                                 "parcels they held that day (parcel= then names who held it)"})
    history = fields.Boolean(load_default=False, metadata={
        "description": "every parcel link and share holding each right ever had, with its ledger entry; with "
                       "parcel= (and no as_of), every right that ever held the parcel"})


class AsOfArgsSchema(Schema):
    as_of = Date(metadata={"description": "the right as it stood that day; a 19-character code names the "
                                                 "household's right under it in force that day"})
    history = fields.Boolean(load_default=False, metadata={
        "description": "every parcel link and share holding the right ever had"})


class RightPageSchema(Schema):
    items = fields.List(fields.Nested(RightSchema))
    next_cursor = fields.String(allow_none=True)


class HouseDisposalCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(HOUSE_DISPOSALS))
    occurred_on = Date(required=True)
    document = RowId(allow_none=True)


class HouseDisposalSchema(Schema):
    id = fields.Integer()
    household = fields.String()
    kind = fields.String()
    occurred_on = fields.Date()
    document = fields.Integer(allow_none=True)
    ledger_seq = fields.Integer()


class HomesteadStandardSchema(Schema):
    max_m2 = fields.Float(required=True, allow_none=True, validate=validate.Range(min=1, max=10_000), metadata={
        "description": "the collective's homestead area standard in m²; null = SANQUAN_HOMESTEAD_MAX_M2"})


class HomesteadStandardOutSchema(Schema):
    collective = fields.String()
    max_m2 = fields.Float(allow_none=True)


class SharePlanSchema(Schema):
    total_shares = fields.Decimal(required=True, places=4, validate=_SHARES, as_string=True)
    max_holding_per_household = fields.Decimal(places=4, validate=_SHARES, allow_none=True, as_string=True)
    whole_shares = StrictBoolean(load_default=True, metadata={"description": "shares must be whole numbers"})


class SharePlanOutSchema(Schema):
    collective = fields.String()
    total_shares = fields.String()
    max_holding_per_household = fields.String(allow_none=True)
    whole_shares = fields.Boolean()
    allocated_shares = fields.String()
    valid_from = fields.Date()
    ledger_seq = fields.Integer()


class CertificateCreateSchema(Schema):
    reason = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "required when re-issuing (lost, damaged, changed)"})


class CertificateSchema(Schema):
    number = fields.String()
    right = fields.String()
    issued_on = fields.Date()
    reason = fields.String(allow_none=True)
    superseded_by = fields.String(allow_none=True)
    supersedes = fields.String(allow_none=True)
    ledger_seq = fields.Integer()
    ledger_hash = fields.String(metadata={"description": "leaf hash of the issuing ledger entry"})
    qr_payload = fields.String(metadata={"description": "the JSON the printed QR code carries"})


class QrCheckArgsSchema(Schema):
    qr = fields.String(required=True, validate=validate.Length(min=1, max=400),
                       metadata={"description": "the text the certificate's QR code carries"})


class QrCheckSchema(Schema):
    genuine = fields.Boolean(metadata={"description": "the code names the certificate's issuing entry, the hash "
                                                      "matches and the entry's inclusion proof verifies"})
    in_force = fields.Boolean(metadata={"description": "false once a re-issue superseded it"})
    problems = fields.List(fields.String())
    certificate = fields.Nested(CertificateSchema, allow_none=True, metadata={
        "description": "the certificate; null for another document printed from one entry (a 交易鉴证书)"})
    entry = fields.Dict(metadata={"description": "{log, seq, kind, number}: the entry the code names"})
    inclusion = fields.Dict(allow_none=True, metadata={"description": "RFC 9162 inclusion proof of the entry"})
    checkpoint = fields.Dict(allow_none=True, metadata={"description": "the signed checkpoint the proof leads to"})
