"""Passkeys: the WebAuthn Level 2 registration (§7.1) and authentication (§7.2) ceremonies.

py_webauthn verifies the signatures, the attestation statement and the flags; it is never
re-implemented here. This module owns what the library leaves to the relying party:

- single-use, server-stored challenges that expire (§13.4.3), so a captured response
  cannot be replayed;
- bounding and strictly parsing every client-supplied byte before library code sees it,
  so malformed input is a ``WebAuthnRejected`` (a 400) and never another exception;
- binding the credential to the principal logging in (§7.2 step 6);
- the signature counter (§6.1.1), judged only on signed data, with an audit alert when
  it suggests a cloned authenticator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authenticator_data,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorData,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import ConfigError, Conflict
from zerotrust.identity.interfaces import ChallengeStore, WebAuthnCredentialRepo
from zerotrust.identity.models import Challenge, Principal, WebAuthnCredential
from zerotrust.identity.webauthn_parsing import (
    TRANSPORTS,
    ChallengeInvalid,
    ClientData,
    CredentialExists,
    CredentialUnknown,
    MalformedResponse,
    NameInvalid,
    OriginMismatch,
    PossibleClonedAuthenticator,
    RpIdMismatch,
    UserVerificationRequired,
    WebAuthnRejected,
    attested_auth_data,
    b64decode,
    guarded,
    load_credential,
    load_public_key,
    parse_assertion,
    parse_client_data,
    parse_registration,
)

__all__ = [
    "ChallengeInvalid",
    "CredentialExists",
    "CredentialUnknown",
    "MalformedResponse",
    "NameInvalid",
    "OriginMismatch",
    "PossibleClonedAuthenticator",
    "RpIdMismatch",
    "UserVerificationRequired",
    "VerifiedPasskey",
    "WebAuthnRejected",
    "WebAuthnService",
]

CHALLENGE_BYTES = 32
MAX_NAME = 128

Purpose = Literal["register", "authenticate"]
T = TypeVar("T")


@dataclass(frozen=True)
class VerifiedPasskey:
    """A successful assertion; the caller maps ``user_verified`` to an AAL."""

    credential_id: str
    user_verified: bool
    new_sign_count: int


class WebAuthnService:
    """Issues options and verifies responses for one relying party."""

    def __init__(
        self,
        *,
        rp_id: str,
        rp_name: str,
        expected_origins: Sequence[str],
        credentials: WebAuthnCredentialRepo,
        challenges: ChallengeStore,
        clock: Clock,
        audit: AuditRecorder,
        challenge_ttl_s: int = 300,
    ) -> None:
        if not rp_id or not rp_name or not expected_origins or challenge_ttl_s <= 0:
            raise ConfigError("WebAuthn needs an RP ID, an RP name, origins and a TTL.")
        self._rp_id = rp_id
        self._rp_name = rp_name
        self._rp_id_hash = hashlib.sha256(rp_id.encode("utf-8")).digest()
        self._origins = tuple(expected_origins)
        self._credentials = credentials
        self._challenges = challenges
        self._clock = clock
        self._audit = audit
        self._ttl_s = challenge_ttl_s

    def registration_options(
        self, principal: Principal, *, require_uv: bool = False
    ) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptions (§5.4) as JSON-ready data."""
        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name=self._rp_name,
            user_id=_user_handle(principal),
            user_name=principal.name,
            user_display_name=principal.display_name,
            challenge=self._issue(principal, "register", require_uv=require_uv),
            timeout=self._ttl_s * 1000,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=_uv_requirement(require_uv),
            ),
            exclude_credentials=self._descriptors(principal),
        )
        return _to_json(options_to_json(options))

    def verify_registration(
        self, principal: Principal, credential: Mapping[str, Any] | str, *, name: str
    ) -> WebAuthnCredential:
        """Verify an attestation (§7.1) and store the new credential; return it."""
        label = _checked_name(name)
        parsed = parse_registration(load_credential(credential))
        client_data = parse_client_data(parsed.response.client_data_json)
        challenge = self._take(client_data, principal, "register")
        self._check_client_data(client_data, "webauthn.create")
        self._check_authenticator_data(attested_auth_data(parsed), require_uv=challenge.require_uv)
        verified = _library(
            verify_registration_response,
            credential=parsed,
            expected_challenge=client_data.challenge,
            expected_rp_id=self._rp_id,
            expected_origin=list(self._origins),
            require_user_verification=challenge.require_uv,
        )
        # The library compares id with rawId but not rawId with the attested credential ID;
        # storing a key under an ID the authenticator never issued would confuse later lookups.
        if not hmac.compare_digest(verified.credential_id, parsed.raw_id):
            raise MalformedResponse
        guarded(load_public_key, verified.credential_public_key)
        stored = WebAuthnCredential(
            credential_id=parsed.id,
            principal_id=principal.id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=label,
            transports=tuple(t.value for t in parsed.response.transports or ()),
            aaguid=verified.aaguid,
            created_at=self._clock.now(),
        )
        return self._add(stored)

    def authentication_options(
        self, principal: Principal, *, require_uv: bool = False
    ) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptions (§5.5) limited to the principal's credentials."""
        options = generate_authentication_options(
            rp_id=self._rp_id,
            challenge=self._issue(principal, "authenticate", require_uv=require_uv),
            timeout=self._ttl_s * 1000,
            allow_credentials=self._descriptors(principal),
            user_verification=_uv_requirement(require_uv),
        )
        return _to_json(options_to_json(options))

    def verify_authentication(
        self, principal: Principal, credential: Mapping[str, Any] | str
    ) -> VerifiedPasskey:
        """Verify an assertion (§7.2) by one of the principal's credentials."""
        parsed = parse_assertion(load_credential(credential))
        client_data = parse_client_data(parsed.response.client_data_json)
        challenge = self._take(client_data, principal, "authenticate")
        self._check_client_data(client_data, "webauthn.get")
        stored = self._owned(principal, parsed)
        auth_data = guarded(parse_authenticator_data, parsed.response.authenticator_data)
        self._check_authenticator_data(auth_data, require_uv=challenge.require_uv)
        # The counter is judged below, after the signature: the library checks it first, so
        # an unsigned forgery with a low counter could otherwise raise a clone alarm.
        verified = _library(
            verify_authentication_response,
            credential=parsed,
            expected_challenge=client_data.challenge,
            expected_rp_id=self._rp_id,
            expected_origin=list(self._origins),
            credential_public_key=stored.public_key,
            credential_current_sign_count=0,
            require_user_verification=challenge.require_uv,
        )
        self._check_counter(principal, stored, verified.new_sign_count)
        return VerifiedPasskey(
            stored.credential_id, verified.user_verified, verified.new_sign_count
        )

    def _issue(self, principal: Principal, purpose: Purpose, *, require_uv: bool) -> bytes:
        raw = secrets.token_bytes(CHALLENGE_BYTES)
        self._challenges.put(
            Challenge(
                digest=hashlib.sha256(raw).hexdigest(),
                principal_id=principal.id,
                purpose=purpose,
                require_uv=require_uv,
                expires_at=self._clock.now() + self._ttl_s,
            )
        )
        return raw

    def _take(self, client_data: ClientData, principal: Principal, purpose: Purpose) -> Challenge:
        # take() removes the challenge whatever happens next: one response per challenge,
        # so a captured response (even one with signCount 0) cannot be replayed.
        if len(client_data.challenge) != CHALLENGE_BYTES:
            raise ChallengeInvalid
        challenge = self._challenges.take(hashlib.sha256(client_data.challenge).hexdigest())
        if (
            challenge is None
            or self._clock.now() >= challenge.expires_at
            or challenge.principal_id != principal.id
            or challenge.purpose != purpose
        ):
            raise ChallengeInvalid
        return challenge

    def _check_client_data(self, client_data: ClientData, expected_type: str) -> None:
        # §7.2 step 11: a webauthn.create response offered as an assertion is not one.
        if client_data.type != expected_type:
            raise MalformedResponse
        # §7.2 step 13; a cross-origin iframe is not an origin we serve either.
        if client_data.origin not in self._origins or client_data.cross_origin:
            raise OriginMismatch

    def _check_authenticator_data(self, auth_data: AuthenticatorData, *, require_uv: bool) -> None:
        if not hmac.compare_digest(auth_data.rp_id_hash, self._rp_id_hash):
            raise RpIdMismatch
        if require_uv and not auth_data.flags.uv:
            raise UserVerificationRequired

    def _owned(self, principal: Principal, parsed: AuthenticationCredential) -> WebAuthnCredential:
        # §7.2 step 6: a credential bound to another account must not log this one in, and
        # the answer must not reveal that the credential exists elsewhere.
        stored = self._credentials.get(parsed.id)
        if stored is None or stored.principal_id != principal.id:
            raise CredentialUnknown
        handle = parsed.response.user_handle
        if handle is not None and not hmac.compare_digest(handle, _user_handle(principal)):
            raise CredentialUnknown
        return stored

    def _check_counter(self, principal: Principal, stored: WebAuthnCredential, new: int) -> None:
        # §6.1.1: a counter that does not grow means two copies of the private key exist.
        # Both zero means the authenticator keeps no counter, which the spec allows.
        if (stored.sign_count > 0 or new > 0) and new <= stored.sign_count:
            self._audit.append(
                AuditRecord(
                    action="webauthn.clone_suspected",
                    actor=principal.id,
                    outcome="failure",
                    resource=f"webauthn_credential:{stored.credential_id}",
                    reason=PossibleClonedAuthenticator.code,
                    details={"stored_sign_count": stored.sign_count, "presented_sign_count": new},
                )
            )
            raise PossibleClonedAuthenticator
        # Compare-and-set: of two assertions racing on one credential, the loser is a replay.
        if not self._credentials.update_sign_count(
            stored.credential_id, expected_old=stored.sign_count, new=new, now=self._clock.now()
        ):
            raise ChallengeInvalid

    def _descriptors(self, principal: Principal) -> list[PublicKeyCredentialDescriptor]:
        return [
            PublicKeyCredentialDescriptor(
                id=b64decode(c.credential_id),
                transports=[AuthenticatorTransport(t) for t in c.transports if t in TRANSPORTS],
            )
            for c in self._credentials.for_principal(principal.id)
        ]

    def _add(self, credential: WebAuthnCredential) -> WebAuthnCredential:
        if self._credentials.get(credential.credential_id) is not None:
            raise CredentialExists
        try:
            self._credentials.add(credential)
        except Conflict as exc:  # registered concurrently
            raise CredentialExists from exc
        return credential


def _user_handle(principal: Principal) -> bytes:
    """The user handle (§5.4.3): the opaque principal id, never a name or an email."""
    return principal.id.encode("utf-8")


def _uv_requirement(require_uv: bool) -> UserVerificationRequirement:
    if require_uv:
        return UserVerificationRequirement.REQUIRED
    return UserVerificationRequirement.PREFERRED


def _to_json(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data


def _checked_name(name: str) -> str:
    label = name.strip() if isinstance(name, str) else ""
    if not 0 < len(label) <= MAX_NAME or any(
        unicodedata.category(ch).startswith("C") for ch in label
    ):
        raise NameInvalid
    return label


def _library(verify: Callable[..., T], **kwargs: Any) -> T:
    """Call a py_webauthn verifier; every failure becomes the generic rejection.

    Besides its own errors the library lets ``KeyError``, ``TypeError`` and cryptography's
    exceptions escape on some malformed keys and attestation statements, so all are caught
    here; the cause stays chained for debugging and is never shown to the client.
    """
    try:
        return verify(**kwargs)
    except Exception as exc:  # See the docstring.
        raise WebAuthnRejected from exc
