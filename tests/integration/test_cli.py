"""The ``sanquan`` command on both engines."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import text

from app.cli import main
from tests.conftest import SAMPLE_PACKAGE as SAMPLE


@pytest.fixture
def run(app):
    def invoke(*args):
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)
    return invoke


def test_users_create_prints_a_working_token(run, app):
    result = run("users", "create", "李审计", "--role", "auditor", "--scope", "210681")
    assert result.exit_code == 0
    token = result.output.strip()
    me = app.test_client().get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (me["name"], me["role"], me["scope"]) == ("李审计", "auditor", "210681")


def test_users_create_refuses_a_bad_scope(run):
    result = run("users", "create", "x", "--role", "clerk", "--scope", "abc")
    assert result.exit_code != 0 and "scope" in result.output


def test_demo_loads_once_and_ledger_verifies(run):
    result = run("demo", "--parcels", "300", "--seed", "5")
    assert result.exit_code == 0 and "300 parcels" in result.output and "2 dispute cases" in result.output
    assert "not loaded" in run("demo", "--parcels", "300", "--if-empty").output
    verified = run("ledger", "verify")
    assert verified.exit_code == 0 and "210681: ok" in verified.output


@pytest.mark.no_replay_check
def test_ledger_verify_exits_1_naming_the_tampered_entry(run, uow_factory, database_url):
    run("demo", "--parcels", "200", "--seed", "5")
    with uow_factory() as uow:
        if database_url.startswith("sqlite"):
            uow.session.execute(text("DROP TRIGGER ledger_entries_no_update"))
        else:
            uow.session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only"))
        uow.session.execute(text("UPDATE ledger_entries SET prev_hash = :h WHERE seq = 42"), {"h": "f" * 64})
        uow.commit()
    result = run("ledger", "verify", "--county", "210681")
    assert result.exit_code == 1 and "seq 42" in result.output




def test_an_auditor_exports_the_log_verifies_it_offline_and_later_proves_today_extends_it(run, tmp_path, app):
    run("demo", "--parcels", "120", "--seed", "3")
    kept = tmp_path / "kept"
    exported = run("ledger", "export", "--county", "210681", str(kept))
    assert exported.exit_code == 0, exported.output
    lines = (kept / "entries.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 120 and (kept / "checkpoint.txt").read_text().startswith("sanquan.local/ledger/210681\n")
    key = run("ledger", "key").output.strip()
    assert (kept / "verifier.txt").read_text().strip() == key
    offline = run("ledger", "verify", "--from-export", str(kept), "--key", key)
    assert offline.exit_code == 0 and f"{len(lines)} entries" in offline.output
    # the registry goes on; the log must still extend what the auditor kept
    clerk = app.test_client()
    from app.auth.services import SYSTEM, create_user
    from app.db import UnitOfWork
    token = create_user(UnitOfWork(app.extensions["sanquan"].session_factory), actor=SYSTEM, name="c", role="clerk",
                        scope="210681")["token"]
    r = clerk.post("/api/v1/collectives", json={"code": "21068110100199", "name": "新组"},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.get_json()
    assert run("ledger", "verify", "--county", "210681", "--against", str(kept)).exit_code == 0
    assert run("ledger", "verify", "--county", "210681", "--against", str(kept / "checkpoint.txt")).exit_code == 0
    assert "BEGIN" not in run("ledger", "checkpoint", "--county", "210681").output


@pytest.mark.no_replay_check
def test_an_export_altered_after_it_was_written_fails_offline_naming_the_entry(run, tmp_path):
    import json

    run("demo", "--parcels", "60", "--seed", "4")
    out = tmp_path / "export"
    run("ledger", "export", "--county", "210681", str(out))
    path = out / "entries.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[29])
    entry["body"] = entry["body"].replace('"name":"', '"name":"假', 1)
    lines[29] = json.dumps(entry, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("ledger", "verify", "--from-export", str(out))
    assert result.exit_code == 1 and "seq 30" in result.output
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.ledger import checkpoint as notes
    other = notes.verifier_key("someone", notes.public_bytes(Ed25519PrivateKey.generate()))  # checked first
    wrong_key = run("ledger", "verify", "--from-export", str(out), "--key", other)
    assert wrong_key.exit_code == 1 and "not signed by the trusted key" in wrong_key.output
    assert run("ledger", "verify", "--from-export", str(out), "--key", "garbage").exit_code == 2


def test_import_dry_run_reports_the_sample_overlaps_and_writes_nothing(run, tmp_path, uow_factory):
    import json

    report = tmp_path / "report.geojson"
    result = run("import", str(SAMPLE), "--dry-run", "--report", str(report))
    assert result.exit_code == 1, result.output  # 14 overlaps block it
    assert "parcels 3432" in result.output and "households 639" in result.output and "overlaps 14" in result.output
    assert "14 blocking problems: nothing written" in result.output
    features = json.loads(report.read_text())["features"]
    assert sum(f["properties"]["check"] == "overlaps" for f in features) == 14
    with uow_factory(write=False) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM parcels")).scalar() == 0


def test_import_of_a_folder_commits_it_with_accept_warnings(run, tmp_path, uow_factory):
    import zipfile

    import geopandas as gpd

    folder = tmp_path / "package"
    with zipfile.ZipFile(SAMPLE) as z:
        z.extractall(folder)
    dk = gpd.read_file(folder / "DK.shp")
    keep = dk["DKBM"].str.startswith("21068110100101")  # one group, clear of the overlaps
    dk[keep].to_file(folder / "DK.shp", encoding="UTF-8")
    import pandas as pd
    for name, column in (("CBDKXX", "DKBM"), ("CBHT", "CBFBM"), ("CBF", "CBFBM"), ("CBF_JTCY", "CBFBM"),
                         ("FBF", "FBFBM")):
        table = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        table[table[column].str.startswith("21068110100101")].to_csv(folder / f"{name}.csv", index=False)
    result = run("import", str(folder), "--accept-warnings")
    assert result.exit_code == 0, result.output
    assert "committed: ledger 210681" in result.output
    with uow_factory(write=False) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM parcels")).scalar() == int(keep.sum())
