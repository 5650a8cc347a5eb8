"""Risk scores per principal and per session: 0 to 100, decaying, fed back to the PDP.

Each alert adds points by severity to its principal and session; the score halves every
``half_life_s`` seconds without new findings, so a burst of suspicion fades on its own and
a clean principal returns to low. The gateway reads ``score(principal, now)`` and passes
it to the policy engine as ``context.risk``; policies decide what each level allows (for
example, step-up at medium, deny payouts at high).

Every process scores by every process's alerts: the engine records its own at once, and
``AlertFeed`` adds the ones other processes stored (the control plane's sign-in alerts at
the gateway, one gateway replica's at another) at each upkeep. An alert counts once,
whichever way it arrives.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Final, Literal, NamedTuple

from zerotrust.detect.alerts import Alert, AlertStore
from zerotrust.detect.config import RiskConfig

# How far back a starting process reads stored alerts: after six half-lives an alert
# keeps under 2 % of its points.
LOOKBACK_HALF_LIVES: Final = 6
# Alerts are ordered by event time, and another process may store one a little after a
# later one was read (its event thread batches; clocks differ slightly): each read goes
# back this far and skips what it has counted.
FEED_OVERLAP_S: Final = 120.0

RiskLevel = Literal["low", "medium", "high"]


class Risk(NamedTuple):
    """A score and its level; unpacks as ``score, level = risk``."""

    score: int
    level: RiskLevel


class RiskScores:
    """Decaying scores, safe to read from many request threads while alerts arrive."""

    def __init__(self, config: RiskConfig | None = None, *, capacity: int = 100_000) -> None:
        self.config = config or RiskConfig()
        self.capacity = capacity
        self._decay = math.log(2) / self.config.half_life_s
        self._scores: dict[str, tuple[float, float]] = {}  # key → (value, as of ts)
        self._counted: OrderedDict[str, None] = OrderedDict()  # alert ids, newest last
        self._lock = threading.Lock()

    def score(self, principal: str, now: float) -> Risk:
        """The principal's risk at ``now``."""
        return self._risk(self._value(f"p:{principal.casefold()}", now))

    def session_score(self, session_id: str, now: float) -> Risk:
        """The session's risk at ``now``."""
        return self._risk(self._value(f"s:{session_id}", now))

    def record(self, alert: Alert) -> bool:
        """Add an alert's points to its principal and session; False if this alert was
        counted already (it arrives from this process's engine and from the store)."""
        with self._lock:
            if alert.id in self._counted:
                return False
            self._counted[alert.id] = None
            if len(self._counted) > self.capacity:
                self._counted.popitem(last=False)
        points = self.config.points.get(alert.severity, 0.0)
        if alert.principal:
            self._add(f"p:{alert.principal.casefold()}", points, alert.ts)
        if alert.session_id:
            self._add(f"s:{alert.session_id}", points, alert.ts)
        return True

    def forget(self, now: float) -> None:
        """Drop scores that have decayed below one point."""
        with self._lock:
            for key in [k for k in self._scores if self._value_locked(k, now) < 1.0]:
                del self._scores[key]

    def _add(self, key: str, points: float, ts: float) -> None:
        with self._lock:
            value = min(100.0, self._value_locked(key, ts) + points)
            self._scores[key] = (value, ts)
            if len(self._scores) > self.capacity:
                del self._scores[next(iter(self._scores))]

    def _value(self, key: str, now: float) -> float:
        with self._lock:
            return self._value_locked(key, now)

    def _value_locked(self, key: str, now: float) -> float:
        value, ts = self._scores.get(key, (0.0, now))
        return value * math.exp(-self._decay * max(0.0, now - ts))

    def _risk(self, value: float) -> Risk:
        score = round(value)
        level: RiskLevel = (
            "high"
            if score >= self.config.high_at
            else "medium"
            if score >= self.config.medium_at
            else "low"
        )
        return Risk(score, level)


class AlertFeed:
    """Stored alerts into this process's ``RiskScores``: whichever process raised an alert
    — the control plane on a sign-in, another gateway replica on an access — it weighs on
    this process's next decisions from the next ``pull`` (each upkeep, every 2 s)."""

    def __init__(
        self, store: AlertStore, risk: RiskScores, *, now: float, batch: int = 1000
    ) -> None:
        self.store = store
        self.risk = risk
        self.batch = batch
        # A starting process picks up what still weighs: a restart forgets no risk.
        self._until = (now - LOOKBACK_HALF_LIVES * risk.config.half_life_s, "")

    def pull(self) -> int:
        """Count the alerts stored since the last pull; how many were new here."""
        ts, _ = self._until
        after, added = (ts - FEED_OVERLAP_S, ""), 0
        while True:
            page = self.store.after(*after, limit=self.batch)
            for alert in page:
                added += self.risk.record(alert)
            if page:
                after = (page[-1].ts, page[-1].id)
                self._until = max(self._until, after)
            if len(page) < self.batch:
                return added
