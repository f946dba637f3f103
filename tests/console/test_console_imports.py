"""The console's imports over HTTP on both engines: upload, progress, the QA report as a table and a map
source, and a commit refused while problems block it."""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

from tests.conftest import SAMPLE_PACKAGE
from tests.console.test_console_http import csrf_of, sign_in


def test_a_clerk_uploads_a_package_watches_it_checked_and_reads_its_problems(app, callers):
    console = app.test_client()
    sign_in(console, callers["clerk"].token)
    page = console.get("/console/imports")
    assert page.status_code == 200
    r = console.post("/console/imports", content_type="multipart/form-data", data={
        "file": (io.BytesIO(Path(SAMPLE_PACKAGE).read_bytes()), "dk_package_sample.zip"),
        "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    job_url = r.location
    first = console.get(job_url)
    assert first.status_code == 200 and 'id="job"' in first.text
    seen, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        state = console.get(f"{job_url}/progress.json").get_json()
        seen.append(state["status"])
        if state["status"] not in ("queued", "reading", "checking", "committing"):
            break
        time.sleep(0.1)
    assert seen[-1] == "ready", seen
    done = console.get(job_url).text
    assert "overlaps" in done and "report.geojson" in done and 'data-source="' in done
    assert "地块重叠" in done and "碎片多边形" in done and "待写入" in done  # the report in the clerk's words
    assert seen and state["status_label"] == "待写入"
    report = console.get(f"{job_url}/report.geojson")
    problems = json.loads(report.data)["features"]
    report.close()
    assert sum(1 for p in problems if p["properties"]["check"] == "overlaps") == 14  # the sample's real overlaps
    refused = console.post(f"{job_url}/commit", data={"accept_warnings": "true", "csrf_token": csrf_of(done)})
    assert refused.status_code == 409 and "IMPORT_BLOCKED" in refused.text
    assert callers["other_clerk"].get("/api/v1/imports").get_json()["items"] == []
    other = app.test_client()
    sign_in(other, callers["other_clerk"].token)
    assert other.get(job_url).status_code == 404


def test_a_clerk_downloads_the_parcels_and_a_package_of_the_scope(app, callers, make_parcel, tmp_path):
    import zipfile

    import pyogrio

    made = make_parcel(0, 0)
    clerk = app.test_client()
    sign_in(clerk, callers["clerk"].token)
    page = clerk.get("/console/imports").text
    assert "/console/exports/parcels" in page and "/console/exports/package" in page
    got = clerk.get(f"/console/exports/parcels?within={made['id'][:14]}&format=gpkg")
    try:
        assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
        (tmp_path / "p.gpkg").write_bytes(got.data)
    finally:
        got.close()
    layer = pyogrio.read_dataframe(tmp_path / "p.gpkg")
    assert made["id"] in set(layer["DKBM"])
    package = clerk.get(f"/console/exports/package?within={made['id'][:14]}")
    try:
        assert package.status_code == 200
        (tmp_path / "p.zip").write_bytes(package.data)
    finally:
        package.close()
    assert any(n.endswith("DK.shp") for n in zipfile.ZipFile(tmp_path / "p.zip").namelist())
    bad = clerk.get("/console/exports/parcels?format=kml")
    assert bad.status_code == 422 and "format" in bad.text
    auditor = app.test_client()
    sign_in(auditor, callers["auditor"].token)  # a package holds whole ID numbers: not for this role
    assert auditor.get(f"/console/exports/package?within={made['id'][:14]}").status_code == 403
    other = app.test_client()
    sign_in(other, callers["other_clerk"].token)
    assert other.get(f"/console/exports/parcels?within={made['id'][:14]}").status_code == 404


def test_every_check_the_qa_report_can_hold_has_a_name_on_the_page():
    import re

    from app.console.imports import CHECK_NAMES
    from gis.qa import CHECKS

    convert = (Path(__file__).parents[2] / "app" / "imports" / "convert.py").read_text()
    registry = set(re.findall(r'_problem\(\s*"(\w+)"', convert))
    assert registry and set(CHECKS) | registry <= CHECK_NAMES.keys(), (set(CHECKS) | registry) - CHECK_NAMES.keys()
