"""Storage protocols identity depends on; ``zerotrust.store`` implements them.

Every method that guards a secret's single use (TOTP step, recovery code, challenge,
refresh token) is atomic in the implementation, so concurrent submissions cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from zerotrust.identity.models import (
    Challenge,
    LoginAttempt,
    Principal,
    PrincipalStatus,
    RefreshToken,
    Session,
    TotpRecord,
    WebAuthnCredential,
)


class PrincipalRepo(Protocol):
    def add(self, principal: Principal, *, granted_by: str) -> None:
        """Insert; raises ``Conflict`` if the name key is taken."""

    def get(self, principal_id: str) -> Principal | None: ...

    def by_name(self, name_key: str) -> Principal | None: ...

    def list(self, kind: str | None = None) -> Sequence[Principal]: ...

    def set_status(self, principal_id: str, status: PrincipalStatus) -> None: ...

    def grant_role(self, principal_id: str, role: str, *, granted_by: str, now: float) -> None: ...

    def revoke_role(self, principal_id: str, role: str) -> None: ...


class PasswordRepo(Protocol):
    def get_hash(self, principal_id: str) -> str | None: ...

    def set_hash(self, principal_id: str, password_hash: str, *, now: float) -> None: ...


class TotpRepo(Protocol):
    def get(self, principal_id: str) -> TotpRecord | None: ...

    def put(self, record: TotpRecord, *, now: float) -> None:
        """Insert or replace the principal's enrolment."""

    def activate(self, principal_id: str) -> None: ...

    def delete(self, principal_id: str) -> None: ...

    def consume_step(self, principal_id: str, step: int) -> bool:
        """Atomically record ``step`` as used if it is newer than the last used step.

        Returns False when that step (or a later one) was already used: a replay.
        """


class WebAuthnCredentialRepo(Protocol):
    def add(self, credential: WebAuthnCredential) -> None:
        """Insert; raises ``Conflict`` if the credential id is registered (to anyone)."""

    def get(self, credential_id: str) -> WebAuthnCredential | None: ...

    def for_principal(self, principal_id: str) -> Sequence[WebAuthnCredential]: ...

    def update_sign_count(
        self, credential_id: str, *, expected_old: int, new: int, now: float
    ) -> bool:
        """Compare-and-set the counter; False when another use raced ahead."""

    def delete_for_principal(self, principal_id: str) -> None: ...


class ChallengeStore(Protocol):
    def put(self, challenge: Challenge) -> None: ...

    def take(self, digest: str) -> Challenge | None:
        """Remove and return the challenge (single use); None if absent."""


class RecoveryCodeRepo(Protocol):
    def replace(self, principal_id: str, code_hashes: Sequence[str]) -> None: ...

    def hashes(self, principal_id: str) -> Sequence[str]:
        """The unused code hashes."""

    def consume(self, principal_id: str, code_hash: str, *, now: float) -> bool:
        """Atomically mark one unused code as used; False if it was not unused."""

    def delete_for_principal(self, principal_id: str) -> None: ...


class LoginAttemptRepo(Protocol):
    def put(self, attempt: LoginAttempt) -> None: ...

    def get(self, token_hash: str) -> LoginAttempt | None: ...

    def delete(self, token_hash: str) -> bool:
        """Remove; True if this call removed it (single use)."""


class SessionRepo(Protocol):
    def add(self, session: Session) -> None: ...

    def get(self, session_id: str) -> Session | None: ...

    def touch(self, session_id: str, *, now: float) -> None: ...

    def revoke(self, session_id: str, *, now: float, reason: str) -> bool: ...

    def revoke_for_principal(self, principal_id: str, *, now: float, reason: str) -> int: ...

    def restore_for_principal(
        self, principal_id: str, *, reason: str, since: float, until: float
    ) -> Sequence[str]:
        """Clear the revocation of the principal's sessions revoked for ``reason`` within
        [``since``, ``until``]; the ids of those restored."""

    def for_principal(self, principal_id: str) -> Sequence[Session]: ...

    def add_refresh(self, token: RefreshToken) -> None: ...

    def use_refresh(self, token_hash: str, *, now: float) -> RefreshToken | None:
        """Atomically mark the token used. Returns the token as it was before this call
        (so ``used_at`` set means it had been used already: a reuse); None if unknown."""

    def revoke_family(self, family_id: str, *, now: float) -> None: ...

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        """The stored token, without using it."""

    def revoke_for_jkt(self, jkt: str, *, now: float, reason: str) -> int:
        """Revoke every live session bound to the key with thumbprint ``jkt``."""


class CounterStore(Protocol):
    """Shared counters for lockout and throttling (SQL, or Redis across replicas)."""

    def incr(self, key: str, *, ttl_s: float, cap: int, now: float) -> int:
        """Atomically add one and return the new count.

        While the new count is at most ``cap`` the expiry moves to ``now + ttl_s``; beyond
        the cap it stays, so a locked key unlocks ``ttl_s`` after the failure that locked it.
        An expired key counts from zero.
        """

    def get(self, key: str, *, now: float) -> int: ...

    def reset(self, key: str) -> None: ...

    def expires_in(self, key: str, *, now: float) -> float:
        """Seconds until the key expires (0 if absent)."""


class ReplayCache(Protocol):
    """Single-use values (DPoP proof ``jti``, client-assertion ``jti``)."""

    def add_once(self, key: str, *, ttl_s: float, now: float) -> bool:
        """Record ``key`` for ``ttl_s``; False if it is already recorded (a replay)."""


class DeviceLookup(Protocol):
    """What identity needs to know of devices (implemented by ``devices.DeviceRegistry``)."""

    def lookup(self, principal_id: str, jkt: str) -> tuple[str, str] | None:
        """``(device_id, status)`` if ``jkt`` is an enrolled device of the principal."""


class ServiceAccountKeyRepo(Protocol):
    def add(
        self, principal_id: str, public_jwk: dict[str, Any], *, kid: str, now: float
    ) -> None: ...

    def get(self, kid: str) -> tuple[str, dict[str, Any]] | None:
        """``(principal_id, public_jwk)`` of a registered client-assertion key."""

    def for_principal(self, principal_id: str) -> Sequence[tuple[str, dict[str, Any]]]: ...
