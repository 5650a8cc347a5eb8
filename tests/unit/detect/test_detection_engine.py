"""The engine: dispatch by kind, cooldown, contained failures, live sink, bounded state."""

from __future__ import annotations

from typing import ClassVar

from tests.unit.detect.helpers import GEO, RU_IP, T0, RecordingActions, ev
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.events import SecurityEvent
from zerotrust.detect.alerts import Alert, Finding
from zerotrust.detect.config import load_config
from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.events import Event
from zerotrust.detect.playbooks import PlaybookRunner


class Broken:
    name: ClassVar[str] = "broken"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.password"})

    def observe(self, event: Event) -> Finding | None:
        raise ValueError("bug")

    def prune(self, now: float) -> None:
        pass


def _brute(engine: DetectionEngine, n: int, start: float = T0) -> list[Alert]:
    alerts: list[Alert] = []
    for i in range(n):
        alerts += engine.process(ev(ts=start + i, ip=RU_IP, reason="bad_password"))
    return alerts


def test_one_alert_per_key_within_the_cooldown() -> None:
    engine = DetectionEngine(geo=GEO)
    alerts = _brute(engine, 30)
    assert [a.detector for a in alerts] == ["brute_force"]
    assert engine.stats.suppressed == 20
    assert engine.stats.alerts["brute_force"] == 1
    later = _brute(engine, 10, start=T0 + 3700)
    assert len(later) == 1


def test_alerts_raise_risk_and_run_playbooks_before_process_returns() -> None:
    actions, audit = RecordingActions(), MemoryAudit()
    engine = DetectionEngine(geo=GEO, responder=PlaybookRunner(actions, audit))
    _brute(engine, 10)
    assert ("block_source", (RU_IP, T0 + 9 + 1800)) in actions.calls
    assert engine.risk.score("alice", T0 + 9).score == 45
    assert audit.records


def test_a_broken_detector_is_counted_and_the_others_still_run() -> None:
    engine = DetectionEngine(geo=GEO)
    engine.detectors.insert(0, Broken())
    engine._by_kind["auth.password"].insert(0, Broken())
    assert len(_brute(engine, 10)) == 1
    assert engine.stats.detector_errors["broken"] == 10


def test_the_engine_is_an_event_sink_and_counts_malformed_events() -> None:
    seen: list[Alert] = []
    engine = DetectionEngine(geo=GEO, on_alert=[seen.append])
    for i in range(10):
        engine.emit(
            SecurityEvent.at(
                T0 + i,
                kind="auth.password",
                principal="bob",
                outcome="failure",
                src_ip=RU_IP,
                reason="bad_password",
            )
        )
    assert [a.detector for a in seen] == ["brute_force"]
    engine.emit(SecurityEvent.at(T0, kind="auth.password", principal="", outcome="failure"))
    assert engine.ingest({"kind": "nonsense"}) == []
    assert engine.stats.malformed == 2
    assert engine.stats.last_malformed is not None


def test_a_failing_alert_callback_does_not_stop_detection() -> None:
    def explode(alert: Alert) -> None:
        raise RuntimeError("webhook down")

    engine = DetectionEngine(geo=GEO, on_alert=[explode])
    assert len(_brute(engine, 10)) == 1
    assert engine.stats.detector_errors["on_alert"] == 1


def test_disabled_detectors_do_not_run() -> None:
    engine = DetectionEngine(
        load_config({"detectors": {"brute_force": {"enabled": False}}}), geo=GEO
    )
    assert _brute(engine, 20) == []


def test_state_stays_bounded_as_sources_come_and_go() -> None:
    engine = DetectionEngine(geo=GEO)
    for hour in range(48):
        for i in range(50):  # fifty new addresses an hour, each failing once
            ts = T0 + hour * 3600 + i
            engine.process(
                ev(principal=f"u{i}", ts=ts, ip=f"10.{hour}.0.{i}", reason="bad_password")
            )
    spraying = next(d for d in engine.detectors if d.name == "password_spraying")
    brute = next(d for d in engine.detectors if d.name == "brute_force")
    assert len(spraying.by_source) <= 100  # type: ignore[attr-defined]
    assert len(brute.failures) <= 50  # type: ignore[attr-defined]


def test_a_response_that_emits_events_re_enters_without_deadlock() -> None:
    engine = DetectionEngine(geo=GEO)

    class Reentrant(RecordingActions):
        def block_source(self, ip: str, until: float) -> None:
            super().block_source(ip, until)
            engine.process(ev("auth.password", "system", "success", ts=T0 + 100))

    engine.responder = PlaybookRunner(Reentrant(), MemoryAudit())
    assert len(_brute(engine, 10)) == 1
    assert engine.stats.events == 11
