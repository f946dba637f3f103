from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from app.extensions import JSONText, PageArgsSchema, Schema, StrictBoolean
from gis.package import DK_FIELDS


def _form_boolean(description: str) -> fields.Boolean:
    """A multipart form flag: true/false or 1/0, nothing looser."""
    return fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"},
                          metadata={"description": description})


class ImportFormSchema(Schema):
    collective = fields.String(validate=validate.Regexp(r"^\d{14}$"), metadata={
        "description": "for a plain parcel layer: the collective (发包方编码) its parcels belong to"})
    dry_run = _form_boolean("check only; otherwise a clean package (no blocking problems, warnings accepted) "
                            "is committed as soon as it is checked")
    accept_warnings = _form_boolean("commit even if QA finds warnings (gaps, area mismatches, overlaps within "
                                    "tolerance)")
    field_map = JSONText(max_length=10_000, metadata={
        "description": 'for a plain layer: JSON {"DKBM": "<source field>", …} naming the source field of each '
                       "DK field", "example": '{"DKBM": "code", "DKMC": "name"}'})

    @validates("field_map")
    def _field_map(self, mapping, **kwargs):
        """A multipart field is text: the mapping arrives as JSON (decoded by JSONText) and must name DK fields."""
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise ValidationError('a JSON object {"DKBM": "<source field>", …}')
        unknown = sorted(set(mapping) - set(DK_FIELDS))
        if unknown:
            raise ValidationError(f"not DK fields: {', '.join(unknown)}")


class ImportFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description":
                      "a zip holding an NY/T 2539 package (DK layer + FBF/CBF/CBF_JTCY/CBHT/CBDKXX), or a "
                      "Shapefile zip, GeoPackage or GeoJSON parcel layer"})


class CommitSchema(Schema):
    accept_warnings = StrictBoolean(load_default=False, metadata={
        "description": "required when QA found warnings: the clerk has read them and accepts them"})


class ImportSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, reading, checking, ready, committing, committed "
                                                    "or failed"})
    filename = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    county = fields.String(allow_none=True)
    collective = fields.String(allow_none=True)
    dry_run = fields.Boolean()
    counts = fields.Dict(allow_none=True, metadata={"description": "parcels, collectives, households, members, "
                                                                  "contracts, contract_parcels"})
    qa = fields.Dict(allow_none=True, metadata={"description": "problems per check: invalid, duplicate_codes, "
                                                              "overlaps, gaps, area_mismatch, …"})
    blocking = fields.Integer()
    warnings = fields.Integer()
    warnings_accepted = fields.Boolean()
    error = fields.Dict(allow_none=True, metadata={"description": "why the job failed"})
    progress = fields.Dict(allow_none=True, metadata={"description": "stage, done, total"})
    problems = fields.List(fields.Dict(), metadata={"description": "the first 1,000 problems; all of them in "
                                                                   "/report.json and /report.geojson"})
    problems_total = fields.Integer()
    created_by = fields.String()
    created_at = fields.DateTime()
    checked_at = fields.DateTime(allow_none=True)
    committed_at = fields.DateTime(allow_none=True)
    ledger = fields.Dict(allow_none=True, metadata={"description": "first and last ledger seq the commit wrote"})


class ImportPageSchema(Schema):
    items = fields.List(fields.Nested(ImportSchema))
    next_cursor = fields.Integer(allow_none=True)


class ImportQueryArgsSchema(PageArgsSchema):
    cursor = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))


class ExportArgsSchema(Schema):
    within = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,19}$"), metadata={
        "description": "a division, collective or parcel code prefix (default: your whole scope)",
        "example": "21068110100101"})
    format = fields.String(load_default="gpkg", validate=validate.OneOf(["gpkg", "geojson", "shp"]), metadata={
        "description": "gpkg (GeoPackage), geojson, or shp (a zipped Shapefile with .prj and UTF-8 .cpg)"})
    crs = fields.String(load_default=None, validate=validate.Length(max=60), metadata={
        "description": "output CRS: EPSG:4490 (default) or a CGCS2000 3-degree Gauss-Kruger zone, e.g. EPSG:4550"})


class PackageExportArgsSchema(ExportArgsSchema):
    format = fields.String(load_default="shp", validate=validate.OneOf(["shp", "gpkg"]), metadata={
        "description": "shp (DK.shp and the tables as UTF-8 CSV) or gpkg (one GeoPackage), zipped"})
