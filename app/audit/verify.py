"""Verify a county's log: hashes, chain, Merkle tree, signed checkpoints, and the tables by replay.

One pass over the entries in ``seq`` order recomputes each body hash, chain
link and leaf hash, checks that each row's columns say what its body says,
folds the leaves into the Merkle tree (comparing every perfect subtree with
the stored node, and the root with every signed checkpoint), and replays the
bodies (:mod:`app.audit.replay`). The first entry found wrong is reported by
its ``seq``. The same pass runs over an export (``sanquan ledger export``)
without a database, and against an export or checkpoint kept earlier, so an
auditor can prove that today's log extends the one they hold. A large log in a
database is shared between two processes (:func:`verify_database`,
``workers=2``) whose combined verdict is the single pass's.
"""
from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import re
import time
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.replay import PARCEL_KINDS, Replay, ReplayError, differences, table_state
from app.auth.services import Principal
from app.db import UnitOfWork, driver_batches, driver_rows, make_engine, on_citus
from app.ledger import checkpoint as notes
from app.ledger import merkle
from app.ledger.models import LedgerCheckpoint, LedgerHead
from app.ledger.services import (
    GENESIS_HASH,
    SIGNER,
    check_readable_log,
    fetch_nodes,
    leaf_hash,
    stored_head,
    unpack_frontier,
)

#: Rows read from the database per round trip.
_BATCH = 5000


class Entry(NamedTuple):
    """One log entry as stored or exported; ``recorded_at`` as the body writes it."""

    seq: int
    recorded_at: str
    actor: str
    kind: str
    subjects: list
    body: bytes
    body_sha256: str
    prev_hash: str
    leaf_hash: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "recorded_at": self.recorded_at, "actor": self.actor, "kind": self.kind,
                           "subjects": self.subjects, "body": self.body.decode(), "body_sha256": self.body_sha256,
                           "prev_hash": self.prev_hash, "leaf_hash": self.leaf_hash}, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str | bytes) -> Entry:
        d = orjson.loads(line)
        return cls(seq=d["seq"], recorded_at=d["recorded_at"], actor=d["actor"], kind=d["kind"],
                   subjects=d["subjects"], body=d["body"].encode(), body_sha256=d["body_sha256"],
                   prev_hash=d["prev_hash"], leaf_hash=d["leaf_hash"])


@dataclass
class Result:
    """What a verification found; ``first_bad_seq`` names the first tampered or divergent entry."""

    log: str
    size: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None
    checks: dict = field(default_factory=dict)
    checkpoint: dict | None = None
    roots: dict[int, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, seq: int | None, problem: str) -> Result:
        if self.problem is None:
            self.first_bad_seq, self.problem = seq, problem
        return self

    def view(self) -> dict:
        return {"log": self.log, "ok": self.ok, "size": self.size, "first_bad_seq": self.first_bad_seq,
                "problem": self.problem, "checks": self.checks, "checkpoint": self.checkpoint}


