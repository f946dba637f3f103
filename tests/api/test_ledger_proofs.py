"""The verifiable ledger over HTTP: signed checkpoints, RFC 9162 proofs, verification, history links, QR checks."""
from __future__ import annotations

import contextlib
import hashlib
import re
from urllib.parse import quote

import pytest
from sqlalchemy import text

from app.auth.services import SYSTEM
from app.ledger import checkpoint as notes
from app.ledger import merkle
from app.ledger.services import append, canonical_json, leaf_hash
from tests.api.test_certificates import _contract
from tests.conftest import COLLECTIVE, COUNTY

LEDGER = f"/api/v1/ledger/{COUNTY}"


def _leaves(caller) -> list[bytes]:
    items, after = [], 0
    while True:
        page = caller.get(f"{LEDGER}?after={after}&limit=1000").get_json()
        items += page["items"]
        if page["next_after"] is None:
            return [bytes.fromhex(e["leaf_hash"]) for e in items]
        after = page["next_after"]


def _fill(uow_factory, n: int) -> None:
    """n entries the replay knows and ignores (documents' records), so the test is about the tree."""
    with uow_factory() as uow:
        for i in range(n):
            append(uow.session, county=COUNTY, kind="document.stored", actor=SYSTEM, subjects=[f"document:{i}"],
                   data={"id": i, "kind": "other", "title": f"d{i}", "filename": "f", "sha256": "0" * 64, "size": 1})
        uow.commit()


def test_a_checkpoint_is_signed_over_the_merkle_root_and_opens_with_the_verifier_key(callers, uow_factory):
    admin, auditor = callers["admin"], callers["auditor"]
    _fill(uow_factory, 13)
    r = auditor.post(f"{LEDGER}/checkpoint")
    assert r.status_code == 201
    point = r.get_json()
    leaves = _leaves(auditor)
    assert point["size"] == len(leaves) == 13
    assert point["root"] == merkle.root_of(leaves).hex()
    opened = notes.open_signed(point["note"], point["verifier_key"])  # what an auditor does offline
    assert (opened.size, opened.root.hex(), opened.origin) == (13, point["root"], f"sanquan.local/ledger/{COUNTY}")
    name, key_id, public_key = notes.parse_verifier_key(point["verifier_key"])
    assert key_id.hex() == point["key_id"]
    assert notes.verify_signature(opened, bytes.fromhex(point["signature"]), public_key)
    # the newest, as JSON and as the C2SP text; an older one by size
    assert admin.get(f"{LEDGER}/checkpoint").get_json()["size"] == 13
    text = admin.get(f"{LEDGER}/checkpoint?format=note")
    assert text.mimetype == "text/plain" and text.get_data(as_text=True) == point["note"]
    assert admin.get(f"{LEDGER}/checkpoint?size=1").get_json()["size"] == 1  # the first append signed one
    assert admin.get(f"{LEDGER}/checkpoint?size=7").status_code == 404


def test_checkpoints_are_signed_every_n_entries(settings):
    from dataclasses import replace

    from sqlalchemy import select

    from app import create_app
    from app.db import UnitOfWork
    from app.ledger.models import LedgerCheckpoint

    app = create_app(replace(settings, checkpoint_every=5))
    factory = app.extensions["sanquan"].session_factory
    try:
        _fill(lambda write=True: UnitOfWork(factory, write=write), 12)
        with UnitOfWork(factory, write=False) as uow:
            sizes = uow.session.scalars(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size)).all()
    finally:
        app.extensions["sanquan"].engine.dispose()
    assert sizes == [1, 5, 10]  # the first append, then each multiple of 5


def test_only_admins_and_auditors_ask_for_checkpoints_and_only_readers_see_them(callers, uow_factory):
    _fill(uow_factory, 2)
    assert callers["clerk"].post(f"{LEDGER}/checkpoint").status_code == 403
    assert callers["exchange"].get(f"{LEDGER}/checkpoint").status_code == 403
    assert callers["other_clerk"].get(f"{LEDGER}/checkpoint").status_code == 404
    assert callers["admin"].post("/api/v1/ledger/210699/checkpoint").status_code == 404


