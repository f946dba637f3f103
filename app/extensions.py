"""The one Api, and the Blueprint/Schema bases every domain imports."""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections import abc
from decimal import Decimal
from typing import Any

import marshmallow as ma
import orjson
from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import IntegerConverter

from app import ids
from app.db import MAX_ID, UnitOfWork
from app.errors import http_error_response


class InvalidJSON(UnprocessableEntity):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.data = {"messages": {"json": [reason]}}


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not valid JSON (RFC 8259 has no NaN or Infinity)")


def loads_strict(data: bytes | str) -> Any:
    """Decode JSON, refusing NaN/Infinity and nesting too deep to decode.

    Raises:
        InvalidJSON: a 400 naming what is wrong.
    """
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidJSON("JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidJSON(f"invalid JSON: {e}") from None


def _json_default(o: Any) -> Any:
    """The API's dates wherever they sit (a dict field too): ``YYYY-MM-DD``, and RFC 3339 times with an offset.

    Flask's own default writes a date as an HTTP date (``Sat, 05 Dec 2026 00:00:00 GMT``).
    """
    if isinstance(o, dt.datetime):
        return (o if o.tzinfo else o.replace(tzinfo=dt.UTC)).isoformat()  # stored naive means UTC
    if isinstance(o, dt.date):
        return o.isoformat()
    return DefaultJSONProvider.default(o)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON with :func:`loads_strict` for request bodies and ISO dates in responses."""

    ensure_ascii = False
    sort_keys = False
    default = staticmethod(_json_default)

    def loads(self, s, **kwargs):
        return loads_strict(s)


class ErrorSchema(ma.Schema):
    """The API's error shape (docs/architecture.md, The HTTP contract)."""

    code = ma.fields.Integer(metadata={"description": "HTTP status code"})
    status = ma.fields.String(metadata={"description": "HTTP status phrase"})
    message = ma.fields.String(metadata={"description": "Chinese by default; English with Accept-Language: en"})
    rule = ma.fields.String(metadata={"description": "the business rule that refused the request"})
    basis = ma.fields.String(metadata={"description": "its legal basis, e.g. 农村土地承包法 第三十四条"})
    errors = ma.fields.Raw(metadata={"description": "field errors"})
    details = ma.fields.Dict(metadata={"description": "facts of the refusal, e.g. overlapped parcels"})


class Api(_Api):
    """flask-smorest's Api with sanquan's error shape and Chinese messages."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return http_error_response(error)

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_numeric_bounds)


def _numeric_bounds(converter, field, ret, **kwargs) -> dict:
    """Write a Decimal field's range as JSON numbers (OpenAPI ``minimum``/``maximum`` are numbers)."""
    return {key: float(ret[key]) for key in ("minimum", "maximum")
            if isinstance(ret.get(key), (Decimal, str)) and isinstance(field, ma.fields.Number)}


class Schema(ma.Schema):
    """Base of every request and response schema: unknown fields are refused."""

    class Meta:
        unknown = ma.RAISE


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class Text(ma.fields.String):
    """Free text from people: trimmed, never blank, no control characters or lone surrogates."""

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(validate=ma.validate.Length(min=1, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if _UNPRINTABLE.search(text):
            raise ma.ValidationError("contains control characters or invalid Unicode")
        return text


class StrictBoolean(ma.fields.Boolean):
    """JSON true/false only; "yes", "1" or "on" are not booleans."""

    truthy = {True}
    falsy = {False}


#: Control characters: C0, DEL and C1. None belongs in a path, a query, a form field or a file name.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: What a JSON string may not hold: NUL and the C0 controls but tab, LF and CR; DEL; lone surrogates
#: (PostgreSQL stores none of them, and no registry text needs them).
JSON_STRING_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
#: What a form field's value may not hold: the same, and C1 too. A textarea's lines (LF, CRLF) and tabs are
#: text, as in a JSON string.
FORM_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class IdConverter(IntegerConverter):
    """Flask's ``<int:…>`` bounded to a database id: 1–10 ASCII digits up to :data:`MAX_ID`.

    Registered as the app's ``int`` converter, so every integer path segment is bounded to its
    column (PostgreSQL ``integer``) and anything else is a 404, never an overflow in the query.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class IdCursor(ma.fields.Field[ids.RowKey]):
    """A keyset cursor that is a registry id (:mod:`app.ids`), loaded as its :class:`~app.ids.RowKey`."""

    default_error_messages = {"invalid": "an id from next_cursor"}

    def __init__(self, **kwargs):
        kwargs.setdefault("load_default", None)
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("description", "`next_cursor` of the previous page.")
        # ``$`` rather than ``\Z``: OpenAPI patterns are ECMA-262
        metadata.update({"type": "string", "pattern": f"^{ids.PATTERN}$"})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> ids.RowKey:
        key = ids.parse(value) if isinstance(value, str) else None
        if key is None:
            raise self.make_error("invalid")
        return key


#: The registry's plausible dates: nothing it records happened before the People's Republic was founded
#: (land reform, collectives, contracts and hukou all came later), and nothing is dated past 2199.
EARLIEST_DATE = dt.date(1949, 10, 1)
LATEST_DATE = dt.date(2199, 12, 31)


class Date(ma.fields.Date):
    """A calendar date ``YYYY-MM-DD`` inside the registry's plausible range (:data:`EARLIEST_DATE` –
    :data:`LATEST_DATE`); every date a client sends is one of these."""

    def _deserialize(self, value, attr, data, **kwargs) -> dt.date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ma.ValidationError(f"a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}")
        return day


_MONEY = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")


class Money(ma.fields.Field):
    """Yuan as an ASCII decimal string (``"12000.00"``): 1–12 digits, at most two decimals.

    Numbers are refused (money is never a float), and so are full-width or other non-ASCII
    digits, signs, exponents and spaces. ``positive`` refuses zero too.
    """

    def __init__(self, *, positive: bool = False, **kwargs):
        self.positive = positive
        kwargs.setdefault("metadata", {}).update(
            type="string", pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", example="12000.00")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if not isinstance(value, str) or not _MONEY.fullmatch(value):
            raise ma.ValidationError('yuan as a decimal string of ASCII digits, at most two decimals, e.g. "12000.00"')
        amount = Decimal(value)
        if self.positive and amount <= 0:
            raise ma.ValidationError("must be above zero")
        return amount

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class JSONText(ma.fields.String):
    """A form field that carries JSON text, held to a JSON body's guards: at most ``max_length``
    characters, decoded by :func:`loads_strict` (no NaN or Infinity; nesting too deep is a 422)."""

    def __init__(self, *, max_length: int = 65536, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.max_length:
            raise ma.ValidationError(f"at most {self.max_length} characters")
        try:
            return loads_strict(text)
        except InvalidJSON as e:
            raise ma.ValidationError(e.description) from None


class PageArgsSchema(Schema):
    """Keyset pagination: ``?limit=`` (1–1000, default 50) and ``?cursor=``."""

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=1000),
                              metadata={"description": "Page size (max 1000)."})
    #: a page's position; subclasses narrow it (an id, a code)
    cursor: ma.fields.Field = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64),
                                               metadata={"description": "`next_cursor` of the previous page."})


class GeoJSONGeometry(ma.fields.Dict):
    """A GeoJSON Polygon/MultiPolygon object; ``gis.geojson`` does the real checks."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "GeoJSON Polygon or MultiPolygon (EPSG:4490 lon/lat unless `crs` says otherwise)")
        super().__init__(**kwargs)


def settings():
    return current_app.extensions["sanquan"].settings


def lean_response(schema: ma.Schema, view: dict, status: int = 200) -> Response:
    """``view`` as the JSON its response ``schema`` would dump, written by orjson without the schema: for the
    hottest reads, whose views already hold exactly the schema's fields (dates, aware times, strings,
    numbers). The route keeps ``@blp.response(status, Schema)``, so the OpenAPI description is the same.

    Under ``TESTING`` every such answer is compared with the schema's own dump, so the suite holds each
    lean route to its schema on both engines.
    """
    body = orjson.dumps(view, option=orjson.OPT_NAIVE_UTC)
    if current_app.testing:
        dumped = json.loads(current_app.json.dumps(schema.dump(view)))
        if orjson.loads(body) != dumped:
            raise AssertionError(f"lean response differs from {type(schema).__name__}: {body!r} != {dumped!r}")
    return current_app.response_class(body, status=status, mimetype="application/json")


def unit_of_work(*, write: bool = True) -> UnitOfWork:
    """A new unit of work on the app's database."""
    return UnitOfWork(current_app.extensions["sanquan"].session_factory, write=write)


class _StrictParser(FlaskParser):
    """webargs' Flask parser with a JSON decoder that cannot be pushed into a 500.

    Plain ``json.loads`` accepts ``NaN``/``Infinity`` and raises RecursionError
    on deeply nested input; both become a 422 here.
    """

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        # Flask's cached decoding (the app's JSON provider is loads_strict): a body the edge guard
        # already decoded is not decoded twice.
        return req.get_json(force=True)


def _merged(schemas: list) -> type[Schema]:
    """One schema with the fields of ``schemas`` (form fields and files of one upload)."""
    instances = [schema() if isinstance(schema, type) else schema for schema in schemas]
    fields = {name: copy.copy(field) for inst in instances for name, field in inst.declared_fields.items()}
    name = "".join(type(inst).__name__.removesuffix("Schema") for inst in instances) + "Schema"
    return type(name, (Schema,), fields)


#: Locations whose arguments travel in a request body.
_BODY_LOCATIONS = ("form", "files")


class Blueprint(_Blueprint):
    ARGUMENTS_PARSER = _StrictParser()

    def _prepare_arguments_doc(self, doc, doc_info, *, api, spec, **kwargs):
        """Document form fields and files of one multipart upload as one OpenAPI 3 request body.

        flask-smorest turns only the first body location into ``requestBody`` and leaves
        the other as an OpenAPI 2 ``formData`` parameter; a multipart upload carries both.
        """
        operation = doc_info.get("arguments")
        if operation and spec.openapi_version.major >= 3:
            body = [p for p in operation["parameters"]
                    if isinstance(p, abc.Mapping) and p.get("in") in _BODY_LOCATIONS]
            if len(body) > 1:
                for param in body:
                    operation["parameters"].remove(param)
                operation["parameters"].insert(0, {
                    "in": "files", "required": any(p.get("required", False) for p in body),
                    "content_type": "multipart/form-data", "schema": _merged([p["schema"] for p in body]),
                })
        return super()._prepare_arguments_doc(doc, doc_info, api=api, spec=spec, **kwargs)