def stored_as(value: object) -> str:
    """How a column's value is stored, for a problem's text: an attacker may write any type into
    SQLite's columns, and NULL into either engine's once a constraint is dropped."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"a blob of {len(value)} bytes"
    if isinstance(value, str):
        return f"text of {len(value)} characters"
    return {int: "an integer", float: "a real number"}.get(type(value), type(value).__name__)


def _is_seq(value: object) -> bool:
    return type(value) is int


def _entry_problem(e: Entry, log: str, expected_seq: int, prev: str) -> tuple[str | None, dict | None]:
    """What is wrong with one entry (None if nothing), and its parsed body.

    The stored types are checked first, where a comparison or a hash would otherwise fail on them: the
    seq must be an integer and the body bytes. Every other column is compared for equality with what it
    must be (a recomputed hash, the previous leaf, the body's own fields), which no other type or length
    passes.
    """
    if not _is_seq(e.seq):
        return f"the row in its place has a seq stored as {stored_as(e.seq)}, not an integer", None
    if e.seq != expected_seq:
        return (f"entry {expected_seq} is missing (found {e.seq} next)" if e.seq > expected_seq
                else f"entry {e.seq} appears again or out of order after {expected_seq - 1}"), None
    if type(e.body) is not bytes:
        return f"the body is stored as {stored_as(e.body)}, not as the bytes its hash covers", None
    if hashlib.sha256(e.body).hexdigest() != e.body_sha256:
        return "the body does not hash to body_sha256", None
    if e.prev_hash != prev:
        return "prev_hash is not the previous entry's leaf_hash", None
    if leaf_hash(e.seq, e.prev_hash, e.body_sha256) != e.leaf_hash:
        return "leaf_hash does not match seq, prev_hash and body_sha256", None
    try:
        body = orjson.loads(e.body)
    except orjson.JSONDecodeError:
        return "the body is not JSON", None
    if not isinstance(body, dict):
        return "the body is not a JSON object", None
    if body.get("seq") != e.seq or body.get("log") != log:
        return "the body names another log or seq", None
    actor = body.get("actor")
    if (body.get("kind") != e.kind or body.get("subjects") != e.subjects
            or (actor.get("name") if isinstance(actor, dict) else None) != e.actor or body.get("at") != e.recorded_at):
        return "the row's kind, subjects, actor or time differ from its body", None
    return None, body


def _at(level: int, stored: tuple[int, str] | None) -> tuple[int, int, str] | None:
    return None if stored is None else (level, *stored)


class _BySeq:
    """(seq, subject) rows in seq order, taken one entry at a time."""

    def __init__(self, rows: Iterator[tuple[int, str]]):
        self._rows = rows
        self._next = next(rows, None)

    def take(self, seq: int) -> list[str | None]:
        # a seq stored as text or a blob sorts after every number (SQLite): it lies beyond the log
        out: list[str | None] = []
        while self._next is not None and type(self._next[0]) in (int, float) and self._next[0] <= seq:
            out.append(self._next[1] if self._next[0] == seq else None)
            self._next = next(self._rows, None)
        return out

    @property
    def left(self) -> bool:
        return self._next is not None


def _left_leaf_holds(stored: tuple[int, int, str] | None, left_seq: int, left: str, right: Entry | None,
                     after: Entry | None) -> bool | None:
    """Whether the stored pair node over entries ``left_seq`` and ``left_seq + 1`` was made from the leaf ``left``.

    A pair's hash alone cannot say which half changed. It can once a copy of the right half's original
    leaf is at hand: the right entry's leaf_hash or its recomputed leaf (when only its other columns were
    edited), or the prev_hash or leaf_hash of the entry after it (when entries were moved or replaced). A
    match proves the left leaf is the appended one. None when there is no such stored node to judge by.
    """
    if stored is None or stored[:2] != (1, (left_seq - 1) >> 1):
        return None
    copies = [after.prev_hash, after.leaf_hash] if after is not None else []
    if right is not None:
        copies += [right.leaf_hash, right.prev_hash]
        try:  # unless its columns are of another type or length: no copy there
            if _is_seq(right.seq):
                copies.append(leaf_hash(right.seq, right.prev_hash, right.body_sha256))
        except (ValueError, TypeError, OverflowError):
            pass
    for copy in copies:
        try:
            if merkle.node_hash(bytes.fromhex(left), bytes.fromhex(copy)).hex() == stored[2]:
                return True
        except (ValueError, TypeError):
            continue
    return False


def scan(entries: Iterable[Entry], *, log: str, result: Result, replay: Replay | None = None,
         nodes: StoredNodes | None = None, subjects: Iterator[tuple[int, str]] | None = None,
         roots_at: Iterable[int] = (), head_size: int | None = None,
         start: tuple[int, str, list[bytes]] = (0, GENESIS_HASH, []), last: int | None = None) -> Result:
    """One pass over a log's entries in ``seq`` order: every hash, the chain, the Merkle tree, the replay.

    Args:
        nodes: the stored perfect subtrees (level ≥ 1), to compare with those the appends complete.
        subjects: the stored subject index as (seq, subject) in seq order, to compare with each entry's subjects.
        roots_at: tree sizes whose roots to keep in ``result.roots`` (checkpoints to check).
        head_size: the size the log head records: where the stored tree must end.
        start: (size, leaf hash of the last entry, frontier) before the first entry given: a pass over
            the later part of a log (:func:`verify_database` with two workers).
        last: stop after this entry (the earlier part of a log); ``entries``, ``nodes`` and ``subjects``
            may run on past it, and are checked to their end only if the log ends before it.
    """
    about = _BySeq(subjects) if subjects is not None else None
    entries = iter(entries)
    wanted = set(roots_at)
    if 0 in wanted:
        result.roots[0] = merkle.EMPTY_ROOT
    size, prev, frontier = start[0], start[1], list(start[2])
    for e in entries:
        if size == last:
            break
        problem, body = _entry_problem(e, log, size + 1, prev)
        if problem or body is None:  # a body is given exactly when there is no problem
            if (size % 2 and e.seq == size + 1 and nodes is not None
                    and _left_leaf_holds(_at(1, nodes.next(1)), size, prev, e, next(entries, None)) is False):
                return result.fail(size, f"entry {size}: its leaf is not the one the stored Merkle node over entries "
                                         f"{size}–{size + 1} was made from (forged or replaced), and entry "
                                         f"{size + 1} does not follow it: {problem}")
            bad = min(e.seq, size + 1) if _is_seq(e.seq) else size + 1
            return result.fail(bad, f"entry {bad}: {problem}")
        left, h, index = prev, bytes.fromhex(e.leaf_hash), size
        done: list[tuple[int, int, bytes]] = []
        while index & 1:  # merkle.frontier_append, in place: the nodes this leaf completes
            h = merkle.node_hash(frontier.pop(), h)
            index >>= 1
            done.append((len(done) + 1, index, h))
        frontier.append(h)
        size, prev = e.seq, e.leaf_hash
        if nodes is not None:
            for level, index, h in done:
                stored = _at(level, nodes.next(level))
                if stored != (level, index, h.hex()):
                    first = (index << level) + 1
                    if stored is None and head_size is not None and size > head_size:
                        first = head_size + 1  # the stored tree ends with the head: these entries came after it
                    elif level == 1 and _left_leaf_holds(stored, size - 1, left, None, next(entries, None)):
                        first = size  # the left leaf is the one appended: this entry is not
                    return result.fail(first, f"entry {first}: the stored Merkle node (level {level}, index {index}) "
                                              f"over entries {first}–{(index + 1) << level} is "
                                              f"{'missing' if stored is None else 'wrong'}")
        if about is not None and (listed := about.take(size)) != e.subjects and \
                sorted(listed, key=str) != sorted(set(e.subjects)):  # most often listed in the entry's order
            return result.fail(size, f"entry {size}: the subject index does not list exactly the entry's subjects")
        if size in wanted:
            result.roots[size] = merkle.frontier_root(frontier)
        if replay is not None:
            try:
                replay.apply(e.seq, e.kind, body.get("data"))
            except ReplayError as err:
                return result.fail(e.seq, f"entry {e.seq}: {err}")
    result.size = size
    result.checks["entries"] = size
    result.checks["head"] = {"hash": prev, "root": merkle.frontier_root(frontier).hex(),
                             "frontier": "".join(h.hex() for h in frontier)}
    if last is not None and size == last:
        return result  # what lies beyond is the next part's
    if nodes is not None and nodes.left_over():
        return result.fail(size + 1, f"entry {size + 1}: the log has Merkle nodes beyond its last entry "
                                     f"({size}): entries were cut off")
    if about is not None and about.left:
        return result.fail(size + 1, f"entry {size + 1}: the subject index names entries beyond the log's last "
                                     f"({size}): entries were cut off")
    return result


# --- checkpoints ------------------------------------------------------------------------------

def check_checkpoints(result: Result, points: list[tuple[notes.Checkpoint, bytes, bytes]], *, origin: str | None,
                      label: str = "checkpoint") -> Result:
    """Each (checkpoint, signature, public key) must be signed by that key and match the log's root at its size.

    A checkpoint beyond the log's end means the tail was cut off: the first missing entry is named.
    """
    for point, signature, public_key in sorted(points, key=lambda p: p[0].size):
        if not notes.verify_signature(point, signature, public_key):
            return result.fail(point.size or None, f"the {label} at size {point.size} is not signed by the key")
        if origin is not None and point.origin != origin:
            return result.fail(None, f"the {label} at size {point.size} names another log ({point.origin})")
        if point.size > result.size:
            return result.fail(result.size + 1, f"entry {result.size + 1}: the log ends at {result.size} but a signed "
                                                f"{label} covers {point.size} entries (cut off)")
        if result.roots.get(point.size) != point.root:
            return result.fail(point.size, f"the first {point.size} entries no longer hash to the signed {label}'s "
                                           f"root: the log was rewritten at or before entry {point.size}")
    result.checks[f"{label}s"] = len(points)
    return result


def compare_with(result: Result, ours: Iterable[Entry], kept: Iterable[Entry]) -> Result:
    """Against an export kept earlier: its every entry must still be in the log, byte for byte."""
    n = 0
    mine = iter(ours)
    for old in kept:
        new = next(mine, None)
        if new is None:
            return result.fail(old.seq, f"entry {old.seq}: in the export you kept, missing from the log")
        if (new.seq, new.leaf_hash, new.body) != (old.seq, old.leaf_hash, old.body):
            return result.fail(old.seq, f"entry {old.seq}: differs from the export you kept (the log was forked)")
        n += 1
    result.checks["kept_entries_matched"] = n
    return result


# --- from the database ------------------------------------------------------------------------

@contextmanager
def paused_gc():
    """No cyclic garbage collection while millions of entries stream by: the replay keeps
    millions of small objects alive, and each full collection would walk them all again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def db_entries(s: Session, log: str, *, after: int = 0, upto: int | None = None,
               whole: bool = False) -> Generator[Entry, None, None]:
    """The log's entries after ``after``, in seq order (``whole``: see :func:`app.db.driver_rows`).

    With ``upto``: those up to it, then the first one after it, which is what a pass that stops
    there can see of the rest (an entry missing at the boundary is named as a full pass names it).
    """
    if s.get_bind().dialect.name == "postgresql":
        at = """to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
        subjects = "subjects::text"
    else:
        at, subjects = "recorded_at", "subjects"  # naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'
    sql = (f"SELECT seq, {at}, actor, kind, {subjects}, body, body_sha256, prev_hash, leaf_hash "
           "FROM ledger_entries WHERE log = :log AND seq > :after")
    queries = [(sql + " ORDER BY seq", {"log": log, "after": after})]
    if upto is not None:
        queries = [(sql + " AND seq <= :upto ORDER BY seq", {"log": log, "after": after, "upto": upto}),
                   (sql + " ORDER BY seq LIMIT 1", {"log": log, "after": upto})]
    sqlite = s.get_bind().dialect.name != "postgresql"
    loads = orjson.loads
    for query, args in queries:
        with closing(driver_batches(s, query, args, batch=_BATCH, whole=whole)) as batches:
            for rows in batches:
                try:
                    if sqlite:  # SQLite columns hold any type: only text is what the log wrote
                        batch = [Entry(seq, f"{at[:10]}T{at[11:]}+00:00" if type(at) is str else at, actor, kind,
                                       loads(subj) if type(subj) is str else subj, body, body_sha, prev, leaf)
                                 for seq, at, actor, kind, subj, body, body_sha, prev, leaf in rows]
                    else:
                        batch = [Entry(seq, at, actor, kind, loads(subj), body, body_sha, prev, leaf)
                                 for seq, at, actor, kind, subj, body, body_sha, prev, leaf in rows]
                except (TypeError, orjson.JSONDecodeError):  # a NULL or a text that is not JSON somewhere
                    batch = [_stored_entry(row, sqlite) for row in rows]
                yield from batch


def _stored_entry(row: tuple, sqlite: bool) -> Entry:
    """An entry as stored, its subjects and time converted only where they are the text the log writes:
    anything else stays as found, and no longer matches the body (:func:`_entry_problem` names it)."""
    seq, at, actor, kind, subj, body, body_sha, prev, leaf = row
    if sqlite and type(at) is str:
        at = f"{at[:10]}T{at[11:]}+00:00"
    if type(subj) is str:
        try:
            subj = orjson.loads(subj)
        except orjson.JSONDecodeError:
            pass
    return Entry(seq, at, actor, kind, subj, body, body_sha, prev, leaf)


class StoredNodes:
    """The stored perfect subtrees of one log, level by level in index order (the primary key's order:
    no sort), which is the order appends complete them within each level.

    Args:
        after: only the nodes that the appends of entries after this one complete (a node over
            leaves ``[i·2^l, (i+1)·2^l)`` is completed by entry ``(i+1)·2^l``).
        preload: read them all now, in one query, so that the entries can be streamed beside them
            (:func:`read_ahead`); otherwise each level is a server-side cursor read as it is needed.
    """

    def __init__(self, s: Session, log: str, *, after: int = 0, upto: int | None = None, preload: bool = False):
        self._s, self._log, self._after = s, log, after
        self._levels: dict[int, Iterator[tuple[int, str]]] = {}
        self._loaded: dict[int, list] | None = None
        if preload:
            self._loaded = {}
            rows = self._query('level, "index", hash', "level > 0", ' ORDER BY level, "index"', upto=upto)
            if upto is not None:  # and the first node of each level after them: all a stop at upto can see
                rows = chain(rows, driver_rows(
                    s, 'SELECT n.level, n."index", n.hash FROM ledger_nodes n JOIN ('
                       'SELECT level, min("index") AS first FROM ledger_nodes WHERE log = :log '
                       'AND "index" >= (CAST(:upto AS BIGINT) >> level) GROUP BY level) beyond '
                       'ON n.log = :log AND n.level = beyond.level AND n."index" = beyond.first',
                    {"log": log, "upto": upto}, whole=True))
            for level, index, h in rows:
                self._loaded.setdefault(level, []).append((index, h))

    def _query(self, columns: str, level: str, order: str = "", upto: int | None = None) -> Iterator[tuple]:
        bound = ' AND "index" < (CAST(:upto AS BIGINT) >> level)' if upto is not None else ""
        return driver_rows(self._s, f'SELECT {columns} FROM ledger_nodes WHERE log = :log AND {level} '
                                    f'AND "index" >= (CAST(:after AS BIGINT) >> level){bound}{order}',
                           {"log": self._log, "after": self._after} | ({"upto": upto} if upto is not None else {}),
                           batch=_BATCH, whole=self._loaded is not None)

    def next(self, level: int) -> tuple[int, str] | None:
        rows = self._levels.get(level)
        if rows is None:
            rows = self._levels[level] = (
                iter(self._loaded.get(level, ())) if self._loaded is not None
                else self._query('"index", hash', f"level = {int(level)}", ' ORDER BY "index"'))
        return next(rows, None)

    def left_over(self) -> bool:
        """Whether any level holds nodes beyond those taken, or levels never reached hold any."""
        taken = set(self._levels)
        if any(next(rows, None) is not None for rows in self._levels.values()):
            return True
        levels = self._loaded.keys() if self._loaded is not None else [
            level for level, in self._query("DISTINCT level", "level > 0")]
        return any(level not in taken for level in levels)

    def close(self) -> None:
        for rows in self._levels.values():
            if hasattr(rows, "close"):
                rows.close()


def db_subjects(s: Session, log: str, *, after: int = 0, upto: int | None = None,
                preload: bool = False) -> Generator[tuple[int, str], None, None]:
    """The subject index after ``after``; with ``upto``, up to it and the first row after it."""
    sql = "SELECT seq, subject FROM ledger_subjects WHERE log = :log AND seq > :after"
    rows: Iterator[tuple[int, str]]
    if upto is None:
        rows = driver_rows(s, sql + " ORDER BY seq", {"log": log, "after": after}, batch=_BATCH, whole=preload)
    else:
        rows = chain(driver_rows(s, sql + " AND seq <= :upto ORDER BY seq", {"log": log, "after": after, "upto": upto},
                                 batch=_BATCH, whole=preload),
                     driver_rows(s, sql + " ORDER BY seq LIMIT 1", {"log": log, "after": upto}, whole=preload))
    if preload:
        loaded = list(rows)
        return (row for row in loaded)
    return (row for row in rows)


def read_ahead(s: Session) -> bool:
    """Whether a pass that reads a log to its end streams the entries, the Merkle nodes and the subject
    index read beforehand (PostgreSQL: twice as fast as three server-side cursors taking turns)."""
    return s.get_bind().dialect.name == "postgresql"


def stored_checkpoints(s: Session, log: str, public_key: bytes | None) -> list[tuple[notes.Checkpoint, bytes, bytes]]:
    """The log's stored checkpoints, parsed from their notes, with the key to check them by."""
    out = []
    for row in s.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.log == log).order_by(LedgerCheckpoint.size)):
        body = row.note.split("\n\n", 1)[0] + "\n"
        point = notes.Checkpoint.parse(body)
        out.append((point, bytes.fromhex(row.signature), public_key if public_key is not None else b""))
    return out


