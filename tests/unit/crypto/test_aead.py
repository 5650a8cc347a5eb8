"""AES-256-GCM envelopes: format, tamper detection, key rotation (behaviour tests)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.aead import (
    NONCE_SIZE,
    TAG_SIZE,
    AeadKey,
    Keyring,
    aesgcm_decrypt,
    aesgcm_encrypt,
    envelope_key_id,
    open_sealed,
    seal,
)

OLD = AeadKey("k-2024-01", bytes(range(32)))
NEW = AeadKey("k-2025-01", bytes(range(32, 64)))
RING = Keyring(NEW, [OLD])
AAD = b"tenant=acme|table=customers|record=42|field=ssn"
ENVELOPE = seal(NEW, b"078-05-1120", aad=AAD)
HEADER_LEN = 2 + len(NEW.key_id)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# Raw layer


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33, 64])
def test_raw_layer_refuses_other_key_sizes(size: int) -> None:
    with pytest.raises(InvalidInput):
        aesgcm_encrypt(os.urandom(size), os.urandom(12), b"x", b"")
    with pytest.raises(InvalidInput):
        aesgcm_decrypt(os.urandom(size), os.urandom(12), bytes(17), b"")


@pytest.mark.parametrize("size", [0, 8, 11, 13, 16])
def test_raw_layer_refuses_other_nonce_sizes(size: int) -> None:
    with pytest.raises(InvalidInput):
        aesgcm_encrypt(bytes(32), os.urandom(size), b"x", b"")
    with pytest.raises(InvalidInput):
        aesgcm_decrypt(bytes(32), os.urandom(size), bytes(17), b"")


@pytest.mark.parametrize("size", [0, 1, 15])
def test_raw_layer_input_shorter_than_a_tag_fails_integrity(size: int) -> None:
    with pytest.raises(IntegrityError):
        aesgcm_decrypt(bytes(32), bytes(12), bytes(size), b"")


# Keys and keyrings


def test_key_repr_never_shows_material() -> None:
    key = AeadKey("k1", b"\xab" * 32)
    assert repr(key) == "AeadKey(key_id='k1')"


@pytest.mark.parametrize("material", [b"", bytes(16), bytes(31), bytes(33), bytearray(32)])
def test_key_material_must_be_32_bytes(material: bytes) -> None:
    with pytest.raises(InvalidInput):
        AeadKey("k1", material)


@pytest.mark.parametrize("key_id", ["", "k" * 65, "clé", "k\n1", "k\x001", 7])
def test_key_id_must_be_short_printable_ascii(key_id: str) -> None:
    with pytest.raises(InvalidInput):
        AeadKey(key_id, bytes(32))


def test_key_equality_needs_same_id_and_material() -> None:
    assert AeadKey("k1", bytes(32)) == AeadKey("k1", bytes(32))
    assert AeadKey("k1", bytes(32)) != AeadKey("k1", b"\x01" * 32)
    assert AeadKey("k1", bytes(32)) != AeadKey("k2", bytes(32))


def test_keyring_lookup() -> None:
    assert RING.primary is NEW
    assert RING.get(OLD.key_id) is OLD
    assert RING.key_ids == (NEW.key_id, OLD.key_id)
    with pytest.raises(IntegrityError):
        RING.get("k-unknown")
    assert "material" not in repr(RING)


def test_keyring_refuses_one_id_for_two_keys() -> None:
    with pytest.raises(InvalidInput):
        Keyring(NEW, [AeadKey(NEW.key_id, bytes(32))])
    assert Keyring(NEW, [NEW, OLD]).key_ids == (NEW.key_id, OLD.key_id)


# Envelopes


@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes) -> None:
    assert open_sealed(RING, seal(NEW, plaintext, aad=aad), aad=aad) == plaintext


def test_envelope_layout() -> None:
    key_id = NEW.key_id.encode()
    assert ENVELOPE[:HEADER_LEN] == b"\x01" + bytes([len(key_id)]) + key_id
    assert len(ENVELOPE) == HEADER_LEN + NONCE_SIZE + len(b"078-05-1120") + TAG_SIZE
    assert envelope_key_id(ENVELOPE) == NEW.key_id


def test_header_is_authenticated_as_associated_data() -> None:
    nonce = ENVELOPE[HEADER_LEN : HEADER_LEN + NONCE_SIZE]
    body = ENVELOPE[HEADER_LEN + NONCE_SIZE :]
    assert aesgcm_decrypt(NEW.material, nonce, body, ENVELOPE[:HEADER_LEN] + AAD) == b"078-05-1120"
    with pytest.raises(IntegrityError):
        aesgcm_decrypt(NEW.material, nonce, body, AAD)


@given(bit=st.integers(min_value=0, max_value=len(ENVELOPE) * 8 - 1))
def test_any_single_bit_flip_fails(bit: int) -> None:
    with pytest.raises(IntegrityError):
        open_sealed(RING, _flip(ENVELOPE, bit), aad=AAD)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, HEADER_LEN),  # version, key id length, key id
        (HEADER_LEN, HEADER_LEN + NONCE_SIZE),  # nonce
        (HEADER_LEN + NONCE_SIZE, len(ENVELOPE) - TAG_SIZE),  # ciphertext
        (len(ENVELOPE) - TAG_SIZE, len(ENVELOPE)),  # tag
    ],
    ids=["header", "nonce", "ciphertext", "tag"],
)
def test_every_bit_of_each_region_is_protected(start: int, end: int) -> None:
    for bit in range(start * 8, end * 8):
        with pytest.raises(IntegrityError):
            open_sealed(RING, _flip(ENVELOPE, bit), aad=AAD)


def test_every_truncation_fails() -> None:
    for length in range(len(ENVELOPE)):
        with pytest.raises(IntegrityError):
            open_sealed(RING, ENVELOPE[:length], aad=AAD)


def test_appended_bytes_fail() -> None:
    with pytest.raises(IntegrityError):
        open_sealed(RING, ENVELOPE + b"\x00", aad=AAD)


@pytest.mark.parametrize(
    "aad",
    [
        b"tenant=acme|table=customers|record=42|field=email",  # moved to another field
        b"tenant=acme|table=customers|record=43|field=ssn",  # moved to another record
        b"tenant=evil|table=customers|record=42|field=ssn",  # moved to another tenant
        b"",
    ],
)
def test_wrong_associated_data_fails(aad: bytes) -> None:
    with pytest.raises(IntegrityError):
        open_sealed(RING, ENVELOPE, aad=aad)


def test_unknown_key_id_fails() -> None:
    with pytest.raises(IntegrityError):
        open_sealed(Keyring(OLD), ENVELOPE, aad=AAD)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_format_version_fails(version: int) -> None:
    with pytest.raises(IntegrityError):
        open_sealed(RING, bytes([version]) + ENVELOPE[1:], aad=AAD)
    with pytest.raises(IntegrityError):
        envelope_key_id(bytes([version]) + ENVELOPE[1:])


@pytest.mark.parametrize("envelope", [b"", b"\x01", b"\x01\x00" + bytes(28), b"\x01\x05abc"])
def test_malformed_envelopes_have_no_key_id(envelope: bytes) -> None:
    with pytest.raises(IntegrityError):
        envelope_key_id(envelope)


def test_same_plaintext_seals_differently() -> None:
    assert seal(NEW, b"same", aad=AAD) != seal(NEW, b"same", aad=AAD)


def test_nonces_are_unique_and_96_bit() -> None:
    count = 100_000
    nonces = set()
    for _ in range(count):
        envelope = seal(NEW, b"", aad=b"")
        assert len(envelope) == HEADER_LEN + NONCE_SIZE + TAG_SIZE
        nonces.add(envelope[HEADER_LEN : HEADER_LEN + NONCE_SIZE])
    assert len(nonces) == count


def test_rotation_new_primary_still_opens_old_envelopes() -> None:
    old_envelope = seal(Keyring(OLD).primary, b"pan", aad=AAD)
    rotated = Keyring(NEW, [OLD])
    assert envelope_key_id(old_envelope) == OLD.key_id
    assert open_sealed(rotated, old_envelope, aad=AAD) == b"pan"
    rewrapped = seal(rotated.primary, open_sealed(rotated, old_envelope, aad=AAD), aad=AAD)
    assert envelope_key_id(rewrapped) == NEW.key_id
    with pytest.raises(IntegrityError):
        open_sealed(Keyring(OLD), rewrapped, aad=AAD)
