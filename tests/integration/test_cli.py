"""The ``sanquan`` command on both engines."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import text

from app.cli import main


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
    assert result.exit_code == 0 and "300 parcels" in result.output
    assert "not loaded" in run("demo", "--parcels", "300", "--if-empty").output
    verified = run("ledger", "verify")
    assert verified.exit_code == 0 and "210681: ok" in verified.output


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
