"""A mutation suite: over a thousand random tamperings of a realistic county per engine, each one named.

An attacker with database access disables the append-only triggers (PostgreSQL: ``ALTER TABLE … DISABLE
TRIGGER`` or ``session_replication_role = replica``; SQLite: ``DROP TRIGGER``; all transactional) and edits
the log, its Merkle nodes, head and checkpoints, or the registry tables behind the ledger. Each mutation
runs in one transaction on one connection; ``verify_database`` runs on that connection, must fail, and
must name the expected entry in ``first_bad_seq``; then the transaction rolls back, so the next mutation
starts from the clean county. Mutations are drawn from a seeded ``random.Random``: a failure names the
seed, the mutation, the seq expected and what the verifier said, so it reproduces.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import random
import re
import time
from collections import Counter, defaultdict
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import MetaData, Table, bindparam, delete, func, insert, inspect, select, text, tuple_, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from app.audit import verify
from app.audit.verify import CHECKPOINT_FILE, export_log, verify_county, verify_database, verify_export
from app.auth.services import SYSTEM
from app.cli import main as cli
from app.db import UnitOfWork, on_citus
from app.demo import load_demo
from app.ids import public_id
from app.ledger import checkpoint as notes
from app.ledger import merkle
from app.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerNode
from app.ledger.services import GENESIS_HASH, append, canonical_json, leaf_hash, pack_frontier
from app.parcels.models import ParcelVersion
from app.parties.models import Household, Membership, Person
from app.rights.models import Right, RightParcel, RightShares
from app.transfers.models import Transfer, TransferPayment
from tests.conftest import COLLECTIVE, COUNTY, id_number

pytestmark = pytest.mark.no_replay_check

LOG = COUNTY
TODAY = dt.date.today()
ENTRIES, NODES, HEADS, CHECKPOINTS = (LedgerEntry.__table__, LedgerNode.__table__, LedgerHead.__table__,
                                      LedgerCheckpoint.__table__)
#: Entry kinds a forged entry may claim without the replay refusing it (no table row to compare).
PASSIVE_FORGERY = {"kind": "document.stored", "subjects": ["document:9999"],
                   "data": {"document": 9999, "kind": "resolution", "sha256": "0" * 64, "title": "伪造的决议"}}


# --- the county --------------------------------------------------------------------------------------------


@dataclass
class County:
    """One realistic county, built once per test, and what the tests need to know about it when clean."""

    size: int
    rows: dict[int, dict]  #: seq → the entry's columns as stored
    bodies: dict[int, dict]  #: seq → the parsed body
    nodes: list[tuple[int, int, str]]  #: the stored Merkle nodes (level, index, hash)
    checkpoints: list[int]  #: sizes of the signed checkpoints
    note: str  #: the newest signed checkpoint note (at ``size``)
    kept: Path  #: an export (entries, checkpoint, verifier key) taken before any tampering
    written_by: dict[str, dict]  #: table → key → seq of the last entry that wrote it, read from the bodies
    targets: dict[str, list]  #: table → rows to edit behind the ledger

    def leaf(self, seq: int) -> str:
        return self.rows[seq]["leaf_hash"] if seq else GENESIS_HASH

    def frontier(self, size: int) -> list[bytes]:
        frontier: list[bytes] = []
        for seq in range(1, size + 1):
            frontier, _ = merkle.frontier_append(frontier, seq - 1, bytes.fromhex(self.leaf(seq)))
        return frontier


def build_county(app, callers, uow_factory, tmp_path: Path) -> County:
    """The demo collective (households, members, memberships, parcels, contracts, homesteads, income
    shares), then through the API: a new household with a recognised member, a completed transfer of
    contract land paid in two parts, a pending one part-paid, a withdrawn one, a homestead transfer, an
    income-share transfer, a membership ended, and a signed checkpoint. Some 320 entries."""
    load_demo(uow_factory, seed=5, parcels=120)
    clerk, admin = callers["clerk"], callers["admin"]
    with uow_factory(write=False) as uow:
        s = uow.session
        links = defaultdict(list)
        for right, parcel in s.execute(select(RightParcel.right_id, RightParcel.parcel_code)
                                       .where(RightParcel.valid_to.is_(None))
                                       .order_by(RightParcel.right_id, RightParcel.parcel_code)):
            links[right].append(parcel)
        members = defaultdict(list)
        for county, number, household in s.execute(select(Person.county_code, Person.id, Person.household_code)
                                                   .order_by(Person.county_code, Person.id)):
            members[household].append(public_id(county, number))
        held = dict(s.execute(select(RightShares.right_id, RightShares.shares)
                              .where(RightShares.valid_to.is_(None))).all())
    contracts = [r[:-1] for r in sorted(links) if r.endswith("J") and len(links[r]) >= 2]
    a, b, c, d, w, x = contracts[:6]
    used = {a, b, c, d, w, x}
    homestead = next(r[:-1] for r in sorted(links) if r.endswith("Z") and r[:-1] not in used)
    used.add(homestead)
    giver = next(r[:-1] for r in sorted(held) if r[:-1] not in used and held[r] >= 10)
    used.add(giver)
    taker = next(r[:-1] for r in sorted(held) if r[:-1] not in used and held[r] <= 90)
    used.add(taker)
    leaver = next(h for h in sorted(members) if h not in used)

    def post(caller, url, body=None):
        r = caller.post(url, json=body)
        assert r.status_code in (200, 201), (url, r.get_json())
        return r.get_json()

    def consent(holder):
        return {"signed_by_person_id": members[holder][0], "signed_on": TODAY.isoformat(), "voluntary": True}

    def transfer(payload, *, issuer=True, pay=(), complete=True, withdraw=False):
        t = post(clerk, "/api/v1/transfers", payload)
        url = f"/api/v1/transfers/{t['id']}"
        if issuer:
            post(clerk, f"{url}/issuer-consent", {"decision": "granted"})
        for amount in pay:
            post(clerk, f"{url}/payments", {"amount": amount, "paid_on": TODAY.isoformat(), "reference": "网银"})
        if complete:
            assert post(clerk, f"{url}/complete", {})["status"] == "completed"
        if withdraw:
            assert post(clerk, f"{url}/withdraw")["status"] == "withdrawn"
        return t["id"]

    new = post(clerk, f"/api/v1/collectives/{COLLECTIVE}/households", {
        "head": {"name": "赵新户", "id_number": id_number(COUNTY, "19791231", 901), "sex": "male"},
        "members": [{"name": "钱新户", "id_number": id_number(COUNTY, "19811231", 902), "sex": "female",
                     "relation": "spouse"},
                    {"name": "赵小新", "id_number": id_number(COUNTY, "20191231", 903), "sex": "male",
                     "relation": "child"}],
        "address": "东港市长山镇小岭村新户"})
    post(clerk, f"/api/v1/collectives/{COLLECTIVE}/members",
         {"person_id": new["members"][0]["id"], "basis": "original", "decided_on": "2020-01-01"})
    land = {"kind": "transfer", "price": "12000.00"}
    transfer(land | {"right": a + "J", "from": a, "to": b, "parcels": [links[a + "J"][0]], "consent": consent(a)},
             pay=("5000", "7000.00"))
    transfer(land | {"right": c + "J", "from": c, "to": d, "parcels": [links[c + "J"][0]], "consent": consent(c),
                     "price": "9000.00"}, issuer=False, pay=("3000",), complete=False)
    transfer(land | {"right": w + "J", "from": w, "to": x, "parcels": [links[w + "J"][-1]], "consent": consent(w)},
             issuer=False, complete=False, withdraw=True)
    transfer({"kind": "transfer", "right": homestead + "Z", "from": homestead, "to": new["code"],
              "price": "30000.00", "consent": consent(homestead)}, pay=("30000",))
    transfer({"kind": "transfer", "right": giver + "G", "from": giver, "to": taker, "shares": 5, "price": "3000",
              "consent": consent(giver)}, pay=("3000",))
    post(clerk, f"/api/v1/collectives/{COLLECTIVE}/members/{members[leaver][-1]}/termination",
         {"ground": "death", "decided_on": "2024-01-01"})
    note = post(admin, f"/api/v1/ledger/{LOG}/checkpoint")["note"]

    ext = app.extensions["sanquan"]
    with ext.engine.connect() as conn:
        rows = {r.seq: dict(r._mapping) for r in conn.execute(
            select(ENTRIES).where(ENTRIES.c.log == LOG).order_by(ENTRIES.c.seq))}
        nodes = [tuple(r) for r in conn.execute(select(NODES.c.level, NODES.c.index, NODES.c.hash)
                                                .where(NODES.c.log == LOG))]
        points = list(conn.execute(select(CHECKPOINTS.c.size).where(CHECKPOINTS.c.log == LOG)
                                   .order_by(CHECKPOINTS.c.size)).scalars())
        targets = _targets(conn)
    for row in rows.values():
        row["body"] = bytes(row["body"])
    with Session(ext.engine) as s:
        export_log(s, LOG, tmp_path / "kept", verifier=ext.signer.verifier, note=note)
    bodies = {seq: json.loads(row["body"]) for seq, row in rows.items()}
    county = County(size=max(rows), rows=rows, bodies=bodies, nodes=nodes, checkpoints=points, note=note,
                    kept=tmp_path / "kept", written_by=_written_by(bodies, targets), targets=targets)
    assert county.size == len(rows) > 300 and county.checkpoints[-1] == county.size
    return county


def _targets(conn) -> dict[str, list]:
    """The registry rows a tampering may edit, as (key, …) tuples."""
    t = {}
    t["persons"] = conn.execute(select(Person.id, Person.household_code)).all()
    t["households"] = conn.execute(select(Household.code, Household.address)).all()
    t["parcels"] = conn.execute(select(ParcelVersion.id, ParcelVersion.parcel_code, ParcelVersion.land_use)
                                .where(ParcelVersion.valid_to.is_(None))).all()
    t["rights"] = conn.execute(select(Right.id, Right.holder_code, Right.type, Right.end, Right.valid_to)).all()
    t["links"] = conn.execute(select(RightParcel.id, RightParcel.parcel_code, RightParcel.right_id)
                              .where(RightParcel.valid_to.is_(None))).all()
    t["shares"] = conn.execute(select(RightShares.id, RightShares.right_id)
                               .where(RightShares.valid_to.is_(None))).all()
    t["memberships"] = conn.execute(select(Membership.id, Membership.valid_to)).all()
    t["transfers"] = conn.execute(select(Transfer.id, Transfer.status)).all()
    t["payments"] = conn.execute(select(TransferPayment.id, TransferPayment.transfer_id)).all()
    return t


def _written_by(bodies: dict[int, dict], targets: dict[str, list]) -> dict[str, dict]:
    """For every registry object, the seq of the last entry that wrote what the verifier compares.

    Read from the bodies (not from the replay under test): households and persons by their registration,
    parcels by theirs, memberships by recognition or ending, transfers by their last step. A right is
    written when it opens (registered, or created for the recipient of a transfer) and when it ends (a
    transfer that left it empty: the table's ``valid_to`` says which did); a link by the entry that last
    put its parcel in a right; a holding by the last entry that set its shares.
    """
    w = {t: {} for t in ("persons", "households", "parcels", "rights", "links", "shares", "memberships",
                         "transfers")}
    gave = {}
    for seq, body in sorted(bodies.items()):
        kind, d = body["kind"], body["data"]
        if kind == "household.registered":
            w["households"][d["code"]] = seq
            for m in d["members"]:
                w["persons"][m["id"]] = seq
        elif kind == "parcel.registered":
            w["parcels"][d["code"]] = seq
        elif kind in ("membership.recognised", "membership.terminated"):
            w["memberships"][d["membership"]] = seq
        elif kind in ("right.contract.registered", "right.homestead.registered", "right.income_share.registered"):
            w["rights"].setdefault(d["right"], seq)
            for p in d.get("parcels", []):
                w["links"][p["code"]] = seq
            if "parcel" in d:
                w["links"][d["parcel"]] = seq
            if "shares" in d:
                w["shares"][d["right"]] = seq
        elif kind.startswith("transfer."):
            w["transfers"][d["transfer"]] = seq
            if kind == "transfer.completed":
                gave[d["right"]] = seq
                theirs = d["to"] + d["right"][-1]  # the recipient's right of the same type (ID suffix)
                w["rights"].setdefault(theirs, seq)
                for p in d.get("parcels", []):
                    w["links"][p["code"]] = seq
                if d["right"].endswith("G"):
                    w["shares"][d["right"]] = w["shares"][theirs] = seq
    for right, _, _, _, valid_to in targets["rights"]:
        if valid_to is not None:
            w["rights"][right] = gave[right]
    return w


# --- the laboratory: one transaction per mutation -------------------------------------------------------


@contextlib.contextmanager
def _split_here(m: int):
    """Make ``verify_database(workers=2)`` split any log after entry ``m`` and run its upper worker in
    this process, on the caller's session."""
    @contextlib.contextmanager
    def upper_here(s, url, log, m_, roots_at, head_size):
        done = Future()
        done.set_result(verify._part(s, log, upper=True, m=m_, roots_at=roots_at, head_size=head_size))
        yield done

    saved = verify.PARALLEL_FROM, verify._split_point, verify._upper_worker
    verify.PARALLEL_FROM, verify._split_point, verify._upper_worker = 1, lambda head_size: m, upper_here
    try:
        yield
    finally:
        verify.PARALLEL_FROM, verify._split_point, verify._upper_worker = saved


class Lab:
    """Runs tamperings in rolled-back transactions and checks what the verifier says about each."""

    def __init__(self, app, county: County, seed: int):
        ext = app.extensions["sanquan"]
        self.app, self.county, self.seed = app, county, seed
        self.engine, self.signer = ext.engine, ext.signer
        self.sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as conn:
            self.citus = on_citus(conn)
        self.rng = random.Random(seed)
        self.split_rng = random.Random(seed + 1)  # its own, so the tamperings drawn stay those of the seed
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []
        with self.engine.connect() as conn:
            if self.sqlite:
                self.triggers = list(conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'ledger%'")).scalars())
            else:
                self.triggers = list(conn.execute(text(
                    "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace "
                    "AND c.relname LIKE 'ledger%'")).scalars())
            # the subject index, where this version of the schema has one: an attacker keeps it in step
            self.subjects = (Table("ledger_subjects", MetaData(), autoload_with=conn)
                             if inspect(conn).has_table("ledger_subjects") else None)
        assert len(self.triggers) >= (6 if self.sqlite else 3), self.triggers

    # transactions

    def disable_triggers(self, conn) -> None:
        if self.sqlite:
            for name in self.triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        elif self.rng.random() < 0.5 and not self.citus:  # (the shards' triggers are not the coordinator's session's)
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for table in self.triggers:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")

    @contextlib.contextmanager
    def tampering(self):
        """One connection, one transaction, the triggers off; rolled back whatever happens."""
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                self.disable_triggers(conn)
                yield conn
            finally:
                trans.rollback()

    def verify(self, conn, kept: Path | None = None, *, split_at: int | None = None):
        """One pass; or, with ``split_at``, the two-worker verification split after that entry, its upper
        worker run here on the same connection (a second process could not see this transaction)."""
        with Session(bind=conn) as s:
            if split_at is None:
                return verify_database(s, LOG, public_key=self.signer.public_key,
                                       origin=self.signer.origin(LOG), kept=kept)
            with _split_here(split_at):
                return verify_database(s, LOG, public_key=self.signer.public_key,
                                       origin=self.signer.origin(LOG), kept=kept, workers=2)

    def assert_clean(self) -> None:
        with self.engine.connect() as conn, conn.begin():
            result = self.verify(conn)
            assert result.ok and result.size == self.county.size, result.view()
            assert self.verify(conn, kept=self.county.kept).ok
            for m in (1, self.county.size // 2, self.county.size - 1):
                split = self.verify(conn, split_at=m)
                assert split.ok and split.size == self.county.size and "worker_seconds" in split.checks, split.view()

    # one mutation

    def run(self, kind: str, mutate, *, kept: Path | None = None) -> None:
        """Apply ``mutate(conn, rng)`` → (expected seq, what it did), verify on that connection, roll back.

        ``expected`` may be a callable(result) → problem text or None, for the cases checked another way.
        """
        with self.tampering() as conn:
            expected, what = mutate(conn, self.rng)
            result = self.verify(conn, kept=kept)
            # the same verdict from two workers, split at or beside the entry named, or anywhere
            rng = self.split_rng
            near = expected if isinstance(expected, int) else rng.randint(1, self.county.size)
            split_at = min(max(1, rng.choice([near - 1, near, near + 1, rng.randint(1, self.county.size)])),
                           self.county.size - 1)
            split = self.verify(conn, kept=kept, split_at=split_at)
        self.counts[kind] += 1
        if callable(expected):
            wrong = expected(result)
        else:
            wrong = None if (not result.ok and result.first_bad_seq == expected) else f"expected seq {expected}"
        if not wrong and (split.ok, split.first_bad_seq, split.problem) != (result.ok, result.first_bad_seq,
                                                                            result.problem):
            wrong = (f"split after entry {split_at}, two workers said ok={split.ok} "
                     f"first_bad_seq={split.first_bad_seq} problem={split.problem!r}")
        if wrong:
            self.failures.append(f"[seed {self.seed}, mutation {sum(self.counts.values())}] {kind}: {what}: "
                                 f"{wrong}; the verifier said ok={result.ok} first_bad_seq={result.first_bad_seq} "
                                 f"problem={result.problem!r}")

    def report(self, label: str, started: float) -> None:
        total = sum(self.counts.values())
        print(f"\n{label} on {self.engine.dialect.name}: {total} mutations in {time.monotonic() - started:.1f}s: "
              + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))
        assert not self.failures, f"{len(self.failures)} of {total} tamperings misreported or missed:\n" + \
            "\n".join(self.failures[:25])

    # helpers for mutations

    def store(self, conn, table: Table, key: dict, column: str, value, *, cast: str | None = None) -> None:
        """Write ``value`` into one cell as the driver passes it, no column type in between: SQLite keeps it
        in whatever storage class it has (after the column's affinity), PostgreSQL converts it by ``cast``."""
        where = " AND ".join(f'"{c}" = :key_{c}' for c in key)
        conn.execute(text(f'UPDATE {table.name} SET "{column}" = {f"CAST(:v AS {cast})" if cast else ":v"} '
                          f'WHERE {where}'), {"v": value} | {f"key_{c}": v for c, v in key.items()})

    def allow_null(self, conn, table: Table, column: str) -> None:
        """Drop what keeps NULL out of a column, as the schema's owner can inside the transaction: PostgreSQL
        the NOT NULL (and the primary key, for one of its columns); SQLite the table rebuilt without it (a
        key column of a composite primary key then takes NULL, as SQLite allows)."""
        if self.sqlite:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
                               {"n": table.name}).scalar_one()
            name = '"index"' if column == "index" else column
            loose = re.sub(rf"(\s{re.escape(name)} [A-Z]+(?:\(\d+\))?) NOT NULL", r"\1", sql, count=1)
            assert loose != sql, (table.name, column, sql)
            conn.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO {table.name}_tampered")
            conn.exec_driver_sql(loose)
            conn.exec_driver_sql(f"INSERT INTO {table.name} SELECT * FROM {table.name}_tampered")
            conn.exec_driver_sql(f"DROP TABLE {table.name}_tampered")
        else:
            if column in table.primary_key.columns.keys():
                conn.exec_driver_sql(f"ALTER TABLE {table.name} DROP CONSTRAINT pk_{table.name}")
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ALTER COLUMN "{column}" DROP NOT NULL')

    def set_entry(self, conn, seq: int, **values) -> None:
        conn.execute(update(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == seq).values(**values))

    def shift(self, conn, table, start: int, by: int) -> None:
        """Move the seq of every row from ``start`` on by ``by``, through negatives to keep the key unique."""
        conn.execute(update(table).where(table.c.log == LOG, table.c.seq >= start).values(seq=-(table.c.seq + by)))
        conn.execute(update(table).where(table.c.log == LOG, table.c.seq < 0).values(seq=-table.c.seq))

    def forged_row(self, seq: int, prev: str, *, like: int, forgery: dict) -> dict:
        """A well-formed entry at ``seq`` chained to ``prev``: body, body hash and leaf hash all correct."""
        template = self.county.bodies[like]
        body = {"v": 1, "log": LOG, "seq": seq, "kind": forgery["kind"], "at": template["at"],
                "actor": template["actor"], "subjects": forgery["subjects"], "data": forgery["data"]}
        raw = canonical_json(body)
        sha = hashlib.sha256(raw).hexdigest()
        return {"log": LOG, "seq": seq, "recorded_at": dt.datetime.fromisoformat(template["at"]),
                "actor": template["actor"]["name"], "kind": forgery["kind"], "subjects": forgery["subjects"],
                "body": raw, "body_sha256": sha, "prev_hash": prev, "leaf_hash": leaf_hash(seq, prev, sha)}

    def forgery(self, rng) -> dict:
        """What a forged entry says: a passive record, or a household re-registered under another name."""
        if rng.random() < 0.5:
            return PASSIVE_FORGERY
        seq = rng.choice([q for q, b in self.county.bodies.items() if b["kind"] == "household.registered"])
        data = json.loads(json.dumps(self.county.bodies[seq]["data"]))
        data["members"][0]["name"] = "冒名" + data["members"][0]["name"]
        return {"kind": "household.registered", "subjects": self.county.bodies[seq]["subjects"], "data": data}

    def insert_entry(self, conn, row: dict) -> None:
        conn.execute(insert(ENTRIES).values(**row))
        if self.subjects is not None:
            conn.execute(insert(self.subjects), [{"log": LOG, "subject": s, "seq": row["seq"]}
                                                 for s in dict.fromkeys(row["subjects"])])

    def delete_nodes_from(self, conn, seq: int) -> None:
        """Delete the Merkle nodes that cover entry ``seq`` or any later one."""
        doomed = [(lv, ix) for lv, ix, _ in self.county.nodes if (ix + 1) << lv >= seq]
        if doomed:
            conn.execute(delete(NODES).where(NODES.c.log == LOG, tuple_(NODES.c.level, NODES.c.index).in_(doomed)))

    def sign(self, conn, size: int, root: bytes) -> str:
        """Sign a checkpoint with the deployment's real key, as the service does."""
        signer = self.signer
        point = notes.Checkpoint(origin=signer.origin(LOG), size=size, root=root,
                                 signed_at=dt.datetime.now(dt.UTC).replace(microsecond=0))
        note, signature = notes.sign(point, signer.name, signer.key)
        conn.execute(insert(CHECKPOINTS).values(log=LOG, size=size, root=root.hex(), signed_at=point.signed_at,
                                                key_name=signer.name, key_id=signer.key_id,
                                                signature=signature.hex(), note=note))
        return note


def other_hex(rng: random.Random, h: str) -> str:
    i = rng.randrange(len(h))
    return h[:i] + rng.choice([c for c in "0123456789abcdef" if c != h[i]]) + h[i + 1:]


def pick_seq(rng: random.Random, county: County, lo: int = 1, hi: int | None = None) -> int:
    return rng.randint(lo, county.size if hi is None else hi)


@pytest.fixture
def county(app, callers, uow_factory, tmp_path):
    return build_county(app, callers, uow_factory, tmp_path)


def lab_for(app, county: County, label: str) -> tuple[Lab, float]:
    seed = int(hashlib.sha256(f"{label}:{app.extensions['sanquan'].engine.dialect.name}".encode())
               .hexdigest()[:8], 16)
    lab = Lab(app, county, seed)
    lab.assert_clean()
    return lab, time.monotonic()


# --- 1–3, 5: entries edited in place -----------------------------------------------------------------------


def entry_mutations(lab: Lab) -> list:
    county = lab.county

    def body_byte(conn, rng):
        k = pick_seq(rng, county)
        body = bytearray(county.rows[k]["body"])
        pos, bit = rng.randrange(len(body)), rng.randrange(8)
        body[pos] ^= 1 << bit
        lab.set_entry(conn, k, body=bytes(body))
        return k, f"bit {bit} of body byte {pos} of entry {k} flipped"

    def column_hex(column):
        def mutate(conn, rng):
            k = pick_seq(rng, county)
            lab.set_entry(conn, k, **{column: other_hex(rng, county.rows[k][column])})
            return k, f"a hex digit of entry {k}'s {column} changed"
        return mutate

    def body_sha_of_other(conn, rng):
        k = pick_seq(rng, county)
        lab.set_entry(conn, k, body_sha256=county.rows[pick_seq(rng, county, hi=k - 1) if k > 1 else 2]
                      ["body_sha256"])
        return k, f"entry {k}'s body_sha256 replaced by another entry's"

    def kind(conn, rng):
        k = pick_seq(rng, county)
        kinds = sorted({r["kind"] for r in county.rows.values()} - {county.rows[k]["kind"]})
        lab.set_entry(conn, k, kind=rng.choice(kinds))
        return k, f"entry {k}'s kind column changed"

    def subjects(conn, rng):
        k = pick_seq(rng, county)
        old = list(county.rows[k]["subjects"])
        new = rng.choice([old[1:], old + ["210681101001019999"], ["210681101001019999"] + old[1:],
                          list(reversed(old)) if len(old) > 1 else old + old])
        lab.set_entry(conn, k, subjects=new)
        return k, f"entry {k}'s subjects column {old} → {new}"

    def actor(conn, rng):
        k = pick_seq(rng, county)
        lab.set_entry(conn, k, actor=rng.choice(["clerk", "admin", "李某"]) if county.rows[k]["actor"] == "system"
                      else "system")
        return k, f"entry {k}'s actor column changed"

    def recorded_at(conn, rng):
        k = pick_seq(rng, county)
        delta = dt.timedelta(microseconds=rng.choice([1, -1, 1000, -86_400_000_000]))
        lab.set_entry(conn, k, recorded_at=county.rows[k]["recorded_at"] + delta)
        return k, f"entry {k}'s recorded_at moved by {delta}"

    def swap_seqs(conn, rng):
        # Exchanging two rows' seq: both are wrong; the smaller one is where the chain first breaks.
        i = pick_seq(rng, county, hi=county.size - 1)
        j = i + 1 if rng.random() < 0.3 else pick_seq(rng, county, lo=i + 1)
        conn.execute(update(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == i).values(seq=-1))
        conn.execute(update(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == j).values(seq=i))
        conn.execute(update(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == -1).values(seq=j))
        return i, f"entries {i} and {j} exchanged their seq"

    def swap_bodies(conn, rng):
        # Swapping contents (body alone, or with body_sha256 and the columns that describe it): the
        # smaller seq is the first entry whose body no longer hashes, chains or describes its row.
        i = pick_seq(rng, county, hi=county.size - 1)
        j = i + 1 if rng.random() < 0.3 else pick_seq(rng, county, lo=i + 1)
        columns = rng.choice([("body",), ("body", "body_sha256"),
                              ("body", "body_sha256", "kind", "subjects", "actor", "recorded_at")])
        lab.set_entry(conn, i, **{c: county.rows[j][c] for c in columns})
        lab.set_entry(conn, j, **{c: county.rows[i][c] for c in columns})
        return i, f"entries {i} and {j} swapped {', '.join(columns)}"

    def moved_to_other_log(conn, rng):
        k = pick_seq(rng, county)
        if lab.citus:  # a row's county cannot change in place there: out of one shard, into another's
            row = conn.execute(select(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == k)).one()._asdict()
            conn.execute(delete(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == k))
            conn.execute(insert(ENTRIES).values(row | {"log": "210682"}))
        else:
            lab.set_entry(conn, k, log="210682")
        return k, f"entry {k} moved to another county's log"

    def node_hash(conn, rng):
        # A stored Merkle node no longer matches the leaves under it. The verifier cannot tell which of
        # them changed and names the first entry under the node: documented, and as correct as it gets.
        level, index, h = rng.choice(county.nodes)
        conn.execute(update(NODES).where(NODES.c.log == LOG, NODES.c.level == level, NODES.c.index == index)
                     .values(hash=other_hex(rng, h)))
        return (index << level) + 1, f"Merkle node (level {level}, index {index}) changed"

    return [("body byte flipped", body_byte, 3), ("prev_hash digit", column_hex("prev_hash"), 2),
            ("leaf_hash digit", column_hex("leaf_hash"), 2), ("body_sha256 digit", column_hex("body_sha256"), 1),
            ("body_sha256 of another entry", body_sha_of_other, 1), ("kind column", kind, 1),
            ("subjects column", subjects, 1), ("actor column", actor, 1), ("recorded_at column", recorded_at, 1),
            ("seqs swapped", swap_seqs, 2), ("contents swapped", swap_bodies, 2),
            ("moved to another log", moved_to_other_log, 1), ("Merkle node hash", node_hash, 1)]


def test_entries_edited_in_place_are_named(app, county):
    lab, started = lab_for(app, county, "entries")
    mutations = entry_mutations(lab)
    weights = [w for _, _, w in mutations]
    for _ in range(500):
        name, mutate, _ = lab.rng.choices(mutations, weights)[0]
        lab.run(name, mutate)
    lab.assert_clean()
    lab.report("entries edited in place", started)


# --- 4, 6: entries deleted, truncated, inserted ------------------------------------------------------------


def structural_mutations(lab: Lab) -> list:
    county = lab.county
    n = county.size

    def delete_middle(conn, rng):
        k = pick_seq(rng, county, lo=2, hi=n - 1)
        conn.execute(delete(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == k))
        if lab.subjects is not None and rng.random() < 0.5:
            conn.execute(delete(lab.subjects).where(lab.subjects.c.log == LOG, lab.subjects.c.seq == k))
        return k, f"entry {k} deleted"

    def delete_tail(conn, rng):
        # The head is left alone; the Merkle nodes and subject index are left, or cleaned up to match.
        k = pick_seq(rng, county, lo=2)
        conn.execute(delete(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq >= k))
        tidy = rng.random() < 0.5
        if tidy:
            lab.delete_nodes_from(conn, k)
            if lab.subjects is not None:
                conn.execute(delete(lab.subjects).where(lab.subjects.c.log == LOG, lab.subjects.c.seq >= k))
        return k, f"entries {k}–{n} deleted, the head left alone ({'nodes and index tidied' if tidy else 'as is'})"

    def truncate(conn, rng, *, drop_checkpoints: bool):
        """Entries from k on deleted, with their nodes and index rows; the head rewritten to match."""
        k = pick_seq(rng, county, lo=2)
        conn.execute(delete(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq >= k))
        lab.delete_nodes_from(conn, k)
        if lab.subjects is not None:
            conn.execute(delete(lab.subjects).where(lab.subjects.c.log == LOG, lab.subjects.c.seq >= k))
        kept = [p for p in county.checkpoints if p < k]
        if drop_checkpoints:
            conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.log == LOG, CHECKPOINTS.c.size >= k))
        conn.execute(update(HEADS).where(HEADS.c.log == LOG).values(
            size=k - 1, head_hash=county.leaf(k - 1), frontier=pack_frontier(county.frontier(k - 1)),
            checkpoint_size=max(kept, default=0)))
        return k, (f"entries {k}–{n} cut off, nodes, index and head rewritten to match"
                   + (", the checkpoints over them deleted" if drop_checkpoints else ""))

    def truncate_signed(conn, rng):
        # The checkpoint signed at the full size still covers the cut entries: "cut off" names the first.
        return truncate(conn, rng, drop_checkpoints=False)

    def insert_shifted(conn, rng):
        # A forged entry at k, chained to entry k-1 with correct hashes; entries k… move up one seq,
        # the subject index with them. Entry k is the forgery whatever k's place in the Merkle tree.
        k = pick_seq(rng, county, lo=2)
        lab.shift(conn, ENTRIES, k, 1)
        if lab.subjects is not None:
            lab.shift(conn, lab.subjects, k, 1)
        lab.insert_entry(conn, lab.forged_row(k, county.leaf(k - 1), like=k, forgery=lab.forgery(rng)))
        return k, f"a forged entry inserted at {k} (chained to {k - 1}), later entries shifted up"

    def insert_tail(conn, rng):
        """A forged entry after the last, chained to it; maybe after one legitimate append."""
        last, leaf, frontier = n, county.leaf(n), county.frontier(n)
        if rng.random() < 0.5:  # one honest append first: the forgery lands on the other side of a pair
            with Session(bind=conn) as s:
                last = append(s, county=LOG, kind="document.stored", actor=SYSTEM, subjects=["document:1"],
                              data={"document": 1, "title": "会议纪要"})
                s.flush()
            leaf = conn.execute(select(ENTRIES.c.leaf_hash).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == last)
                                ).scalar_one()
            frontier, _ = merkle.frontier_append(frontier, n, bytes.fromhex(leaf))
        seq = last + 1
        how = rng.choice(["bare", "with nodes", "with nodes and head"])
        forgery = lab.forgery(rng) if how == "with nodes and head" else PASSIVE_FORGERY
        if how == "with nodes and head" and forgery is PASSIVE_FORGERY:
            forgery = {"kind": "membership.terminated", "subjects": [COLLECTIVE], "data": {
                "membership": rng.choice([m for m, v in county.targets["memberships"] if v is None]),
                "ground": "death", "decided_on": "2025-01-01"}}
        row = lab.forged_row(seq, leaf, like=n, forgery=forgery)
        lab.insert_entry(conn, row)
        if how != "bare":
            frontier, done = merkle.frontier_append(frontier, seq - 1, bytes.fromhex(row["leaf_hash"]))
            if done:
                conn.execute(insert(NODES), [{"log": LOG, "level": lv, "index": ix, "hash": h.hex()}
                                             for lv, ix, h in done])
        if how == "with nodes and head":  # then only the replay can tell: the tables never saw it
            conn.execute(update(HEADS).where(HEADS.c.log == LOG).values(
                size=seq, head_hash=row["leaf_hash"], frontier=pack_frontier(frontier)))
        return seq, f"a forged {forgery['kind']} appended at {seq} after {last} ({how})"

    return [("row deleted from the middle", delete_middle, 2), ("tail deleted, head left", delete_tail, 2),
            ("tail cut, head rewritten, checkpoint left", truncate_signed, 2),
            ("forged entry inserted, later shifted", insert_shifted, 3),
            ("forged entry appended", insert_tail, 2)], truncate


