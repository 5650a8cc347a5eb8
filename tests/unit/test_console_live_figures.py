"""The console's live figures count each event in the second it happened, however late it
arrives (another process's, through the event feed), and only within the window shown."""

from __future__ import annotations

from zerotrust.console.metrics import DecisionMeter, RecentEvents, SignInCounter, feed_into
from zerotrust.core.clock import FixedClock
from zerotrust.core.events import SecurityEvent

T0 = 1_800_000_000.0


def _access(ts: float, outcome: str, reason: str | None = None) -> SecurityEvent:
    return SecurityEvent.at(ts, kind="access", principal="usr_1", outcome=outcome, reason=reason)


def test_a_late_event_lands_in_its_own_second_and_a_stale_one_nowhere() -> None:
    clock = FixedClock(T0)
    meter = DecisionMeter(clock, window_s=60)
    meter.emit(_access(T0, "allowed"))
    meter.emit(_access(T0 - 2, "denied", "forbid"))  # another process's, two seconds late
    meter.emit(_access(T0 - 1, "denied", "step_up_required"))
    meter.emit(_access(T0 - 60, "allowed"))  # older than the window shown
    series = meter.series()
    assert series["allow"][-1] == 1
    assert series["deny"][-3] == 1
    assert series["step_up"][-2] == 1
    assert sum(series["allow"]) == 1


def test_the_feed_hands_other_processes_events_to_the_live_figures() -> None:
    clock = FixedClock(T0)
    meter, recent, signins = DecisionMeter(clock), RecentEvents(), SignInCounter(clock)
    deliver = feed_into([meter, recent, signins])
    access = _access(T0 - 1, "allowed")
    failure = SecurityEvent.at(T0, kind="auth.password", principal="bob", outcome="failure")
    for event in (access, failure):
        deliver(event.to_dict())
    deliver({"kind": "access", "principal": "x"})  # not an event: skipped
    assert meter.series()["allow"][-2] == 1
    assert recent.get(access.id) == access
    assert signins.totals() == {"success": 0, "failure": 1}
