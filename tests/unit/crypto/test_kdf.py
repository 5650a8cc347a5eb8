"""HKDF-SHA256 key derivation and HMAC-SHA256 (behaviour tests)."""

from __future__ import annotations

import pytest

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.kdf import (
    HKDF_MAX_LENGTH,
    INFO_PREFIX,
    derive_key,
    hkdf_sha256,
    hmac_sha256,
    verify_hmac_sha256,
)

ROOT = bytes(range(32))


def test_rfc5869_a1() -> None:
    okm = hkdf_sha256(
        bytes.fromhex("0b" * 22),
        salt=bytes.fromhex("000102030405060708090a0b0c"),
        info=bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        length=42,
    )
    assert okm == bytes.fromhex(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_absent_salt_means_hash_length_zeros() -> None:
    # RFC 5869 §2.2: "if not provided, [salt] is set to a string of HashLen zeros".
    derived = hkdf_sha256(ROOT, salt=None, info=b"i", length=32)
    assert derived == hkdf_sha256(ROOT, salt=bytes(32), info=b"i", length=32)
    assert derived == hkdf_sha256(ROOT, salt=b"", info=b"i", length=32)


@pytest.mark.parametrize("length", [0, -1, HKDF_MAX_LENGTH + 1, True])
def test_hkdf_length_bounds(length: int) -> None:
    with pytest.raises(InvalidInput):
        hkdf_sha256(ROOT, salt=None, info=b"", length=length)


def test_derive_key_is_hkdf_with_a_versioned_purpose() -> None:
    key = derive_key(ROOT, purpose="vault/field")
    assert key == hkdf_sha256(ROOT, salt=None, info=b"zerotrust/v1/vault/field", length=32)
    assert INFO_PREFIX == b"zerotrust/v1/"
    assert derive_key(ROOT, purpose="vault/field") == key
    assert len(derive_key(ROOT, purpose="vault/field", length=64)) == 64


def test_purposes_and_roots_give_independent_keys() -> None:
    keys = {
        derive_key(ROOT, purpose="vault/field"),
        derive_key(ROOT, purpose="vault/token"),
        derive_key(ROOT, purpose="audit/checkpoint"),
        derive_key(bytes(32), purpose="vault/field"),
    }
    assert len(keys) == 4


@pytest.mark.parametrize("purpose", ["", "p" * 129, "clé", "a\nb", "a\x00b"])
def test_purpose_must_be_printable_ascii(purpose: str) -> None:
    with pytest.raises(InvalidInput):
        derive_key(ROOT, purpose=purpose)


def test_hmac_rfc4231_case_2() -> None:
    tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert tag.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    verify_hmac_sha256(b"Jefe", b"what do ya want for nothing?", tag)


@pytest.mark.parametrize(
    "tag",
    [b"", bytes(32), hmac_sha256(b"k", b"m")[:16], hmac_sha256(b"k", b"m") + b"\x00"],
    ids=["empty", "zeros", "truncated", "extended"],
)
def test_hmac_verify_raises(tag: bytes) -> None:
    with pytest.raises(IntegrityError):
        verify_hmac_sha256(b"k", b"m", tag)
