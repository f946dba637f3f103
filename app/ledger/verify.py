"""Verify a county's log: hashes, chain, Merkle tree, signed checkpoints, and the tables by replay.

One pass over the entries in ``seq`` order recomputes each body hash, chain
link and leaf hash, checks that each row's columns say what its body says,
folds the leaves into the Merkle tree (comparing every perfect subtree with
the stored node, and the root with every signed checkpoint), and replays the
bodies (:mod:`app.ledger.replay`). The first entry found wrong is reported by
its ``seq``. The same pass runs over an export (``sanquan ledger export``)
without a database, and against an export or checkpoint kept earlier, so an
auditor can prove that today's log extends the one they hold.
"""
from __future__ import annotations

import hashlib
import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from itertools import count
from typing import NamedTuple
from pathlib import Path

import orjson
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from app.auth.services import Principal
from app.db import UnitOfWork
from app.ledger import checkpoint as notes
from app.ledger import merkle
from app.ledger.models import LedgerCheckpoint, LedgerHead
from app.ledger.replay import Replay, ReplayError, differences, table_state
from app.ledger.services import GENESIS_HASH, SIGNER, _head, _readable_log, leaf_hash, unpack_frontier

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
    def from_json(cls, line: str) -> Entry:
        d = json.loads(line)
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


def _entry_problem(e: Entry, log: str, expected_seq: int, prev: str) -> tuple[str | None, dict | None]:
    """What is wrong with one entry (None if nothing), and its parsed body."""
    if e.seq != expected_seq:
        return (f"entry {expected_seq} is missing (found {e.seq} next)" if e.seq > expected_seq
                else f"entry {e.seq} appears again or out of order after {expected_seq - 1}"), None
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
    if body.get("seq") != e.seq or body.get("log") != log:
        return "the body names another log or seq", None
    if (body.get("kind") != e.kind or body.get("subjects") != e.subjects
            or (body.get("actor") or {}).get("name") != e.actor or body.get("at") != e.recorded_at):
        return "the row's kind, subjects, actor or time differ from its body", None
    return None, body


def _at(level: int, stored: tuple[int, str] | None) -> tuple[int, int, str] | None:
    return None if stored is None else (level, *stored)


class _BySeq:
    """(seq, subject) rows in seq order, taken one entry at a time."""

    def __init__(self, rows: Iterator[tuple[int, str]]):
        self._rows = rows
        self._next = next(rows, None)

    def take(self, seq: int) -> list[str]:
        out = []
        while self._next is not None and self._next[0] <= seq:
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
        try:
            copies.append(leaf_hash(right.seq, right.prev_hash, right.body_sha256))
        except (ValueError, OverflowError):
            pass
    for copy in copies:
        try:
            if merkle.node_hash(bytes.fromhex(left), bytes.fromhex(copy)).hex() == stored[2]:
                return True
        except ValueError:
            continue
    return False


def scan(entries: Iterable[Entry], *, log: str, result: Result, replay: Replay | None = None,
         nodes: StoredNodes | None = None, subjects: Iterator[tuple[int, str]] | None = None,
         roots_at: Iterable[int] = (), head_size: int | None = None) -> Result:
    """One pass over a log's entries in ``seq`` order: every hash, the chain, the Merkle tree, the replay.

    Args:
        nodes: the stored perfect subtrees (level ≥ 1), to compare with those the appends complete.
        subjects: the stored subject index as (seq, subject) in seq order, to compare with each entry's subjects.
        roots_at: tree sizes whose roots to keep in ``result.roots`` (checkpoints to check).
        head_size: the size the log head records: where the stored tree must end.
    """
    about = _BySeq(subjects) if subjects is not None else None
    entries = iter(entries)
    wanted = set(roots_at)
    if 0 in wanted:
        result.roots[0] = merkle.EMPTY_ROOT
    frontier: list[bytes] = []
    prev, size = GENESIS_HASH, 0
    for e in entries:
        problem, body = _entry_problem(e, log, size + 1, prev)
        if problem:
            if (size % 2 and e.seq == size + 1 and nodes is not None
                    and _left_leaf_holds(_at(1, nodes.next(1)), size, prev, e, next(entries, None)) is False):
                return result.fail(size, f"entry {size}: its leaf is not the one the stored Merkle node over entries "
                                         f"{size}–{size + 1} was made from (forged or replaced), and entry "
                                         f"{size + 1} does not follow it: {problem}")
            return result.fail(min(e.seq, size + 1), f"entry {min(e.seq, size + 1)}: {problem}")
        left = prev
        frontier, done = merkle.frontier_append(frontier, size, bytes.fromhex(e.leaf_hash))
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
        if about is not None and sorted(about.take(size), key=str) != sorted(set(e.subjects)):
            return result.fail(size, f"entry {size}: the subject index does not list exactly the entry's subjects")
        if size in wanted:
            result.roots[size] = merkle.frontier_root(frontier)
        if replay is not None:
            try:
                replay.apply(e.seq, e.kind, body["data"])
            except ReplayError as err:
                return result.fail(e.seq, f"entry {e.seq}: {err}")
    result.size = size
    result.checks["entries"] = size
    result.checks["head"] = {"hash": prev, "root": merkle.frontier_root(frontier).hex(),
                             "frontier": "".join(h.hex() for h in frontier)}
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

