"""Signed checkpoints: C2SP signed-note and tlog-checkpoint, checked against the Go reference's own vectors."""
from __future__ import annotations

import base64
import dataclasses
import multiprocessing
import os
import stat
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    key_id,
    load_or_create_key,
    open_note,
    open_signed,
    parse_verifier_key,
    public_bytes,
    sign,
    sign_note,
    verifier_key,
    verify_signature,
)

# --- Known answers --------------------------------------------------------------------------------------------------
# Copied from the Go reference implementation's tests: repository golang/mod, file sumdb/note/note_test.go
# (TestNewVerifier, TestSign, TestVerifierList, TestOpen); the same example is in the package doc of sumdb/note/note.go.
GO_PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6R"
                "yyBwJnAM=\n")
GO_ENOCH_SIG = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvM"
                "c+QQ=\n")
GO_SIGNED = GO_TEXT + "\n" + GO_PETER_SIG  # the `want` of TestSign


def go_peter_key() -> Ed25519PrivateKey:
    """The signer key is "PRIVATE+KEY+<name>+<id>+base64(0x01 || 32-byte Ed25519 seed)" (note.go, NewSigner)."""
    data = base64.b64decode(GO_PETER_SKEY.split("+", 4)[4])
    assert data[0] == 0x01 and len(data) == 33
    return Ed25519PrivateKey.from_private_bytes(data[1:])


def test_go_verifier_keys_and_key_ids():
    for vkey, name, kid in [(GO_PETER_VKEY, "PeterNeumann", "c74f20a3"), (GO_ENOCH_VKEY, "EnochRoot", "af0cfe78")]:
        parsed_name, parsed_id, public_key = parse_verifier_key(vkey)
        assert (parsed_name, parsed_id) == (name, bytes.fromhex(kid))
        assert public_key == base64.b64decode(vkey.split("+", 2)[2])[1:]
        assert key_id(name, public_key) == bytes.fromhex(kid)
        assert verifier_key(name, public_key) == vkey
    assert public_bytes(go_peter_key()) == parse_verifier_key(GO_PETER_VKEY)[2]


def test_go_signature_is_reproduced_byte_for_byte():
    note, signature = sign_note(GO_TEXT, "PeterNeumann", go_peter_key())
    assert note == GO_SIGNED
    assert base64.b64decode(GO_PETER_SIG.split()[2]) == bytes.fromhex("c74f20a3") + signature
    assert open_note(GO_SIGNED, GO_PETER_VKEY) == GO_TEXT


def test_go_open_ignores_other_signers():
    both = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    assert open_note(both, GO_PETER_VKEY) == GO_TEXT
    assert open_note(both, GO_ENOCH_VKEY) == GO_TEXT
    # TestOpen "Duplicated verified and unverified signatures": a mangled line by an unknown key is ignored.
    mangled_enoch = (GO_ENOCH_SIG.encode()[:60] + b"ABCD" + GO_ENOCH_SIG.encode()[60:]).decode()
    crowded = GO_TEXT + "\n" + GO_PETER_SIG + GO_PETER_SIG + GO_ENOCH_SIG + GO_ENOCH_SIG + mangled_enoch
    assert open_note(crowded, GO_PETER_VKEY) == GO_TEXT
    with pytest.raises(CheckpointError, match="not signed by key EnochRoot"):
        open_note(GO_SIGNED, GO_ENOCH_VKEY)


def test_go_mangled_verifier_keys_are_rejected():
    """TestNewVerifier: every proper substring and every one-byte increment of the key is refused."""
    b = GO_PETER_VKEY.encode()
    mangled = [b[i:j] for i in range(len(b) + 1) for j in range(i + 1, len(b) + 1) if (i, j) != (0, len(b))]
    mangled += [b[:i] + bytes([b[i] + 1]) + b[i + 1:] for i in range(len(b))]
    mangled += [b"PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length
                b"PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"]  # unknown algorithm
    for key in mangled:
        with pytest.raises(ValueError):
            parse_verifier_key(key.decode())


