"""Offline replay: run exactly the live detectors over stored events, in event-time order.

Input is JSON lines (``docs/events.schema.json``), read as a stream: memory holds the
detectors' state and a small reorder buffer, never the file. Events are released in
(time, line) order once no earlier event can still arrive within ``max_lateness_s``;
an event later than that is processed where it stands and counted as ``late``. No wall
clock is read anywhere, so the same input gives the same alerts, in the same order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from zerotrust.detect.alerts import Alert
from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.events import Event, MalformedEvent, parse_line


@dataclass
class ReplayStats:
    lines: int = 0
    events: int = 0
    malformed: int = 0
    late: int = 0
    alerts: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # the first few, by line

    def summary(self) -> str:
        first = f"; first at line {self.errors[0][0]}: {self.errors[0][1]}" if self.errors else ""
        return (
            f"{self.events} events, {self.alerts} alerts, {self.malformed} malformed"
            f"{first}, {self.late} late"
        )


def replay(
    lines: Iterable[str | bytes],
    engine: DetectionEngine,
    *,
    stats: ReplayStats | None = None,
    max_lateness_s: float = 60.0,
    keep_errors: int = 5,
) -> Iterator[Alert]:
    """Yield the alerts of ``lines`` as the engine raises them."""
    stats = stats if stats is not None else ReplayStats()
    heap: list[tuple[float, int, Event]] = []
    newest = float("-inf")
    released = float("-inf")
    for number, line in enumerate(lines, start=1):
        stats.lines = number
        if not line.strip():
            continue
        try:
            event = parse_line(line)
        except MalformedEvent as exc:
            stats.malformed += 1
            if len(stats.errors) < keep_errors:
                stats.errors.append((number, exc.detail))
            continue
        if event.ts < released:
            stats.late += 1
            yield from _run(engine, event, stats)
            continue
        heapq.heappush(heap, (event.ts, number, event))
        newest = max(newest, event.ts)
        horizon = newest - max_lateness_s
        while heap and heap[0][0] <= horizon:
            ts, _, ready = heapq.heappop(heap)
            released = ts
            yield from _run(engine, ready, stats)
    while heap:
        yield from _run(engine, heapq.heappop(heap)[2], stats)


def _run(engine: DetectionEngine, event: Event, stats: ReplayStats) -> list[Alert]:
    stats.events += 1
    alerts = engine.process(event)
    stats.alerts += len(alerts)
    return alerts
