"""Access tokens: short-lived signed JWTs (RFC 9068 profile) naming a server-side session.

Signing keys are generated here, stored sealed under the root-derived key, and published
as a JWKS. Verification pins the algorithms, issuer and audience and requires ``exp``,
``iat`` and ``jti``; the session named by ``sid`` is then checked live on every request,
so revocation is immediate despite the token's own lifetime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from zerotrust.core.clock import Clock
from zerotrust.core.ids import new_id
from zerotrust.crypto.jwt import decode_jwt, decode_unverified_header, encode_jwt
from zerotrust.crypto.signing import SigningKey, VerifyingKey
from zerotrust.identity.keys import IdentityKeys
from zerotrust.identity.models import Principal, Session

ALGORITHMS = ("EdDSA", "ES256")
# An unknown kid may mean another replica rotated keys; reload at most this often, so
# tokens naming random kids cannot turn into one database read each.
RELOAD_INTERVAL_S = 5.0


@dataclass(frozen=True)
class StoredSigningKey:
    kid: str
    alg: str
    private_envelope: bytes
    public_jwk: dict[str, Any]
    created_at: float
    retired_at: float | None = None


class SigningKeyRepo(Protocol):
    def active(self) -> Sequence[StoredSigningKey]:
        """Keys that still sign (not retired), newest first."""
        ...

    def retired_since(self, since: float) -> Sequence[StoredSigningKey]:
        """Keys retired at or after ``since``: they no longer sign, but tokens they signed
        may still be unexpired, so they still verify."""
        ...

    def add(self, key: StoredSigningKey) -> None: ...

    def retire(self, kids: Sequence[str], *, now: float) -> None: ...


class TokenIssuer:
    """Mints and verifies access tokens for one issuer and audience."""

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
        self.repo = repo
        self.keys = keys
        self.clock = clock
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self.alg = alg
        self._signing: SigningKey | None = None
        self._verifying: dict[str, VerifyingKey] = {}
        self._kids: tuple[str, ...] = ()  # what ``_signing`` and ``_verifying`` were made of
        self._loaded_at = float("-inf")

    def _aad(self, kid: str) -> bytes:
        return b"zerotrust/signing-key/" + kid.encode()

    def _new_key(self) -> None:
        key = SigningKey.generate(self.alg)
        self.repo.add(
            StoredSigningKey(
                kid=key.kid,
                alg=key.alg,
                private_envelope=self.keys.seal(key.private_pkcs8(), aad=self._aad(key.kid)),
                public_jwk=dict(key.public_jwk()),
                created_at=self.clock.now(),
            )
        )

    def _load(self) -> SigningKey:
        stored = list(self.repo.active())
        if not stored:
            self._new_key()
            stored = list(self.repo.active())
        newest = stored[0]
        # Retired keys verify for one token lifetime (plus leeway) after they stop signing.
        overlap = self.repo.retired_since(self.clock.now() - self.ttl_s - 60)
        kids = tuple(s.kid for s in (*stored, *overlap))
        self._loaded_at = self.clock.now()
        if self._signing is not None and kids == self._kids:
            return self._signing  # each upkeep's reload: unchanged keys are not unsealed again
        der = self.keys.open(newest.private_envelope, aad=self._aad(newest.kid))
        self._signing = SigningKey.from_pkcs8(der, alg=newest.alg, kid=newest.kid)
        self._verifying = {s.kid: VerifyingKey.from_jwk(s.public_jwk) for s in (*stored, *overlap)}
        self._kids = kids
        return self._signing

    def rotate(self) -> str:
        """A new signing key; the old ones stop signing now and verify until the tokens
        they signed have expired. Returns the new kid."""
        old = [k.kid for k in self.repo.active()]
        self._new_key()
        self.repo.retire(old, now=self.clock.now())
        return self._load().kid

    def reload(self) -> None:
        """Pick up a rotation made by another replica."""
        self._load()

    def signing_key(self) -> SigningKey:
        return self._signing if self._signing is not None else self._load()

    def issue(
        self, principal: Principal, session: Session, *, scope: tuple[str, ...] | None = None
    ) -> tuple[str, int]:
        """A fresh access token for ``session`` and its lifetime in seconds."""
        now = int(self.clock.now())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": principal.id,
            "iat": now,
            "exp": now + self.ttl_s,
            "jti": new_id("at"),
            "sid": session.id,
            "aal": session.aal,
            "amr": list(session.amr),
            "auth_time": int(session.auth_time),
            "roles": list(principal.roles),
            "ptype": principal.kind,
        }
        if session.device_id:
            claims["device_id"] = session.device_id
        if session.jkt:
            claims["cnf"] = {"jkt": session.jkt}  # RFC 9449 §6: bound to the DPoP key
        if principal.kind == "service":
            claims["scope"] = " ".join(principal.purposes if scope is None else scope)
        return encode_jwt(claims, self.signing_key()), self.ttl_s

    def verify(self, token: str) -> dict[str, Any]:
        """Claims of a valid token; raises ``TokenInvalid`` with a reason otherwise."""
        self.signing_key()
        kid = decode_unverified_header(token).get("kid")
        if (
            isinstance(kid, str)
            and kid not in self._verifying
            and self.clock.now() - self._loaded_at >= RELOAD_INTERVAL_S
        ):
            self._load()  # another replica may have rotated
        return decode_jwt(
            token,
            keys=self._verifying,
            algorithms=ALGORITHMS,
            issuer=self.issuer,
            audience=self.audience,
            now=self.clock.now(),
            leeway_s=0,
            typ="at+jwt",
        )

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        self.signing_key()
        return {"keys": [dict(v.jwk) for v in self._verifying.values()]}
