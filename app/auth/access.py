"""Authentication of every request and the principal it yields."""
from __future__ import annotations

import time

from flask import Flask, current_app, g, request

from app.auth.services import Principal, authenticate, token_digest
from app.errors import Unauthorized
from app.extensions import unit_of_work

#: Paths open without a token (docs/architecture.md, The HTTP contract).
PUBLIC_PATHS = ("/api/v1/health", "/api/v1/openapi.json")
#: The web console signs its visitors in with a session of its own (app.auth.sessions).
PUBLIC_PREFIXES = ("/api/v1/docs", "/console")
#: Seconds a worker remembers whom a token belongs to; saves a database round
#: trip per request. Users are never changed in place, only created.
TOKEN_CACHE_SECONDS = 30.0
_TOKEN_CACHE_SIZE = 10_000


def current_principal() -> Principal:
    return g.principal


def _authenticate_request():
    if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise Unauthorized("缺少访问令牌：请在请求头中提供 Authorization: Bearer <令牌>",
                           "Missing token: send Authorization: Bearer <token>")
    principal = _cached_principal(token)
    if principal is None:
        raise Unauthorized("访问令牌无效", "Invalid token")
    g.principal = principal
    return None


def _cached_principal(token: str) -> Principal | None:
    cache = current_app.extensions["sanquan"].token_cache
    key, now = token_digest(token), time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    principal = authenticate(unit_of_work(write=False), token)
    if principal is not None:
        if len(cache) >= _TOKEN_CACHE_SIZE:
            cache.clear()
        cache[key] = (principal, now + TOKEN_CACHE_SECONDS)
    return principal


def init_app(app: Flask) -> None:
    app.extensions["sanquan"].token_cache = {}
    app.before_request(_authenticate_request)
