"""Signing keys, JWK import/export and RFC 7638 thumbprints (behaviour and RFC examples)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.encoding import b64url_decode, b64url_encode
from zerotrust.crypto.signing import SigningKey, VerifyingKey, jwk_thumbprint

ED = SigningKey.generate("EdDSA")
ES = SigningKey.generate("ES256")
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# RFC 7638 §3.1.
RFC7638_RSA = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
    "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vM"
    "QFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

# RFC 8037 appendix A.1-A.4.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_PUBLIC = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIGNATURE = (
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)
# RFC 8410 §7: PKCS#8 OneAsymmetricKey for Ed25519 is this fixed prefix plus the 32-byte seed.
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def test_rfc7638_rsa_thumbprint() -> None:
    assert jwk_thumbprint(RFC7638_RSA) == RFC7638_THUMBPRINT
    # Only required members count, in any input order.
    reordered = {"e": RFC7638_RSA["e"], "n": RFC7638_RSA["n"], "kty": "RSA", "use": "sig"}
    assert jwk_thumbprint(reordered) == RFC7638_THUMBPRINT


def test_rfc8037_ed25519_thumbprint() -> None:
    assert jwk_thumbprint(RFC8037_PUBLIC) == RFC8037_THUMBPRINT
    assert jwk_thumbprint({**RFC8037_PUBLIC, "d": RFC8037_D, "kid": "x"}) == RFC8037_THUMBPRINT


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0"},  # hashing a symmetric key is not our business
        {"kty": "EC", "crv": "P-256", "x": "AA"},  # missing y
        {"kty": "OKP", "crv": "Ed25519", "x": 5},
        {"crv": "Ed25519", "x": "AA"},
        [],
    ],
)
def test_thumbprint_refuses_unusable_jwks(jwk: Any) -> None:
    with pytest.raises(InvalidInput):
        jwk_thumbprint(jwk)


def test_rfc8037_signing_and_verification() -> None:
    der = ED25519_PKCS8_PREFIX + b64url_decode(RFC8037_D)
    key = SigningKey.from_pkcs8(der, alg="EdDSA", kid="rfc8037")
    assert {k: key.public_jwk()[k] for k in RFC8037_PUBLIC} == RFC8037_PUBLIC
    assert b64url_encode(key.sign(RFC8037_INPUT)) == RFC8037_SIGNATURE
    verifier = VerifyingKey.from_jwk(RFC8037_PUBLIC)
    assert verifier.kid == RFC8037_THUMBPRINT  # kid defaults to the thumbprint
    verifier.verify(RFC8037_INPUT, b64url_decode(RFC8037_SIGNATURE))
    with pytest.raises(IntegrityError):
        verifier.verify(RFC8037_INPUT + b".", b64url_decode(RFC8037_SIGNATURE))


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_sign_verify_round_trip(key: SigningKey) -> None:
    signature = key.sign(b"payload")
    assert len(signature) == 64
    verifier = key.verifying_key()
    assert (verifier.alg, verifier.kid) == (key.alg, key.kid)
    verifier.verify(b"payload", signature)
    with pytest.raises(IntegrityError):
        verifier.verify(b"payload!", signature)
    with pytest.raises(IntegrityError):
        verifier.verify(b"payload", signature[:-1] + bytes([signature[-1] ^ 1]))


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
@pytest.mark.parametrize("size", [0, 63, 65, 72])
def test_signatures_of_the_wrong_size_fail(key: SigningKey, size: int) -> None:
    with pytest.raises(IntegrityError):
        key.verifying_key().verify(b"payload", bytes(size))


def test_es256_refuses_der_and_zero_signatures() -> None:
    raw = ES.sign(b"m")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    with pytest.raises(IntegrityError):
        ES.verifying_key().verify(b"m", der)
    with pytest.raises(IntegrityError):
        ES.verifying_key().verify(b"m", bytes(64))


def test_es256_signatures_are_malleable() -> None:
    # ECDSA accepts (r, n - s) as well (Wycheproof marks it valid): never key replay
    # protection on signature bytes; use jti.
    signature = ES.sign(b"m")
    s = int.from_bytes(signature[32:], "big")
    twin = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    ES.verifying_key().verify(b"m", twin)


def test_an_algorithm_never_verifies_the_others_signature() -> None:
    other = SigningKey.generate("ES256")
    with pytest.raises(IntegrityError):
        other.verifying_key().verify(b"m", ED.sign(b"m"))


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "ES384", "Ed25519", "eddsa", ""])
def test_only_eddsa_and_es256(alg: str) -> None:
    with pytest.raises(InvalidInput):
        SigningKey.generate(alg)


def test_default_kid_is_the_public_jwk_thumbprint() -> None:
    for key in (ED, ES):
        assert key.kid == jwk_thumbprint(key.public_jwk())
    assert SigningKey.generate("EdDSA", kid="sig-2025-01").kid == "sig-2025-01"
    with pytest.raises(InvalidInput):
        SigningKey.generate("EdDSA", kid="bad\nkid")


def test_public_jwk_members() -> None:
    ed_jwk, es_jwk = ED.public_jwk(), ES.public_jwk()
    assert set(ed_jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert set(es_jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (ed_jwk["kty"], ed_jwk["crv"], ed_jwk["alg"], ed_jwk["use"]) == (
        "OKP",
        "Ed25519",
        "EdDSA",
        "sig",
    )
    assert (es_jwk["kty"], es_jwk["crv"], es_jwk["alg"]) == ("EC", "P-256", "ES256")
    assert len(b64url_decode(es_jwk["x"])) == len(b64url_decode(es_jwk["y"])) == 32


def test_repr_shows_no_key_material() -> None:
    assert repr(ED) == f"SigningKey(alg='EdDSA', kid={ED.kid!r})"
    assert repr(ES.verifying_key()) == f"VerifyingKey(alg='ES256', kid={ES.kid!r})"


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_pkcs8_round_trip(key: SigningKey) -> None:
    restored = SigningKey.from_pkcs8(key.private_pkcs8(), alg=key.alg, kid=key.kid)
    assert restored.public_jwk() == key.public_jwk()
    key.verifying_key().verify(b"m", restored.sign(b"m"))


def test_pkcs8_must_match_its_algorithm() -> None:
    with pytest.raises(InvalidInput):
        SigningKey.from_pkcs8(ED.private_pkcs8(), alg="ES256", kid="k")
    with pytest.raises(InvalidInput):
        SigningKey.from_pkcs8(ES.private_pkcs8(), alg="EdDSA", kid="k")
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(InvalidInput):
        SigningKey.from_pkcs8(p384, alg="ES256", kid="k")


@pytest.mark.parametrize("der", [b"", b"\x30\x00", b"not a key", ED.private_pkcs8()[:-1]])
def test_pkcs8_garbage(der: bytes) -> None:
    with pytest.raises(InvalidInput):
        SigningKey.from_pkcs8(der, alg="EdDSA", kid="k")


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_jwk_round_trip(key: SigningKey) -> None:
    verifier = VerifyingKey.from_jwk(key.public_jwk())
    assert verifier.jwk == key.public_jwk()
    verifier.verify(b"m", key.sign(b"m"))


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_from_jwk_refuses_private_members(member: str) -> None:
    with pytest.raises(InvalidInput):
        VerifyingKey.from_jwk({**ED.public_jwk(), member: "AAAA"})


def _tweak(jwk: dict[str, str], **changes: Any) -> dict[str, Any]:
    return {**jwk, **changes}


def _off_curve() -> dict[str, Any]:
    jwk = ES.public_jwk()
    y = int.from_bytes(b64url_decode(jwk["y"]), "big") ^ 1
    return _tweak(jwk, y=b64url_encode(y.to_bytes(32, "big")))


@pytest.mark.parametrize(
    "jwk",
    [
        _tweak(ED.public_jwk(), crv="Ed448"),
        _tweak(ED.public_jwk(), crv="X25519"),
        _tweak(ED.public_jwk(), kty="EC"),
        _tweak(ES.public_jwk(), crv="P-384"),
        _tweak(ES.public_jwk(), crv="secp256k1"),
        _tweak(ES.public_jwk(), kty="OKP"),
        {k: v for k, v in RFC7638_RSA.items() if k != "alg"},
        {"kty": "oct", "k": "c2VjcmV0"},
        _tweak(ED.public_jwk(), x=ED.public_jwk()["x"][:-2]),  # 31 bytes
        _tweak(ED.public_jwk(), x=ED.public_jwk()["x"] + "="),  # padded base64
        _tweak(ES.public_jwk(), y=None),
        _off_curve(),  # invalid-curve attack
        _tweak(ED.public_jwk(), alg="ES256"),
        _tweak(ES.public_jwk(), alg="HS256"),
        _tweak(ED.public_jwk(), use="enc"),
        _tweak(ED.public_jwk(), key_ops=["sign"]),
        _tweak(ED.public_jwk(), kid=42),
        _tweak(ED.public_jwk(), kid=""),
        "not a mapping",
    ],
)
def test_from_jwk_refuses(jwk: Any) -> None:
    with pytest.raises(InvalidInput):
        VerifyingKey.from_jwk(jwk)
