"""Automated responses: the detection engine's ``ResponseActions`` carried out by identity
and devices. Every call is audited by the playbook runner; each is reversible by an
admin, through ``IdentityResponses.undo`` (``/v1/alerts/{id}/undo`` and the console):
unlock the account, unblock the source, approve the quarantined device again, restore
the sessions the response revoked."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final, Literal, get_args

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import Conflict, ZTError
from zerotrust.detect.alerts import Alert, AlertBook
from zerotrust.devices.registry import DeviceRegistry
from zerotrust.identity.lockout import LoginGuard
from zerotrust.identity.models import Session, name_key
from zerotrust.identity.principals import PrincipalAdmin
from zerotrust.identity.sessions import SessionManager

log = logging.getLogger("zerotrust.responses")

Undo = Literal["unlock_account", "unblock_source", "approve_device", "restore_sessions"]
UNDO_ACTIONS: Final[tuple[Undo, ...]] = get_args(Undo)

REVOKED_BY_DETECTION: Final = "detection"  # the sessions' ``revoked_reason``
# A playbook runs as its alert is raised: the revocations an alert made fall within this
# window of its time (a later alert's revocations are that alert's to undo).
RESPONSE_WINDOW_S: Final = 60.0


def _response_window(alert: Alert) -> tuple[float, float]:
    """When this alert's playbook revoked what it revoked (a little clock slack before)."""
    return alert.ts - 5, alert.ts + RESPONSE_WINDOW_S


def revoked_for(sessions: Sequence[Session], alert: Alert) -> list[Session]:
    """The sessions among ``sessions`` that this alert's ``revoke_sessions`` ended."""
    since, until = _response_window(alert)
    return [
        s
        for s in sessions
        if s.revoked_reason == REVOKED_BY_DETECTION
        and s.revoked_at is not None
        and since <= s.revoked_at <= until
    ]


def restore_sessions(
    sessions: SessionManager, principal_id: str, alert: Alert, *, actor: str
) -> list[str]:
    """Undo this alert's ``revoke_sessions`` (a false positive): the sessions it ended are
    live again, unless idle or too old by now. ``require_step_up`` revocations are not
    undone: their point is a fresh sign-in."""
    since, until = _response_window(alert)
    return sessions.restore_revoked(
        principal_id, reason=REVOKED_BY_DETECTION, since=since, until=until, actor=actor
    )


class NothingToUndo(Conflict):
    """The alert names nothing that way, or its response is no longer in force."""

    code = "nothing_to_undo"


class IdentityResponses:
    def __init__(
        self,
        *,
        admin: PrincipalAdmin,
        sessions: SessionManager,
        guard: LoginGuard,
        devices: DeviceRegistry,
        alerts: AlertBook,
        clock: Clock,
        audit: AuditRecorder,
    ) -> None:
        self.admin = admin
        self.sessions = sessions
        self.guard = guard
        self.devices = devices
        self.alerts = alerts
        self.clock = clock
        self.audit = audit

    def undo(
        self,
        alert: Alert,
        action: Undo,
        *,
        actor: str,
        session_id: str | None = None,
        via: str | None = None,
    ) -> str:
        """Reverse what ``alert``'s playbook did (a false positive), audited as
        ``detect.undo.<action>``; the target undone. Who may is the caller's to check.
        ``NothingToUndo`` if the alert names nothing that way or no session it ended is
        left to restore (idle, too old, or restored already)."""
        if action == "unlock_account" and alert.principal:
            self.guard.unlock(name_key(alert.principal))
            target = f"principal:{alert.principal}"
        elif action == "unblock_source" and alert.src_ip:
            self.guard.unblock_source(alert.src_ip)
            target = f"source:{alert.src_ip}"
        elif action == "approve_device" and alert.device_id:
            self.devices.approve(alert.device_id, actor=actor)
            target = f"device:{alert.device_id}"
        elif (
            action == "restore_sessions"
            and alert.principal
            and (principal_id := self._principal_id(alert.principal))
        ):
            if not restore_sessions(self.sessions, principal_id, alert, actor=actor):
                raise NothingToUndo("No session this response ended is left to restore.")
            target = f"principal:{alert.principal}"
        else:
            raise NothingToUndo("This alert names nothing to undo that way.")
        details = {"alert_id": alert.id} | ({"via": via} if via else {})
        self.audit.append(
            AuditRecord(
                action=f"detect.undo.{action}",
                actor=actor,
                outcome="success",
                resource=target,
                session_id=session_id,
                details=details,
            )
        )
        return target

    def _principal_id(self, principal: str) -> str | None:
        try:
            return self.admin.get(principal).id
        except ZTError:
            return None  # an unknown name (e.g. a stuffing target): nothing to act on

    def lock_account(self, principal: str, until: float) -> None:
        self.guard.lock(name_key(principal), seconds=max(1.0, until - self.clock.now()))
        self.revoke_sessions(principal)

    def revoke_sessions(self, principal: str) -> None:
        principal_id = self._principal_id(principal)
        if principal_id:
            self.sessions.revoke_all(
                principal_id, actor="system:detect", reason=REVOKED_BY_DETECTION
            )

    def require_step_up(self, principal: str) -> None:
        # Ending the sessions forces a fresh login with a second factor; the raised risk
        # score then makes the policy ask for more where it matters.
        principal_id = self._principal_id(principal)
        if principal_id:
            self.sessions.revoke_all(principal_id, actor="system:detect", reason="step_up_required")

    def quarantine_device(self, device_id: str) -> None:
        try:
            self.devices.quarantine(device_id, actor="system:detect")
        except ZTError:
            log.warning("cannot quarantine device %s", device_id[:64])

    def block_source(self, ip: str, until: float) -> None:
        self.guard.block_source(ip, seconds=max(1.0, until - self.clock.now()))

    def alert(self, alert: Alert) -> None:
        self.alerts.add(alert)
