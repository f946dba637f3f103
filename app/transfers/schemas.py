from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate, validates_schema

from app.extensions import Date, IdCursor, Money, PageArgsSchema, Schema, StrictBoolean, Text
from app.ids import RowId
from app.transfers.models import TRANSFER_KINDS, TRANSFER_STATUSES
from gis.codes import CodeError, parse_credit_code, parse_id_number

_CODE18 = validate.Regexp(r"^\d{18}$", error="an 18-digit household code")
_RIGHT = validate.Length(min=19, max=19)


#: GB 32100 unified social credit code: 18 characters of 0-9 and A-Z without I, O, S, V, Z.
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


class OutsidePartySchema(Schema):
    """Someone outside the registry taking a management right: a person or an enterprise able to farm."""

    name = Text(required=True, max_length=200)
    id_number = fields.String(validate=validate.Length(equal=18))
    credit_code = fields.String(validate=validate.Regexp(_CREDIT_CODE, error="an 18-character GB 32100 code"),
                                metadata={"description": "unified social credit code; its check character is verified"})

    @validates_schema
    def _one_id(self, data, **kwargs):
        if ("id_number" in data) == ("credit_code" in data):
            raise ValidationError("give id_number (a person) or credit_code (an enterprise), not both")
        if "id_number" in data:
            try:
                data["id_number"] = parse_id_number(data["id_number"]).value
            except CodeError as e:
                raise ValidationError({"id_number": [str(e)]}) from None
        if "credit_code" in data:
            try:
                parse_credit_code(data["credit_code"])
            except CodeError as e:
                raise ValidationError({"credit_code": [str(e)]}) from None


class Recipient(fields.Field):
    """A household code, or (lease / share_in only) an outside party ``{name, id_number | credit_code}``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if not re.fullmatch(r"\d{18}", value):
                raise ValidationError("an 18-digit household code")
            return value
        if isinstance(value, dict):
            return OutsidePartySchema().load(value)
        raise ValidationError("a household code or an outside party object")


class ConsentSchema(Schema):
    """The holder's written consent; one without a signer or not marked voluntary is 422 CONSENT_REQUIRED."""

    signed_by_person_id = RowId(metadata={"description": "a member of the holding household (without it: 422 "
                                                      "CONSENT_REQUIRED)"})
    signed_on = Date(required=True)
    document = RowId(allow_none=True, metadata={"description": "the signed consent (a stored document id)"})
    voluntary = StrictBoolean(metadata={"description": "must be true: the holder's own decision (false or absent: "
                                                       "422 CONSENT_REQUIRED)"})


class ContractTermsSchema(Schema):
    """The 流转合同's clauses the parties agree (农村土地承包法 第四十、四十三条); a clause left out prints the
    law's baseline, and the transfer records the clauses as printed."""

    use = Text(max_length=500, metadata={"description": "流转土地的用途 (default: farming, the land's agricultural "
                                                        "use unchanged, 第三十八条)"})
    obligations = Text(max_length=2000, metadata={"description": "双方当事人的权利和义务, among them protecting the "
                                                                "land's quality"})
    payment = Text(max_length=1000, metadata={"description": "流转价款的支付方式 (when and how the price is paid)"})
    compensation = Text(max_length=1000, metadata={"description": "土地被依法征收、征用、占用时有关补偿费的归属"})
    attachments = Text(max_length=1000, metadata={"description": "合同到期后地上附着物及相关设施的处理 (第四十三条)"})
    liability = Text(max_length=1000, metadata={"description": "违约责任"})


def check_terms_of_kind(data: dict) -> dict[str, list[str]]:
    """A lease or share-in has a term (and may agree contract clauses); other kinds have neither."""
    if data["kind"] in ("lease", "share_in"):
        return {"term_end": ["required for lease and share_in"]} if data.get("term_end") is None else {}
    return {f: ["only for lease and share_in"] for f in ("term_end", "terms") if data.get(f) is not None}


class TransferCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(TRANSFER_KINDS), metadata={
        "description": "transfer (转让), exchange (互换), lease (出租/转包), share_in (入股) or exit (自愿有偿退出)"})
    right = fields.String(required=True, validate=_RIGHT, metadata={"description": "the right that moves"})
    parcels = fields.List(fields.String(validate=validate.Length(max=19)), validate=validate.Length(min=1, max=500),
                          metadata={"description": "contract land: the parcels that move (an exchange lists both "
                                                   "sides')"})
    shares = fields.Decimal(places=4, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False,
                                                                                max=10**9))
    from_ = fields.String(required=True, data_key="from", validate=_CODE18, metadata={"description": "the holder"})
    to = Recipient(metadata={"description": "the receiving household's code (omit for an exit); for lease and "
                                            "share_in also an outside party {name, id_number | credit_code}"})
    counter_right = fields.String(validate=_RIGHT, metadata={"description": "exchange: the other household's right"})
    price = Money(required=True, metadata={"description": "yuan; above zero except for an exchange"})
    term_end = Date(metadata={"description": "lease / share_in: last day of the management right"})
    terms = fields.Nested(ContractTermsSchema, metadata={
        "description": "lease / share_in: the written contract's clauses (第四十条); GET …/contract.pdf prints it"})
    notice_given_on = Date(metadata={"description": "exit of contract land: the day written notice reached "
                                                           "the issuer (6 months before completion)"})
    consent = fields.Nested(ConsentSchema, metadata={
        "description": "the holder's own signed, voluntary consent: without it 422 CONSENT_REQUIRED "
                       "(农村土地承包法 第二十七条; 土地管理法 第六十二条)"})
    counter_consent = fields.Nested(ConsentSchema, metadata={
        "description": "exchange: the other household's own signed, voluntary consent (it gives land away too)"})
    condition_of_settlement = StrictBoolean(metadata={
        "description": "accepted only to be refused: a transfer made a condition of settling in a city is "
                       "422 NO_SURRENDER_CONDITION"})
    settlement = fields.Integer(strict=True, metadata={
        "description": "accepted only to be refused: no transfer may refer to a settlement "
                       "(422 NO_SURRENDER_CONDITION)"})

    @validates_schema
    def _fields_of_its_kind(self, data, **kwargs):
        """Which fields each kind takes: an exit names no recipient, every other kind does; only an exchange
        has a counter right and its consent; only a lease or a share-in has a term (the rules that need
        the registry are the services')."""
        kind, errors = data["kind"], {}
        if kind == "exit" and data.get("to") is not None:
            errors["to"] = ["must be omitted for an exit"]
        elif kind != "exit" and data.get("to") is None:
            errors["to"] = ["required for this kind"]
        if kind != "exchange":
            errors |= {f: ["only for kind exchange"] for f in ("counter_right", "counter_consent")
                       if data.get(f) is not None}
        errors |= check_terms_of_kind(data)
        if errors:
            raise ValidationError(errors)


class IssuerConsentSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["granted", "refused"]))
    grounds = Text(max_length=2000, metadata={"description": "the legal grounds of a refusal; a refusal without "
                                                             "them is recorded and does not stop the transfer"})
    decided_on = Date()


class PaymentSchema(Schema):
    amount = Money(required=True, positive=True)
    paid_on = Date(required=True)
    reference = Text(required=True, max_length=100, metadata={"description": "bank or receipt reference"})


class CompleteSchema(Schema):
    completed_on = Date(metadata={"description": "default today"})


class TransferQueryArgsSchema(PageArgsSchema):
    right = fields.String(validate=_RIGHT)
    household = fields.String(validate=_CODE18)
    status = fields.String(validate=validate.OneOf(TRANSFER_STATUSES))
    cursor = IdCursor()


class TransferSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"description": "pending, consented, paid, completed, withdrawn, refused, or "
                                                    "voided by an arbitration award"})
    right = fields.String()
    from_ = fields.String(data_key="from", attribute="from", metadata={"description": "the holder's household code"})
    to = fields.String(allow_none=True)
    counter_right = fields.String(allow_none=True)
    to_party = fields.Dict(allow_none=True, metadata={"description": "an outside party taking a management right"})
    management_right = fields.Integer(allow_none=True, metadata={"description": "the 土地经营权 a completed lease "
                                                                               "or share-in created (ended if voided)"})
    parcels = fields.List(fields.String())
    shares = fields.String(allow_none=True)
    price = fields.String()
    paid = fields.String()
    payments = fields.List(fields.Dict())
    term_end = fields.Date(allow_none=True)
    contract_terms = fields.Dict(allow_none=True, metadata={
        "description": "lease / share_in: the contract's clauses as recorded (agreed, or the law's baseline)"})
    notice_given_on = fields.Date(allow_none=True)
    consent = fields.Dict()
    counter_consent = fields.Dict(allow_none=True)
    issuer = fields.Dict()
    completed_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    ledger_seq = fields.Integer()


class ManagementRightSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "lease (出租/转包) or share_in (入股)"})
    transfer = fields.Integer(metadata={"description": "the lease or share-in that created it"})
    contract_right = fields.String(metadata={"description": "the contract it was split off (the household keeps it)"})
    holder = fields.Dict(metadata={"description": "{household, name, credit_code, id_number (masked as the role "
                                                  "requires)}"})
    parcels = fields.List(fields.String())
    start = fields.Date()
    end = fields.Date(metadata={"description": "the last day, inclusive"})
    registrable = fields.Boolean(metadata={"description": "five years or more: it may be registered (第四十一条)"})
    registration = fields.Dict(allow_none=True, metadata={"description": "{number, registered_on, ledger_seq}"})
    ledger_seq = fields.Integer()


class RegistrationSchema(Schema):
    registered_on = Date(required=True, metadata={
        "description": "the day the registration office recorded it: from the right's start to today"})


class TransferPageSchema(Schema):
    items = fields.List(fields.Nested(TransferSchema))
    next_cursor = fields.String(allow_none=True)


class SettlementCreateSchema(Schema):
    person_id = RowId(required=True)
    settled_on = Date(required=True)
    city_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="a 6-digit GB/T 2260 code"))
    hukou_ref = Text(max_length=100, metadata={"description": "the hukou transfer document's reference"})


class SettlementSchema(Schema):
    id = fields.Integer()
    person = fields.Integer()
    household = fields.String()
    settled_on = fields.Date()
    city_code = fields.String()
    hukou_ref = fields.String(allow_none=True)
    ledger_seq = fields.Integer()
    rights_retained = fields.List(fields.Dict(), metadata={"description": "every right the household keeps: all"})
    membership_retained = fields.Boolean()


class RetainedRightSchema(Schema):
    id = fields.String()
    type = fields.String(allow_none=True)
    status_now = fields.String(metadata={"description": "`held` (still the household's, in force), `ended` (since "
                                                        "ended by a voluntary transfer, an exit or its term) or "
                                                        "`unknown`"})


class SettlementRecordSchema(Schema):
    id = fields.Integer()
    person = fields.Integer()
    person_name = fields.String(allow_none=True)
    household = fields.String()
    settled_on = fields.Date()
    city_code = fields.String()
    hukou_ref = fields.String(allow_none=True)
    ledger_seq = fields.Integer()
    entry_intact = fields.Boolean(metadata={"description": "the ledger entry the record names still hashes as "
                                                           "recorded (else the lists below are empty)"})
    rights_retained = fields.List(fields.Nested(RetainedRightSchema), metadata={
        "description": "the rights the household held, and kept, on settling (from the ledger entry), each with "
                       "its status today"})
    membership_retained = fields.Boolean(allow_none=True)