def test_every_inclusion_proof_verifies_against_the_root(callers, uow_factory):
    auditor = callers["auditor"]
    _fill(uow_factory, 21)
    leaves = _leaves(auditor)
    for size in (1, 2, 7, 8, 13, 21):
        root = merkle.root_of(leaves[:size])
        for seq in range(1, size + 1):
            p = auditor.get(f"{LEDGER}/proof/inclusion?seq={seq}&size={size}").get_json()
            assert (p["root"], p["leaf_hash"], p["leaf_index"]) == (root.hex(), leaves[seq - 1].hex(), seq - 1)
            proof = [bytes.fromhex(h) for h in p["proof"]]
            assert merkle.verify_inclusion(leaves[seq - 1], seq - 1, size, proof, root)
            assert not merkle.verify_inclusion(leaves[seq - 1], seq - 1, size, proof, bytes(32))
    whole = auditor.get(f"{LEDGER}/proof/inclusion?seq=3").get_json()
    assert whole["size"] == 21


@pytest.mark.parametrize("query, field", [("seq=0", "seq"), ("seq=5&size=4", "seq"), ("seq=1&size=99", "size"),
                                          ("seq=x", "seq"), ("size=3", "seq")])
def test_proofs_outside_the_log_are_refused_with_422(callers, uow_factory, query, field):
    _fill(uow_factory, 5)
    r = callers["auditor"].get(f"{LEDGER}/proof/inclusion?{query}")
    assert r.status_code == 422 and field in str(r.get_json()["errors"])


def test_consistency_proofs_show_the_log_extends_an_earlier_checkpoint(callers, uow_factory):
    auditor = callers["auditor"]
    _fill(uow_factory, 6)
    old = auditor.post(f"{LEDGER}/checkpoint").get_json()
    _fill(uow_factory, 11)
    leaves = _leaves(auditor)
    for m in range(1, 18):
        for n in range(m, 18):
            p = auditor.get(f"{LEDGER}/proof/consistency?from={m}&to={n}").get_json()
            assert p["from_root"] == merkle.root_of(leaves[:m]).hex() \
                and p["to_root"] == merkle.root_of(leaves[:n]).hex()
            assert merkle.verify_consistency(m, n, bytes.fromhex(p["from_root"]), bytes.fromhex(p["to_root"]),
                                             [bytes.fromhex(h) for h in p["proof"]])
    today = auditor.get(f"{LEDGER}/proof/consistency?from={old['size']}").get_json()
    assert today["to"] == 17 and today["from_root"] == old["root"]  # the kept checkpoint is a prefix of today's log
    assert auditor.get(f"{LEDGER}/proof/consistency?from=9&to=3").status_code == 422


def test_a_consistency_proof_names_both_tree_sizes_as_its_schema_says(callers, uow_factory):
    _fill(uow_factory, 5)
    p = callers["auditor"].get(f"{LEDGER}/proof/consistency?from=2&to=5").get_json()
    assert (p["from"], p["to"]) == (2, 5)
    assert callers["auditor"].get(f"{LEDGER}/proof/consistency?from=3").get_json()["from"] == 3
    schema = callers["auditor"].get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Consistency"]
    assert {"from", "to"} <= set(schema["properties"]) and {"from", "to"} <= set(schema["required"])


@pytest.mark.parametrize("query, field", [("from=0", "from"), ("from=0&to=3", "from"), ("from=0&to=0", "from"),
                                          ("from=4&to=3", "from"), ("from=6", "from"), ("from=2&to=6", "to"),
                                          ("from=6&to=9", "to"), ("to=3", "from"), ("from=-1", "from")])
def test_consistency_proofs_outside_0_lt_from_le_to_le_size_are_refused_with_422(callers, uow_factory, query,
                                                                                    field):
    _fill(uow_factory, 5)
    r = callers["auditor"].get(f"{LEDGER}/proof/consistency?{query}")
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == 422 and body["message"], body
    assert field in str(body["errors"]), body


