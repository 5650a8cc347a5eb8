"""What the console asks the policy decision point before each page and action.

Every page and action is one PDP request in the policy pack's own vocabulary, decided by
the same ``PdpAuthorizer`` as the API. A page may speak for more than one role (admins
manage principals; compliance officers read the same facts as a report): the console
asks the request of a role the person holds, so one view makes one audited decision, and
asks the first request when they hold none — which the PDP then refuses.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Gate:
    """One PDP request: ``action`` on ``resource_type``/``resource_id``."""

    action: str
    resource_type: str
    resource_id: str = "*"
    role: str | None = None  # the role this request speaks for; a hint, never a decision
    sensitive: bool = False  # also needs a user verification within the freshness window


def _report(name: str) -> Gate:
    return Gate("read", "Report", name, "compliance_officer")


_MANAGE_USERS: Final = Gate("manage", "User", "*", "admin")

PAGES: Final[dict[str, tuple[Gate, ...]]] = {
    "overview": (_report("security-overview"), _MANAGE_USERS),
    "alerts": (_report("alerts"), _MANAGE_USERS),
    "principals": (_MANAGE_USERS, _report("principals")),
    "audit": (Gate("read", "AuditLog", "main", "compliance_officer"),),
    "policies": (Gate("manage", "Policy", "*", "admin"), _report("policies")),
    "access": (Gate("manage", "Role", "*", "admin"), _report("access-reviews")),
    "keys": (_report("key-inventory"),),
    "compliance": (_report("compliance"),),
}

ACTIONS: Final[dict[str, Gate]] = {
    "alert.transition": Gate("manage", "User"),
    "alert.undo": Gate("manage", "User", sensitive=True),
    "session.revoke": Gate("manage", "User", sensitive=True),
    "device.quarantine": Gate("manage", "Device", sensitive=True),
    "device.approve": Gate("manage", "Device", sensitive=True),
    "principal.reset_mfa": Gate("manage", "User", sensitive=True),
    "grant.approve": Gate("manage", "Role", "jit", sensitive=True),
    "grant.deny": Gate("manage", "Role", "jit"),
    "review.start": Gate("manage", "Role", "review"),
    "review.certify": Gate("manage", "Role", "review"),
    "review.revoke": Gate("manage", "Role", "review", sensitive=True),
    "policy.explain": Gate("manage", "Policy"),
    "policy.whatif": Gate("manage", "Policy"),
}

# Navigation: which pages to offer. Display only — every page still asks the PDP.
NAV: Final = (
    ("overview", "Overview", "/console/"),
    ("alerts", "Alerts", "/console/alerts"),
    ("principals", "Principals", "/console/principals"),
    ("audit", "Audit", "/console/audit"),
    ("policies", "Policies", "/console/policies"),
    ("access", "Access", "/console/access"),
    ("keys", "Keys", "/console/keys"),
    ("compliance", "Compliance", "/console/compliance"),
)


def choose(gates: tuple[Gate, ...], roles: Collection[str]) -> Gate:
    """The request of a role the person holds, else the first (the PDP then decides)."""
    return next((g for g in gates if g.role in roles), gates[0])


def offered(roles: Collection[str]) -> list[tuple[str, str, str]]:
    """Navigation entries whose requests speak for one of ``roles``."""
    return [n for n in NAV if any(g.role in roles for g in PAGES[n[0]])]
