"""``Idempotency-Key`` on every POST (docs/architecture.md, The HTTP contract).

The first response to a key is stored; a retry with the same key and the same
request gets that response again and changes nothing; the same key with a
different request is 422 IDEMPOTENCY_KEY_REUSED.

The key is claimed in the request's own write transaction: the first unit of
work the request commits adds the key's row (:data:`app.db.commit_hook`), so
the claim and the write commit together or not at all. A request that dies
before its commit (an error, a worker killed on a timeout, a crash) leaves no
claim, and its retry runs as if it were the first. Two concurrent requests
with one key cannot both write: the second one's claim collides with the
first's on the primary key, its whole transaction rolls back, and it is
answered 409 IDEMPOTENCY_KEY_IN_USE. The response is stored in a transaction
of its own once it is known; a claim without a response (the request wrote,
then died before answering) stays IN_USE, since its write must not run twice.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import Flask, Response, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import IdempotencyRecord
from app.db import commit_hook
from app.errors import DomainError, RuleViolation
from app.extensions import unit_of_work

HEADER = "Idempotency-Key"
# Answers that depend on who asks or on a passing state, not on the request: never replayed.
_NOT_STORED = {401, 403, 409, 413, 429}


@dataclass
class _Claim:
    """The key a request carries, joined to the first write transaction the request commits."""

    user_id: int
    key: str
    request_sha256: str
    held: bool = False

    def join(self, session: Session) -> None:
        if self.held:
            return
        session.flush()  # the request's own changes first: their integrity errors are theirs
        session.add(IdempotencyRecord(user_id=self.user_id, key=self.key, request_sha256=self.request_sha256))
        try:
            session.flush()
        except IntegrityError:
            raise RuleViolation("IDEMPOTENCY_KEY_IN_USE") from None

    def committed(self) -> None:
        self.held = True


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
    if not (key.isascii() and key.isprintable()):  # stored as text: PostgreSQL refuses NUL, and a key is a token
        raise DomainError("Idempotency-Key 只能由可打印的 ASCII 字符组成", "Idempotency-Key must be printable ASCII",
                          status=422, errors={"Idempotency-Key": ["control or non-ASCII characters"]})
    digest = _request_digest()
    user_id = g.principal.id
    with unit_of_work(write=False) as uow:
        record = uow.session.get(IdempotencyRecord, (user_id, key))
        if record is None:
            g.idempotency_claim = claim = _Claim(user_id, key, digest)
            g.idempotency_token = commit_hook.set(claim)
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


def _release() -> _Claim | None:
    """Stop joining the request's claim to this thread's transactions (after the response, or when the
    request died) and hand it back."""
    token = g.pop("idempotency_token", None)
    if token is not None:
        commit_hook.reset(token)
    return g.pop("idempotency_claim", None)


def _after(response: Response) -> Response:
    claim = _release()
    if claim is None:
        return response
    if response.status_code >= 500 or response.status_code in _NOT_STORED:
        return response  # not replayed; a claim the request's write holds stays, so that write never runs twice
    with unit_of_work() as uow:
        record = uow.session.scalar(select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == claim.user_id, IdempotencyRecord.key == claim.key))
        if record is None:  # the request wrote nothing (a refusal): its answer is the key's record now
            record = IdempotencyRecord(user_id=claim.user_id, key=claim.key, request_sha256=claim.request_sha256)
            uow.session.add(record)
        elif not claim.held:
            return response  # another request with this key wrote meanwhile: its record stands
        record.status_code = response.status_code
        record.response_body = response.get_data()
        record.content_type = response.content_type
        record.location = response.headers.get("Location")
        try:
            uow.commit()
        except IntegrityError:
            pass  # another request with this key claimed it meanwhile
    return response


def _teardown(_exc: BaseException | None = None) -> None:
    """Release the claim however the request ended (a teardown function returns nothing)."""
    _release()


def init_app(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)
