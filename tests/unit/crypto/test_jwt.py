"""Compact JWT: round trips, interoperability with joserfc, and attacks (RFC 7519, RFC 8725)."""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable, Collection
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwt as joserfc_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

from zerotrust.core.errors import AuthenticationFailed, InvalidInput
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.crypto.jwt import (
    DEFAULT_REQUIRED,
    MAX_TOKEN_SIZE,
    TokenInvalid,
    decode_jwt,
    decode_unverified_header,
    encode_jwt,
)
from zerotrust.crypto.signing import SigningKey, VerifyingKey

NOW = 1_700_000_000.0
ISSUER = "https://idp.zerotrust.test"
AUDIENCE = "https://gateway.zerotrust.test"
ED = SigningKey.generate("EdDSA")
ES = SigningKey.generate("ES256")
KEYS = {key.kid: key.verifying_key() for key in (ED, ES)}


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "usr_1",
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        "jti": "jti_1",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def decode(
    token: str,
    *,
    keys: dict[str, VerifyingKey] | None = None,
    algorithms: Collection[str] = ("EdDSA", "ES256"),
    **options: Any,
) -> dict[str, Any]:
    return decode_jwt(
        token,
        keys=KEYS if keys is None else keys,
        algorithms=algorithms,
        issuer=options.pop("issuer", ISSUER),
        audience=options.pop("audience", AUDIENCE),
        now=options.pop("now", NOW),
        **options,
    )


def forge(header: Any, payload: Any, sign: Callable[[bytes], bytes] | None = None) -> str:
    """A token built by hand, as an attacker would, signed by ``sign`` (or unsigned)."""
    segments = [b64url_encode(json.dumps(part).encode()) for part in (header, payload)]
    signing_input = ".".join(segments)
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64url_encode(signature)}"


def reason_of(token: str, **options: Any) -> str:
    with pytest.raises(TokenInvalid) as caught:
        decode(token, **options)
    return caught.value.reason


# Round trips and format


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_round_trip(key: SigningKey) -> None:
    token = encode_jwt(claims(), key)
    assert decode(token) == claims()
    assert decode_unverified_header(token) == {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}


def test_compact_json_header() -> None:
    header_segment = encode_jwt(claims(), ED).split(".")[0]
    expected = f'{{"alg":"EdDSA","kid":"{ED.kid}","typ":"at+jwt"}}'.encode()
    assert header_segment == b64url_encode(expected)


def test_extra_headers_may_not_redefine_ours() -> None:
    for name in ("alg", "kid", "typ"):
        with pytest.raises(InvalidInput):
            encode_jwt(claims(), ED, extra_headers={name: "x"})


def test_unserialisable_claims_are_refused() -> None:
    with pytest.raises(InvalidInput):
        encode_jwt(claims(exp=float("nan")), ED)
    with pytest.raises(InvalidInput):
        encode_jwt(claims(sub=object()), ED)


def test_audience_list() -> None:
    token = encode_jwt(claims(aud=["https://other.test", AUDIENCE]), ES)
    assert decode(token)["aud"] == ["https://other.test", AUDIENCE]


def test_typ_accepts_the_media_type_form() -> None:
    # RFC 7515 §4.1.9 and RFC 9068 §4: "application/at+jwt" is the same type.
    assert decode(encode_jwt(claims(), ED, typ="application/at+jwt")) == claims()
    assert decode(encode_jwt(claims(), ED, typ="JWT"), typ=None) == claims()


def test_leeway_tolerates_small_clock_skew() -> None:
    token = encode_jwt(claims(exp=int(NOW) - 29, nbf=int(NOW) + 29, iat=int(NOW) + 29), ED)
    assert decode(token, leeway_s=30)["sub"] == "usr_1"


# Interoperability: an independent implementation verifies our tokens.


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_joserfc_verifies_our_tokens(key: SigningKey) -> None:
    token = encode_jwt(claims(), key)
    key_set = KeySet.import_key_set({"keys": [key.public_jwk()]})  # type: ignore[list-item]
    if key.alg == "EdDSA":
        # joserfc flags "EdDSA" as superseded by "Ed25519" (RFC 9864); it still verifies.
        with pytest.warns(SecurityWarning, match="RFC 9864"):
            verified = joserfc_jwt.decode(token, key_set, algorithms=[key.alg])
    else:
        verified = joserfc_jwt.decode(token, key_set, algorithms=[key.alg])
    assert verified.claims == claims()
    assert verified.header == {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}


# Attacks and defects: each one is refused with its own reason.


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none(alg: str) -> None:
    token = forge({"alg": alg, "typ": "at+jwt"}, claims())
    assert reason_of(token) == "alg_not_allowed"
    assert reason_of(forge({"alg": alg, "kid": ED.kid, "typ": "at+jwt"}, claims())) == (
        "alg_not_allowed"
    )