def test_entries_deleted_cut_off_or_inserted_are_named(app, county):
    lab, started = lab_for(app, county, "structure")
    mutations, truncate = structural_mutations(lab)
    weights = [w for _, _, w in mutations]
    for _ in range(200):
        name, mutate, _ = lab.rng.choices(mutations, weights)[0]
        lab.run(name, mutate)
    # With the checkpoints over the cut entries deleted too, the log in the database is consistent:
    # an export kept earlier (entries or its checkpoint note alone) still shows what was cut.
    for _ in range(30):
        lab.run("tail cut, head and checkpoints rewritten; kept export",
                lambda conn, rng: truncate(conn, rng, drop_checkpoints=True), kept=county.kept)
        lab.run("tail cut, head and checkpoints rewritten; kept checkpoint",
                lambda conn, rng: truncate(conn, rng, drop_checkpoints=True), kept=county.kept / CHECKPOINT_FILE)
    lab.assert_clean()
    lab.report("entries deleted, cut off or inserted", started)


# --- stored types, lengths and NULLs ----------------------------------------------------------------------

HASHES = ("body_sha256", "prev_hash", "leaf_hash")


def storage_mutations(lab: Lab) -> list:
    """Every column of the entries, the Merkle nodes and the subject index: NULL on both engines (the
    constraint dropped first); on SQLite any other storage class in one row (its columns take any type);
    on PostgreSQL another form inside the column's type in one row, or the column's type altered (every
    row then: the first entry is named). Each is (name, mutate)."""
    county, S = lab.county, lab.subjects
    with_subjects = [q for q, r in county.rows.items() if r["subjects"]]
    cases = []

    def entry(column, form, make, *, cast=None, null=False):
        def mutate(conn, rng):
            k = pick_seq(rng, county)
            if null:
                lab.allow_null(conn, ENTRIES, column)
            lab.store(conn, ENTRIES, {"log": LOG, "seq": k}, column, make(county.rows[k], k), cast=cast)
            return k, f"entry {k}'s {column} stored as {form}"
        cases.append((f"ledger_entries.{column} {form}", mutate))

    def node(column, form, make, *, null=False):
        def mutate(conn, rng):
            level, index, h = rng.choice(county.nodes)
            if null:
                lab.allow_null(conn, NODES, column)
            lab.store(conn, NODES, {"log": LOG, "level": level, "index": index}, column, make(level, index, h))
            return (index << level) + 1, f"Merkle node ({level}, {index})'s {column} stored as {form}"
        cases.append((f"ledger_nodes.{column} {form}", mutate))

    def subject(column, form, make, *, null=False):
        def mutate(conn, rng):
            k = rng.choice(with_subjects)
            code = rng.choice(sorted(set(county.rows[k]["subjects"])))
            if null:
                lab.allow_null(conn, S, column)
            lab.store(conn, S, {"log": LOG, "subject": code, "seq": k}, column, make(code, k))
            return k, f"the subject index row ({code}, {k})'s {column} stored as {form}"
        cases.append((f"ledger_subjects.{column} {form}", mutate))

    def altered(table: str, column: str, type_: str, using: str, expected: int):
        def mutate(conn, rng):
            conn.connection.driver_connection.prepare_threshold = None  # plans prepared earlier return the old type
            conn.exec_driver_sql(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE {type_} USING {using}')
            return expected, f"{table}.{column} altered to {type_}"
        cases.append((f"{table}.{column} altered to {type_}", mutate))

    # (Citus refuses any change to the distribution column, log: nobody can make it hold another form there)
    kept = {"log"} if lab.citus else set()
    for column in (c for c in ENTRIES.c.keys() if c not in kept):
        entry(column, "NULL", lambda row, k: None, null=True)
    for column in (c for c in NODES.c.keys() if c not in kept):
        node(column, "NULL", lambda level, index, h: None, null=True)
    for column in (c for c in S.c.keys() if c not in kept):
        subject(column, "NULL", lambda code, k: None, null=True)
    if lab.sqlite:
        entry("log", "a blob", lambda row, k: LOG.encode())
        entry("seq", "text", lambda row, k: f"{k}号")
        entry("seq", "a real number", lambda row, k: k + 0.5)
        entry("seq", "a blob", lambda row, k: str(k).encode())
        entry("recorded_at", "an integer", lambda row, k: 1_700_000_000)
        entry("recorded_at", "a blob", lambda row, k: row["recorded_at"].strftime("%Y-%m-%d %H:%M:%S.%f").encode())
        for column in ("actor", "kind"):
            entry(column, "a blob", lambda row, k, c=column: row[c].encode())
            entry(column, "an integer", lambda row, k: 7)
        entry("subjects", "a blob of its JSON", lambda row, k: json.dumps(row["subjects"]).encode())
        entry("subjects", "an integer", lambda row, k: 0)
        entry("subjects", "text that is not JSON", lambda row, k: "不是 JSON")
        entry("body", "text of the same characters", lambda row, k: row["body"].decode())
        entry("body", "an integer", lambda row, k: 1)
        entry("body", "a real number", lambda row, k: 0.5)
        for column in HASHES:
            entry(column, "an integer", lambda row, k: 12345)
            entry(column, "a blob of its 32 bytes", lambda row, k, c=column: bytes.fromhex(row[c]))
            entry(column, "a blob of its 64 hex digits", lambda row, k, c=column: row[c].encode())
            entry(column, "63 hex digits", lambda row, k, c=column: row[c][:-1])
            entry(column, "65 hex digits", lambda row, k, c=column: row[c] + "0")
            entry(column, "upper case", lambda row, k, c=column: row[c].upper())
        node("log", "a blob", lambda level, index, h: LOG.encode())
        for column, value in (("level", lambda level, index: level), ("index", lambda level, index: index)):
            node(column, "text", lambda level, index, h: "一")
            node(column, "a real number", lambda level, index, h, v=value: v(level, index) + 0.5)
            node(column, "a blob", lambda level, index, h, v=value: str(v(level, index)).encode())
        node("hash", "an integer", lambda level, index, h: 12345)
        node("hash", "a blob of its 32 bytes", lambda level, index, h: bytes.fromhex(h))
        node("hash", "a blob of its 64 hex digits", lambda level, index, h: h.encode())
        node("hash", "63 hex digits", lambda level, index, h: h[:-1])
        node("hash", "upper case", lambda level, index, h: h.upper())
        subject("log", "a blob", lambda code, k: LOG.encode())
        subject("subject", "a blob", lambda code, k: code.encode())
        subject("subject", "an integer", lambda code, k: 0)
        subject("seq", "text", lambda code, k: f"{k}号")
        subject("seq", "a real number", lambda code, k: k + 0.5)
        subject("seq", "a blob", lambda code, k: str(k).encode())
    else:
        entry("subjects", "a JSON string", lambda row, k: '"x"', cast="json")
        entry("subjects", "a JSON object", lambda row, k: "{}", cast="json")
        entry("subjects", "JSON null", lambda row, k: "null", cast="json")
        entry("body", "no bytes", lambda row, k: b"")
        for column in ("actor", "kind"):
            entry(column, "empty text", lambda row, k: "")
        for column in HASHES:
            entry(column, "63 hex digits", lambda row, k, c=column: row[c][:-1])
            entry(column, "upper case", lambda row, k, c=column: row[c].upper())
            entry(column, "empty text", lambda row, k: "")
        node("hash", "63 hex digits", lambda level, index, h: h[:-1])
        node("hash", "upper case", lambda level, index, h: h.upper())
        subject("subject", "empty text", lambda code, k: "")
        altered("ledger_entries", "body", "text", "convert_from(body, 'UTF8')", 1)
        for column in HASHES:
            altered("ledger_entries", column, "bytea", f"decode({column}, 'hex')", 1)
        altered("ledger_entries", "seq", "numeric", "seq::numeric", 1)
        altered("ledger_nodes", "hash", "bytea", "decode(hash, 'hex')", 1)
        altered("ledger_subjects", "subject", "bytea", "convert_to(subject, 'UTF8')", with_subjects[0])
        altered("ledger_subjects", "seq", "numeric", "seq::numeric", with_subjects[0])
    return cases


def test_columns_stored_as_another_type_or_length_or_null_are_named(app, county):
    """What SQLite lets any row hold and what an owner of the schema can make PostgreSQL hold: the first
    entry it touches is named, by one process and by two, never a traceback."""
    lab, started = lab_for(app, county, "storage")
    mutations = storage_mutations(lab)
    for _ in range(2):  # every column and form, each in two rows drawn at random
        for name, mutate in mutations:
            lab.run(name, mutate)
    lab.assert_clean()
    lab.report("columns stored as another type or length, or NULL", started)


# --- 7: a fork re-signed with the real key -----------------------------------------------------------------


def fork(lab: Lab, conn, rng) -> tuple[int, str]:
    """Rewrite one household.registered entry (a member's name, or the address), and the table to match;
    recompute every later hash, all the Merkle nodes and the head; re-sign the checkpoints with the real
    key. Returns the seq rewritten and the new checkpoint note."""
    county = lab.county
    k = rng.choice([q for q, b in county.bodies.items() if b["kind"] == "household.registered"])
    body = json.loads(county.rows[k]["body"])
    data = body["data"]
    if rng.random() < 0.5:
        member = rng.choice(data["members"])
        member["name"] = "伪" + member["name"]
        conn.execute(update(Person.__table__).where(Person.__table__.c.id == member["id"])
                     .values(name=member["name"]))
    else:
        data["address"] = "东港市某处伪造地址"
        conn.execute(update(Household.__table__).where(Household.__table__.c.code == data["code"])
                     .values(address=data["address"]))
    prev, rewritten = county.leaf(k - 1), []
    frontier, nodes = county.frontier(0), []
    for seq in range(1, county.size + 1):
        if seq >= k:
            raw = canonical_json(body) if seq == k else county.rows[seq]["body"]
            sha = hashlib.sha256(raw).hexdigest()
            leaf = leaf_hash(seq, prev, sha)
            rewritten.append({"q": seq, "b": raw, "s": sha, "p": prev, "l": leaf})
            prev = leaf
        else:
            leaf = county.leaf(seq)
        frontier, done = merkle.frontier_append(frontier, seq - 1, bytes.fromhex(leaf))
        nodes += [{"log": LOG, "level": lv, "index": ix, "hash": h.hex()} for lv, ix, h in done]
    conn.execute(update(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == bindparam("q")).values(
        body=bindparam("b"), body_sha256=bindparam("s"), prev_hash=bindparam("p"), leaf_hash=bindparam("l")),
        rewritten)
    conn.execute(delete(NODES).where(NODES.c.log == LOG))
    conn.execute(insert(NODES), nodes)
    conn.execute(update(HEADS).where(HEADS.c.log == LOG).values(head_hash=prev, frontier=pack_frontier(frontier),
                                                                 checkpoint_size=county.size))
    conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.log == LOG, CHECKPOINTS.c.size >= k))
    return k, lab.sign(conn, county.size, merkle.frontier_root(frontier))


