"""Appending to and reading a county's ledger."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, SessionTransaction

from app.auth.services import Principal
from app.db import COPY_FROM_ROWS, UnitOfWork, bulk_insert, utcnow
from app.errors import DomainError, Forbidden, NotFound
from app.ledger import checkpoint as notes
from app.ledger import jcs, merkle
from app.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerNode, LedgerSubject
from gis.codes import mask_id_number

GENESIS_HASH = "0" * 64
#: A stored hash: SHA-256 in lowercase hex, as every column of the ledger holds it.
_HASH = re.compile(r"[0-9a-f]{64}")
BODY_VERSION = 1
#: Roles that read the ledger. The bodies hold residents' ID numbers: roles that see them masked elsewhere
#: (:attr:`Principal.sees_id_numbers`) get them masked here too (:func:`masked_body`), with every hash as
#: stored, so the tree, the chain and the proofs still check; the bodies' own hashes are checked server-side.
LEDGER_READERS = frozenset({"admin", "clerk", "auditor", "arbitrator"})


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 (JCS) serialisation: the bytes every hash covers."""
    return jcs.dumps(obj)


@dataclass(frozen=True)
class LedgerSigner:
    """The deployment's checkpoint key and when to sign.

    A checkpoint is signed when an append takes a log past a multiple of ``every``
    entries, when the last one is older than ``minutes``, and on demand.
    """

    name: str  #: the signed-note key name, also the origin's prefix
    key: Ed25519PrivateKey
    every: int = 1000
    minutes: float = 60.0

    @classmethod
    def load(cls, path: Path, *, name: str, every: int = 1000, minutes: float = 60.0) -> LedgerSigner:
        """The key in ``path``, generated there on first use (mode 0600)."""
        return cls(name=name, key=notes.load_or_create_key(path), every=every, minutes=minutes)

    @property
    def public_key(self) -> bytes:
        return notes.public_bytes(self.key)

    @property
    def key_id(self) -> str:
        return notes.key_id(self.name, self.public_key).hex()

    @property
    def verifier(self) -> str:
        """``name+keyid+base64key``: what an auditor keeps to check checkpoints offline."""
        return notes.verifier_key(self.name, self.public_key)

    def origin(self, county: str) -> str:
        """The checkpoint origin line naming one county's log."""
        return f"{self.name}/ledger/{county}"


#: ``Session.info`` key under which the app puts its :class:`LedgerSigner`.
SIGNER = "ledger_signer"


def leaf_hash(seq: int, prev_hash: str, body_sha256: str) -> str:
    """``SHA-256(0x00 ‖ seq ‖ prev_hash ‖ body_sha256)``, hex (docs/architecture.md, Transactions and the ledger)."""
    return hashlib.sha256(
        b"\x00" + seq.to_bytes(8, "big") + bytes.fromhex(prev_hash) + bytes.fromhex(body_sha256)
    ).hexdigest()


@dataclass
class Head:
    """A county log's tip, locked for the current transaction (:func:`lock_log`)."""

    log: str
    size: int
    head_hash: str
    frontier: list[bytes]  #: the Merkle compact range, largest subtree first
    checkpoint_size: int
    checkpoint_at: dt.datetime | None


#: ``Session.info`` key: (the transaction, {county: Head}) of the heads it has locked.
_LOCKED = "ledger_locked_heads"
_Locked = tuple[SessionTransaction | None, dict[str, Head]]
#: The head's columns, read by the engine's own SQL: the lock is on every write's path.
_LOCK_HEAD = {
    "postgresql": "SELECT size, head_hash, frontier, checkpoint_size, checkpoint_at FROM ledger_heads "
                  "WHERE log = %(log)s FOR UPDATE",
    "sqlite": "SELECT size, head_hash, frontier, checkpoint_size, checkpoint_at FROM ledger_heads WHERE log = :log",
}


