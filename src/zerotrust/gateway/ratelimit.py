"""Rate limits per source address and per principal, shared by every replica.

Counters live in ``Services.counters`` (Redis when configured, else the database), so
three replicas behind one address enforce one limit, not three. Each limit is a fixed
window that starts at its first count (``cap=0``: later counts never extend it), so the
answer's ``Retry-After`` is exactly when the window ends.

A shared increment is a storage round trip, so a replica counts locally and adds one to
the shared counter per ``step`` requests, ``step`` being 2 % of the limit (at most 16,
at least 1): a limit of 600 a minute is then exact to within 11 requests per replica, and
small limits are exact. Once a key is over its limit, the replica refuses it from memory
until the window ends, so a flood costs no storage writes. A counter store that fails
raises ``StoreUnavailable`` and the request fails closed (503), never "unlimited"
(security catalogue I.58). The address limit is checked before any token work.
"""

from __future__ import annotations

import math
import threading
from typing import Final, Literal

from zerotrust.core.clock import Clock
from zerotrust.core.errors import RateLimited
from zerotrust.gateway.config import RateLimit
from zerotrust.identity.interfaces import CounterStore

Scope = Literal["address", "principal"]
PRECISION: Final = 0.02
MAX_STEP: Final = 16
MAX_KEYS: Final = 100_000


class OverLimit(RateLimited):
    """Too many requests from this address or principal in the current window."""

    code = "rate_limited"

    def __init__(self, retry_after_s: int, scope: Scope) -> None:
        super().__init__(retry_after_s)
        self.scope = scope
        self.reason = f"rate_limited_{scope}"


def step_for(limit: RateLimit) -> int:
    """How many requests one shared increment stands for."""
    return max(1, min(MAX_STEP, int(limit.requests * PRECISION)))


class RateLimiter:
    def __init__(
        self,
        counters: CounterStore,
        clock: Clock,
        *,
        per_address: RateLimit,
        per_principal: RateLimit,
    ) -> None:
        self.counters = counters
        self.clock = clock
        self.per_address = per_address
        self.per_principal = per_principal
        self._pending: dict[str, int] = {}  # local requests not yet in the shared count
        self._blocked: dict[str, float] = {}  # key → end of its exhausted window
        self._lock = threading.Lock()

    def check_address(self, address: str) -> None:
        """Count one request from ``address``; raise ``OverLimit`` past the limit."""
        self._hit(f"gw:addr:{address}", self.per_address, "address")

    def check_principal(self, principal_id: str) -> None:
        """Count one request by the principal; raise ``OverLimit`` past the limit."""
        self._hit(f"gw:principal:{principal_id}", self.per_principal, "principal")

    def _hit(self, key: str, limit: RateLimit, scope: Scope) -> None:
        now = self.clock.now()
        step = step_for(limit)
        with self._lock:
            until = self._blocked.get(key)
            if until is not None and now < until:
                raise OverLimit(max(1, math.ceil(until - now)), scope)
            self._blocked.pop(key, None)
            pending = self._pending.get(key, 0) + 1
            if pending < step:
                self._pending[key] = pending
                return
            if len(self._pending) >= MAX_KEYS:
                self._pending.clear()  # bounded memory: at most step - 1 uncounted per key
            self._pending[key] = 0
        count = self.counters.incr(key, ttl_s=limit.window_s, cap=0, now=now)
        if count * step > limit.requests:
            left = max(1.0, self.counters.expires_in(key, now=now))
            with self._lock:
                if len(self._blocked) >= MAX_KEYS:
                    self._blocked.clear()
                self._blocked[key] = now + left
            raise OverLimit(math.ceil(left), scope)