def test_a_fork_resigned_with_the_real_key_is_named_by_a_kept_export(app, county, tmp_path):
    lab, started = lab_for(app, county, "fork")
    for i in range(30):
        with lab.tampering() as conn:
            k, note = fork(lab, conn, lab.rng)
            alone = lab.verify(conn)
            against_export = lab.verify(conn, kept=county.kept)
            against_note = lab.verify(conn, kept=county.kept / CHECKPOINT_FILE)
            with Session(bind=conn) as s:  # the forger's own export, checked offline
                export_log(s, LOG, tmp_path / f"fork{i}", verifier=lab.signer.verifier, note=note)
        offline_alone = verify_export(tmp_path / f"fork{i}")
        offline = verify_export(tmp_path / f"fork{i}", kept=county.kept)
        lab.counts["fork re-signed"] += 1
        what = f"[seed {lab.seed}] fork at {k}"
        # internally consistent: hashes, chain, nodes, head, the re-signed checkpoint and the tables agree
        if not alone.ok:
            lab.failures.append(f"{what}: the forged log itself does not verify ({alone.problem}): not a clean fork")
        if against_export.ok or against_export.first_bad_seq != k:
            lab.failures.append(f"{what}: against the kept export: expected seq {k}, got "
                                f"{against_export.first_bad_seq} ({against_export.problem})")
        if not offline_alone.ok or offline.ok or offline.first_bad_seq != k:
            lab.failures.append(f"{what}: the forged export offline: alone {offline_alone.problem}; against the "
                                f"kept export: expected seq {k}, got {offline.first_bad_seq} ({offline.problem})")
        # the note alone bounds it: the first `size` entries no longer hash to the kept root
        if (against_note.ok or against_note.first_bad_seq < k or "rewritten" not in against_note.problem):
            lab.failures.append(f"{what}: against the kept checkpoint: expected a rewrite at or before "
                                f"{against_note.first_bad_seq} ≥ {k}, got {against_note.problem}")
    lab.assert_clean()
    lab.report("forks re-signed", started)


