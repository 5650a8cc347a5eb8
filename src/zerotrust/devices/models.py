"""Device values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DeviceStatus = Literal["pending", "active", "quarantined", "revoked"]
TrustLevel = Literal["high", "medium", "low", "unknown"]


@dataclass(frozen=True)
class Posture:
    """What a device says about itself, in a report signed with its key."""

    os: str
    os_version: str
    patch_age_days: int
    disk_encrypted: bool
    firewall: bool
    screen_lock: bool
    endpoint_protection: bool
    collected_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "os": self.os,
            "os_version": self.os_version,
            "patch_age_days": self.patch_age_days,
            "disk_encrypted": self.disk_encrypted,
            "firewall": self.firewall,
            "screen_lock": self.screen_lock,
            "endpoint_protection": self.endpoint_protection,
            "collected_at": self.collected_at,
        }


@dataclass(frozen=True)
class Device:
    """An enrolled device; the private key never leaves it."""

    id: str
    owner_id: str
    name: str
    jkt: str
    public_jwk: dict[str, Any]
    status: DeviceStatus
    created_at: float
    approved_by: str | None = None
    posture: Posture | None = None
    posture_received_at: float | None = None


@dataclass(frozen=True)
class Trust:
    """The derived trust level and why."""

    level: TrustLevel
    reasons: tuple[str, ...] = field(default=())
    patch_age_days: int | None = None
