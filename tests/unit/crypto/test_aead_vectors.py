"""Wycheproof AES-GCM known-answer tests through the raw AES-256-GCM layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.aead import aesgcm_decrypt, aesgcm_encrypt

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "wycheproof"
SUITE = json.loads((VECTORS / "aes_gcm_test.json").read_text(encoding="utf-8"))
GROUPS = SUITE["testGroups"]


def _ours(group: dict[str, Any]) -> bool:
    return bool(group["keySize"] == 256 and group["ivSize"] == 96 and group["tagSize"] == 128)


CASES = [case for group in GROUPS if _ours(group) for case in group["tests"]]
OTHER_SIZES = [(group, case) for group in GROUPS if not _ours(group) for case in group["tests"]]


def _fields(case: dict[str, Any]) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(case[name]) for name in ("key", "iv", "aad", "msg", "ct", "tag"))


def test_every_aes256_gcm_96_bit_iv_case_is_run() -> None:
    assert len(CASES) == 66
    assert sum(case["result"] == "valid" for case in CASES) == 39


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"tc{case['tcId']}")
def test_aes256_gcm(case: dict[str, Any]) -> None:
    key, iv, aad, msg, ct, tag = _fields(case)
    if case["result"] == "valid":
        assert aesgcm_encrypt(key, iv, msg, aad) == ct + tag
        assert aesgcm_decrypt(key, iv, ct + tag, aad) == msg
    else:
        assert case["result"] == "invalid"
        with pytest.raises(IntegrityError):
            aesgcm_decrypt(key, iv, ct + tag, aad)


def test_other_key_and_nonce_sizes_are_refused() -> None:
    # AES-128/192 and every IV length but 96 bits are valid GCM, yet outside our profile.
    refused = 0
    for group, case in OTHER_SIZES:
        key, iv, aad, msg, ct, tag = _fields(case)
        assert len(key) != 32 or len(iv) != 12, group
        with pytest.raises(InvalidInput):
            aesgcm_encrypt(key, iv, msg, aad)
        with pytest.raises(InvalidInput):
            aesgcm_decrypt(key, iv, ct + tag, aad)
        refused += 1
    assert refused == SUITE["numberOfTests"] - 66 == 250