# --- 8: registry rows edited behind the ledger --------------------------------------------------------------


def registry_mutations(lab: Lab) -> list:
    county = lab.county
    t, w = county.targets, county.written_by
    households = [code for code, _ in t["households"]]
    rights = [r[0] for r in t["rights"]]
    P, HH, PV, R = Person.__table__, Household.__table__, ParcelVersion.__table__, Right.__table__
    RP, RS, M, T, TP = (RightParcel.__table__, RightShares.__table__, Membership.__table__, Transfer.__table__,
                        TransferPayment.__table__)

    def person_name(conn, rng):
        pid, _ = rng.choice(t["persons"])
        conn.execute(update(P).where(P.c.id == pid).values(name=P.c.name + "某"))
        return w["persons"][pid], f"person {pid}'s name changed"

    def household_address(conn, rng):
        code, address = rng.choice(t["households"])
        conn.execute(update(HH).where(HH.c.code == code).values(address=(address or "") + "附1号"))
        return w["households"][code], f"household {code}'s address changed"

    def parcel_geometry(conn, rng):
        vid, code, _ = rng.choice(t["parcels"])
        if lab.sqlite:
            wkb = conn.execute(text("SELECT geom FROM parcel_versions WHERE id = :i"), {"i": vid}).scalar_one()
        else:
            wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM parcel_versions WHERE id = :i"),
                               {"i": vid}).scalar_one()
        geom = shapely.from_wkb(bytes(wkb))
        coords = shapely.get_coordinates(geom)
        ring = len(geom.geoms[0].exterior.coords)
        j, axis = rng.randrange(1, ring - 1), rng.randrange(2)  # a vertex that does not close the ring
        coords[j, axis] += rng.choice([1, -1]) * 10.0 ** -rng.randint(6, 9)
        moved = shapely.to_wkb(shapely.set_coordinates(geom, coords))
        if lab.sqlite:
            conn.execute(text("UPDATE parcel_versions SET geom = :g WHERE id = :i"), {"g": moved, "i": vid})
        else:
            conn.execute(text("UPDATE parcel_versions SET geom = ST_GeomFromWKB(:g, 4490) WHERE id = :i"),
                         {"g": moved, "i": vid})
        return w["parcels"][code], f"parcel {code}: vertex {j} moved along axis {axis}"

    def parcel_land_use(conn, rng):
        vid, code, use = rng.choice(t["parcels"])
        conn.execute(update(PV).where(PV.c.id == vid).values(
            land_use=rng.choice([u for u in ("cultivated", "garden", "forest", "homestead") if u != use])))
        return w["parcels"][code], f"parcel {code}'s land_use changed"

    def parcel_area(conn, rng):
        vid, code, _ = rng.choice(t["parcels"])
        column = rng.choice(["area_m2", "declared_area_m2"])
        conn.execute(update(PV).where(PV.c.id == vid).values({column: PV.c[column] + rng.choice([0.5, -12, 100])}))
        return w["parcels"][code], f"parcel {code}'s {column} changed"

    def right_holder(conn, rng):
        right, holder, type_, _, valid_to = rng.choice(t["rights"])
        busy = {(r[1], r[2]) for r in t["rights"] if r[4] is None} if valid_to is None else set()
        conn.execute(update(R).where(R.c.id == right).values(  # one open right of a type per household
            holder_code=rng.choice([h for h in households if h != holder and (h, type_) not in busy])))
        return w["rights"][right], f"right {right}'s holder_code changed"

    def right_valid_to(conn, rng):
        right, _, _, _, valid_to = rng.choice(t["rights"])
        if valid_to is not None and rng.random() < 0.5:  # an ended right's end date moved
            conn.execute(update(R).where(R.c.id == right).values(valid_to=valid_to - dt.timedelta(days=40)))
            return w["rights"][right], f"right {right}'s end date moved"
        conn.execute(update(R).where(R.c.id == right).values(valid_to=TODAY if valid_to is None else None))
        return w["rights"][right], f"right {right} {'ended' if valid_to is None else 'revived'} behind the ledger"

    def contract_end(conn, rng):
        right = rng.choice([r[0] for r in t["rights"] if r[2] == "contract"])
        conn.execute(update(R).where(R.c.id == right).values(end=dt.date(2057, 12, 31)))
        return w["rights"][right], f"contract {right}'s end moved"

    def link_moved(conn, rng):
        link, parcel, right = rng.choice(t["links"])
        conn.execute(update(RP).where(RP.c.id == link).values(right_id=rng.choice([r for r in rights if r != right])))
        return w["links"][parcel], f"parcel {parcel}'s link moved from {right}"

    def holding(conn, rng):
        row, right = rng.choice(t["shares"])
        conn.execute(update(RS).where(RS.c.id == row).values(shares=RS.c.shares + rng.choice([1, -1, 0.5])))
        return w["shares"][right], f"holding of {right} changed"

    def membership(conn, rng):
        mid, valid_to = rng.choice(t["memberships"])
        if valid_to is not None and rng.random() < 0.5:  # an ended membership's end date or ground rewritten
            conn.execute(update(M).where(M.c.id == mid).values(rng.choice([
                {"valid_to": valid_to - dt.timedelta(days=3)}, {"end_ground": "settled_in_city"}])))
            return w["memberships"][mid], f"membership {mid}'s ending rewritten"
        conn.execute(update(M).where(M.c.id == mid).values(valid_to=TODAY if valid_to is None else None))
        return w["memberships"][mid], f"membership {mid} {'closed' if valid_to is None else 'reopened'}"

    def transfer_status(conn, rng):
        tid, status = rng.choice(t["transfers"])
        conn.execute(update(T).where(T.c.id == tid).values(status=rng.choice(
            [s for s in ("pending", "consented", "paid", "completed", "withdrawn", "refused") if s != status])))
        return w["transfers"][tid], f"transfer {tid}'s status changed from {status}"

    def transfer_price(conn, rng):
        tid, _ = rng.choice(t["transfers"])
        conn.execute(update(T).where(T.c.id == tid).values(price=T.c.price + rng.choice([1, -1000, 0.01])))
        return w["transfers"][tid], f"transfer {tid}'s price changed"

    def payment(conn, rng):
        pid, tid = rng.choice(t["payments"])
        how = rng.choice(["amount", "deleted", "added", "reference", "date"])
        if how == "amount":
            conn.execute(update(TP).where(TP.c.id == pid).values(amount=TP.c.amount + rng.choice([1, -100, 0.01])))
        elif how == "reference":
            conn.execute(update(TP).where(TP.c.id == pid).values(reference="现金"))
        elif how == "date":
            conn.execute(update(TP).where(TP.c.id == pid).values(paid_on=dt.date(2020, 1, 1)))
        elif how == "deleted":
            conn.execute(delete(TP).where(TP.c.id == pid))
        else:
            last = conn.execute(select(func.coalesce(func.max(TP.c.id), 0)).where(TP.c.county_code == LOG)).scalar_one()
            number = last + 1
            conn.execute(insert(TP).values(id=number, transfer_id=tid, county_code=LOG, amount=500, paid_on=TODAY,
                                           reference="伪造", ledger_seq=0))
        return w["transfers"][tid], f"a payment of transfer {tid}: {how}"

    def transfer_party(conn, rng):
        tid, _ = rng.choice(t["transfers"])
        conn.execute(update(T).where(T.c.id == tid).values(
            to_household=rng.choice([h for h in households]), term_end=dt.date(2040, 1, 1)))
        return w["transfers"][tid], f"transfer {tid}'s recipient and term rewritten"

    def household_inserted(conn, rng):
        claimed = pick_seq(rng, county)
        code = f"{COLLECTIVE}{rng.randint(9000, 9999)}"
        conn.execute(insert(HH).values(code=code, collective_code=COLLECTIVE, county_code=LOG,
                                       address="伪造户", ledger_seq=claimed))
        return claimed, f"household {code} inserted, claiming entry {claimed}"

    def person_inserted(conn, rng):
        code = rng.choice(households)
        number = conn.execute(select(func.max(P.c.id)).where(P.c.county_code == LOG)).scalar_one() + 1
        conn.execute(insert(P).values(id=number, household_code=code, county_code=LOG, name="冒名", sex="male",
                                      id_number=id_number(COUNTY, "19500101", rng.randrange(1, 999, 2)),
                                      birth_date=dt.date(1950, 1, 1), relation="child"))
        return w["households"][code], f"a person inserted into household {code}"

    return [("person name", person_name, 2), ("household address", household_address, 1),
            ("parcel geometry", parcel_geometry, 2), ("parcel land_use", parcel_land_use, 1),
            ("parcel area", parcel_area, 1), ("right holder", right_holder, 1),
            ("right valid_to", right_valid_to, 1), ("contract end", contract_end, 1),
            ("link moved", link_moved, 2), ("share holding", holding, 1), ("membership", membership, 1),
            ("transfer status", transfer_status, 1), ("transfer price", transfer_price, 1),
            ("payment", payment, 1), ("transfer party", transfer_party, 1),
            ("household inserted", household_inserted, 1),
            ("person inserted", person_inserted, 1)]


