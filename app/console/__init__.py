"""The web console (``/console/``): the registry as clerks, the exchange desk, arbitrators and auditors use it.

Server-rendered pages (Jinja) that call the same services as the API, with the same roles and scope. A
visitor signs in with their API token; the console keeps a server-side session (``app.auth.sessions``) in an
HttpOnly, SameSite=Strict cookie, and every form it posts carries the session's CSRF token. Nothing is
loaded from another host: the map library is vendored under ``static/vendor`` (its README names version
and licence), and the Content-Security-Policy allows this host only (and a basemap's tile host when one is
configured).
"""
from app.console import audit, committee, desk, imports  # noqa: F401  (their pages register on the blueprint)
from app.console.views import bp

__all__ = ["bp"]
