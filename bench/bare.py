"""The bare ceiling: a WSGI app that answers every request with the same constant JSON, with no framework.

``python -m bench.ratio`` serves it with the registry's own gunicorn settings: what that server and client
reach with no work at all is the limit the registry's request rates are read against.
"""
from __future__ import annotations

_BODY = b'{"status":"ok"}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]


def app(environ, start_response):
    start_response("200 OK", _HEADERS)
    return [_BODY]
