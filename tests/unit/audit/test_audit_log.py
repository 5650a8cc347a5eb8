"""AuditLog: sequence numbers, group commit, fail-closed writes, checkpoints, proofs, reads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.unit.audit.memory_store import BrokenStore, MemoryAuditStore
from zerotrust.audit import merkle
from zerotrust.audit.checkpoint import CheckpointDirectory, NoteSigner
from zerotrust.audit.entry import decode_entry, prepare
from zerotrust.audit.interfaces import AppendPlan, EntryFilter, TreeHead
from zerotrust.audit.log import AuditLog, AuditWriteFailed, plan_append
from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable
from zerotrust.crypto.signing import SigningKey


def rec(i: int = 0, **kw: object) -> AuditRecord:
    fields: dict[str, object] = {"action": "auth.login", "actor": f"usr_{i}", "outcome": "success"}
    fields.update(kw)
    return AuditRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner(SigningKey.generate("EdDSA"))


@pytest.fixture
def store() -> MemoryAuditStore:
    return MemoryAuditStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def log(store: MemoryAuditStore, clock: FixedClock, signer: NoteSigner) -> AuditLog:
    return AuditLog(store, clock=clock, signer=signer)


def test_is_an_audit_recorder(log: AuditLog) -> None:
    recorder: AuditRecorder = log
    assert recorder.append(rec()) == 0


def test_sequence_numbers_are_contiguous_from_zero(log: AuditLog) -> None:
    assert [log.append(rec(i)) for i in range(3)] == [0, 1, 2]
    assert log.append_many([rec(3), rec(4)]) == [3, 4]
    assert log.append_many([]) == []
    assert log.size() == 5


def test_order_comes_from_sequence_not_the_clock(
    log: AuditLog, clock: FixedClock, store: MemoryAuditStore
) -> None:
    log.append(rec(0))
    clock.advance(-3600)  # the clock steps back an hour
    log.append(rec(1))
    first, second = (decode_entry(e.entry) for e in store.entries)
    assert (first.seq, second.seq) == (0, 1)
    assert second.time < first.time


def test_a_failed_write_raises_and_writes_nothing(store: MemoryAuditStore, log: AuditLog) -> None:
    store.fail_next = StoreUnavailable("disk full")
    with pytest.raises(AuditWriteFailed) as info:
        log.append_many([rec(0), rec(1)])
    assert isinstance(info.value, StoreUnavailable)  # callers fail closed on this
    assert info.value.code == "audit_write_failed"
    assert store.entries == []
    assert log.append(rec(2)) == 0  # the next write works and takes the next number


def test_an_unavailable_store_fails_every_append_closed(clock: FixedClock) -> None:
    log = AuditLog(BrokenStore(), clock=clock)
    for _ in range(3):
        with pytest.raises(AuditWriteFailed):
            log.append(rec())


class GatedStore(MemoryAuditStore):
    """Holds the first commit until released, so other appenders queue behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def append(self, plan):  # type: ignore[no-untyped-def]
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(10)
        return super().append(plan)


def test_concurrent_appends_are_group_committed(clock: FixedClock) -> None:
    store = GatedStore()
    log = AuditLog(store, clock=clock)
    results: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        seq = log.append(rec(i))
        with lock:
            results.append(seq)

    first = threading.Thread(target=one, args=(0,))
    first.start()
    assert store.entered.wait(10)
    others = [threading.Thread(target=one, args=(i,)) for i in range(1, 40)]
    for t in others:
        t.start()
    deadline = time.monotonic() + 10
    while len(log._queue) < 39 and time.monotonic() < deadline:  # all queued behind the gate
        time.sleep(0.001)
    store.release.set()
    for t in [first, *others]:
        t.join(10)
    assert sorted(results) == list(range(40))
    assert store.commits == 2  # the first alone, then the 39 waiting ones in one batch


def test_max_batch_splits_large_queues_between_whole_requests(clock: FixedClock) -> None:
    store = MemoryAuditStore()
    log = AuditLog(store, clock=clock, max_batch=3)
    assert log.append_many([rec(i) for i in range(5)]) == list(range(5))  # never split
    assert store.commits == 1


