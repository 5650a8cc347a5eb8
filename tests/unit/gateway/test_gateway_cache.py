"""Short-lived caches: positive answers only, bounded in time, sessions never cached."""

from __future__ import annotations

import pytest

from tests.support.identity import make_user
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.jwt import TokenInvalid
from zerotrust.gateway.cache import CachedDevices, CachedPrincipals, TtlCache, VerifiedTokens
from zerotrust.identity.models import ClientInfo
from zerotrust.service import Services


def test_entries_expire_and_a_clock_stepping_back_does_not_revive_them() -> None:
    clock = FixedClock(1000.0)
    cache: TtlCache[str, int] = TtlCache(clock, max_entries=2)
    cache.put("a", 1, until=1005.0)
    assert cache.get("a") == 1
    clock.advance(5)
    assert cache.get("a") is None
    cache.put("b", 2, until=1100.0)
    clock.t = 900.0  # stepped back before the entry was made
    assert cache.get("b") is None
    clock.t = 1006.0
    cache.put("c", 3, until=1100.0)
    cache.put("d", 4, until=1100.0)  # over the bound: the cache starts again
    assert cache.get("b") is None
    assert cache.get("d") == 4


def test_principals_are_cached_briefly_and_only_when_active(
    svc: Services, clock: FixedClock
) -> None:
    user = make_user(svc, "rita", roles=("fraud_analyst",))
    cached = CachedPrincipals(svc.principals, clock, ttl_s=5)
    assert cached.get(user.principal.id).roles == ("fraud_analyst",)  # type: ignore[union-attr]
    svc.principals.revoke_role(user.principal.id, "fraud_analyst")  # behind the cache's back
    assert cached.get(user.principal.id).roles == ("fraud_analyst",)  # type: ignore[union-attr]
    clock.advance(5)
    assert cached.get(user.principal.id).roles == ()  # type: ignore[union-attr]
    svc.principals.set_status(user.principal.id, "disabled")
    clock.advance(5)
    assert cached.get(user.principal.id).active is False  # type: ignore[union-attr]
    svc.principals.set_status(user.principal.id, "active")
    assert cached.get(user.principal.id).active is True  # type: ignore[union-attr]  # not cached
    assert cached.get("usr_missing") is None


def test_a_zero_ttl_caches_nothing(svc: Services, clock: FixedClock) -> None:
    user = make_user(svc, "sam", roles=("fraud_analyst",))
    cached = CachedPrincipals(svc.principals, clock, ttl_s=0)
    cached.get(user.principal.id)
    svc.principals.revoke_role(user.principal.id, "fraud_analyst")
    assert cached.get(user.principal.id).roles == ()  # type: ignore[union-attr]


def test_device_records_are_cached_briefly(svc: Services, clock: FixedClock) -> None:
    from tests.support.gateway import enrolled_device

    user = make_user(svc, "dora")
    key = enrolled_device(svc, user.principal)
    cached = CachedDevices(svc.devices.repo, clock, ttl_s=5)
    assert cached.by_jkt(key.jkt).status == "active"  # type: ignore[union-attr]
    device = svc.devices.repo.by_jkt(key.jkt)
    svc.devices.quarantine(device.id, actor="admin")  # type: ignore[union-attr]
    assert cached.by_jkt(key.jkt).status == "active"  # type: ignore[union-attr]
    clock.advance(5)
    assert cached.by_jkt(key.jkt).status == "quarantined"  # type: ignore[union-attr]
    assert cached.by_jkt("unknown") is None


def test_verified_tokens_are_remembered_until_they_expire(svc: Services, clock: FixedClock) -> None:
    user = make_user(svc, "tom")
    tokens = svc.sessions.open(
        user.principal, aal=2, amr=("pwd", "otp"), client=ClientInfo(jkt="jkt")
    )
    verified = VerifiedTokens.like(svc.tokens)
    claims = verified.verify(tokens.access_token)
    claims["sub"] = "tampered"  # callers get copies
    assert verified.verify(tokens.access_token)["sub"] == user.principal.id
    with pytest.raises(TokenInvalid):
        verified.verify(tokens.access_token[:-4] + "AAAA")
    clock.advance(svc.settings.access_token_ttl_s)
    with pytest.raises(TokenInvalid) as err:
        verified.verify(tokens.access_token)
    assert err.value.reason == "expired"
