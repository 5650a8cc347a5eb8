"""Alerts: what a detector found, why, on which events; and their open → resolved life.

An alert's id is derived from its detector, key and triggering event, so replaying the
same events yields the same alerts, byte for byte. State changes (acknowledge, resolve)
are audited; a resolved alert is final.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol, get_args

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import Conflict, InvalidInput, NotFound

Severity = Literal["low", "medium", "high", "critical"]
AlertState = Literal["open", "acknowledged", "resolved"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
MAX_EVENT_IDS = 25  # enough to explain; bounded so one alert never grows with an attack


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector reports; the engine turns it into an ``Alert``."""

    detector: str
    severity: Severity
    key: str  # what repeats are suppressed on: a principal, an address, a session
    principal: str | None
    event_ids: tuple[str, ...]
    explanation: str
    src_ip: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    sources: tuple[str, ...] = ()  # further addresses implicated (distributed attacks)
    # For detectors that number bursts (episodes) in their key: the key without that
    # number, which each process counts its own way, and the detector's window. Across
    # processes (``detect.shared``) the alert is claimed on the subject for the window: a
    # new burst needs that long a quiet spell first, so it is claimed anew.
    subject: str | None = None
    burst_window_s: float | None = None

    def claim(self, cooldown_s: float) -> tuple[str, float]:
        """What the alert is claimed on across processes, and for how long."""
        if self.subject is None or self.burst_window_s is None:
            return self.key, cooldown_s
        return self.subject, min(cooldown_s, self.burst_window_s)


@dataclass(frozen=True, slots=True)
class Alert:
    """One detection: id, time, detector, severity, principal, events and a one-line why."""

    id: str
    ts: float
    detector: str
    severity: Severity
    principal: str | None
    event_id: str  # the event that tipped the detector
    event_ids: tuple[str, ...]
    explanation: str
    src_ip: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    sources: tuple[str, ...] = ()
    state: AlertState = "open"

    @classmethod
    def from_finding(cls, finding: Finding, *, ts: float, event_id: str) -> Alert:
        ids = finding.event_ids
        if event_id not in ids:
            ids = (*ids, event_id)
        ids = ids[-MAX_EVENT_IDS:]
        digest = hashlib.sha256(f"{finding.detector}|{finding.key}|{event_id}".encode()).hexdigest()
        return cls(
            id=f"alt_{digest[:32]}",
            ts=ts,
            detector=finding.detector,
            severity=finding.severity,
            principal=finding.principal,
            event_id=event_id,
            event_ids=ids,
            explanation=finding.explanation,
            src_ip=finding.src_ip,
            device_id=finding.device_id,
            session_id=finding.session_id,
            sources=finding.sources[:MAX_EVENT_IDS],
        )

    @property
    def time(self) -> str:
        return iso_utc(self.ts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-lines form: ``time`` as ISO 8601 UTC, lists for tuples, no ``ts``."""
        data = asdict(self)
        data.pop("ts")
        data["time"] = self.time
        data["event_ids"] = list(self.event_ids)
        data["sources"] = list(self.sources)
        return data


class AlertStore(Protocol):
    """Where alerts are kept: memory in one process, or the database (``store``) so every
    process — gateway, control plane, console — sees the same alerts and states."""

    def put(self, alert: Alert) -> None: ...

    def get(self, alert_id: str) -> Alert | None: ...

    def after(self, ts: float, alert_id: str, *, limit: int) -> list[Alert]:
        """Up to ``limit`` alerts after ``(ts, alert_id)`` in (time, id) order, any state."""
        ...

    def list(self, *, state: AlertState | None = None, limit: int = 10_000) -> list[Alert]: ...

    def set_state(self, alert_id: str, *, was: AlertState, to: AlertState) -> bool:
        """Change the state only if it still is ``was``; False if someone else did."""
        ...


class MemoryAlerts:
    """``AlertStore`` in memory, bounded to ``capacity`` (oldest dropped first)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._alerts: OrderedDict[str, Alert] = OrderedDict()

    def put(self, alert: Alert) -> None:
        self._alerts[alert.id] = alert
        while len(self._alerts) > self.capacity:
            self._alerts.popitem(last=False)

    def get(self, alert_id: str) -> Alert | None:
        return self._alerts.get(alert_id)

    def after(self, ts: float, alert_id: str, *, limit: int) -> list[Alert]:
        later = [a for a in self._alerts.values() if (a.ts, a.id) > (ts, alert_id)]
        return sorted(later, key=lambda a: (a.ts, a.id))[:limit]

    def list(self, *, state: AlertState | None = None, limit: int = 10_000) -> list[Alert]:
        found = [a for a in self._alerts.values() if state is None or a.state == state]
        return found[-limit:]

    def set_state(self, alert_id: str, *, was: AlertState, to: AlertState) -> bool:
        alert = self._alerts.get(alert_id)
        if alert is None or alert.state != was:
            return False
        self._alerts[alert_id] = replace(alert, state=to)
        return True


@dataclass
class AlertBook:
    """The alerts and their state; every transition is audited before it applies."""

    audit: AuditRecorder
    store: AlertStore = field(default_factory=MemoryAlerts)

    def add(self, alert: Alert) -> None:
        self.store.put(alert)

    def get(self, alert_id: str) -> Alert:
        alert = self.store.get(alert_id)
        if alert is None:
            raise NotFound()
        return alert

    def list(self, *, state: AlertState | None = None) -> list[Alert]:
        """Oldest first."""
        return self.store.list(state=state)

    def acknowledge(self, alert_id: str, *, actor: str) -> Alert:
        return self.transition(alert_id, "acknowledged", actor=actor)

    def resolve(self, alert_id: str, *, actor: str, note: str | None = None) -> Alert:
        return self.transition(alert_id, "resolved", actor=actor, note=note)

    def transition(
        self, alert_id: str, to: AlertState, *, actor: str, note: str | None = None
    ) -> Alert:
        """open → acknowledged → resolved (or open → resolved); audited before it applies."""
        if to not in get_args(AlertState):
            raise InvalidInput("unknown alert state")
        alert = self.get(alert_id)
        allowed = {"open": ("acknowledged", "resolved"), "acknowledged": ("resolved",)}
        if to not in allowed.get(alert.state, ()):
            raise Conflict(f"alert is {alert.state}; cannot become {to}")
        self.audit.append(
            AuditRecord(
                action=f"alert.{to}",
                actor=actor,
                outcome="success",
                resource=f"alert:{alert.id}",
                reason=note,
                details={"detector": alert.detector, "from": alert.state},
            )
        )
        if not self.store.set_state(alert_id, was=alert.state, to=to):
            raise Conflict("the alert changed meanwhile; look again")
        return replace(alert, state=to)
