"""Response shapes of OGC API – Features, for the OpenAPI document (members beyond these are allowed)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields


class _Open(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE


class OgcLinkSchema(_Open):
    href = fields.String(required=True)
    rel = fields.String()
    type = fields.String()
    title = fields.String()


class OgcLandingSchema(_Open):
    title = fields.String()
    description = fields.String()
    links = fields.List(fields.Nested(OgcLinkSchema), required=True)


class OgcConformanceSchema(_Open):
    conformsTo = fields.List(fields.String(), required=True)  # noqa: N815  (the OGC member name)


class OgcCollectionSchema(_Open):
    id = fields.String(required=True)
    title = fields.String()
    description = fields.String()
    links = fields.List(fields.Nested(OgcLinkSchema), required=True)
    extent = fields.Dict()
    itemType = fields.String()  # noqa: N815
    crs = fields.List(fields.String())


class OgcCollectionsSchema(_Open):
    links = fields.List(fields.Nested(OgcLinkSchema), required=True)
    collections = fields.List(fields.Nested(OgcCollectionSchema), required=True)


class OgcFeatureSchema(_Open):
    type = fields.String(required=True, metadata={"enum": ["Feature"]})
    id = fields.String(metadata={"description": "the 19-digit parcel code"})
    geometry = fields.Dict(allow_none=True, metadata={"description": "GeoJSON MultiPolygon, CRS84 longitude/latitude"})
    properties = fields.Dict(allow_none=True)
    links = fields.List(fields.Nested(OgcLinkSchema))


class OgcFeatureCollectionSchema(_Open):
    type = fields.String(required=True, metadata={"enum": ["FeatureCollection"]})
    features = fields.List(fields.Nested(OgcFeatureSchema), required=True)
    links = fields.List(fields.Nested(OgcLinkSchema))
    numberReturned = fields.Integer()  # noqa: N815
    timeStamp = fields.String()  # noqa: N815


#: The query parameters of the items request, checked by the service (OGC answers a bad one with 400).
ITEMS_PARAMETERS = [
    {"in": "query", "name": "bbox", "required": False, "style": "form", "explode": False,
     "description": "minlon,minlat,maxlon,maxlat (CRS84)",
     "schema": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}}},
    {"in": "query", "name": "limit", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}},
    {"in": "query", "name": "offset", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": 100000, "default": 0}},
    {"in": "query", "name": "cursor", "required": False, "description": "from a `next` link",
     "schema": {"type": "string", "maxLength": 64}},
    {"in": "query", "name": "f", "required": False, "schema": {"type": "string", "enum": ["json", "geojson"]}},
]