@pytest.mark.parametrize("value", [2**31, 2**63 - 1, 2**63, 10**30])
def test_ledger_integers_beyond_the_seq_column_are_422_and_within_it_never_500(callers, uow_factory, value):
    _fill(uow_factory, 3)
    for path, param in [("?", "after"), ("?", "limit"), ("/proof/inclusion?seq=1&", "size"),
                        ("/proof/inclusion?", "seq"), ("/proof/consistency?from=1&", "to"),
                        ("/proof/consistency?", "from"), ("/checkpoint?", "size")]:
        url = f"{LEDGER}{path}{param}={value}"
        r = callers["auditor"].get(url)
        if value >= 2**63 or param == "limit":
            assert r.status_code == 422 and param in str(r.get_json()["errors"]), (url, r.get_json())
        else:  # a number the column holds: an empty page, a 404 or a 422 naming a size beyond the log
            assert r.status_code in (200, 404, 422), (url, r.status_code, r.get_data(as_text=True)[:300])


def test_verify_endpoint_reports_a_clean_log_and_its_checks(callers, make_household, make_parcel):
    clerk, auditor = callers["clerk"], callers["auditor"]
    _contract(clerk, make_household, make_parcel)
    r = auditor.get(f"{LEDGER}/verify").get_json()
    assert r["ok"] and r["first_bad_seq"] is None and r["size"] >= 4
    assert r["checks"]["entries"] == r["size"] and r["checks"]["replayed_objects"] >= 4
    assert r["checkpoint"]["size"] >= 1
    assert callers["exchange"].get(f"{LEDGER}/verify").status_code == 403


def test_parcel_history_links_each_version_and_right_to_its_entry_and_proof(callers, make_household, make_parcel):
    clerk, auditor = callers["clerk"], callers["auditor"]
    _contract(clerk, make_household, make_parcel)
    code = clerk.get("/api/v1/rights?limit=1").get_json()["items"][0]["parcels"][0]["code"]
    history = clerk.get(f"/api/v1/parcels/{code}/history").get_json()
    version = history["versions"][0]["properties"]
    assert version["ledger"]["seq"] == version["ledger_seq"] and version["ledger"]["kind"] == "parcel.registered"
    link = history["rights"][0]["ledger"]
    assert link["kind"] == "right.contract.registered" and history["rights"][0]["end_ledger"] is None
    p = auditor.get(link["inclusion_proof"]).get_json()
    assert p["leaf_hash"] == link["leaf_hash"]
    assert merkle.verify_inclusion(bytes.fromhex(p["leaf_hash"]), p["leaf_index"], p["size"],
                                   [bytes.fromhex(h) for h in p["proof"]], bytes.fromhex(p["root"]))


def test_a_certificate_qr_code_is_checked_in_one_call(callers, make_household, make_parcel):
    clerk = callers["clerk"]
    right = _contract(clerk, make_household, make_parcel)
    cert = clerk.post(f"/api/v1/rights/{right}/certificates", json={}).get_json()
    callers["admin"].post(f"{LEDGER}/checkpoint")
    r = clerk.get(f"/api/v1/certificates/check?qr={quote(cert['qr_payload'])}").get_json()
    assert r["genuine"] and r["in_force"] and r["problems"] == []
    assert r["inclusion"]["seq"] == cert["ledger_seq"] and r["inclusion"]["root"] == r["checkpoint"]["root"]
    number, county, seq, leaf = cert["qr_payload"].split("|")
    forged = clerk.get(f"/api/v1/certificates/check?qr={quote('|'.join([number, county, seq, 'a' * 64]))}").get_json()
    assert not forged["genuine"] and forged["problems"]
    clerk.post(f"/api/v1/rights/{right}/certificates", json={"reason": "原证遗失"})
    assert clerk.get(f"/api/v1/certificates/check?qr={quote(cert['qr_payload'])}").get_json()["in_force"] is False
    bad = clerk.get("/api/v1/certificates/check?qr=hello")
    assert bad.status_code == 422 and "qr" in bad.get_json()["errors"]
    for seq_text in ("²", "١٢", "9" * 19, str(2**63)):  # digits int() refuses, and beyond the 64-bit seq
        odd = clerk.get(f"/api/v1/certificates/check?qr={quote('|'.join([number, county, seq_text, leaf]))}")
        assert odd.status_code == 422 and "qr" in odd.get_json()["errors"], seq_text


