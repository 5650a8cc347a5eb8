"""Login and TOTP throughput against the raw library calls, in one process.

    python bench/bench_identity.py [--seconds 3]

Login (password step) is dominated by argon2id by design; the ratio shows what the rest
of the step (lockout counters, lookups, events, the mfa_token) costs on top of it.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
from argon2 import PasswordHasher

from zerotrust.core.clock import SystemClock
from zerotrust.identity import totp
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import build_services
from zerotrust.settings import Settings

PASSWORD = "cobalt-heron-ledger-91"


def rate(fn: Callable[[int], object], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), root_key="A" * 43, ip_failure_limit=10**9)
        svc = build_services(settings, clock=SystemClock(), hashing=PasswordHashing())
        user = svc.admin.create_user("alice", password=PASSWORD, actor="bench")
        secret, _ = svc.admin.enroll_totp(user, actor="bench", active=True)
        client = ClientInfo(src_ip="127.0.0.1")

        raw = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        stored = raw.hash(PASSWORD)
        raw_hash = rate(lambda _: raw.verify(stored, PASSWORD), args.seconds)
        login = rate(lambda _: svc.authenticator.login("alice", PASSWORD, client), args.seconds)

        lib = pyotp.TOTP(secret)
        code = lib.now()
        raw_totp = rate(lambda _: lib.verify(code, valid_window=1), args.seconds)
        ours = rate(lambda _: totp.matching_step(secret, code, now=time.time()), args.seconds)
        svc.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| measure | ours (/s) | raw library (/s) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| login, password step (argon2id m=19 MiB t=2 p=1) | {login:,.1f} | "
        f"{raw_hash:,.1f} (argon2 verify) | {login / raw_hash:.2f} |"
    )
    print(
        f"| TOTP check, ±1 step, constant-time over all three | {ours:,.0f} | "
        f"{raw_totp:,.0f} (pyotp verify) | {ours / raw_totp:.2f} |"
    )
    print(f"\npeak RSS: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