def verify_database(s: Session, log: str, *, public_key: bytes | None, origin: str | None,
                    kept: Path | None = None, verifier: str | None = None, replay: bool = True,
                    workers: int = 1) -> Result:
    """Verify one county's log in the database, its checkpoints, its head, and (``replay``) the tables.

    Args:
        kept: an export or checkpoint kept earlier, signed by ``verifier``; the log must extend it.
        workers: 2 splits a log of :data:`PARALLEL_FROM` entries or more between this process and a
            second one (:func:`_two_parts`); the verdict is the one a single pass gives.
    """
    result = Result(log=log)
    head = s.get(LedgerHead, log)
    points = stored_checkpoints(s, log, public_key)
    try:
        kept_points, kept_entries = load_kept(kept, verifier) if kept else ([], None)
    except notes.CheckpointError as e:
        return result.fail(None, f"the kept checkpoint is not signed by the trusted key: {e}")
    with paused_gc():
        return _verify_database(s, log, head=head, points=points, kept=kept, kept_points=kept_points,
                                kept_entries=kept_entries, public_key=public_key, origin=origin, replay=replay,
                                workers=workers)


def _verify_database(s: Session, log: str, *, head: LedgerHead | None, points: list, kept: Path | None,
                     kept_points: list, kept_entries, public_key: bytes | None, origin: str | None, replay: bool,
                     workers: int) -> Result:
    result = Result(log=log)
    roots_at = [p[0].size for p in points + kept_points]
    head_size = head.size if head else None
    url = _shareable_url(s)
    found: tuple[int, str, int] | None = None
    replayed_objects: int | None = None
    replayed: Replay | None = None
    if workers > 1 and replay and url is not None and head_size is not None and head_size >= PARALLEL_FROM:
        result, found, replayed_objects = _two_parts(s, url, log, roots_at, head_size)
    else:
        replayed = Replay() if replay else None
        ahead = read_ahead(s)
        with closing(StoredNodes(s, log, preload=ahead)) as nodes, closing(db_subjects(s, log, preload=ahead)) as \
                subjects, closing(db_entries(s, log, whole=ahead)) as entries:
            scan(entries, log=log, result=result, replay=replayed, nodes=nodes, subjects=subjects,
                 roots_at=roots_at, head_size=head_size)
    if not result.ok:
        return result
    if head is None or (head.size, head.head_hash) != (result.size, result.checks["head"]["hash"]):
        first = min(result.size, head.size if head else 0) + 1
        return result.fail(first, f"entry {first}: the log head ({head.size if head else 0} entries) does not match "
                                  f"the entries ({result.size}): entries were cut off or added behind the ledger")
    try:
        frontier = unpack_frontier(head.frontier)
    except (TypeError, ValueError):  # not hex, or not text at all
        frontier = None
    if frontier != unpack_frontier(result.checks["head"]["frontier"]):
        return result.fail(result.size, "the head's Merkle frontier does not match the entries")
    del result.checks["head"]["frontier"]
    if public_key is None and points:
        result.checks["checkpoints"] = "not checked: no key"
    elif check_checkpoints(result, points, origin=origin).problem:
        return result
    if points:
        newest = points[-1][0]
        result.checkpoint = {"size": newest.size, "root": newest.root.hex(),
                             "signed_at": newest.signed_at.isoformat()}
    if kept:
        if kept_entries is not None:  # first: they name the entry that differs, the checkpoint only bounds it
            with closing(db_entries(s, log)) as entries:
                if compare_with(result, entries, kept_entries).problem:
                    return result
        if check_checkpoints(result, kept_points, origin=None, label="kept checkpoint").problem:
            return result
    if not replay:
        return result
    if replayed is not None:  # one process: the tables are compared here
        found = _earliest(differences(replayed.objects, table_state(s, log)))
        replayed_objects = sum(len(v) for v in replayed.objects.values())
    result.checks["replayed_objects"] = replayed_objects
    if found:
        seq, what, n = found
        return result.fail(seq, f"entry {seq}: {what}" + (f" (and {n - 1} more)" if n > 1 else ""))
    return result


