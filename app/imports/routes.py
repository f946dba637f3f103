"""Bulk import of NY/T 2539 land-confirmation packages."""
from __future__ import annotations

from flask import send_file
from flask.views import MethodView

from app.auth.access import current_principal
from app.extensions import Blueprint, settings, unit_of_work
from app.imports import exports, runner, services
from app.imports.schemas import (
    CommitSchema,
    ExportArgsSchema,
    ImportFileSchema,
    ImportFormSchema,
    ImportPageSchema,
    ImportQueryArgsSchema,
    ImportSchema,
    PackageExportArgsSchema,
)

blp = Blueprint("imports", __name__, description="Bulk import of land-confirmation packages (NY/T 2539)")
exports_blp = Blueprint("exports", __name__, description="Parcel layers and NY/T 2539 packages for download")


def policy() -> services.ImportPolicy:
    return services.import_policy(settings())


def _run(job: dict) -> dict:
    runner.start(settings(), job["id"])
    return job


@blp.route("/imports")
class Imports(MethodView):
    @blp.arguments(ImportFormSchema, location="form")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(202, ImportSchema)
    def post(self, form, files):
        """Upload a package or parcel layer; it is read and checked in the background."""
        upload = files["file"]
        return _run(services.create_import(unit_of_work(), actor=current_principal(), policy=policy(),
                                           stream=upload.stream, filename=upload.filename or "upload", **form))

    @blp.arguments(ImportQueryArgsSchema, location="query")
    @blp.response(200, ImportPageSchema)
    def get(self, args):
        """List import jobs, newest first."""
        return services.list_imports(unit_of_work(write=False), actor=current_principal(), **args)


@blp.route("/imports/<int(max=2147483647):job_id>")
class ImportItem(MethodView):
    @blp.response(200, ImportSchema)
    def get(self, job_id):
        """Show an import's progress, counts, QA summary and problems."""
        return services.get_import(unit_of_work(write=False), actor=current_principal(), policy=policy(),
                                   job_id=job_id)


@blp.route("/imports/<int(max=2147483647):job_id>/commit")
class ImportCommit(MethodView):
    @blp.arguments(CommitSchema)
    @blp.response(202, ImportSchema)
    def post(self, data, job_id):
        """Write a checked package into the registry, all of it or nothing (409 while problems block it)."""
        return _run(services.request_commit(unit_of_work(), actor=current_principal(), policy=policy(), job_id=job_id,
                                            **data))


REPORT_TYPES = {"geojson": "application/geo+json", "json": "application/json"}


@blp.route("/imports/<int(max=2147483647):job_id>/report.<any(geojson, json):kind>")
class ImportReport(MethodView):
    @blp.response(200, description="report.geojson: every problem as a GeoJSON feature (EPSG:4490), for QGIS; "
                                   "report.json: counts, the summary per check and every problem")
    def get(self, job_id, kind):
        """Download the QA report as GeoJSON or JSON."""
        path = services.report_path(unit_of_work(write=False), actor=current_principal(), policy=policy(),
                                    job_id=job_id, kind=kind)
        return send_file(path, mimetype=REPORT_TYPES[kind], as_attachment=True,
                         download_name=f"import-{job_id}-report.{kind}")


def _download(make, args: dict, mimetype: str, name: str):
    """Stream an export written in a scratch folder that is already gone (:func:`exports.open_export`)."""
    stream = exports.open_export(make, unit_of_work(write=False), actor=current_principal(), **args)
    return send_file(stream, mimetype=mimetype, as_attachment=True, download_name=name)


@exports_blp.route("/exports/parcels")
class ParcelExport(MethodView):
    @exports_blp.arguments(ExportArgsSchema, location="query")
    @exports_blp.response(200, description="The parcel layer (DK field names)")
    def get(self, args):
        """Download the current parcels within a code prefix as GeoPackage, GeoJSON or Shapefile."""
        mimetype, suffix = exports.FORMATS[args["format"]]
        return _download(exports.export_parcels, args, mimetype, f"parcels-{args['within'] or 'all'}{suffix}")


@exports_blp.route("/exports/package")
class PackageExport(MethodView):
    @exports_blp.arguments(PackageExportArgsSchema, location="query")
    @exports_blp.response(200, description="A zipped NY/T 2539 package: DK layer, FBF, CBF, CBF_JTCY, CBHT, CBDKXX")
    def get(self, args):
        """Download an NY/T 2539 package of the parcels, households, members and contracts within a prefix."""
        return _download(exports.export_package, args, "application/zip", f"package-{args['within'] or 'all'}.zip")
