"""Identity's domain values. Immutable; repositories return them, services act on them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

PrincipalKind = Literal["user", "service"]
PrincipalStatus = Literal["active", "disabled"]

# Roles of the default policy pack. Workload roles are held by service accounts.
USER_ROLES = frozenset(
    {
        "admin",
        "fraud_analyst",
        "data_scientist",
        "support_agent",
        "compliance_officer",
        "developer",
    }
)
WORKLOAD_KINDS = frozenset({"fraud_model", "credit_model", "analytics", "agent"})
PRIVILEGED_ROLES = frozenset({"admin"})


def name_key(name: str) -> str:
    """The case-insensitive key of a username: NFKC, then case-folded.

    ``Alice``, ``alice`` and ``ALICE`` map to one key, so they share one account and one
    lockout counter.
    """
    return unicodedata.normalize("NFKC", name).casefold().strip()


@dataclass(frozen=True)
class Principal:
    """A user or a service account (an AI workload)."""

    id: str
    kind: PrincipalKind
    name: str
    display_name: str
    status: PrincipalStatus
    roles: tuple[str, ...]
    created_at: float
    workload_kind: str | None = None
    purposes: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class TotpRecord:
    """A principal's TOTP enrolment; the secret stays sealed until verification."""

    principal_id: str
    secret_envelope: bytes
    status: Literal["pending", "active"]
    last_used_step: int


@dataclass(frozen=True)
class WebAuthnCredential:
    """A registered passkey (public key only)."""

    credential_id: str  # base64url, as the browser reports it
    principal_id: str
    public_key: bytes  # COSE
    sign_count: int
    name: str
    transports: tuple[str, ...]
    aaguid: str
    created_at: float
    last_used_at: float | None = None


@dataclass(frozen=True)
class Challenge:
    """A single-use WebAuthn challenge held server-side."""

    digest: str  # SHA-256 hex of the challenge bytes
    principal_id: str
    purpose: Literal["register", "authenticate"]
    require_uv: bool
    expires_at: float


@dataclass(frozen=True)
class LoginAttempt:
    """A login whose password verified and whose second factor is pending."""

    token_hash: str
    principal_id: str
    created_at: float
    expires_at: float
    src_ip: str | None


@dataclass(frozen=True)
class Session:
    """A server-side session; the access token names it (``sid``) and dies with it."""

    id: str
    principal_id: str
    created_at: float
    last_seen_at: float
    auth_time: float
    aal: int
    amr: tuple[str, ...]
    device_id: str | None = None
    src_ip: str | None = None
    user_agent: str | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None
    jkt: str | None = None  # the DPoP key (RFC 9449) every token of this session is bound to


@dataclass(frozen=True)
class RefreshToken:
    """The stored form of an opaque rotating refresh token."""

    token_hash: str
    session_id: str
    family_id: str
    created_at: float
    expires_at: float
    used_at: float | None = None


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as the edge determined it (trusted peer address)."""

    src_ip: str | None = None
    user_agent: str | None = None
    device_id: str | None = None
    jkt: str | None = None  # thumbprint of the key that signed the request's DPoP proof


@dataclass(frozen=True)
class TokenSet:
    """What a completed login returns."""

    access_token: str
    expires_in: int
    refresh_token: str
    aal: int
    session_id: str
    token_type: str = "DPoP"  # noqa: S105 - a scheme name, not a secret
    amr: tuple[str, ...] = field(default=())
