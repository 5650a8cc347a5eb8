"""Lockout and throttling (PCI DSS 8.3.4, NIST SP 800-63B §5.2.2).

Per account and factor: ten consecutive failures lock that factor for thirty minutes.
An attempt *reserves* its slot by incrementing the counter before the secret is checked,
so fifty parallel guesses evaluate at most ten; a success resets the counter.
Per source address: failures are counted too, and past a limit the source is throttled
(429) without locking the accounts it is guessing at (credential stuffing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zerotrust.core.clock import Clock
from zerotrust.core.errors import RateLimited
from zerotrust.identity.interfaces import CounterStore

Factor = Literal["password", "totp", "webauthn", "recovery"]
FACTORS: tuple[Factor, ...] = ("password", "totp", "webauthn", "recovery")


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: whether it may be evaluated, and the count it took."""

    allowed: bool
    count: int
    locks_now: bool  # this failure, if it fails, is the one that locks


class LoginGuard:
    """Owns the counters; the authentication service asks it before every check."""

    def __init__(
        self,
        counters: CounterStore,
        clock: Clock,
        *,
        threshold: int = 10,
        lock_s: int = 30 * 60,
        ip_limit: int = 50,
        ip_window_s: int = 15 * 60,
    ) -> None:
        self.counters = counters
        self.clock = clock
        self.threshold = threshold
        self.lock_s = lock_s
        self.ip_limit = ip_limit
        self.ip_window_s = ip_window_s

    @staticmethod
    def _key(factor: Factor, account_key: str) -> str:
        return f"lock:{factor}:{account_key}"

    def check_source(self, src_ip: str | None) -> None:
        """Raise ``RateLimited`` when this source has failed too often recently."""
        if not src_ip:
            return
        key = f"ip:{src_ip}"
        now = self.clock.now()
        if self.counters.get(key, now=now) >= self.ip_limit:
            raise RateLimited(max(1, int(self.counters.expires_in(key, now=now))))

    def reserve(self, factor: Factor, account_key: str) -> Attempt:
        """Count this attempt before checking the secret; beyond the threshold it is refused."""
        n = self.counters.incr(
            self._key(factor, account_key),
            ttl_s=self.lock_s,
            cap=self.threshold,
            now=self.clock.now(),
        )
        return Attempt(allowed=n <= self.threshold, count=n, locks_now=n == self.threshold)

    def succeeded(self, factor: Factor, account_key: str) -> None:
        self.counters.reset(self._key(factor, account_key))

    def failed_from(self, src_ip: str | None) -> None:
        if src_ip:
            self.counters.incr(
                f"ip:{src_ip}", ttl_s=self.ip_window_s, cap=self.ip_limit, now=self.clock.now()
            )

    def is_locked(self, factor: Factor, account_key: str) -> bool:
        return (
            self.counters.get(self._key(factor, account_key), now=self.clock.now())
            >= self.threshold
        )

    def unlock(self, account_key: str) -> None:
        for factor in FACTORS:
            self.counters.reset(self._key(factor, account_key))

    def _saturate(self, key: str, *, cap: int, seconds: float) -> None:
        """Set ``key`` to its cap, expiring in ``seconds`` (counting from zero)."""
        self.counters.reset(key)
        now = self.clock.now()
        for _ in range(cap + 1):
            if self.counters.incr(key, ttl_s=seconds, cap=cap, now=now) >= cap:
                return

    def lock(self, account_key: str, *, seconds: float) -> None:
        """Lock every factor of an account now (an automated response), as ten failures
        would; it unlocks by itself after ``seconds`` or by ``unlock``."""
        for factor in FACTORS:
            self._saturate(self._key(factor, account_key), cap=self.threshold, seconds=seconds)

    def block_source(self, src_ip: str, *, seconds: float) -> None:
        """Refuse logins from an address for ``seconds`` (429), as if it had failed too often."""
        self._saturate(f"ip:{src_ip}", cap=self.ip_limit, seconds=seconds)

    def unblock_source(self, src_ip: str) -> None:
        """Undo ``block_source`` (an admin's decision)."""
        self.counters.reset(f"ip:{src_ip}")