def lock_log(session: Session, county: str) -> Head:
    """Lock a county's log head until the transaction ends and return it.

    PostgreSQL: the row lock serialises appends (and anything else that takes
    it first) within one county and leaves other counties free. SQLite:
    BEGIN IMMEDIATE already serialises every writer. The head is kept for the
    rest of the transaction, so locking again (as :func:`append` does after a
    service has locked) costs no round trip; appends keep it current (a savepoint
    rolled back after an append leaves it ahead of the table: call :func:`forget_heads`).
    """
    locked: _Locked | None = session.info.get(_LOCKED)
    if locked is not None and locked[0] is session.get_transaction() and county in locked[1]:
        return locked[1][county]
    connection = session.connection()
    dialect = connection.dialect
    row = connection.exec_driver_sql(_LOCK_HEAD[dialect.name], {"log": county}).first()
    if row is None:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_upsert
            connection.execute(pg_upsert(LedgerHead).values(log=county, size=0, head_hash=GENESIS_HASH)
                               .on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_upsert
            connection.execute(sqlite_upsert(LedgerHead).values(log=county, size=0, head_hash=GENESIS_HASH)
                               .on_conflict_do_nothing())
        row = connection.exec_driver_sql(_LOCK_HEAD[dialect.name], {"log": county}).one()
    size, head_hash, frontier, checkpoint_size, checkpoint_at = row
    if isinstance(checkpoint_at, str):  # SQLite's text: naive UTC, as UTCDateTime writes it
        checkpoint_at = dt.datetime.fromisoformat(checkpoint_at).replace(tzinfo=dt.UTC)
    head = Head(county, size, head_hash, unpack_frontier(frontier or ""), checkpoint_size or 0, checkpoint_at)
    transaction = session.get_transaction()
    if locked is None or locked[0] is not transaction:
        session.info[_LOCKED] = locked = (transaction, {})
    locked[1][county] = head
    return head


def forget_heads(session: Session) -> None:
    """Drop the heads kept for this transaction, after a savepoint holding appends was rolled back: the
    next append reads the head again (the row lock is still held)."""
    session.info.pop(_LOCKED, None)


def next_seq(session: Session, county: str) -> int:
    """The ``seq`` the next append to ``county``'s log in this transaction will get (the log is locked),
    so a row can be inserted with its ``ledger_seq`` instead of updated after."""
    return lock_log(session, county).size + 1


def _row(seq: int, prev: str, *, county: str, kind: str, actor: Principal, subjects: Sequence[str],
         data: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
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
           subjects: Sequence[str], data: dict[str, Any], head: Head | None = None) -> int:
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
                items: Iterable[tuple[str, Sequence[str], dict[str, Any]]], head: Head | None = None) -> list[int]:
    """Append many entries to one log, with their Merkle nodes, subject index rows and the new head.

    A few entries are written in one round trip on PostgreSQL (one statement) and
    four cheap ones on SQLite; a bulk load goes through :func:`app.db.bulk_insert`
    (COPY on PostgreSQL).

    Returns:
        The ``seq`` of each entry, in order.
    """
    if head is None or head.log != county:
        head = lock_log(session, county)
    entries = prepare_entries(head, session.info.get(SIGNER), actor=actor, items=items)
    if not entries.rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(entries.rows) + len(entries.subjects) < COPY_FROM_ROWS:
        connection.exec_driver_sql(*_pg_append(head, entries))
    else:
        for table, rows in entries.tables():
            bulk_insert(session, table, rows)
        save_head(session, head)
    return [r["seq"] for r in entries.rows]


@dataclass
class Entries:
    """Entries built for a log and not yet inserted: their rows, the Merkle nodes they complete, their subject
    index rows and the checkpoint signed at their end when one was due."""

    rows: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    subjects: list[dict[str, Any]]
    checkpoint: dict[str, Any] | None

    def tables(self) -> list[tuple[type, list[dict[str, Any]]]]:
        """Each table with its rows, in the order they are inserted."""
        return [(LedgerEntry, self.rows), (LedgerNode, self.nodes), (LedgerSubject, self.subjects),
                (LedgerCheckpoint, [self.checkpoint] if self.checkpoint else [])]


