"""The detection engine: events in, alerts out; the same code live and in replay.

Live, the engine is an ``EventSink``: identity, the gateway and the API ``emit`` their
security events to it (for example through a ``FanoutSink`` next to the SQL sink), and
each alert updates the risk scores and runs its playbook before ``emit`` returns, so
the tenth failed login's lock is in force for the very next request. In replay the
engine sees the same events, in event-time order, with no playbook attached.

Time is the events' own: windows, baselines, cooldowns and risk decay all use event
time, never a wall clock, so the same events always give the same alerts. A detector
that raises is counted and skipped for that event; a malformed event is counted and
dropped; neither stops the stream.

With ``claims`` (every process's engine over one shared store, ``detect.shared``), an
alert is raised only if it could be claimed (``Finding.claim``: its key for the cooldown,
or for detectors that number bursts, its subject for the burst window): when several
processes' engines see one incident, one of them raises it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zerotrust.core.events import SecurityEvent
from zerotrust.detect.alerts import Alert, Finding
from zerotrust.detect.config import DetectConfig
from zerotrust.detect.detectors import (
    BruteForce,
    BulkExfiltration,
    CredentialStuffing,
    Detector,
    ImpossibleTravel,
    MfaFatigue,
    PasswordSpraying,
    PrivilegeProbing,
    SessionReplay,
    StolenPassword,
    WorkloadMisuse,
)
from zerotrust.detect.events import Event, MalformedEvent, from_security_event, parse_event
from zerotrust.detect.geo import CountryGeo, GeoLocator
from zerotrust.detect.playbooks import PlaybookRunner
from zerotrust.detect.risk import RiskScores
from zerotrust.detect.shared import AlertClaims


@dataclass
class EngineStats:
    """What went through the engine; malformed and failing are never silent."""

    events: int = 0
    malformed: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    suppressed: int = 0
    # ``claims``: the incident's alert was raised already, by another process.
    already_claimed: int = 0
    claim_errors: int = 0  # the claims store failed: the alert was raised anyway
    detector_errors: Counter[str] = field(default_factory=Counter)
    last_malformed: str | None = None


def build_detectors(config: DetectConfig, geo: GeoLocator) -> list[Detector]:
    """The enabled detectors, configured."""
    c = config.detectors
    every: list[Detector] = [
        BruteForce(c["brute_force"]),
        PasswordSpraying(c["password_spraying"]),
        CredentialStuffing(c["credential_stuffing"]),
        StolenPassword(geo, c["stolen_password"]),
        ImpossibleTravel(geo, c["impossible_travel"]),
        MfaFatigue(c["mfa_fatigue"]),
        BulkExfiltration(c["bulk_exfiltration"]),
        PrivilegeProbing(c["privilege_probing"]),
        WorkloadMisuse(c["workload_misuse"]),
        SessionReplay(geo, c["session_replay"]),
    ]
    return [d for d in every if d.name in config.enabled]


class DetectionEngine:
    """Runs every detector on each event; turns findings into alerts, risk and responses."""

    def __init__(
        self,
        config: DetectConfig | None = None,
        *,
        geo: GeoLocator | None = None,
        risk: RiskScores | None = None,
        responder: PlaybookRunner | None = None,
        on_alert: Iterable[Callable[[Alert], None]] = (),
        detectors: Iterable[Detector] | None = None,
        claims: AlertClaims | None = None,
    ) -> None:
        self.config = config or DetectConfig()
        self.claims = claims
        self.geo = geo or CountryGeo()
        self.risk = risk if risk is not None else RiskScores(self.config.risk)
        self.responder = responder
        self.on_alert = list(on_alert)
        self.detectors = (
            list(detectors) if detectors is not None else build_detectors(self.config, self.geo)
        )
        self.stats = EngineStats()
        self._by_kind: dict[str, list[Detector]] = {}
        for detector in self.detectors:
            for kind in detector.kinds:
                self._by_kind.setdefault(kind, []).append(detector)
        self._cooldown: dict[tuple[str, str], float] = {}
        self._next_prune: float | None = None
        self._lock = threading.Lock()

    # -- the live path ---------------------------------------------------------------

    def emit(self, event: SecurityEvent) -> None:
        """``EventSink``: detect, then score and respond. Never raises into the caller."""
        try:
            parsed = from_security_event(event)
        except MalformedEvent as exc:
            self._malformed(exc)
            return
        self.process(parsed)

    def ingest(self, data: Mapping[str, Any]) -> list[Alert]:
        """A decoded JSON event (a queue message, an API body); malformed is counted."""
        try:
            event = parse_event(data)
        except MalformedEvent as exc:
            self._malformed(exc)
            return []
        return self.process(event)

    # -- the core --------------------------------------------------------------------

    def process(self, event: Event) -> list[Alert]:
        """Run the detectors on one event; returns the alerts it raised (usually none).

        Detection holds the engine's lock; responses run after it is released, so an
        action that itself emits events (a revocation, a lock) re-enters without deadlock.
        """
        with self._lock:
            found = self._detect(event)
        claims = self.claims
        alerts = [a for a, f in found if claims is None or self._claim(claims, a, f)]
        for alert in alerts:
            self._raise(alert)
        return alerts

    def _detect(self, event: Event) -> list[tuple[Alert, Finding]]:
        """The fresh findings' alerts, each with its finding."""
        self.stats.events += 1
        self._maybe_prune(event.ts)
        alerts: list[tuple[Alert, Finding]] = []
        for detector in self._by_kind.get(event.kind, ()):
            try:
                finding = detector.observe(event)
            except Exception:  # one broken detector must not blind the others
                self.stats.detector_errors[detector.name] += 1
                continue
            if finding is not None and self._fresh(finding, event.ts):
                alert = Alert.from_finding(finding, ts=event.ts, event_id=event.id)
                alerts.append((alert, finding))
                self.stats.alerts[finding.detector] += 1
        return alerts

    def _fresh(self, finding: Finding, now: float) -> bool:
        """One alert per (detector, key) within the cooldown; later ones are suppressed."""
        key = (finding.detector, finding.key)
        if self._cooldown.get(key, float("-inf")) > now:
            self.stats.suppressed += 1
            return False
        self._cooldown[key] = now + self.config.cooldown_s
        return True

    def _claim(self, claims: AlertClaims, alert: Alert, finding: Finding) -> bool:
        """Whether this engine raises the alert, or it was raised already (outside the
        lock: a database write). A failing store raises it: a duplicate alert is better
        than a missed one."""
        key, span_s = finding.claim(self.config.cooldown_s)
        try:
            won = claims.claim(
                alert.detector, key, now=alert.ts, until=alert.ts + span_s, alert_id=alert.id
            )
        except Exception:
            with self._lock:
                self.stats.claim_errors += 1
            return True
        if not won:
            with self._lock:
                self.stats.alerts[alert.detector] -= 1
                self.stats.already_claimed += 1
        return won

    def _raise(self, alert: Alert) -> None:
        self.risk.record(alert)
        if self.responder is not None:
            try:
                self.responder.run(alert)
            except Exception:  # the runner contains action failures; this is a last guard
                self.stats.detector_errors["responder"] += 1
        for callback in self.on_alert:
            try:
                callback(alert)
            except Exception:  # a failing webhook or console must not stop detection
                self.stats.detector_errors["on_alert"] += 1

    def _maybe_prune(self, now: float) -> None:
        if self._next_prune is None:
            self._next_prune = now + self.config.prune_every_s
        if now < self._next_prune:
            return
        self._next_prune = now + self.config.prune_every_s
        for detector in self.detectors:
            try:
                detector.prune(now)
            except Exception:  # counted like a failing observe; the stream goes on
                self.stats.detector_errors[detector.name] += 1
        self._cooldown = {k: t for k, t in self._cooldown.items() if t > now}
        self.risk.forget(now)
        if self.responder is not None:
            self.responder.forget(now)

    def _malformed(self, exc: MalformedEvent) -> None:
        with self._lock:
            self.stats.malformed += 1
            self.stats.last_malformed = exc.detail
