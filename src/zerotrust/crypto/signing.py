"""Digital signatures for JOSE: EdDSA/Ed25519 (RFC 8032, RFC 8037) and ES256 (RFC 7518 §3.4).

The algorithm belongs to the key, never to a message: a ``VerifyingKey`` knows its one
``alg`` and verifies nothing else, so an attacker cannot choose the algorithm. JWKs follow
RFC 7517/7518 (EC) and RFC 8037 (OKP); thumbprints follow RFC 7638.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.encoding import b64url_decode, b64url_encode

__all__ = [
    "ALGORITHMS",
    "SigningKey",
    "VerifyingKey",
    "jwk_thumbprint",
]

ALGORITHMS = ("EdDSA", "ES256")
_COORD = 32  # Bytes per P-256 coordinate and scalar; also the Ed25519 public key size.
_SIGNATURE_SIZE = 64  # Ed25519 R||S and JOSE ES256 r||s (RFC 7518 §3.4) are both 64 bytes.
_MAX_KID = 128
# Members that make a JWK private or symmetric (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2 and RFC 8037 §2: the members a thumbprint hashes, per key type.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}

_PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
_PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url: required members, sorted, no whitespace."""
    if not isinstance(jwk, Mapping):
        raise InvalidInput("A JWK must be a JSON object.")
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InvalidInput("Unsupported JWK key type for a thumbprint.")
    required = {name: jwk.get(name) for name in members}
    if not all(isinstance(value, str) and value for value in required.values()):
        raise InvalidInput("The JWK lacks a member its thumbprint needs.")
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def _check_alg(alg: str) -> None:
    if alg not in ALGORITHMS:
        raise InvalidInput("Unsupported signature algorithm.")


def _check_kid(kid: object) -> str:
    if not (
        isinstance(kid, str) and 1 <= len(kid) <= _MAX_KID and kid.isascii() and kid.isprintable()
    ):
        raise InvalidInput("Key id must be 1-128 printable ASCII characters.")
    return kid


def _public_members(public: _PublicKey) -> dict[str, str]:
    """The JWK members that describe ``public`` (RFC 8037 §2, RFC 7518 §6.2.1)."""
    if isinstance(public, Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    numbers = public.public_numbers()
    # RFC 7518 §6.2.1.2: coordinates are always the full 32 bytes, leading zeros kept.
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(_COORD, "big")),
        "y": b64url_encode(numbers.y.to_bytes(_COORD, "big")),
    }


def _matches_alg(key: _PrivateKey | _PublicKey, alg: str) -> bool:
    if alg == "EdDSA":
        return isinstance(key, Ed25519PrivateKey | Ed25519PublicKey)
    return isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    )


class VerifyingKey:
    """A public key pinned to one algorithm; ``verify`` raises ``IntegrityError`` on failure."""

    __slots__ = ("_alg", "_kid", "_public")

    def __init__(self, public: _PublicKey, *, alg: str, kid: str) -> None:
        _check_alg(alg)
        if not _matches_alg(public, alg):
            raise InvalidInput("The key does not match its algorithm.")
        self._public = public
        self._alg = alg
        self._kid = _check_kid(kid)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> VerifyingKey:
        """Import a public OKP/Ed25519 or EC/P-256 JWK; anything else raises ``InvalidInput``.

        A JWK with private members is refused outright: accepting one would mean a private
        key travelled somewhere it should never be.
        """
        if not isinstance(jwk, Mapping):
            raise InvalidInput("A JWK must be a JSON object.")
        if _PRIVATE_MEMBERS & set(jwk):
            raise InvalidInput("The JWK holds private key members.")
        kty, crv = jwk.get("kty"), jwk.get("crv")
        public: _PublicKey
        if kty == "OKP" and crv == "Ed25519":
            alg, public = "EdDSA", _ed25519_from_jwk(jwk)
        elif kty == "EC" and crv == "P-256":
            alg, public = "ES256", _p256_from_jwk(jwk)
        else:
            raise InvalidInput("Only OKP/Ed25519 and EC/P-256 keys are accepted.")
        _check_jwk_usage(jwk, alg)
        kid = jwk.get("kid")
        return cls(public, alg=alg, kid=jwk_thumbprint(jwk) if kid is None else kid)

    @property
    def alg(self) -> str:
        """The one JWS algorithm this key verifies."""
        return self._alg

    @property
    def kid(self) -> str:
        """The key id tokens name in their header."""
        return self._kid

    @property
    def jwk(self) -> dict[str, str]:
        """The public JWK, with ``kid``, ``alg`` and ``use`` (a fresh copy)."""
        return {**_public_members(self._public), "kid": self._kid, "alg": self._alg, "use": "sig"}

    def verify(self, data: bytes, signature: bytes) -> None:
        """Verify ``signature`` over ``data``; any failure raises ``IntegrityError``."""
        # Both algorithms have fixed-size signatures; anything else is malformed, not parsed.
        if len(signature) != _SIGNATURE_SIZE:
            raise IntegrityError
        try:
            if isinstance(self._public, Ed25519PublicKey):
                self._public.verify(signature, data)
            else:
                r = int.from_bytes(signature[:_COORD], "big")
                s = int.from_bytes(signature[_COORD:], "big")
                der = encode_dss_signature(r, s)
                self._public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise IntegrityError from None

    def __repr__(self) -> str:
        return f"VerifyingKey(alg={self._alg!r}, kid={self._kid!r})"