def test_registry_rows_edited_behind_the_ledger_are_named(app, county):
    lab, started = lab_for(app, county, "registry")
    mutations = registry_mutations(lab)
    weights = [w for _, _, w in mutations]
    for _ in range(250):
        name, mutate, _ = lab.rng.choices(mutations, weights)[0]
        lab.run(name, mutate)
    lab.assert_clean()
    lab.report("registry rows edited behind the ledger", started)


# --- through the CLI and the API: committed tamperings, each undone -----------------------------------------


@contextlib.contextmanager
def committed(lab: Lab):
    """A transaction that commits, the triggers back in place before it does."""
    with lab.engine.connect() as conn, conn.begin():
        if lab.sqlite:
            saved = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                      "AND tbl_name LIKE 'ledger%'")).all()
            for name, _ in saved:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            for table in lab.triggers:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield conn
        if lab.sqlite:
            for _, sql in saved:
                conn.exec_driver_sql(sql)
        else:
            for table in lab.triggers:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_the_cli_and_the_api_name_committed_tamperings(app, county, callers):
    lab, started = lab_for(app, county, "committed")
    auditor = callers["auditor"]
    t, w = county.targets, county.written_by
    E, P, HH, T = ENTRIES, Person.__table__, Household.__table__, Transfer.__table__

    def cells(rng):
        """(table, key column, key, column, new value, expected seq) for one cell to change."""
        k = pick_seq(rng, county)
        row = county.rows[k]
        pid, _ = rng.choice(t["persons"])
        code, address = rng.choice(t["households"])
        tid, _ = rng.choice(t["transfers"])
        body = bytearray(row["body"])
        body[rng.randrange(len(body))] ^= 0x20
        return rng.choice([
            (E, E.c.seq, k, "body", bytes(body), k),
            (E, E.c.seq, k, "prev_hash", other_hex(rng, row["prev_hash"]), k),
            (E, E.c.seq, k, "leaf_hash", other_hex(rng, row["leaf_hash"]), k),
            (E, E.c.seq, k, "body_sha256", other_hex(rng, row["body_sha256"]), k),
            (E, E.c.seq, k, "actor", "伪造者", k),
            (P, P.c.id, pid, "name", "伪造姓名", w["persons"][pid]),
            (HH, HH.c.code, code, "address", (address or "") + "伪", w["households"][code]),
            (T, T.c.id, tid, "price", 1, w["transfers"][tid]),
        ])

    def where(table, key_column, key):
        return (key_column == key) & (table.c.log == LOG) if table is E else key_column == key

    runner = CliRunner()
    for i in range(20):
        table, key_column, key, column, value, expected = cells(lab.rng)
        with committed(lab) as conn:
            old = conn.execute(select(table.c[column]).where(where(table, key_column, key))).scalar_one()
            conn.execute(update(table).where(where(table, key_column, key)).values({column: value}))
        what = f"[seed {lab.seed}] {table.name}.{column} of {key} committed"
        if i % 2:
            out = runner.invoke(cli, ["ledger", "verify", "--county", LOG],
                                obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)
            lab.counts["CLI"] += 1
            if out.exit_code != 1 or f"BAD at seq {expected}:" not in out.output:
                lab.failures.append(f"{what}: the CLI said (exit {out.exit_code}) {out.output.strip()!r}, "
                                    f"expected seq {expected}")
        else:
            got = auditor.get(f"/api/v1/ledger/{LOG}/verify").get_json()
            lab.counts["API"] += 1
            if got.get("ok") is not False or got.get("first_bad_seq") != expected:
                lab.failures.append(f"{what}: the API said {got}, expected seq {expected}")
        with committed(lab) as conn:
            conn.execute(update(table).where(where(table, key_column, key)).values({column: old}))
    lab.assert_clean()
    with pytest.raises(DatabaseError, match="append-only"), lab.engine.begin() as conn:  # the triggers are back
        conn.execute(update(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == 1).values(actor="x"))
    clean = runner.invoke(cli, ["ledger", "verify", "--county", LOG], obj=ScriptInfo(create_app=lambda: app))
    assert clean.exit_code == 0 and f"{LOG}: ok" in clean.output, clean.output
    assert auditor.get(f"/api/v1/ledger/{LOG}/verify").get_json()["ok"] is True
    lab.report("committed tamperings through the CLI and the API", started)