def test_household_history_lists_every_entry_about_it_and_its_rights(callers, make_household, make_parcel):
    clerk, auditor = callers["clerk"], callers["auditor"]
    right = _contract(clerk, make_household, make_parcel)
    household = right[:-1]
    clerk.post(f"/api/v1/rights/{right}/certificates", json={})
    history = clerk.get(f"/api/v1/households/{household}/history").get_json()
    kinds = [e["kind"] for e in history["items"]]
    assert kinds[0] == "household.registered" and "right.contract.registered" in kinds
    assert kinds[-1] == "certificate.issued" and history["next_after"] is None
    everything = _leaves(auditor)
    for e in history["items"]:
        assert household in e["subjects"] or right in e["subjects"]
        assert bytes.fromhex(e["leaf_hash"]) == everything[e["seq"] - 1]
    page = clerk.get(f"/api/v1/households/{household}/history?limit=1").get_json()
    assert len(page["items"]) == 1 and page["next_after"] == history["items"][0]["seq"]
    rest = clerk.get(f"/api/v1/households/{household}/history?after={page['next_after']}").get_json()
    assert [e["seq"] for e in rest["items"]] == [e["seq"] for e in history["items"][1:]]
    assert callers["other_clerk"].get(f"/api/v1/households/{household}/history").status_code == 404


def _all_entries(caller) -> list[dict]:
    items, after = [], 0
    while after is not None:
        page = caller.get(f"{LEDGER}?after={after}&limit=1000")
        assert page.status_code == 200, page.get_json()
        items += page.get_json()["items"]
        after = page.get_json()["next_after"]
    return items


def test_ledger_bodies_mask_id_numbers_for_auditors_and_arbitrators_and_their_hashes_still_prove_them(
        callers, make_household, make_parcel):
    clerk = callers["clerk"]
    right = _contract(clerk, make_household, make_parcel)
    household = clerk.get(f"/api/v1/households/{right[:-1]}").get_json()
    head = next(m for m in household["members"] if m["relation"] == "head")
    assert clerk.post(f"/api/v1/collectives/{COLLECTIVE}/members", json={
        "person_id": head["id"], "basis": "original", "decided_on": "2020-01-01"}).status_code == 201
    ids = {m["id_number"] for m in household["members"]}
    assert len(ids) == 2 and all(re.fullmatch(r"\d{17}[\dX]", n) for n in ids)
    point = callers["admin"].post(f"{LEDGER}/checkpoint").get_json()
    full = {role: _all_entries(callers[role]) for role in ("admin", "clerk")}
    for role in ("admin", "clerk"):  # as stored: every body hashes to its body_sha256
        text = callers[role].get(f"{LEDGER}?limit=1000").get_data(as_text=True)
        assert all(n in text for n in ids), role
        assert not any(e["masked"] for e in full[role])
        assert all(hashlib.sha256(canonical_json(e["body"])).hexdigest() == e["body_sha256"] for e in full[role])
    for role in ("auditor", "arbitrator"):
        response = callers[role].get(f"{LEDGER}?limit=1000")
        text = response.get_data(as_text=True)
        assert not any(n in text for n in ids), role  # no full ID number anywhere in the response
        assert all(f"{n[:6]}********{n[-4:]}" in text for n in ids), role
        entries = _all_entries(callers[role])
        masked = [e for e in entries if e["masked"]]
        kinds = {e["kind"] for e in masked}
        assert {"household.registered", "membership.recognised"} <= kinds, kinds
        # every hash is the stored one: the chain and the tree check from them, without the personal data
        assert [(e["seq"], e["body_sha256"], e["prev_hash"], e["leaf_hash"]) for e in entries] == [
            (e["seq"], e["body_sha256"], e["prev_hash"], e["leaf_hash"]) for e in full["admin"]]
        assert all(leaf_hash(e["seq"], e["prev_hash"], e["body_sha256"]) == e["leaf_hash"] for e in entries)
        assert all(hashlib.sha256(canonical_json(e["body"])).hexdigest() == e["body_sha256"]
                   for e in entries if not e["masked"])
        checkpoint = callers[role].get(f"{LEDGER}/checkpoint").get_json()
        assert checkpoint["root"] == point["root"]
        for e in masked:
            p = callers[role].get(f"{LEDGER}/proof/inclusion?seq={e['seq']}&size={checkpoint['size']}").get_json()
            assert p["leaf_hash"] == e["leaf_hash"]
            assert merkle.verify_inclusion(bytes.fromhex(e["leaf_hash"]), e["seq"] - 1, checkpoint["size"],
                                           [bytes.fromhex(h) for h in p["proof"]], bytes.fromhex(checkpoint["root"]))
        verdict = callers[role].get(f"{LEDGER}/verify").get_json()  # the bodies are checked on the server
        assert verdict["ok"] and verdict["size"] == len(entries)
        history = callers[role].get(f"/api/v1/households/{right[:-1]}/history").get_data(as_text=True)
        assert "household.registered" in history and not any(n in history for n in ids)
    assert callers["exchange"].get(LEDGER).status_code == 403
    described = callers["admin"].get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/ledger/{county}"]["get"]
    assert "masked" in described["description"]


