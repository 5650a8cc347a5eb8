"""Enrolment, approval, posture, quarantine and revocation of devices; every change audited.

Enrolment registers the key that signs the request's own DPoP proof, so only a holder of
the private key can enrol it, and only inside its owner's signed-in session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import Forbidden, InvalidInput, NotFound
from zerotrust.core.ids import new_id
from zerotrust.crypto.signing import VerifyingKey, jwk_thumbprint
from zerotrust.devices.interfaces import DeviceRepo
from zerotrust.devices.models import Device, DeviceStatus, Trust
from zerotrust.devices.posture import DEFAULT_TRUST_POLICY, TrustPolicy, assess, verify_posture

# Called with a device key thumbprint when the device is revoked: ends every session and
# token bound to it.
RevokeBound = Callable[[str], int]


class DeviceRegistry:
    def __init__(
        self,
        *,
        repo: DeviceRepo,
        audit: AuditRecorder,
        clock: Clock,
        revoke_bound: RevokeBound,
        auto_approve: bool = False,
        policy: TrustPolicy = DEFAULT_TRUST_POLICY,
    ) -> None:
        self.repo = repo
        self.audit = audit
        self.clock = clock
        self.revoke_bound = revoke_bound
        self.auto_approve = auto_approve
        self.policy = policy

    def _audit(self, action: str, actor: str, device: Device, **details: Any) -> None:
        self.audit.append(
            AuditRecord(
                action=action,
                actor=actor,
                outcome="success",
                resource=f"device:{device.id}",
                device_id=device.id,
                details={"owner": device.owner_id, **details},
            )
        )

    def get(self, device_id: str) -> Device:
        device = self.repo.get(device_id)
        if device is None:
            raise NotFound("No such device.", code="device_not_found")
        return device

    def list(self, owner_id: str | None = None) -> Sequence[Device]:
        return self.repo.list(owner_id)

    def enroll(
        self,
        owner_id: str,
        public_jwk: Mapping[str, Any],
        *,
        name: str,
        proof_jkt: str,
        posture_report: str | None = None,
    ) -> Device:
        """Register the key that signed this request's proof as the owner's device."""
        try:
            key = VerifyingKey.from_jwk({k: v for k, v in public_jwk.items() if k != "kid"})
        except InvalidInput:
            raise InvalidInput(
                "The device key is not a valid public JWK.", code="invalid_device_key"
            ) from None
        jkt = jwk_thumbprint(key.jwk)
        if jkt != proof_jkt:
            raise Forbidden("Enrol the key that signs this request.", code="device_key_mismatch")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 64:
            raise InvalidInput("A device name has 1-64 characters.", code="invalid_device_name")
        status: DeviceStatus = "active" if self.auto_approve else "pending"
        device = Device(
            id=new_id("dev"),
            owner_id=owner_id,
            name=name.strip(),
            jkt=jkt,
            public_jwk=dict(key.jwk),
            status=status,
            created_at=self.clock.now(),
            approved_by="policy:auto" if self.auto_approve else None,
        )
        self.repo.add(device)
        self._audit("device.enroll", owner_id, device, status=status)
        if posture_report is not None:
            device = self.report_posture(device.id, posture_report, proof_jkt=jkt)
        return device

    def report_posture(self, device_id: str, report: str, *, proof_jkt: str) -> Device:
        device = self.get(device_id)
        if device.jkt != proof_jkt:
            raise Forbidden(
                "Only the device itself reports its posture.", code="device_key_mismatch"
            )
        now = self.clock.now()
        posture = verify_posture(report, device=device, now=now)
        self.repo.set_posture(device.id, posture, received_at=now)
        return self.get(device.id)

    def _set(self, device_id: str, status: DeviceStatus, *, actor: str, action: str) -> Device:
        device = self.get(device_id)
        if device.status == "revoked":
            raise InvalidInput("A revoked device stays revoked.", code="device_revoked")
        self.repo.set_status(
            device.id, status, approved_by=actor if status == "active" else device.approved_by
        )
        self._audit(action, actor, device, status=status)
        return self.get(device.id)

    def approve(self, device_id: str, *, actor: str) -> Device:
        return self._set(device_id, "active", actor=actor, action="device.approve")

    def quarantine(self, device_id: str, *, actor: str) -> Device:
        return self._set(device_id, "quarantined", actor=actor, action="device.quarantine")

    def revoke(self, device_id: str, *, actor: str) -> Device:
        """Revoke for good: every session and token bound to the key dies at once."""
        device = self._set(device_id, "revoked", actor=actor, action="device.revoke")
        ended = self.revoke_bound(device.jkt)
        self._audit("device.sessions_revoked", actor, device, sessions=ended)
        return device

    def trust_for_key(self, jkt: str) -> tuple[Device | None, Trust]:
        device = self.repo.by_jkt(jkt)
        return device, assess(device, now=self.clock.now(), policy=self.policy)

    def lookup(self, principal_id: str, jkt: str) -> tuple[str, str] | None:
        """``identity``'s view: the (device id, status) of a principal's key, if enrolled."""
        device = self.repo.by_jkt(jkt)
        if device is None or device.owner_id != principal_id:
            return None
        return device.id, device.status
