"""key-rotation: the vault's key-encryption key rotated, and every data key rewrapped,
while the platform is busy.

Fiona reads customers' transactions and the fraud model writes its outputs through the
gateway the whole time. A new KEK version becomes primary at once and old versions keep
decrypting, so nothing waits for the rewrap; the rewrap then moves each customer's data
key to the new version in batches, resumable and idempotent (zt keys rotate, zt keys
rewrap). Not one request may fail.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from zerotrust.demo.scenarios.evidence import tally
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform
from zerotrust.vault.keys import KeyHierarchy
from zerotrust.vault.rewrap import RewrapReport, rewrap

CUSTOMERS = 60
BATCH = 10  # data keys per rewrap batch at least: many small steps, traffic in between
STEPS = 40  # about this many batches, however many data keys there are
PAUSE_S = 0.05
PACE_S = 0.1  # between one client's requests: steady traffic, within its rate limit
SETTLE_S = 0.5  # traffic before and after the change


@dataclass
class Traffic:
    """Requests of one kind made while the keys change, and how they ended."""

    answers: Counter[str] = field(default_factory=Counter)
    during: int = 0  # completed while the rotation or the rewrap was in progress

    @property
    def total(self) -> int:
        return sum(self.answers.values())

    @property
    def failed(self) -> int:
        return self.total - sum(n for a, n in self.answers.items() if a in ("200", "201"))

    def line(self) -> str:
        return f"{self.total} requests ({tally(self.answers.elements())}), {self.during} during"


@dataclass
class Change:
    """The rotation and the rewrap, as they went."""

    old: int
    new: int
    pending: int
    report: RewrapReport
    seconds: float


def _drive(
    traffic: Traffic, send: Callable[[int], int], stop: threading.Event, busy: threading.Event
) -> None:
    i = 0
    while not stop.is_set():
        try:
            traffic.answers[str(send(i))] += 1
        except Exception as exc:  # a failed request is what this scenario counts
            traffic.answers[type(exc).__name__] += 1
        traffic.during += busy.is_set()
        i += 1
        stop.wait(PACE_S)


@contextmanager
def _running(
    sends: list[tuple[Traffic, Callable[[int], int]]], busy: threading.Event
) -> Iterator[None]:
    stop = threading.Event()
    threads = [
        threading.Thread(target=_drive, args=(t, send, stop, busy), daemon=True)
        for t, send in sends
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(SETTLE_S)  # traffic first, as on any working day
        yield
        time.sleep(SETTLE_S)  # and after: the new keys serve
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)


def _rotate(keys: KeyHierarchy, busy: threading.Event) -> Change:
    old = next(s.version for s in keys.status() if s.primary)
    busy.set()
    started = time.perf_counter()
    try:
        new = keys.rotate(actor="demo")
        pending = keys.pending_rewrap()
        report = rewrap(keys, batch=batch_size(pending), pause_s=PAUSE_S)
    finally:
        busy.clear()
    return Change(old, new, pending, report, time.perf_counter() - started)


def batch_size(pending: int) -> int:
    return max(BATCH, -(-pending // STEPS))


def play(platform: Platform, run: Run) -> None:
    keys = platform.services.vault.keys
    ids = platform.customers(CUSTOMERS)
    fiona = platform.person("fiona").gateway
    reads, writes, busy = Traffic(), Traffic(), threading.Event()

    def read(i: int) -> int:
        return fiona.request("GET", f"/api/transactions/{ids[i % len(ids)]}?limit=20").status_code

    with platform.workload("fraud-model") as model:

        def write(i: int) -> int:
            # The subject is the model's own reference, never a customer id: outputs are
            # shown to data scientists, who must not learn who they are about.
            output = {"model": "fraud-v1", "subject": f"rotation-{i}", "score": 0.01}
            path = f"/api/model-outputs/{ids[i % len(ids)]}"
            return model.request("POST", path, json={**output, "label": "ok"}).status_code

        with _running([(reads, read), (writes, write)], busy):
            change = _rotate(keys, busy)
    after = {s.version: s for s in keys.status()}
    run.step(
        "security team",
        f"rotate the vault KEK (v{change.old} → v{change.new}), "
        f"rewrap in batches of {batch_size(change.pending)}",
        f"{change.report.rewrapped} data keys rewrapped in {change.seconds:.1f} s, "
        f"{change.report.remaining} left",
        "vault",
        "a new primary at once; old versions decrypt until nothing uses them",
    )
    run.step(
        "fiona",
        "GET /api/transactions/… throughout",
        reads.line(),
        "vault",
        "each data key opens under whichever KEK version wraps it",
    )
    run.step(
        "fraud-model",
        "POST /api/model-outputs/… throughout",
        writes.line(),
        "vault",
        "new records are sealed under data keys the primary wraps",
    )

    run.check(
        "A new KEK version is primary",
        change.new == change.old + 1 and after[change.new].primary,
        f"v{change.old} → v{change.new}",
    )
    run.check(
        "Every data key moved to the new version",
        change.report.remaining == 0 and after[change.old].data_keys == 0,
        f"{change.report.rewrapped} rewrapped of {change.pending} pending; "
        f"v{change.old} now wraps {after[change.old].data_keys}, "
        f"v{change.new} wraps {after[change.new].data_keys}",
    )
    run.check(
        "Traffic ran through the change",
        reads.during > 0 and writes.during > 0,
        f"{reads.during} reads and {writes.during} writes completed during it",
    )
    run.check(
        "Zero failed requests",
        reads.total > 0 and writes.total > 0 and reads.failed + writes.failed == 0,
        f"reads: {reads.failed} failed of {reads.total}; writes: {writes.failed} failed of "
        f"{writes.total}",
    )


SCENARIO = Scenario(
    name="key-rotation",
    title="The vault's keys rotated under load",
    story=story_of(__doc__),
    play=play,
)
