"""Detection across processes: each engine counts the events other processes stored, in
store order, gaps included, never its own twice; one alert per incident, whichever
engine sees it first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.support.events import denied_access
from tests.unit.detect.helpers import T0
from zerotrust.core.events import SecurityEvent
from zerotrust.detect.alerts import Alert, Finding
from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.shared import GAP_WAIT_S, MAX_PAGES, EventFeed, MemoryClaims


class Table:
    """``SharedEvents`` in memory: numbers are taken in order, rows become visible when
    committed (out of order, as on PostgreSQL)."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[str, dict[str, Any]]] = {}  # committed: seq → row
        self.next = 1
        self.reads = 0

    def take(self) -> int:
        seq, self.next = self.next, self.next + 1
        return seq

    def commit(self, seq: int, origin: str, event: dict[str, Any]) -> None:
        self.rows[seq] = (origin, event)

    def store(self, origin: str, event: dict[str, Any]) -> int:
        seq = self.take()
        self.commit(seq, origin, event)
        return seq

    def last_seq(self) -> int:
        return max(self.rows, default=0)

    def view(self, origin: str) -> View:
        return View(self, origin)


class View:
    """The table as one process sees it (its own events without bodies)."""

    def __init__(self, table: Table, origin: str) -> None:
        self.table, self.origin = table, origin

    def last_seq(self) -> int:
        return self.table.last_seq()

    def others_after(
        self, seq: int, also: Sequence[int], *, limit: int
    ) -> list[tuple[int, Mapping[str, Any] | None]]:
        self.table.reads += 1
        wanted = sorted(s for s in self.table.rows if s > seq or s in also)[:limit]
        return [
            (s, None if self.table.rows[s][0] == self.origin else self.table.rows[s][1])
            for s in wanted
        ]


def _denied(i: int) -> SecurityEvent:
    return denied_access(T0 + i, i)


class Ingested(list[Mapping[str, Any]]):
    def __call__(self, event: Mapping[str, Any]) -> None:
        self.append(event)


def test_the_feed_hands_over_other_processes_events_in_order_and_skips_its_own() -> None:
    table = Table()
    table.store("b", {"n": 0})  # before this process started: not counted
    got = Ingested()
    feed = EventFeed(table.view("a"), got)
    table.store("b", {"n": 1})
    table.store("a", {"n": 2})  # its own: the engine had it live
    table.store("c", {"n": 3})
    assert feed.pull() == 2
    assert got == [{"n": 1}, {"n": 3}]
    assert feed.pull() == 0
    assert (feed.cursor, feed.seen, dict(feed.gaps)) == (4, 2, {})


def test_a_number_committed_late_is_picked_up_when_it_commits() -> None:
    table = Table()
    now = [100.0]
    got = Ingested()
    feed = EventFeed(table.view("a"), got, clock=lambda: now[0])
    late = table.take()  # a transaction holds number 1, not committed yet
    table.store("b", {"n": 2})
    assert feed.pull() == 1
    assert list(feed.gaps) == [late]
    table.commit(late, "b", {"n": 1})
    assert feed.pull() == 1
    assert got == [{"n": 2}, {"n": 1}]
    assert not feed.gaps


def test_a_number_never_committed_is_given_up_after_a_while() -> None:
    table = Table()
    now = [100.0]
    feed = EventFeed(table.view("a"), Ingested(), clock=lambda: now[0])
    table.take()  # rolled back: the number never shows up
    table.store("b", {"n": 2})
    feed.pull()
    now[0] += GAP_WAIT_S - 1
    feed.pull()
    assert len(feed.gaps) == 1
    now[0] += 2
    feed.pull()
    assert not feed.gaps


def test_a_large_backlog_is_read_over_several_pulls() -> None:
    table = Table()
    got = Ingested()
    feed = EventFeed(table.view("a"), got, batch=10)
    for i in range(MAX_PAGES * 10 + 5):
        table.store("b", {"n": i})
    assert feed.pull() == MAX_PAGES * 10  # one upkeep is bounded
    assert feed.pull() == 5
    assert [e["n"] for e in got] == list(range(MAX_PAGES * 10 + 5))


