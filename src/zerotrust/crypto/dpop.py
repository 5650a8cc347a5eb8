"""DPoP proofs (RFC 9449): proof of possession of the key a token is bound to.

``verify_dpop_proof`` performs the checks of RFC 9449 §4.3 that need no server state:
well-formed JWT, ``typ: dpop+jwt``, an allowed asymmetric ``alg``, a public ``jwk`` in the
header that verifies the signature, ``htm``/``htu`` matching the request, ``iat`` within
the window, and ``ath`` matching the access token. Single use of ``jti`` needs shared
state and is the caller's job (``identity.dpop``).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from zerotrust.core.errors import AuthenticationFailed, IntegrityError, InvalidInput
from zerotrust.core.ids import new_token
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.crypto.jwt import _normalise_typ, _parse, encode_jwt
from zerotrust.crypto.signing import SigningKey, VerifyingKey, jwk_thumbprint

__all__ = [
    "DpopInvalid",
    "DpopProof",
    "access_token_hash",
    "canonical_htu",
    "make_dpop_proof",
    "verify_dpop_proof",
]

DPOP_TYP = "dpop+jwt"
WINDOW_S = 60.0
MAX_JTI = 256
MAX_JWK_MEMBERS = 8  # a public EC or OKP key has at most six; more is not cached


class DpopInvalid(AuthenticationFailed):
    """The DPoP proof failed a check (RFC 9449 §7.1 ``invalid_dpop_proof``)."""

    code: ClassVar[str] = "invalid_dpop_proof"
    message: ClassVar[str] = "The DPoP proof is not valid."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


@dataclass(frozen=True)
class DpopProof:
    """A verified proof: the key's thumbprint and the claims that matter."""

    jkt: str
    jti: str
    htm: str
    htu: str
    iat: float


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url SHA-256 of the ASCII access token (RFC 9449 §4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())


def canonical_htu(url: str) -> str:
    """Scheme and host lower-cased, default port dropped, no query or fragment (§4.3 9)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", "", ""))


def make_dpop_proof(
    key: SigningKey,
    *,
    method: str,
    url: str,
    now: float,
    access_token: str | None = None,
    jti: str | None = None,
) -> str:
    """A proof for one request (what a client or the ``zerotrust.client`` library sends)."""
    claims: dict[str, Any] = {
        "jti": jti or new_token(16),
        "htm": method.upper(),
        "htu": canonical_htu(url),
        "iat": int(now),
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    return encode_jwt(claims, key, typ=DPOP_TYP, extra_headers={"jwk": key.public_jwk()})


def _fail(reason: str) -> DpopInvalid:
    return DpopInvalid(reason)


def _claims(claims: Mapping[str, Any]) -> tuple[str, str, str, float]:
    jti, htm, htu, iat = (claims.get(k) for k in ("jti", "htm", "htu", "iat"))
    if not (isinstance(jti, str) and 0 < len(jti) <= MAX_JTI):
        raise _fail("missing_claim")
    if not isinstance(htm, str) or not isinstance(htu, str):
        raise _fail("missing_claim")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise _fail("missing_claim")
    return jti, htm, htu, float(iat)


@functools.lru_cache(maxsize=4096)
def _public_key(members: tuple[tuple[str, str], ...]) -> tuple[VerifyingKey, str]:
    # A device signs every request with the same key: parse its JWK and compute its
    # thumbprint once. Keyed by the whole JWK, so a different key is a different entry;
    # errors are not cached.
    key = VerifyingKey.from_jwk(dict(members))
    return key, jwk_thumbprint(key.jwk)


def _proof_key(header: Mapping[str, Any], algorithms: Collection[str]) -> tuple[VerifyingKey, str]:
    """The key in the proof's own header, after the header checks of §4.3 steps 4-7."""
    if _normalise_typ(str(header.get("typ", ""))) != DPOP_TYP:
        raise _fail("wrong_type")
    if header.get("alg") not in algorithms:
        raise _fail("alg_not_allowed")  # never "none", never a MAC (§4.3 step 5)
    if any(h in header for h in ("jku", "x5u", "x5c", "crit")):
        raise _fail("forbidden_header")
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise _fail("missing_jwk")
    members = tuple(sorted((k, v) for k, v in jwk.items() if k != "kid"))
    try:
        # Refuses private members (§4.3 step 7), wrong curves and malformed keys.
        if all(isinstance(v, str) for _, v in members) and len(members) <= MAX_JWK_MEMBERS:
            key, jkt = _public_key(members)
        else:
            key = VerifyingKey.from_jwk(dict(members))
            jkt = jwk_thumbprint(key.jwk)
    except InvalidInput:
        raise _fail("bad_jwk") from None
    if key.alg != header["alg"]:
        raise _fail("alg_mismatch")
    return key, jkt


def verify_dpop_proof(
    proof: str,
    *,
    method: str,
    urls: Collection[str],
    now: float,
    access_token: str | None = None,
    algorithms: Collection[str] = ("ES256", "EdDSA"),
    window_s: float = WINDOW_S,
) -> DpopProof:
    """Check a proof against the request; raise ``DpopInvalid(reason)`` on any failure.

    ``urls`` are the acceptable ``htu`` values for this request (the same path under each
    public origin of the service), already canonical.
    """
    try:
        parts = _parse(proof)
    except AuthenticationFailed:
        raise _fail("malformed") from None
    key, jkt = _proof_key(parts.header, algorithms)
    try:
        key.verify(parts.signing_input, parts.signature)
    except IntegrityError:
        raise _fail("bad_signature") from None
    jti, htm, htu, iat = _claims(parts.claims)
    if htm != method.upper():
        raise _fail("htm_mismatch")
    if canonical_htu(htu) not in urls:
        raise _fail("htu_mismatch")
    if abs(now - iat) > window_s:
        raise _fail("iat_out_of_window")
    if access_token is not None:
        ath = parts.claims.get("ath")
        if not isinstance(ath, str) or ath != access_token_hash(access_token):
            raise _fail("ath_mismatch")
    return DpopProof(jkt=jkt, jti=jti, htm=htm, htu=htu, iat=iat)