def test_the_cli_in_one_or_two_processes_and_the_api_name_a_column_of_another_type_or_null(app, county, callers,
                                                                                         monkeypatch):
    """Committed: ``sanquan ledger verify`` (and ``--workers 2``, a second interpreter on its own connection)
    exits 1 with ``BAD at seq N`` and no traceback, and ``GET …/verify`` names the same entry. SQLite: a
    row's column rewritten as another type; PostgreSQL: a NULL, the NOT NULL dropped first."""
    lab, started = lab_for(app, county, "committed storage")
    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)
    m = verify._split_point(county.size)
    lower, upper = lab.rng.randint(2, m - 1), lab.rng.randint(m + 2, county.size)
    if lab.sqlite:
        cases = [(lower, "body", lambda row: row["body"].decode()),
                 (upper, "leaf_hash", lambda row: bytes.fromhex(row["leaf_hash"])),
                 (upper, "subjects", lambda row: 0), (lower, "recorded_at", lambda row: 1_700_000_000)]
    else:
        cases = [(lower, column, lambda row: None) for column in ("body", "subjects")] + [
            (upper, column, lambda row: None) for column in ("leaf_hash", "recorded_at")]
    runner = CliRunner()
    for k, column, value in cases:
        row = county.rows[k]
        with committed(lab) as conn:
            if not lab.sqlite:
                lab.allow_null(conn, ENTRIES, column)
            lab.store(conn, ENTRIES, {"log": LOG, "seq": k}, column, value(row))
        what = f"[seed {lab.seed}] entry {k}'s {column} committed as {value(row)!r:.40}"
        for workers in ("1", "2"):
            out = runner.invoke(cli, ["ledger", "verify", "--county", LOG, "--workers", workers],
                                obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)
            lab.counts[f"CLI, {workers} process{'es' if workers == '2' else ''}"] += 1
            if out.exit_code != 1 or f"BAD at seq {k}:" not in out.output or "Traceback" in out.output:
                lab.failures.append(f"{what}: the CLI with {workers} worker(s) said (exit {out.exit_code}) "
                                    f"{out.output.strip()!r}")
        got = callers["auditor"].get(f"/api/v1/ledger/{LOG}/verify")
        lab.counts["API"] += 1
        if got.status_code != 200 or got.get_json()["ok"] is not False or got.get_json()["first_bad_seq"] != k:
            lab.failures.append(f"{what}: the API said {got.status_code} {got.get_data(as_text=True)[:300]}")
        with committed(lab) as conn:
            conn.execute(update(ENTRIES).where(ENTRIES.c.log == LOG, ENTRIES.c.seq == k).values({column: row[column]}))
            if not lab.sqlite:
                conn.exec_driver_sql(f"ALTER TABLE ledger_entries ALTER COLUMN {column} SET NOT NULL")
    lab.assert_clean()
    lab.report("columns of another type or NULL, committed, through the CLI and the API", started)


