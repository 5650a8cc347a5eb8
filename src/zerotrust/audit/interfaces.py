"""The storage protocol the audit log needs; ``zerotrust.store.audit_log`` implements it.

Storage is untrusted by design: the log writes through it, but a verifier recomputes
every hash from the stored entries and checks the result against a checkpoint signed
and kept outside the database. What a store must guarantee is atomicity (a batch of
entries, the tree nodes they complete and the new head land together or not at all)
and serialisation (``append`` runs one plan at a time across every process, with the
head read under the lock), because sequence numbers come from the head.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

# Interior nodes are stored at every level that is a multiple of this stride (8: one
# stored node per 256 leaves, like C2SP tlog-tiles), so any node costs at most one
# range read of 2^7 stored hashes and the node table stays under 0.4% of the entries.
NODE_STRIDE = 8


class EntryRow(NamedTuple):
    """One stored entry: the canonical bytes, their leaf hash, and indexed copies of fields.

    ``ts``, ``action``, ``actor`` and ``outcome`` exist only so reads can filter; they
    are checked against ``entry`` on every read and by the verifier. (A named tuple, in
    table column order: a million of them are built per second of appending.)
    """

    seq: int
    ts: float
    action: str
    actor: str
    outcome: str
    entry: bytes
    leaf_hash: bytes


class NodeRow(NamedTuple):
    """The hash of a perfect subtree: leaves ``[idx << level, (idx + 1) << level)``."""

    level: int
    idx: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The log's size and its right border (the compact range), which give the root."""

    size: int
    frontier: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class AppendPlan:
    """Everything one group commit writes, computed from the head it was planned on."""

    entries: Sequence[EntryRow]
    nodes: Sequence[NodeRow]
    head: TreeHead


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """A signed tree head as issued (the note text is what witnesses verify)."""

    size: int
    root: bytes
    time: float
    note: str


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which entries ``query`` returns; every field narrows, ``None`` means any."""

    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." or "*" ("auth.*")
    outcome: str | None = None
    since: float | None = None  # ts >= since
    until: float | None = None  # ts < until
    after_seq: int | None = None  # seq > after_seq (keyset pagination)


class AuditStore(Protocol):
    def append(self, plan: Callable[[TreeHead], AppendPlan]) -> AppendPlan:
        """In one transaction, under a lock that serialises appenders: read the head, call
        ``plan`` with it, write what it returns and commit. ``plan`` is pure and may be
        called again if the transaction is retried. Any failure raises."""

    def head(self) -> TreeHead: ...

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Stored leaf hashes for seq ``[start, end)`` in order; ``IntegrityError`` on a gap."""

    def node_hashes(self, level: int, start: int, end: int) -> list[bytes]:
        """Stored node hashes at ``level`` for indices ``[start, end)``; ``IntegrityError``
        on a gap."""

    def scan(self, *, start: int = 0, batch_size: int = 5000) -> Iterator[Sequence[EntryRow]]:
        """Every entry with seq >= ``start`` in seq order, a batch at a time (flat memory)."""

    def scan_nodes(
        self, level: int, *, start: int = 0, batch_size: int = 5000
    ) -> Iterator[Sequence[NodeRow]]:
        """Every stored node at ``level`` with idx >= ``start``, in order, in batches."""

    def query(self, where: EntryFilter, *, limit: int) -> Sequence[EntryRow]:
        """Up to ``limit`` entries matching ``where``, in seq order."""

    def get(self, seq: int) -> EntryRow | None: ...

    def save_checkpoint(self, checkpoint: CheckpointRow) -> None: ...

    def latest_checkpoint(self) -> CheckpointRow | None:
        """The checkpoint with the largest size (the latest issued among equals)."""
