"""``Idempotency-Key`` on every POST (API.md, Conventions).

The first response to a key is stored; a retry with the same key and the same
request gets that response again and changes nothing; the same key with a
different request is 422 IDEMPOTENCY_KEY_REUSED. A placeholder row is written
before the request runs, so two concurrent requests with one key cannot both
run (the second gets 409 IDEMPOTENCY_KEY_IN_USE).
"""
from __future__ import annotations

import hashlib

from flask import Flask, Response, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import IdempotencyRecord
from app.errors import DomainError, RuleViolation
from app.extensions import unit_of_work

HEADER = "Idempotency-Key"
# Answers that depend on who asks or on a passing state, not on the request: never replayed.
_NOT_STORED = {401, 403, 409, 413, 429}


def _request_digest() -> str:
    h = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode(),
                 request.content_type or ""):
        h.update(part.encode() + b"\0")
    h.update(request.get_data(cache=True))
    return h.hexdigest()


def _before():
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or "principal" not in g:
        return None
    if not key or len(key) > 255:
        raise DomainError("Idempotency-Key 须为 1–255 个字符", "Idempotency-Key must be 1–255 characters",
                          status=422, errors={"Idempotency-Key": ["invalid length"]})
    digest = _request_digest()
    user_id = g.principal.id
    with unit_of_work() as uow:
        record = uow.session.get(IdempotencyRecord, (user_id, key))
        if record is None:
            uow.session.add(IdempotencyRecord(user_id=user_id, key=key, request_sha256=digest))
            try:
                uow.commit()
            except IntegrityError:
                raise RuleViolation("IDEMPOTENCY_KEY_IN_USE") from None
            g.idempotency_key = key
            return None
        if record.request_sha256 != digest:
            raise RuleViolation("IDEMPOTENCY_KEY_REUSED")
        if record.status_code is None:
            raise RuleViolation("IDEMPOTENCY_KEY_IN_USE")
        resp = Response(record.response_body, status=record.status_code, content_type=record.content_type)
        if record.location:
            resp.headers["Location"] = record.location
        resp.headers["Idempotent-Replayed"] = "true"
        return resp


def _after(response: Response) -> Response:
    key = g.pop("idempotency_key", None)
    if key is None:
        return response
    user_id = g.principal.id
    with unit_of_work() as uow:
        if response.status_code >= 500 or response.status_code in _NOT_STORED:
            uow.session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
        else:
            record = uow.session.scalar(select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
            record.status_code = response.status_code
            record.response_body = response.get_data()
            record.content_type = response.content_type
            record.location = response.headers.get("Location")
        uow.commit()
    return response


def init_app(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
