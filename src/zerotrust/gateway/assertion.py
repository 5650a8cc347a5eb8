"""The identity assertion: who the gateway verified, told to the upstream in a signed JWT.

The upstream never sees the client's access token or DPoP proof (a compromised service
could replay them); it gets a short-lived JWT (``typ: zt-identity+jwt``) signed with the
token issuer's current key and verifiable with the published JWKS, naming the principal,
its roles, the device, the AAL, the client address and the correlation id, with ``aud``
set to the upstream so an assertion for one service is useless at another. The header
carrying it is stripped from every client request first: only the gateway can set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from zerotrust.core.clock import Clock
from zerotrust.crypto.jwt import decode_jwt, encode_jwt
from zerotrust.crypto.signing import VerifyingKey
from zerotrust.identity.sessions import AuthContext
from zerotrust.identity.tokens import ALGORITHMS, TokenIssuer

ASSERTION_TYP: Final = "zt-identity+jwt"
ASSERTION_HEADER: Final = "zt-identity"  # the default; the routes file may name another
ANONYMOUS: Final = "anonymous"


class AssertionSigner:
    def __init__(self, tokens: TokenIssuer, clock: Clock, *, ttl_s: int = 60) -> None:
        self.tokens = tokens
        self.clock = clock
        self.ttl_s = ttl_s

    def sign(
        self,
        auth: AuthContext | None,
        *,
        device_id: str | None,
        audience: str,
        correlation_id: str,
        client_ip: str,
    ) -> str:
        """The assertion for one forwarded request. ``auth`` is None on a public route:
        the upstream still learns that the request came through the gateway, from which
        client address, but no identity (``sub: anonymous``, no ``sid``)."""
        now = int(self.clock.now())
        claims: dict[str, Any] = {
            "iss": self.tokens.issuer,
            "aud": audience,
            "ip": client_ip,
            "cid": correlation_id,
            "iat": now,
            "exp": now + self.ttl_s,
            "jti": correlation_id,
        }
        if auth is None:
            claims.update(sub=ANONYMOUS, ptype=ANONYMOUS, roles=[], aal=0, amr=[])
        else:
            principal, session = auth.principal, auth.session
            claims.update(
                sub=principal.id,
                name=principal.name,
                ptype=principal.kind,
                roles=list(principal.roles),
                aal=session.aal,
                amr=list(session.amr),
                sid=session.id,
                device_id=device_id,
            )
        return encode_jwt(claims, self.tokens.signing_key(), typ=ASSERTION_TYP)


def verify_assertion(
    token: str, *, jwks: Mapping[str, Any], issuer: str, audience: str, now: float
) -> dict[str, Any]:
    """What an upstream does with the header: verify it against the JWKS; raise
    ``TokenInvalid`` on any failure."""
    keys = {str(k["kid"]): VerifyingKey.from_jwk(k) for k in jwks.get("keys", [])}
    return decode_jwt(
        token,
        keys=keys,
        algorithms=ALGORITHMS,
        issuer=issuer,
        audience=audience,
        now=now,
        leeway_s=5,
        typ=ASSERTION_TYP,
    )