def prepare_entries(head: Head, signer: LedgerSigner | None, *, actor: Principal,
                    items: Iterable[tuple[str, Sequence[str], dict[str, Any]]]) -> Entries:
    """Build the entries of ``items`` after ``head`` and move ``head`` past them; nothing touches the database.

    The caller inserts :meth:`Entries.tables` and saves the head (:func:`save_head`) in the transaction that
    holds the log's lock: a bulk writer builds and inserts a county's entries a step at a time, saving the head
    once at the end.
    """
    county = head.log
    at = utcnow()
    rows: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    about: list[dict[str, Any]] = []
    seq, prev, frontier = head.size, head.head_hash, head.frontier
    for kind, subjects, data in items:
        seq += 1
        row = _row(seq, prev, county=county, kind=kind, actor=actor, subjects=subjects, data=data, at=at)
        rows.append(row)
        prev = row["leaf_hash"]
        frontier, done = merkle.frontier_append(frontier, seq - 1, bytes.fromhex(prev))
        nodes += [{"log": county, "level": level, "index": index, "hash": h.hex()} for level, index, h in done]
        about += [{"log": county, "subject": subject, "seq": seq} for subject in dict.fromkeys(subjects)]
    if not rows:
        return Entries([], [], [], None)
    head.size, head.head_hash, head.frontier = seq, prev, frontier
    point = _signed_checkpoint(head, signer, at) if signer is not None and _checkpoint_due(head, signer, at) else None
    return Entries(rows, nodes, about, point)


#: One statement appends a few entries on PostgreSQL: the entries, the nodes they complete, their subject index
#: rows and a checkpoint when one is due go in as rows of VALUES lists, and the head is updated. Each row names its
#: log, so a Citus coordinator sends every part to the log's one shard group, on the transaction's connection to
#: it (rows drawn from a function, such as ``json_to_recordset``, it would first gather on itself and then copy
#: over another connection, committing by two-phase commit).
#: (CTE, table, its columns after ``log``, the casts of the columns that need one)
_APPENDED: tuple[tuple[str, str, tuple[str, ...], dict[str, str]], ...] = (
    ("entries", "ledger_entries",
     ("seq", "recorded_at", "actor", "kind", "subjects", "body", "body_sha256", "prev_hash", "leaf_hash"),
     {"subjects": "::json"}),
    ("nodes", "ledger_nodes", ("level", "index", "hash"), {}),
    ("subjects", "ledger_subjects", ("subject", "seq"), {}),
    ("checkpoints", "ledger_checkpoints", ("size", "root", "signed_at", "key_name", "key_id", "signature", "note"),
     {}),
)


@functools.lru_cache(maxsize=512)
def _pg_append_sql(*counts: int) -> str:
    """The append statement for ``counts`` rows of each of :data:`_APPENDED`'s tables."""
    parts = []
    for (cte, table, columns, casts), n in zip(_APPENDED, counts, strict=True):
        if n:
            rows = ", ".join("(%(log)s, " + ", ".join(f"%({cte}{i}_{c})s{casts.get(c, '')}" for c in columns) + ")"
                             for i in range(n))
            names = ", ".join(f'"{c}"' for c in ("log", *columns))
            parts.append(f"{cte} AS (INSERT INTO {table} ({names}) VALUES {rows})")
    return (f"WITH {', '.join(parts)} " if parts else "") + (
        "UPDATE ledger_heads SET size = %(size)s, head_hash = %(head_hash)s, frontier = %(frontier)s, "
        "checkpoint_size = %(checkpoint_size)s, checkpoint_at = %(checkpoint_at)s WHERE log = %(log)s")


def _pg_append(head: Head, appended: Entries) -> tuple[str, dict[str, Any]]:
    """The statement and parameters that append ``appended`` after ``head`` and save the head."""
    tables = (appended.rows, appended.nodes, appended.subjects, [appended.checkpoint] if appended.checkpoint else [])
    params: dict[str, Any] = {"log": head.log, "size": head.size, "head_hash": head.head_hash,
                              "frontier": pack_frontier(head.frontier), "checkpoint_size": head.checkpoint_size,
                              "checkpoint_at": head.checkpoint_at}
    for (cte, _, columns, _), rows in zip(_APPENDED, tables, strict=True):
        for i, row in enumerate(rows):
            for c in columns:
                value = row[c]
                params[f"{cte}{i}_{c}"] = orjson.dumps(value).decode() if c == "subjects" and cte == "entries" \
                    else value
    return _pg_append_sql(*map(len, tables)), params


_SAVE_HEAD = update(LedgerHead).where(LedgerHead.log == bindparam("head_of"))


def save_head(session: Session, head: Head) -> None:
    """Store ``head`` (its size, hash, frontier and checkpoint) in the log's locked head row."""
    session.connection().execute(_SAVE_HEAD, {
        "head_of": head.log, "size": head.size, "head_hash": head.head_hash, "frontier": pack_frontier(head.frontier),
        "checkpoint_size": head.checkpoint_size, "checkpoint_at": head.checkpoint_at})


