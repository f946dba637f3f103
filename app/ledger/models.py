from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class LedgerEntry(Base):
    """One entry of a county's append-only log (docs/architecture.md, Transactions and the ledger).

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
    subjects: Mapped[list[str]] = mapped_column(JSON)
    #: RFC 8785 canonical JSON; the only copy that the hashes cover.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))


class LedgerHead(Base):
    """The tip of a county's log; its row lock serialises appends per county.

    ``frontier`` holds the Merkle tree's compact range: the hashes of the perfect
    subtrees for the set bits of ``size``, largest first, as concatenated hex, so an
    append computes the new root and the nodes it completes without reading any.
    """

    __tablename__ = "ledger_heads"

    log: Mapped[str] = mapped_column(String(6), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[str] = mapped_column(Text, default="")
    #: size and time of the newest signed checkpoint (0 / None before the first).
    checkpoint_size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    checkpoint_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LedgerNode(Base):
    """A perfect subtree of a county's Merkle tree: leaves ``[index·2^level, (index+1)·2^level)``.

    Level 0 is the entries' ``leaf_hash`` and is not stored again; levels ≥ 1 are
    written as appends complete them, so a proof reads O(log n) of them.
    Append-only like the entries.
    """

    __tablename__ = "ledger_nodes"

    log: Mapped[str] = mapped_column(String(6), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    index: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))


class LedgerSubject(Base):
    """Which entries touch a subject (a household code, right id, parcel code, ``transfer:<id>`` …).

    Written with each entry; it answers histories from the log. Verification checks it
    against the entries' own subjects.
    """

    __tablename__ = "ledger_subjects"
    __table_args__ = (Index("ix_ledger_subjects_log_seq", "log", "seq"),)

    log: Mapped[str] = mapped_column(String(6), primary_key=True)
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)


class LedgerCheckpoint(Base):
    """A signed statement of a log's size and Merkle root (C2SP tlog-checkpoint in a signed note)."""

    __tablename__ = "ledger_checkpoints"

    log: Mapped[str] = mapped_column(String(6), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    root: Mapped[str] = mapped_column(String(64))  #: hex
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    key_name: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(8))  #: hex, the signed-note key ID
    signature: Mapped[str] = mapped_column(String(128))  #: hex Ed25519 signature over the note text
    note: Mapped[str] = mapped_column(Text)  #: the whole signed note
