from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class LedgerEntry(Base):
    """One entry of a county's append-only log (DESIGN.md, The ledger).

    ``leaf_hash = SHA-256(0x00 ‖ seq (8 bytes, big-endian) ‖ prev_hash ‖ body_sha256)``
    so the leaves feed an RFC 6962 Merkle tree unchanged. Update and delete
    are refused by a trigger on both engines.
    """

    __tablename__ = "ledger_entries"

    log: Mapped[str] = mapped_column(String(6), primary_key=True)  #: county code
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(50))
    subjects: Mapped[list] = mapped_column(JSON)
    #: RFC 8785 canonical JSON; the only copy that the hashes cover.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))


class LedgerHead(Base):
    """The tip of a county's log; its row lock serialises appends per county."""

    __tablename__ = "ledger_heads"

    log: Mapped[str] = mapped_column(String(6), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
