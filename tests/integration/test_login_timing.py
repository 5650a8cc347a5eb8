"""Unknown and known users answer in the same time (OWASP ASVS 6.3.8).

Medians over 200 interleaved samples each, with production argon2id parameters, must lie
within 10 % of each other. This asserts a security property (no username oracle), not a
speed; speed lives in bench/.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from zerotrust.core.errors import AuthenticationFailed
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import build_services
from zerotrust.settings import Settings

SAMPLES = 200


@pytest.mark.slow
def test_unknown_user_latency_matches_known_user(tmp_path: Path) -> None:
    quiet = tmp_path / "detect.yaml"
    quiet.write_text("playbooks: {}\n")  # no automated block of this one busy source
    settings = Settings(
        data_dir=tmp_path,
        root_key="A" * 43,
        lockout_threshold=10_000,
        ip_failure_limit=100_000,
        detect_config=str(quiet),
    )
    svc = build_services(settings, hashing=PasswordHashing())
    svc.admin.create_user("alice", password="cobalt-heron-ledger-91", actor="test")
    client = ClientInfo(src_ip="198.51.100.1")

    def timed(username: str) -> float:
        start = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            svc.authenticator.login(username, "wrong-password-123", client)
        return time.perf_counter() - start

    for name in ("alice", "nobody"):  # warm caches and connections
        timed(name)
    known, unknown = [], []
    for i in range(SAMPLES):
        known.append(timed("alice"))
        unknown.append(timed(f"nobody{i}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    svc.close()
    assert 0.9 <= ratio <= 1.1, f"unknown/known median latency ratio {ratio:.3f}"