def _earliest(found: list[tuple[int, str]]) -> tuple[int, str, int] | None:
    """The earliest difference and how many there are."""
    return (*found[0], len(found)) if found else None


# --- two workers ------------------------------------------------------------------------------

#: Below this many entries one process verifies: starting a second costs more than it saves.
PARALLEL_FROM = 100_000
#: The lower worker's share of the entries to check. It replays every entry but parcel versions
#: (eight tables to the upper worker's one) while the upper worker starts a second late (a new
#: interpreter); 0.48 makes the two finish together on the demo county (bench/ledger.py).
LOWER_SHARE = 0.48


@dataclass
class Part:
    """What one of two workers found (it crosses a process boundary, so it is small)."""

    scan: Result  #: the full check of its range of entries, with the replay of its range
    replay_problem: tuple[int, str] | None = None  #: the replay of the other range (not checked here)
    differences: tuple[int, str, int] | None = None  #: its tables against its replay (earliest, count)
    replayed: int = 0
    seconds: float = 0.0


def _shareable_url(s: Session) -> str | None:
    """The database URL a second process can open, or None (an in-memory SQLite database)."""
    url = s.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def _two_parts(s: Session, url: str, log: str, roots_at: list[int],
               head_size: int) -> tuple[Result, tuple[int, str, int] | None, int]:
    """Verify a log in two processes and combine what they found as one pass would have.

    The entries split at ``m`` (:data:`LOWER_SHARE` of them). The lower worker (here) checks entries 1…m;
    the upper one (a spawned process with its own connection) checks m+1…, starting from entry m's stored leaf hash and
    the stored Merkle nodes of the first m entries, which the lower worker checks. The replay splits by
    object: parcel versions depend on no other entry, so the upper worker replays every parcel entry and
    compares parcel versions, the lower one everything else; each reads the other range's entries of its
    kinds without checking them (the other worker does). The verdict is the earliest problem, a check of
    an entry before a replay of it, which is what a single pass reports.

    Returns:
        (the combined result, the earliest table difference or None, objects replayed)
    """
    m = _split_point(head_size)
    with _upper_worker(s, url, log, m, roots_at, head_size) as upper_future:
        lower = _part(s, log, upper=False, m=m, roots_at=roots_at, head_size=head_size)
        upper = upper_future.result()
    # the log may end in the lower range (then the head check below fails): the upper range has no entries
    parts = [lower] if lower.scan.ok and lower.scan.size < m else [lower, upper]
    # at one seq a single pass reports the lower range's check first (the upper worker can only judge entry m
    # by the entry after it), then any other check, then a replay
    problems = [(part.scan.first_bad_seq or 0, rank, part.scan.problem) for rank, part in enumerate(parts)
                if part.scan.problem is not None]  # not ok
    problems += [(seq, 2, problem) for part in (lower, upper) if part.replay_problem
                 for seq, problem in [part.replay_problem]]
    result = Result(log=log)
    if problems:
        seq, _, problem = min(problems)
        return result.fail(seq, problem), None, 0
    last = parts[-1].scan
    result.size, result.checks = last.size, dict(last.checks) | {"worker_seconds": [lower.seconds, upper.seconds]}
    result.roots = {size: root for part in parts for size, root in part.scan.roots.items()}
    found = [part.differences for part in parts if part.differences]
    earliest = min(found) if found else None
    if earliest is not None:
        earliest = (earliest[0], earliest[1], sum(f[2] for f in found))
    return result, earliest, sum(part.replayed for part in parts)


