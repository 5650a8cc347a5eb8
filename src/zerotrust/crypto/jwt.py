"""Compact JWS/JWT (RFC 7515, RFC 7519) with pinned algorithms, per the JWT BCP (RFC 8725).

The verifying key decides the algorithm: the header's ``alg`` must equal the key's and be in
the caller's allow-list, so ``none``, HMAC-with-a-public-key and algorithm substitution all
fail. Headers that would let a token choose its own key (``jku``, ``x5u``, ``jwk``, ``x5c``)
or impose unknown processing (``crit``) are refused. Access tokens are RFC 9068 ``at+jwt``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NoReturn

from zerotrust.core.errors import AuthenticationFailed, IntegrityError, InvalidInput
from zerotrust.crypto.encoding import b64url_decode, b64url_encode
from zerotrust.crypto.signing import ALGORITHMS, SigningKey, VerifyingKey

__all__ = [
    "DEFAULT_REQUIRED",
    "FORBIDDEN_HEADERS",
    "MAX_TOKEN_SIZE",
    "TokenInvalid",
    "TokenInvalidReason",
    "decode_jwt",
    "decode_unverified_header",
    "encode_jwt",
]

MAX_TOKEN_SIZE = 8 * 1024  # Bounds parsing work on unauthenticated input.
MAX_LEEWAY_S = 300.0
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})
DEFAULT_REQUIRED = ("iss", "aud", "sub", "exp", "iat", "jti")
_OWN_HEADERS = frozenset({"alg", "kid", "typ"})

TokenInvalidReason = Literal[
    "malformed",
    "alg_not_allowed",
    "unknown_kid",
    "forbidden_header",
    "alg_mismatch",
    "bad_signature",
    "missing_claim",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "wrong_type",
]


class TokenInvalid(AuthenticationFailed):
    """The token failed verification (RFC 6750 §3.1 ``invalid_token``).

    The message stays generic for the client; ``reason`` is a stable code for the audit log.
    """

    code: ClassVar[str] = "invalid_token"
    message: ClassVar[str] = "The access token is not valid."

    def __init__(self, reason: TokenInvalidReason) -> None:
        super().__init__()
        self.reason: TokenInvalidReason = reason


def _fail(reason: TokenInvalidReason) -> NoReturn:
    # "from None": a parser's error text about attacker input has no place in our tracebacks.
    raise TokenInvalid(reason) from None


def _dumps(value: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput("Token header and claims must be JSON-serialisable.") from None
    return text.encode("utf-8")


def encode_jwt(
    claims: Mapping[str, Any],
    key: SigningKey,
    *,
    typ: str = "at+jwt",
    extra_headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``claims`` as a compact JWS with header ``{"alg", "kid", "typ"}`` plus extras.

    ``extra_headers`` may not redefine ``alg``, ``kid`` or ``typ``; they may carry ``jwk``
    (a DPoP proof's public key, RFC 9449 §4.2), which ``decode_jwt`` itself never accepts.
    """
    extra = dict(extra_headers or {})
    if _OWN_HEADERS & extra.keys():
        raise InvalidInput("Extra headers may not redefine alg, kid or typ.")
    header = {"alg": key.alg, "kid": key.kid, "typ": typ, **extra}
    signing_input = f"{b64url_encode(_dumps(header))}.{b64url_encode(_dumps(dict(claims)))}"
    token = f"{signing_input}.{b64url_encode(key.sign(signing_input.encode('ascii')))}"
    if len(token) > MAX_TOKEN_SIZE:
        raise InvalidInput("The token would exceed 8 KiB.")
    return token


