"""Live figures for the overview: decisions per second and recent security events.

The meter counts the decisions this process makes (the console's own, through the PDP)
and every ``access`` event: those published in this process (a gateway running in it, or
any component emitting into the same fan-out) at once, and those of every other process
(gateway replicas, other control planes) as the event feed brings them, within an
upkeep (``feed_into``). Figures are counted at the event's own time, so one that arrives
two seconds late lands in the second it happened.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal

from zerotrust.core.clock import Clock
from zerotrust.core.events import EventSink, SecurityEvent
from zerotrust.detect.events import MalformedEvent, parse_time

Effect = Literal["allow", "deny", "step_up"]
EFFECTS: Final[tuple[Effect, ...]] = ("allow", "deny", "step_up")
WINDOW_S: Final = 60


class DecisionMeter:
    """Per-second counts of allow, deny and step-up over the last minute."""

    def __init__(self, clock: Clock, *, window_s: int = WINDOW_S) -> None:
        self._clock = clock
        self._window = window_s
        self._buckets: dict[int, dict[Effect, int]] = {}
        self._lock = threading.Lock()

    def record(self, effect: Effect, *, at: float | None = None) -> None:
        now = self._clock.now()
        second = int(now if at is None else at)
        if second <= int(now) - self._window:
            return  # older than the window shown
        with self._lock:
            bucket = self._buckets.setdefault(second, dict.fromkeys(EFFECTS, 0))
            bucket[effect] += 1
            for old in [s for s in self._buckets if s <= second - self._window]:
                del self._buckets[old]

    def series(self) -> dict[str, list[int]]:
        """``{effect: [count per second, oldest first]}`` for the last ``window_s`` seconds."""
        end = int(self._clock.now())
        seconds = range(end - self._window + 1, end + 1)
        with self._lock:
            return {e: [self._buckets.get(s, {}).get(e, 0) for s in seconds] for e in EFFECTS}

    def emit(self, event: SecurityEvent) -> None:
        """``EventSink``: count the gateway's access decisions."""
        if event.kind != "access":
            return
        effect: Effect
        if event.outcome == "allowed":
            effect = "allow"
        elif event.reason and "step" in event.reason:
            effect = "step_up"
        else:
            effect = "deny"
        self.record(effect, at=event_seconds(event))


class RecentEvents:
    """The last ``capacity`` security events by id, so an alert can show what tipped it.

    Events published before this process started are not here; the alert then lists
    their ids only (they are in the ``security_events`` table and the audit log).
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._events: OrderedDict[str, SecurityEvent] = OrderedDict()
        self._lock = threading.Lock()

    def emit(self, event: SecurityEvent) -> None:
        with self._lock:
            self._events[event.id] = event
            while len(self._events) > self._capacity:
                self._events.popitem(last=False)

    def get(self, event_id: str) -> SecurityEvent | None:
        with self._lock:
            return self._events.get(event_id)

    def latest(self, count: int) -> list[SecurityEvent]:
        with self._lock:
            return list(self._events.values())[-count:][::-1]


class SignInCounter:
    """Sign-in outcomes per second (successes and failures of every factor)."""

    def __init__(self, clock: Clock, *, window_s: int = WINDOW_S) -> None:
        self._clock = clock
        self._window = window_s
        self._times: deque[tuple[int, bool]] = deque(maxlen=100_000)
        self._lock = threading.Lock()

    def emit(self, event: SecurityEvent) -> None:
        if not event.kind.startswith("auth."):
            return
        at = event_seconds(event)
        second = int(self._clock.now() if at is None else at)
        with self._lock:
            self._times.append((second, event.outcome == "success"))

    def totals(self) -> Mapping[str, int]:
        since = int(self._clock.now()) - self._window
        with self._lock:
            recent = [ok for t, ok in self._times if t > since]
        return {"success": sum(recent), "failure": len(recent) - sum(recent)}


def event_seconds(event: SecurityEvent) -> float | None:
    """When the event happened, in seconds; None if its time does not parse."""
    try:
        return parse_time(event.time)
    except MalformedEvent:
        return None


def feed_into(sinks: Sequence[EventSink]) -> Callable[[Mapping[str, Any]], None]:
    """An event feed subscriber: another process's stored event, handed to ``sinks`` as
    the ``SecurityEvent`` it was; one that is not (the engine counts those) is skipped."""

    def deliver(data: Mapping[str, Any]) -> None:
        try:
            event = SecurityEvent.from_dict(data)
        except ValueError:
            return
        for sink in sinks:
            sink.emit(event)

    return deliver