def test_go_malformed_and_badly_signed_notes_are_rejected():
    peter = GO_PETER_SIG.encode()
    text = GO_TEXT.encode()
    bad = [  # TestOpen "Invalid encoded message syntax"
        text, text + b"\n", text + b"\n" + peter[:-1], b"\x01" + text + b"\n" + peter, b"\xff" + text + b"\n" + peter,
        text + b"\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6K"
                       "E6RyyBwJnAM=".encode(),
        text + b"\n" + peter + b"Unexpected line.\n",
        text + b"\n" + peter * 101,  # too many signatures
        text + b"\n" + peter[:60] + b"ABCD" + peter[60:],  # invalid signature
        text + b"\n" + peter.replace(b"PeterNeumann", b"CarmenSandiego"),  # another name
        text + b"\n" + peter.replace(b"x08g", b"xxxx"),  # another key ID
    ]
    for msg in bad:
        with pytest.raises(CheckpointError):
            open_note(msg, GO_PETER_VKEY)


# --- Round trips ----------------------------------------------------------------------------------------------------

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
NAME = "sanquan.example/ledger"
VKEY = verifier_key(NAME, public_bytes(KEY))
CP = Checkpoint("sanquan.example/ledger/210681", 1234, bytes(range(32)), datetime(2026, 11, 27, 8, 40, tzinfo=UTC))

origins = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
                                exclude_characters="+"), min_size=1, max_size=40)
times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                     timezones=st.just(UTC)).map(lambda t: t.replace(microsecond=0))
checkpoints = st.builds(Checkpoint, origins, st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32), times)


def test_the_format():
    note, signature = sign(CP, NAME, KEY)
    body = ("sanquan.example/ledger/210681\n1234\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
            "time 2026-11-27T08:40:00Z\n")
    assert CP.body() == body
    kid = key_id(NAME, public_bytes(KEY))
    assert note == body + "\n— sanquan.example/ledger " + base64.b64encode(kid + signature).decode() + "\n"
    assert len(signature) == 64


@settings(max_examples=200, deadline=None)
@given(checkpoints)
def test_sign_then_open_gives_the_same_checkpoint(cp):
    note, signature = sign(cp, NAME, KEY)
    assert open_signed(note, VKEY) == cp
    assert open_signed(note.encode(), VKEY) == cp
    assert Checkpoint.parse(cp.body()) == cp and Checkpoint.parse(cp.body()).body() == cp.body()
    assert verify_signature(cp, signature, public_bytes(KEY))
    assert not verify_signature(cp, signature, public_bytes(OTHER))


def test_every_one_character_change_is_rejected():
    note, _ = sign(CP, NAME, KEY)
    for i, c in enumerate(note):
        for replacement in {chr(ord(c) ^ 1), "x" if c != "x" else "y"}:
            changed = note[:i] + replacement + note[i + 1:]
            with pytest.raises(CheckpointError):
                open_signed(changed, VKEY)
            with pytest.raises(CheckpointError):
                open_signed(changed.encode(), VKEY)


@pytest.mark.parametrize("change", [
    {"size": 1235}, {"size": 0}, {"root": bytes(32)}, {"origin": "sanquan.example/ledger/210682"},
    {"signed_at": datetime(2026, 11, 27, 8, 40, 1, tzinfo=UTC)},
])
def test_a_changed_field_does_not_verify(change):
    note, signature = sign(CP, NAME, KEY)
    forged = dataclasses.replace(CP, **change)
    with pytest.raises(CheckpointError, match="does not match the note text"):
        open_signed(forged.body() + note[len(CP.body()):], VKEY)
    assert not verify_signature(forged, signature, public_bytes(KEY))


