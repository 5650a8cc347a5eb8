"""Detection across processes: every engine sees every process's events, and one alert
is raised per incident whichever process sees it first.

Each process's engine gets its own events at once (the live path). Without more, a
threshold would count only those: behind two gateway replicas that share the traffic,
a bulk export needs twice the records before either replica notices, and a password
spray spread over both control planes is never seen whole. So each upkeep, ``EventFeed``
hands the engine the events other processes stored since the last pull (in store
order), and every engine counts the whole stream.

Several engines then see the same incident. ``AlertClaims`` makes one of them raise it:
before an alert is raised, it is claimed in the shared store (``Finding.claim``: on its
key for the cooldown, or on its subject for the burst window); an engine whose claim is
refused suppresses the alert, as it would its own repeat. One alert, one playbook run,
one webhook, whichever process got there.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

log = logging.getLogger("zerotrust.detect")

# A sequence number below the newest one read, not seen yet: a transaction that took it
# has not committed (PostgreSQL hands out numbers before commit) or rolled back. It is
# asked for again at each pull until it turns up or this long has passed.
GAP_WAIT_S: Final = 30.0
MAX_GAPS: Final = 1000
# Pages per pull: a process far behind catches up over several upkeeps, never stalling
# one of them for long.
MAX_PAGES: Final = 20


class SharedEvents(Protocol):
    """The stored security events, as ``EventFeed`` reads them."""

    def last_seq(self) -> int:
        """The newest stored event's sequence number (0 if none)."""
        ...

    def others_after(
        self, seq: int, also: Sequence[int], *, limit: int
    ) -> list[tuple[int, Mapping[str, Any] | None]]:
        """Up to ``limit`` events with a sequence number above ``seq`` or in ``also``, in
        order: ``(seq, event)``, the event ``None`` where this process stored it."""
        ...


class AlertClaims(Protocol):
    """Who raises an incident's alert: the first engine to claim it, until its claim ends."""

    def claim(self, detector: str, key: str, *, now: float, until: float, alert_id: str) -> bool:
        """True if this engine may raise the alert: no claim on ``(detector, key)`` runs
        past ``now``. The claim then runs until ``until``."""
        ...


class MemoryClaims:
    """``AlertClaims`` within one process (tests; a single process needs none)."""

    def __init__(self) -> None:
        self._until: dict[tuple[str, str], float] = {}

    def claim(self, detector: str, key: str, *, now: float, until: float, alert_id: str) -> bool:
        if self._until.get((detector, key), float("-inf")) > now:
            return False
        self._until[(detector, key)] = until
        return True


class EventFeed:
    """Other processes' stored events into this process's detection engine.

    It starts at the newest stored event: a starting process counts from then on (the
    others, running, already counted what came before). Sequence numbers are read in
    order; one skipped over is a gap, asked for again until ``GAP_WAIT_S`` has passed.
    """

    def __init__(
        self,
        store: SharedEvents,
        ingest: Callable[[Mapping[str, Any]], object],
        *,
        batch: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.ingest = ingest
        self.batch = batch
        self.clock = clock
        self.cursor = store.last_seq()
        self.gaps: OrderedDict[int, float] = OrderedDict()  # seq → when first missed
        self.seen = 0  # other processes' events handed to the engine
        self.subscribers: list[Callable[[Mapping[str, Any]], object]] = []
        self.subscriber_errors = 0

    def subscribe(self, fn: Callable[[Mapping[str, Any]], object]) -> None:
        """Hand ``fn`` each event the engine gets from the others too (the console's live
        figures); one that raises is logged and counted, and detection goes on."""
        self.subscribers.append(fn)

    def pull(self) -> int:
        """Hand the engine what other processes stored since the last pull; how many."""
        handed = 0
        for _ in range(MAX_PAGES):
            rows = self.store.others_after(self.cursor, tuple(self.gaps), limit=self.batch)
            now = self.clock()
            for seq, event in rows:
                if seq > self.cursor:
                    self._missed(range(self.cursor + 1, seq), now)
                    self.cursor = seq
                else:
                    self.gaps.pop(seq, None)
                if event is not None:
                    self.ingest(event)  # malformed ones are counted by the engine
                    handed += 1
                    self._notify(event)
            self._expire(now)
            if len(rows) < self.batch:
                break
        self.seen += handed
        return handed

    def _notify(self, event: Mapping[str, Any]) -> None:
        for fn in self.subscribers:
            try:
                fn(event)
            except Exception:
                self.subscriber_errors += 1
                log.exception("an event feed subscriber failed")

    def _missed(self, seqs: range, now: float) -> None:
        for seq in seqs[-MAX_GAPS:]:
            self.gaps[seq] = now
        while len(self.gaps) > MAX_GAPS:
            self.gaps.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self.gaps:
            seq, since = next(iter(self.gaps.items()))
            if now - since < GAP_WAIT_S:
                return
            del self.gaps[seq]
