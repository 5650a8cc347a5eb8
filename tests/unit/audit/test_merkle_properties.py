"""Property tests: for random append sequences every inclusion and consistency proof
verifies, and any single-byte change to the entry, a proof hash or a root breaks it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.audit.memory_store import MemoryAuditStore
from zerotrust.audit import merkle
from zerotrust.audit.log import AuditLog
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock

text = st.text(max_size=40)
records = st.builds(
    AuditRecord,
    action=st.sampled_from(["auth.login", "role.grant", "authz.decision", "key.rotate"]),
    actor=text,
    outcome=st.sampled_from(["success", "failure", "denied"]),
    reason=st.none() | text,
    src_ip=st.none() | st.ip_addresses().map(str),
    details=st.dictionaries(st.text(max_size=8), st.integers() | text, max_size=3),
)
# A random append sequence: several batches, as group commit would form them.
batches = st.lists(st.lists(records, min_size=1, max_size=6), min_size=1, max_size=8)


def _flip(data: bytes, pos: int, delta: int) -> bytes:
    b = bytearray(data)
    b[pos % len(b)] ^= delta
    return bytes(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=batches, data=st.data())
def test_log_proofs_verify_and_any_byte_change_breaks_them(
    sequence: list[list[AuditRecord]], data: st.DataObject
) -> None:
    log = AuditLog(MemoryAuditStore(), clock=FixedClock())
    sizes = []
    for batch in sequence:
        log.append_many(batch)
        sizes.append(log.size())
    size = log.size()
    for seq in range(size):
        for tree_size in range(seq + 1, size + 1):
            log.inclusion_proof(seq, tree_size).verify()
    for a in sizes:
        for b in sizes:
            if a <= b:
                log.consistency_proof(a, b).verify()

    # Any single-byte change: in the entry, a proof hash, or the root.
    p = log.inclusion_proof(data.draw(st.integers(0, size - 1)))
    parts = [p.entry, *p.proof, p.root]
    which = data.draw(st.integers(0, len(parts) - 1))
    pos, delta = data.draw(st.integers(0, 10**6)), data.draw(st.integers(1, 255))
    parts[which] = _flip(parts[which], pos, delta)
    forged = type(p)(
        p.seq, p.tree_size, parts[0], merkle.leaf_hash(parts[0]), tuple(parts[1:-1]), parts[-1]
    )
    with pytest.raises(merkle.InvalidProof):
        forged.verify()


@settings(max_examples=200, deadline=None)
@given(
    leaves=st.lists(st.binary(min_size=1, max_size=16), min_size=2, max_size=70),
    data=st.data(),
)
def test_consistency_proofs_break_on_any_byte_change(
    leaves: list[bytes], data: st.DataObject
) -> None:
    hashes = [merkle.leaf_hash(x) for x in leaves]
    size2 = len(hashes)
    size1 = data.draw(st.integers(1, size2 - 1))
    proof = merkle.consistency_proof(size1, size2, merkle.list_range_hash(hashes))
    root1, root2 = merkle.root_of(hashes[:size1]), merkle.root_of(hashes)
    merkle.verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2)
    parts = [*proof, root1, root2]
    which = data.draw(st.integers(0, len(parts) - 1))
    parts[which] = _flip(
        parts[which], data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255))
    )
    with pytest.raises(merkle.InvalidProof):
        merkle.verify_consistency(
            size1=size1, size2=size2, proof=parts[:-2], root1=parts[-2], root2=parts[-1]
        )


@settings(max_examples=200, deadline=None)
@given(
    leaves=st.lists(st.binary(min_size=1, max_size=16), min_size=1, max_size=70),
    data=st.data(),
)
def test_inclusion_proofs_break_on_any_byte_change(
    leaves: list[bytes], data: st.DataObject
) -> None:
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    hashes = [merkle.leaf_hash(x) for x in leaves]
    proof = merkle.inclusion_proof(index, size, merkle.list_range_hash(hashes))
    root = merkle.root_of(hashes)
    merkle.verify_inclusion(index=index, size=size, leaf=hashes[index], proof=proof, root=root)
    parts = [leaves[index], *proof, root]
    which = data.draw(st.integers(0, len(parts) - 1))
    parts[which] = _flip(
        parts[which], data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255))
    )
    with pytest.raises(merkle.InvalidProof):
        merkle.verify_inclusion(
            index=index,
            size=size,
            leaf=merkle.leaf_hash(parts[0]),
            proof=parts[1:-1],
            root=parts[-1],
        )