_CURSORS = count()


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


def _raw_rows(s: Session, sql: str, log: str) -> Iterator[tuple]:
    """Rows of ``sql`` (one ``:log`` parameter) straight from the driver, in batches: a whole log is
    millions of rows, and the DB-API's tuples cost a fraction of SQLAlchemy's rows. PostgreSQL reads
    through a server-side cursor, closed even when the caller stops early."""
    conn = s.connection()
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor(name=f"ledger_verify_{next(_CURSORS)}") as cur:
            cur.itersize = _BATCH
            cur.execute(sql.replace(":log", "%s"), (log,))
            yield from cur
        return
    cur = raw.cursor()
    try:
        cur.execute(sql.replace(":log", "?"), (log,))
        while rows := cur.fetchmany(_BATCH):
            yield from rows
    finally:
        cur.close()


def db_entries(s: Session, log: str) -> Iterator[Entry]:
    if s.get_bind().dialect.name == "postgresql":
        at = """to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
        subjects = "subjects::text"
    else:
        at, subjects = "recorded_at", "subjects"  # naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'
    sql = (f"SELECT seq, {at}, actor, kind, {subjects}, body, body_sha256, prev_hash, leaf_hash "
           "FROM ledger_entries WHERE log = :log ORDER BY seq")
    sqlite = s.get_bind().dialect.name != "postgresql"
    loads = orjson.loads
    for seq, recorded, actor, kind, subj, body, body_sha, prev, leaf in _raw_rows(s, sql, log):
        if sqlite:
            recorded = f"{recorded[:10]}T{recorded[11:]}+00:00"
        yield Entry(seq, recorded, actor, kind, loads(subj), bytes(body), body_sha, prev, leaf)


class StoredNodes:
    """The stored perfect subtrees of one log, level by level in index order (the primary key's order:
    no sort), which is the order appends complete them within each level."""

    def __init__(self, s: Session, log: str):
        self._s, self._log, self._levels = s, log, {}

    def next(self, level: int) -> tuple[int, str] | None:
        rows = self._levels.get(level)
        if rows is None:
            rows = self._levels[level] = _raw_rows(
                self._s, f'SELECT "index", hash FROM ledger_nodes WHERE log = :log AND level = {int(level)} '
                         'ORDER BY "index"', self._log)
        return next(rows, None)

    def left_over(self) -> bool:
        """Whether any level holds nodes beyond those taken, or levels never reached hold any."""
        taken = set(self._levels)
        if any(next(rows, None) is not None for rows in self._levels.values()):
            return True
        return any(level not in taken for level, in _raw_rows(
            self._s, "SELECT DISTINCT level FROM ledger_nodes WHERE log = :log", self._log))

    def close(self) -> None:
        for rows in self._levels.values():
            rows.close()


def db_subjects(s: Session, log: str) -> Iterator[tuple[int, str]]:
    return _raw_rows(s, "SELECT seq, subject FROM ledger_subjects WHERE log = :log ORDER BY seq", log)


def _geometry_wkb(s: Session, log: str):
    from app.parcels.models import ParcelVersion

    def rows():
        if s.get_bind().dialect.name == "postgresql":
            geom = func.ST_AsBinary(literal_column("parcel_versions.geom"))
        else:
            geom = literal_column("parcel_versions.geom")
        q = (select(ParcelVersion.parcel_code, geom).where(ParcelVersion.county_code == log,
                                                           ParcelVersion.valid_to.is_(None))
             .execution_options(yield_per=_BATCH))
        with s.execute(q) as rows:
            for code, wkb in rows:
                yield code, bytes(wkb)
    return rows


def stored_checkpoints(s: Session, log: str, public_key: bytes | None) -> list[tuple[notes.Checkpoint, bytes, bytes]]:
    """The log's stored checkpoints, parsed from their notes, with the key to check them by."""
    out = []
    for row in s.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.log == log).order_by(LedgerCheckpoint.size)):
        body = row.note.split("\n\n", 1)[0] + "\n"
        point = notes.Checkpoint.parse(body)
        out.append((point, bytes.fromhex(row.signature), public_key if public_key is not None else b""))
    return out


