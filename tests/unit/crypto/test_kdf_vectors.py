"""Wycheproof HKDF-SHA256 and HMAC-SHA256 known-answer tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.kdf import hkdf_sha256, hmac_sha256, verify_hmac_sha256

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "wycheproof"


def _cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    suite = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    cases = [(group, case) for group in suite["testGroups"] for case in group["tests"]]
    assert len(cases) == suite["numberOfTests"]
    return cases


HKDF = _cases("hkdf_sha256_test.json")
HMAC = _cases("hmac_sha256_test.json")


def _id(item: tuple[dict[str, Any], dict[str, Any]]) -> str:
    return f"tc{item[1]['tcId']}"


def test_all_cases_are_run() -> None:
    assert (len(HKDF), len(HMAC)) == (86, 174)


@pytest.mark.parametrize("item", HKDF, ids=_id)
def test_hkdf_sha256(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, case = item
    ikm, salt, info = (bytes.fromhex(case[name]) for name in ("ikm", "salt", "info"))
    if case["result"] == "valid":
        okm = hkdf_sha256(ikm, salt=salt, info=info, length=case["size"])
        assert okm == bytes.fromhex(case["okm"])
    else:
        assert case["flags"] == ["SizeTooLarge"]
        with pytest.raises(InvalidInput):
            hkdf_sha256(ikm, salt=salt, info=info, length=case["size"])


@pytest.mark.parametrize("item", HMAC, ids=_id)
def test_hmac_sha256(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    group, case = item
    key, msg, tag = (bytes.fromhex(case[name]) for name in ("key", "msg", "tag"))
    valid = case["result"] == "valid"
    assert (hmac_sha256(key, msg)[: group["tagSize"] // 8] == tag) is valid
    if valid and group["tagSize"] == 256:
        verify_hmac_sha256(key, msg, tag)
    else:
        # Invalid tags fail, and truncated tags are refused even when they match.
        with pytest.raises(IntegrityError):
            verify_hmac_sha256(key, msg, tag)
