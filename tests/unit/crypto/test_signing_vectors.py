"""Wycheproof Ed25519 and ECDSA P-256/SHA-256 (IEEE P1363 form) through ``VerifyingKey``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zerotrust.core.errors import IntegrityError
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.crypto.signing import VerifyingKey

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "wycheproof"

Case = tuple[dict[str, Any], dict[str, Any]]


def _cases(name: str) -> list[Case]:
    suite = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    cases = [(group, case) for group in suite["testGroups"] for case in group["tests"]]
    assert len(cases) == suite["numberOfTests"]
    return cases


ED25519 = _cases("ed25519_test.json")
P256 = _cases("ecdsa_secp256r1_sha256_p1363_test.json")


def _id(item: Case) -> str:
    return f"tc{item[1]['tcId']}"


def _coordinate(hex_value: str) -> str:
    # Wycheproof gives integers (sometimes with a leading 00 or shorter); JWKs need 32 bytes.
    return b64url_encode(int(hex_value, 16).to_bytes(32, "big"))


def _p256_key(group: dict[str, Any]) -> VerifyingKey:
    public = group["publicKey"]
    jwk = {"kty": "EC", "crv": "P-256", "x": _coordinate(public["wx"])}
    jwk["y"] = _coordinate(public["wy"])
    if "publicKeyJwk" in group:  # Not every group has one; when it does it must agree.
        assert {k: group["publicKeyJwk"][k] for k in ("kty", "crv", "x", "y")} == jwk
    return VerifyingKey.from_jwk(jwk)


def _check(key: VerifyingKey, case: dict[str, Any]) -> None:
    msg, sig = bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
    if case["result"] == "valid":
        key.verify(msg, sig)
    else:
        assert case["result"] == "invalid"
        with pytest.raises(IntegrityError):
            key.verify(msg, sig)


def test_all_cases_are_run() -> None:
    assert (len(ED25519), len(P256)) == (151, 262)


@pytest.mark.parametrize("item", ED25519, ids=_id)
def test_ed25519(item: Case) -> None:
    group, case = item
    key = VerifyingKey.from_jwk(group["publicKeyJwk"])
    assert key.alg == "EdDSA"
    assert key.jwk["x"] == b64url_encode(bytes.fromhex(group["publicKey"]["pk"]))
    _check(key, case)


@pytest.mark.parametrize("item", P256, ids=_id)
def test_ecdsa_p256_sha256_p1363(item: Case) -> None:
    group, case = item
    key = _p256_key(group)
    assert key.alg == "ES256"
    _check(key, case)
