"""The ``sanquan`` command: database, users, demo county, ledger."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app import create_app


def _ext():
    return current_app.extensions["sanquan"]


def _uow(write: bool = True):
    from app.db import UnitOfWork
    return UnitOfWork(_ext().session_factory, write=write)


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def main():
    """sanquan (三权): registry of rural land contract, homestead and income-share rights."""


@main.group()
def db():
    """Database schema (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision):
    """Migrate the database to REVISION (default: head)."""
    from app.migrate import upgrade
    upgrade(_ext().engine, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision):
    """Migrate the database down to REVISION (e.g. base)."""
    from app.migrate import downgrade
    downgrade(_ext().engine, revision)
    click.echo(f"database at {revision}")


@main.group()
def users():
    """Users and tokens."""


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "clerk", "exchange", "arbitrator", "auditor"]))
@click.option("--scope", default="", show_default=True, help="division-code prefix, e.g. 210681")
@with_appcontext
def users_create(name, role, scope):
    """Create a user and print its token (shown once)."""
    from app.auth.services import SYSTEM, create_user
    from app.errors import DomainError
    try:
        user = create_user(_uow(), actor=SYSTEM, name=name, role=role, scope=scope)
    except DomainError as e:
        raise click.ClickException(e.zh) from None
    click.echo(user["token"])


@main.command("demo")
@click.option("--parcels", default=3000, show_default=True, help="about how many parcels to generate")
@click.option("--seed", default=2017, show_default=True)
@click.option("--if-empty", is_flag=True, help="do nothing when the registry already holds data")
@with_appcontext
def demo(parcels, seed, if_empty):
    """Generate and load a synthetic Donggang (210681) county."""
    from tqdm import tqdm

    from app.demo import is_empty, load_demo
    if if_empty and not is_empty(_uow(write=False)):
        click.echo("registry not empty: demo county not loaded")
        return
    with tqdm(total=parcels, unit="地块", desc="demo county", file=sys.stderr) as bar:
        counts = load_demo(_uow, seed=seed, parcels=parcels, progress=bar.update)
    click.echo("loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@main.command("prepare")
@with_appcontext
def prepare():
    """Migrate, make sure an admin exists, load the demo county if empty (make run)."""
    from app.auth.services import bootstrap_admin, new_token
    from app.demo import is_empty, load_demo
    from app.migrate import upgrade

    settings = _ext().settings
    upgrade(_ext().engine)
    token_file = settings.instance_path / "admin-token"
    token = settings.admin_token
    if not token:
        token = token_file.read_text().strip() if token_file.exists() else new_token()
    if bootstrap_admin(_uow(), token) and not settings.admin_token:
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
    if settings.demo and is_empty(_uow(write=False)):
        from tqdm import tqdm
        with tqdm(total=3000, unit="地块", desc="demo county", file=sys.stderr) as bar:
            load_demo(_uow, progress=bar.update)
    base = f"http://127.0.0.1:{settings.port}"
    click.echo(f"\nsanquan on {_ext().engine.dialect.name}")
    click.echo(f"  API      {base}/api/v1/health")
    click.echo(f"  docs     {base}/api/v1/docs")
    click.echo(f"  OpenAPI  {base}/api/v1/openapi.json")
    if token_file.exists() or settings.admin_token:
        shown = settings.admin_token or token_file.read_text().strip()
        click.echo(f"  admin token  {shown}")
        click.echo(f"  try: curl -H 'Authorization: Bearer {shown}' {base}/api/v1/collectives")


@main.group()
def ledger():
    """County ledgers."""


@ledger.command("verify")
@click.option("--county", default=None, help="6-digit county code; default every county")
@with_appcontext
def ledger_verify(county):
    """Recompute every hash of the log(s); exit 1 naming the first bad entry."""
    from sqlalchemy import select

    from app.ledger.models import LedgerHead
    from app.ledger.services import verify_chain
    with _uow(write=False) as uow:
        counties = [county] if county else list(uow.session.scalars(select(LedgerHead.log)))
    bad = False
    for c in counties:
        r = verify_chain(_uow(write=False), c)
        if r["ok"]:
            click.echo(f"{c}: ok, {r['size']} entries")
        else:
            bad = True
            click.echo(f"{c}: BAD at seq {r['first_bad_seq']}: {r['problem']}", err=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