def test_wrong_keys_and_broken_signatures_are_rejected():
    note, signature = sign(CP, NAME, KEY)
    body = note.split("\n\n")[0]
    kid = key_id(NAME, public_bytes(KEY))

    def line(blob: bytes) -> str:
        return f"{body}\n\n— {NAME} {base64.b64encode(blob).decode()}\n"

    with pytest.raises(CheckpointError, match="not signed by key"):  # another key under the same name
        open_signed(sign(CP, NAME, OTHER)[0], VKEY)
    with pytest.raises(CheckpointError, match="does not match"):  # another key's signature under our key ID
        open_signed(line(kid + OTHER.sign(CP.body().encode())), VKEY)
    with pytest.raises(CheckpointError, match="not signed by key"):  # the verifier key of another key
        open_signed(note, verifier_key(NAME, public_bytes(OTHER)))
    with pytest.raises(CheckpointError, match="not signed by key"):  # our key under another name
        open_signed(note, verifier_key("sanquan.example/other", public_bytes(KEY)))
    with pytest.raises(CheckpointError, match="has 63 bytes"):
        open_signed(line(kid + signature[:63]), VKEY)
    with pytest.raises(CheckpointError):
        open_signed(note[:-5] + "\n", VKEY)  # base64 cut short
    with pytest.raises(CheckpointError, match="end with a signature line"):
        open_signed(note[:-1], VKEY)
    with pytest.raises(CheckpointError, match="no blank line"):
        open_signed(note.replace("\n\n", "\n"), VKEY)
    with pytest.raises(CheckpointError, match="malformed verifier key"):
        open_signed(note, VKEY[:-1])
    assert not verify_signature(CP, signature[:63], public_bytes(KEY))
    assert not verify_signature(CP, signature, public_bytes(KEY)[:31])
    assert not verify_signature(CP, bytes(64), public_bytes(KEY))


def test_other_signers_are_ignored_but_a_bad_line_by_our_key_is_not():
    note, _ = sign(CP, NAME, KEY)
    body, ours = note.split("\n\n")
    theirs = sign(CP, "witness.example/w1", OTHER)[0].split("\n\n")[1]
    assert open_signed(f"{body}\n\n{theirs}{ours}{theirs}", VKEY) == CP
    with pytest.raises(CheckpointError, match="not signed by key"):
        open_signed(f"{body}\n\n{theirs}", VKEY)
    kid = key_id(NAME, public_bytes(KEY))
    forged = f"— {NAME} {base64.b64encode(kid + bytes(64)).decode()}\n"
    with pytest.raises(CheckpointError, match="does not match"):
        open_signed(f"{body}\n\n{ours}{forged}", VKEY)


# --- Parsing --------------------------------------------------------------------------------------------------------

ROOT64 = base64.b64encode(bytes(range(32))).decode()


def body(origin="o.example/log", size="7", root=ROOT64, stamp="time 2026-11-27T08:40:00Z", tail=""):
    return f"{origin}\n{size}\n{root}\n{stamp}\n{tail}"


def test_parse_accepts_the_edges():
    assert Checkpoint.parse(body(size="0")).size == 0
    assert Checkpoint.parse(body(size=str(2**64 - 1))).size == 2**64 - 1
    assert Checkpoint.parse(body(stamp="time 2024-02-29T23:59:59Z")).signed_at == datetime(2024, 2, 29, 23, 59, 59,
                                                                                           tzinfo=UTC)


@pytest.mark.parametrize("text, reason", [
    (body(size="007"), "leading zeros"), (body(size="00"), "leading zeros"), (body(size="-1"), "leading zeros"),
    (body(size="+1"), "leading zeros"), (body(size=" 7"), "leading zeros"), (body(size="7_0"), "leading zeros"),
    (body(size="\u0667"), "leading zeros"), (body(size="0x7"), "leading zeros"), (body(size=""), "leading zeros"),
    (body(size=str(2**64)), "2\\^64"),
    (body(root="not base64!"), "not valid base64"), (body(root=ROOT64.rstrip("=")), "not valid base64"),
    (body(root=ROOT64[:-2] + "9="), "not canonical"),  # same bytes with stray low bits
    (body(root=base64.b64encode(bytes(31)).decode()), "has 31 bytes"),
    (body(root=base64.b64encode(bytes(33)).decode()), "has 33 bytes"),
    (body(root=""), "not canonical"),
    ("o.example/log\n7\n" + ROOT64 + "\n", "3 lines"),  # missing time line
    (body(stamp="time 2026-11-27T08:40:00"), "time line"), (body(stamp="time 2026-11-27 08:40:00Z"), "time line"),
    (body(stamp="time 2026-11-27T08:40:00.5Z"), "time line"), (body(stamp="time 2026-11-27T08:40:00+00:00"), "time"),
    (body(stamp="Time 2026-11-27T08:40:00Z"), "time line"), (body(stamp="time 2026-13-27T08:40:00Z"), "not a valid"),
    (body(stamp="time 2026-11-27T24:00:00Z"), "not a valid"), (body(stamp="time 2026-11-27T08:40:60Z"), "not a valid"),
    (body(tail="extra\n"), "extension line"), (body(tail="\n"), "extension line"), (body()[:-1], "end with a newline"),
    (body(origin=""), "origin"), (body(origin="o.example/log 2"), "origin"), (body(origin="o.example+log"), "origin"),
])
def test_parse_rejects(text, reason):
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.parse(text)


