"""Sign-in ceremonies in progress, shared by every replica of the control plane.

A passkey sign-in waits here for its device link, and a passkey enrolment between its
password, code and passkey steps, each for a few minutes at most. The browser holds only
an opaque token for its ceremony, in an HttpOnly cookie; a store keeps the token's
SHA-256 and the link code's, never either in clear, and nothing secret besides: the
enrolment's second-factor token stays in the browser's own cookie.

Any replica may continue a ceremony another one started, so a control plane behind a
load balancer needs no sticky sessions. Each step forward (taking the ceremony, linking
a device, passing the second factor) is one conditional statement: of two replicas
racing on the same ceremony, only one wins.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal, Protocol

CeremonyKind = Literal["signin", "enrol"]

# Link codes avoid look-alike characters (0/O, 1/I/L) so they survive being read aloud.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Ceremony:
    """One ceremony in progress, bound to the browser key that started it (``jkt``)."""

    kind: CeremonyKind
    principal_id: str
    jkt: str
    src_ip: str | None
    expires_at: float
    device_id: str | None = None  # set when the owner's enrolled device confirms the link
    second_factor_done: bool = False  # enrolment: the authenticator code was accepted


class CeremonyStore(Protocol):
    """Where ceremonies wait between two requests (``store.ceremonies_repo``)."""

    def start(self, ceremony: Ceremony, *, with_code: bool = False) -> tuple[str, str]:
        """Store ``ceremony``; return the browser's opaque token and, ``with_code``, a
        new link code for the person's device agent (else ``""``)."""

    def get(self, token: str | None) -> Ceremony | None:
        """The live ceremony the token names, or None."""

    def take(self, token: str | None) -> Ceremony | None:
        """Remove and return it (single use): of two racing completions, one wins."""

    def by_code(self, code: str) -> Ceremony | None:
        """The live ceremony waiting for this link code, or None."""

    def link(self, code: str, device_id: str) -> bool:
        """Record the device on the sign-in waiting for ``code``, unless one already
        is (or it has ended); True if this call linked it."""

    def pass_second_factor(self, token: str | None) -> bool:
        """Mark an enrolment's second factor as passed, once; True if this call did."""


def new_link_code() -> str:
    """``XXXX-XXXX``: 40 bits from the CSPRNG, single use, valid for the ceremony only."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    """The code as issued, whatever the case, spacing or dashes it was typed with."""
    compact = "".join(ch for ch in code.upper() if ch.isalnum())[:CODE_LENGTH]
    return f"{compact[:4]}-{compact[4:]}"
