"""Authentication of every request and the principal it yields."""
from __future__ import annotations

from flask import Flask, g, request

from app.auth.services import Principal, authenticate
from app.errors import Unauthorized
from app.extensions import unit_of_work

#: Paths open without a token (API.md, Conventions).
PUBLIC_PATHS = ("/api/v1/health", "/api/v1/openapi.json")
PUBLIC_PREFIXES = ("/api/v1/docs",)


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
    principal = authenticate(unit_of_work(write=False), token)
    if principal is None:
        raise Unauthorized("访问令牌无效", "Invalid token")
    g.principal = principal
    return None


def init_app(app: Flask) -> None:
    app.before_request(_authenticate_request)
