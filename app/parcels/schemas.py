from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from app.extensions import GeoJSONGeometry, PageArgsSchema, Schema, StrictBoolean, Text
from app.parcels.models import LAND_USES, PARCEL_KINDS


class ParcelCreateSchema(Schema):
    collective = fields.String(required=True, validate=validate.Regexp(r"^\d{14}$"))
    kind = fields.String(required=True, validate=validate.OneOf(PARCEL_KINDS))
    land_use = fields.String(required=True, validate=validate.OneOf(LAND_USES))
    geometry = GeoJSONGeometry(required=True)
    crs = fields.String(validate=validate.Length(max=100), metadata={
        "description": "EPSG:4490 (default), EPSG:4326, or a CGCS2000 3-degree GK zone EPSG:4513–4554"})
    code = fields.String(validate=validate.Length(max=50), metadata={
        "description": "19-digit parcel code; assigned when absent; a malformed one is 422 PARCEL_CODE_INVALID"})
    name = Text(max_length=200, allow_none=True)
    declared_area_m2 = fields.Float(validate=validate.Range(min=0, min_inclusive=False, max=1e9),
                                    allow_none=True, metadata={"description": "area on the confirmation record"})
    basic_farmland = StrictBoolean(load_default=False, metadata={"description": "基本农田 (SFJBNT)"})


def _pair(value: str, n: int, name: str) -> tuple[float, ...]:
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        raise ValidationError(f"{name} must be {n} comma-separated numbers") from None
    if len(parts) != n or not all(abs(p) < 1000 for p in parts):
        raise ValidationError(f"{name} must be {n} comma-separated longitudes/latitudes")
    return parts


class BBoxField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        box = _pair(super()._deserialize(value, attr, data, **kwargs), 4, "bbox")
        if box[0] > box[2] or box[1] > box[3]:
            raise ValidationError("bbox must be minlon,minlat,maxlon,maxlat")
        return box


class PointField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return _pair(super()._deserialize(value, attr, data, **kwargs), 2, "contains")


class ParcelQueryArgsSchema(PageArgsSchema):
    collective = fields.String(validate=validate.Regexp(r"^\d{14}$"))
    within = fields.String(validate=validate.Regexp(r"^\d{0,19}$"))
    bbox = BBoxField(metadata={"description": "minlon,minlat,maxlon,maxlat (EPSG:4490)"})
    contains = PointField(metadata={"description": "lon,lat: parcels containing this point"})
    crs = fields.String(validate=validate.Length(max=100), metadata={"description": "output CRS"})
    neighbours = fields.Boolean(load_default=False, metadata={
        "description": "include 四至 in each feature's properties (one more spatial query per page)"})


class CrsArgsSchema(Schema):
    crs = fields.String(validate=validate.Length(max=100), metadata={"description": "output CRS"})


class FeatureSchema(Schema):
    type = fields.String()
    id = fields.String()
    geometry = fields.Dict()
    properties = fields.Dict()


class FeatureCollectionSchema(Schema):
    type = fields.String()
    features = fields.List(fields.Nested(FeatureSchema))
    next_cursor = fields.String(allow_none=True)


class ParcelRightSchema(Schema):
    right = fields.String()
    type = fields.String()
    holder = fields.String()
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    ledger_seq = fields.Integer()
    end_ledger_seq = fields.Integer(allow_none=True)
    ledger = fields.Dict(allow_none=True, metadata={
        "description": "the entry that opened the link: seq, kind, leaf_hash and its inclusion-proof URL"})
    end_ledger = fields.Dict(allow_none=True, metadata={"description": "the entry that closed it, likewise"})


class ParcelHistorySchema(Schema):
    code = fields.String()
    versions = fields.List(fields.Nested(FeatureSchema))
    rights = fields.List(fields.Nested(ParcelRightSchema), metadata={"description": "every right the parcel was under"})
