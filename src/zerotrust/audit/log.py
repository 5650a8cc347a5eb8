"""The tamper-evident audit log: group-committed appends, proofs, signed checkpoints.

``AuditLog`` implements ``zerotrust.core.auditing.AuditRecorder``. ``append`` returns only
once the entry is committed, and raises ``AuditWriteFailed`` when it is not, so the
action that needed auditing fails closed (PCI DSS 10.7.2); an entry is never dropped
silently. Concurrent appenders are batched into one transaction (group commit): the
first caller to take the commit lock writes everything queued so far, the others find
their entries already committed. Sequence numbers come from the stored head, read under
the store's lock, so several processes can append to one database; order never depends
on the wall clock (entries carry the time, but ``seq`` is the order).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from zerotrust.audit import merkle
from zerotrust.audit.checkpoint import Checkpoint, CheckpointSink, NoteSigner, SignedCheckpoint
from zerotrust.audit.entry import AuditEntry, Prepared, decode_entry, prepare, seq_prefix
from zerotrust.audit.interfaces import (
    NODE_STRIDE,
    AppendPlan,
    AuditStore,
    CheckpointRow,
    EntryFilter,
    EntryRow,
    NodeRow,
    TreeHead,
)
from zerotrust.audit.proofs import ConsistencyProof, InclusionProof
from zerotrust.audit.tree import StoredTree
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import Clock, iso_utc
from zerotrust.core.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable

MAX_READ = 1000


class AuditWriteFailed(StoreUnavailable):
    """The audit entry was not written; the action that needed it must not proceed."""

    code = "audit_write_failed"
    message = "The audit log could not be written."


class _Waiter:
    """One append_many call waiting for the commit that carries its entries."""

    __slots__ = ("done", "error", "event", "first_seq", "items")

    def __init__(self, items: list[Prepared]) -> None:
        self.items = items
        self.done = False
        self.error: BaseException | None = None
        self.first_seq = -1
        self.event = threading.Event()

    def finish(self, first_seq: int, error: BaseException | None) -> None:
        self.first_seq, self.error, self.done = first_seq, error, True
        self.event.set()


def plan_append(head: TreeHead, items: Sequence[Prepared]) -> AppendPlan:
    """The rows that append ``items`` after ``head``: pure, so a retried commit is safe."""
    rng = merkle.CompactRange(head.size, head.frontier)
    nodes: list[NodeRow] = []

    def keep(level: int, index: int, h: bytes) -> None:
        nodes.append(NodeRow(level, index, h))

    seqs = range(head.size, head.size + len(items))
    # Prepared.seal and merkle.leaf_hash, inlined: this loop is the append hot path.
    blobs = [b'{"v":1,"seq":%d%s' % (seq, it.tail) for seq, it in zip(seqs, items, strict=True)]
    sha256 = hashlib.sha256
    hashes = [sha256(b"\x00" + blob).digest() for blob in blobs]
    rng.extend(hashes, keep, every=NODE_STRIDE)
    entries = [
        EntryRow(seq, it.ts, it.action, it.actor, it.outcome, blob, lh)
        for seq, it, blob, lh in zip(seqs, items, blobs, hashes, strict=True)
    ]
    return AppendPlan(entries, nodes, TreeHead(rng.size, tuple(rng.hashes)))


class AuditLog:
    """Appends records, serves proofs and issues signed checkpoints."""

    def __init__(
        self,
        store: AuditStore,
        *,
        clock: Clock,
        signer: NoteSigner | None = None,
        exports: Sequence[CheckpointSink] = (),
        checkpoint_interval_s: float = 60.0,
        max_batch: int = 10_000,
    ) -> None:
        self._store = store
        self._clock = clock
        self._signer = signer
        self._exports = tuple(exports)
        self._interval = checkpoint_interval_s
        self._max_batch = max_batch
        self._queue: list[_Waiter] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._checkpoint_lock = threading.Lock()
        self._last_checkpoint: Checkpoint | None = None
        self._closed = False

    # --- writing ------------------------------------------------------------------

    def append(self, record: AuditRecord) -> int:
        """Append ``record`` and return its sequence number once it is committed."""
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[AuditRecord]) -> list[int]:
        """Append ``records`` atomically (all or none), in order; their sequence numbers."""
        if not records:
            return []
        now = self._clock.now()
        time = iso_utc(now)
        try:
            waiter = _Waiter([prepare(r, now, time=time) for r in records])
        except Exception as exc:  # a record that cannot be encoded is not written either
            raise AuditWriteFailed("The audit record could not be encoded.") from exc
        with self._queue_lock:
            if self._closed:
                raise AuditWriteFailed("The audit log is closed.")
            self._queue.append(waiter)
        # Leader/follower group commit: whoever gets the commit lock writes everything
        # queued so far; the others sleep on their own event until a leader has written
        # their entries or hands leadership on.
        while not waiter.done:
            if self._commit_lock.acquire(blocking=False):
                self._lead(waiter)
            else:
                waiter.event.wait()
                waiter.event.clear()
        if waiter.error is not None:
            raise AuditWriteFailed() from waiter.error
        return list(range(waiter.first_seq, waiter.first_seq + len(waiter.items)))

    def _take_batch(self) -> list[_Waiter]:
        with self._queue_lock:
            count, taken = 0, 0
            for w in self._queue:
                if taken and count + len(w.items) > self._max_batch:
                    break
                count += len(w.items)
                taken += 1
            batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    def _lead(self, waiter: _Waiter) -> None:
        """Holding the commit lock: commit batches until ``waiter``'s is written."""
        try:
            while not waiter.done:
                self._commit(self._take_batch())
        finally:
            self._commit_lock.release()
            # The queue may have grown meanwhile: wake its head to lead the next commit.
            with self._queue_lock:
                if self._queue:
                    self._queue[0].event.set()

    def _commit(self, batch: list[_Waiter]) -> None:
        items = [it for w in batch for it in w.items]
        try:
            plan = self._store.append(lambda head: plan_append(head, items))
        except BaseException as exc:  # every failure fails every waiter closed
            for w in batch:
                w.finish(-1, exc)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and the like still propagate, after the waiters
            return
        seq = plan.entries[0].seq
        for w in batch:
            w.finish(seq, None)
            seq += len(w.items)

    def close(self) -> SignedCheckpoint | None:
        """Refuse further appends and sign a final checkpoint if the log grew (clean shutdown)."""
        with self._queue_lock:
            self._closed = True
        with self._commit_lock:  # write what is still queued; nobody may be left waiting
            while self._queue:
                self._commit(self._take_batch())
        if self._signer is None:
            return None
        last = self._last_known_checkpoint()
        if last is not None and last.size == self.size():
            return None
        return self.checkpoint()

    # --- checkpoints --------------------------------------------------------------

    def size(self) -> int:
        return self._store.head().size

    def checkpoint(self) -> SignedCheckpoint:
        """Sign the current head, after proving it consistent with the last checkpoints.

        Refusing to sign an inconsistent head matters: signing over a truncated or
        rewritten log would launder the tampering into a valid-looking checkpoint.
        """
        if self._signer is None:
            raise InvalidInput("No checkpoint signing key is configured.")
        with self._checkpoint_lock:
            head = self._store.head()
            root = merkle.CompactRange(head.size, head.frontier).root()
            tree = StoredTree(self._store, head.size)
            if tree.root() != root:
                raise IntegrityError("The stored tree does not match the log head.")
            for previous in self._previous_checkpoints(self._signer):
                _check_extends(tree, root, previous)
            cp = Checkpoint(
                self._signer.name, head.size, root, round(self._clock.now(), 3), self._signer.kid
            )
            signed = self._signer.sign(cp)
            self._store.save_checkpoint(CheckpointRow(cp.size, cp.root, cp.time, signed.note))
            for export in self._exports:
                export.publish(signed)
            self._last_checkpoint = cp
            return signed

    def maybe_checkpoint(self) -> SignedCheckpoint | None:
        """Sign a checkpoint if the log grew and the interval passed (call periodically)."""
        if self._signer is None:
            return None
        last = self._last_known_checkpoint()
        if last is not None and (
            last.size == self.size() or self._clock.now() - last.time < self._interval
        ):
            return None
        return self.checkpoint()

    def latest_checkpoint(self) -> str | None:
        """The latest signed checkpoint note (what a witness polls), or None."""
        row = self._store.latest_checkpoint()
        return row.note if row is not None else None

    def verifier_key(self) -> str | None:
        """The note verifier key witnesses need (``name+hash+key``)."""
        return self._signer.vkey if self._signer is not None else None

    def _last_known_checkpoint(self) -> Checkpoint | None:
        if self._last_checkpoint is None and self._signer is not None:
            row = self._store.latest_checkpoint()
            if row is not None:
                self._last_checkpoint = self._signer.verifier().open(row.note)
        return self._last_checkpoint

    def _previous_checkpoints(self, signer: NoteSigner) -> list[Checkpoint]:
        verifier = signer.verifier()
        notes = [export.latest() for export in self._exports]
        row = self._store.latest_checkpoint()
        notes.append(row.note if row is not None else None)
        return [verifier.open(note) for note in notes if note is not None]

    # --- proofs -------------------------------------------------------------------

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        """Prove entry ``seq`` is in the tree of ``tree_size`` entries (default: the
        latest checkpoint's size when it covers ``seq``, else the current size)."""
        size = self._proof_size(seq, tree_size)
        row = self._store.get(seq)
        if row is None:
            raise NotFound("No audit entry has that sequence number.")
        tree = StoredTree(self._store, size)
        proof = InclusionProof(
            seq,
            size,
            row.entry,
            merkle.leaf_hash(row.entry),
            tuple(tree.inclusion_proof(seq)),
            tree.root(),
        )
        proof.verify()  # a proof we cannot verify ourselves means storage was altered
        return proof

    def consistency_proof(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        """Prove the tree of ``size2`` entries (default: current) extends that of ``size1``."""
        current = self.size()
        size2 = current if size2 is None else size2
        if not 0 < size1 <= size2 <= current:
            raise InvalidInput("Sizes must satisfy 0 < size1 <= size2 <= the log size.")
        tree = StoredTree(self._store, size2)
        old = StoredTree(self._store, size1)
        proof = ConsistencyProof(
            size1, size2, tuple(tree.consistency_proof(size1)), old.root(), tree.root()
        )
        proof.verify()
        return proof

    def _proof_size(self, seq: int, tree_size: int | None) -> int:
        current = self.size()
        if tree_size is None:
            row = self._store.latest_checkpoint()
            tree_size = row.size if row is not None and seq < row.size else current
        if not 0 <= seq < tree_size <= current:
            raise InvalidInput("Need 0 <= seq < tree_size <= the log size.")
        return tree_size

    # --- reading ------------------------------------------------------------------

    def read(
        self,
        where: EntryFilter | None = None,
        *,
        limit: int = 100,
        reader: str,
        src_ip: str | None = None,
        session_id: str | None = None,
    ) -> list[AuditEntry]:
        """Entries matching ``where``, each checked against its leaf hash and index.

        Reading the audit log is itself audited (``audit.read``) before anything is
        returned; the caller must already have checked the reader's role (policy).
        """
        if not 1 <= limit <= MAX_READ:
            raise InvalidInput(f"limit must be 1-{MAX_READ}.")
        where = where or EntryFilter()
        entries = [checked_entry(row) for row in self._store.query(where, limit=limit)]
        self.append(
            AuditRecord(
                action="audit.read",
                actor=reader,
                outcome="success",
                src_ip=src_ip,
                session_id=session_id,
                details={**_filter_details(where), "returned": len(entries)},
            )
        )
        return entries


def checked_entry(row: EntryRow) -> AuditEntry:
    """Decode a stored row, raising ``IntegrityError`` if it was altered in place."""
    if merkle.leaf_hash(row.entry) != row.leaf_hash or not row.entry.startswith(
        seq_prefix(row.seq)
    ):
        raise IntegrityError(f"Audit entry {row.seq} does not match its leaf hash.")
    entry = decode_entry(row.entry)
    if (entry.action, entry.actor, entry.outcome, entry.time) != (
        row.action,
        row.actor,
        row.outcome,
        iso_utc(row.ts),
    ):
        raise IntegrityError(f"Audit entry {row.seq} does not match its index columns.")
    return entry


def _check_extends(tree: StoredTree, root: bytes, previous: Checkpoint) -> None:
    if previous.size > tree.size:
        raise IntegrityError(
            f"The log has {tree.size} entries but a checkpoint signed {previous.size}."
        )
    if previous.size == 0:
        return
    proof = tree.consistency_proof(previous.size)
    try:
        merkle.verify_consistency(
            size1=previous.size, size2=tree.size, proof=proof, root1=previous.root, root2=root
        )
    except merkle.InvalidProof:
        raise IntegrityError(
            f"The log is not consistent with the checkpoint of size {previous.size}."
        ) from None


def _filter_details(where: EntryFilter) -> dict[str, object]:
    return {
        k: v
        for k, v in (
            ("actor", where.actor),
            ("action", where.action),
            ("outcome", where.outcome),
            ("since", where.since),
            ("until", where.until),
            ("after_seq", where.after_seq),
        )
        if v is not None
    }
