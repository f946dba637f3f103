"""The web console's server-side sessions: signing in with a token, the session a cookie names, sign-out.

The cookie carries a random 256-bit id; the database keeps its SHA-256, the user and a CSRF token. A session
ends on sign-out or after ``idle`` without a request, and is never extended past it: a request after the
idle time finds no session.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from app.auth.models import ConsoleSession, User
from app.auth.services import Principal, token_digest
from app.db import UnitOfWork, utcnow

#: A session's last-seen time is written at most this often, not on every request.
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class ConsoleUser:
    """Who a console session belongs to, and the token its forms must carry."""

    principal: Principal
    csrf_token: str


def sign_in(uow: UnitOfWork, token: str) -> tuple[str, ConsoleUser] | None:
    """Open a session for the user whose API token this is: (the cookie's session id, the user), or None."""
    if not token or len(token) > 200:
        return None
    with uow:
        s = uow.session
        user = s.scalar(select(User).where(User.token_sha256 == token_digest(token)))
        if user is None:
            return None
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        s.add(ConsoleSession(id_sha256=token_digest(session_id), user_id=user.id, csrf_token=csrf))
        principal = Principal(user.id, user.name, user.role, user.scope)
        uow.commit()
    return session_id, ConsoleUser(principal, csrf)


def session_user(uow: UnitOfWork, session_id: str, idle: dt.timedelta) -> tuple[ConsoleUser, bool] | None:
    """The user of a live session and whether its last-seen time is due to move (:func:`touch`), or None
    when there is none, it ended, or it was idle longer than ``idle``. Reads only."""
    if not session_id or len(session_id) > 100:
        return None
    now = utcnow()
    with uow:
        row = uow.session.execute(
            select(ConsoleSession.last_seen_at, ConsoleSession.csrf_token, User.id, User.name, User.role, User.scope)
            .join(User, User.id == ConsoleSession.user_id)
            .where(ConsoleSession.id_sha256 == token_digest(session_id), ConsoleSession.ended_at.is_(None))).first()
    if row is None or now - row.last_seen_at > idle:
        return None
    return ConsoleUser(Principal(row.id, row.name, row.role, row.scope), row.csrf_token), \
        now - row.last_seen_at > TOUCH_EVERY


def touch(uow: UnitOfWork, session_id: str) -> None:
    """Move the session's last-seen time to now: at most once a minute (:data:`TOUCH_EVERY`), so a page of
    requests costs one read each and an occasional write."""
    with uow:
        uow.session.execute(update(ConsoleSession).where(ConsoleSession.id_sha256 == token_digest(session_id))
                            .values(last_seen_at=utcnow()))
        uow.commit()


def sign_out(uow: UnitOfWork, session_id: str) -> None:
    """End the session; its cookie names nothing afterwards."""
    with uow:
        uow.session.execute(update(ConsoleSession).where(ConsoleSession.id_sha256 == token_digest(session_id),
                                                         ConsoleSession.ended_at.is_(None))
                            .values(ended_at=utcnow()))
        uow.commit()
