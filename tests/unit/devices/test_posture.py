"""Trust levels from posture: fail closed on anything missing, stale or unsigned."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zerotrust.crypto.signing import SigningKey
from zerotrust.devices.models import Device, Posture
from zerotrust.devices.posture import (
    PostureInvalid,
    TrustPolicy,
    assess,
    sign_posture,
    verify_posture,
)

NOW = 1_767_225_600.0
KEY = SigningKey.generate("ES256")
HEALTHY = Posture(
    os="debian",
    os_version="12",
    patch_age_days=3,
    disk_encrypted=True,
    firewall=True,
    screen_lock=True,
    endpoint_protection=True,
    collected_at=NOW,
)


def _device(**changes: object) -> Device:
    base = Device(
        id="dev_1",
        owner_id="usr_1",
        name="laptop",
        jkt="x",
        public_jwk=dict(KEY.public_jwk()),
        status="active",
        created_at=NOW,
        posture=HEALTHY,
        posture_received_at=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("device", "level", "reason"),
    [
        (None, "unknown", "device_not_enrolled"),
        (_device(status="pending"), "unknown", "device_pending"),
        (_device(status="revoked"), "unknown", "device_revoked"),
        (_device(status="quarantined"), "low", "device_quarantined"),
        (_device(posture=None, posture_received_at=None), "unknown", "posture_missing"),
        (_device(posture=replace(HEALTHY, collected_at=NOW - 4300)), "unknown", "posture_stale"),
        (_device(posture=replace(HEALTHY, patch_age_days=45)), "low", "patch_too_old"),
        (_device(posture=replace(HEALTHY, disk_encrypted=False)), "low", "disk_not_encrypted"),
        (_device(posture=replace(HEALTHY, screen_lock=False)), "low", "no_screen_lock"),
        (_device(posture=replace(HEALTHY, patch_age_days=20)), "medium", "patch_aging"),
        (_device(posture=replace(HEALTHY, firewall=False)), "medium", "no_firewall"),
    ],
)
def test_trust_levels(device: Device | None, level: str, reason: str) -> None:
    trust = assess(device, now=NOW)
    assert trust.level == level
    assert reason in trust.reasons


def test_healthy_fresh_posture_is_high() -> None:
    assert assess(_device(), now=NOW).level == "high"


def test_thresholds_are_configurable() -> None:
    strict = TrustPolicy(patch_high_days=1, patch_low_days=2)
    assert assess(_device(), now=NOW, policy=strict).level == "low"


def test_signed_report_round_trip_and_forgeries() -> None:
    device = _device(posture=None, posture_received_at=None)
    report = sign_posture(KEY, HEALTHY, device_id=device.id)
    assert verify_posture(report, device=device, now=NOW + 5) == HEALTHY
    other = sign_posture(SigningKey.generate("ES256"), HEALTHY, device_id=device.id)
    for bad in (other, report[:-4] + "AAAA", "not-a-jws", report + ".x"):
        with pytest.raises(PostureInvalid):
            verify_posture(bad, device=device, now=NOW + 5)
    with pytest.raises(PostureInvalid):  # its own exp passed: a replayed old report
        verify_posture(report, device=device, now=NOW + 400)
