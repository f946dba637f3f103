"""Signed checkpoints of a county ledger's Merkle tree.

A checkpoint states "the tree of this log had this many leaves and this root
hash". It is written as a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint)
and signed with Ed25519 as a C2SP signed note (https://c2sp.org/signed-note),
the format of Go's ``golang.org/x/mod/sumdb/note``, so that tools and witnesses
written for those formats can check our checkpoints. A signed checkpoint reads::

    sanquan.example/ledger/210681
    42
    AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
    time 2026-11-27T08:40:00Z

    — sanquan.example/ledger suAT3UZpTRGIcU0LOZCgYFvbQuHHGR7YEGcLjpiHhbcaWQ9...go=

Lines 1-3 are the checkpoint's origin, tree size and RFC 6962 root hash
(tlog-checkpoint, "Note text"). Line 4 is our one extension line, the signing
time in UTC to the second. It is required, and any further extension line is
rejected, so that ``Checkpoint.parse(text).body() == text`` for every text we
accept: a checkpoint never silently drops signed content. The spec notes that
extension lines are not auditable by monitors; the time is informational only.

One deployment key signs the checkpoints of all counties, so the key name does
not equal each origin (tlog-checkpoint says SHOULD, not MUST).
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

#: Signature type byte for Ed25519 (signed-note, "Signature types").
ED25519 = 0x01
#: Signature lines begin with U+2014 EM DASH and a space (signed-note, "Format").
SIGNATURE_PREFIX = "\u2014 "
#: Go's note.Open refuses more than 100 signatures; the spec requires at least 16 to be accepted.
MAX_SIGNATURES = 100
#: Tree sizes are uint64 in every tlog implementation.
MAX_SIZE = 2**64 - 1

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_TIME = re.compile(r"time ([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


class CheckpointError(ValueError):
    """A checkpoint or signed note is malformed, or its signature does not verify."""


# --- keys -------------------------------------------------------------------------------------------------------------

def load_or_create_key(path: Path, *, wait: float = 2.0) -> ed25519.Ed25519PrivateKey:
    """Read the Ed25519 private key at ``path`` (PEM, PKCS#8, unencrypted), creating it if there is none.

    Creation is race-safe: the file is created with ``O_CREAT | O_EXCL`` and mode 0600, so of
    several processes starting at once exactly one writes a key and the others read that one.
    A reader that finds the file still empty or half-written retries for up to ``wait`` seconds.

    Raises:
        ValueError: the file holds something other than an unencrypted Ed25519 private key.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path, wait)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(path.parent)
    return key


def _read_key(path: Path, wait: float) -> ed25519.Ed25519PrivateKey:
    deadline = time.monotonic() + wait
    while True:
        data = path.read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError as e:  # encrypted
            raise ValueError(f"{path}: the signing key must not be encrypted") from e
        except (ValueError, UnsupportedAlgorithm) as e:  # maybe another process is still writing it
            if time.monotonic() >= deadline:
                raise ValueError(f"{path} does not hold a PEM (PKCS#8) private key") from e
            time.sleep(0.02)
            continue
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key
        raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")


def _fsync_dir(directory: Path) -> None:
    """Make the new directory entry durable (best effort; not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def public_bytes(key: ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey) -> bytes:
    """The 32-byte RFC 8032 encoding of the key's public half."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key (signed-note, "Ed25519 signatures"):

    ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]``
    """
    _check_name(name, "key name")
    _check_public_key(public_key)
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key string ``<name>+<key ID, 8 hex digits>+<base64(0x01 || public key)>``.

    This is the text form of ``golang.org/x/mod/sumdb/note`` (``NewEd25519VerifierKey``) that
    clients configure to trust our checkpoints.
    """
    kid = key_id(name, public_key)
    return f"{name}+{kid.hex()}+{_b64encode(bytes([ED25519]) + public_key)}"


