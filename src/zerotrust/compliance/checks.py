"""Automated checks over live state. Each reads facts from an ``EvidenceSource`` and the
audit entries of the period, and returns a ``CheckResult``: pass or fail, a one-line
summary, the evidence (counts and samples, with audit entry seqs) and, on failure, what
to do about it. A check never raises for a failed control; it reports it.

The audit log is read once per report (``Digest``), whatever the number of checks, so a
report over millions of entries costs one streamed pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from zerotrust.compliance.dataflow import DataFlowMap, FlowObserver, Inventory, merge
from zerotrust.compliance.models import (
    CheckResult,
    EvidenceSource,
    IntegrityFacts,
    Permission,
    ScannedEntry,
)
from zerotrust.compliance.reviews import (
    DAY,
    CampaignStore,
    PrincipalReview,
    latest_closed,
    review_principals,
)
from zerotrust.core.clock import iso_utc

MAX_SAMPLES: Final = 5
_ADMIN_ACTIONS: Final = ("role.", "principal.", "policy.", "mfa.reset", "grant.approve")


@dataclass(frozen=True)
class Requirements:
    """The values the checks hold live state to (PCI DSS v4.0 unless noted)."""

    lockout_threshold_max: int = 10  # 8.3.4: lock after not more than 10 attempts
    lockout_duration_min_s: int = 30 * 60  # 8.3.4: for at least 30 minutes
    session_idle_max_s: int = 15 * 60  # 8.2.8: re-authenticate after 15 minutes idle
    session_absolute_max_s: int = 12 * 3600  # DESIGN.md: absolute session lifetime
    key_max_age_days: int = 365  # 3.6.1/3.7.4: our defined KEK cryptoperiod
    review_max_age_days: int = 90  # SOC 2 CC6.2: quarterly access reviews
    period_days: int = 90  # the default report period and access-review window


@dataclass
class Digest:
    """Everything the checks need from the audit entries of the period, in one pass."""

    entries: int = 0
    tampered: list[int] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[int]] = field(default_factory=dict)
    backsteps: list[int] = field(default_factory=list)
    usage: dict[str, Counter[Permission]] = field(default_factory=dict)
    first_time: str | None = None
    last_time: str | None = None
    observer: FlowObserver | None = None

    def sample(self, key: str, seq: int) -> None:
        seen = self.samples.setdefault(key, [])
        if len(seen) < MAX_SAMPLES:
            seen.append(seq)

    def add(self, scanned: ScannedEntry) -> None:
        from zerotrust.compliance.dataflow import use_of

        e = scanned.entry
        if e is None:
            self.tampered.append(scanned.seq)
            return
        self.entries += 1
        if self.last_time is not None and e.time < self.last_time:
            self.backsteps.append(e.seq)
        self.first_time = self.first_time or e.time
        self.last_time = e.time
        self.actions[e.action] += 1
        self._classify(e.seq, e.action, e.outcome, e.details)
        use = use_of(e)
        if use is not None:
            mine = self.usage.setdefault(use.principal, Counter())
            mine[(use.action, use.resource_type)] += 1
        if self.observer is not None:
            self.observer.add(e)

    def _classify(self, seq: int, action: str, outcome: str, details: Mapping[str, Any]) -> None:
        if action == "authz.decision" and details.get("action") == "manage":
            self.sample(f"manage.{outcome}", seq)
            self.actions[f"manage.{outcome}"] += 1
        if action.startswith(_ADMIN_ACTIONS):
            self.sample("admin", seq)
            self.actions["admin.*"] += 1
        if action.startswith(("detect.", "alert.")):
            key = "response.failed" if outcome == "failure" else "detection"
            self.sample(key, seq)
            self.actions[key] += 1
        if action in ("vault.erase", "gdpr.erase"):
            key = "erasure.failed" if outcome == "failure" else "erasure"
            self.sample(key, seq)
            self.actions[key] += 1
        if action.startswith("review."):
            self.sample(action, seq)


class Evidence:
    """The facts of one report, each read at most once."""

    def __init__(
        self,
        source: EvidenceSource,
        *,
        since: float | None,
        inventory: Inventory | None = None,
        campaigns: CampaignStore | None = None,
        requirements: Requirements | None = None,
    ) -> None:
        self.source = source
        self.now = source.now()
        self.req = requirements or Requirements()
        self.since = self.now - self.req.period_days * DAY if since is None else since
        self.inventory = inventory
        self.campaigns = campaigns

    @cached_property
    def principals(self) -> list[Any]:
        return list(self.source.principals())

    @cached_property
    def digest(self) -> Digest:
        digest = Digest()
        if self.inventory is not None:
            digest.observer = FlowObserver(self.inventory, self.principals)
        for scanned in self.source.audit_entries(since=self.since):
            digest.add(scanned)
        return digest

    @cached_property
    def integrity(self) -> IntegrityFacts:
        return self.source.verify_audit_log()

    @cached_property
    def flow_map(self) -> DataFlowMap | None:
        if self.inventory is None:
            return None
        return merge(self.inventory, self.digest.observer)

    @cached_property
    def reviews(self) -> list[PrincipalReview]:
        return review_principals(self.source, self.digest.usage)


Check = Callable[[Evidence], CheckResult]


def _result(
    check: str,
    failures: list[Any],
    *,
    ok: str,
    bad: str,
    evidence: Mapping[str, Any],
    samples: list[int] | tuple[int, ...] = (),
    remediation: str,
) -> CheckResult:
    if failures:
        return CheckResult(check, "fail", bad, evidence, tuple(samples), remediation)
    return CheckResult(check, "pass", ok, evidence, tuple(samples))


# -- identity ---------------------------------------------------------------------------


def mfa_coverage(ev: Evidence) -> CheckResult:
    users = [p for p in ev.principals if p.kind == "user" and p.active]
    missing = [p for p in users if not p.mfa_methods]
    methods = Counter(m for p in users for m in p.mfa_methods)
    return _result(
        "mfa_coverage",
        missing,
        ok=f"all {len(users)} active users have a second factor",
        bad=f"{len(missing)} of {len(users)} active users have no second factor",
        evidence={
            "users": len(users),
            "with_mfa": len(users) - len(missing),
            "without_mfa": [{"id": p.id, "name": p.name} for p in missing],
            "methods": dict(methods),
            "service_accounts": "authenticate with private_key_jwt keys, not passwords",
        },
        remediation="Enrol a second factor (TOTP or WebAuthn) for each listed user, or "
        "disable the account: `zt users mfa enroll NAME` / `zt users disable NAME`.",
    )


def lockout_settings(ev: Evidence) -> CheckResult:
    s, r = ev.source.auth_settings(), ev.req
    bad = []
    if not 0 < s.lockout_threshold <= r.lockout_threshold_max:
        bad.append(f"lockout after {s.lockout_threshold} failures (max {r.lockout_threshold_max})")
    if s.lockout_duration_s < r.lockout_duration_min_s:
        bad.append(f"lockout of {s.lockout_duration_s}s (min {r.lockout_duration_min_s}s)")
    return _result(
        "lockout_settings",
        bad,
        ok="accounts lock after at most 10 failures for at least 30 minutes",
        bad="; ".join(bad),
        evidence={
            "lockout_threshold": s.lockout_threshold,
            "lockout_duration_s": s.lockout_duration_s,
            "required": {
                "threshold_max": r.lockout_threshold_max,
                "duration_min_s": r.lockout_duration_min_s,
            },
        },
        remediation="Set ZT_LOCKOUT_THRESHOLD <= 10 and ZT_LOCKOUT_DURATION_S >= 1800.",
    )


def session_settings(ev: Evidence) -> CheckResult:
    s, r = ev.source.auth_settings(), ev.req
    bad = []
    if not 0 < s.session_idle_s <= r.session_idle_max_s:
        bad.append(f"idle timeout {s.session_idle_s}s (max {r.session_idle_max_s}s)")
    if not 0 < s.session_absolute_s <= r.session_absolute_max_s:
        bad.append(f"absolute lifetime {s.session_absolute_s}s (max {r.session_absolute_max_s}s)")
    return _result(
        "session_settings",
        bad,
        ok="sessions end after 15 minutes idle and 12 hours in all",
        bad="; ".join(bad),
        evidence={
            "session_idle_s": s.session_idle_s,
            "session_absolute_s": s.session_absolute_s,
            "required": {
                "idle_max_s": r.session_idle_max_s,
                "absolute_max_s": r.session_absolute_max_s,
            },
        },
        remediation="Set ZT_SESSION_IDLE_S <= 900 and ZT_SESSION_ABSOLUTE_S <= 43200.",
    )


def admin_step_up(ev: Evidence) -> CheckResult:
    effect = ev.source.admin_effect_at_aal2()
    d = ev.digest
    return _result(
        "admin_step_up",
        [effect] if effect != "step_up" else [],
        ok="the policy demands a fresh AAL3 step-up before any admin action",
        bad=f"an admin at AAL2 gets {effect!r} for `manage Role`, not a step-up",
        evidence={
            "probe": {
                "principal": "User[admin]",
                "action": "manage",
                "resource": "Role",
                "aal": 2,
                "effect": effect,
            },
            "manage_allowed": d.actions["manage.allowed"],
            "manage_step_up_demanded": d.actions["manage.step_up"],
            "manage_denied": d.actions["manage.denied"],
            "admin_changes": d.actions["admin.*"],
        },
        samples=d.samples.get("manage.allowed", []) + d.samples.get("admin", []),
        remediation='Restore the `@step_up("aal3")` annotation on the admin policies '
        "(policy pack 10-step-up.cedar) and reload: `zt policy reload`.",
    )


def workload_accounts(ev: Evidence) -> CheckResult:
    services = [p for p in ev.principals if p.kind == "service" and p.active]
    bad = [
        p
        for p in services
        if not p.workload_kind or not p.purposes or set(p.roles) - {p.workload_kind}
    ]
    return _result(
        "workload_accounts",
        bad,
        ok=f"all {len(services)} workload accounts have a kind and declared purposes, "
        "and no human roles",
        bad=f"{len(bad)} workload accounts lack a kind or purpose, or hold human roles",
        evidence={
            "service_accounts": len(services),
            "nonconforming": [
                {"id": p.id, "name": p.name, "roles": list(p.roles), "purposes": list(p.purposes)}
                for p in bad
            ],
        },
        remediation="Recreate each listed service account with a workload kind and its "
        "purposes; human roles are never given to workloads.",
    )


# -- data protection ---------------------------------------------------------------------


def pan_protection(ev: Evidence) -> CheckResult:
    pans = [f for f in ev.source.classified_fields() if f.data_class == "PAN"]
    bad = [f for f in pans if f.revealed or not f.encrypted]
    return _result(
        "pan_protection",
        bad or ([] if pans else ["no PAN field"]),
        ok="PAN is stored encrypted, never returned by reads, revealed only by an audited "
        "detokenisation after step-up; displays are masked to the last four",
        bad="PAN is readable or stored unencrypted in: "
        + ", ".join(f"{f.kind}.{f.field}" for f in bad),
        evidence={
            "fields": [vars(f) for f in pans],
            "detokenisations": ev.digest.actions["vault.detokenize"],
        },
        remediation="Mark the PAN field unrevealed and encrypted in the vault record spec.",
    )


def encryption_coverage(ev: Evidence) -> CheckResult:
    fields = ev.source.classified_fields()
    bad = [f for f in fields if not f.encrypted]
    return _result(
        "encryption_coverage",
        bad,
        ok=f"all {len(fields)} classified fields are stored as AES-256-GCM envelopes",
        bad=f"{len(bad)} classified fields hold values that are not encrypted envelopes",
        evidence={
            "fields": len(fields),
            "sampled_values": sum(f.sampled for f in fields),
            "by_class": dict(Counter(f.data_class for f in fields)),
            "unencrypted": [f"{f.kind}.{f.field}" for f in bad],
        },
        remediation="Find how plaintext reached the vault table (a direct write bypassing "
        "the vault), re-encrypt the rows through `Records`, and rotate the affected keys.",
    )


def key_rotation(ev: Evidence) -> CheckResult:
    keys = ev.source.key_versions()
    max_age = ev.req.key_max_age_days * DAY
    primary = [k for k in keys if k.primary]
    stale = [k for k in primary if k.age_s > max_age]
    worn = [k for k in keys if k.usage >= k.usage_limit]
    bad = stale + worn + ([] if primary else ["no key"])
    return _result(
        "key_rotation",
        bad,
        ok=f"the primary KEK is within its {ev.req.key_max_age_days}-day cryptoperiod and "
        "every version is under its usage limit",
        bad="; ".join(
            [
                f"primary KEK v{k.version} is {k.age_s / DAY:.0f} days old "
                f"(cryptoperiod {ev.req.key_max_age_days} days)"
                for k in stale
            ]
            + [f"KEK v{k.version} reached its usage limit" for k in worn]
            + ([] if primary else ["no key-encryption key exists"])
        ),
        evidence={
            "versions": [
                {
                    "version": k.version,
                    "primary": k.primary,
                    "created": iso_utc(k.created_at),
                    "age_days": round(k.age_s / DAY, 1),
                    "usage": k.usage,
                    "usage_limit": k.usage_limit,
                    "data_keys": k.data_keys,
                }
                for k in keys
            ],
            "cryptoperiod_days": ev.req.key_max_age_days,
            "rotations_in_period": ev.digest.actions["vault.kek_create"]
            + ev.digest.actions["vault.rotate"],
        },
        remediation="Rotate and rewrap: `zt keys rotate && zt keys rewrap`, then "
        "`zt keys delete-version V` once `zt keys status` shows no data keys on V.",
    )


# -- audit and monitoring ----------------------------------------------------------------


def audit_integrity(ev: Evidence) -> CheckResult:
    i, d = ev.integrity, ev.digest
    bad = ([i.error or "unverified"] if not i.verified else []) + [
        f"entry {s} edited" for s in d.tampered
    ]
    samples = ([i.seq] if i.seq is not None else []) + d.tampered[:MAX_SAMPLES]
    return _result(
        "audit_integrity",
        bad,
        ok=f"a fresh verification recomputed all {i.size} entries and matched "
        f"{i.checkpoints} signed checkpoint(s)",
        bad="the audit log failed verification: " + (bad[0] if bad else ""),
        evidence={
            "verified": i.verified,
            "size": i.size,
            "checkpoints": i.checkpoints,
            "error": i.error,
            "first_bad_seq": i.seq,
            "tampered_in_period": d.tampered[:100],
        },
        samples=sorted(set(samples)),
        remediation="Treat as an incident: preserve the database and the exported "
        "checkpoints, find who could write the audit tables, and restore the named entries "
        "from a backup or a copy verified against a witness (`zt audit verify`).",
    )


def audit_events_recorded(ev: Evidence) -> CheckResult:
    d = ev.digest
    return _result(
        "audit_events_recorded",
        [] if d.entries else ["empty"],
        ok=f"{d.entries} entries in the period, {len(d.actions)} kinds of event",
        bad="no audit entries were recorded in the period",
        evidence={
            "entries": d.entries,
            "first": d.first_time,
            "last": d.last_time,
            "top_actions": dict(d.actions.most_common(15)),
            "fields": "who, what, when, where from, outcome, resource (PCI DSS 10.2.2)",
        },
        remediation="Check that the services write to the audit log (ZT_DATA_DIR and the "
        "database are the ones in use).",
    )


def time_ordering(ev: Evidence) -> CheckResult:
    d = ev.digest
    return _result(
        "time_ordering",
        d.backsteps,
        ok="entry times never step backwards across the period",
        bad=f"{len(d.backsteps)} entries carry a time earlier than the entry before them",
        evidence={"entries": d.entries, "backwards": d.backsteps[:20]},
        samples=d.backsteps[:MAX_SAMPLES],
        remediation="Synchronise every host's clock (NTP, PCI DSS 10.6.1) and investigate "
        "the hosts that wrote the listed entries.",
    )


def detections_active(ev: Evidence) -> CheckResult:
    detectors = ev.source.detectors()
    d = ev.digest
    return _result(
        "detections_active",
        [] if detectors else ["none"],
        ok=f"{len(detectors)} detectors review every security event as it happens",
        bad="no detectors are enabled",
        evidence={"detectors": list(detectors), "detections_in_period": d.actions["detection"]},
        samples=d.samples.get("detection", []),
        remediation="Enable the detectors in ZT_DETECT_CONFIG.",
    )


def detections_responded(ev: Evidence) -> CheckResult:
    d = ev.digest
    failed = d.samples.get("response.failed", [])
    return _result(
        "detections_responded",
        failed,
        ok=f"{d.actions['detection']} detections and responses in the period, none failed",
        bad=f"{d.actions['response.failed']} automated responses failed",
        evidence={
            "detections_and_responses": d.actions["detection"],
            "failed_responses": d.actions["response.failed"],
            "alerts_acknowledged": d.actions["alert.acknowledged"],
            "alerts_resolved": d.actions["alert.resolved"],
        },
        samples=d.samples.get("detection", []) + failed,
        remediation="Inspect each failed response entry and complete the action by hand "
        "(lock, revoke, quarantine), then fix the playbook.",
    )


# -- access reviews ----------------------------------------------------------------------


def access_review(ev: Evidence) -> CheckResult:
    last = (
        latest_closed(ev.campaigns, now=ev.now, max_age_days=ev.req.review_max_age_days)
        if ev.campaigns is not None
        else None
    )
    return _result(
        "access_review",
        [] if last else ["none"],
        ok=f"campaign {last.id if last else ''} closed within "
        f"{ev.req.review_max_age_days} days, every entitlement decided",
        bad=f"no access-review campaign closed in the last {ev.req.review_max_age_days} days",
        evidence={
            "campaign": last.id if last else None,
            "name": last.name if last else None,
            "closed": iso_utc(last.closed_at) if last and last.closed_at else None,
            **(last.counts() if last else {}),
        },
        samples=ev.digest.samples.get("review.campaign_close", []),
        remediation="Run a review: `zt review start NAME`, then certify or revoke each item.",
    )


def least_privilege(ev: Evidence) -> CheckResult:
    last = (
        latest_closed(ev.campaigns, now=ev.now, max_age_days=ev.req.review_max_age_days)
        if ev.campaigns is not None
        else None
    )
    certified = {
        (i.principal_id, i.kind, i.name)
        for i in (last.items if last else [])
        if i.decision == "certify"
    }
    flagged = [
        (r.principal, e)
        for r in ev.reviews
        for e in r.entitlements
        if e.unused and (r.principal.id, e.kind, e.name) not in certified
    ]
    over = [r for r in ev.reviews if r.over_privileged]
    return _result(
        "least_privilege",
        flagged,
        ok=f"{len(ev.reviews)} principals: every entitlement was used in the period or "
        "certified in the last review",
        bad=f"{len(flagged)} entitlements unused in {ev.req.period_days} days and not certified",
        evidence={
            "principals": len(ev.reviews),
            "over_privileged": [r.to_json() for r in over[:50]],
            "uncertified_unused": [
                {"principal": p.id, "name": p.name, "kind": e.kind, "entitlement": e.name}
                for p, e in flagged[:50]
            ],
        },
        remediation="Revoke the listed roles and grants, or certify them in an access review.",
    )


# -- GDPR and the data-flow map ----------------------------------------------------------


def erasure(ev: Evidence) -> CheckResult:
    d = ev.digest
    failed = d.samples.get("erasure.failed", [])
    return _result(
        "erasure",
        failed,
        ok=f"crypto-shredding is available; {d.actions['erasure']} erasures in the period, "
        "none failed",
        bad=f"{d.actions['erasure.failed']} erasure requests failed",
        evidence={
            "erasures": d.actions["erasure"],
            "failed": d.actions["erasure.failed"],
            "mechanism": "every version of the subject's data key destroyed",
        },
        samples=d.samples.get("erasure", []) + failed,
        remediation="Run each failed erasure again (`zt dsar erase CUSTOMER`; idempotent).",
    )


def dataflow_declared(ev: Evidence) -> CheckResult:
    fmap = ev.flow_map
    if fmap is None:
        return CheckResult(
            "dataflow_declared",
            "fail",
            "no data-flow inventory was supplied",
            {},
            remediation="Declare the inventory (examples/dataflow.yaml) and pass --inventory.",
        )
    undeclared = fmap.risky("undeclared")
    return _result(
        "dataflow_declared",
        undeclared,
        ok=f"every observed flow is declared ({len(fmap.flows)} flows)",
        bad=f"{len(undeclared)} flows seen in the audit log are not declared: "
        + ", ".join(f"{f.id} ({'/'.join(f.data)})" for f in undeclared[:5]),
        evidence={
            "declared_flows": len(fmap.inventory.flows),
            "undeclared": [
                {
                    "flow": f.id,
                    "data": list(f.data),
                    "observed": f.observed,
                    "audit_seqs": list(f.samples),
                }
                for f in undeclared
            ],
        },
        samples=[s for f in undeclared for s in f.samples],
        remediation="Declare each flow (purpose, lawful basis) in the inventory if it is "
        "legitimate; otherwise revoke the access that produced it.",
    )


def dataflow_encryption(ev: Evidence) -> CheckResult:
    fmap = ev.flow_map
    if fmap is None:
        return CheckResult(
            "dataflow_encryption",
            "fail",
            "no data-flow inventory was supplied",
            {},
            remediation="Declare the inventory (examples/dataflow.yaml) and pass --inventory.",
        )
    plain = fmap.risky("unencrypted")
    external = fmap.risky("external_transfer")
    return _result(
        "dataflow_encryption",
        plain,
        ok="no personal or card data crosses an unencrypted hop",
        bad=f"{len(plain)} flows carry PII or PAN unencrypted: "
        + ", ".join(f.id for f in plain[:5]),
        evidence={
            "unencrypted": [f.id for f in plain],
            "external_transfers": [
                {"flow": f.id, "data": list(f.data), "encrypted": f.encrypted} for f in external
            ],
        },
        remediation="Encrypt each listed hop (mTLS) and mark it `encrypted: true` once it is.",
    )


CHECKS: Final[Mapping[str, Check]] = {
    "mfa_coverage": mfa_coverage,
    "lockout_settings": lockout_settings,
    "session_settings": session_settings,
    "admin_step_up": admin_step_up,
    "workload_accounts": workload_accounts,
    "pan_protection": pan_protection,
    "encryption_coverage": encryption_coverage,
    "key_rotation": key_rotation,
    "audit_integrity": audit_integrity,
    "audit_events_recorded": audit_events_recorded,
    "time_ordering": time_ordering,
    "detections_active": detections_active,
    "detections_responded": detections_responded,
    "access_review": access_review,
    "least_privilege": least_privilege,
    "erasure": erasure,
    "dataflow_declared": dataflow_declared,
    "dataflow_encryption": dataflow_encryption,
}


def run_check(name: str, ev: Evidence) -> CheckResult:
    """Run one check; an unexpected error fails the check (closed) rather than the report."""
    try:
        return CHECKS[name](ev)
    except Exception as exc:  # fail closed: a check that cannot run does not pass
        return CheckResult(
            name,
            "fail",
            f"the check could not run: {type(exc).__name__}",
            {"error": type(exc).__name__},
            remediation="Fix the evidence source and generate the report again.",
        )
