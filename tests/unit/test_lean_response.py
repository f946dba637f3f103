"""The lean JSON path of the hottest reads answers exactly what the response schema would dump, and under
TESTING it refuses to answer anything else."""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
import orjson
import pytest
from flask import Flask

from app.extensions import StrictJSONProvider, lean_response


class _Schema(ma.Schema):
    code = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    born = ma.fields.Date()
    area = ma.fields.Float()
    members = ma.fields.List(ma.fields.Dict())


def _app(testing: bool) -> Flask:
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)
    app.testing = testing
    return app


VIEW = {"code": "210681101001010001", "created_at": dt.datetime(2026, 12, 6, 8, 30, 1, 250, tzinfo=dt.UTC),
        "born": dt.date(1975, 7, 2), "area": 2345.67, "members": [{"name": "王文革"}]}


def test_the_lean_answer_is_the_schemas_dump_in_utf8():
    with _app(testing=True).app_context():
        r = lean_response(_Schema(), VIEW)
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert orjson.loads(r.data) == {"code": "210681101001010001", "created_at": "2026-12-06T08:30:01.000250+00:00",
                                    "born": "1975-07-02", "area": 2345.67, "members": [{"name": "王文革"}]}
    assert "王文革".encode() in r.data


def test_under_testing_a_view_the_schema_would_shape_differently_is_refused():
    with _app(testing=True).app_context(), pytest.raises(AssertionError, match="differs from _Schema"):
        lean_response(_Schema(), VIEW | {"extra": 1})  # a field the schema does not have
    with _app(testing=False).app_context():
        assert orjson.loads(lean_response(_Schema(), VIEW | {"extra": 1}).data)["extra"] == 1