def parse_verifier_key(text: str) -> tuple[str, bytes, bytes]:
    """Split a verifier key into (name, 4-byte key ID, 32-byte Ed25519 public key).

    Raises:
        ValueError: a bad name, a key ID that is not 8 hex digits or does not match the key,
            key data that is not canonical base64, or a key of another type or length.
    """
    name, _, rest = text.partition("+")
    kid_hex, _, key64 = rest.partition("+")
    _check_name(name, "verifier key name")
    if not _HEX8.fullmatch(kid_hex):
        raise ValueError(f"verifier key {text!r}: the key ID must be 8 hex digits")
    key = _b64decode(key64, "verifier key data")
    if len(key) != 33 or key[0] != ED25519:
        raise ValueError(f"verifier key {text!r}: expected an Ed25519 key (0x01 and 32 bytes)")
    kid, public_key = bytes.fromhex(kid_hex), key[1:]
    if kid != key_id(name, public_key):
        raise ValueError(f"verifier key {text!r}: the key ID does not match the name and key")
    return name, kid, public_key


# --- checkpoints ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    """A tree head of one log (tlog-checkpoint, "Note text"), with the time it was signed.

    ``origin`` follows the key-name rules of signed-note (non-empty, no spaces, no ``+``), which
    tlog-checkpoint recommends; ``size`` is the number of leaves; ``root`` the 32-byte RFC 6962
    root hash; ``signed_at`` a UTC datetime in whole seconds.
    """

    origin: str
    size: int
    root: bytes
    signed_at: datetime

    def __post_init__(self) -> None:
        _check_name(self.origin, "origin")
        if type(self.size) is not int or not 0 <= self.size <= MAX_SIZE:
            raise CheckpointError(f"tree size must be an integer from 0 to 2^64 - 1, not {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise CheckpointError("root hash must be 32 bytes")
        t = self.signed_at
        if not isinstance(t, datetime) or t.utcoffset() != timedelta(0):
            raise CheckpointError(f"signing time must be a datetime in UTC, not {t!r}")
        if t.microsecond:
            raise CheckpointError("signing time must be in whole seconds")

    def body(self) -> str:
        """The note text: origin, size, base64 root hash and ``time YYYY-MM-DDTHH:MM:SSZ``, each ending in newline."""
        t = self.signed_at
        stamp = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
        return f"{self.origin}\n{self.size}\n{_b64encode(self.root)}\ntime {stamp}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a note text written by ``body()``; anything else is rejected.

        Exactly four lines, each ending in newline: the origin; the tree size in decimal without
        leading zeros (tlog-checkpoint, "Note text", 2); the root hash in canonical standard base64
        of 32 bytes; and the time line. Unknown extension lines are rejected (see the module docstring).

        Raises:
            CheckpointError: naming the first thing that is wrong.
        """
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 4:
            raise CheckpointError(f"checkpoint text has {len(lines)} lines; expected origin, size, root hash and time")
        if len(lines) > 4:
            raise CheckpointError(f"checkpoint text has an unexpected extension line {lines[4]!r}")
        origin, size, root, stamp = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointError(f"tree size {size!r} is not a decimal number without leading zeros")
        root_hash = _b64decode(root, "root hash")
        if len(root_hash) != 32:
            raise CheckpointError(f"root hash has {len(root_hash)} bytes; a SHA-256 hash has 32")
        m = _TIME.fullmatch(stamp)
        if not m:
            raise CheckpointError(f"expected a time line like 'time 2026-11-27T08:40:00Z', got {stamp!r}")
        try:
            year, month, day, hour, minute, second = map(int, m.groups())
            signed_at = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            raise CheckpointError(f"time line {stamp!r} is not a valid date and time") from None
        return cls(origin, int(size), root_hash, signed_at)


def sign(checkpoint: Checkpoint, name: str, key: ed25519.Ed25519PrivateKey) -> tuple[str, bytes]:
    """Sign the checkpoint as key ``name``: the signed note text, and the raw 64-byte signature."""
    return sign_note(checkpoint.body(), name, key)


def open_signed(note_text: str | bytes, verifier: str) -> Checkpoint:
    """Verify a signed checkpoint against the verifier key and parse it.

    Raises:
        CheckpointError: the note is malformed, lacks a valid signature by the verifier key,
            or its text is not a checkpoint.
    """
    return Checkpoint.parse(open_note(note_text, verifier))


