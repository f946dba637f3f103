"""The ``sanquan`` command: database, users, demo county, imports, ledger."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from app import create_app


def _ext():
    return current_app.extensions["sanquan"]


def _uow(write: bool = True):
    from app.db import UnitOfWork
    return UnitOfWork(_ext().session_factory, write=write)


#: The commands that create or migrate the database; every other one needs a registry already there.
CREATES = frozenset({("prepare",), ("db", "upgrade")})


class NoRegistry(click.ClickException):
    """The settings point at no registry: say which database and how to point at the right one."""

    exit_code = 2


def _where(settings) -> str:
    """The database the settings name: the SQLite file, or the URL without its password."""
    from sqlalchemy.engine import make_url
    if not settings.database_url:
        return f"SQLite file {settings.instance_path / 'sanquan.db'}"
    try:
        return make_url(settings.database_url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show no part of it that may hold a password
        return "SANQUAN_DATABASE_URL (not a database URL)"


def registry_problem(settings, *, at_head: bool = True) -> str | None:
    """Why the database the settings name holds no registry this sanquan can work on, or None.

    Reads only: a missing SQLite file is not created, nothing is written.

    Args:
        at_head: also require the schema at this code's latest migration.
    """
    import sqlite3
    from contextlib import closing

    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from app.migrate import SCRIPT_LOCATION

    where = _where(settings)
    if not settings.database_url:
        path = settings.instance_path / "sanquan.db"
        if not path.is_file():
            return f"there is no database: {where} does not exist"
        try:
            with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                revisions = ({r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
                             if "alembic_version" in tables else set())
        except sqlite3.Error as e:
            return f"{where} cannot be read as a database ({e})"
    else:
        engine = create_engine(settings.database_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                revisions = (set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
                             if inspect(conn).has_table("alembic_version") else set())
        except SQLAlchemyError as e:
            first = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
            return f"cannot open the database {where} ({first})"
        finally:
            engine.dispose()
    if not revisions:
        return f"the database {where} holds no sanquan registry: it has no schema (never migrated)"
    heads = set(ScriptDirectory(SCRIPT_LOCATION).get_heads())
    if at_head and revisions != heads:
        return (f"the database {where} is at schema revision {', '.join(sorted(revisions))}, this sanquan "
                f"needs {', '.join(sorted(heads))}: migrate it with `sanquan db upgrade`")
    return None


def _create_app():
    """The app for the command being run; a command that needs the registry first checks it is there, so
    that a wrong folder or URL is named instead of getting an empty database and a new key."""
    current = ctx = click.get_current_context(silent=True)
    path: list[str | None] = []
    while ctx is not None and ctx.parent is not None:
        path.insert(0, ctx.info_name)
        ctx = ctx.parent
    if tuple(path) not in CREATES:
        from app.config import Settings
        settings = Settings.from_env()
        problem = registry_problem(settings, at_head=tuple(path) != ("db", "downgrade"))
        if problem:
            raise NoRegistry(
                f"{problem}.\nPoint at the registry with SANQUAN_INSTANCE (its folder, now {settings.instance!r}, "
                "relative to the current folder) or SANQUAN_DATABASE_URL (PostgreSQL), or run from the checkout; "
                "`sanquan prepare` (or `sanquan db upgrade`) makes a new registry there.")
    app = create_app()
    if current is not None:  # the command's connections close with it
        current.call_on_close(app.extensions["sanquan"].engine.dispose)
    return app


class _SanquanGroup(FlaskGroup):
    """FlaskGroup without the app's own commands: listing or looking up commands (``--help``) builds no app,
    so it neither needs a database nor creates one."""

    def list_commands(self, ctx):
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx, name):
        return click.Group.get_command(self, ctx, name)


@click.group(cls=_SanquanGroup, create_app=_create_app, add_default_commands=False,
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
    from app.migrate import CollationError, upgrade
    try:
        upgrade(_ext().engine, revision)
    except CollationError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision):
    """Migrate the database down to REVISION (e.g. base)."""
    from app.migrate import downgrade
    downgrade(_ext().engine, revision)
    click.echo(f"database at {revision}")


@db.command("county-tables")
def db_county_tables():
    """Print the tables that hold a county's rows, parents first, one a line: what moving a county to another
    database copies (docs/scaling.md). Its signed checkpoints and import jobs stay behind."""
    from app.models import county_tables
    click.echo("\n".join(county_tables()))


@db.command("advance-sequences")
@with_appcontext
def db_advance_sequences():
    """After loading a county's rows with their numbers (docs/scaling.md): move each id sequence past the largest
    id its table holds, never back. PostgreSQL only; SQLite numbers a county's rows itself."""
    from app.migrate import advance_sequences
    moved = advance_sequences(_ext().engine)
    for sequence, value in moved.items():
        click.echo(f"{sequence}: {value}")
    click.echo(f"{len(moved)} sequences moved")


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

    from app.demo import is_empty, load_demo, load_demo_cases
    from app.errors import DomainError
    if not is_empty(_uow(write=False)):
        if if_empty:
            click.echo("registry not empty: demo county not loaded")
            return
        raise click.ClickException(
            f"the registry at {_where(_ext().settings)} is not empty: the demo county loads into an empty "
            "registry only (a new SANQUAN_INSTANCE folder, or --if-empty to do nothing here)")
    try:
        with tqdm(total=parcels, unit="地块", desc="demo county", file=sys.stderr) as bar:
            counts = load_demo(_uow, seed=seed, parcels=parcels, progress=bar.update)
    except DomainError as e:  # filled meanwhile by another process
        raise click.ClickException(f"{e.zh} ({e.en})") from None
    counts["dispute cases"] = len(load_demo_cases(_uow))
    click.echo("loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@main.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="read and check only; write nothing")
@click.option("--accept-warnings", is_flag=True, help="commit even though QA found warnings")
@click.option("--collective", default=None, help="for a plain parcel layer: its 14-digit collective code")
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the QA report here (.geojson for QGIS, else JSON)")
@with_appcontext
def import_package(path, dry_run, accept_warnings, collective, report):
    """Import an NY/T 2539 package (zip or folder) or a parcel layer: read, check, commit whole.

    Exit status: 0 committed (or checked clean with --dry-run), 1 failed or blocking problems,
    2 warnings to accept (--accept-warnings).
    """
    import shutil
    import tempfile
    import threading

    from tqdm import tqdm

    from app.auth.services import SYSTEM
    from app.db import UnitOfWork
    from app.imports import services as imports
    from app.imports.routes import policy

    with tempfile.TemporaryDirectory() as tmp:
        upload = Path(shutil.make_archive(str(Path(tmp) / path.name), "zip", path)) if path.is_dir() else path
        with open(upload, "rb") as stream:
            job = imports.create_import(_uow(), actor=SYSTEM, policy=policy(), stream=stream, filename=upload.name,
                                        collective=collective, dry_run=dry_run, accept_warnings=accept_warnings)
    folder = policy().storage / str(job["id"])
    factory = _ext().session_factory  # the worker thread has no app context
    worker = threading.Thread(target=imports.run_job, args=(lambda: UnitOfWork(factory), policy(), job["id"]))
    worker.start()
    with tqdm(unit="地块", file=sys.stderr, dynamic_ncols=True) as bar:
        while worker.is_alive():
            worker.join(0.2)
            progress = imports.read_progress(folder) or {}
            bar.set_description(_STAGES_ZH.get(progress.get("stage", ""), "…"))
            bar.unit = "项" if progress.get("stage") == "checking" else "地块"  # QA reports its steps
            bar.total = progress.get("total") or None
            bar.n = progress.get("done", 0)
            bar.refresh()
    view = imports.get_import(_uow(), actor=SYSTEM, policy=policy(), job_id=job["id"])
    if report and view.get("problems") is not None:
        shutil.copyfile(folder / ("report.geojson" if report.suffix.lower() == ".geojson" else "report.json"), report)
    click.echo(f"import {view['id']}: {view['status']}")
    if view["counts"]:
        click.echo("counts: " + ", ".join(f"{k} {v}" for k, v in view["counts"].items() if not isinstance(v, dict)))
    if view["qa"]:
        click.echo("QA: " + (", ".join(f"{k} {v}" for k, v in view["qa"].items() if v) or "no problems"))
    for problem in (view.get("problems") or [])[:20]:
        click.echo(f"  [{problem['severity']}] {problem['message_zh']}")
    if view.get("problems_total", 0) > 20:
        click.echo(f"  … {view['problems_total'] - 20} more" + (f" in {report}" if report else " (--report FILE)"))
    if view["status"] == "failed":
        click.echo(f"failed: {view['error']['message_zh']} ({view['error']['message_en']})", err=True)
        sys.exit(1)
    if view["blocking"]:
        click.echo(f"{view['blocking']} blocking problems: nothing written", err=True)
        sys.exit(1)
    if view["status"] == "ready" and not dry_run:
        click.echo(f"{view['warnings']} warnings: read them, then run again with --accept-warnings", err=True)
        sys.exit(2)
    if view["status"] == "committed":
        click.echo(f"committed: ledger {view['county']} seq {view['ledger']['first']}–{view['ledger']['last']}")
    elif not (view["status"] == "ready" and dry_run):
        sys.exit(1)


_STAGES_ZH = {"queued": "排队", "reading": "读取数据包", "checking": "质量检查", "ready": "检查完毕",
              "committing": "写入登记簿", "committed": "已写入"}


@main.command("prepare")
@with_appcontext
def prepare():
    """Migrate, make sure an admin exists, load the demo county if empty (make run)."""
    from app.auth.services import bootstrap_admin, new_token
    from app.db import refresh_statistics
    from app.demo import is_empty, load_demo, load_demo_cases
    from app.imports.services import fail_abandoned, import_policy
    from app.migrate import CollationError, upgrade

    settings = _ext().settings
    try:
        upgrade(_ext().engine)
    except CollationError as e:
        raise click.ClickException(str(e)) from None
    interrupted = fail_abandoned(_uow(), policy=import_policy(settings))
    if interrupted:
        click.echo(f"imports whose runner stopped, marked failed: {', '.join(map(str, interrupted))}")
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
        load_demo_cases(_uow)
        with _uow() as uow:
            refresh_statistics(uow.session)
            uow.commit()
    base = f"http://127.0.0.1:{settings.port}"
    click.echo(f"\nsanquan on {_ext().engine.dialect.name}")
    click.echo(f"  API      {base}/api/v1/health")
    click.echo(f"  console  {base}/console/")
    click.echo(f"  docs     {base}/api/v1/docs")
    click.echo(f"  OpenAPI  {base}/api/v1/openapi.json")
    click.echo(f"  OGC API  {base}/ogc   (QGIS/GDAL: send the token as an Authorization header)")
    click.echo(f"  ledger verifier key  {_ext().signer.verifier}   (auditors check checkpoints with it)")
    if token_file.exists() or settings.admin_token:
        shown = settings.admin_token or token_file.read_text().strip()
        click.echo(f"  admin token  {shown}")
        click.echo(f"  try: curl -H 'Authorization: Bearer {shown}' {base}/api/v1/collectives")


@main.group()
def ledger():
    """County ledgers."""


def _counties(county: str | None) -> list[str]:
    from sqlalchemy import select

    from app.ledger.models import LedgerHead
    with _uow(write=False) as uow:
        return [county] if county else list(uow.session.scalars(select(LedgerHead.log).order_by(LedgerHead.log)))


def _report(result) -> bool:
    """Print one log's verdict; True when clean."""
    if result.ok:
        extra = f", checkpoint at {result.checkpoint['size']}" if result.checkpoint else ""
        click.echo(f"{result.log}: ok, {result.size} entries{extra}; " + ", ".join(
            f"{k} {v}" for k, v in result.checks.items() if k != "head"))
        return True
    click.echo(f"{result.log}: BAD at seq {result.first_bad_seq}: {result.problem}", err=True)
    return False


@ledger.command("verify", with_appcontext=False)
@click.option("--county", default=None, help="6-digit county code; default every county")
@click.option("--from-export", "export", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="verify an exported log offline (no database)")
@click.option("--against", type=click.Path(exists=True, path_type=Path), default=None,
              help="an export or checkpoint kept earlier: the log must extend it")
@click.option("--key", "verifier", default=None,
              help="the verifier key (name+id+key) to trust; default the one saved with the export or "
                   "this deployment's")
@click.option("--workers", type=click.IntRange(1, 2), default=2, show_default=True,
              help="processes sharing a large log (100,000 entries or more); 1 for one")
@click.pass_context
def ledger_verify(ctx, county, export, against, verifier, workers):
    """Verify hashes, chain, Merkle root, signed checkpoints and (with a database) the tables by replay.

    Exit 0 when everything holds; exit 1 naming the first bad entry.
    """
    from app.audit import verify

    try:
        if export is not None:
            sys.exit(0 if _report(verify.verify_export(export, verifier=verifier, kept=against)) else 1)
        with ctx.ensure_object(ScriptInfo).load_app().app_context():
            ok = True
            for c in _counties(county):
                ok &= _report(verify.verify_county(_uow(write=False), c, kept=against, verifier=verifier,
                                                   workers=workers))
    except (ValueError, OSError) as e:  # a malformed key or an unreadable export: not a verdict on the log
        raise click.UsageError(str(e)) from None
    sys.exit(0 if ok else 1)


@ledger.command("checkpoint")
@click.option("--county", default=None, help="6-digit county code; default every county")
@with_appcontext
def ledger_checkpoint(county):
    """Sign a checkpoint of each log as it stands now and print it (C2SP tlog-checkpoint)."""
    from app.auth.services import SYSTEM
    from app.ledger.services import sign_checkpoint
    for c in _counties(county):
        click.echo(sign_checkpoint(_uow(), actor=SYSTEM, county=c)["note"])


@ledger.command("key")
@with_appcontext
def ledger_key():
    """Print this deployment's verifier key: give it to auditors to check checkpoints offline."""
    click.echo(_ext().signer.verifier)


@ledger.command("export")
@click.option("--county", required=True, help="6-digit county code")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def ledger_export(county, out):
    """Write a county's log to OUT/entries.jsonl with a fresh signed checkpoint and the verifier key."""
    from app.audit.verify import export_log
    from app.auth.services import SYSTEM
    from app.ledger.services import sign_checkpoint
    point = sign_checkpoint(_uow(), actor=SYSTEM, county=county)
    with _uow(write=False) as uow:
        n = export_log(uow.session, county, out, verifier=_ext().signer.verifier, note=point["note"])
    click.echo(f"{county}: {n} entries and the checkpoint at {point['size']} written to {out}")


@main.group()
def calendar():
    """The working-day calendar statutory deadlines are counted on."""


@calendar.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def calendar_load(file):
    """Load a year's official schedule for a year chinese-calendar does not know.

    FILE is CSV, a row a day: date,workday[,name] with 0/休 for each holiday and 1/班 for each adjusted
    working day, as the State Council publishes them; the year's other days follow Monday–Friday.
    """
    from app.auth.services import SYSTEM
    from app.errors import DomainError
    from app.workdays.services import load_schedule, parse_schedule
    raw = file.read_bytes()
    try:  # UTF-8, or GB 18030 as Excel saves a CSV on a Chinese system
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise click.ClickException("日历文件须为 UTF-8 或 GB18030 编码的 CSV 文本") from None
    try:
        loaded = load_schedule(_uow(), actor=SYSTEM, rows=parse_schedule(text))
    except DomainError as e:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in (e.errors or {}).items())
        raise click.ClickException(e.zh + (f" ({detail})" if detail else "")) from None
    click.echo(f"{loaded['year']}: {len(loaded['rest_days'])} rest days, "
               f"{len(loaded['working_days'])} adjusted working days loaded")


if __name__ == "__main__":
    main()