def _coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidInput("The JWK lacks a key coordinate.")
    raw = b64url_decode(value)
    if len(raw) != _COORD:
        raise InvalidInput("The JWK key coordinate has the wrong length.")
    return raw


def _ed25519_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_coordinate(jwk, "x"))


def _p256_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    x = int.from_bytes(_coordinate(jwk, "x"), "big")
    y = int.from_bytes(_coordinate(jwk, "y"), "big")
    try:
        # Checks the point is on the curve: off-curve points enable invalid-curve attacks.
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError:
        raise InvalidInput("The JWK is not a point on P-256.") from None


def _check_jwk_usage(jwk: Mapping[str, Any], alg: str) -> None:
    """Honour ``alg``, ``use`` and ``key_ops`` when the JWK states them (RFC 7517 §4)."""
    if jwk.get("alg", alg) != alg:
        raise InvalidInput("The JWK names a different algorithm.")
    if jwk.get("use", "sig") != "sig":
        raise InvalidInput("The JWK is not a signature key.")
    key_ops = jwk.get("key_ops", ["verify"])
    if not isinstance(key_ops, list) or "verify" not in key_ops:
        raise InvalidInput("The JWK may not verify signatures.")


class SigningKey:
    """A private signing key pinned to one algorithm; repr and JWK never show private parts."""

    __slots__ = ("_alg", "_kid", "_private")

    def __init__(self, private: _PrivateKey, *, alg: str, kid: str | None = None) -> None:
        _check_alg(alg)
        if not _matches_alg(private, alg):
            raise InvalidInput("The key does not match its algorithm.")
        self._private = private
        self._alg = alg
        members = _public_members(private.public_key())
        self._kid = jwk_thumbprint(members) if kid is None else _check_kid(kid)

    @classmethod
    def generate(cls, alg: str, *, kid: str | None = None) -> SigningKey:
        """A fresh key for ``alg``; ``kid`` defaults to the RFC 7638 thumbprint."""
        _check_alg(alg)
        if alg == "EdDSA":
            return cls(Ed25519PrivateKey.generate(), alg=alg, kid=kid)
        return cls(ec.generate_private_key(ec.SECP256R1()), alg=alg, kid=kid)

    @classmethod
    def from_pkcs8(cls, der: bytes, *, alg: str, kid: str) -> SigningKey:
        """Load an unencrypted PKCS#8 DER key (RFC 5208, RFC 8410) for ``alg``."""
        try:
            private = serialization.load_der_private_key(der, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise InvalidInput("Not an unencrypted PKCS#8 private key.") from None
        if not isinstance(private, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise InvalidInput("The key does not match its algorithm.")
        return cls(private, alg=alg, kid=kid)

    @property
    def alg(self) -> str:
        """The one JWS algorithm this key signs with."""
        return self._alg

    @property
    def kid(self) -> str:
        """The key id put in each token header."""
        return self._kid

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``: 64 bytes, Ed25519 R||S or JOSE raw r||s for ES256 (RFC 7518 §3.4)."""
        if isinstance(self._private, Ed25519PrivateKey):
            return self._private.sign(data)
        r, s = decode_dss_signature(self._private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")

    def public_jwk(self) -> dict[str, str]:
        """The public JWK with ``kid``, ``alg`` and ``use: sig``; never private members."""
        return self.verifying_key().jwk

    def private_pkcs8(self) -> bytes:
        """Unencrypted PKCS#8 DER: seal it with the AEAD before it touches storage."""
        return self._private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def verifying_key(self) -> VerifyingKey:
        """The matching public key, same ``alg`` and ``kid``."""
        return VerifyingKey(self._private.public_key(), alg=self._alg, kid=self._kid)

    def __repr__(self) -> str:
        return f"SigningKey(alg={self._alg!r}, kid={self._kid!r})"
