"""Signed tree heads in the C2SP ``tlog-checkpoint`` / ``signed-note`` text formats.

A checkpoint commits to the whole log (its size and root hash) at a time, signed with
Ed25519. Kept outside the database (a file, a witness, a ticket), it is what makes
truncation and rewrites detectable: an insider can recompute every hash in the tables
but cannot sign a new head, and a consistency proof from the old head fails::

    zerotrust/audit                          <- origin (the log's name)
    1234                                     <- tree size
    H3oQ2c…=                                 <- root hash, base64
    time 2024-05-01T12:00:00.000Z            <- extension lines, signed too
    kid Yk9…

    — zerotrust/audit Az3f…                  <- key hash (4 bytes) + signature, base64

The signature line follows C2SP signed-note (key hash ``SHA-256(name || 0x0A || 0x01 ||
public key)[:4]``), so Go's ``golang.org/x/mod/sumdb/note`` and witnesses that speak the
format can verify our checkpoints with the verifier key alone (``name+hash+base64``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from zerotrust.audit.merkle import HASH_SIZE
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.encoding import b64url_decode, b64url_encode
from zerotrust.crypto.signing import SigningKey, VerifyingKey

DEFAULT_ORIGIN = "zerotrust/audit"
MAX_NOTE = 64 * 1024
MAX_SIGNATURES = 100
_ED25519 = b"\x01"  # signed-note signature type for Ed25519
_DASH = "\u2014 "  # signature lines start with an em dash and a space
_NAME = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no space
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log ``origin`` had ``size`` entries with ``root`` at ``time``."""

    origin: str
    size: int
    root: bytes
    time: float
    kid: str

    def body(self) -> bytes:
        """The signed text (C2SP tlog-checkpoint with ``time`` and ``kid`` extension lines)."""
        root = base64.b64encode(self.root).decode("ascii")
        text = f"{self.origin}\n{self.size}\n{root}\ntime {iso_utc(self.time)}\nkid {self.kid}\n"
        return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str  # the body, a blank line and the signature line(s)


def _key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519 + public).digest()[:4]


def _raw_public(vk: VerifyingKey) -> bytes:
    if vk.alg != "EdDSA":
        raise InvalidInput("Checkpoints are signed with Ed25519 (EdDSA) keys only.")
    return b64url_decode(vk.jwk["x"])


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or "+" in name:
        raise InvalidInput("A note key name is 1-128 printable ASCII characters, no '+'.")
    return name