@pytest.mark.parametrize("change", [
    {"signed_at": datetime(2026, 11, 27, 8, 40)}, {"signed_at": datetime(2026, 11, 27, 8, 40, 0, 5, tzinfo=UTC)},
    {"signed_at": datetime(2026, 11, 27, 16, 40, tzinfo=timezone(timedelta(hours=8)))},
    {"size": -1}, {"size": 2**64}, {"size": True}, {"size": 1.0}, {"root": bytes(31)}, {"root": "0" * 32},
    {"origin": ""}, {"origin": "a b"}, {"origin": "a\tb"}, {"origin": "a+b"},
])
def test_checkpoint_fields_are_validated(change):
    with pytest.raises(CheckpointError):
        dataclasses.replace(CP, **change)


def test_sign_note_refuses_what_could_not_be_opened():
    for text, name in [("no newline", NAME), ("a\x01\n", NAME), ("ok\n", "bad name"), ("ok\n", "a+b"), ("ok\n", "")]:
        with pytest.raises(CheckpointError):
            sign_note(text, name, KEY)


# --- The key file ---------------------------------------------------------------------------------------------------

def test_key_is_created_private_and_then_reused(tmp_path):
    path = tmp_path / "keys" / "nested" / "checkpoint.pem"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_bytes(load_or_create_key(path)) == public_bytes(key)


def test_threads_racing_to_create_get_one_key(tmp_path):
    for round_ in range(5):
        path = tmp_path / str(round_) / "key.pem"
        barrier = threading.Barrier(8)
        found = []

        def start(path=path, barrier=barrier, found=found):
            barrier.wait()
            found.append(public_bytes(load_or_create_key(path)))

        threads = [threading.Thread(target=start) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(found) == 8 and len(set(found)) == 1
        assert set(found) == {public_bytes(load_or_create_key(path))}


def _race_worker(path, barrier, results):
    barrier.wait()
    results.put(public_bytes(load_or_create_key(path)))


def test_processes_racing_to_create_get_one_key(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    path = tmp_path / "key.pem"
    barrier, results = ctx.Barrier(4), ctx.Queue()
    workers = [ctx.Process(target=_race_worker, args=(path, barrier, results)) for _ in range(4)]
    for w in workers:
        w.start()
    found = {results.get(timeout=60) for _ in workers}
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    results.close()
    results.join_thread()
    assert found == {public_bytes(load_or_create_key(path))}


def test_a_half_written_key_file_is_waited_for(tmp_path):
    path = tmp_path / "key.pem"
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.write_bytes(pem[:40])

    def finish():
        time.sleep(0.2)
        path.write_bytes(pem)

    writer = threading.Thread(target=finish)
    writer.start()
    try:
        assert public_bytes(load_or_create_key(path)) == public_bytes(key)
    finally:
        writer.join()


def test_a_key_file_that_is_not_an_ed25519_key_is_refused(tmp_path):
    garbage, ec_key, encrypted = tmp_path / "garbage.pem", tmp_path / "ec.pem", tmp_path / "enc.pem"
    garbage.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnonsense\n")
    ec_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    encrypted.write_bytes(KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"secret")))
    started = time.monotonic()
    with pytest.raises(ValueError, match="does not hold"):
        load_or_create_key(garbage, wait=0.1)
    assert time.monotonic() - started < 2
    with pytest.raises(ValueError, match="not an Ed25519"):
        load_or_create_key(ec_key)
    with pytest.raises(ValueError, match="encrypted"):
        load_or_create_key(encrypted)
    assert os.path.getsize(garbage) > 0  # never overwritten