def pack_frontier(frontier: Sequence[bytes]) -> str:
    return "".join(h.hex() for h in frontier)


def unpack_frontier(text: str) -> list[bytes]:
    return [bytes.fromhex(text[i:i + 64]) for i in range(0, len(text), 64)]


# --- checkpoints ----------------------------------------------------------------------------

def _checkpoint_due(head: Head, signer: LedgerSigner, at: dt.datetime) -> bool:
    return (head.checkpoint_at is None or head.size // signer.every > head.checkpoint_size // signer.every
            or (at - head.checkpoint_at).total_seconds() >= signer.minutes * 60)


def _signed_checkpoint(head: Head, signer: LedgerSigner, at: dt.datetime) -> dict[str, Any]:
    """A checkpoint of the log at ``head`` as a ``ledger_checkpoints`` row; the head records it."""
    point = notes.Checkpoint(origin=signer.origin(head.log), size=head.size, root=merkle.frontier_root(head.frontier),
                             signed_at=at.replace(microsecond=0))
    note, signature = notes.sign(point, signer.name, signer.key)
    head.checkpoint_size, head.checkpoint_at = head.size, point.signed_at
    return {"log": head.log, "size": head.size, "root": point.root.hex(), "signed_at": point.signed_at,
            "key_name": signer.name, "key_id": signer.key_id, "signature": signature.hex(), "note": note}


def checkpoint_view(row: LedgerCheckpoint, signer: LedgerSigner | None = None) -> dict[str, Any]:
    return {"log": row.log, "size": row.size, "root": row.root, "signed_at": row.signed_at,
            "key_name": row.key_name, "key_id": row.key_id, "signature": row.signature,
            "verifier_key": signer.verifier if signer is not None and signer.key_id == row.key_id else None,
            "note": row.note}


def check_readable_log(actor: Principal, county: str) -> None:
    """Refuse a role that may not read ledgers (403) or a county not wholly in the actor's scope (404)."""
    if actor.role not in LEDGER_READERS:
        raise Forbidden("您的角色无权查看台账", "Your role may not read the ledger")
    if not (county.isdigit() and len(county) == 6 and actor.sees(county) and len(actor.scope) <= 6):
        raise NotFound("台账", "Ledger", county)


def stored_head(s: Session, county: str) -> LedgerHead:
    """The county's log head as stored; 404 when the county has no log."""
    head = s.get(LedgerHead, county)
    if head is None:
        raise NotFound("台账", "Ledger", county)
    return head


def sign_checkpoint(uow: UnitOfWork, *, actor: Principal, county: str) -> dict[str, Any]:
    """Sign a checkpoint of the log as it stands now (or return the one already signed at this size).

    Raises:
        Forbidden: only an admin or an auditor asks for one.
        NotFound: no such log in the actor's scope.
        DomainError: 503 when this deployment has no signing key configured.
    """
    if actor.role not in ("admin", "auditor"):
        raise Forbidden("只有管理员和审计员可以要求签署检查点", "Only an admin or an auditor may ask for a checkpoint")
    check_readable_log(actor, county)
    with uow:
        s = uow.session
        signer: LedgerSigner | None = s.info.get(SIGNER)
        if signer is None:
            raise DomainError("本系统未配置台账签名密钥", "no ledger signing key is configured", status=503)
        stored_head(s, county)  # no log, no checkpoint: 404 rather than an empty log made here
        head = lock_log(s, county)
        if head.size == 0:
            raise NotFound("台账", "Ledger", county)
        row = s.get(LedgerCheckpoint, (county, head.size))
        if row is None:
            row = LedgerCheckpoint(**_signed_checkpoint(head, signer, utcnow()))
            s.add(row)
            save_head(s, head)
        view = checkpoint_view(row, signer)
        uow.commit()
    return view


def get_checkpoint(uow: UnitOfWork, *, actor: Principal, county: str,
                   size: int | None = None) -> dict[str, Any]:
    """The newest signed checkpoint of a log (or the one at ``size``)."""
    check_readable_log(actor, county)
    with uow:
        s = uow.session
        q = select(LedgerCheckpoint).where(LedgerCheckpoint.log == county)
        q = q.where(LedgerCheckpoint.size == size) if size is not None else q.order_by(LedgerCheckpoint.size.desc())
        row = s.scalars(q.limit(1)).first()
        if row is None:
            raise NotFound("检查点", "Checkpoint", county if size is None else f"{county}@{size}")
        return checkpoint_view(row, s.info.get(SIGNER))


