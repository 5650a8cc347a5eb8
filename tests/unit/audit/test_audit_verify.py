"""verify_log against a memory store: each kind of tampering is caught and located."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.unit.audit.memory_store import MemoryAuditStore
from zerotrust.audit import merkle
from zerotrust.audit.checkpoint import Checkpoint, NoteSigner
from zerotrust.audit.interfaces import TreeHead
from zerotrust.audit.log import AuditLog
from zerotrust.audit.verify import LogTampered, verify_log
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.signing import SigningKey

N = 600  # spans two level-8 nodes


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner(SigningKey.generate("EdDSA"))


def _filled(signer: NoteSigner, n: int = N) -> tuple[MemoryAuditStore, Checkpoint]:
    store = MemoryAuditStore()
    log = AuditLog(store, clock=FixedClock(), signer=signer)
    log.append_many([AuditRecord("auth.login", f"usr_{i}", "failure") for i in range(n)])
    return store, signer.verifier().open(log.checkpoint().note)


def _reset_head(store: MemoryAuditStore) -> None:
    rng = merkle.CompactRange()
    rng.extend(e.leaf_hash for e in sorted(store.entries))
    store.head_row = TreeHead(rng.size, tuple(rng.hashes))


def test_an_untouched_log_verifies(signer: NoteSigner) -> None:
    store, cp = _filled(signer)
    result = verify_log(store, [cp], batch_size=64)
    assert (result.size, result.root, result.checkpoint_size) == (N, cp.root, N)


def test_a_log_that_grew_after_its_checkpoint_verifies(signer: NoteSigner) -> None:
    store, cp = _filled(signer)
    AuditLog(store, clock=FixedClock()).append_many([AuditRecord("a", "b", "c")] * 100)
    assert verify_log(store, [cp]).size == N + 100


def test_there_must_be_a_checkpoint(signer: NoteSigner) -> None:
    store, _ = _filled(signer)
    with pytest.raises(LogTampered, match="no signed checkpoint"):
        verify_log(store, [])


def _edit_bytes(s: MemoryAuditStore) -> None:
    s.entries[300] = s.entries[300]._replace(
        entry=s.entries[300].entry.replace(b"failure", b"success")
    )


def _edit_column(s: MemoryAuditStore) -> None:
    s.entries[300] = s.entries[300]._replace(outcome="success")


def _edit_with_leaf_hash(s: MemoryAuditStore) -> None:
    e = s.entries[300]
    blob = e.entry.replace(b"failure", b"success")
    s.entries[300] = e._replace(entry=blob, outcome="success", leaf_hash=merkle.leaf_hash(blob))


def _swap(s: MemoryAuditStore) -> None:
    a, b = s.entries[300], s.entries[310]
    s.entries[300], s.entries[310] = b._replace(seq=300), a._replace(seq=310)


def _delete_middle(s: MemoryAuditStore) -> None:
    del s.entries[300]


def _truncate(s: MemoryAuditStore) -> None:
    del s.entries[590:]
    _reset_head(s)


def _not_json(s: MemoryAuditStore) -> None:
    e = s.entries[300]
    blob = e.entry[:-1]
    s.entries[300] = e._replace(entry=blob, leaf_hash=merkle.leaf_hash(blob))


@pytest.mark.parametrize(
    ("tamper", "seq", "words"),
    [
        (_edit_bytes, 300, "leaf hash (edited)"),
        (_edit_column, 300, "index columns"),
        (_edit_with_leaf_hash, 256, "stored tree node"),
        (_swap, 300, "holds the content of entry 310 (reordered)"),
        (_delete_middle, 300, "missing (deleted)"),
        (_truncate, 590, "truncated"),
        (_not_json, 300, "malformed"),
    ],
)
def test_tampering_is_located(
    signer: NoteSigner, tamper: Callable[[MemoryAuditStore], None], seq: int, words: str
) -> None:
    store, cp = _filled(signer)
    tamper(store)
    with pytest.raises(LogTampered, match=re.escape(words)) as info:
        verify_log(store, [cp], batch_size=100)
    assert info.value.seq == seq
    assert info.value.code == "audit_log_tampered"


def test_a_full_rewrite_is_caught_by_the_checkpoint(signer: NoteSigner) -> None:
    _, cp = _filled(signer)
    forged = MemoryAuditStore()
    AuditLog(forged, clock=FixedClock()).append_many(
        [AuditRecord("auth.login", f"usr_{i}", "success") for i in range(N)]
    )
    with pytest.raises(LogTampered, match="checkpoint mismatch") as info:
        verify_log(forged, [cp])
    assert info.value.seq is None


def test_older_checkpoints_narrow_down_a_rewrite(signer: NoteSigner) -> None:
    store = MemoryAuditStore()
    log = AuditLog(store, clock=FixedClock(), signer=signer)
    log.append_many([AuditRecord("a", str(i), "c") for i in range(100)])
    early = signer.verifier().open(log.checkpoint().note)
    log.append_many([AuditRecord("a", str(i), "c") for i in range(100, 200)])
    late = signer.verifier().open(log.checkpoint().note)
    forged = MemoryAuditStore()
    AuditLog(forged, clock=FixedClock()).append_many(
        [AuditRecord("a", str(i), "c" if i < 150 else "x") for i in range(200)]
    )
    with pytest.raises(LogTampered, match="first 200 entries"):
        verify_log(forged, [early, late])
    assert verify_log(forged, [early]).size == 200  # the first 100 are intact


def test_a_tampered_stored_node_is_found(signer: NoteSigner) -> None:
    store, cp = _filled(signer)
    store.nodes[(8, 1)] = bytes(32)
    with pytest.raises(LogTampered, match="stored tree node") as info:
        verify_log(store, [cp])
    assert info.value.seq == 256


def test_left_over_nodes_past_the_end_are_found(signer: NoteSigner) -> None:
    store, cp = _filled(signer)
    store.nodes[(8, 7)] = bytes(32)
    with pytest.raises(LogTampered, match="past the end"):
        verify_log(store, [cp])


def test_a_tampered_head_is_found(signer: NoteSigner) -> None:
    store, cp = _filled(signer)
    store.head_row = TreeHead(N, tuple(bytes(32) for _ in store.head_row.frontier))
    with pytest.raises(LogTampered, match="head"):
        verify_log(store, [cp])


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(signer: NoteSigner) -> None:
    store, cp = _filled(signer)
    other = Checkpoint(cp.origin, cp.size, bytes(32), cp.time, cp.kid)
    with pytest.raises(LogTampered, match="fork"):
        verify_log(store, [cp, other])


def test_a_checkpoint_of_the_empty_log_verifies(signer: NoteSigner) -> None:
    store, cp = _filled(signer, 0)
    assert verify_log(store, [cp]).size == 0
