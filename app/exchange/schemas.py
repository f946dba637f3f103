"""Requests and responses of the exchange desk."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from app.exchange.models import LISTING_KINDS, LISTING_STATUSES
from app.extensions import Date, IdCursor, Money, PageArgsSchema, Schema, StrictBoolean
from app.transfers.schemas import ConsentSchema, ContractTermsSchema, Recipient, TransferSchema, check_terms_of_kind

_RIGHT = validate.Length(min=19, max=24)


class ListingCreateSchema(Schema):
    right = fields.String(required=True, validate=_RIGHT, metadata={
        "description": "the right offered (its 19-character code names the contract in force)"})
    kind = fields.String(required=True, validate=validate.OneOf(LISTING_KINDS), metadata={
        "description": "transfer (转让: contract land, a homestead with its house, or income shares), lease "
                       "(出租/转包) or share_in (入股) of contract land's management right"})
    parcels = fields.List(fields.String(validate=validate.Length(max=19)), validate=validate.Length(min=1, max=500),
                          metadata={"description": "contract land: the parcels offered"})
    shares = fields.Decimal(places=4, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False,
                                                                                max=10**9),
                            metadata={"description": "income shares: how many are offered"})
    asking_price = Money(required=True, positive=True, metadata={"description": "yuan; bids start here"})
    term_end = Date(metadata={"description": "lease / share_in: last day of the management right offered"})
    terms = fields.Nested(ContractTermsSchema, metadata={
        "description": "lease / share_in: the contract's clauses offered (第四十条), carried into the awarded "
                       "transfer's contract"})
    listed_on = Date(required=True, metadata={"description": "the day the desk listed it"})
    announcement_days = fields.Integer(validate=validate.Range(min=1, max=365), metadata={
        "description": "working days of the public announcement (default and least: the setting, 10; fewer is "
                       "422 ANNOUNCEMENT_TOO_SHORT)"})
    consent = fields.Nested(ConsentSchema, metadata={
        "description": "the holder's own signed, voluntary consent: without it 422 CONSENT_REQUIRED"})
    condition_of_settlement = StrictBoolean(metadata={
        "description": "accepted only to be refused: a listing made a condition of settling in a city is "
                       "422 NO_SURRENDER_CONDITION"})
    settlement = fields.Integer(metadata={"description": "accepted only to be refused (422 NO_SURRENDER_CONDITION)"})

    @validates_schema
    def _term_of_its_kind(self, data, **kwargs):
        """Only a lease or a share-in offers a term, and it must; only they agree contract clauses."""
        errors = check_terms_of_kind(data)
        if errors:
            raise ValidationError(errors)


class ListingQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(LISTING_STATUSES))
    within = fields.String(validate=validate.Regexp(r"^\d{6,18}$"), metadata={
        "description": "a division inside the caller's scope (county, township, village or group code)"})
    cursor = IdCursor()


class ListingStepSchema(Schema):
    on = Date(required=True, metadata={"description": "the day it happened: from the listing's day to today"})


class BidCreateSchema(Schema):
    bidder = Recipient(required=True, metadata={
        "description": "a household code, or for lease and share_in an outside party {name, id_number | "
                       "credit_code}"})
    amount = Money(required=True, positive=True)
    bid_on = Date(required=True, metadata={"description": "the day the bid was made"})


class BidSchema(Schema):
    id = fields.Integer()
    listing = fields.Integer()
    household = fields.String()
    party = fields.Dict()
    amount = fields.String()
    bid_on = fields.Date()
    ledger_seq = fields.Integer()


class ListingSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "announced, awarded or withdrawn"})
    suspended = fields.Boolean(metadata={"description": "a freeze holds its right or a parcel: no bid, no award"})
    kind = fields.String()
    right = fields.String()
    holder = fields.String()
    collective = fields.String()
    parcels = fields.List(fields.String())
    shares = fields.String(allow_none=True)
    asking_price = fields.String()
    term_end = fields.Date(allow_none=True)
    contract_terms = fields.Dict(allow_none=True, metadata={"description": "lease / share_in: the contract's clauses "
                                                                           "offered"})
    listed_on = fields.Date()
    announcement_days = fields.Integer()
    announcement_ends_on = fields.Date(metadata={"description": "the announcement's last working day"})
    assumed_years = fields.List(fields.Integer(), metadata={
        "description": "years whose official schedule was not known, Monday–Friday assumed"})
    bid_count = fields.Integer()
    bids = fields.List(fields.Nested(BidSchema), metadata={
        "description": "one listing's bids, to the desk and auditors only (the notice board gives highest_bid)"})
    highest_bid = fields.String(allow_none=True, metadata={"description": "to the desk and auditors only"})
    withdrawn_on = fields.Date(allow_none=True)
    awarded_on = fields.Date(allow_none=True)
    award = fields.Dict(allow_none=True, metadata={
        "description": "method (negotiated / bidding), bidders, bids; rule PRIORITY_RIGHT and basis when a member "
                       "won on equal terms"})
    transfer: fields.Field = fields.Integer(allow_none=True, metadata={
        "description": "the transfer the award opened"})
    ledger_seq = fields.Integer()


class ListingAwardSchema(ListingSchema):
    winner = fields.Dict(metadata={"description": "{household} or {party}"})
    amount = fields.String()
    details = fields.Dict()
    transfer: fields.Field = fields.Nested(TransferSchema, metadata={
        "description": "the pending transfer the award opened, which runs the transfers' workflow"})


class ListingPageSchema(Schema):
    items = fields.List(fields.Nested(ListingSchema))
    next_cursor = fields.String(allow_none=True)
