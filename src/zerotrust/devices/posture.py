"""Signed posture reports and the trust level they support.

A report is a compact JWS (``typ: posture+jwt``) signed with the device key. Anything
missing, stale, unsigned, signed by another key or unparseable yields ``unknown`` — never
``high`` (OWASP ASVS 8.2.4: fail closed on stale context).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zerotrust.core.errors import AuthenticationFailed, InvalidInput
from zerotrust.crypto.jwt import TokenInvalid, decode_jwt, encode_jwt
from zerotrust.crypto.signing import SigningKey, VerifyingKey
from zerotrust.devices.models import Device, Posture, Trust

POSTURE_TYP = "posture+jwt"
POSTURE_AUDIENCE = "zerotrust/posture"


class PostureInvalid(InvalidInput):
    """The posture report is unsigned, signed by another key, stale or malformed."""

    code = "posture_invalid"
    message = "The posture report is not valid."


@dataclass(frozen=True)
class TrustPolicy:
    """Thresholds, configurable per deployment."""

    max_report_age_s: int = 3600 + 600  # hourly reports, ten minutes of grace
    patch_high_days: int = 14
    patch_low_days: int = 30


DEFAULT_TRUST_POLICY = TrustPolicy()


def sign_posture(key: SigningKey, posture: Posture, *, device_id: str) -> str:
    """The report a device agent sends (used by ``zerotrust.client``)."""
    claims = {
        "iss": device_id,
        "sub": device_id,
        "aud": POSTURE_AUDIENCE,
        "iat": int(posture.collected_at),
        "exp": int(posture.collected_at) + 300,
        "jti": f"{device_id}:{int(posture.collected_at)}",
        **posture.to_dict(),
    }
    return encode_jwt(claims, key, typ=POSTURE_TYP)


def _bool(claims: dict[str, Any], name: str) -> bool:
    value = claims.get(name)
    if not isinstance(value, bool):
        raise PostureInvalid()
    return value


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise PostureInvalid()
    return value


def verify_posture(report: str, *, device: Device, now: float) -> Posture:
    """Verify the signature with the device's enrolled key and parse the claims."""
    try:
        key = VerifyingKey.from_jwk({k: v for k, v in device.public_jwk.items() if k != "kid"})
        claims = decode_jwt(
            report,
            keys={key.kid: key},
            algorithms=(key.alg,),
            issuer=device.id,
            audience=POSTURE_AUDIENCE,
            now=now,
            leeway_s=60,
            typ=POSTURE_TYP,
        )
    except (TokenInvalid, AuthenticationFailed, InvalidInput):
        raise PostureInvalid() from None
    patch = claims.get("patch_age_days")
    if isinstance(patch, bool) or not isinstance(patch, int) or not 0 <= patch <= 36500:
        raise PostureInvalid()
    return Posture(
        os=_text(claims, "os"),
        os_version=_text(claims, "os_version"),
        patch_age_days=patch,
        disk_encrypted=_bool(claims, "disk_encrypted"),
        firewall=_bool(claims, "firewall"),
        screen_lock=_bool(claims, "screen_lock"),
        endpoint_protection=_bool(claims, "endpoint_protection"),
        collected_at=float(claims["iat"]),
    )


def assess(
    device: Device | None, *, now: float, policy: TrustPolicy = DEFAULT_TRUST_POLICY
) -> Trust:
    """Derive the trust level of a device from its status and latest posture."""
    if device is None:
        return Trust("unknown", ("device_not_enrolled",))
    if device.status != "active":
        return Trust(
            "low" if device.status == "quarantined" else "unknown", (f"device_{device.status}",)
        )
    posture, received = device.posture, device.posture_received_at
    if posture is None or received is None:
        return Trust("unknown", ("posture_missing",))
    if now - posture.collected_at > policy.max_report_age_s:
        return Trust("unknown", ("posture_stale",), posture.patch_age_days)
    reasons = []
    if not posture.disk_encrypted:
        reasons.append("disk_not_encrypted")
    if not posture.screen_lock:
        reasons.append("no_screen_lock")
    if posture.patch_age_days > policy.patch_low_days:
        reasons.append("patch_too_old")
    if reasons:
        return Trust("low", tuple(reasons), posture.patch_age_days)
    soft = []
    if posture.patch_age_days > policy.patch_high_days:
        soft.append("patch_aging")
    if not posture.firewall:
        soft.append("no_firewall")
    if not posture.endpoint_protection:
        soft.append("no_endpoint_protection")
    return Trust("medium" if soft else "high", tuple(soft), posture.patch_age_days)