# --- proofs ---------------------------------------------------------------------------------

def subject_history(s: Session, county: str, subjects: Sequence[str], *, after: int = 0,
                    limit: int = 50) -> dict[str, Any]:
    """The entries that touch any of ``subjects``, oldest first, each with its leaf hash and inclusion-proof link."""
    touching = (select(LedgerSubject.seq).where(LedgerSubject.log == county, LedgerSubject.subject.in_(subjects),
                                                 LedgerSubject.seq > after)
                .distinct().order_by(LedgerSubject.seq).limit(limit + 1).subquery())
    rows = s.execute(select(LedgerEntry.seq, LedgerEntry.recorded_at, LedgerEntry.actor, LedgerEntry.kind,
                            LedgerEntry.subjects, LedgerEntry.leaf_hash)
                     .where(LedgerEntry.log == county, LedgerEntry.seq.in_(select(touching.c.seq)))
                     .order_by(LedgerEntry.seq)).all()
    items = [{"seq": r.seq, "recorded_at": r.recorded_at, "actor": r.actor, "kind": r.kind, "subjects": r.subjects,
              "leaf_hash": r.leaf_hash, "inclusion_proof": f"/api/v1/ledger/{county}/proof/inclusion?seq={r.seq}"}
             for r in rows[:limit]]
    return {"items": items, "next_after": items[-1]["seq"] if len(rows) > limit else None}


def entry_links(s: Session, county: str, seqs: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    """For each seq: its leaf hash and where to get its inclusion proof (``GET …/proof/inclusion``)."""
    wanted = {q for q in seqs if q}
    rows = s.execute(select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.leaf_hash).where(
        LedgerEntry.log == county, LedgerEntry.seq.in_(wanted))).all() if wanted else []
    return {q: {"seq": q, "kind": kind, "leaf_hash": leaf,
                "inclusion_proof": f"/api/v1/ledger/{county}/proof/inclusion?seq={q}"} for q, kind, leaf in rows}


def fetch_nodes(s: Session, county: str,
                coords: Iterable[merkle.Node]) -> tuple[int | None, dict[merkle.Node, bytes]]:
    """The log's size and the stored perfect-subtree hashes at ``coords`` (level 0: the entries' leaf
    hashes), in one query whatever their number: the head, the leaves by primary key, and the inner
    nodes by joining a ``VALUES`` list to the primary key (a row-value ``IN`` made SQLite scan every node).

    Returns:
        (the log's size, or None when there is no log; {(level, index): hash} of those found).
    """
    coords = set(coords)
    leaves = ", ".join(str(int(index) + 1) for level, index in coords if level == 0)
    inner = ", ".join(f"({int(level)}, {int(index)})" for level, index in coords if level > 0)
    pg = s.get_bind().dialect.name == "postgresql"
    log = "%(log)s" if pg else ":log"
    # PostgreSQL: as text, so that a hash column whose type was altered still reads (as no hash) beside the others
    leaf, node = ("CAST(leaf_hash AS TEXT)", "CAST(n.hash AS TEXT)") if pg else ("leaf_hash", "n.hash")
    parts = [f"SELECT -1, size, head_hash FROM ledger_heads WHERE log = {log}"]
    if leaves:
        parts.append(f"SELECT 0, seq - 1, {leaf} FROM ledger_entries WHERE log = {log} AND seq IN ({leaves})")
    if inner:
        parts.append(f'SELECT n.level, n."index", {node} FROM wanted JOIN ledger_nodes n '
                     f'ON n.log = {log} AND n.level = wanted.level AND n."index" = wanted.idx')
    sql = (f"WITH wanted(level, idx) AS (VALUES {inner}) " if inner else "") + " UNION ALL ".join(parts)
    size: int | None = None
    found: dict[merkle.Node, bytes] = {}
    for level, index, h in s.connection().exec_driver_sql(sql, {"log": county}):
        if level < 0:
            size = index
        elif type(h) is str and _HASH.fullmatch(h):  # a hash rewritten as another type or length is missing
            found[(level, index)] = bytes.fromhex(h)
    return size, found