def test_two_processes_name_committed_tamperings_as_one_does(app, county, monkeypatch):
    """``verify --workers 2`` in earnest: a second interpreter on its own connection checks the upper part
    of the log and replays the parcels; committed tamperings on either side of the split, in the entries
    and behind the ledger, get the verdict of a single pass."""
    lab, started = lab_for(app, county, "two processes")
    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)
    m = verify._split_point(county.size)
    t, w = county.targets, county.written_by
    E, P, PV = ENTRIES, Person.__table__, ParcelVersion.__table__
    vid, code, use = lab.rng.choice(t["parcels"])
    pid, _ = lab.rng.choice(t["persons"])
    lower, upper = lab.rng.randint(2, m - 1), lab.rng.randint(m + 2, county.size)
    cases = [(E, E.c.seq, lower, "leaf_hash", other_hex(lab.rng, county.rows[lower]["leaf_hash"]), lower),
             (E, E.c.seq, upper, "prev_hash", other_hex(lab.rng, county.rows[upper]["prev_hash"]), upper),
             (P, P.c.id, pid, "name", "伪造姓名", w["persons"][pid]),
             (PV, PV.c.id, vid, "land_use", "forest" if use != "forest" else "garden", w["parcels"][code])]

    def where(table, key_column, key):
        return (key_column == key) & (table.c.log == LOG) if table is E else key_column == key

    def both(**kw):
        return [verify_county(UnitOfWork(lab.app.extensions["sanquan"].session_factory, write=False), LOG,
                              workers=workers, **kw) for workers in (1, 2)]

    for table, key_column, key, column, value, expected in cases:
        with committed(lab) as conn:
            old = conn.execute(select(table.c[column]).where(where(table, key_column, key))).scalar_one()
            conn.execute(update(table).where(where(table, key_column, key)).values({column: value}))
        one, two = both()
        lab.counts[f"{table.name}.{column}"] += 1
        if not (one.first_bad_seq == two.first_bad_seq == expected and one.problem == two.problem):
            lab.failures.append(f"[seed {lab.seed}] {table.name}.{column} of {key} (split after {m}): one process "
                                f"said {one.first_bad_seq} {one.problem!r}, two said {two.first_bad_seq} "
                                f"{two.problem!r}, expected seq {expected}")
        with committed(lab) as conn:
            conn.execute(update(table).where(where(table, key_column, key)).values({column: old}))
    one, two = both()
    assert one.ok and two.ok and two.size == one.size == county.size, (one.view(), two.view())
    assert len(two.checks["worker_seconds"]) == 2 and two.checks["replayed_objects"] == one.checks["replayed_objects"]
    lab.report("committed tamperings verified by two processes", started)


