"""QueuedSink: events published from its own thread, in order, in batches, never dropped."""

from __future__ import annotations

import threading

from zerotrust.core.events import FanoutSink, MemorySink, QueuedSink, SecurityEvent


def event(i: int) -> SecurityEvent:
    ts = 1_700_000_000.0 + i
    return SecurityEvent.at(ts, kind="access", principal=f"p{i}", outcome="allowed")


class BatchSink:
    def __init__(self) -> None:
        self.batches: list[list[SecurityEvent]] = []

    def emit(self, e: SecurityEvent) -> None:  # pragma: no cover - emit_many is preferred
        self.batches.append([e])

    def emit_many(self, events: list[SecurityEvent]) -> None:
        self.batches.append(list(events))


class Gate:
    """A sink that holds the publishing thread until released."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        self.seen: list[SecurityEvent] = []

    def emit(self, e: SecurityEvent) -> None:
        self.entered.set()
        self.open.wait(5)
        self.seen.append(e)


def test_events_arrive_in_order_and_in_batches() -> None:
    gate, batches = Gate(), BatchSink()
    queued = QueuedSink(FanoutSink([gate, batches]), max_batch=50)
    for i in range(200):
        assert queued.offer(event(i))
    gate.open.set()
    assert queued.flush(5)
    assert [e.principal for e in gate.seen] == [f"p{i}" for i in range(200)]
    assert [e for b in batches.batches for e in b] == gate.seen
    assert max(len(b) for b in batches.batches) <= 50
    assert len(batches.batches) < 200  # queued while the sink was busy: batched
    queued.close()


def test_a_full_queue_refuses_an_offer_and_emit_waits_for_room() -> None:
    gate = Gate()
    queued = QueuedSink(gate, max_batch=1, max_queued=3)
    assert queued.offer(event(0))
    assert gate.entered.wait(5)  # the thread holds event 0 until the gate opens
    taken = [queued.offer(event(i)) for i in range(1, 6)]
    assert taken == [True, True, True, False, False]
    waiter = threading.Thread(target=queued.emit, args=(event(99),))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # back-pressure, not a drop
    gate.open.set()
    waiter.join(5)
    assert queued.flush(5)
    assert gate.seen[-1].principal == "p99"
    queued.close()


def test_close_publishes_what_is_queued_then_refuses() -> None:
    sink = MemorySink()
    queued = QueuedSink(sink)
    for i in range(100):
        queued.offer(event(i))
    queued.close()
    assert len(sink.events) == 100
    assert not queued.offer(event(101))


def test_a_failing_sink_is_reported_and_publishing_goes_on() -> None:
    failures: list[tuple[str, int]] = []

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0
            self.seen: list[SecurityEvent] = []

        def emit(self, e: SecurityEvent) -> None:
            self.calls += 1
            if self.calls == 1:
                raise OSError("disk full")
            self.seen.append(e)

    flaky = Flaky()
    queued = QueuedSink(flaky, max_batch=1, on_error=lambda exc, n: failures.append((str(exc), n)))
    queued.offer(event(1))
    queued.offer(event(2))
    assert queued.flush(5)
    queued.close()
    assert failures == [("disk full", 1)]
    assert [e.principal for e in flaky.seen] == ["p2"]


def test_a_lingering_queue_gathers_a_trickle_into_one_batch() -> None:
    sink = BatchSink()
    queued = QueuedSink(sink, linger_s=0.5)
    for i in range(5):  # one at a time, as a lightly loaded gateway answers
        assert queued.offer(event(i))
    assert queued.flush()
    queued.close()
    assert [len(b) for b in sink.batches] == [5]


def test_a_full_batch_does_not_wait_out_the_linger() -> None:
    sink = BatchSink()
    queued = QueuedSink(sink, max_batch=3, linger_s=30.0)
    for i in range(3):
        queued.offer(event(i))
    assert queued.flush(timeout_s=5.0)  # well before the 30 s linger
    queued.close()
    assert [len(b) for b in sink.batches] == [3]


def test_closing_a_lingering_queue_publishes_at_once() -> None:
    sink = BatchSink()
    queued = QueuedSink(sink, linger_s=30.0)
    queued.offer(event(1))
    queued.close(timeout_s=5.0)
    assert [len(b) for b in sink.batches] == [1]