def test_plan_is_pure_so_a_retried_transaction_writes_the_same(clock: FixedClock) -> None:
    items = [prepare(rec(i), clock.now()) for i in range(300)]
    head = TreeHead(0, ())
    a: AppendPlan = plan_append(head, items)
    b = plan_append(head, items)
    assert a == b
    assert [n.level for n in a.nodes] == [8]  # one stored node per 256 leaves


def test_checkpoint_signs_the_head_and_exports_it(
    tmp_path: Path, store: MemoryAuditStore, clock: FixedClock, signer: NoteSigner
) -> None:
    folder = CheckpointDirectory(tmp_path)
    log = AuditLog(store, clock=clock, signer=signer, exports=[folder])
    log.append_many([rec(i) for i in range(5)])
    signed = log.checkpoint()
    cp = signer.verifier().open(signed.note)
    assert (cp.size, cp.time) == (5, clock.now())
    assert cp.root == merkle.root_of([e.leaf_hash for e in store.entries])
    assert folder.latest() == signed.note == log.latest_checkpoint()
    assert log.verifier_key() == signer.vkey


def test_checkpoint_needs_a_key(store: MemoryAuditStore, clock: FixedClock) -> None:
    log = AuditLog(store, clock=clock)
    with pytest.raises(InvalidInput):
        log.checkpoint()
    assert log.maybe_checkpoint() is None
    assert log.close() is None
    assert log.latest_checkpoint() is None


def test_checkpoint_refuses_to_sign_a_truncated_log(log: AuditLog, store: MemoryAuditStore) -> None:
    log.append_many([rec(i) for i in range(6)])
    log.checkpoint()
    del store.entries[4:]
    rng = merkle.CompactRange()
    rng.extend(e.leaf_hash for e in store.entries)
    store.head_row = TreeHead(rng.size, tuple(rng.hashes))
    with pytest.raises(IntegrityError, match="checkpoint signed 6"):
        log.checkpoint()


def test_checkpoint_refuses_to_sign_a_rewritten_log(
    log: AuditLog, store: MemoryAuditStore, clock: FixedClock
) -> None:
    log.append_many([rec(i) for i in range(6)])
    log.checkpoint()
    forged = MemoryAuditStore()
    AuditLog(forged, clock=clock).append_many([rec(i, outcome="denied") for i in range(8)])
    store.entries, store.nodes, store.head_row = forged.entries, forged.nodes, forged.head_row
    with pytest.raises(IntegrityError, match="not consistent"):
        log.checkpoint()


def test_checkpoint_refuses_a_head_that_disagrees_with_the_entries(
    log: AuditLog, store: MemoryAuditStore
) -> None:
    log.append_many([rec(i) for i in range(3)])
    store.head_row = TreeHead(3, (bytes(32), bytes(32)))
    with pytest.raises(IntegrityError):
        log.checkpoint()


def test_maybe_checkpoint_waits_for_growth_and_the_interval(
    log: AuditLog, clock: FixedClock
) -> None:
    assert log.maybe_checkpoint() is not None  # the first one, even of the empty log
    assert log.maybe_checkpoint() is None  # nothing new
    log.append(rec())
    assert log.maybe_checkpoint() is None  # too soon
    clock.advance(61)
    signed = log.maybe_checkpoint()
    assert signed is not None
    assert signed.checkpoint.size == 1


def test_close_signs_a_final_checkpoint_and_refuses_appends(log: AuditLog) -> None:
    log.append(rec())
    final = log.close()
    assert final is not None
    assert final.checkpoint.size == 1
    with pytest.raises(AuditWriteFailed):
        log.append(rec())


def test_close_does_not_resign_an_unchanged_log(log: AuditLog) -> None:
    log.append(rec())
    log.checkpoint()
    assert log.close() is None


def test_inclusion_proof_defaults_to_the_latest_checkpoint(log: AuditLog) -> None:
    log.append_many([rec(i) for i in range(10)])
    cp = log.checkpoint().checkpoint
    log.append_many([rec(i) for i in range(5)])
    proof = log.inclusion_proof(3)
    assert (proof.tree_size, proof.root) == (10, cp.root)
    proof.verify()
    assert log.inclusion_proof(12).tree_size == 15  # beyond the checkpoint: current size
    assert log.inclusion_proof(3, 4).tree_size == 4