def _complete(nodes: dict[merkle.Node, bytes], coords: set[merkle.Node]) -> dict[merkle.Node, bytes]:
    missing = coords - nodes.keys()
    if missing:
        raise DomainError("台账的默克尔树节点缺失，请运行 sanquan ledger verify",
                          "Merkle tree nodes are missing from the ledger: run `sanquan ledger verify`",
                          status=409, details={"missing": sorted(missing)[:10]})
    return nodes


def _log_size(s: Session, county: str) -> int:
    size, _ = fetch_nodes(s, county, ())
    if size is None:
        raise NotFound("台账", "Ledger", county)
    return size


def _within_log(county: str, size: int, logged: int | None, field: str = "size") -> None:
    """404 when there is no log; 422 (naming ``field``) when ``size`` is beyond its end."""
    if logged is None:
        raise NotFound("台账", "Ledger", county)
    if size > logged:
        raise DomainError(f"树的大小 {size} 超过台账现有条目数 {logged}",
                          f"size {size} is larger than the log ({logged} entries)", status=422,
                          errors={field: [f"at most {logged}"]})


def _inclusion_coords(seq: int, size: int) -> set[tuple[int, int]]:
    return (merkle.nodes_for(merkle.inclusion_ranges(seq - 1, size)) | {(0, seq - 1)}
            | set(merkle.perfect_subtrees(0, size)))


def inclusion(uow: UnitOfWork, *, actor: Principal, county: str, seq: int,
              size: int | None = None) -> dict[str, Any]:
    """An RFC 9162 inclusion proof of entry ``seq`` in the tree of the log's first ``size`` entries.

    One query reads the log's size and every node the proof needs (two when ``size`` is not given).

    Raises:
        NotFound: no such log in scope. DomainError 422: ``seq`` outside ``1..size`` or ``size`` beyond the log.
    """
    check_readable_log(actor, county)
    with uow:
        s = uow.session
        if size is None:
            size = _log_size(s, county)
        coords = _inclusion_coords(seq, size) if 1 <= seq <= size else set()
        logged, nodes = fetch_nodes(s, county, coords)
        _within_log(county, size, logged)
        if not 1 <= seq <= size:
            raise DomainError(f"条目 {seq} 不在大小为 {size} 的树中", f"entry {seq} is not in a tree of size {size}",
                              status=422, errors={"seq": [f"between 1 and {size}"]})
        return _inclusion_view(county, seq, size, _complete(nodes, coords))


def inclusion_in(s: Session, county: str, seq: int, size: int) -> dict[str, Any]:
    """The inclusion proof of entry ``seq`` (1 ≤ seq ≤ size ≤ the log's size) from O(log n) stored nodes."""
    coords = _inclusion_coords(seq, size)
    return _inclusion_view(county, seq, size, _complete(fetch_nodes(s, county, coords)[1], coords))


def _inclusion_view(county: str, seq: int, size: int, nodes: dict[merkle.Node, bytes]) -> dict[str, Any]:
    return {"log": county, "seq": seq, "leaf_index": seq - 1, "size": size,
            "leaf_hash": nodes[(0, seq - 1)].hex(), "root": merkle.range_hash(0, size, nodes).hex(),
            "proof": [merkle.range_hash(lo, hi, nodes).hex() for lo, hi in merkle.inclusion_ranges(seq - 1, size)]}


def consistency(uow: UnitOfWork, *, actor: Principal, county: str, from_: int,
                to: int | None = None) -> dict[str, Any]:
    """An RFC 9162 consistency proof that the tree of size ``to`` extends the tree of size ``from``.

    One query reads the log's size and every node the proof needs (two when ``to`` is not given).

    Raises:
        NotFound: no such log in scope.
        DomainError 422: RFC 9162 §2.1.4 defines the proof for ``0 < from ≤ to`` only, so ``from`` of 0 or
            beyond ``to``, and ``to`` beyond the log, are refused (the empty tree needs no proof).
    """
    check_readable_log(actor, county)
    with uow:
        s = uow.session
        if to is None:
            to = _log_size(s, county)
        defined = 0 < from_ <= to
        ranges = merkle.consistency_ranges(from_, to) if defined else []
        coords = (merkle.nodes_for(ranges) | set(merkle.perfect_subtrees(0, to))
                  | set(merkle.perfect_subtrees(0, from_))) if defined else set()
        logged, nodes = fetch_nodes(s, county, coords)
        _within_log(county, to, logged, field="to")
        if not defined:
            raise DomainError(f"一致性证明只用于 0 < from ≤ to（RFC 9162 第 2.1.4 节），而 from 为 {from_}、to 为 {to}",
                              f"a consistency proof is defined for 0 < from ≤ to (RFC 9162 §2.1.4), "
                              f"not from {from_} to {to}", status=422,
                              errors={"from": [f"between 1 and {to}" if to else "the log is empty"]})
        _complete(nodes, coords)
        return {"log": county, "from": from_, "to": to, "from_root": merkle.range_hash(0, from_, nodes).hex(),
                "to_root": merkle.range_hash(0, to, nodes).hex(),
                "proof": [merkle.range_hash(lo, hi, nodes).hex() for lo, hi in ranges]}


