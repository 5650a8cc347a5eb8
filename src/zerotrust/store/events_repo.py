"""Security events persisted in order, so detectors can replay what happened."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from zerotrust.core.events import SecurityEvent
from zerotrust.store import schema as t
from zerotrust.store.database import Database

_INSERT_EVENT = "INSERT INTO security_events (id, time, kind, body) VALUES (?, ?, ?, ?)"


class SqlEventSink:
    """An ``EventSink`` appending each event to the ``security_events`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def emit(self, event: SecurityEvent) -> None:
        # One per gateway request: the driver connection; the body as the JSON text the
        # column type stores (and reads back through SQLAlchemy in ``stream``).
        self.emit_many([event])

    def emit_many(self, events: Sequence[SecurityEvent]) -> None:
        """Store ``events`` in one transaction, in order."""
        rows = [(e.id, e.time, e.kind, json.dumps(e.to_dict())) for e in events]
        with self.db.driver(write=True) as conn:
            conn.executemany(_INSERT_EVENT, rows)

    def stream(self, *, after_seq: int = 0, batch: int = 1000) -> Iterator[dict[str, object]]:
        """Every stored event in order, read in batches (memory stays flat)."""
        last = after_seq
        while True:
            with self.db.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(t.security_events.c.seq, t.security_events.c.body)
                    .where(t.security_events.c.seq > last)
                    .order_by(t.security_events.c.seq)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield dict(row.body)
            last = rows[-1].seq
