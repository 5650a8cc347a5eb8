"""Rate limits per address and per principal, through the shared counter store."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import StoreUnavailable
from zerotrust.gateway.config import RateLimit
from zerotrust.gateway.ratelimit import OverLimit, RateLimiter, step_for
from zerotrust.service import Services


def limiter(svc: Services, clock: FixedClock) -> RateLimiter:
    return RateLimiter(
        svc.counters, clock, per_address=RateLimit(3, 60), per_principal=RateLimit(2, 10)
    )


def test_the_address_limit_is_a_fixed_window(svc: Services, clock: FixedClock) -> None:
    limits = limiter(svc, clock)
    for _ in range(3):
        limits.check_address("203.0.113.9")
    clock.advance(20)  # activity inside the window does not extend it
    with pytest.raises(OverLimit) as err:
        limits.check_address("203.0.113.9")
    assert (err.value.scope, err.value.retry_after_s, err.value.code) == (
        "address",
        40,
        "rate_limited",
    )
    limits.check_address("198.51.100.1")  # another address has its own count
    clock.advance(41)
    limits.check_address("203.0.113.9")  # a new window


def test_the_principal_limit(svc: Services, clock: FixedClock) -> None:
    limits = limiter(svc, clock)
    limits.check_principal("usr_1")
    limits.check_principal("usr_1")
    with pytest.raises(OverLimit) as err:
        limits.check_principal("usr_1")
    assert err.value.reason == "rate_limited_principal"
    assert 1 <= err.value.retry_after_s <= 10


def test_a_counter_store_that_fails_is_not_unlimited(clock: FixedClock) -> None:
    class Down:
        def incr(self, key: str, *, ttl_s: float, cap: int, now: float) -> int:
            raise StoreUnavailable

        def expires_in(self, key: str, *, now: float) -> float:
            raise StoreUnavailable

    limits = RateLimiter(
        Down(),  # type: ignore[arg-type]
        clock,
        per_address=RateLimit(3, 60),
        per_principal=RateLimit(2, 10),
    )
    with pytest.raises(StoreUnavailable):
        limits.check_address("203.0.113.9")


def test_large_limits_share_counts_in_steps_and_stay_within_two_percent(
    svc: Services, clock: FixedClock
) -> None:
    limit = RateLimit(500, 60)
    assert step_for(limit) == 10
    replicas = [
        RateLimiter(svc.counters, clock, per_address=limit, per_principal=limit) for _ in range(2)
    ]
    allowed = _until_refused(lambda i: replicas[i % 2].check_principal("usr_busy"))
    assert 500 <= allowed <= 500 + 2 * (step_for(limit) - 1)  # two replicas, one count
    # Past the limit, a replica refuses from memory until the window ends.
    incr = svc.counters.incr
    calls = []
    svc.counters.incr = lambda *a, **k: calls.append(1) or incr(*a, **k)  # type: ignore[method-assign]
    for replica in replicas:
        assert _until_refused(lambda _, r=replica: r.check_principal("usr_busy")) < step_for(limit)
    assert len(calls) <= 1
    clock.advance(61)
    replicas[0].check_principal("usr_busy")


def test_small_limits_are_exact() -> None:
    assert step_for(RateLimit(3, 60)) == 1
    assert step_for(RateLimit(49, 60)) == 1
    assert step_for(RateLimit(10**9, 60)) == 16


def _until_refused(hit: Callable[[int], None]) -> int:
    """How many hits pass before the first ``OverLimit``."""
    for i in range(10_000):
        try:
            hit(i)
        except OverLimit:
            return i
    raise AssertionError("never limited")