def verify_signature(checkpoint: Checkpoint, signature: bytes, public_key: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``checkpoint.body()`` by ``public_key``.

    For the JSON form, which carries the checkpoint fields and the raw signature separately.
    """
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public_key).verify(signature, checkpoint.body().encode())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# --- signed notes -----------------------------------------------------------------------------------------------------

def sign_note(text: str, name: str, key: ed25519.Ed25519PrivateKey) -> tuple[str, bytes]:
    """Sign a note text (signed-note, "Format"): the note with its one signature line, and the raw signature.

    The signature is Ed25519 over the UTF-8 text, which ends in newline; the line is
    ``— <name> <base64(key ID || signature)>``.
    """
    _check_text(text)
    if not text.endswith("\n"):
        raise CheckpointError("note text must end with a newline")
    _check_name(name, "key name")
    signature = key.sign(text.encode())
    line = f"{SIGNATURE_PREFIX}{name} {_b64encode(key_id(name, public_bytes(key)) + signature)}\n"
    return f"{text}\n{line}", signature


def open_note(note: str | bytes, verifier: str) -> str:
    """Check a signed note's signature by the verifier key and return the note text.

    As signed-note ("Signatures") and Go's ``note.Open`` require: the note is UTF-8 without
    control characters other than newline; the text ends at the last blank line; every line
    after it is a well-formed signature line; lines by other keys (another name or key ID) are
    ignored. The note is rejected if no line is by the verifier key, or if any line by that key
    fails to verify (the spec says SHOULD reject; Go checks only the first such line).

    Raises:
        CheckpointError: what is wrong, in words.
    """
    try:
        name, kid, public_key = parse_verifier_key(verifier)
    except ValueError as e:
        raise CheckpointError(f"malformed verifier key: {e}") from None
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("signed note is not valid UTF-8") from None
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("signed note has no blank line between its text and its signatures")
    text, block = note[:split + 1], note[split + 2:]
    if not block.endswith("\n"):
        raise CheckpointError("signed note must end with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"signed note has more than {MAX_SIGNATURES} signature lines")
    ours = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"{line!r} is not a signature line ('— <key name> <signature>')")
        signer, _, b64 = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            _check_name(signer, "signer name")
            blob = _b64decode(b64, f"signature by {signer}")
        except ValueError as e:
            raise CheckpointError(f"malformed signature line: {e}") from None
        if len(blob) < 5:
            raise CheckpointError(f"signature by {signer} is too short")
        if (signer, blob[:4]) == (name, kid):
            ours.append(blob[4:])
    label = f"{name}+{kid.hex()}"
    if not ours:
        raise CheckpointError(f"note is not signed by key {label}")
    for signature in ours:  # every one must verify: a failed known-key signature rejects the note
        if len(signature) != 64:
            raise CheckpointError(f"signature by key {label} has {len(signature)} bytes; Ed25519 has 64")
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(public_key).verify(signature, text.encode())
        except InvalidSignature:
            raise CheckpointError(f"signature by key {label} does not match the note text") from None
    return text


# --- helpers ----------------------------------------------------------------------------------------------------------

def _check_name(name: str, what: str) -> None:
    """Key names are non-empty and contain no Unicode spaces or ``+`` (signed-note, "Format");
    we also refuse control characters, which a note may not contain anyway."""
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"{what} must be a non-empty string")
    bad = next((c for c in name if c.isspace() or c == "+" or c < " " or "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise CheckpointError(f"{what} {name!r} contains U+{ord(bad):04X}; spaces, '+' and controls are not allowed")


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise CheckpointError("an Ed25519 public key is 32 bytes")


def _check_text(text: str) -> None:
    """Notes are valid UTF-8 with no ASCII control characters but newline (signed-note, "Format")."""
    for c in text:
        if c < " " and c != "\n":
            raise CheckpointError(f"note contains the control character U+{ord(c):04X}")
        if "\ud800" <= c <= "\udfff":
            raise CheckpointError("note is not valid UTF-8 (it contains a lone surrogate)")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 section 4) in its one canonical spelling: padded, no stray bits."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, ValueError):
        raise CheckpointError(f"{what} is not valid base64") from None
    if not text or _b64encode(data) != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return data