def _split_point(head_size: int) -> int:
    """The last entry the lower worker checks."""
    return max(1, int(head_size * LOWER_SHARE))


@contextmanager
def _upper_worker(s: Session, url: str, log: str, m: int, roots_at: list[int], head_size: int):
    """Start the upper worker in a new interpreter (spawned: nothing of this process is inherited, no
    connection, no thread); yield the future of its :class:`Part`. (``s`` is for a stand-in that runs
    it on this session, as the mutation suite does inside its uncommitted transactions.)

    On a Citus cluster it runs here, after the lower one, in this transaction: an exported snapshot is the
    coordinator's, while the log's shards are read under their worker's transaction, which only this one shares
    (a write committed meanwhile would otherwise be half seen).
    """
    if on_citus(s.connection()):
        done: Future[Part] = Future()
        done.set_result(_part(s, log, upper=True, m=m, roots_at=roots_at, head_size=head_size))
        yield done
        return
    snapshot = None
    if s.get_bind().dialect.name == "postgresql":  # the second process reads what this transaction reads
        snapshot = s.connection().exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool.submit(_upper_part, url, log, m, roots_at, head_size, snapshot)


def _upper_part(url: str, log: str, m: int, roots_at: list[int], head_size: int,
                snapshot: str | None = None) -> Part:
    """The upper worker, in its own process: its own engine and connection, on the first worker's
    PostgreSQL snapshot when given one."""
    engine = make_engine(url)
    try:
        with Session(engine) as s, paused_gc():
            if snapshot is not None:
                if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
                    raise ValueError(f"not a snapshot id: {snapshot!r}")
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"}).exec_driver_sql(
                    f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return _part(s, log, upper=True, m=m, roots_at=roots_at, head_size=head_size)
    finally:
        engine.dispose()


