"""Security events persisted in order, so detectors can replay what happened, and every
process's detection engine sees the events the others stored (``detect.shared``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from zerotrust.core.events import SecurityEvent
from zerotrust.store import schema as t
from zerotrust.store.database import Database

_INSERT_EVENT = "INSERT INTO security_events (id, time, kind, body, origin) VALUES (?, ?, ?, ?, ?)"
_events = t.security_events


class SqlEventSink:
    """An ``EventSink`` appending each event to the ``security_events`` table, marked with
    this process's ``origin``; and ``detect.shared.SharedEvents``, the other processes'
    events in store order."""

    def __init__(self, db: Database, *, origin: str | None = None) -> None:
        self.db = db
        self.origin = origin

    def emit(self, event: SecurityEvent) -> None:
        # One per gateway request: the driver connection; the body as the JSON text the
        # column type stores (and reads back through SQLAlchemy in ``stream``).
        self.emit_many([event])

    def emit_many(self, events: Sequence[SecurityEvent]) -> None:
        """Store ``events`` in one transaction, in order."""
        origin = self.origin
        rows = [(e.id, e.time, e.kind, json.dumps(e.to_dict()), origin) for e in events]
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

    def last_seq(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(_events.c.seq))).scalar() or 0)

    def others_after(
        self, seq: int, also: Sequence[int], *, limit: int
    ) -> list[tuple[int, Mapping[str, Any] | None]]:
        wanted = _events.c.seq > seq
        if also:
            wanted = sa.or_(wanted, _events.c.seq.in_(also))
        # This process's own events come back as bare numbers (the feed needs every
        # number to spot gaps), without their bodies.
        theirs = sa.or_(_events.c.origin.is_(None), _events.c.origin != (self.origin or ""))
        body = sa.case((theirs, _events.c.body), else_=sa.null()).label("body")
        stmt = sa.select(_events.c.seq, body).where(wanted).order_by(_events.c.seq).limit(limit)
        with self.db.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [(row.seq, row.body) for row in rows]