def _is_id_key(key: str) -> bool:
    return key in ("id_number", "id_numbers") or key.endswith("_id_number")


def masked_body(value: Any) -> tuple[Any, bool]:
    """A parsed body with every resident ID number in it masked (``210681********1234``, as every view masks
    them for roles other than admin and clerk), wherever it is nested (``id_number``, ``…_id_number``,
    ``id_numbers``), and whether anything was.

    Returns:
        (the masked copy, True if it differs from the body: it then no longer hashes to ``body_sha256``).
    """
    if isinstance(value, dict):
        out, changed = {}, False
        for key, item in value.items():
            if isinstance(key, str) and _is_id_key(key):
                masked = _mask_ids(item)
                changed = changed or masked != item
            else:
                masked, inner = masked_body(item)
                changed = changed or inner
            out[key] = masked
        return out, changed
    if isinstance(value, list):
        items = [masked_body(item) for item in value]
        return [item for item, _ in items], any(inner for _, inner in items)
    return value, False


def _mask_ids(value: Any) -> Any:
    if isinstance(value, str):
        return mask_id_number(value) if len(value) == 18 else "*" * len(value)
    if isinstance(value, list):
        return [_mask_ids(item) for item in value]
    return value if value is None else masked_body(value)[0]


def stored_body(stored: Any) -> dict[str, Any] | None:
    """An entry's stored body as the JSON object it should be; None when the stored value is no JSON object
    (NULL, another type, bytes that do not decode, a list): a tampered entry, which verification names."""
    try:
        body = json.loads(stored)
    except (TypeError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return body if isinstance(body, dict) else None


def intact_body(entry: LedgerEntry) -> dict[str, Any] | None:
    """An entry's body if its stored bytes still hash to its ``body_sha256`` (and are a JSON object), else None:
    what a document printed from the ledger (a certificate) may rely on."""
    stored = entry.body
    if type(stored) is not bytes or hashlib.sha256(stored).hexdigest() != entry.body_sha256:
        return None
    return stored_body(stored)


def list_entries(uow: UnitOfWork, *, actor: Principal, county: str, after: int, limit: int) -> dict[str, Any]:
    """A page of a county's log, oldest first.

    Roles that see ID numbers masked (all but admin and clerk) get each body with them masked and
    ``masked: true`` where that changed it; ``body_sha256``, ``prev_hash`` and ``leaf_hash`` are as stored,
    so the chain, the Merkle proofs and the checkpoints check from them, and ``GET …/verify`` checks the
    bodies themselves. A body whose stored value is no JSON object (tampered) reads as null.

    Raises:
        Forbidden: the role may not read ledgers.
        NotFound: the county is not wholly inside the actor's scope, or has no log.
    """
    check_readable_log(actor, county)
    with uow:
        head = stored_head(uow.session, county)
        rows = uow.session.scalars(
            select(LedgerEntry).where(LedgerEntry.log == county, LedgerEntry.seq > after)
            .order_by(LedgerEntry.seq).limit(limit)
        ).all()
        entries: list[dict[str, Any]] = []
        for r in rows:
            body, masked = stored_body(r.body), False
            if body is not None and not actor.sees_id_numbers:
                body, masked = masked_body(body)
            entries.append({"seq": r.seq, "recorded_at": r.recorded_at, "actor": r.actor, "kind": r.kind,
                            "subjects": r.subjects, "body": body, "masked": masked, "body_sha256": r.body_sha256,
                            "prev_hash": r.prev_hash, "leaf_hash": r.leaf_hash})
    next_after = entries[-1]["seq"] if entries and entries[-1]["seq"] < head.size else None
    return {"log": county, "size": head.size, "head_hash": head.head_hash,
            "items": entries, "next_after": next_after}