def verify_database(s: Session, log: str, *, public_key: bytes | None, origin: str | None,
                    kept: Path | None = None, verifier: str | None = None, replay: bool = True) -> Result:
    """Verify one county's log in the database, its checkpoints, its head, and (``replay``) the tables.

    Args:
        kept: an export or checkpoint kept earlier, signed by ``verifier``; the log must extend it.
    """
    result = Result(log=log)
    head = s.get(LedgerHead, log)
    points = stored_checkpoints(s, log, public_key)
    try:
        kept_points, kept_entries = load_kept(kept, verifier) if kept else ([], None)
    except notes.CheckpointError as e:
        return result.fail(None, f"the kept checkpoint is not signed by the trusted key: {e}")
    replayed = Replay() if replay else None
    with paused_gc(), closing(db_entries(s, log)) as entries, closing(StoredNodes(s, log)) as nodes, \
            closing(db_subjects(s, log)) as subjects:
        scan(entries, log=log, result=result, replay=replayed, nodes=nodes, subjects=subjects,
             roots_at=[p[0].size for p in points + kept_points], head_size=head.size if head else None)
    if not result.ok:
        return result
    if head is None or (head.size, head.head_hash) != (result.size, result.checks["head"]["hash"]):
        first = min(result.size, head.size if head else 0) + 1
        return result.fail(first, f"entry {first}: the log head ({head.size if head else 0} entries) does not match "
                                  f"the entries ({result.size}): entries were cut off or added behind the ledger")
    if unpack_frontier(head.frontier) != unpack_frontier(result.checks["head"]["frontier"]):
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
    if replayed is None:
        return result
    found = differences(replayed.objects, table_state(s, log, _geometry_wkb(s, log)))
    result.checks["replayed_objects"] = sum(len(v) for v in replayed.objects.values())
    if found:
        seq, what = found[0]
        return result.fail(seq, f"entry {seq}: {what}" + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""))
    return result


def verify_county(uow: UnitOfWork, county: str, *, kept: Path | None = None, verifier: str | None = None,
                  replay: bool = True) -> Result:
    """Verify a county's log with this deployment's key (the unit of work's signer)."""
    with uow:
        s = uow.session
        signer = s.info.get(SIGNER)
        return verify_database(s, county, public_key=signer.public_key if signer else None,
                               origin=signer.origin(county) if signer else None, kept=kept,
                               verifier=verifier or (signer.verifier if signer else None), replay=replay)


def verify_log(uow: UnitOfWork, *, actor: Principal, county: str) -> dict:
    """``GET /ledger/{county}/verify``: verify the log, its checkpoints and the tables (auditor, admin, clerk)."""
    _readable_log(actor, county)
    with uow:
        _head(uow.session, county)
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
    with path.open(encoding="utf-8") as f:
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
    scan(file_entries(path / ENTRIES_FILE), log=log, result=result, replay=Replay(),
         roots_at=[p[0].size for p in points + kept_points])
    if result.ok and check_checkpoints(result, points, origin=None).ok and kept:
        if kept_entries is None or compare_with(result, file_entries(path / ENTRIES_FILE), kept_entries).ok:
            check_checkpoints(result, kept_points, origin=None, label="kept checkpoint")
    if result.ok:
        point = points[0][0]
        result.checkpoint = {"size": point.size, "root": point.root.hex(), "signed_at": point.signed_at.isoformat()}
    return result
