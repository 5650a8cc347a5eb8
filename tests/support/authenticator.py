"""A software WebAuthn authenticator plus client, for tests and as a walk through the ceremony.

``SoftAuthenticator`` plays both the browser (it writes clientDataJSON, §5.8.1) and the
authenticator (it writes authenticator data, §6.1, and signs, §6.3.3). Its output is the
JSON form a browser's ``PublicKeyCredential.toJSON()`` produces, with every binary field
base64url-encoded without padding.

It holds ES256 keys (ECDSA P-256 with SHA-256, COSE algorithm -7) and answers with the
``none`` attestation format (§8.7). Every field an attacker controls has a knob, so a test
builds an attack by naming it: ``get(options, origin="https://evil.example")``.

Knobs applied *before* signing model a lying or compromised client or authenticator (the
signature is valid over the bad data); the ``tamper_*`` hooks apply *after* signing and
model bytes changed in transit.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# Authenticator data flags (§6.1, "flags" byte).
UP = 0x01  # user present
UV = 0x04  # user verified
BE = 0x08  # backup eligible
BS = 0x10  # backup state
AT = 0x40  # attested credential data included
ED = 0x80  # extension data included

Bytes = Callable[[bytes], bytes]


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5), as browsers encode WebAuthn JSON."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _same(data: bytes) -> bytes:
    return data


@dataclass
class SoftCredential:
    """One key pair the authenticator holds (a passkey)."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int

    def cose_public_key(self) -> bytes:
        """The public key as a COSE_Key (RFC 9053 §7.1.1): EC2, ES256, P-256, x, y."""
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


