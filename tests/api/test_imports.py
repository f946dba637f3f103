"""Importing the NY/T 2539 sample package through the API, and exporting it again, on both engines."""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.db import make_engine, on_citus
from tests.conftest import SAMPLE_PACKAGE as SAMPLE

DONE = ("ready", "committed", "failed")



def upload(caller, path_or_bytes, name="package.zip", **form):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    fields = {k: (json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else v)
              for k, v in form.items()}
    return caller.post("/api/v1/imports", data={"file": (io.BytesIO(data), name), **fields},
                       content_type="multipart/form-data")


def wait(caller, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = caller.get(f"/api/v1/imports/{job_id}").get_json()
        if job["status"] in DONE:
            return job
        time.sleep(0.1)
    raise AssertionError(f"import {job_id} still {job['status']} after {timeout} s")


def fixed_sample(tmp_path, drop: set[str]) -> bytes:
    """The sample with the named parcels (and their contract lines) removed, as a clerk would fix it."""
    import geopandas as gpd
    import pandas as pd

    folder = tmp_path / "fixed"
    folder.mkdir()
    with zipfile.ZipFile(SAMPLE) as z:
        z.extractall(folder)
    dk = gpd.read_file(folder / "DK.shp")
    dk[~dk["DKBM"].isin(drop)].to_file(folder / "DK.shp", encoding="UTF-8")
    lines = pd.read_csv(folder / "CBDKXX.csv", dtype=str, keep_default_na=False)
    lines[~lines["DKBM"].isin(drop)].to_csv(folder / "CBDKXX.csv", index=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f.name)
    return buffer.getvalue()


def test_sample_package_is_read_and_checked_and_its_overlaps_block_the_commit(clerk):
    r = upload(clerk, SAMPLE, dry_run=True)
    assert r.status_code == 202, r.get_json()
    job = wait(clerk, r.get_json()["id"])
    assert job["status"] == "ready", job["error"]
    assert job["county"] == "210681"
    assert (job["counts"]["parcels"], job["counts"]["households"], job["counts"]["members"]) == (3432, 639, 1951)
    overlaps = [p for p in job["problems"] if p["check"] == "overlaps"]
    assert job["qa"]["overlaps"] == len(overlaps) == 14
    assert all(len(p["codes"]) == 2 and p["size"] > 0 for p in overlaps)
    assert job["blocking"] >= sum(p["severity"] == "blocking" for p in overlaps) > 0
    refused = clerk.post(f"/api/v1/imports/{job['id']}/commit", json={"accept_warnings": True})
    assert refused.status_code == 409 and refused.get_json()["rule"] == "IMPORT_BLOCKED"
    report = clerk.get(f"/api/v1/imports/{job['id']}/report.geojson")
    assert report.status_code == 200 and report.mimetype == "application/geo+json"
    features = json.loads(report.data)["features"]
    report.close()
    whole = clerk.get(f"/api/v1/imports/{job['id']}/report.json")
    assert json.loads(whole.data)["qa"]["overlaps"] == 14 and len(json.loads(whole.data)["problems"]) == len(features)
    whole.close()
    assert len(features) == job["problems_total"]
    lon, lat = features[0]["geometry"]["coordinates"][0][0][:2] if features[0]["geometry"]["type"] == "Polygon" \
        else features[0]["geometry"]["coordinates"][0][0][0][:2]
    assert 123.5 < lon < 124.5 and 39.5 < lat < 40.5


def test_fixed_sample_commits_whole_with_ledger_entries(clerk, admin, tmp_path):
    checked = wait(clerk, upload(clerk, SAMPLE, dry_run=True).get_json()["id"])
    blocking = [p for p in checked["problems"] if p["severity"] == "blocking"]
    assert {p["check"] for p in blocking} <= {"overlaps", "duplicate_geometries"}
    fixed = fixed_sample(tmp_path, {p["codes"][1] for p in blocking})
    head = admin.get("/api/v1/ledger/210681")
    size = head.get_json()["size"] if head.status_code == 200 else 0
    job = wait(clerk, upload(clerk, fixed, accept_warnings=True).get_json()["id"])
    assert job["status"] == "committed", (job["error"], job["qa"])
    written = job["counts"]["written"]
    assert written["households"] == 639 and written["persons"] == 1951
    assert written["parcels"] == 3432 - len({p["codes"][1] for p in blocking})
    assert job["ledger"]["first"] == size + 1
    # The registry now answers for it, as if each record had been registered one at a time.
    household = clerk.get("/api/v1/households/210681101001010001").get_json()
    assert household["members"][0]["relation"] == "head" and len(household["members"]) == 3
    right = clerk.get("/api/v1/rights/210681101001010001J").get_json()
    assert (right["start"], right["end"]) == ("2028-01-01", "2057-12-31") and right["parcels"]
    assert right["parcels"][0]["contract_area_m2"] is not None
    last = admin.get(f"/api/v1/ledger/210681?after={job['ledger']['last'] - 1}&limit=1").get_json()["items"][0]
    assert last["kind"] == "import.committed" and last["body"]["data"]["sha256"] == job["sha256"]
    assert last["body"]["data"]["warnings_accepted"] is True
    again = wait(clerk, upload(clerk, fixed, accept_warnings=True).get_json()["id"])
    assert again["status"] == "ready" and again["qa"]["registry_conflicts"] > 0  # nothing imported twice
    conflicts = {p["message_en"].split(":")[0] for p in again["problems"] if p["check"] == "registry_conflicts"}
    assert conflicts >= {"parcel codes already registered", "household codes already registered",
                         "ID numbers already registered in another household"}


def sequential(conn) -> None:
    """On Citus, a function and a trigger on a distributed table change in one transaction one node at a time."""
    if on_citus(conn):
        conn.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")


@contextmanager
def trigger_on_rights(app, sqlite_body: str, plpgsql_body: str):
    """A trigger on every row inserted into ``rights`` (after households, persons and parcels went in), in
    the database, where the runner's own process meets it."""
    engine = app.extensions["sanquan"].engine
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(f"CREATE TRIGGER test_on_rights BEFORE INSERT ON rights BEGIN {sqlite_body}; END")
        else:
            sequential(conn)
            conn.exec_driver_sql("CREATE FUNCTION test_on_rights() RETURNS trigger LANGUAGE plpgsql AS "
                                 f"$$BEGIN {plpgsql_body}; RETURN NEW; END$$")
            conn.exec_driver_sql("CREATE TRIGGER test_on_rights BEFORE INSERT ON rights FOR EACH ROW "
                                 "EXECUTE FUNCTION test_on_rights()")
    try:
        yield
    finally:
        with engine.begin() as conn:
            sequential(conn)
            conn.exec_driver_sql("DROP TRIGGER test_on_rights" + ("" if engine.dialect.name == "sqlite" else
                                                                  " ON rights"))
            if engine.dialect.name != "sqlite":
                conn.exec_driver_sql("DROP FUNCTION test_on_rights()")


def test_a_failure_halfway_through_the_commit_leaves_nothing(app, clerk, admin, tmp_path):
    checked = wait(clerk, upload(clerk, SAMPLE, dry_run=True).get_json()["id"])
    fixed = fixed_sample(tmp_path, {p["codes"][1] for p in checked["problems"] if p["severity"] == "blocking"})
    with trigger_on_rights(app, "SELECT RAISE(ABORT, 'disk full')", "RAISE EXCEPTION 'disk full'"):
        job = wait(clerk, upload(clerk, fixed, accept_warnings=True).get_json()["id"])
    assert job["status"] == "failed" and job["error"]["message_en"].startswith("the import failed")
    assert clerk.get("/api/v1/parcels?collective=21068110100101").get_json()["features"] == []
    assert clerk.get("/api/v1/households/210681101001010001").status_code == 404
    assert admin.get("/api/v1/ledger/210681").status_code == 404  # not one entry


#: the advisory lock the PostGIS trigger below waits on while the test holds it.
HOLD = 4242


def _trigger_node(engine):
    """Where a trigger on Donggang's rights runs: the database itself, or on Citus the worker that holds the
    county's shard of ``rights`` (a lock the test holds there is the one the trigger waits for)."""
    with engine.connect() as c:
        if not on_citus(c):
            return engine
        host, port = c.exec_driver_sql(
            "SELECT nodename, nodeport FROM citus_shards "
            "WHERE shardid = get_shard_id_for_distribution_column('rights', '210681')").one()
    return make_engine(engine.url.set(host=host, port=port).render_as_string(hide_password=False))


def test_a_runner_killed_mid_commit_leaves_the_job_failed_and_nothing_written(app, clerk, admin, tmp_path):
    """The job runs in a process of its own; SIGKILL it halfway through the county's transaction (the
    households, persons and parcels inserted, the contracts not yet): the job reads failed at once, not one
    row or ledger entry was kept, and the API answered throughout."""
    import signal

    engine = app.extensions["sanquan"].engine
    sqlite = engine.dialect.name == "sqlite"
    folder = app.extensions["sanquan"].settings.imports_path
    checked = wait(clerk, upload(clerk, SAMPLE, dry_run=True).get_json()["id"])
    fixed = fixed_sample(tmp_path, {p["codes"][1] for p in checked["problems"] if p["severity"] == "blocking"})
    holder = _trigger_node(engine).connect()
    if sqlite:  # no lock to wait on inside SQLite: spill 8 MB to the WAL (it grows), then stay busy
        holder.exec_driver_sql("CREATE TABLE test_ballast (b BLOB)")
        holder.commit()
        wal = Path(engine.url.database + "-wal")
        wal_before = wal.stat().st_size
    else:
        holder.exec_driver_sql(f"SELECT pg_advisory_lock({HOLD})")
    try:
        with trigger_on_rights(app, "INSERT INTO test_ballast VALUES (zeroblob(8000000)); "
                                    "SELECT count(*) FROM parcels a, parcels b, parcels c",
                               f"PERFORM pg_advisory_xact_lock({HOLD})"):
            started = time.monotonic()
            r = upload(clerk, fixed, accept_warnings=True)
            assert r.status_code == 202 and time.monotonic() - started < 10
            job_id = r.get_json()["id"]
            deadline = time.monotonic() + 120
            while True:  # until the runner is inside the commit's transaction, rows written
                if sqlite:
                    inside = wal.stat().st_size - wal_before > 3_000_000
                else:
                    inside = holder.exec_driver_sql(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND NOT granted "
                        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                        (HOLD,)).scalar_one() > 0
                if inside:
                    break
                assert time.monotonic() < deadline, clerk.get(f"/api/v1/imports/{job_id}").get_json()
                time.sleep(0.05)
            pid = int((folder / str(job_id) / "runner.pid").read_text())
            assert pid != os.getpid()
            view = clerk.get(f"/api/v1/imports/{job_id}").get_json()
            assert view["status"] == "committing" and view["progress"]["stage"] == "committing"
            started = time.monotonic()
            assert clerk.get("/api/v1/health").status_code == 200
            assert clerk.get("/api/v1/collectives").status_code == 200
            assert time.monotonic() - started < 1  # the request side is not held up by the import
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while (view := clerk.get(f"/api/v1/imports/{job_id}").get_json())["status"] != "failed":
                assert time.monotonic() < deadline, view  # at once: its runner is gone
                time.sleep(0.05)
            assert "interrupted" in view["error"]["message_en"]
            if not sqlite:
                holder.exec_driver_sql(f"SELECT pg_advisory_unlock({HOLD})")
                holder.commit()
    finally:
        if sqlite:
            holder.exec_driver_sql("DROP TABLE test_ballast")
            holder.commit()
        else:
            holder.exec_driver_sql("SELECT pg_advisory_unlock_all()")
            holder.commit()
        holder.close()
        if holder.engine is not engine:
            holder.engine.dispose()
    assert clerk.get("/api/v1/parcels?collective=21068110100101").get_json()["features"] == []
    assert clerk.get("/api/v1/households/210681101001010001").status_code == 404
    assert admin.get("/api/v1/ledger/210681").status_code == 404  # not one entry
    assert clerk.get(f"/api/v1/imports/{job_id}").get_json()["status"] == "failed"


def test_warnings_must_be_accepted_before_the_commit(clerk, tmp_path):
    checked = wait(clerk, upload(clerk, SAMPLE, dry_run=True).get_json()["id"])
    fixed = fixed_sample(tmp_path, {p["codes"][1] for p in checked["problems"] if p["severity"] == "blocking"})
    job = wait(clerk, upload(clerk, fixed).get_json()["id"])
    assert job["warnings"] == job["qa"]["slivers"] == 12  # the sample's sliver fragments
    assert job["status"] == "ready"
    r = clerk.post(f"/api/v1/imports/{job['id']}/commit", json={})
    assert r.status_code == 409 and r.get_json()["rule"] == "IMPORT_WARNINGS_NOT_ACCEPTED"
    assert clerk.post(f"/api/v1/imports/{job['id']}/commit", json={"accept_warnings": True}).status_code == 202
    assert wait(clerk, job["id"])["status"] == "committed"
    again = clerk.post(f"/api/v1/imports/{job['id']}/commit", json={"accept_warnings": True})
    assert again.status_code == 409 and again.get_json()["rule"] == "IMPORT_NOT_READY"


def test_bad_uploads_are_refused_or_fail_with_the_reason(clerk, callers):
    r = upload(clerk, b"hello", name="notes.txt")
    assert r.status_code == 422
    job = wait(clerk, upload(clerk, b"PK\x03\x04 not really a zip").get_json()["id"])
    assert job["status"] == "failed" and job["error"]["rule"] == "PACKAGE_INVALID"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("../../evil.txt", "x")
    job = wait(clerk, upload(clerk, buffer.getvalue()).get_json()["id"])
    assert job["status"] == "failed" and job["error"]["rule"] == "PACKAGE_INVALID"
    assert callers["other_clerk"].get(f"/api/v1/imports/{job['id']}").status_code == 404
    assert callers["exchange"].get(f"/api/v1/imports/{job['id']}").status_code == 403
    assert callers["auditor"].get(f"/api/v1/imports/{job['id']}").status_code == 200


def test_an_upload_over_the_limit_is_413(app, clerk):
    app.extensions["sanquan"].settings.max_import_bytes = 1000
    r = upload(clerk, b"x" * 200_000)
    assert r.status_code == 413


def test_a_package_outside_the_clerks_scope_is_blocked(callers):
    job = wait(callers["other_clerk"], upload(callers["other_clerk"], SAMPLE).get_json()["id"])
    assert job["status"] == "ready" and job["qa"]["outside_scope"] == 1 and job["blocking"] >= 1


def test_a_job_whose_worker_died_reads_as_failed(clerk, app, uow_factory):
    from app.imports.models import ImportJob

    job = wait(clerk, upload(clerk, SAMPLE, dry_run=True).get_json()["id"])
    folder = app.extensions["sanquan"].settings.imports_path / str(job["id"])
    with uow_factory() as uow:
        uow.session.get(ImportJob, job["id"]).status = "committing"
        uow.commit()
    (folder / "progress.json").write_text(json.dumps({"stage": "committing", "done": 0, "total": 1,
                                                      "heartbeat": time.time() - 3600}))
    view = clerk.get(f"/api/v1/imports/{job['id']}").get_json()
    assert view["status"] == "failed" and "interrupted" in view["error"]["message_en"]


def test_jobs_whose_runner_is_gone_are_failed_when_the_server_starts(clerk, app, uow_factory):
    import subprocess

    from app.imports.models import ImportJob
    from app.imports.services import fail_abandoned, import_policy

    settings = app.extensions["sanquan"].settings
    ids = [wait(clerk, upload(clerk, SAMPLE, dry_run=True).get_json()["id"])["id"] for _ in range(2)]
    gone = subprocess.Popen(["true"])
    gone.wait()
    for job_id, pid in zip(ids, (gone.pid, os.getpid()), strict=True):  # one runner dead, one alive
        with uow_factory() as uow:
            uow.session.get(ImportJob, job_id).status = "committing"
            uow.commit()
        (settings.imports_path / str(job_id) / "runner.pid").write_text(str(pid))
        (settings.imports_path / str(job_id) / "progress.json").write_text(json.dumps(
            {"stage": "committing", "done": 0, "total": 1, "heartbeat": time.time()}))
    assert fail_abandoned(uow_factory(), policy=import_policy(settings)) == [ids[0]]
    dead, alive = (clerk.get(f"/api/v1/imports/{i}").get_json() for i in ids)
    assert dead["status"] == "failed" and "interrupted" in dead["error"]["message_en"]
    assert alive["status"] == "committing"
    with uow_factory() as uow:  # let the live one end, as its runner would
        uow.session.get(ImportJob, ids[1]).status = "failed"
        uow.commit()


def test_a_commit_requested_long_after_the_check_is_not_taken_for_abandoned(clerk, app, tmp_path):
    job = wait(clerk, upload(clerk, _small_zip(tmp_path), dry_run=True).get_json()["id"])
    assert job["status"] == "ready", job["error"]
    folder = app.extensions["sanquan"].settings.imports_path / str(job["id"])
    progress = json.loads((folder / "progress.json").read_text())
    (folder / "progress.json").write_text(json.dumps({**progress, "heartbeat": time.time() - 3 * 3600}))
    assert clerk.post(f"/api/v1/imports/{job['id']}/commit", json={}).status_code == 202
    assert clerk.get(f"/api/v1/imports/{job['id']}").get_json()["status"] == "committing"  # before its runner starts
    assert wait(clerk, job["id"])["status"] == "committed"


def test_a_job_waits_its_turn_in_a_light_process(clerk, app, tmp_path):
    """Jobs of one instance run one at a time; a runner waits before loading the GIS stack."""
    from app.imports import runner

    folder = app.extensions["sanquan"].settings.imports_path
    with runner.one_at_a_time(folder):  # as if another job were running
        job = upload(clerk, _small_zip(tmp_path)).get_json()
        time.sleep(2)
        assert clerk.get(f"/api/v1/imports/{job['id']}").get_json()["status"] == "queued"
        status = Path(f"/proc/{(folder / str(job['id']) / 'runner.pid').read_text()}/status")
        if status.exists():
            rss_kb = int(next(line for line in status.read_text().splitlines() if line.startswith("VmRSS")).split()[1])
            assert rss_kb < 60_000, rss_kb
    assert wait(clerk, job["id"])["status"] == "committed"


def _committed_sample(clerk, tmp_path) -> dict:
    checked = wait(clerk, upload(clerk, SAMPLE, dry_run=True).get_json()["id"])
    fixed = fixed_sample(tmp_path, {p["codes"][1] for p in checked["problems"] if p["severity"] == "blocking"})
    job = wait(clerk, upload(clerk, fixed, accept_warnings=True).get_json()["id"])
    assert job["status"] == "committed", (job["error"], job["qa"])
    return job


def test_parcel_exports_in_each_format_and_crs(clerk, callers, tmp_path):
    import geopandas as gpd

    job = _committed_sample(clerk, tmp_path)
    n = job["counts"]["written"]["parcels"]
    for fmt, suffix in (("gpkg", ".gpkg"), ("geojson", ".geojson"), ("shp", ".zip")):
        r = clerk.get(f"/api/v1/exports/parcels?within=21068110100101&format={fmt}&crs=EPSG:4550")
        assert r.status_code == 200, r.get_json()
        path = tmp_path / f"export{suffix}"
        path.write_bytes(r.data)
        r.close()
        layer = gpd.read_file(f"zip://{path}" if fmt == "shp" else path)
        assert len(layer) and set(layer["DKBM"].str[:14]) == {"21068110100101"} and layer.crs.to_epsg() == 4550
        assert {"DKBM", "DKMC", "DKLB", "TDLYLX", "SCMJ", "SCMJM"} <= set(layer.columns)
    everything = clerk.get("/api/v1/exports/parcels?format=geojson")
    assert len(json.loads(everything.data)["features"]) == n
    everything.close()
    assert clerk.get("/api/v1/exports/parcels?within=2106829").status_code == 404
    assert callers["other_clerk"].get("/api/v1/exports/parcels?within=210681").status_code == 404
    assert clerk.get("/api/v1/exports/parcels?crs=EPSG:3857").get_json()["rule"] == "CRS_UNSUPPORTED"
    assert callers["auditor"].get("/api/v1/exports/package?within=210681").status_code == 403


def test_an_exported_package_imports_again_with_the_same_parcels_codes_and_areas(clerk, tmp_path):
    """Export from this registry, import into a fresh one, compare."""
    from app import create_app
    from app.auth.services import SYSTEM
    from app.config import Settings
    from app.db import UnitOfWork, make_engine
    from app.imports import services
    from app.migrate import upgrade
    from gis.io import read_package

    _committed_sample(clerk, tmp_path)
    r = clerk.get("/api/v1/exports/package?within=210681")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    exported = tmp_path / "exported.zip"
    exported.write_bytes(r.data)
    r.close()
    original = clerk.get("/api/v1/parcels?within=210681&limit=1000")
    before = {}
    while True:
        page = original.get_json()
        before.update({f["id"]: f["properties"]["area_m2"] for f in page["features"]})
        if not page["next_cursor"]:
            break
        original = clerk.get(f"/api/v1/parcels?within=210681&limit=1000&cursor={page['next_cursor']}")

    package = read_package(exported)
    assert sorted(package.parcels["DKBM"]) == sorted(before)
    assert {t: len(f) for t, f in package.tables.items()}["CBF_JTCY"] == 1951

    url = f"sqlite+pysqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    fresh = create_app(Settings(instance=str(tmp_path / "fresh"), database_url=url, demo=False))
    factory = fresh.extensions["sanquan"].session_factory
    with fresh.app_context():
        from app.imports.routes import policy
        with fresh.test_request_context():
            rules = policy()
    with open(exported, "rb") as stream:
        job = services.create_import(UnitOfWork(factory), actor=SYSTEM, policy=rules, stream=stream,
                                     filename="exported.zip", accept_warnings=True)
    services.run_job(lambda: UnitOfWork(factory), rules, job["id"])
    done = services.get_import(UnitOfWork(factory), actor=SYSTEM, policy=rules, job_id=job["id"])
    assert done["status"] == "committed", (done["error"], done["qa"])
    from sqlalchemy import select

    from app.parcels.models import ParcelVersion
    with UnitOfWork(factory) as uow:
        after = {v.parcel_code: round(v.area_m2, 2) for v in uow.session.scalars(select(ParcelVersion))}
    fresh.extensions["sanquan"].engine.dispose()
    assert after.keys() == before.keys()
    assert max(abs(after[c] - before[c]) for c in before) <= 0.01


def test_a_long_step_keeps_its_heartbeat(tmp_path, monkeypatch):
    from app.imports import services

    monkeypatch.setattr(services._Heartbeat, "EVERY_S", 0.05)
    services._write_progress(tmp_path, "committing", 0, 10)
    first = services.read_progress(tmp_path)["heartbeat"]
    with services._Heartbeat(tmp_path):
        time.sleep(0.3)  # a commit that reports nothing for a while
    later = services.read_progress(tmp_path)
    assert later["heartbeat"] > first and (later["stage"], later["done"], later["total"]) == ("committing", 0, 10)


def _small_zip(tmp_path, name="pkg", tables=True, drop=None, prj=True, **layer) -> bytes:
    from tests.packages import make_layer, write_tables, zip_folder

    folder = tmp_path / name
    make_layer(folder / "DK.shp", **layer)
    if not prj:
        (folder / "DK.prj").unlink()
    if tables:
        write_tables(folder, drop=drop)
    return zip_folder(folder, tmp_path / f"{name}.zip").read_bytes()


def test_a_small_clean_package_commits_at_once(clerk, tmp_path):
    job = wait(clerk, upload(clerk, _small_zip(tmp_path)).get_json()["id"])
    assert job["status"] == "committed", (job["error"], job["qa"])
    assert job["counts"]["written"]["parcels"] == 3 and job["counts"]["written"]["persons"] == 1
    right = clerk.get("/api/v1/rights/210681101001010001J").get_json()
    assert sorted(p["code"] for p in right["parcels"]) == [f"21068110100101{i:05d}" for i in (1, 2, 3)]
    assert {p["contract_area_m2"] for p in right["parcels"]} == {400.0}  # HTMJ as declared


def test_parcels_away_from_their_countys_registered_land_block_the_import(clerk, make_parcel, tmp_path):
    """The same three fields typed with Chengdu's zone (CGCS2000 CM 105°E) instead of Donggang's."""
    import shapely

    chengdu = [shapely.box(500_000 + i * 25, 3_390_000, 500_020 + i * 25, 3_390_020) for i in range(3)]
    make_parcel()  # the county's land lies in Donggang
    job = wait(clerk, upload(clerk, _small_zip(tmp_path, geoms=chengdu, crs=4544)).get_json()["id"])
    assert (job["status"], job["qa"]["implausible"]) == ("ready", 3), job["qa"]
    report = clerk.get(f"/api/v1/imports/{job['id']}/report.json")
    problems = json.loads(report.data)["problems"]
    report.close()
    assert {p["details"]["reason"] for p in problems if p["check"] == "implausible"} == {"outside_county_zone"}


def _no_dk(tmp_path):
    from tests.packages import write_tables, zip_folder

    folder = tmp_path / "tables-only"
    folder.mkdir()
    write_tables(folder)
    return zip_folder(folder, tmp_path / "tables-only.zip").read_bytes()


@pytest.mark.parametrize("case, rule, reason", [
    ("no DK layer", "PACKAGE_INVALID", "no_dk_layer"),
    ("no CRS", "CRS_UNSUPPORTED", "missing_crs"),
    ("foreign CRS", "CRS_UNSUPPORTED", "unsupported_crs"),
    ("outside China", "OUTSIDE_SUPPORTED_AREA", None),
    ("0 features", "PACKAGE_INVALID", "no_features"),
    ("missing columns", "PACKAGE_INVALID", "missing_columns"),
])
def test_unreadable_packages_fail_with_the_reason_and_store_nothing(clerk, admin, tmp_path, case, rule, reason):
    import shapely

    data = {  # the builders' squares lie in Donggang; each case breaks one thing
        "no DK layer": lambda: _no_dk(tmp_path),
        "no CRS": lambda: _small_zip(tmp_path, prj=False),
        "foreign CRS": lambda: _small_zip(tmp_path, crs=3857),
        "outside China": lambda: _small_zip(tmp_path, geoms=[shapely.box(500_000, 100, 500_020, 120)] * 3),
        "0 features": lambda: _small_zip(tmp_path, geoms=[]),
        "missing columns": lambda: _small_zip(tmp_path, drop={"CBF": ["CBFMC"]}),
    }[case]()
    job = wait(clerk, upload(clerk, data).get_json()["id"])
    assert job["status"] == "failed" and job["error"]["rule"] == rule, job["error"]
    if reason:
        assert job["error"]["details"]["reason"] == reason
    assert job["error"]["message_zh"] and job["error"]["message_en"]
    assert clerk.get("/api/v1/parcels?within=210681").get_json()["features"] == []
    assert admin.get("/api/v1/ledger/210681").status_code == 404


def test_tables_that_contradict_each_other_block_the_commit(clerk, tmp_path):
    from tests.packages import make_layer, write_tables, zip_folder

    folder = tmp_path / "contradict"
    make_layer(folder / "DK.shp")
    write_tables(folder)
    lines = (folder / "CBDKXX.csv").read_text().replace("2106811010010100003", "2106811010010100009")
    (folder / "CBDKXX.csv").write_text(lines)  # a contract line naming a parcel the layer lacks
    job = wait(clerk, upload(clerk, zip_folder(folder, tmp_path / "c.zip").read_bytes()).get_json()["id"])
    assert job["status"] == "ready" and job["qa"]["missing_parcels"] == 1
    assert [p["codes"] for p in job["problems"] if p["check"] == "missing_parcels"][0][0] == "2106811010010100009"
    r = clerk.post(f"/api/v1/imports/{job['id']}/commit", json={"accept_warnings": True})
    assert r.status_code == 409 and r.get_json()["rule"] == "IMPORT_BLOCKED"
    assert clerk.get("/api/v1/parcels?within=210681").get_json()["features"] == []


def test_a_household_with_two_heads_is_blocked(clerk, tmp_path):
    from tests.packages import make_layer, write_tables, zip_folder

    folder = tmp_path / "two-heads"
    make_layer(folder / "DK.shp")
    write_tables(folder)
    members = (folder / "CBF_JTCY.csv").read_text().rstrip("\n")
    spouse = "210681101001010001,王秀兰,2,1,210681195603040021,02,1"  # a second member coded 02 户主
    (folder / "CBF_JTCY.csv").write_text(members + "\n" + spouse + "\n")
    job = wait(clerk, upload(clerk, zip_folder(folder, tmp_path / "h.zip").read_bytes()).get_json()["id"])
    assert job["status"] == "ready" and job["blocking"] >= 1
    assert any(p["check"] == "unsupported_records" and p["codes"] == ["210681101001010001"] for p in job["problems"])


def test_a_plain_layer_with_a_field_map(clerk, tmp_path):
    from tests.packages import make_layer, zip_folder

    folder = tmp_path / "plain"
    make_layer(folder / "parcels.shp", code=[f"21068110100101{i:05d}" for i in (1, 2, 3)], DKBM=["x", "y", "z"])
    data = zip_folder(folder, tmp_path / "plain.zip").read_bytes()
    bad = upload(clerk, data, field_map="{not json")
    assert bad.status_code == 422 and "field_map" in str(bad.get_json()["errors"]), bad.get_json()
    job = wait(clerk, upload(clerk, data, dry_run=True, collective="21068110100101",
                             field_map={"DKBM": "code"}).get_json()["id"])
    assert job["status"] == "ready" and job["counts"]["parcels"] == 3, job["error"]


def test_a_county_written_in_steps_has_every_row_tied_to_its_own_ledger_entry(app, uow_factory, callers):
    """The bulk writer inserts a county a step of collectives at a time; steps of one collective each must
    give the rows, the seqs and the log that one step gives."""
    from sqlalchemy import func, select

    from app.auth.services import SYSTEM
    from app.demo import as_batch
    from app.demo_data import iter_county
    from app.imports.writer import write_collectives
    from app.ledger.models import LedgerEntry
    from app.parcels.models import ParcelVersion
    from app.parties.models import Person

    batches = [as_batch(c) for c in iter_county(seed=11, parcels=700)]
    assert len(batches) >= 3
    with uow_factory() as uow:
        written = write_collectives(uow.session, batches, county="210681", actor=SYSTEM, step_parcels=1)
        uow.commit()
    assert written.counts["parcels"] == sum(len(b.parcel_codes) for b in batches)
    assert written.counts["persons"] == sum(len(h.members) for b in batches for h in b.households)
    with uow_factory(write=False) as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(ParcelVersion)) == written.counts["parcels"]
        assert s.scalar(select(func.count()).select_from(Person)) == written.counts["persons"]
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == written.ledger_last - written.ledger_first + 1
        # Every parcel's row names the entry that registered it, in whichever step it was written.
        entry = (LedgerEntry.log == ParcelVersion.county_code) & (LedgerEntry.seq == ParcelVersion.ledger_seq)
        tied = s.execute(select(ParcelVersion.parcel_code, LedgerEntry.kind, LedgerEntry.subjects)
                         .join(LedgerEntry, entry)).all()
    assert len(tied) == written.counts["parcels"]
    assert all(kind == "parcel.registered" and subjects == [code] for code, kind, subjects in tied)
    verified = callers["auditor"].get("/api/v1/ledger/210681/verify").get_json()
    assert verified["ok"] is True and verified["size"] == written.ledger_last


def test_statistics_that_cannot_be_gathered_after_the_commit_leave_the_job_committed(app, uow_factory, tmp_path,
                                                                                     monkeypatch):
    """The county is committed before the planner statistics are refreshed: a failure there is logged, and the
    job does not read failed (with "nothing was written") over rows that were written."""
    import io

    from app.auth.services import Principal
    from app.imports import services
    from app.imports.routes import policy

    def refuse(session):
        raise RuntimeError("statistics refused")

    monkeypatch.setattr(services, "refresh_statistics", refuse)
    with app.test_request_context():
        rules = policy()
    clerk = Principal(id=1, name="clerk", role="clerk", scope="210681")
    job = services.create_import(uow_factory(), actor=clerk, policy=rules, stream=io.BytesIO(_small_zip(tmp_path)),
                                 filename="pkg.zip", dry_run=False, accept_warnings=True)
    services.run_job(uow_factory, rules, job["id"])
    view = services.get_import(uow_factory(write=False), actor=clerk, policy=rules, job_id=job["id"])
    assert view["status"] == "committed", view["error"]
    assert view["counts"]["written"]["parcels"] == 3
