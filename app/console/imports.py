"""The clerk's import pages: upload a land-confirmation package, watch it read and checked (a progress bar
fed by the job's own progress file), read the QA report as a table and a map of the problems, accept the
warnings and commit; download the report and the exports."""
from __future__ import annotations

from flask import Response, jsonify, redirect, request, send_file, url_for

from app.console.i18n import _
from app.console.views import actor, bp, load, page
from app.errors import DomainError
from app.extensions import settings, unit_of_work
from app.imports import exports, runner
from app.imports import services as imports
from app.imports.schemas import CommitSchema, ExportArgsSchema, ImportFormSchema, PackageExportArgsSchema

#: A job's status (and its progress stage) as the page says it.
STATUSES = {"queued": "排队中", "reading": "读取中", "checking": "质检中", "ready": "待写入", "committing": "写入中",
            "committed": "已写入", "failed": "失败"}
#: What a job counted, read and wrote.
COUNTS = {"parcels": "地块", "collectives": "发包方", "households": "承包方（农户）", "members": "家庭成员",
          "persons": "人员", "memberships": "集体经济组织成员", "contracts": "承包合同", "contract_parcels": "合同地块"}
#: The timing of each stage, in seconds.
LAPS = {"read": "读取", "qa": "质检", "registry_checks": "与登记簿比对", "commit": "写入"}
#: Every check of the QA report (gis.qa.CHECKS and the registry's own), as the table names it.
CHECK_NAMES = {
    "invalid": "几何无效", "implausible": "面积或位置不合理", "duplicate_codes": "地块编码重复",
    "malformed_codes": "编码格式错误", "overlaps": "地块重叠", "duplicate_geometries": "几何重复", "gaps": "地块间缝隙",
    "slivers": "碎片多边形", "area_mismatch": "实测面积与图形面积不符", "missing_parcels": "引用的地块不在图层中",
    "missing_households": "引用的承包方不在承包方表中", "missing_contracts": "引用的承包合同不在合同表中",
    "parcels_in_two_contracts": "地块同时在两份合同中", "invalid_id_numbers": "身份证号无效",
    "households_without_head": "承包方无户主", "duplicate_households": "承包方重复",
    "duplicate_members": "家庭成员重复",
    "registry_conflicts": "与登记簿冲突", "registry_overlaps": "与已登记地块重叠",
    "outside_scope": "超出管辖范围", "missing_collectives": "发包方未登记",
    "unsupported_records": "不支持的记录", "contract_terms": "承包合同期限或地类有误",
}
SEVERITIES = {"blocking": "阻断", "warning": "警告"}


def _policy() -> imports.ImportPolicy:
    return imports.import_policy(settings())


@bp.route("/imports")
def imports_page(error: DomainError | None = None, status: int = 200):
    jobs = imports.list_imports(unit_of_work(write=False), actor=actor(), limit=20)["items"]
    return page("console/imports.html", status, jobs=jobs, error=error)


@bp.route("/imports", methods=["POST"])
def upload():
    """Store the package and start its check in the import runner; then its page shows the progress."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise DomainError("请选择要上传的成果包", "Choose a package to upload", status=422,
                              errors={"file": ["required"]})
        form = load(ImportFormSchema(), {k: v for k, v in request.form.items() if k in ("collective", "dry_run") and v})
        job = imports.create_import(unit_of_work(), actor=actor(), policy=_policy(), stream=upload.stream,
                                    filename=upload.filename, **form)
    except DomainError as e:
        return imports_page(error=e, status=e.status)
    runner.start(settings(), job["id"])
    return redirect(url_for("console.import_job", job_id=job["id"]), code=303)


@bp.route("/imports/<int:job_id>")
def import_job(job_id: int, error: DomainError | None = None, status: int = 200):
    job = imports.get_import(unit_of_work(write=False), actor=actor(), policy=_policy(), job_id=job_id)
    return page("console/import.html", status, job=job, error=error, statuses=STATUSES, counts=COUNTS, laps=LAPS,
                checks=CHECK_NAMES, severities=SEVERITIES)


@bp.route("/imports/<int:job_id>/progress.json")
def import_progress(job_id: int) -> Response:
    """What the page's progress bar polls: the job's status and its stage, done and total."""
    job = imports.get_import(unit_of_work(write=False), actor=actor(), policy=_policy(), job_id=job_id)
    progress = job["progress"] or {}
    return jsonify({"status": job["status"], "progress": job["progress"],
                    "status_label": _(STATUSES.get(job["status"], job["status"])),
                    "stage_label": _(STATUSES.get(progress.get("stage", ""), progress.get("stage", "")))})


@bp.route("/imports/<int:job_id>/commit", methods=["POST"])
def import_commit(job_id: int):
    try:
        data = load(CommitSchema(), {"accept_warnings": request.form.get("accept_warnings") == "true"})
        imports.request_commit(unit_of_work(), actor=actor(), policy=_policy(), job_id=job_id, **data)
    except DomainError as e:
        return import_job(job_id, error=e, status=e.status)
    runner.start(settings(), job_id)
    return redirect(url_for("console.import_job", job_id=job_id), code=303)


@bp.route("/imports/<int:job_id>/report.<any(geojson, json):kind>")
def import_report(job_id: int, kind: str):
    """The QA report: every problem as GeoJSON (the page's map draws it; QGIS opens it) or as JSON."""
    path = imports.report_path(unit_of_work(write=False), actor=actor(), policy=_policy(), job_id=job_id, kind=kind)
    return send_file(path, mimetype="application/geo+json" if kind == "geojson" else "application/json",
                     as_attachment=request.args.get("download") == "1", download_name=f"import-{job_id}-report.{kind}")


@bp.route("/exports/<any(parcels, package):what>")
def export(what: str):
    """The current parcels (GeoPackage, GeoJSON or zipped Shapefile) or an NY/T 2539 package within a code
    prefix of the user's scope, in EPSG:4490 or a Gauss-Kruger zone: the API's exports, read by its schemas."""
    schema = ExportArgsSchema() if what == "parcels" else PackageExportArgsSchema()
    args = load(schema, {k: v for k, v in request.args.items() if k in ("within", "format", "crs") and v})
    make = exports.export_parcels if what == "parcels" else exports.export_package
    mimetype, suffix = exports.FORMATS[args["format"]] if what == "parcels" else ("application/zip", ".zip")
    stream = exports.open_export(make, unit_of_work(write=False), actor=actor(), **args)
    return send_file(stream, mimetype=mimetype, as_attachment=True,
                     download_name=f"{what}-{args['within'] or 'all'}{suffix}")
