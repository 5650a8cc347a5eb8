"""An in-memory ``AuditStore`` for unit tests, with failure injection.

It keeps the protocol's promises (one append plan at a time, all-or-nothing writes) so
the log's behaviour is tested without a database; the SQL store has its own tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

from zerotrust.audit.interfaces import (
    AppendPlan,
    CheckpointRow,
    EntryFilter,
    EntryRow,
    NodeRow,
    TreeHead,
)
from zerotrust.core.errors import IntegrityError, StoreUnavailable


class MemoryAuditStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[EntryRow] = []
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.head_row = TreeHead(0, ())
        self.checkpoints: list[CheckpointRow] = []
        self.fail_next: Exception | None = None
        self.commits = 0

    def append(self, plan: Callable[[TreeHead], AppendPlan]) -> AppendPlan:
        with self.lock:
            if self.fail_next is not None:
                exc, self.fail_next = self.fail_next, None
                raise exc
            result = plan(self.head_row)
            self.entries.extend(result.entries)
            for n in result.nodes:
                self.nodes[(n.level, n.idx)] = n.hash
            self.head_row = result.head
            self.commits += 1
            return result

    def head(self) -> TreeHead:
        return self.head_row

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        rows = self.entries[start:end]  # fast path: entries are usually in seq order
        if [e.seq for e in rows] != list(range(start, end)):
            rows = [e for e in self.entries if start <= e.seq < end]
        if len(rows) != end - start:
            raise IntegrityError("gap")
        return [e.leaf_hash for e in sorted(rows)]

    def node_hashes(self, level: int, start: int, end: int) -> list[bytes]:
        try:
            return [self.nodes[(level, i)] for i in range(start, end)]
        except KeyError:
            raise IntegrityError("gap") from None

    def scan(self, *, start: int = 0, batch_size: int = 5000) -> Iterator[Sequence[EntryRow]]:
        rows = sorted(e for e in self.entries if e.seq >= start)
        for i in range(0, len(rows), batch_size):
            yield rows[i : i + batch_size]

    def scan_nodes(
        self, level: int, *, start: int = 0, batch_size: int = 5000
    ) -> Iterator[Sequence[NodeRow]]:
        rows = sorted(
            NodeRow(lv, ix, h) for (lv, ix), h in self.nodes.items() if lv == level and ix >= start
        )
        for i in range(0, len(rows), batch_size):
            yield rows[i : i + batch_size]

    def query(self, where: EntryFilter, *, limit: int) -> Sequence[EntryRow]:
        def ok(e: EntryRow) -> bool:
            return (
                (where.actor is None or e.actor == where.actor)
                and (
                    where.action is None
                    or e.action == where.action
                    or (
                        where.action.endswith(("*", "."))
                        and e.action.startswith(where.action.rstrip("*"))
                    )
                )
                and (where.outcome is None or e.outcome == where.outcome)
                and (where.since is None or e.ts >= where.since)
                and (where.until is None or e.ts < where.until)
                and (where.after_seq is None or e.seq > where.after_seq)
            )

        return [e for e in sorted(self.entries) if ok(e)][:limit]

    def get(self, seq: int) -> EntryRow | None:
        return next((e for e in self.entries if e.seq == seq), None)

    def save_checkpoint(self, checkpoint: CheckpointRow) -> None:
        self.checkpoints.append(checkpoint)

    def latest_checkpoint(self) -> CheckpointRow | None:
        if not self.checkpoints:
            return None
        return max(enumerate(self.checkpoints), key=lambda p: (p[1].size, p[0]))[1]


class BrokenStore(MemoryAuditStore):
    """Every append fails, as when the disk is full or the database is down."""

    def append(self, plan: Callable[[TreeHead], AppendPlan]) -> AppendPlan:
        raise StoreUnavailable("database is locked")
