"""Security events persisted in order, so detectors can replay what happened."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from zerotrust.core.events import SecurityEvent
from zerotrust.store import schema as t
from zerotrust.store.database import Database


class SqlEventSink:
    """An ``EventSink`` appending each event to the ``security_events`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def emit(self, event: SecurityEvent) -> None:
        self.db.run(
            lambda c: c.execute(
                t.security_events.insert().values(
                    id=event.id, time=event.time, kind=event.kind, body=event.to_dict()
                )
            )
        )

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