@pytest.mark.parametrize(("seq", "size"), [(-1, None), (15, None), (3, 3), (3, 16), (0, 0)])
def test_inclusion_proof_rejects_bad_positions(log: AuditLog, seq: int, size: int | None) -> None:
    log.append_many([rec(i) for i in range(15)])
    with pytest.raises(InvalidInput):
        log.inclusion_proof(seq, size)


def test_inclusion_proof_of_a_deleted_entry_is_not_found(
    log: AuditLog, store: MemoryAuditStore
) -> None:
    log.append_many([rec(i) for i in range(4)])
    del store.entries[2]
    with pytest.raises(NotFound):
        log.inclusion_proof(2)


def test_consistency_proofs(log: AuditLog) -> None:
    log.append_many([rec(i) for i in range(9)])
    log.consistency_proof(3).verify()
    proof = log.consistency_proof(4, 9)
    proof.verify()
    assert proof.root2 == log.inclusion_proof(0, 9).root
    for a, b in [(0, 3), (5, 4), (1, 10)]:
        with pytest.raises(InvalidInput):
            log.consistency_proof(a, b)


def test_reading_is_itself_audited(log: AuditLog, store: MemoryAuditStore) -> None:
    log.append_many([rec(i, outcome="failure" if i % 2 else "success") for i in range(6)])
    found = log.read(
        EntryFilter(outcome="failure"), limit=2, reader="usr_officer", src_ip="198.51.100.4"
    )
    assert [e.seq for e in found] == [1, 3]
    audit = decode_entry(store.entries[-1].entry)
    assert (audit.action, audit.actor, audit.src_ip) == (
        "audit.read",
        "usr_officer",
        "198.51.100.4",
    )
    assert audit.details == {"outcome": "failure", "returned": 2}


def test_read_filters_by_action_prefix_and_pages(log: AuditLog) -> None:
    log.append_many(
        [rec(0, action="auth.login"), rec(1, action="role.grant"), rec(2, action="auth.logout")]
    )
    assert [e.seq for e in log.read(EntryFilter(action="auth.*"), reader="r")] == [0, 2]
    assert [e.seq for e in log.read(EntryFilter(after_seq=1), limit=1, reader="r")] == [2]


@pytest.mark.parametrize("limit", [0, 1001])
def test_read_limits_are_bounded(log: AuditLog, limit: int) -> None:
    with pytest.raises(InvalidInput):
        log.read(limit=limit, reader="r")


def test_read_fails_closed_when_the_read_cannot_be_audited(
    log: AuditLog, store: MemoryAuditStore
) -> None:
    log.append(rec())
    store.fail_next = StoreUnavailable()
    with pytest.raises(AuditWriteFailed):
        log.read(reader="r")


def test_read_detects_an_entry_edited_in_place(log: AuditLog, store: MemoryAuditStore) -> None:
    log.append_many([rec(0), rec(1)])
    row = store.entries[1]
    store.entries[1] = row._replace(entry=row.entry.replace(b"success", b"failure"))
    with pytest.raises(IntegrityError, match="entry 1"):
        log.read(reader="r")
    store.entries[1] = row._replace(actor="someone_else")
    with pytest.raises(IntegrityError, match="index columns"):
        log.read(reader="r")


def test_close_writes_what_is_queued_and_leaves_nobody_waiting(clock: FixedClock) -> None:
    store = GatedStore()
    log = AuditLog(store, clock=clock)
    seqs: list[int] = []
    first = threading.Thread(target=lambda: seqs.append(log.append(rec(0))))
    first.start()
    assert store.entered.wait(10)
    second = threading.Thread(target=lambda: seqs.append(log.append(rec(1))))
    second.start()
    deadline = time.monotonic() + 10
    while not log._queue and time.monotonic() < deadline:
        time.sleep(0.001)
    closer = threading.Thread(target=log.close)
    closer.start()
    store.release.set()
    for t in (first, second, closer):
        t.join(10)
        assert not t.is_alive()
    assert sorted(seqs) == [0, 1]
    with pytest.raises(AuditWriteFailed):
        log.append(rec(2))


def test_a_record_that_cannot_be_encoded_fails_closed(
    log: AuditLog, store: MemoryAuditStore
) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    with pytest.raises(AuditWriteFailed):
        log.append(rec(0, details={"x": Hostile()}))
    assert store.entries == []
