"""DPoP proof checking with single use of ``jti`` (RFC 9449 §4.3 step 12, §11.1).

The stateless checks live in ``crypto.dpop``; here the proof's ``jti`` is recorded in a
replay cache (Redis across replicas) for the whole acceptance window, so a captured proof
cannot be replayed on this replica or any other.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from zerotrust.core.clock import Clock
from zerotrust.core.errors import AuthenticationFailed
from zerotrust.crypto.dpop import WINDOW_S, DpopInvalid, DpopProof, verify_dpop_proof
from zerotrust.identity.interfaces import ReplayCache

MAX_TOKEN_CHARS = 8192


class TokenMissing(AuthenticationFailed):
    """No usable ``Authorization: DPoP`` header (RFC 9449 §7.1)."""

    code = "invalid_token"
    message = "A DPoP-bound access token is required."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def dpop_access_token(authorization: Sequence[str]) -> str:
    """The token of the request's single ``Authorization: DPoP`` header, or ``TokenMissing``.

    Both edges (control-plane API and gateway) parse it here; bearer tokens are refused.
    """
    if not authorization:
        raise TokenMissing("missing_token")
    if len(authorization) > 1:
        raise TokenMissing("multiple_authorization")
    scheme, _, token = authorization[0].partition(" ")
    if scheme.lower() != "dpop":
        raise TokenMissing("not_dpop_scheme")  # bearer tokens are refused (RFC 9449 §7.1)
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise TokenMissing("malformed")
    return token


class DpopGuard:
    def __init__(self, replay: ReplayCache, clock: Clock, *, window_s: float = WINDOW_S) -> None:
        self.replay = replay
        self.clock = clock
        self.window_s = window_s

    def verify(
        self,
        proof: str | None,
        *,
        method: str,
        urls: Collection[str],
        access_token: str | None = None,
    ) -> DpopProof:
        if not proof:
            raise DpopInvalid("missing_proof")
        now = self.clock.now()
        checked = verify_dpop_proof(
            proof,
            method=method,
            urls=urls,
            now=now,
            access_token=access_token,
            window_s=self.window_s,
        )
        # Keep the jti past both edges of the iat window, so no accepted proof can return.
        if not self.replay.add_once(
            f"dpop:{checked.jkt}:{checked.jti}", ttl_s=2 * self.window_s + 5, now=now
        ):
            raise DpopInvalid("replayed")
        return checked
