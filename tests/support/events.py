"""Security events for tests that feed detection directly."""

from __future__ import annotations

from zerotrust.core.events import SecurityEvent


def denied_access(ts: float, n: int, principal: str = "mallory") -> SecurityEvent:
    """The ``n``-th denied read of a customer by ``principal`` (a fraud analyst) at ``ts``."""
    return SecurityEvent.at(
        ts,
        kind="access",
        principal=principal,
        outcome="denied",
        principal_roles=("fraud_analyst",),
        src_ip="192.0.2.10",
        action="read",
        resource_type="customer",
        resource=f"cus_{n}",
    )
