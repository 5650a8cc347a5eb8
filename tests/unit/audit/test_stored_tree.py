"""StoredTree: hashes and proofs from stored leaf hashes and stride nodes equal the
in-memory RFC 6962 computation, across the stored levels (8, 16)."""

from __future__ import annotations

import pytest

from tests.unit.audit.memory_store import MemoryAuditStore
from zerotrust.audit import merkle
from zerotrust.audit.log import AuditLog
from zerotrust.audit.tree import StoredTree
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import IntegrityError

SIZE = 70_000  # past 2^16, so level-16 nodes are stored and used


@pytest.fixture(scope="module")
def filled() -> tuple[MemoryAuditStore, list[bytes]]:
    store = MemoryAuditStore()
    log = AuditLog(store, clock=FixedClock())
    record = AuditRecord(action="a", actor="b", outcome="c")
    for _ in range(SIZE // 10_000):
        log.append_many([record] * 10_000)
    return store, [e.leaf_hash for e in store.entries]


def test_nodes_are_stored_every_eighth_level(filled: tuple[MemoryAuditStore, list[bytes]]) -> None:
    store, _ = filled
    levels = {level for level, _ in store.nodes}
    assert levels == {8, 16}
    assert len(store.nodes) == SIZE // 256 + SIZE // 65536


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, SIZE),
        (0, 65536),
        (65536, SIZE),
        (256, 512),
        (992, 1023),
        (69_632, 69_999),
        (0, 1),
        (5, 6),
    ],
)
def test_range_hash_matches_memory(
    filled: tuple[MemoryAuditStore, list[bytes]], start: int, end: int
) -> None:
    store, hashes = filled
    assert StoredTree(store, SIZE).range_hash(start, end) == merkle.root_of(hashes[start:end])


@pytest.mark.parametrize("size", [1, 255, 256, 257, 65_535, 65_536, 65_537, SIZE])
def test_proofs_match_memory(filled: tuple[MemoryAuditStore, list[bytes]], size: int) -> None:
    store, hashes = filled
    tree, mem = StoredTree(store, size), merkle.list_range_hash(hashes[:size])
    assert tree.root() == merkle.root_of(hashes[:size])
    for index in {0, size // 3, size - 1}:
        assert tree.inclusion_proof(index) == merkle.inclusion_proof(index, size, mem)
    for size1 in {1, size // 2 or 1, size}:
        assert tree.consistency_proof(size1) == merkle.consistency_proof(size1, size, mem)


def test_frontier_matches_the_head(filled: tuple[MemoryAuditStore, list[bytes]]) -> None:
    store, _ = filled
    assert StoredTree(store, SIZE).frontier() == store.head().frontier


def test_a_proof_needs_only_a_few_reads(filled: tuple[MemoryAuditStore, list[bytes]]) -> None:
    store, _ = filled
    calls = 0
    original = store.node_hashes, store.leaf_hashes

    def count(fn):  # type: ignore[no-untyped-def]
        def wrapped(*a):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return fn(*a)

        return wrapped

    store.node_hashes, store.leaf_hashes = count(original[0]), count(original[1])  # type: ignore[method-assign]
    try:
        StoredTree(store, SIZE).inclusion_proof(12_345)
    finally:
        store.node_hashes, store.leaf_hashes = original  # type: ignore[method-assign]
    assert calls <= 6


def test_missing_stored_nodes_are_an_integrity_error() -> None:
    store = MemoryAuditStore()
    AuditLog(store, clock=FixedClock()).append_many([AuditRecord("a", "b", "c")] * 600)
    del store.nodes[(8, 1)]
    with pytest.raises(IntegrityError):
        StoredTree(store, 600).root()
