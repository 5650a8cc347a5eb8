"""Bounded, strict parsing of WebAuthn responses before any library code sees them.

Every client-supplied byte is size-checked and parsed here into py_webauthn's structs;
anything malformed is a ``MalformedResponse`` (a 400), never another exception. The
errors of the ceremonies live here too, so parsing and verification share one tree.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from webauthn.helpers import (
    bytes_to_base64url,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_authenticator_data,
    parse_cbor,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    AuthenticatorTransport,
    RegistrationCredential,
)

from zerotrust.core.errors import InvalidInput

MAX_CREDENTIAL_JSON = 64 * 1024
MAX_CLIENT_DATA_JSON = 16 * 1024
MAX_CREDENTIAL_ID = 1023  # §4 (Credential ID): at most 1023 bytes.
MAX_USER_HANDLE = 64  # §5.4.3: a user handle is at most 64 bytes.
MAX_SIGNATURE = 8 * 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)
T = TypeVar("T")


class WebAuthnRejected(InvalidInput):
    """A passkey ceremony response did not verify; the edge answers 400."""

    code = "webauthn_rejected"
    message = "The passkey response was rejected."


class ChallengeInvalid(WebAuthnRejected):
    """The challenge is unknown, used, expired, for another principal or another ceremony."""

    code = "challenge_invalid"
    message = "The passkey challenge is not valid; start again."


class UserVerificationRequired(WebAuthnRejected):
    """User verification was demanded but the authenticator did not set the UV flag."""

    code = "uv_required"
    message = "User verification (PIN or biometric) is required."


class OriginMismatch(WebAuthnRejected):
    """clientDataJSON names an origin this relying party does not serve (§7.2 step 13)."""

    code = "origin_mismatch"
    message = "The passkey response came from an unexpected origin."


class RpIdMismatch(WebAuthnRejected):
    """authenticatorData was scoped to another RP ID (§7.2 step 15)."""

    code = "rp_id_mismatch"
    message = "The passkey response is for another site."


class PossibleClonedAuthenticator(WebAuthnRejected):
    """The signature counter did not increase (§6.1.1): the key may have been cloned."""

    code = "possible_cloned_authenticator"
    message = "The passkey was rejected."


class CredentialUnknown(WebAuthnRejected):
    """The credential is not registered to the principal (nor its owner disclosed)."""

    code = "credential_unknown"
    message = "The passkey is not registered to this account."


class CredentialExists(WebAuthnRejected):
    """The credential ID is already registered (§7.1 step 22)."""

    code = "credential_exists"
    message = "This passkey is already registered."


class MalformedResponse(WebAuthnRejected):
    """Bad JSON, base64url, CBOR or structure, a wrong type, or oversized data."""

    code = "malformed"
    message = "The passkey response is malformed."


class NameInvalid(WebAuthnRejected):
    """The passkey's display name is empty, too long or holds control characters."""

    code = "name_invalid"
    message = "The passkey name is not valid."


@dataclass(frozen=True)
class ClientData:
    """The fields of CollectedClientData (§5.8.1) this module checks itself."""

    type: str
    challenge: bytes
    origin: str
    cross_origin: bool


