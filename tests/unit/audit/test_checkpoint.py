"""Signed checkpoints: C2SP signed-note format, verification with the public key alone."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest

from zerotrust.audit.checkpoint import (
    Checkpoint,
    CheckpointDirectory,
    NoteSigner,
    NoteVerifier,
    parse_body,
)
from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.encoding import b64url_decode
from zerotrust.crypto.signing import SigningKey

ROOT = hashlib.sha256(b"root").digest()

# golang.org/x/mod/sumdb/note (BSD-3-Clause), note_test.go and the package example: a
# known answer showing Go verifiers and witnesses read our notes byte for byte.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT.decode() + (
    "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# RFC 8410 PKCS#8 wrapping of an Ed25519 seed.
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")


def _go_signing_key() -> SigningKey:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    return SigningKey.from_pkcs8(_PKCS8_ED25519 + seed, alg="EdDSA", kid="peter")


def test_go_sumdb_note_vector_verifies() -> None:
    verifier = NoteVerifier.from_vkey(GO_VKEY)
    assert verifier.vkey == GO_VKEY
    assert verifier.verify_note(GO_NOTE) == GO_TEXT
    with pytest.raises(IntegrityError):
        verifier.verify_note(GO_NOTE.replace("cryptography", "cryptographY"))


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    signer = NoteSigner(_go_signing_key(), name="PeterNeumann")
    assert signer.vkey == GO_VKEY
    assert signer.sign_text(GO_TEXT) == GO_NOTE


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("EdDSA")


@pytest.fixture
def signer(key: SigningKey) -> NoteSigner:
    return NoteSigner(key, name="example.com/audit")


def _cp(signer: NoteSigner, size: int = 42) -> Checkpoint:
    return Checkpoint(signer.name, size, ROOT, 1_700_000_000.5, signer.kid)


def test_note_layout_follows_c2sp(signer: NoteSigner) -> None:
    note = signer.sign(_cp(signer)).note
    body, sigs = note.split("\n\n")
    assert body.split("\n") == [
        "example.com/audit",
        "42",
        base64.b64encode(ROOT).decode(),
        "time 2023-11-14T22:13:20.500Z",
        f"kid {signer.kid}",
    ]
    assert sigs.startswith("\u2014 example.com/audit ")
    assert note.endswith("\n")
    raw = base64.b64decode(sigs.split(" ")[2])
    assert len(raw) == 4 + 64  # key hash + Ed25519 signature


def test_key_hash_is_the_signed_note_key_id(signer: NoteSigner, key: SigningKey) -> None:
    public = b64url_decode(key.public_jwk()["x"])
    expected = hashlib.sha256(b"example.com/audit\n\x01" + public).digest()[:4]
    name, khash, b64key = signer.vkey.split("+", 2)
    assert (name, khash) == ("example.com/audit", expected.hex())
    assert base64.b64decode(b64key) == b"\x01" + public


def test_round_trip_with_the_public_key_alone(signer: NoteSigner) -> None:
    note = signer.sign(_cp(signer)).note
    witness = NoteVerifier.from_vkey(signer.vkey)
    assert witness.open(note) == _cp(signer)


def test_cosignatures_from_others_are_ignored(signer: NoteSigner) -> None:
    other = NoteSigner(SigningKey.generate("EdDSA"), name="witness.example")
    note = signer.sign(_cp(signer)).note
    cosigned = note + other.sign(_cp(signer)).note.split("\n\n")[1]
    assert NoteVerifier.from_vkey(signer.vkey).open(cosigned).size == 42


@pytest.mark.parametrize(
    "edit",
    [
        lambda n: n.replace("\n42\n", "\n43\n"),
        lambda n: n.replace("time 2023", "time 2024"),
        lambda n: n.replace("example.com/audit\n", "example.com/other\n", 1),
    ],
)
def test_any_edit_to_the_body_breaks_the_signature(signer: NoteSigner, edit) -> None:  # type: ignore[no-untyped-def]
    note = edit(signer.sign(_cp(signer)).note)
    with pytest.raises(IntegrityError):
        NoteVerifier.from_vkey(signer.vkey).open(note)


def test_a_different_key_does_not_verify(signer: NoteSigner) -> None:
    impostor = NoteSigner(SigningKey.generate("EdDSA"), name=signer.name)
    with pytest.raises(IntegrityError):
        NoteVerifier.from_vkey(signer.vkey).open(impostor.sign(_cp(signer)).note)


@pytest.mark.parametrize(
    "note",
    [
        "",
        "no blank line\n",
        "a\n1\nroot\n\n",
        "x" * 70_000,
        "a\n1\nAAAA\ntime t\nkid k\n\n\u2014 a AAAA\n",
        "a\n1\nAAAA\ntime t\nkid k\n\nnot a signature line\n",
    ],
)
def test_malformed_notes_are_rejected(signer: NoteSigner, note: str) -> None:
    with pytest.raises((InvalidInput, IntegrityError)):
        NoteVerifier.from_vkey(signer.vkey).open(note)


@pytest.mark.parametrize(
    "body",
    [
        b"o\n01\n" + base64.b64encode(ROOT) + b"\ntime 2023-11-14T22:13:20Z\nkid k\n",
        b"o\n1\n" + base64.b64encode(ROOT[:31]) + b"\ntime 2023-11-14T22:13:20Z\nkid k\n",
        b"o\n1\n" + base64.b64encode(ROOT) + b"\nkid k\n",
        b"o\n1\n" + base64.b64encode(ROOT) + b"\ntime 2023-11-14T22:13:20\nkid k\n",
        b"o\n-1\n" + base64.b64encode(ROOT) + b"\ntime 2023-11-14T22:13:20Z\nkid k\n",
    ],
)
def test_malformed_bodies_are_rejected(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_body(body)


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "a+b",
        "a+zzzzzzzz+AAAA",
        "a+00000000+AQ==",
        "a+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(),
    ],
)
def test_bad_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(InvalidInput):
        NoteVerifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "has space", "a+b", "x" * 200])
def test_key_names_are_checked(key: SigningKey, name: str) -> None:
    with pytest.raises(InvalidInput):
        NoteSigner(key, name=name)


def test_only_ed25519_keys_sign_checkpoints() -> None:
    with pytest.raises(InvalidInput):
        NoteSigner(SigningKey.generate("ES256"))


def test_directory_exports_latest_and_history(tmp_path: Path, signer: NoteSigner) -> None:
    folder = CheckpointDirectory(tmp_path / "checkpoints")
    assert folder.latest() is None
    assert list(folder.history()) == []
    first, second = signer.sign(_cp(signer, 1)), signer.sign(_cp(signer, 2))
    folder.publish(first)
    folder.publish(second)
    assert folder.latest() == second.note
    assert list(folder.history()) == [first.note, second.note]
    mode = stat.S_IMODE(os.stat(folder.latest_path).st_mode)
    assert mode == 0o644
    assert not [p for p in folder.path.rglob(".tmp-*")]