class Process:
    """One process's engine: its own events live, the others' through the feed."""

    def __init__(self, name: str, table: Table, claims: Any) -> None:
        self.name, self.table = name, table
        self.raised: list[Alert] = []
        self.engine = DetectionEngine(on_alert=[self.raised.append], claims=claims)
        self.feed = EventFeed(table.view(name), self.engine.ingest)

    def emit(self, event: SecurityEvent) -> None:
        self.table.store(self.name, event.to_dict())
        self.engine.emit(event)


def test_a_burst_split_between_two_processes_raises_one_alert() -> None:
    # Ten denials make privilege probing fire; each replica sees five of its own.
    table, claims = Table(), MemoryClaims()
    a, b = Process("a", table, claims), Process("b", table, claims)
    for i in range(10):
        (a if i % 2 else b).emit(_denied(i))
    assert a.raised == b.raised == []  # five each: neither alone has seen the burst
    a.feed.pull()
    b.feed.pull()
    assert [x.detector for x in a.raised] == ["privilege_probing"]
    assert b.raised == []  # it saw the burst too, after a had claimed it
    assert b.engine.stats.already_claimed == 1
    assert b.engine.stats.alerts["privilege_probing"] == 0
    assert a.engine.stats.events == b.engine.stats.events == 10


def test_without_the_feed_the_split_burst_goes_unseen() -> None:
    table, claims = Table(), MemoryClaims()
    a, b = Process("a", table, claims), Process("b", table, claims)
    for i in range(18):
        (a if i % 2 else b).emit(_denied(i))
    assert a.raised == b.raised == []


def test_one_process_alone_raises_as_before() -> None:
    table = Table()
    a = Process("a", table, MemoryClaims())
    for i in range(10):
        a.emit(_denied(i))
    a.feed.pull()  # its own events only: nothing counted twice
    assert [x.detector for x in a.raised] == ["privilege_probing"]
    assert a.engine.stats.events == 10


class BrokenClaims:
    def claim(self, detector: str, key: str, *, now: float, until: float, alert_id: str) -> bool:
        raise ConnectionError("the store is down")


def test_a_claims_store_that_fails_still_raises_the_alert() -> None:
    a = Process("a", Table(), BrokenClaims())
    for i in range(10):
        a.emit(_denied(i))
    assert [x.detector for x in a.raised] == ["privilege_probing"]
    assert a.engine.stats.claim_errors == 1


def test_a_new_burst_after_a_quiet_window_is_a_new_incident() -> None:
    # Two bursts by one principal 20 minutes apart (the window is 10): each its own
    # alert, as without claims: the claim on the subject lasts the window, not the hour.
    table, claims = Table(), MemoryClaims()
    a, b = Process("a", table, claims), Process("b", table, claims)
    for start in (0, 1200):
        for i in range(10):
            (a if i % 2 else b).emit(_denied(start + i))
        a.feed.pull()
        b.feed.pull()
    assert len(a.raised) + len(b.raised) == 2
    assert a.engine.stats.already_claimed + b.engine.stats.already_claimed == 2


def test_a_claim_lasts_the_burst_window_or_the_cooldown() -> None:
    burst = Finding("privilege_probing", "high", "eve#3", "eve", (), "", subject="eve",
                    burst_window_s=600.0)  # fmt: skip
    assert burst.claim(3600.0) == ("eve", 600.0)
    assert burst.claim(300.0) == ("eve", 300.0)
    keyed = Finding("bulk_exfiltration", "high", "eve", "eve", (), "")
    assert keyed.claim(3600.0) == ("eve", 3600.0)


def test_subscribers_get_the_others_events_and_one_that_fails_stops_nothing() -> None:
    table = Table()
    got, also = Ingested(), Ingested()
    feed = EventFeed(table.view("a"), got)

    def broken(event: Mapping[str, Any]) -> None:
        raise RuntimeError("a console that cannot count")

    feed.subscribe(broken)
    feed.subscribe(also)
    table.store("b", {"n": 1})
    table.store("a", {"n": 2})  # its own: subscribers had it live too
    table.store("b", {"n": 3})
    assert feed.pull() == 2
    assert got == also == [{"n": 1}, {"n": 3}]
    assert feed.subscriber_errors == 2
