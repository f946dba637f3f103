"""sanquan (三权): registry of rural land contract, homestead and income-share rights."""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from types import SimpleNamespace

from flask import Flask

__version__ = "0.1.0"

log = logging.getLogger(__name__)


def create_app(config=None) -> Flask:
    """Build the application; the only place an app is built.

    Args:
        config: a :class:`~app.config.Settings`, a dict of setting overrides, or
            None to read ``SANQUAN_*`` from the environment.
    """
    from app import idempotency
    from app.auth import access
    from app.config import Settings
    from app.db import make_engine, make_session_factory
    from app.errors import register_error_handlers
    from app.extensions import Api, IdConverter, StrictJSONProvider
    from app.ids import RowKeyConverter, converter_schema
    from app.ledger.services import SIGNER, LedgerSigner

    if isinstance(config, Settings):
        settings = config
    else:
        settings = replace(Settings.from_env(), **(config or {}))
    settings.instance_path.mkdir(parents=True, exist_ok=True)

    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.json = StrictJSONProvider(app)
    app.url_map.converters["int"] = IdConverter  # before any route: every <int:…> is a bounded id
    app.url_map.converters["row"] = RowKeyConverter  # <row:…>: a registry id, passed on as its RowKey
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="sanquan 三权登记",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/static/",
        API_SPEC_OPTIONS={
            "info": {"description": _API_DESCRIPTION},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    engine = make_engine(settings.sqlalchemy_url)
    signer = LedgerSigner.load(settings.ledger_key_path, name=settings.ledger_name, every=settings.checkpoint_every,
                               minutes=settings.checkpoint_minutes)
    app.extensions["sanquan"] = SimpleNamespace(
        settings=settings, engine=engine, signer=signer,
        session_factory=make_session_factory(engine, info={SIGNER: signer}))

    logging.getLogger("app").setLevel(settings.log_level.upper())
    register_error_handlers(app)
    app.before_request(_upload_limit)
    access.init_app(app)
    app.before_request(_refuse_control_characters)
    idempotency.init_app(app)
    api = Api(app)
    api.register_converter(RowKeyConverter, converter_schema)
    _register_blueprints(app, api)
    if settings.admin_token:
        _bootstrap_admin(app, settings.admin_token)
    return app


#: Endpoints that take file uploads, and the setting that limits their body.
UPLOAD_LIMITS = {"documents.Documents": "max_document_bytes", "imports.Imports": "max_import_bytes"}


def _upload_limit():
    from flask import current_app, request

    setting = UPLOAD_LIMITS.get(request.endpoint or "")
    if setting:
        # Room for the multipart envelope; the service checks the file's own size exactly.
        request.max_content_length = getattr(current_app.extensions["sanquan"].settings, setting) + 65536


#: A JSON body holds an escaped control character only if it holds a ``\u`` escape or a raw DEL
#: (JSON itself refuses raw C0 controls in strings), so most bodies are never walked.
_MAYBE_ESCAPED_CONTROL = re.compile(rb"\\u|\x7f")


def _refuse_control_characters():
    """Refuse control characters in every text a request brings, once, before any view reads it.

    The decoded path, query arguments, form field names and file names may hold none (C0, DEL, C1).
    A JSON body's strings (keys too) and a form field's value (a textarea's lines) may hold tab, LF
    and CR, but no other C0 control, DEL (nor C1 in a form) or lone surrogate. PostgreSQL cannot
    store NUL, and no registry text needs the others.

    Raises:
        RuleViolation: CONTROL_CHARACTERS (422), naming where, with nothing read or stored.
    """
    from flask import request

    from app.errors import RuleViolation
    from app.extensions import CONTROL_CHARACTERS, FORM_VALUE_FORBIDDEN

    found: dict[str, list[str]] = {}

    def check(location: str, name: str, text: str | None, pattern=CONTROL_CHARACTERS) -> None:
        if text and pattern.search(text):
            found.setdefault(location, []).append(name)

    check("path", "path", request.path)
    for name, value in request.args.items(multi=True):
        check("query", name[:50], name + "=" + value)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            check("form", name[:50], name)
            check("form", name[:50], value, pattern=FORM_VALUE_FORBIDDEN)
        for name, upload in request.files.items(multi=True):
            check("files", name[:50], name + "=" + (upload.filename or ""))
    elif request.is_json and _MAYBE_ESCAPED_CONTROL.search(request.get_data(cache=True)):
        where = _json_control(request.get_json(force=True))
        if where is not None:
            found["json"] = [where]
    if found:
        where = "; ".join(f"{location}: {', '.join(names)}" for location, names in found.items())
        raise RuleViolation("CONTROL_CHARACTERS", details={"where": where},
                            errors={location: {name: ["contains control characters"] for name in names}
                                    for location, names in found.items()})
    return None


def _json_control(body) -> str | None:
    """The path (``a.b[2]``) of the first string in ``body`` holding a character JSON text may not bring."""
    from app.extensions import JSON_STRING_FORBIDDEN

    # A path is a linked (parent, key) pair, spelled out only for the one string that is refused.
    stack: list = [(None, body)]
    while stack:  # no recursion: the body may be nested as deep as the decoder allows
        path, value = stack.pop()
        if isinstance(value, str):
            if JSON_STRING_FORBIDDEN.search(value):
                return _spell(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if JSON_STRING_FORBIDDEN.search(key):
                    return _spell(path)
                stack.append(((path, key), item))
        elif isinstance(value, list):
            stack.extend(((path, i), item) for i, item in enumerate(value) if not isinstance(item, (int, float)))
    return None


def _spell(path) -> str:
    keys = []
    while path is not None:
        path, key = path
        keys.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(keys)).lstrip(".") or "(body)"


def _register_blueprints(app: Flask, api) -> None:
    from app import docs, health
    from app.audit.routes import blp as audit
    from app.auth.routes import blp as users
    from app.console import bp as console
    from app.disputes.routes import blp as disputes
    from app.exchange.routes import blp as exchange
    from app.imports.routes import blp as imports
    from app.imports.routes import exports_blp as exports
    from app.ledger.routes import blp as ledger
    from app.ogc.routes import blp as ogc
    from app.parcels.routes import blp as parcels
    from app.parties.routes import blp as parties
    from app.parties.routes import documents
    from app.reports.routes import blp as reports
    from app.rights.routes import blp as rights
    from app.transfers.routes import blp as transfers

    app.register_blueprint(docs.blp)
    app.register_blueprint(console)
    api.register_blueprint(ogc)
    for blp in (health.blp, users, parties, documents, parcels, rights, transfers, exchange, disputes, imports,
                exports, reports, ledger, audit):
        api.register_blueprint(blp, url_prefix="/api/v1")


def _bootstrap_admin(app: Flask, token: str) -> None:
    from sqlalchemy import inspect

    from app.auth.services import bootstrap_admin
    from app.db import UnitOfWork

    ext = app.extensions["sanquan"]
    if not inspect(ext.engine).has_table("users"):
        log.warning("database not migrated yet: run `sanquan db upgrade`; admin bootstrap skipped")
        return
    if bootstrap_admin(UnitOfWork(ext.session_factory), token):
        log.info("bootstrap admin created from SANQUAN_ADMIN_TOKEN")


_API_DESCRIPTION = """\
Registry of rural land contract rights (土地承包经营权), homestead use rights
(宅基地使用权) and collective income-distribution rights (集体收益分配权).

Every endpoint but `/health`, `/openapi.json` and `/docs` needs
`Authorization: Bearer <token>`. Errors have the shape
`{code, status, message, rule?, basis?, errors?, details?}`; `message` is
Chinese unless `Accept-Language: en`. Every POST accepts `Idempotency-Key`.
Geometry is GeoJSON in CGCS2000 lon/lat (EPSG:4490) unless `crs` says otherwise.

Persons, documents, memberships, transfers, payments, management rights, settlements, listings, bids and
disputes have registry ids: `county code × 10¹⁰ + the row's number in its county` (transfer 5 of Donggang,
210681, is `2106810000000005`), so an id says which county holds the row. A county's ledger names its own
rows by their numbers (`transfer:5`); printed documents number them the same way (`210681流转合字第5号`).
"""