def _part(s: Session, log: str, *, upper: bool, m: int, roots_at: list[int], head_size: int) -> Part:
    """One worker's share: check its range of entries; replay its kinds of entries over the whole log;
    compare its tables."""
    t0 = time.perf_counter()
    replay = Replay(parcels=upper)
    result = Result(log=log)
    part = Part(scan=result)
    try:
        _check_part(s, log, part, replay, upper=upper, m=m, roots_at=roots_at, head_size=head_size)
    finally:
        part.seconds = round(time.perf_counter() - t0, 2)
    return part


def _check_part(s: Session, log: str, part: Part, replay: Replay, *, upper: bool, m: int, roots_at: list[int],
                head_size: int) -> None:
    result, ahead = part.scan, read_ahead(s)
    if upper:
        part.replay_problem = _replay_only(s, log, replay, upto=m)
        if part.replay_problem is not None:
            return  # the problem lies in the lower range: nothing here comes before it
        start = _state_after(s, log, m)
        if start is None:
            result.fail(m, f"entry {m}: its leaf hash or the Merkle nodes over the entries up to it are missing")
            return
        with closing(StoredNodes(s, log, after=m, preload=ahead)) as nodes, \
                closing(db_subjects(s, log, after=m, preload=ahead)) as subjects, \
                closing(db_entries(s, log, after=m, whole=ahead)) as entries:
            scan(entries, log=log, result=result, replay=replay, nodes=nodes, subjects=subjects, roots_at=roots_at,
                 head_size=head_size, start=start)
    else:
        with closing(StoredNodes(s, log, upto=m, preload=ahead)) as nodes, \
                closing(db_subjects(s, log, upto=m, preload=ahead)) as subjects, \
                closing(db_entries(s, log, upto=m + 1, whole=ahead)) as entries:
            scan(entries, log=log, result=result, replay=replay, nodes=nodes, subjects=subjects, roots_at=roots_at,
                 head_size=head_size, last=m)
        if result.ok:
            part.replay_problem = _replay_only(s, log, replay, after=m)
    if result.ok and part.replay_problem is None:
        part.differences = _earliest(differences(replay.objects, table_state(s, log, replay.tables)))
        part.replayed = sum(len(v) for v in replay.objects.values())