@dataclass(frozen=True)
class _Parts:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §5.2 step 3 and RFC 7519 §4 allow rejecting duplicate members; we must, since
    # two parsers could otherwise read two different headers or claim sets from one token.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(name)  # NaN and Infinity are not JSON (RFC 8259 §6).


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(
            b64url_decode(segment).decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except (InvalidInput, ValueError, RecursionError):
        _fail("malformed")
    if not isinstance(value, dict):
        _fail("malformed")
    return value


def _parse(token: str) -> _Parts:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_SIZE or not token.isascii():
        _fail("malformed")
    segments = token.split(".")
    if len(segments) != 3:
        _fail("malformed")
    header_b64, claims_b64, signature_b64 = segments
    header, claims = _json_object(header_b64), _json_object(claims_b64)
    try:
        signature = b64url_decode(signature_b64)
    except InvalidInput:
        _fail("malformed")
    for name in ("alg", "kid", "typ"):
        if name in header and not isinstance(header[name], str):
            _fail("malformed")
    signing_input = f"{header_b64}.{claims_b64}".encode("ascii")
    return _Parts(header, claims, signing_input, signature)


def decode_unverified_header(token: str) -> dict[str, Any]:
    """The header of a strictly well-formed token, NOT verified: use it only to pick a key."""
    return _parse(token).header


def _check_arguments(
    algorithms: Collection[str], required: Collection[str], now: float, leeway_s: float
) -> None:
    # A bare string is a Collection[str] too: "ES256" would allow "E", "S", "2"...
    if isinstance(algorithms, str) or isinstance(required, str):
        raise InvalidInput("algorithms and required must be collections, not a string.")
    if not algorithms or not set(algorithms) <= set(ALGORITHMS):
        raise InvalidInput("algorithms must be a non-empty subset of EdDSA, ES256.")
    if not math.isfinite(now) or not (0 <= leeway_s <= MAX_LEEWAY_S):
        raise InvalidInput("now must be finite and leeway between 0 and 300 seconds.")


def _select_key(
    header: Mapping[str, Any], keys: Mapping[str, VerifyingKey], algorithms: Collection[str]
) -> VerifyingKey:
    if FORBIDDEN_HEADERS & header.keys():
        _fail("forbidden_header")  # A token must never choose its own key (RFC 8725 §3.10).
    alg = header.get("alg")
    if alg not in algorithms:
        _fail("alg_not_allowed")
    key = keys.get(header.get("kid", ""))
    if key is None:
        _fail("unknown_kid")
    if key.alg != alg:
        _fail("alg_mismatch")  # Algorithm substitution (RFC 8725 §2.1): the key decides.
    return key


def _normalise_typ(value: str) -> str:
    # RFC 7515 §4.1.9: compare case-insensitively; "application/" may be omitted.
    return value.lower().removeprefix("application/")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail("malformed")  # RFC 7519 §2: NumericDate is a JSON number of seconds.
    return float(value)


def _check_times(claims: Mapping[str, Any], now: float, leeway_s: float) -> None:
    exp, nbf, iat = (_number(claims, name) for name in ("exp", "nbf", "iat"))
    if exp is not None and now >= exp + leeway_s:
        _fail("expired")  # RFC 7519 §4.1.4: valid only before exp.
    if nbf is not None and now + leeway_s < nbf:
        _fail("not_yet_valid")
    if iat is not None and now + leeway_s < iat:
        _fail("not_yet_valid")  # Issued in the future: a skewed or forged issuer.


def _check_audience(aud: Any, audience: str) -> None:
    if isinstance(aud, str):
        aud = [aud]
    if not isinstance(aud, list) or not all(isinstance(item, str) for item in aud):
        _fail("malformed")
    if audience not in aud:
        _fail("wrong_audience")  # RFC 7519 §4.1.3: reject tokens meant for another service.


def _check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    now: float,
    leeway_s: float,
    required: Collection[str],
) -> None:
    # iss and aud are always needed: the caller named the issuer and audience it expects.
    if any(name not in claims for name in {*required, "iss", "aud"}):
        _fail("missing_claim")
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            _fail("malformed")
    _check_times(claims, now, leeway_s)
    if claims["iss"] != issuer:
        _fail("wrong_issuer")
    _check_audience(claims["aud"], audience)


def decode_jwt(
    token: str,
    *,
    keys: Mapping[str, VerifyingKey],
    algorithms: Collection[str],
    issuer: str,
    audience: str,
    now: float,
    leeway_s: float = 30,
    typ: str | None = "at+jwt",
    required: Collection[str] = DEFAULT_REQUIRED,
) -> dict[str, Any]:
    """Verify a compact JWT and return its claims, or raise ``TokenInvalid(reason)``.

    Order: parse, header checks and key selection, signature, ``typ`` (RFC 8725 §3.11),
    then claims (required, times with ``leeway_s``, issuer, audience). Nothing in the
    payload is trusted before the signature verifies.
    """
    _check_arguments(algorithms, required, now, leeway_s)
    parts = _parse(token)
    key = _select_key(parts.header, keys, algorithms)
    try:
        key.verify(parts.signing_input, parts.signature)
    except IntegrityError:
        _fail("bad_signature")
    if typ is not None:
        header_typ = parts.header.get("typ")
        if header_typ is None or _normalise_typ(header_typ) != _normalise_typ(typ):
            _fail("wrong_type")  # Cross-JWT confusion: an ID token is not an access token.
    _check_claims(
        parts.claims,
        issuer=issuer,
        audience=audience,
        now=now,
        leeway_s=leeway_s,
        required=required,
    )
    return parts.claims
