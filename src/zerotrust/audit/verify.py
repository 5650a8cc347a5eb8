"""Recompute the log from storage and check it against signed checkpoints.

The verifier trusts nothing in the database. It streams every entry in sequence order
(flat memory: one batch plus a compact range of at most 64 hashes) and checks, per entry:
the sequence has no gap (a deleted entry), the entry's own ``seq`` matches its position
(a reordered one), its bytes match the stored leaf hash and its index columns match its
bytes (an edited one). Each stored tree node is compared as the recomputed tree
completes it. Whenever the recomputed tree reaches the size of a signed checkpoint, the
roots must agree: that catches a rewrite with every hash recomputed, which no per-row
check can. A log shorter than its checkpoint was truncated. Finally a consistency proof
from the latest checkpoint to the current head, built from the stored nodes, must verify.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from zerotrust.audit import merkle
from zerotrust.audit.checkpoint import Checkpoint
from zerotrust.audit.entry import decode_entry, seq_prefix
from zerotrust.audit.interfaces import NODE_STRIDE, AuditStore, EntryRow, NodeRow
from zerotrust.audit.tree import StoredTree
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import IntegrityError


class LogTampered(IntegrityError):
    """The stored log does not match itself or a signed checkpoint."""

    code = "audit_log_tampered"
    message = "The audit log failed verification."

    def __init__(self, reason: str, *, seq: int | None = None) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(f"entry {seq}: {reason}" if seq is not None else reason)


@dataclass(frozen=True, slots=True)
class VerifiedLog:
    """What verification established: the log of ``size`` entries has ``root``."""

    size: int
    root: bytes
    checkpoint_size: int
    checkpoints: int


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


class _NodeCheck:
    """Compares recomputed stride nodes with the stored ones, streaming each level."""

    def __init__(self, store: AuditStore, batch_size: int) -> None:
        self._store = store
        self._batch = batch_size
        self._levels: dict[int, Iterator[NodeRow]] = {}

    def _stream(self, level: int) -> Iterator[NodeRow]:
        for batch in self._store.scan_nodes(level, batch_size=self._batch):
            yield from batch

    def __call__(self, level: int, index: int, h: bytes) -> None:
        if level % NODE_STRIDE:
            return
        stream = self._levels.get(level)
        if stream is None:
            stream = self._levels[level] = self._stream(level)
        stored = next(stream, None)
        first = index << level
        if stored is None or stored.idx != index or stored.hash != h:
            raise LogTampered(
                f"entries {first}-{first + (1 << level) - 1} do not match the stored tree "
                f"node at level {level} (edited or reordered with recomputed leaf hashes)",
                seq=first,
            )

    def leftovers(self, size: int) -> None:
        # Nodes past the end, e.g. left behind by deleting the last entries.
        for level in range(NODE_STRIDE, 64, NODE_STRIDE):
            stream = self._levels.get(level) or self._stream(level)
            extra = next(stream, None)
            if extra is not None:
                raise LogTampered(
                    f"a stored tree node at level {level} covers entries past the end "
                    f"of the log ({size} entries)",
                    seq=extra.idx << level,
                )
            if size >> level == 0:
                return


def _check_row(row: EntryRow, expected: int, iso_cache: dict[float, str]) -> bytes:
    if row.seq != expected:
        raise LogTampered("is missing (deleted)", seq=expected)
    if not row.entry.startswith(seq_prefix(expected)):
        raise LogTampered(f"holds {_claimed(row.entry)} (reordered)", seq=expected)
    lh = merkle.leaf_hash(row.entry)
    if lh != row.leaf_hash:
        raise LogTampered("content does not match its leaf hash (edited)", seq=expected)
    try:
        entry = decode_entry(row.entry)
    except IntegrityError as exc:
        raise LogTampered(f"is malformed: {exc.detail}", seq=expected) from None
    iso = iso_cache.get(row.ts)
    if iso is None:
        iso_cache.clear()
        iso = iso_cache[row.ts] = iso_utc(row.ts)
    if (entry.action, entry.actor, entry.outcome, entry.time) != (
        row.action,
        row.actor,
        row.outcome,
        iso,
    ):
        raise LogTampered("index columns do not match the entry (edited)", seq=expected)
    return lh


def _claimed(entry: bytes) -> str:
    head = entry[:40].split(b",")
    if len(head) > 1 and head[1].startswith(b'"seq":'):
        return "the content of entry " + head[1][6:].decode("ascii", "replace")
    return "content that is not an entry at this position"


def _roots_by_size(checkpoints: Sequence[Checkpoint]) -> dict[int, bytes]:
    roots: dict[int, bytes] = {}
    for cp in checkpoints:
        if roots.setdefault(cp.size, cp.root) != cp.root:
            # Two signed heads of one size with different roots: a split view (fork).
            raise LogTampered(f"two signed checkpoints of size {cp.size} disagree (fork)")
    return roots


def verify_log(
    store: AuditStore, checkpoints: Sequence[Checkpoint], *, batch_size: int = 5000
) -> VerifiedLog:
    """Recompute the log and check it against ``checkpoints`` (signatures already checked).

    Raises ``LogTampered`` with the first bad sequence number where there is one, and a
    checkpoint mismatch where the whole log was rewritten or truncated.
    """
    if not checkpoints:
        raise LogTampered("no signed checkpoint to verify against")
    roots = _roots_by_size(checkpoints)
    latest = max(roots)
    rng = merkle.CompactRange()
    nodes = _NodeCheck(store, batch_size)
    iso_cache: dict[float, str] = {}
    if 0 in roots:
        _check_root(0, rng.root(), roots[0])
    for batch in store.scan(batch_size=batch_size):
        for row in batch:
            rng.append(_check_row(row, rng.size, iso_cache), nodes)
            want = roots.get(rng.size)
            if want is not None:
                _check_root(rng.size, rng.root(), want)
    size, root = rng.size, rng.root()
    if size < latest:
        raise LogTampered(
            f"the log has {size} entries but a checkpoint signed {latest} (truncated)", seq=size
        )
    nodes.leftovers(size)
    _check_head(store, rng)
    _check_consistency(store, latest, roots[latest], size, root)
    return VerifiedLog(size, root, latest, len(checkpoints))


def _check_root(size: int, got: bytes, want: bytes) -> None:
    if got != want:
        raise LogTampered(
            f"checkpoint mismatch: the first {size} entries hash to {_b64(got)} but the "
            f"signed checkpoint says {_b64(want)} (rewritten)"
        )


def _check_head(store: AuditStore, rng: merkle.CompactRange) -> None:
    head = store.head()
    if head.size != rng.size or tuple(head.frontier) != tuple(rng.hashes):
        raise LogTampered(
            f"the stored log head (size {head.size}) does not match the {rng.size} entries"
        )


def _check_consistency(
    store: AuditStore, size1: int, root1: bytes, size2: int, root2: bytes
) -> None:
    if size1 == 0:
        return
    proof = StoredTree(store, size2).consistency_proof(size1)
    try:
        merkle.verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2)
    except merkle.InvalidProof:
        raise LogTampered(
            f"the consistency proof from the checkpoint of size {size1} to "
            f"the log of size {size2} does not verify"
        ) from None