def _state_after(s: Session, log: str, m: int) -> tuple[int, str, list[bytes]] | None:
    """(m, entry m's leaf hash, the Merkle frontier of the first m entries) as stored, or None if missing."""
    coords = merkle.frontier_coords(m)
    wanted = set(coords) | {(0, m - 1)}
    _, nodes = fetch_nodes(s, log, wanted)
    if not wanted <= nodes.keys():
        return None
    return m, nodes[(0, m - 1)].hex(), [nodes[c] for c in coords]


def _replay_only(s: Session, log: str, replay: Replay, *, after: int = 0,
                 upto: int | None = None) -> tuple[int, str] | None:
    """Replay the entries of ``replay``'s kinds in ``after + 1 … upto`` without checking them (the other
    worker checks them); the first that cannot be replayed as (seq, problem)."""
    kinds = {f"kind{i}": kind for i, kind in enumerate(sorted(PARCEL_KINDS))}
    sql = (f"SELECT seq, kind, body FROM ledger_entries WHERE log = :log AND seq > :after"
           f"{' AND seq <= :upto' if upto is not None else ''} AND kind {'IN' if replay.parcels else 'NOT IN'} "
           f"({', '.join(':' + k for k in kinds)}) ORDER BY seq")
    args = {"log": log, "after": after, **kinds} | ({"upto": upto} if upto is not None else {})
    problem = None
    for seq, kind, body in driver_rows(s, sql, args, batch=_BATCH, whole=True):  # read to the end: see whole
        if problem is not None or not _is_seq(seq):  # a seq of another type: the checking worker names it
            continue
        if type(body) is not bytes:  # the worker that checks this entry names it
            problem = seq, f"entry {seq}: the body is stored as {stored_as(body)}, not as the bytes its hash covers"
            continue
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            problem = seq, f"entry {seq}: the body is not JSON"
            continue
        try:
            replay.apply(seq, kind, data.get("data") if isinstance(data, dict) else None)
        except ReplayError as err:
            problem = seq, f"entry {seq}: {err}"
    return problem