@contextlib.contextmanager
def tampered_body(app, seq: int, sql_value: str):
    """Entry ``seq``'s stored body rewritten behind the registry's back (its append-only trigger off, on
    PostgreSQL its NOT NULL dropped), and everything put back afterwards."""
    engine = app.extensions["sanquan"].session_factory.kw["bind"]
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        original = conn.exec_driver_sql(f"SELECT body FROM ledger_entries WHERE seq = {seq}").scalar_one()
        if postgres:
            conn.exec_driver_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
            conn.exec_driver_sql("ALTER TABLE ledger_entries ALTER COLUMN body DROP NOT NULL")
        else:
            trigger = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ledger_entries_no_update'"
                                           ).scalar_one()
            conn.exec_driver_sql("DROP TRIGGER ledger_entries_no_update")
        conn.exec_driver_sql(f"UPDATE ledger_entries SET body = {sql_value} WHERE seq = {seq}")
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE ledger_entries SET body = :b WHERE seq = :s"), {"b": original, "s": seq})
            if postgres:
                conn.exec_driver_sql("ALTER TABLE ledger_entries ALTER COLUMN body SET NOT NULL")
                conn.exec_driver_sql("ALTER TABLE ledger_entries ENABLE TRIGGER USER")
            else:
                conn.exec_driver_sql(trigger)


@pytest.mark.parametrize("sqlite_value, pg_value", [
    ("42", "NULL"), ("'not json'", "'not json'"), ("'[1, 2]'", "'[1, 2]'"), ("X'80ff'", "'\"a string\"'"),
], ids=["integer_or_null", "not_json", "a_list", "bytes_or_a_string"])
def test_a_tampered_body_reads_as_null_and_verify_names_its_entry(app, callers, make_household, database_url,
                                                                   sqlite_value, pg_value):
    make_household()
    auditor, admin = callers["auditor"], callers["admin"]
    with tampered_body(app, 2, pg_value if database_url.startswith("postgresql") else sqlite_value):
        for caller in (auditor, admin):  # masked and unmasked
            r = caller.get(LEDGER)
            assert r.status_code == 200, r.get_json()
            entries = {e["seq"]: e for e in r.get_json()["items"]}
            assert entries[2]["body"] is None and entries[1]["body"] is not None
            assert len(entries[2]["body_sha256"]) == 64  # the stored hash, still there to check against
        verdict = auditor.get(f"{LEDGER}/verify").get_json()
        assert verdict["ok"] is False and verdict["first_bad_seq"] == 2, verdict


def test_a_certificate_whose_issuing_entry_was_tampered_with_is_not_printed(app, clerk, make_household, make_parcel):
    from tests.api.test_certificates import _contract

    right = _contract(clerk, make_household, make_parcel)
    cert = clerk.post(f"/api/v1/rights/{right}/certificates", json={}).get_json()
    seq = int(cert["qr_payload"].split("|")[2])
    url = f"/api/v1/certificates/{quote(cert['number'])}.pdf"
    forged = "'{\"forged\": true}'"  # still a JSON object, but not the bytes the entry's hash covers
    with tampered_body(app, seq, forged):
        r = clerk.get(url)
        assert r.status_code == 409 and r.get_json()["details"] == {"log": COUNTY, "seq": seq}, r.get_json()
        assert "未通过校验" in r.get_json()["message"]
    ok = clerk.get(url)
    assert ok.status_code == 200 and ok.mimetype == "application/pdf"
    ok.close()