def test_an_entry_committed_while_two_processes_verify_is_not_seen_half_way(app, county, monkeypatch):
    """PostgreSQL: both processes read one snapshot (REPEATABLE READ, exported to the second), so a write
    committed after the verification began is neither in the entries nor the head it checks."""
    lab, _ = lab_for(app, county, "snapshot")
    if lab.sqlite:
        pytest.skip("PostgreSQL only: SQLite's second process cannot share the first one's snapshot "
                    "(docs/operations.md says to verify a quiet log)")
    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)
    factory = app.extensions["sanquan"].session_factory
    stored = verify.stored_checkpoints

    def with_a_write_meanwhile(s, log, public_key):
        with UnitOfWork(factory) as uow:  # another connection commits an entry after the head was read
            append(uow.session, county=LOG, kind="document.stored", actor=SYSTEM, subjects=["document:0"],
                   data={"id": 0, "kind": "other", "title": "并发写入", "filename": "x.pdf", "sha256": "0" * 64,
                         "size": 1})
            uow.commit()
        return stored(s, log, public_key)

    monkeypatch.setattr(verify, "stored_checkpoints", with_a_write_meanwhile)
    result = verify_county(UnitOfWork(factory, write=False), LOG, workers=2)
    assert result.ok and result.size == county.size and "worker_seconds" in result.checks, result.view()
    monkeypatch.setattr(verify, "stored_checkpoints", stored)
    after = verify_county(UnitOfWork(factory, write=False), LOG, workers=2)
    assert after.ok and after.size == county.size + 1, after.view()