def verify_county(uow: UnitOfWork, county: str, *, kept: Path | None = None, verifier: str | None = None,
                  replay: bool = True, workers: int = 1) -> Result:
    """Verify a county's log with this deployment's key (the unit of work's signer).

    On PostgreSQL the read is one snapshot (REPEATABLE READ), which a second worker shares: entries
    committed meanwhile are not seen half-way."""
    with uow:
        s = uow.session
        if s.get_bind().dialect.name == "postgresql":
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        signer = s.info.get(SIGNER)
        return verify_database(s, county, public_key=signer.public_key if signer else None,
                               origin=signer.origin(county) if signer else None, kept=kept,
                               verifier=verifier or (signer.verifier if signer else None), replay=replay,
                               workers=workers)


def verify_log(uow: UnitOfWork, *, actor: Principal, county: str) -> dict:
    """``GET /ledger/{county}/verify``: verify the log, its checkpoints and the tables (auditor, admin, clerk)."""
    check_readable_log(actor, county)
    with uow:
        stored_head(uow.session, county)
    return verify_county(uow, county).view()


# --- exports ----------------------------------------------------------------------------------

ENTRIES_FILE = "entries.jsonl"
CHECKPOINT_FILE = "checkpoint.txt"
VERIFIER_FILE = "verifier.txt"


def export_log(s: Session, log: str, out: Path, *, verifier: str, note: str) -> int:
    """Write a log as ``entries.jsonl``, its newest signed checkpoint and the verifier key into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    with (out / ENTRIES_FILE).open("w", encoding="utf-8") as f:
        for e in db_entries(s, log):
            f.write(e.to_json() + "\n")
            n += 1
    (out / CHECKPOINT_FILE).write_text(note, encoding="utf-8")
    (out / VERIFIER_FILE).write_text(verifier + "\n", encoding="utf-8")
    return n


def file_entries(path: Path) -> Iterator[Entry]:
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                yield Entry.from_json(line)


def load_kept(path: Path, verifier: str | None = None) -> tuple[list[tuple[notes.Checkpoint, bytes, bytes]],
                                                                  Iterator[Entry] | None]:
    """A kept export directory (checkpoint + entries) or a bare checkpoint note file.

    The note must carry a valid signature by ``verifier`` (default: the verifier key saved beside it).

    Raises:
        ValueError: the verifier key is malformed or missing.
        notes.CheckpointError: the note is malformed or not signed by that key.
    """
    note_path = path / CHECKPOINT_FILE if path.is_dir() else path
    if verifier is None:
        key_path = (path if path.is_dir() else path.parent) / VERIFIER_FILE
        if not key_path.exists():
            raise ValueError(f"no verifier key given and none saved in {key_path.parent}")
        verifier = key_path.read_text(encoding="utf-8").strip()
    _, key_id, public_key = notes.parse_verifier_key(verifier)
    text = note_path.read_text(encoding="utf-8")
    point = notes.open_signed(text, verifier)
    entries = file_entries(path / ENTRIES_FILE) if path.is_dir() and (path / ENTRIES_FILE).exists() else None
    return [(point, _signature_of(text, key_id), public_key)], entries


def _signature_of(note: str, key_id: bytes) -> bytes:
    """The signature that the key with ``key_id`` put on a signed note."""
    import base64

    for line in note.split("\n\n", 1)[1].splitlines():
        raw = base64.b64decode(line.rsplit(" ", 1)[1])
        if raw[:4] == key_id:
            return raw[4:]
    raise notes.CheckpointError("the note carries no signature by the trusted key")


def verify_export(path: Path, *, verifier: str | None = None, kept: Path | None = None) -> Result:
    """Verify an exported log offline: hashes, chain, Merkle root against its signed checkpoint, and replay."""
    try:
        points, _ = load_kept(path, verifier)
        kept_points, kept_entries = load_kept(kept, verifier) if kept else ([], None)
    except notes.CheckpointError as e:
        return Result(log=path.name).fail(None, f"the checkpoint is not signed by the trusted key: {e}")
    log = points[0][0].origin.rsplit("/", 1)[-1]
    result = Result(log=log)
    with paused_gc():
        scan(file_entries(path / ENTRIES_FILE), log=log, result=result, replay=Replay(),
             roots_at=[p[0].size for p in points + kept_points])
    if result.ok and check_checkpoints(result, points, origin=None).ok and kept:
        if kept_entries is None or compare_with(result, file_entries(path / ENTRIES_FILE), kept_entries).ok:
            check_checkpoints(result, kept_points, origin=None, label="kept checkpoint")
    if result.ok:
        point = points[0][0]
        result.checkpoint = {"size": point.size, "root": point.root.hex(), "signed_at": point.signed_at.isoformat()}
    return result