class SoftAuthenticator:
    """A platform authenticator in software, bound to one origin and RP ID by default."""

    def __init__(
        self,
        rp_id: str,
        origin: str,
        *,
        user_present: bool = True,
        user_verified: bool = True,
        sign_count_start: int = 0,
        increment: int = 1,
        aaguid: bytes = bytes(16),
    ) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.user_present = user_present
        self.user_verified = user_verified
        self.sign_count_start = sign_count_start
        self.increment = increment
        self.aaguid = aaguid
        self.credentials: dict[bytes, SoftCredential] = {}

    def clone(self) -> SoftAuthenticator:
        """A copy holding the same private keys with independent counters: a cloned key."""
        twin = copy.copy(self)
        twin.credentials = {cid: dataclasses.replace(c) for cid, c in self.credentials.items()}
        return twin

    # -- navigator.credentials.create() ------------------------------------------------

    def create(
        self,
        options: Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        rp_id_hash: bytes | None = None,
        flags: int | None = None,
        user_present: bool | None = None,
        user_verified: bool | None = None,
        client_data_type: str = "webauthn.create",
        challenge: str | None = None,
        client_data_extra: Mapping[str, Any] | None = None,
        credential_id: bytes | None = None,
        tamper_client_data: Bytes = _same,
        tamper_auth_data: Bytes = _same,
        tamper_attestation_object: Bytes = _same,
    ) -> dict[str, Any]:
        """Make a credential for ``options`` (PublicKeyCredentialCreationOptions JSON).

        Returns RegistrationResponseJSON: the attestation object (§6.5.4) holds authenticator
        data with the attested credential data (§6.5.1) and an empty ``none`` statement.
        """
        scope = rp_id or options.get("rp", {}).get("id") or self.rp_id
        credential = SoftCredential(
            credential_id=credential_id if credential_id is not None else os.urandom(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=scope,
            user_handle=b64url_decode(options["user"]["id"]),
            sign_count=self.sign_count_start,
        )
        self.credentials[credential.credential_id] = credential
        if challenge is None:
            challenge = options["challenge"]
        client_data = self.client_data(client_data_type, challenge, origin, client_data_extra)
        auth_data = self.authenticator_data(
            _sha256(scope.encode()) if rp_id_hash is None else rp_id_hash,
            self._flags(flags, user_present, user_verified) | AT,
            credential.sign_count,
            attested=self.attested_credential_data(credential),
        )
        attestation_object = cbor2.dumps(
            {"fmt": "none", "attStmt": {}, "authData": tamper_auth_data(auth_data)}
        )
        raw_id = credential.credential_id
        return {
            "id": b64url(raw_id),
            "rawId": b64url(raw_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(tamper_client_data(client_data)),
                "attestationObject": b64url(tamper_attestation_object(attestation_object)),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    # -- navigator.credentials.get() ---------------------------------------------------

    def get(
        self,
        options: Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id_hash: bytes | None = None,
        flags: int | None = None,
        user_present: bool | None = None,
        user_verified: bool | None = None,
        sign_count: int | None = None,
        client_data_type: str = "webauthn.get",
        challenge: str | None = None,
        client_data_extra: Mapping[str, Any] | None = None,
        credential_id: bytes | None = None,
        client_data_json: bytes | None = None,
        tamper_client_data: Bytes = _same,
        tamper_auth_data: Bytes = _same,
        tamper_signature: Bytes = _same,
    ) -> dict[str, Any]:
        """Sign an assertion for ``options`` (PublicKeyCredentialRequestOptions JSON).

        The signature covers ``authenticatorData || SHA-256(clientDataJSON)`` (§6.3.3 step 11).
        ``sign_count`` sets the counter for this assertion (and from then on), e.g. to regress
        it as a cloned key would; ``client_data_json`` replaces clientDataJSON outright.
        """
        credential = self._choose(options, credential_id)
        if sign_count is None:
            sign_count = credential.sign_count + self.increment
        credential.sign_count = sign_count
        if challenge is None:
            challenge = options["challenge"]
        client_data = client_data_json
        if client_data is None:
            client_data = self.client_data(client_data_type, challenge, origin, client_data_extra)
        auth_data = self.authenticator_data(
            _sha256(credential.rp_id.encode()) if rp_id_hash is None else rp_id_hash,
            self._flags(flags, user_present, user_verified),
            sign_count,
        )
        signature = credential.private_key.sign(
            auth_data + _sha256(client_data), ec.ECDSA(hashes.SHA256())
        )
        raw_id = credential.credential_id
        return {
            "id": b64url(raw_id),
            "rawId": b64url(raw_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(tamper_client_data(client_data)),
                "authenticatorData": b64url(tamper_auth_data(auth_data)),
                "signature": b64url(tamper_signature(signature)),
                "userHandle": b64url(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    # -- the byte layouts --------------------------------------------------------------

    def client_data(
        self,
        type_: str,
        challenge: str,
        origin: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bytes:
        """CollectedClientData (§5.8.1), serialised as the client does (§5.8.1.1)."""
        data: dict[str, Any] = {
            "type": type_,
            "challenge": challenge,
            "origin": origin or self.origin,
            "crossOrigin": False,
        }
        data.update(extra or {})
        return json.dumps(data, separators=(",", ":")).encode()

    @staticmethod
    def authenticator_data(
        rp_id_hash: bytes, flags: int, sign_count: int, *, attested: bytes = b""
    ) -> bytes:
        """Authenticator data (§6.1): the bytes the authenticator signs.

        ======================  ========  ====================================================
        rpIdHash                32 bytes  SHA-256 of the RP ID the credential is scoped to
        flags                   1 byte    UP (bit 0), UV (bit 2), BE (3), BS (4), AT (6), ED (7)
        signCount               4 bytes   big-endian unsigned signature counter (§6.1.1)
        attestedCredentialData  variable  present iff AT is set (§6.5.1)
        extensions              variable  CBOR map, present iff ED is set
        ======================  ========  ====================================================
        """
        return rp_id_hash + struct.pack(">BI", flags, sign_count) + attested

    def attested_credential_data(self, credential: SoftCredential) -> bytes:
        """Attested credential data (§6.5.1).

        ===================  ========  ==================================================
        aaguid               16 bytes  authenticator model (all zero: none attestation)
        credentialIdLength   2 bytes   big-endian length L of the credential ID
        credentialId         L bytes   the credential ID (at most 1023 bytes)
        credentialPublicKey  variable  COSE_Key, CBOR-encoded
        ===================  ========  ==================================================
        """
        cid = credential.credential_id
        return self.aaguid + struct.pack(">H", len(cid)) + cid + credential.cose_public_key()

    def _flags(self, flags: int | None, present: bool | None, verified: bool | None) -> int:
        if flags is not None:
            return flags
        up = self.user_present if present is None else present
        uv = self.user_verified if verified is None else verified
        return (UP if up else 0) | (UV if uv else 0)

    def _choose(self, options: Mapping[str, Any], credential_id: bytes | None) -> SoftCredential:
        """The credential to sign with: the one named, else the first allowed one we hold."""
        if credential_id is not None:
            return self.credentials[credential_id]
        allowed = [b64url_decode(c["id"]) for c in options.get("allowCredentials", [])]
        held = [c for c in allowed if c in self.credentials] if allowed else list(self.credentials)
        if not held:
            raise LookupError("no credential for these options")  # NotAllowedError in a browser
        return self.credentials[held[0]]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
