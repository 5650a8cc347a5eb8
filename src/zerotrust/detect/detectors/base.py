"""The contract every detector follows."""

from __future__ import annotations

from typing import ClassVar, Protocol

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event


class Detector(Protocol):
    """Watches a stream of events in time order and reports what it finds.

    ``observe`` sees only events whose kind is in ``kinds``; it must be fast (the replay
    budget is tens of microseconds per event for all detectors together) and must keep
    bounded state: ``prune`` is called periodically with the current event time and drops
    whatever can no longer matter.
    """

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def observe(self, event: Event) -> Finding | None: ...

    def prune(self, now: float) -> None: ...
