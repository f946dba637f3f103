from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

ROLES = ("admin", "clerk", "exchange", "arbitrator", "auditor")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    #: administrative-division code prefix; "" sees the whole country.
    scope: Mapped[str] = mapped_column(String(14), default="")
    #: SHA-256 of the bearer token; the token itself is never stored.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        CheckConstraint("role IN ('admin','clerk','exchange','arbitrator','auditor')", name="role"),
    )


class IdempotencyRecord(Base):
    """The first response to an ``Idempotency-Key``, replayed for retries."""

    __tablename__ = "idempotency_records"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    #: None from the claim, committed with the request's write, until its response is stored (app.idempotency).
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleSession(Base):
    """A signed-in browser of the web console: the cookie carries a random id, the database its hash.

    Ends on sign-out, after ``SANQUAN_CONSOLE_IDLE_MINUTES`` without a request, or when its user's token is
    replaced; every form it posts carries ``csrf_token``.
    """

    __tablename__ = "console_sessions"

    #: SHA-256 of the session id in the cookie; the id itself is never stored.
    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
