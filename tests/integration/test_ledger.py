"""The county ledger: hash chain, canonical bodies, append-only triggers, atomicity."""
from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from app.audit.verify import verify_county
from app.auth.services import SYSTEM
from app.errors import RuleViolation
from app.ledger.models import LedgerEntry
from app.ledger.services import GENESIS_HASH, append, leaf_hash
from app.parties.services import create_collective
from tests.conftest import COLLECTIVE


@pytest.mark.no_replay_check
def test_entries_chain_from_genesis(uow_factory):
    with uow_factory() as uow:
        for i in range(5):
            append(uow.session, county="210681", kind="test.event", actor=SYSTEM, subjects=[str(i)], data={"i": i})
        uow.commit()
    with uow_factory(write=False) as uow:
        rows = uow.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    prev = GENESIS_HASH
    for r in rows:
        assert r.prev_hash == prev
        assert r.body_sha256 == hashlib.sha256(r.body).hexdigest()
        expected = hashlib.sha256(b"\x00" + r.seq.to_bytes(8, "big") + bytes.fromhex(prev)
                                  + bytes.fromhex(r.body_sha256)).hexdigest()
        assert r.leaf_hash == expected == leaf_hash(r.seq, prev, r.body_sha256)
        body = json.loads(r.body)
        assert rfc8785.dumps(body) == r.body  # canonical JSON, byte for byte
        assert (body["seq"], body["log"], body["kind"]) == (r.seq, "210681", "test.event")
        prev = r.leaf_hash
    assert verify_county(uow_factory(write=False), "210681", replay=False).size == 5


@pytest.mark.no_replay_check
def test_counties_have_separate_logs(uow_factory):
    with uow_factory() as uow:
        append(uow.session, county="210681", kind="a", actor=SYSTEM, subjects=[], data={})
        append(uow.session, county="210682", kind="b", actor=SYSTEM, subjects=[], data={})
        append(uow.session, county="210681", kind="c", actor=SYSTEM, subjects=[], data={})
        uow.commit()
    with uow_factory(write=False) as uow:
        got = uow.session.execute(select(LedgerEntry.log, LedgerEntry.seq).order_by(
            LedgerEntry.log, LedgerEntry.seq)).all()
    assert [tuple(r) for r in got] == [("210681", 1), ("210681", 2), ("210682", 1)]


@pytest.mark.no_replay_check
@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET kind = 'forged'",
    "DELETE FROM ledger_entries",
])
def test_ledger_rows_cannot_be_updated_or_deleted(uow_factory, statement):
    with uow_factory() as uow:
        append(uow.session, county="210681", kind="x", actor=SYSTEM, subjects=[], data={})
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(DatabaseError, match="append-only"):
            uow.session.execute(text(statement))
    assert verify_county(uow_factory(write=False), "210681", replay=False).ok


def test_refused_change_leaves_no_entry(uow_factory):
    create_collective(uow_factory(), actor=SYSTEM, code=COLLECTIVE, name="一组")
    with pytest.raises(RuleViolation):
        create_collective(uow_factory(), actor=SYSTEM, code=COLLECTIVE, name="again")
    with uow_factory(write=False) as uow:
        kinds = uow.session.scalars(select(LedgerEntry.kind)).all()
    assert kinds == ["collective.registered"]


@pytest.mark.no_replay_check
def test_verify_locates_a_body_edited_behind_the_triggers(uow_factory, database_url):
    with uow_factory() as uow:
        for i in range(4):
            append(uow.session, county="210681", kind="x", actor=SYSTEM, subjects=[], data={"i": i})
        uow.commit()
    with uow_factory() as uow:
        if database_url.startswith("sqlite"):
            uow.session.execute(text("DROP TRIGGER ledger_entries_no_update"))
        else:
            uow.session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only"))
        uow.session.execute(text("UPDATE ledger_entries SET body = :b WHERE seq = 3"),
                            {"b": rfc8785.dumps({"forged": True})})
        uow.commit()
    result = verify_county(uow_factory(write=False), "210681", replay=False)
    assert not result.ok and result.first_bad_seq == 3 and "body" in result.problem


def test_every_api_change_writes_one_entry(clerk, admin, make_parcel, make_household):
    make_parcel()  # collective + parcel
    make_household(collective=COLLECTIVE)
    kinds = [e["kind"] for e in admin.get("/api/v1/ledger/210681").get_json()["items"]]
    assert kinds == ["collective.registered", "parcel.registered", "household.registered"]


def test_stored_geometry_is_bit_for_bit_the_ledger_geometry(clerk, admin, make_parcel, uow_factory):
    f = make_parcel(0.123456789, 0.987654321, size_m=33.333333)
    entry = admin.get(f"/api/v1/ledger/210681?after={f['properties']['ledger_seq'] - 1}&limit=1").get_json()
    recorded = entry["items"][0]["body"]["data"]["geometry_wkb"]
    import shapely

    from app.parcels.queries import ParcelRepository
    with uow_factory(write=False) as uow:
        stored = ParcelRepository(uow.session).current(f["id"]).geom
    assert stored.geom_type == "MultiPolygon"
    assert shapely.to_wkb(stored, hex=True) == recorded
