"""RFC 6238 Appendix B known-answer tests through our TOTP module."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from zerotrust.identity.totp import TotpParams, code_at, matching_step

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "rfc6238.json").read_text())
CASES = [
    (case["time"], alg, case[alg])
    for case in VECTORS["cases"]
    for alg in ("SHA1", "SHA256", "SHA512")
]


def _b32(seed: str) -> str:
    return base64.b32encode(seed.encode()).decode()


@pytest.mark.parametrize(("ts", "alg", "expected"), CASES)
def test_rfc6238_appendix_b(ts: int, alg: str, expected: str) -> None:
    params = TotpParams(algorithm=alg, digits=8)
    assert code_at(_b32(VECTORS["seeds"][alg]), ts, params) == expected


def test_all_eighteen_vectors_are_run() -> None:
    assert len(CASES) == 18


@pytest.mark.parametrize(("ts", "alg", "expected"), CASES)
def test_matching_step_finds_the_vector_step(ts: int, alg: str, expected: str) -> None:
    params = TotpParams(algorithm=alg, digits=8)
    assert matching_step(_b32(VECTORS["seeds"][alg]), expected, now=ts, params=params) == ts // 30
