"""Alerts in the database (``detect.alerts.AlertStore``), shared by every process.

The gateway's detection engine raises alerts on access events, the control plane's on
sign-ins; the console and ``/v1/alerts`` read them all from here, every process's risk
scores count them (``detect.risk.AlertFeed``), and they survive a restart. A state
change is conditional on the state it was read in, so two analysts resolving one alert
at once cannot both win.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from zerotrust.detect.alerts import Alert, AlertState
from zerotrust.store.database import Database
from zerotrust.store.schema import metadata

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("detector", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("principal", sa.String(256)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the alert as JSON
)
sa.Index("ix_alerts_ts", alerts.c.ts)
sa.Index("ix_alerts_state_ts", alerts.c.state, alerts.c.ts)

# Which process's engine raises an incident's alert (``detect.shared.AlertClaims``): one
# row per detector and claim key, held until the claim ends (``Finding.claim``).
detection_claims = sa.Table(
    "detection_claims",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of detector and key
    sa.Column("until", sa.Float, nullable=False),
    sa.Column("alert_id", sa.String(64), nullable=False),
)

# One statement, atomic on both databases: a new row, or an expired claim taken over.
_CLAIM = sa.text(
    "INSERT INTO detection_claims (id, until, alert_id) VALUES (:id, :until, :alert_id) "
    "ON CONFLICT (id) DO UPDATE SET until = excluded.until, alert_id = excluded.alert_id "
    "WHERE detection_claims.until <= :now"
)
# Claims this far past their end are deleted, at most once an hour of event time.
CLAIM_RETENTION_S = 86_400.0
PRUNE_EVERY_S = 3600.0


def _body(alert: Alert) -> str:
    data = alert.to_dict()
    data["ts"] = alert.ts
    return json.dumps(data, separators=(",", ":"))


def _alert(body: str, state: str) -> Alert:
    data: dict[str, Any] = json.loads(body)
    data.pop("time", None)
    data["event_ids"] = tuple(data.get("event_ids", ()))
    data["sources"] = tuple(data.get("sources", ()))
    data["state"] = state
    return Alert(**data)


class SqlAlerts:
    """``AlertStore`` on SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, alert: Alert) -> None:
        row = {
            "id": alert.id,
            "ts": alert.ts,
            "detector": alert.detector,
            "severity": alert.severity,
            "principal": alert.principal,
            "state": alert.state,
            "body": _body(alert),
        }
        # The same alert again (its id is derived from what raised it): keep the first.
        with contextlib.suppress(SAIntegrityError):
            self.db.run(lambda c: c.execute(alerts.insert().values(**row)))

    def get(self, alert_id: str) -> Alert | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(alerts.c.body, alerts.c.state).where(alerts.c.id == alert_id)
            ).first()
        return None if row is None else _alert(row.body, row.state)

    def after(self, ts: float, alert_id: str, *, limit: int) -> list[Alert]:
        later = sa.or_(alerts.c.ts > ts, sa.and_(alerts.c.ts == ts, alerts.c.id > alert_id))
        stmt = (
            sa.select(alerts.c.body, alerts.c.state)
            .where(later)
            .order_by(alerts.c.ts, alerts.c.id)
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [_alert(r.body, r.state) for r in rows]

    def list(self, *, state: AlertState | None = None, limit: int = 10_000) -> list[Alert]:
        stmt = sa.select(alerts.c.body, alerts.c.state).order_by(alerts.c.ts.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(alerts.c.state == state)
        with self.db.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [_alert(r.body, r.state) for r in reversed(rows)]

    def set_state(self, alert_id: str, *, was: AlertState, to: AlertState) -> bool:
        result = self.db.run(
            lambda c: c.execute(
                alerts.update()
                .where(alerts.c.id == alert_id, alerts.c.state == was)
                .values(state=to)
            )
        )
        return bool(result.rowcount == 1)


class SqlAlertClaims:
    """``AlertClaims`` on SQLite or PostgreSQL, shared by every process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._next_prune = float("-inf")

    def claim(self, detector: str, key: str, *, now: float, until: float, alert_id: str) -> bool:
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            self.prune(now)
        claim_id = hashlib.sha256(f"{detector}|{key}".encode()).hexdigest()
        params = {"id": claim_id, "until": until, "alert_id": alert_id, "now": now}
        result = self.db.run(lambda c: c.execute(_CLAIM, params))
        return bool(result.rowcount == 1)

    def prune(self, now: float) -> int:
        """Delete the claims that ended over a day before ``now``; how many."""
        horizon = now - CLAIM_RETENTION_S
        result = self.db.run(
            lambda c: c.execute(detection_claims.delete().where(detection_claims.c.until < horizon))
        )
        return int(result.rowcount or 0)
