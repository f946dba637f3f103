"""The ``sanquan`` command on both engines."""
from __future__ import annotations

import os

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


# --- the registry the settings name is missing, empty or behind: refused by name, nothing created ------------

#: every command that works on the registry, with arguments that would otherwise run
NEEDS_REGISTRY = [
    ("users", "create", "李审计", "--role", "auditor"),
    ("demo", "--parcels", "50"),
    ("import", str(SAMPLE), "--dry-run"),
    ("ledger", "verify"),
    ("ledger", "checkpoint"),
    ("ledger", "key"),
    ("ledger", "export", "--county", "210681", "kept"),
    ("calendar", "load", str(SAMPLE)),
    ("db", "downgrade", "base"),
]


def run_as_installed(*args, instance, database_url=""):
    """``sanquan ARGS`` as a shell runs it: the app built from the environment, not the test's."""
    env = {"SANQUAN_INSTANCE": str(instance), "SANQUAN_DATABASE_URL": database_url, "SANQUAN_DEMO": "0",
           "SANQUAN_ADMIN_TOKEN": None, "SANQUAN_LEDGER_KEY_FILE": None}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def unmigrated(request, tmp_path):
    """(database URL or "" for SQLite, the instance folder): a database that exists but has no tables."""
    instance = tmp_path / "instance"
    if request.param == "sqlite":
        import sqlite3
        from contextlib import closing

        instance.mkdir()
        with closing(sqlite3.connect(instance / "sanquan.db")):
            pass
        yield "", instance
        return
    from tests.conftest import PG_URL, SKIP_PG, fresh_pg_schema
    if not PG_URL:
        pytest.skip(SKIP_PG)
    from app.db import make_engine
    schema = f"cli_empty_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    yield fresh_pg_schema(schema), instance
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


def _tables(database_url: str, instance) -> set[str]:
    from sqlalchemy import inspect

    from app.db import make_engine
    engine = make_engine(database_url or f"sqlite+pysqlite:///{instance / 'sanquan.db'}")
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    finally:
        engine.dispose()


@pytest.mark.parametrize("args", NEEDS_REGISTRY, ids=lambda a: " ".join(a[:2]))
def test_a_command_run_where_there_is_no_database_names_it_exits_2_and_creates_nothing(args, tmp_path):
    instance = tmp_path / "elsewhere" / "instance"
    result = run_as_installed(*args, instance=instance)
    assert result.exit_code == 2, result.output
    assert f"SQLite file {instance / 'sanquan.db'} does not exist" in result.output
    assert "SANQUAN_INSTANCE" in result.output and "SANQUAN_DATABASE_URL" in result.output
    assert "sanquan prepare" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "elsewhere").exists()  # no folder, no empty database, no key


@pytest.mark.parametrize("args", NEEDS_REGISTRY, ids=lambda a: " ".join(a[:2]))
def test_a_command_on_a_database_without_tables_names_it_exits_2_and_changes_nothing(args, unmigrated):
    database_url, instance = unmigrated
    result = run_as_installed(*args, instance=instance, database_url=database_url)
    assert result.exit_code == 2, result.output
    named = database_url.split("?")[0] if database_url else f"SQLite file {instance / 'sanquan.db'}"
    assert f"the database {named}" in result.output and "no schema" in result.output
    assert "sanquan db upgrade" in result.output and "Traceback" not in result.output
    assert _tables(database_url, instance) == set()
    assert not (instance / "ledger-ed25519.pem").exists()


def test_the_database_url_is_named_without_its_password(tmp_path):
    result = run_as_installed("ledger", "verify", instance=tmp_path / "instance",
                              database_url="postgresql+psycopg://clerk:s3cret@127.0.0.1:1/nowhere")
    assert result.exit_code == 2
    assert "postgresql+psycopg://clerk:***@127.0.0.1:1/nowhere" in result.output and "s3cret" not in result.output