def _public_key_bytes(key: SigningKey) -> list[bytes]:
    pem = (
        serialization.load_der_private_key(key.private_pkcs8(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    jwk = key.public_jwk()
    return [pem, json.dumps(jwk).encode(), json.dumps(jwk, separators=(",", ":")).encode()]


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_hs256_keyed_with_our_public_key(key: SigningKey) -> None:
    # Key confusion (RFC 8725 §2.1): an HMAC whose "secret" is our published public key.
    for secret in _public_key_bytes(key):
        token = forge(
            {"alg": "HS256", "kid": key.kid, "typ": "at+jwt"},
            claims(),
            functools.partial(hmac.digest, secret, digest="sha256"),
        )
        assert reason_of(token) == "alg_not_allowed"


def test_callers_cannot_allow_other_algorithms() -> None:
    token = encode_jwt(claims(), ED)
    for algorithms in (["HS256"], ["none"], ["EdDSA", "RS256"], [], "EdDSA"):
        with pytest.raises(InvalidInput):
            decode(token, algorithms=algorithms)


def test_algorithm_outside_the_callers_list() -> None:
    assert reason_of(encode_jwt(claims(), ED), algorithms=["ES256"]) == "alg_not_allowed"


@pytest.mark.parametrize("kid", ["../../dev/null", "' OR 1=1 --", "", "unknown"])
def test_unknown_kid(kid: str) -> None:
    token = forge({"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}, claims(), ED.sign)
    assert reason_of(token) == "unknown_kid"


def test_missing_kid() -> None:
    token = forge({"alg": "EdDSA", "typ": "at+jwt"}, claims(), ED.sign)
    assert reason_of(token) == "unknown_kid"


@pytest.mark.parametrize("name", ["jku", "x5u", "jwk", "x5c", "crit"])
def test_forbidden_headers(name: str) -> None:
    value: Any = ED.public_jwk() if name == "jwk" else "https://attacker.test/keys"
    token = encode_jwt(claims(), ED, extra_headers={name: value})
    assert reason_of(token) == "forbidden_header"


def test_header_alg_must_equal_the_keys() -> None:
    # Header says ES256 (allowed), kid names our EdDSA key: the key decides, so refuse.
    token = forge({"alg": "ES256", "kid": ED.kid, "typ": "at+jwt"}, claims(), ES.sign)
    assert reason_of(token) == "alg_mismatch"


def test_signature_from_another_key_with_the_same_kid() -> None:
    impostor = SigningKey.generate("EdDSA", kid=ED.kid)
    assert reason_of(encode_jwt(claims(), impostor)) == "bad_signature"


def test_tampered_claims_keep_no_signature() -> None:
    header, _, signature = encode_jwt(claims(), ES).split(".")
    payload = b64url_encode(json.dumps(claims(sub="usr_admin")).encode())
    assert reason_of(f"{header}.{payload}.{signature}") == "bad_signature"


def test_empty_signature() -> None:
    header, payload, _ = encode_jwt(claims(), ED).split(".")
    assert reason_of(f"{header}.{payload}.") == "bad_signature"


@pytest.mark.parametrize("name", DEFAULT_REQUIRED)
def test_each_missing_required_claim(name: str) -> None:
    assert reason_of(encode_jwt(claims(**{name: None}), ED)) == "missing_claim"


def test_custom_required_claims() -> None:
    token = encode_jwt(claims(), ED)
    assert reason_of(token, required=("cnf",)) == "missing_claim"
    # iss and aud are checked even when the caller leaves them out of ``required``.
    assert reason_of(encode_jwt(claims(iss=None), ED), required=()) == "missing_claim"


def test_expired_by_one_second() -> None:
    token = encode_jwt(claims(exp=int(NOW) - 1), ED)
    assert reason_of(token, leeway_s=0) == "expired"
    assert reason_of(encode_jwt(claims(exp=int(NOW)), ED), leeway_s=0) == "expired"
    assert reason_of(encode_jwt(claims(exp=int(NOW) - 31), ED), leeway_s=30) == "expired"


def test_not_before_in_the_future() -> None:
    token = encode_jwt(claims(nbf=int(NOW) + 300), ED)
    assert reason_of(token) == "not_yet_valid"


def test_issued_in_the_future() -> None:
    assert reason_of(encode_jwt(claims(iat=int(NOW) + 300), ED)) == "not_yet_valid"


def test_wrong_issuer() -> None:
    assert reason_of(encode_jwt(claims(iss="https://evil.test"), ED)) == "wrong_issuer"
    assert reason_of(encode_jwt(claims(), ED), issuer="https://other-idp.test") == "wrong_issuer"


@pytest.mark.parametrize("aud", ["https://other.test", ["https://other.test"], []])
def test_wrong_audience(aud: Any) -> None:
    assert reason_of(encode_jwt(claims(aud=aud), ED)) == "wrong_audience"


@pytest.mark.parametrize("typ", ["JWT", "dpop+jwt", "id_token+jwt", "at+jwt+x"])
def test_wrong_type(typ: str) -> None:
    assert reason_of(encode_jwt(claims(), ED, typ=typ)) == "wrong_type"


def test_missing_type() -> None:
    token = forge({"alg": "EdDSA", "kid": ED.kid}, claims(), ED.sign)
    assert reason_of(token) == "wrong_type"


def test_token_over_8_kib() -> None:
    with pytest.raises(InvalidInput):
        encode_jwt(claims(pad="x" * MAX_TOKEN_SIZE), ED)
    token = forge({"alg": "EdDSA", "kid": ED.kid, "typ": "at+jwt"}, claims(pad="x" * 6200), ED.sign)
    assert len(token) > MAX_TOKEN_SIZE
    assert reason_of(token) == "malformed"


GOOD = encode_jwt(claims(), ED)
GOOD_HEADER, GOOD_PAYLOAD, GOOD_SIGNATURE = GOOD.split(".")


def with_header(raw: bytes) -> str:
    return f"{b64url_encode(raw)}.{GOOD_PAYLOAD}.{GOOD_SIGNATURE}"


def with_payload(raw: bytes) -> str:
    return f"{GOOD_HEADER}.{b64url_encode(raw)}.{GOOD_SIGNATURE}"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        f"{GOOD}.extra",
        "...",
        f"!!!.{GOOD_PAYLOAD}.{GOOD_SIGNATURE}",
        f"{GOOD_HEADER}=.{GOOD_PAYLOAD}.{GOOD_SIGNATURE}",  # padding
        f"{GOOD_HEADER}.{GOOD_PAYLOAD}.{GOOD_SIGNATURE}=",
        f"{GOOD_HEADER}.{GOOD_PAYLOAD}.{GOOD_SIGNATURE} ",  # whitespace
        f" {GOOD}",
        f"{GOOD_HEADER}.{GOOD_PAYLOAD}.sig+/",
        f"{GOOD_HEADER}é.{GOOD_PAYLOAD}.{GOOD_SIGNATURE}",
        with_header(b"not json"),
        with_header(b"[]"),
        with_header(b'{"alg":"EdDSA","alg":"none"}'),  # duplicate member (RFC 7515 §5.2)
        with_header(b'{"alg":["EdDSA"]}'),
        with_header(b'{"alg":"EdDSA","kid":1}'),
        with_header(b'\xef\xbb\xbf{"alg":"EdDSA"}'),  # byte order mark
        with_payload(b"null"),
        with_payload(b"123"),
        with_payload(b"\xff\xfe{}"),  # not UTF-8
        with_payload(b"[" * 5000),  # deep nesting
        with_payload(b'{"exp":NaN}'),
        with_payload(b'{"sub":"a"} trailing'),
    ],
)
def test_garbage_is_malformed(token: str) -> None:
    assert reason_of(token) == "malformed"
    with pytest.raises(TokenInvalid):
        decode_unverified_header(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": "1700000300"},
        {"exp": True},
        {"nbf": [1]},
        {"aud": 7},
        {"aud": [AUDIENCE, 7]},
        {"sub": 1},
        {"iat": 1e400},  # json.dumps writes Infinity; the parser refuses it
    ],
)
def test_claims_of_the_wrong_type_are_malformed(changes: dict[str, Any]) -> None:
    header = {"alg": "EdDSA", "kid": ED.kid, "typ": "at+jwt"}
    body = {**claims(), **changes}
    token = forge(header, body, ED.sign)
    assert reason_of(token) == "malformed"


def test_error_is_opaque_and_typed() -> None:
    with pytest.raises(TokenInvalid) as caught:
        decode(encode_jwt(claims(exp=int(NOW) - 1000), ED))
    error = caught.value
    assert isinstance(error, AuthenticationFailed)
    assert (error.code, error.reason) == ("invalid_token", "expired")
    assert "expired" not in str(error)
    assert error.__suppress_context__ or error.__context__ is None


def test_bad_arguments() -> None:
    for options in (
        {"leeway_s": -1},
        {"leeway_s": 3600},
        {"now": float("nan")},
        {"required": "exp"},
    ):
        with pytest.raises(InvalidInput):
            decode(GOOD, **options)