class NoteSigner:
    """Signs checkpoints with an Ed25519 key under a key name (the log's origin)."""

    def __init__(self, key: SigningKey, *, name: str = DEFAULT_ORIGIN) -> None:
        self.name = _check_name(name)
        self._key = key
        self._public = _raw_public(key.verifying_key())
        self._hash = _key_hash(name, self._public)

    @property
    def kid(self) -> str:
        return self._key.kid

    @property
    def vkey(self) -> str:
        """The verifier key a witness needs: ``name+hash+base64(0x01 || public key)``."""
        return _vkey(self.name, self._hash, self._public)

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self._public)

    def sign(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        return SignedCheckpoint(checkpoint, self.sign_text(checkpoint.body()))

    def sign_text(self, text: bytes) -> str:
        """A signed note of ``text`` (UTF-8, ending in a newline, no blank line)."""
        if not text.endswith(b"\n") or b"\n\n" in text:
            raise InvalidInput("A note text ends in one newline and has no blank lines.")
        sig = base64.b64encode(self._hash + self._key.sign(text)).decode("ascii")
        return text.decode("utf-8") + f"\n{_DASH}{self.name} {sig}\n"


def _vkey(name: str, key_hash: bytes, public: bytes) -> str:
    return f"{name}+{key_hash.hex()}+{base64.b64encode(_ED25519 + public).decode('ascii')}"


class NoteVerifier:
    """Verifies checkpoint signatures with a public key alone."""

    def __init__(self, name: str, public: bytes) -> None:
        if len(public) != 32:
            raise InvalidInput("An Ed25519 public key is 32 bytes.")
        self.name = _check_name(name)
        self._public = public
        self.key_hash = _key_hash(name, public)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public)}
        self._key = VerifyingKey.from_jwk(jwk)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse ``name+hash+base64(0x01 || key)`` and check the hash matches."""
        parts = vkey.strip().split("+", 2)  # the base64 key may contain "+"
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise InvalidInput("Not a note verifier key (name+hash+key).")
        raw = _b64(parts[2], "verifier key")
        if raw[:1] != _ED25519:
            raise InvalidInput("The verifier key is not an Ed25519 key.")
        verifier = cls(parts[0], raw[1:])
        if verifier.key_hash.hex() != parts[1]:
            raise InvalidInput("The verifier key hash does not match the key.")
        return verifier

    @classmethod
    def for_key(cls, key: SigningKey | VerifyingKey, *, name: str = DEFAULT_ORIGIN) -> NoteVerifier:
        vk = key.verifying_key() if isinstance(key, SigningKey) else key
        return cls(name, _raw_public(vk))

    @property
    def vkey(self) -> str:
        return _vkey(self.name, self.key_hash, self._public)

    def open(self, note: str) -> Checkpoint:
        """Verify ``note`` and parse its checkpoint; ``IntegrityError`` if unsigned by us."""
        return parse_body(self.verify_note(note))

    def verify_note(self, note: str) -> bytes:
        """The text of a signed note that carries a valid signature by this key."""
        if len(note) > MAX_NOTE:
            raise InvalidInput("The checkpoint is too large.")
        body, sep, sigs = note.partition("\n\n")
        if not sep or not sigs.endswith("\n"):
            raise InvalidInput("The checkpoint has no signature block.")
        text = (body + "\n").encode("utf-8")
        lines = sigs[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise InvalidInput("The checkpoint has too many signatures.")
        if not any(self._verifies(line, text) for line in lines):
            raise IntegrityError("The checkpoint is not signed by the audit key.")
        return text

    def _verifies(self, line: str, body: bytes) -> bool:
        if not line.startswith(_DASH):
            raise InvalidInput("A checkpoint signature line is malformed.")
        name, _, b64sig = line[len(_DASH) :].partition(" ")
        if name != self.name:
            return False  # someone else's signature, e.g. a witness cosignature
        raw = _b64(b64sig, "signature")
        if raw[:4] != self.key_hash:
            return False
        try:
            self._key.verify(body, raw[4:])
        except IntegrityError:
            return False
        return True


def parse_body(body: bytes) -> Checkpoint:
    """Parse a checkpoint body (already verified); malformed input raises ``InvalidInput``."""
    try:
        lines = body.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise InvalidInput("The checkpoint is not UTF-8.") from None
    if len(lines) < 4 or lines[-1] != "" or not _SIZE.fullmatch(lines[1]):
        raise InvalidInput("The checkpoint body is malformed.")
    root = _b64(lines[2], "root hash")
    if len(root) != HASH_SIZE:
        raise InvalidInput("The checkpoint root hash has the wrong size.")
    ext: dict[str, str] = {}
    for line in lines[3:-1]:
        key, _, value = line.partition(" ")
        ext.setdefault(key, value)
    if "time" not in ext or "kid" not in ext:
        raise InvalidInput("The checkpoint lacks its time or key id.")
    return Checkpoint(lines[0], int(lines[1]), root, _parse_time(ext["time"]), ext["kid"])


def _parse_time(text: str) -> float:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("The checkpoint time is malformed.") from None
    if when.tzinfo is None:
        raise InvalidInput("The checkpoint time has no time zone.")
    return when.timestamp()


def _b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"The checkpoint {what} is not base64.") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise InvalidInput(f"The checkpoint {what} is not canonical base64.")
    return raw


class CheckpointSink(Protocol):
    """Somewhere outside the database that signed checkpoints are exported to."""

    def publish(self, signed: SignedCheckpoint) -> None: ...

    def latest(self) -> str | None:
        """The last note published here, to check the next one extends it."""


class CheckpointDirectory:
    """Checkpoints exported to files: ``latest.txt`` plus every one under ``history/``.

    Writes are atomic (write, fsync, rename), so a crash never leaves a torn checkpoint.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def latest_path(self) -> Path:
        return self.path / "latest.txt"

    def publish(self, signed: SignedCheckpoint) -> None:
        cp = signed.checkpoint
        name = f"{cp.size:020d}-{round(cp.time * 1000):015d}.txt"
        _atomic_write(self.path / "history" / name, signed.note)
        _atomic_write(self.latest_path, signed.note)

    def latest(self) -> str | None:
        try:
            return self.latest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def history(self) -> Iterator[str]:
        """Every exported checkpoint, oldest (smallest) first."""
        folder = self.path / "history"
        if folder.is_dir():
            for item in sorted(folder.glob("*.txt")):
                yield item.read_text(encoding="utf-8")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).chmod(0o644)  # checkpoints are public: witnesses read them
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
