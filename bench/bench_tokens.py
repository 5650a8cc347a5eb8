"""Token + DPoP proof verification against the raw signature checks of the same keys.

    python bench/bench_tokens.py [--seconds 3]

Each request carries two signatures: the access token (Ed25519, ours) and the DPoP proof
(P-256, the device's). The reference is those two raw verifications with ``cryptography``;
ours adds parsing, claim checks, thumbprints and (for the full path) the replay cache and
the session lookup in SQLite.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from zerotrust.client import DeviceKey
from zerotrust.core.clock import SystemClock
from zerotrust.crypto.dpop import make_dpop_proof, verify_dpop_proof
from zerotrust.crypto.encoding import b64url_decode
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import build_services
from zerotrust.settings import Settings

URL = "http://127.0.0.1:8000/v1/me"


def rate(fn: Callable[[int], object], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--redis", default="", help="redis:// URL for the jti replay cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), root_key="A" * 43, redis_url=args.redis)
        svc = build_services(
            settings, clock=SystemClock(), hashing=PasswordHashing(memory_kib=1024, time_cost=1)
        )
        user = svc.admin.create_user("alice", password="cobalt-heron-ledger-91", actor="b")
        secret, _ = svc.admin.enroll_totp(user, actor="b", active=True)
        device = DeviceKey.generate("ES256")
        client = ClientInfo(src_ip="127.0.0.1", jkt=device.jkt)
        import pyotp

        first = svc.authenticator.login("alice", "cobalt-heron-ledger-91", client)
        tokens = svc.authenticator.complete_totp(first.mfa_token, pyotp.TOTP(secret).now(), client)
        token = tokens.access_token
        proofs = [
            make_dpop_proof(device.key, method="GET", url=URL, now=time.time(), access_token=token)
            for _ in range(60_000)
        ]

        # Reference: the two signatures, verified raw.
        head, body, sig = token.split(".")
        tok_input, tok_sig = f"{head}.{body}".encode(), b64url_decode(sig)
        ed_pub = svc.tokens.signing_key().verifying_key()
        p_head, p_body, p_sig = proofs[0].split(".")
        raw_p = b64url_decode(p_sig)
        der = encode_dss_signature(
            int.from_bytes(raw_p[:32], "big"), int.from_bytes(raw_p[32:], "big")
        )
        ec_pub = device.key.verifying_key()._public
        ed_raw = ed_pub._public
        p_input = f"{p_head}.{p_body}".encode()

        def raw(_: int) -> None:
            ed_raw.verify(tok_sig, tok_input)
            ec_pub.verify(der, p_input, ec.ECDSA(hashes.SHA256()))

        def stateless(i: int) -> None:
            svc.tokens.verify(token)
            verify_dpop_proof(
                proofs[i], method="GET", urls={URL}, now=time.time(), access_token=token
            )

        def full(i: int) -> None:
            proof = svc.dpop.verify(proofs[i], method="GET", urls={URL}, access_token=token)
            svc.sessions.authenticate(token, jkt=proof.jkt)

        r_raw = rate(raw, args.seconds)
        r_stateless = rate(stateless, args.seconds)
        r_full = rate(full, args.seconds)
        svc.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| path | verifications/s | ratio to raw |")
    print("|---|---|---|")
    print(f"| raw: Ed25519 token signature + P-256 proof signature | {r_raw:,.0f} | 1.00 |")
    print(
        f"| ours, stateless: token claims + proof checks | {r_stateless:,.0f} | "
        f"{r_stateless / r_raw:.2f} |"
    )
    cache = "Redis" if args.redis else "SQLite"
    print(
        f"| ours, full: + jti replay cache ({cache}) + live session (SQLite) | {r_full:,.0f} | "
        f"{r_full / r_raw:.2f} |"
    )
    print(f"\npeak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
