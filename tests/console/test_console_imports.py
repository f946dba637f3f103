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
