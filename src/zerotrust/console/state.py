"""How often one address may start a console ceremony, counted across every replica.

The ceremonies themselves wait in the database (``identity.ceremonies``), so any
control-plane replica can continue one another started.
"""

from __future__ import annotations

import math
from typing import Final

from zerotrust.core.clock import Clock
from zerotrust.core.errors import RateLimited
from zerotrust.identity.interfaces import CounterStore

KEY_PREFIX: Final = "console_start:"


class SourceLimiter:
    """At most ``limit`` ceremony starts per source address in a ``window_s`` window.

    Starting a sign-in stores a WebAuthn challenge and needs no secret, so an address
    could otherwise fill the challenge and ceremony tables; the lockout counts failures,
    not starts. The counters are the product's shared ones (Redis or SQL), so the limit
    holds for the address whichever replica it reaches.
    """

    def __init__(
        self, counters: CounterStore, clock: Clock, *, limit: int = 30, window_s: float = 300.0
    ) -> None:
        self._counters = counters
        self._clock = clock
        self._limit = limit
        self._window = window_s

    def check(self, source: str | None) -> None:
        """Count one start; ``RateLimited`` past the limit."""
        now = self._clock.now()
        key = KEY_PREFIX + (source or "unknown")
        # cap=0: the window starts at the first start and does not slide with the others.
        if self._counters.incr(key, ttl_s=self._window, cap=0, now=now) > self._limit:
            left = self._counters.expires_in(key, now=now)
            raise RateLimited(max(1, math.ceil(left)))
