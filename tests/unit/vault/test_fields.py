"""Field envelopes: round trips, tampering, misplacement, key versions and nonces."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerotrust.core.errors import IntegrityError
from zerotrust.crypto.aead import AeadKey
from zerotrust.crypto.providers import AeadHandle, RandomnessFailure
from zerotrust.vault.aad import frame
from zerotrust.vault.fields import (
    FieldCipher,
    RecordContext,
    decrypt_field,
    encrypt_field,
    key_version,
)
from zerotrust.vault.keys import DataKey
from zerotrust.vault.services import Vault

KEY_1 = DataKey(1, AeadHandle(AeadKey("dek-v1", bytes(range(32)))))
KEY_2 = DataKey(2, AeadHandle(AeadKey("dek-v2", bytes(range(1, 33)))))
HERE = RecordContext("acme", "customers", "cus_1")
PLAINTEXT = b'"alice@example.org"'


def _sealed() -> bytes:
    return encrypt_field(KEY_1, HERE, "email", PLAINTEXT)


@settings(deadline=None)  # a loaded CI machine must not turn timing into failure
@given(st.binary(max_size=2048), st.text(min_size=1, max_size=20))
def test_round_trip(value: bytes, field: str) -> None:
    assert decrypt_field(KEY_1, HERE, field, encrypt_field(KEY_1, HERE, field, value)) == value


def test_envelope_carries_version_and_key_id() -> None:
    envelope = _sealed()
    assert envelope[0] == 1
    assert envelope[2 : 2 + envelope[1]] == b"dek-v1"
    assert key_version(envelope) == 1
    assert len(envelope) == 2 + 6 + 12 + len(PLAINTEXT) + 16


@pytest.mark.parametrize("position", range(len(_sealed())))
def test_any_flipped_bit_is_an_integrity_error(position: int) -> None:
    # Header, nonce, ciphertext and tag alike: every byte is authenticated.
    tampered = bytearray(_sealed())
    tampered[position] ^= 0x01
    with pytest.raises(IntegrityError):
        decrypt_field(KEY_1, HERE, "email", bytes(tampered))


@pytest.mark.parametrize("cut", [1, 4, 15, 16, 17, 30])
def test_truncation_is_an_integrity_error(cut: int) -> None:
    with pytest.raises(IntegrityError):
        decrypt_field(KEY_1, HERE, "email", _sealed()[:-cut])


def test_appended_bytes_are_an_integrity_error() -> None:
    with pytest.raises(IntegrityError):
        decrypt_field(KEY_1, HERE, "email", _sealed() + b"\x00")


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (RecordContext("acme", "customers", "cus_2"), "email"),  # another record
        (HERE, "phone"),  # another field of the same record
        (RecordContext("acme", "transactions", "cus_1"), "email"),  # another table
        (RecordContext("other", "customers", "cus_1"), "email"),  # another tenant
    ],
)
def test_moved_ciphertext_is_an_integrity_error(where: RecordContext, field: str) -> None:
    with pytest.raises(IntegrityError):
        decrypt_field(KEY_1, where, field, _sealed())


def test_swapping_two_records_fields_fails_both_ways() -> None:
    a = RecordContext("acme", "customers", "cus_a")
    b = RecordContext("acme", "customers", "cus_b")
    ea = encrypt_field(KEY_1, a, "email", b"a")
    eb = encrypt_field(KEY_1, b, "email", b"b")
    for where, envelope in ((a, eb), (b, ea)):
        with pytest.raises(IntegrityError):
            decrypt_field(KEY_1, where, "email", envelope)


def test_wrong_key_version_is_an_integrity_error() -> None:
    envelope = _sealed()
    relabelled = envelope.replace(b"dek-v1", b"dek-v2", 1)
    assert key_version(relabelled) == 2
    with pytest.raises(IntegrityError):
        decrypt_field(KEY_2, HERE, "email", relabelled)
    with pytest.raises(IntegrityError):
        decrypt_field(KEY_2, HERE, "email", envelope)


@pytest.mark.parametrize(
    "envelope",
    [b"", b"\x01", b"\x02\x06dek-v1", b"\x01\x06kek-v1", b"\x01\x06dek-v0", b"\x01\x06dek-vx"],
)
def test_malformed_headers_name_no_version(envelope: bytes) -> None:
    with pytest.raises(IntegrityError):
        key_version(envelope)


def test_framing_is_unambiguous() -> None:
    assert frame("ab", "c") != frame("a", "bc")
    assert RecordContext("a", "bc", "d").aad("e", 1) != RecordContext("ab", "c", "d").aad("e", 1)


def test_100k_encryptions_never_repeat_a_key_and_nonce() -> None:
    # Security catalogue 14 (Vault's TestEncrypt_Unique): every (key id, nonce) is unique,
    # every nonce is 12 bytes, and equal plaintexts give different ciphertexts.
    seen: set[bytes] = set()
    for i in range(100_000):
        envelope = encrypt_field(KEY_1 if i % 2 else KEY_2, HERE, "email", PLAINTEXT)
        seen.add(envelope[:20])  # header (with key id) + the 12-byte nonce
    assert len(seen) == 100_000
    assert _sealed() != _sealed()


def test_a_stuck_random_generator_is_refused() -> None:
    stuck = DataKey(1, AeadHandle(AeadKey("dek-v1", os.urandom(32)), random=lambda n: b"\x07" * n))
    encrypt_field(stuck, HERE, "email", b"first")
    with pytest.raises(RandomnessFailure):
        encrypt_field(stuck, HERE, "email", b"second")


def test_a_short_nonce_from_the_generator_is_refused() -> None:
    counter = itertools.count()
    short = DataKey(
        1,
        AeadHandle(AeadKey("dek-v1", os.urandom(32)), random=lambda n: bytes([next(counter)]) * 8),
    )
    with pytest.raises(RandomnessFailure):
        encrypt_field(short, HERE, "email", b"x")


def test_field_cipher_uses_the_subjects_keys(vault: Vault) -> None:
    cipher = FieldCipher(vault.keys)
    where = RecordContext("default", "customers", "cus_x")
    sealed = cipher.encrypt("cus_x", where, {"email": b"1", "phone": b"2"})
    assert cipher.decrypt("cus_x", where, sealed) == {"email": b"1", "phone": b"2"}
    assert cipher.decrypt("cus_x", where, sealed, only=("phone",)) == {"phone": b"2"}
    with pytest.raises(IntegrityError):  # another subject's key
        cipher.decrypt("cus_y", where, sealed)


def test_a_forked_child_never_reuses_the_parents_nonces() -> None:
    handle = AeadHandle(AeadKey("dek-v1", os.urandom(32)))
    handle.seal(b"warm", aad=b"a")  # the parent now holds a batch of drawn nonces
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the nonce of its next seal, then leave at once
        os.write(write, handle.seal(b"child", aad=b"a")[8:20])
        os._exit(0)
    os.waitpid(pid, 0)
    child_nonce = os.read(read, 12)
    os.close(read)
    os.close(write)
    parent_nonce = handle.seal(b"parent", aad=b"a")[8:20]
    assert len(child_nonce) == 12
    assert child_nonce != parent_nonce


def test_threads_sharing_a_key_never_share_a_nonce() -> None:
    import sys
    import threading

    handle = AeadHandle(AeadKey("dek-v1", os.urandom(32)))
    seen: list[list[bytes]] = [[] for _ in range(8)]

    def work(out: list[bytes]) -> None:
        for _ in range(5000):
            out.append(handle.seal(b"x", aad=b"a")[8:20])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(out,)) for out in seen]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    nonces = [n for out in seen for n in out]
    assert len(nonces) == len(set(nonces)) == 40_000