def load_credential(credential: object) -> Mapping[str, Any]:
    """The credential as a mapping, bounded before any parsing work."""
    data: object = credential
    if isinstance(credential, str):
        if len(credential) > MAX_CREDENTIAL_JSON:
            raise MalformedResponse
        try:
            data = json.loads(credential)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[…"
            raise MalformedResponse from exc
    if not isinstance(data, Mapping):
        raise MalformedResponse
    return data


def b64decode(value: object, *, limit: int = MAX_CREDENTIAL_JSON) -> bytes:
    """Strict base64url (RFC 4648 §5), padding optional, at most ``limit`` bytes decoded."""
    if not isinstance(value, str) or len(value) > (limit * 4 + 2) // 3 + 2:
        raise MalformedResponse
    if not _BASE64URL.fullmatch(value) or len(value.rstrip("=")) % 4 == 1:
        raise MalformedResponse
    return base64.urlsafe_b64decode(value.rstrip("=") + "==")


def credential_fields(data: Mapping[str, Any]) -> tuple[str, bytes, Mapping[str, Any]]:
    """The canonical id, rawId and response of a PublicKeyCredential (§5.1) JSON form."""
    if data.get("type") != "public-key":
        raise MalformedResponse
    response = data.get("response")
    if not isinstance(response, Mapping):
        raise MalformedResponse
    fields = [data.get("id"), data.get("rawId"), *response.values()]
    if sum(len(v) for v in fields if isinstance(v, str)) > MAX_CREDENTIAL_JSON:
        raise MalformedResponse
    raw_id = b64decode(data.get("rawId"), limit=MAX_CREDENTIAL_ID)
    if not raw_id or data.get("id") != bytes_to_base64url(raw_id):
        raise MalformedResponse
    return bytes_to_base64url(raw_id), raw_id, response


def parse_registration(data: Mapping[str, Any]) -> RegistrationCredential:
    cred_id, raw_id, response = credential_fields(data)
    return RegistrationCredential(
        id=cred_id,
        raw_id=raw_id,
        response=AuthenticatorAttestationResponse(
            client_data_json=b64decode(response.get("clientDataJSON"), limit=MAX_CLIENT_DATA_JSON),
            attestation_object=b64decode(response.get("attestationObject")),
            transports=transports(response.get("transports")),
        ),
    )


def parse_assertion(data: Mapping[str, Any]) -> AuthenticationCredential:
    cred_id, raw_id, response = credential_fields(data)
    handle = response.get("userHandle")
    return AuthenticationCredential(
        id=cred_id,
        raw_id=raw_id,
        response=AuthenticatorAssertionResponse(
            client_data_json=b64decode(response.get("clientDataJSON"), limit=MAX_CLIENT_DATA_JSON),
            authenticator_data=b64decode(response.get("authenticatorData")),
            signature=b64decode(response.get("signature"), limit=MAX_SIGNATURE),
            user_handle=None if handle is None else b64decode(handle, limit=MAX_USER_HANDLE),
        ),
    )


def transports(value: object) -> list[AuthenticatorTransport]:
    """Known transport hints only (§5.8.4); they are hints, so unknown ones are dropped."""
    if not isinstance(value, list) or len(value) > len(TRANSPORTS):
        return []
    known = [t for t in value if isinstance(t, str) and t in TRANSPORTS]
    return [AuthenticatorTransport(t) for t in dict.fromkeys(known)]


def parse_client_data(raw: bytes) -> ClientData:
    """CollectedClientData (§5.8.1), parsed here so the challenge can be looked up first."""
    if len(raw) > MAX_CLIENT_DATA_JSON:
        raise MalformedResponse
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError covers UnicodeDecodeError.
        raise MalformedResponse from exc
    if not isinstance(data, dict):
        raise MalformedResponse
    kind, challenge, origin = data.get("type"), data.get("challenge"), data.get("origin")
    if not isinstance(kind, str) or not isinstance(origin, str):
        raise MalformedResponse
    return ClientData(
        type=kind,
        challenge=b64decode(challenge),
        origin=origin,
        # Anything but an absent or false crossOrigin counts as cross-origin: fail closed.
        cross_origin=data.get("crossOrigin", False) is not False,
    )


def attested_auth_data(parsed: RegistrationCredential) -> AuthenticatorData:
    """authData from the attestation object (§6.5.4), type-checked before the library sees it."""
    attestation = guarded(parse_cbor, parsed.response.attestation_object)
    # py_webauthn passes authData to bytes(): an integer there would allocate that many bytes.
    if (
        not isinstance(attestation, dict)
        or not isinstance(attestation.get("authData"), bytes)
        or not isinstance(attestation.get("fmt"), str)
        or not isinstance(attestation.get("attStmt", {}), dict)
    ):
        raise MalformedResponse
    return guarded(parse_authenticator_data, attestation["authData"])


def load_public_key(cose_key: bytes) -> object:
    """The key as the login ceremony will load it; a point off its curve fails here, not later."""
    return decoded_public_key_to_cryptography(decode_credential_public_key(cose_key))


def guarded(parse: Callable[[bytes], T], raw: bytes) -> T:
    """Run a py_webauthn parser on client bytes; any failure is malformed input."""
    try:
        return parse(raw)
    except Exception as exc:  # Client bytes: nothing else may escape.
        raise MalformedResponse from exc
