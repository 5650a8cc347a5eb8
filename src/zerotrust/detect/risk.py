"""Risk scores per principal and per session: 0 to 100, decaying, fed back to the PDP.

Each alert adds points by severity to its principal and session; the score halves every
``half_life_s`` seconds without new findings, so a burst of suspicion fades on its own and
a clean principal returns to low. The gateway reads ``score(principal, now)`` and passes
it to the policy engine as ``context.risk``; policies decide what each level allows (for
example, step-up at medium, deny payouts at high).
"""

from __future__ import annotations

import math
import threading
from typing import Literal, NamedTuple

from zerotrust.detect.alerts import Alert
from zerotrust.detect.config import RiskConfig

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
        self._lock = threading.Lock()

    def score(self, principal: str, now: float) -> Risk:
        """The principal's risk at ``now``."""
        return self._risk(self._value(f"p:{principal.casefold()}", now))

    def session_score(self, session_id: str, now: float) -> Risk:
        """The session's risk at ``now``."""
        return self._risk(self._value(f"s:{session_id}", now))

    def record(self, alert: Alert) -> None:
        """Add an alert's points to its principal and session."""
        points = self.config.points.get(alert.severity, 0.0)
        if alert.principal:
            self._add(f"p:{alert.principal.casefold()}", points, alert.ts)
        if alert.session_id:
            self._add(f"s:{alert.session_id}", points, alert.ts)

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
