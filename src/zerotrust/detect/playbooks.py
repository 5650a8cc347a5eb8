"""Playbooks: configured automatic responses to alerts, each one audited.

    playbooks:
      brute_force:
        - {action: block_source, minutes: 30}
        - {action: alert}
      bulk_exfiltration:
        - {action: revoke_sessions, min_severity: high}
        - {action: require_step_up}
        - {action: alert}

``ResponseActions`` is what the composition root implements against identity, devices
and the gateway; every call is written to the audit log with the alert that caused it,
so an admin can see, and reverse, what automation did. Responses are protective: an
action runs even if its audit record cannot be written afterwards; that failure is
counted and reported (``audit_failures``) rather than leaving an attack unanswered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.errors import ConfigError
from zerotrust.detect.alerts import SEVERITY_RANK, Alert
from zerotrust.detect.config import DETECTOR_NAMES

ACTIONS = (
    "lock_account",
    "revoke_sessions",
    "require_step_up",
    "quarantine_device",
    "block_source",
    "alert",
)
TIMED = frozenset({"lock_account", "block_source"})
MAX_MINUTES = 7 * 24 * 60


class ResponseActions(Protocol):
    """What playbooks can do; implemented by the composition root (identity, gateway)."""

    def lock_account(self, principal: str, until: float) -> None: ...
    def revoke_sessions(self, principal: str) -> None: ...
    def require_step_up(self, principal: str) -> None: ...
    def quarantine_device(self, device_id: str) -> None: ...
    def block_source(self, ip: str, until: float) -> None: ...
    def alert(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class Step:
    action: str
    minutes: int = 30  # lock_account and block_source only
    min_severity: str = "low"


DEFAULT_PLAYBOOKS: dict[str, list[dict[str, Any]]] = {
    # The identity service locks the account itself after 10 failures; the playbook
    # throttles the sources, so one attacker cannot lock out many users.
    "brute_force": [{"action": "block_source", "minutes": 30}, {"action": "alert"}],
    "password_spraying": [{"action": "block_source", "minutes": 60}, {"action": "alert"}],
    "credential_stuffing": [{"action": "block_source", "minutes": 60}, {"action": "alert"}],
    "stolen_password": [
        {"action": "lock_account", "minutes": 30},
        {"action": "block_source", "minutes": 60},
        {"action": "alert"},
    ],
    "impossible_travel": [
        {"action": "revoke_sessions", "min_severity": "high"},
        {"action": "require_step_up"},
        {"action": "alert"},
    ],
    "mfa_fatigue": [
        {"action": "lock_account", "minutes": 30},
        {"action": "revoke_sessions", "min_severity": "critical"},
        {"action": "alert"},
    ],
    "bulk_exfiltration": [
        {"action": "revoke_sessions"},
        {"action": "require_step_up"},
        {"action": "alert"},
    ],
    "privilege_probing": [
        {"action": "require_step_up"},
        {"action": "revoke_sessions", "min_severity": "high"},
        {"action": "alert"},
    ],
    "workload_misuse": [
        {"action": "revoke_sessions"},
        {"action": "block_source", "minutes": 60, "min_severity": "high"},
        {"action": "alert"},
    ],
    "session_replay": [
        {"action": "revoke_sessions"},
        {"action": "quarantine_device"},
        {"action": "alert"},
    ],
}


def parse_playbooks(data: Mapping[str, Any] | None) -> dict[str, tuple[Step, ...]]:
    """Check and build playbooks; raises ``ConfigError`` naming the bad entry."""
    source = DEFAULT_PLAYBOOKS if data is None else data
    if not isinstance(source, Mapping):
        raise ConfigError("playbooks must map detector names to lists of steps")
    books: dict[str, tuple[Step, ...]] = {}
    for detector, steps in source.items():
        if detector not in DETECTOR_NAMES:
            raise ConfigError(f"playbook for unknown detector {detector!r}")
        if not isinstance(steps, list):
            raise ConfigError(f"playbook {detector} must be a list of steps")
        books[detector] = tuple(_step(detector, s) for s in steps)
    return books


def _step(detector: str, raw: object) -> Step:
    if not isinstance(raw, Mapping) or set(raw) - {"action", "minutes", "min_severity"}:
        raise ConfigError(f"playbook {detector}: a step has action, minutes, min_severity")
    action = raw.get("action")
    if action not in ACTIONS:
        raise ConfigError(f"playbook {detector}: unknown action {action!r}")
    minutes = raw.get("minutes", 30)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= MAX_MINUTES:
        raise ConfigError(f"playbook {detector}: minutes must be 1..{MAX_MINUTES}")
    severity = raw.get("min_severity", "low")
    if severity not in SEVERITY_RANK:
        raise ConfigError(f"playbook {detector}: unknown severity {severity!r}")
    return Step(str(action), minutes, str(severity))


@dataclass(frozen=True)
class Outcome:
    """One action a playbook took (or tried)."""

    alert_id: str
    action: str
    target: str
    ok: bool
    error: str | None = None


class PlaybookRunner:
    """Runs the playbook of each alert against ``ResponseActions``, auditing every step."""

    def __init__(
        self,
        actions: ResponseActions,
        audit: AuditRecorder,
        playbooks: Mapping[str, Any] | None = None,
    ) -> None:
        self.actions = actions
        self.audit = audit
        self.books = parse_playbooks(playbooks)
        self.audit_failures = 0
        self._active: dict[tuple[str, str], float] = {}  # (action, target) → until

    def run(self, alert: Alert) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for step in self.books.get(alert.detector, ()):
            if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[step.min_severity]:
                continue
            for target in _targets(step.action, alert):
                outcome = self._apply(step, target, alert)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _apply(self, step: Step, target: str, alert: Alert) -> Outcome | None:
        until = alert.ts + step.minutes * 60 if step.action in TIMED else alert.ts
        if step.action != "alert" and self._active.get((step.action, target), -1.0) >= until:
            return None  # already in force for at least as long: do not repeat it
        try:
            self._call(step.action, target, until, alert)
            outcome = Outcome(alert.id, step.action, target, ok=True)
            self._active[(step.action, target)] = until
        except Exception as exc:  # a failing action must not stop the others
            outcome = Outcome(alert.id, step.action, target, ok=False, error=type(exc).__name__)
        self._record(step, outcome, alert, until)
        return outcome

    def _call(self, action: str, target: str, until: float, alert: Alert) -> None:
        acts = self.actions
        if action == "lock_account":
            acts.lock_account(target, until)
        elif action == "revoke_sessions":
            acts.revoke_sessions(target)
        elif action == "require_step_up":
            acts.require_step_up(target)
        elif action == "quarantine_device":
            acts.quarantine_device(target)
        elif action == "block_source":
            acts.block_source(target, until)
        else:
            acts.alert(alert)

    def _record(self, step: Step, outcome: Outcome, alert: Alert, until: float) -> None:
        details: dict[str, Any] = {"alert_id": alert.id, "severity": alert.severity}
        if step.action in TIMED:
            details["until"] = until
        if outcome.error:
            details["error"] = outcome.error
        try:
            self.audit.append(
                AuditRecord(
                    action=f"detect.{step.action}",
                    actor="system:detect",
                    outcome="success" if outcome.ok else "failure",
                    resource=f"{_KIND[step.action]}:{outcome.target}",
                    reason=alert.detector,
                    src_ip=alert.src_ip,
                    device_id=alert.device_id,
                    session_id=alert.session_id,
                    details=details,
                )
            )
        except Exception:  # see the module docstring: counted and surfaced, never silent
            self.audit_failures += 1

    def forget(self, now: float) -> None:
        """Drop the memory of responses that have expired."""
        self._active = {k: u for k, u in self._active.items() if u > now}


_KIND = {
    "lock_account": "principal",
    "revoke_sessions": "principal",
    "require_step_up": "principal",
    "quarantine_device": "device",
    "block_source": "ip",
    "alert": "alert",
}


def _targets(action: str, alert: Alert) -> list[str]:
    if action == "alert":
        return [alert.id]
    if action == "quarantine_device":
        return [alert.device_id] if alert.device_id else []
    if action == "block_source":
        return list(dict.fromkeys(ip for ip in (alert.src_ip, *alert.sources) if ip))
    return [alert.principal] if alert.principal else []
