"""Short-lived caches on the hot path, each with a stated bound (docs/gateway.md, "Caching").

Every request still reads its session, so logout, admin revocation, device revocation and
disabling a principal (each of which revokes sessions) hold on the very next request.
What is cached, and for how long:

* **verified access tokens**, until their own ``exp`` (≤ 5 minutes): a token is immutable,
  so the signature and claims need checking once; expiry is re-checked on every use;
* **principals** (roles), at most ``ttl_s`` ≤ 5 s: a role granted or revoked takes effect
  within that (security catalogue E.38);
* **device records**, at most ``ttl_s``: an approval, quarantine or new posture report
  takes effect within that; the trust level is recomputed from the record on every
  request, so a report going stale is seen at once.

Only positive answers are kept (an active principal, an enrolled device): nothing
negative is remembered, so a new enrolment or a re-enabled account is seen immediately.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, Generic, TypeVar

from zerotrust.core.clock import Clock
from zerotrust.devices.interfaces import DeviceRepo
from zerotrust.devices.models import Device, DeviceStatus, Posture
from zerotrust.identity.interfaces import PrincipalRepo
from zerotrust.identity.keys import IdentityKeys
from zerotrust.identity.models import Principal, PrincipalStatus
from zerotrust.identity.tokens import SigningKeyRepo, TokenIssuer

MAX_ENTRIES: Final = 65_536
K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values kept from ``start`` until ``end`` (by the injected clock), bounded in size."""

    def __init__(self, clock: Clock, *, max_entries: int = MAX_ENTRIES) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        now = self.clock.now()
        with self._lock:
            hit = self._entries.get(key)
        # A clock that stepped back must not stretch an entry's life.
        if hit is not None and hit[0] <= now < hit[1]:
            return hit[2]
        return None

    def put(self, key: K, value: V, *, until: float) -> None:
        now = self.clock.now()
        if until <= now:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # bounded memory; a cold cache costs only lookups
            self._entries[key] = (now, until, value)

    def forget(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def through(
        self, key: K, load: Callable[[], V | None], *, keep: Callable[[V], bool], ttl_s: float
    ) -> V | None:
        """The cached value, or ``load()``'s, kept for ``ttl_s`` if ``keep`` says so."""
        hit = self.get(key)
        if hit is not None:
            return hit
        value = load()
        if value is not None and ttl_s > 0 and keep(value):
            self.put(key, value, until=self.clock.now() + ttl_s)
        else:
            self.forget(key)
        return value


class VerifiedTokens(TokenIssuer):
    """A ``TokenIssuer`` over the same keys that remembers tokens that verified, until
    they expire. Only ``verify`` differs; the gateway never issues tokens."""

    def __init__(
        self,
        *,
        repo: SigningKeyRepo,
        keys: IdentityKeys,
        clock: Clock,
        issuer: str,
        audience: str,
        ttl_s: int = 300,
        alg: str = "EdDSA",
    ) -> None:
        super().__init__(
            repo=repo,
            keys=keys,
            clock=clock,
            issuer=issuer,
            audience=audience,
            ttl_s=ttl_s,
            alg=alg,
        )
        self._verified: TtlCache[bytes, dict[str, Any]] = TtlCache(clock)

    @classmethod
    def like(cls, issuer: TokenIssuer) -> VerifiedTokens:
        return cls(
            repo=issuer.repo,
            keys=issuer.keys,
            clock=issuer.clock,
            issuer=issuer.issuer,
            audience=issuer.audience,
            ttl_s=issuer.ttl_s,
            alg=issuer.alg,
        )

    def verify(self, token: str) -> dict[str, Any]:
        cache = self._verified
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        hit = cache.get(key)
        if hit is not None:
            return dict(hit)
        claims = super().verify(token)
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            cache.put(key, dict(claims), until=float(exp))
        return claims


class CachedPrincipals:
    """A ``PrincipalRepo`` whose ``get`` keeps active principals for ``ttl_s``."""

    def __init__(self, repo: PrincipalRepo, clock: Clock, *, ttl_s: float) -> None:
        self.repo = repo
        self.ttl_s = ttl_s
        self._cache: TtlCache[str, Principal] = TtlCache(clock)

    def get(self, principal_id: str) -> Principal | None:
        return self._cache.through(
            principal_id, lambda: self.repo.get(principal_id), keep=_active, ttl_s=self.ttl_s
        )

    def add(self, principal: Principal, *, granted_by: str) -> None:
        self.repo.add(principal, granted_by=granted_by)

    def by_name(self, name_key: str) -> Principal | None:
        return self.repo.by_name(name_key)

    def list(self, kind: str | None = None) -> Sequence[Principal]:
        return self.repo.list(kind)

    def set_status(self, principal_id: str, status: PrincipalStatus) -> None:
        self.repo.set_status(principal_id, status)
        self._cache.forget(principal_id)

    def grant_role(self, principal_id: str, role: str, *, granted_by: str, now: float) -> None:
        self.repo.grant_role(principal_id, role, granted_by=granted_by, now=now)
        self._cache.forget(principal_id)

    def revoke_role(self, principal_id: str, role: str) -> None:
        self.repo.revoke_role(principal_id, role)
        self._cache.forget(principal_id)


class CachedDevices:
    """A ``DeviceRepo`` whose ``by_jkt`` keeps enrolled devices for ``ttl_s``."""

    def __init__(self, repo: DeviceRepo, clock: Clock, *, ttl_s: float) -> None:
        self.repo = repo
        self.ttl_s = ttl_s
        self._cache: TtlCache[str, Device] = TtlCache(clock)

    def by_jkt(self, jkt: str) -> Device | None:
        return self._cache.through(
            jkt, lambda: self.repo.by_jkt(jkt), keep=lambda _: True, ttl_s=self.ttl_s
        )

    def add(self, device: Device) -> None:
        self.repo.add(device)

    def get(self, device_id: str) -> Device | None:
        return self.repo.get(device_id)

    def list(self, owner_id: str | None = None) -> Sequence[Device]:
        return self.repo.list(owner_id)

    def set_status(
        self, device_id: str, status: DeviceStatus, *, approved_by: str | None = None
    ) -> None:
        self.repo.set_status(device_id, status, approved_by=approved_by)
        self._cache.clear()  # keyed by jkt, so the changed device cannot be singled out

    def set_posture(self, device_id: str, posture: Posture, *, received_at: float) -> None:
        self.repo.set_posture(device_id, posture, received_at=received_at)
        self._cache.clear()


def _active(principal: Principal) -> bool:
    return principal.active
