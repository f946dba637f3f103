"""Requests and responses of the reports."""
from __future__ import annotations

from marshmallow import fields, validate

from app.extensions import IdCursor, PageArgsSchema, Schema


class ComplianceArgsSchema(PageArgsSchema):
    cursor = IdCursor()
    within = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,18}$"))
    window_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=3650), metadata={
        "description": "flag consents signed this many days or fewer from a settlement (default the setting, 90)"})


class _SettledHouseholdLookSchema(Schema):
    """What the report says of a transfer or a listing by a settled household."""

    kind = fields.String()
    status = fields.String()
    right = fields.String()
    household = fields.String()
    settlements = fields.List(fields.Dict())
    days_settlement_to_consent = fields.Integer(metadata={"description": "negative: consent before settling"})
    consent_signed_on = fields.Date()
    price_per_mu = fields.Float(allow_none=True)
    collective_median_per_mu = fields.Float(allow_none=True)


class ComplianceItemSchema(_SettledHouseholdLookSchema):
    transfer = fields.Integer()
    listing = fields.Integer(allow_none=True, metadata={"description": "the exchange-desk listing whose award "
                                                                       "opened this transfer"})
    price = fields.String()
    flags = fields.List(fields.String(), metadata={
        "description": "consent_near_settlement, price_far_below_collective, exit_campaign, consent_without_document"})


class ComplianceListingSchema(_SettledHouseholdLookSchema):
    listing = fields.Integer()
    asking_price = fields.String()
    flags = fields.List(fields.String(), metadata={
        "description": "consent_near_settlement, price_far_below_collective, consent_without_document"})


class ComplianceReportSchema(Schema):
    items = fields.List(fields.Nested(ComplianceItemSchema))
    listings = fields.List(fields.Nested(ComplianceListingSchema), metadata={
        "description": "listings of settled households still on the exchange desk (with the first page)"})
    next_cursor = fields.String(allow_none=True, metadata={"description": "pass as `cursor` for the next page; "
                                                                          "null on the last"})
    window_days = fields.Integer()
    price_ratio = fields.Float()
    campaign = fields.Dict()
