"""Report generation over N audit entries (default 1,000,000) on SQLite: time and peak RSS.

Seeds the log with ``AuditLog.append_many`` in batches of 10,000 (a realistic mix of
access decisions, vault reads, logins and admin actions), then times one PCI, SOC 2 and
GDPR report each, every one a fresh scan plus a fresh full verification.

    python bench/bench_compliance.py [--entries 1000000]
"""

from __future__ import annotations

import argparse
import resource
import secrets
import tempfile
import time
from pathlib import Path

from zerotrust.compliance.dataflow import load_inventory
from zerotrust.compliance.report import build_report
from zerotrust.compliance_adapter import LiveEvidence, campaigns_for
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import build_services
from zerotrust.settings import Settings

INVENTORY = Path(__file__).resolve().parents[1] / "examples" / "dataflow.yaml"


def records(i: int, actors: list[str]) -> AuditRecord:
    kind = i % 4
    actor = actors[i % len(actors)]
    if kind == 0:
        return AuditRecord(
            "authz.decision",
            f"User:{actor}",
            "allowed",
            f"Transaction:txn_{i}",
            "role-permit",
            details={"action": "read", "route": "transactions"},
        )
    if kind == 1:
        return AuditRecord("vault.read", actor, "success", f"CustomerPII:cus_{i % 5000}")
    if kind == 2:
        return AuditRecord("auth.login", actor, "success", src_ip="203.0.113.9")
    return AuditRecord("session.refresh", actor, "success")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            root_key=b64url_encode(secrets.token_bytes(32)),
            issuer="http://bench",
            origins=("http://bench",),
        )
        clock = FixedClock(1_767_225_600.0)
        svc = build_services(
            settings, clock=clock, hashing=PasswordHashing(memory_kib=1024, time_cost=1)
        )
        assert svc.audit_log is not None
        users = [
            svc.admin.create_user(
                f"user{n}",
                roles=("fraud_analyst",),
                password="cobalt-heron-ledger-91",
                actor="bench",
            ).id
            for n in range(20)
        ]
        started = time.perf_counter()
        batch = 10_000
        for start in range(0, args.entries, batch):
            svc.audit_log.append_many([records(i, users) for i in range(start, start + batch)])
            clock.advance(1)
        seeded = time.perf_counter() - started
        print(f"seeded {args.entries:,} entries in {seeded:.1f} s")
        source = LiveEvidence(svc)
        inventory = load_inventory(INVENTORY)
        for framework in ("pci", "soc2", "gdpr"):
            t0 = time.perf_counter()
            report = build_report(
                framework,
                source,
                inventory=inventory,
                campaigns=campaigns_for(svc),
                recorder=source,
            )
            elapsed = time.perf_counter() - t0
            print(f"{framework}: {elapsed:.1f} s, failed {report.failed()}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {rss:.0f} MiB")
        svc.close()


if __name__ == "__main__":
    main()