def test_db_upgrade_and_prepare_still_make_the_registry_the_other_commands_then_use(unmigrated):
    database_url, instance = unmigrated
    upgraded = run_as_installed("db", "upgrade", instance=instance, database_url=database_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert {"ledger_entries", "parcels", "alembic_version"} <= _tables(database_url, instance)
    prepared = run_as_installed("prepare", instance=instance, database_url=database_url)
    assert prepared.exit_code == 0, prepared.output
    assert (instance / "admin-token").exists() and (instance / "ledger-ed25519.pem").exists()
    created = run_as_installed("users", "create", "李审计", "--role", "auditor", instance=instance,
                               database_url=database_url)
    assert created.exit_code == 0 and created.output.startswith("sq_"), created.output


def test_a_database_behind_the_code_is_refused_until_db_upgrade(tmp_path):
    instance = tmp_path / "instance"
    assert run_as_installed("db", "upgrade", instance=instance).exit_code == 0
    from alembic.script import ScriptDirectory

    from app.migrate import SCRIPT_LOCATION
    previous = ScriptDirectory(SCRIPT_LOCATION).get_current_head()
    previous = ScriptDirectory(SCRIPT_LOCATION).get_revision(previous).down_revision
    assert run_as_installed("db", "downgrade", previous, instance=instance).exit_code == 0
    behind = run_as_installed("users", "create", "x", "--role", "clerk", instance=instance)
    assert behind.exit_code == 2 and "is at schema revision" in behind.output
    assert "migrate it with `sanquan db upgrade`" in behind.output
    assert run_as_installed("db", "upgrade", instance=instance).exit_code == 0
    assert run_as_installed("users", "create", "x", "--role", "clerk", instance=instance).exit_code == 0


def test_help_lists_the_commands_without_touching_any_database(tmp_path):
    result = run_as_installed("--help", instance=tmp_path / "instance")
    assert result.exit_code == 0 and "prepare" in result.output and "ledger" in result.output
    assert not (tmp_path / "instance").exists()


def test_demo_on_a_registry_that_holds_data_says_so_and_exits_non_zero(run, uow_factory):
    assert run("demo", "--parcels", "60", "--seed", "4").exit_code == 0
    with uow_factory(write=False) as uow:
        before = uow.session.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
    again = run("demo", "--parcels", "60", "--seed", "9")
    assert again.exit_code == 1 and "is not empty" in again.output and "--if-empty" in again.output
    with uow_factory(write=False) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == before


def test_load_demo_refuses_a_registry_that_holds_data(app, uow_factory, make_collective):
    from app.demo import load_demo
    from app.errors import Conflict
    make_collective()
    with pytest.raises(Conflict, match="not empty"):
        load_demo(uow_factory, seed=4, parcels=30)


def test_the_demo_contracts_are_in_force_whenever_the_demo_is_loaded():
    import datetime as dt

    from app.demo import contract_term
    assert contract_term(dt.date(2026, 12, 5)) == (dt.date(1998, 1, 1), dt.date(2027, 12, 31))
    for today in (dt.date(2027, 12, 31), dt.date(2028, 1, 1), dt.date(2041, 6, 30)):
        start, end = contract_term(today)
        assert start < today <= end - dt.timedelta(days=365)
        assert (end + dt.timedelta(days=1)).replace(year=end.year + 1 - 30) == start  # exactly 30 years


def test_county_tables_lists_every_table_of_a_county_parents_first(run):
    from app.db import Base

    tables = run("db", "county-tables").output.split()
    every = {t.name for t in Base.metadata.sorted_tables if "county_code" in t.c or "log" in t.c}
    assert set(tables) == every - {"ledger_checkpoints", "import_jobs"}
    for table in Base.metadata.sorted_tables:  # each before any table that refers to it
        for key in table.foreign_keys:
            if table.name in tables and key.column.table.name in tables:
                assert tables.index(key.column.table.name) < tables.index(table.name), (table.name, key.column)


def test_advance_sequences_moves_a_sequence_behind_the_loaded_rows_forward_never_back(run, app, uow_factory,
                                                                                      database_url):
    from app.auth.services import SYSTEM
    from app.parties.services import create_collective, register_household
    from tests.conftest import COLLECTIVE, COUNTY, id_number

    def register(seq: int) -> dict:
        head = {"name": f"户主{seq}", "id_number": id_number(COUNTY, "19800101", seq), "sex": "male"}
        return register_household(uow_factory(), actor=SYSTEM, collective_code=COLLECTIVE, head=head, members=[])

    create_collective(uow_factory(), actor=SYSTEM, code=COLLECTIVE, name="一组")
    register(1), register(3)
    engine = app.extensions["sanquan"].engine
    if database_url.startswith("sqlite"):
        assert run("db", "advance-sequences").output.strip() == "0 sequences moved"
        return
    with engine.begin() as c:  # as after a load of rows numbered by another database
        c.execute(text("SELECT setval('persons_id_seq', 1)"))
    moved = run("db", "advance-sequences")
    assert moved.exit_code == 0 and "persons_id_seq: 2" in moved.output, moved.output
    assert run("db", "advance-sequences").output.strip() == "0 sequences moved"  # never back, nothing twice
    assert [m["id"] % 10**10 for m in register(5)["members"]] == [3]
