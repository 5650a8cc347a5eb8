"""Wycheproof AES-GCM known answers through the vault's AEAD layer (``AeadHandle``).

The 66 AES-256 / 96-bit IV / 128-bit tag cases run through the cached-key primitive the
vault encrypts fields with; then each valid case is checked to compose into the sealed
envelope exactly (header, nonce, and the primitive over header-bound associated data).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.aead import AeadKey, Keyring, open_sealed
from zerotrust.crypto.providers import AeadHandle

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "wycheproof"
SUITE = json.loads((VECTORS / "aes_gcm_test.json").read_text(encoding="utf-8"))


def _ours(group: dict[str, Any]) -> bool:
    return bool(group["keySize"] == 256 and group["ivSize"] == 96 and group["tagSize"] == 128)


CASES = [c for g in SUITE["testGroups"] if _ours(g) for c in g["tests"]]
OTHERS = [c for g in SUITE["testGroups"] if not _ours(g) for c in g["tests"]]


def _fields(case: dict[str, Any]) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(case[k]) for k in ("key", "iv", "aad", "msg", "ct", "tag"))


def test_the_whole_profile_is_run() -> None:
    assert len(CASES) == 66
    assert sum(c["result"] == "valid" for c in CASES) == 39


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"tc{c['tcId']}")
def test_known_answer(case: dict[str, Any]) -> None:
    key, iv, aad, msg, ct, tag = _fields(case)
    handle = AeadHandle(AeadKey("dek-v1", key))
    if case["result"] == "valid":
        assert handle.encrypt_raw(iv, msg, aad) == ct + tag
        assert handle.decrypt_raw(iv, ct + tag, aad) == msg
    else:
        with pytest.raises(IntegrityError):
            handle.decrypt_raw(iv, ct + tag, aad)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["result"] == "valid"], ids=lambda c: f"tc{c['tcId']}"
)
def test_envelope_is_the_primitive_over_header_bound_aad(case: dict[str, Any]) -> None:
    key, iv, aad, msg, _, _ = _fields(case)
    handle = AeadHandle(AeadKey("dek-v7", key), random=lambda n: iv * (n // len(iv)))
    context = aad or b"record/field"
    envelope = handle.seal(msg, aad=context)
    header = b"\x01\x06dek-v7"
    assert envelope == header + iv + handle.encrypt_raw(iv, msg, header + context)
    # The same bytes the platform's reference envelope opens, and vice versa.
    assert open_sealed(Keyring(AeadKey("dek-v7", key)), envelope, aad=context) == msg
    assert handle.open(envelope, aad=context) == msg


def test_other_key_and_iv_sizes_are_refused() -> None:
    refused = 0
    for case in OTHERS:
        key, iv, aad, msg, ct, tag = _fields(case)
        if len(key) != 32:
            with pytest.raises(InvalidInput):
                AeadHandle(AeadKey("k", key))
        else:
            handle = AeadHandle(AeadKey("k", key))
            with pytest.raises(InvalidInput):
                handle.encrypt_raw(iv, msg, aad)
            with pytest.raises(InvalidInput):
                handle.decrypt_raw(iv, ct + tag, aad)
        refused += 1
    assert refused == 250


def test_associated_data_is_required() -> None:
    handle = AeadHandle(AeadKey("k", bytes(32)))
    with pytest.raises(InvalidInput):
        handle.seal(b"x", aad=b"")
    with pytest.raises(InvalidInput):
        handle.open(handle.seal(b"x", aad=b"a"), aad=b"")
