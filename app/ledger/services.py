"""Appending to and reading a county's ledger."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.db import UnitOfWork, bulk_insert, utcnow
from app.errors import Forbidden, NotFound
from app.ledger import jcs
from app.ledger.models import LedgerEntry, LedgerHead

GENESIS_HASH = "0" * 64
BODY_VERSION = 1
#: Roles that read the ledger: its bodies hold unmasked personal data.
LEDGER_READERS = frozenset({"admin", "clerk", "auditor"})


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 (JCS) serialisation: the bytes every hash covers."""
    return jcs.dumps(obj)


def leaf_hash(seq: int, prev_hash: str, body_sha256: str) -> str:
    """``SHA-256(0x00 ‖ seq ‖ prev_hash ‖ body_sha256)``, hex (DESIGN.md, The ledger)."""
    return hashlib.sha256(
        b"\x00" + seq.to_bytes(8, "big") + bytes.fromhex(prev_hash) + bytes.fromhex(body_sha256)
    ).hexdigest()


def lock_log(session: Session, county: str) -> LedgerHead:
    """Lock a county's log head until the transaction ends and return it.

    PostgreSQL: the row lock serialises appends (and anything else that takes
    it first) within one county and leaves other counties free. SQLite:
    BEGIN IMMEDIATE already serialises every writer.
    """
    head = session.execute(
        select(LedgerHead).where(LedgerHead.log == county).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        session.execute(upsert(LedgerHead).values(log=county, size=0, head_hash=GENESIS_HASH)
                        .on_conflict_do_nothing())
        head = session.execute(
            select(LedgerHead).where(LedgerHead.log == county).with_for_update()
        ).scalar_one()
    return head


def _row(seq: int, prev: str, *, county: str, kind: str, actor: Principal, subjects: Sequence[str],
         data: dict, at: dt.datetime) -> dict:
    body = canonical_json({
        "v": BODY_VERSION, "log": county, "seq": seq, "kind": kind,
        "at": at.isoformat(timespec="microseconds"), "actor": actor.as_ledger_actor(),
        "subjects": list(subjects), "data": data,
    })
    body_sha = hashlib.sha256(body).hexdigest()
    return {"log": county, "seq": seq, "recorded_at": at, "actor": actor.name, "kind": kind,
            "subjects": list(subjects), "body": body, "body_sha256": body_sha,
            "prev_hash": prev, "leaf_hash": leaf_hash(seq, prev, body_sha)}


def append(session: Session, *, county: str, kind: str, actor: Principal,
           subjects: Sequence[str], data: dict, head: LedgerHead | None = None) -> int:
    """Append one entry inside the caller's transaction and return its ``seq``.

    Args:
        session: the unit of work's session; the entry commits or rolls back with the change.
        county: the 6-digit county code naming the log.
        kind: what happened, ``<entity>.<verb>`` (``parcel.registered``).
        actor: who did it.
        subjects: the codes the change touches.
        data: JSON-ready facts of the change (strings, numbers, booleans, lists, dicts).
        head: the log's head when the caller has locked it already (:func:`lock_log`), saving a round trip.
    """
    return append_many(session, county=county, actor=actor, items=[(kind, subjects, data)], head=head)[0]


def append_many(session: Session, *, county: str, actor: Principal,
                items: Iterable[tuple[str, Sequence[str], dict]], head: LedgerHead | None = None) -> list[int]:
    """Append many entries to one log with one bulk insert (COPY on PostgreSQL).

    Returns:
        The ``seq`` of each entry, in order.
    """
    if head is None or head.log != county:
        head = lock_log(session, county)
    at = utcnow()
    rows, seq, prev = [], head.size, head.head_hash
    for kind, subjects, data in items:
        seq += 1
        row = _row(seq, prev, county=county, kind=kind, actor=actor, subjects=subjects, data=data, at=at)
        rows.append(row)
        prev = row["leaf_hash"]
    if rows:
        bulk_insert(session, LedgerEntry, rows)
        head.size, head.head_hash = seq, prev
        session.flush()
    return [r["seq"] for r in rows]


def list_entries(uow: UnitOfWork, *, actor: Principal, county: str, after: int, limit: int) -> dict:
    """A page of a county's log, oldest first.

    Raises:
        Forbidden: the role may not read ledgers.
        NotFound: the county is not wholly inside the actor's scope, or has no log.
    """
    if actor.role not in LEDGER_READERS:
        raise Forbidden("您的角色无权查看台账", "Your role may not read the ledger")
    if not (county.isdigit() and len(county) == 6 and actor.sees(county) and len(actor.scope) <= 6):
        raise NotFound("台账", "Ledger", county)
    with uow:
        head = uow.session.get(LedgerHead, county)
        if head is None:
            raise NotFound("台账", "Ledger", county)
        rows = uow.session.scalars(
            select(LedgerEntry).where(LedgerEntry.log == county, LedgerEntry.seq > after)
            .order_by(LedgerEntry.seq).limit(limit)
        ).all()
        entries = [{
            "seq": r.seq, "recorded_at": r.recorded_at, "actor": r.actor, "kind": r.kind,
            "subjects": r.subjects, "body": json.loads(r.body), "body_sha256": r.body_sha256,
            "prev_hash": r.prev_hash, "leaf_hash": r.leaf_hash,
        } for r in rows]
    next_after = entries[-1]["seq"] if entries and entries[-1]["seq"] < head.size else None
    return {"log": county, "size": head.size, "head_hash": head.head_hash,
            "items": entries, "next_after": next_after}


def _chain_problem(r: LedgerEntry, expected_seq: int, prev: str) -> str | None:
    if r.seq != expected_seq:
        return f"expected seq {expected_seq}, found {r.seq}"
    if hashlib.sha256(r.body).hexdigest() != r.body_sha256:
        return "body does not match body_sha256"
    if r.prev_hash != prev:
        return "prev_hash does not match the previous leaf"
    if leaf_hash(r.seq, r.prev_hash, r.body_sha256) != r.leaf_hash:
        return "leaf_hash does not match"
    if json.loads(r.body).get("seq") != r.seq:
        return "body seq differs from row seq"
    return None


def verify_chain(uow: UnitOfWork, county: str) -> dict:
    """Recompute every body hash, chain link and leaf hash of a county's log.

    Returns:
        ``{"ok": bool, "size": n, "first_bad_seq": seq | None, "problem": str | None}``.
    """
    with uow:
        head = uow.session.get(LedgerHead, county)
        prev, expected_seq = GENESIS_HASH, 1
        rows = uow.session.execute(
            select(LedgerEntry).where(LedgerEntry.log == county).order_by(LedgerEntry.seq)
            .execution_options(yield_per=2000)).scalars()
        with rows:
            for r in rows:
                problem = _chain_problem(r, expected_seq, prev)
                if problem:
                    return {"ok": False, "size": expected_seq - 1, "first_bad_seq": r.seq, "problem": problem}
                prev, expected_seq = r.leaf_hash, expected_seq + 1
        size = expected_seq - 1
        if head is not None and (head.size != size or head.head_hash != prev):
            return {"ok": False, "size": size, "first_bad_seq": size + 1 if head.size > size else size,
                    "problem": "log head does not match the entries (truncated or extended)"}
    return {"ok": True, "size": size, "first_bad_seq": None, "problem": None}
