"""Managing principals: users and AI workload service accounts, roles, status, MFA.

Roles are assigned by someone else, never self-granted; every grant is audited, and a
privileged grant is marked as such in the audit entry (OWASP ASVS 8.2.3, PCI DSS 10.2.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import Forbidden, InvalidInput, NotFound
from zerotrust.core.ids import new_id
from zerotrust.identity import recovery, totp
from zerotrust.identity.authentication import totp_aad
from zerotrust.identity.interfaces import (
    PasswordRepo,
    PrincipalRepo,
    RecoveryCodeRepo,
    TotpRepo,
    WebAuthnCredentialRepo,
)
from zerotrust.identity.keys import IdentityKeys
from zerotrust.identity.models import (
    PRIVILEGED_ROLES,
    USER_ROLES,
    WORKLOAD_KINDS,
    Principal,
    TotpRecord,
    name_key,
)
from zerotrust.identity.passwords import PasswordHashing, check_policy
from zerotrust.identity.sessions import SessionManager

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def valid_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            "A name has 1-64 characters: letters, digits, '.', '_', '@', '-'.", code="invalid_name"
        )
    return name


class PrincipalAdmin:
    """Creates principals and changes their roles, status, password and MFA."""

    def __init__(
        self,
        *,
        principals: PrincipalRepo,
        passwords: PasswordRepo,
        totps: TotpRepo,
        credentials: WebAuthnCredentialRepo,
        recovery_codes: RecoveryCodeRepo,
        sessions: SessionManager,
        hashing: PasswordHashing,
        keys: IdentityKeys,
        audit: AuditRecorder,
        clock: Clock,
        issuer_name: str = "zerotrust",
    ) -> None:
        self.principals = principals
        self.passwords = passwords
        self.totps = totps
        self.credentials = credentials
        self.recovery_codes = recovery_codes
        self.sessions = sessions
        self.hashing = hashing
        self.keys = keys
        self.audit = audit
        self.clock = clock
        self.issuer_name = issuer_name

    def _audit(self, action: str, actor: str, target: Principal, **details: object) -> None:
        self.audit.append(
            AuditRecord(
                action=action,
                actor=actor,
                outcome="success",
                resource=f"principal:{target.id}",
                details={"name": target.name, **details},
            )
        )

    def get(self, name_or_id: str) -> Principal:
        found = self.principals.get(name_or_id) or self.principals.by_name(name_key(name_or_id))
        if found is None:
            raise NotFound("No such principal.", code="principal_not_found")
        return found

    def create_user(
        self,
        name: str,
        *,
        roles: Iterable[str] = (),
        password: str | None = None,
        display_name: str | None = None,
        actor: str = "system",
    ) -> Principal:
        valid_name(name)
        wanted = tuple(sorted(set(roles)))
        unknown = [r for r in wanted if r not in USER_ROLES]
        if unknown:
            raise InvalidInput(f"Unknown role {unknown[0]!r}.", code="unknown_role")
        normalised = check_policy(password, username=name) if password is not None else None
        principal = Principal(
            id=new_id("usr"),
            kind="user",
            name=name,
            display_name=(display_name or name)[:256],
            status="active",
            roles=wanted,
            created_at=self.clock.now(),
        )
        self.principals.add(principal, granted_by=actor)
        if normalised is not None:
            self.passwords.set_hash(
                principal.id, self.hashing.hash(normalised), now=self.clock.now()
            )
        self._audit(
            "principal.create",
            actor,
            principal,
            kind="user",
            roles=list(wanted),
            privileged=bool(PRIVILEGED_ROLES & set(wanted)),
        )
        return principal

    def create_service_account(
        self, name: str, *, workload_kind: str, purposes: Sequence[str] = (), actor: str = "system"
    ) -> Principal:
        valid_name(name)
        if workload_kind not in WORKLOAD_KINDS:
            raise InvalidInput(
                f"Unknown workload kind {workload_kind!r}; one of "
                f"{', '.join(sorted(WORKLOAD_KINDS))}.",
                code="unknown_kind",
            )
        bad = [p for p in purposes if not _PURPOSE.fullmatch(p)]
        if bad:
            raise InvalidInput("A purpose is lower_snake_case.", code="invalid_purpose")
        principal = Principal(
            id=new_id("svc"),
            kind="service",
            name=name,
            display_name=name,
            status="active",
            roles=(workload_kind,),
            created_at=self.clock.now(),
            workload_kind=workload_kind,
            purposes=tuple(sorted(set(purposes))),
        )
        self.principals.add(principal, granted_by=actor)
        self._audit(
            "principal.create",
            actor,
            principal,
            kind="service",
            workload_kind=workload_kind,
            purposes=list(principal.purposes),
        )
        return principal

    def grant_role(self, target: Principal, role: str, *, actor: str) -> None:
        if actor == target.id:
            self.audit.append(
                AuditRecord(
                    action="role.grant",
                    actor=actor,
                    outcome="denied",
                    resource=f"principal:{target.id}",
                    reason="self_grant",
                    details={"role": role},
                )
            )
            raise Forbidden("Roles cannot be self-granted.", code="self_grant")
        if role not in USER_ROLES or target.kind != "user":
            raise InvalidInput(f"Unknown role {role!r}.", code="unknown_role")
        self.principals.grant_role(target.id, role, granted_by=actor, now=self.clock.now())
        self._audit("role.grant", actor, target, role=role, privileged=role in PRIVILEGED_ROLES)

    def revoke_role(self, target: Principal, role: str, *, actor: str) -> None:
        self.principals.revoke_role(target.id, role)
        self._audit("role.revoke", actor, target, role=role)

    def set_status(self, target: Principal, *, active: bool, actor: str) -> None:
        self.principals.set_status(target.id, "active" if active else "disabled")
        if not active:
            self.sessions.revoke_all(target.id, actor=actor, reason="principal_disabled")
        self._audit("principal.enable" if active else "principal.disable", actor, target)

    def set_password(self, target: Principal, password: str, *, actor: str) -> None:
        normalised = check_policy(password, username=target.name)
        self.passwords.set_hash(target.id, self.hashing.hash(normalised), now=self.clock.now())
        self._audit("password.set", actor, target)

    # -- MFA -------------------------------------------------------------------------------

    def enroll_totp(
        self, target: Principal, *, actor: str, active: bool = False
    ) -> tuple[str, str]:
        """A new TOTP secret, sealed at rest; returns ``(secret, otpauth_uri)`` once.

        Self-service enrolment stays ``pending`` until a code proves the app has it;
        admin provisioning may activate at once.
        """
        secret = totp.new_secret()
        envelope = self.keys.seal(secret.encode(), aad=totp_aad(target.id))
        self.totps.put(
            TotpRecord(target.id, envelope, "active" if active else "pending", -1),
            now=self.clock.now(),
        )
        self._audit("mfa.totp.enroll", actor, target, active=active)
        return secret, totp.provisioning_uri(secret, account=target.name, issuer=self.issuer_name)

    def confirm_totp(self, target: Principal, code: str) -> None:
        """Activate a pending enrolment with a current code (which is then spent)."""
        record = self.totps.get(target.id)
        totp.check_format(code)
        if record is None or record.status != "pending":
            raise InvalidInput("No TOTP enrolment is pending.", code="totp_not_pending")
        secret = self.keys.open(record.secret_envelope, aad=totp_aad(target.id)).decode()
        step = totp.matching_step(secret, code, now=self.clock.now())
        if step is None or not self.totps.consume_step(target.id, step):
            raise InvalidInput("The code does not match.", code="bad_otp")
        self.totps.activate(target.id)
        self._audit("mfa.totp.activate", target.id, target)

    def new_recovery_codes(self, target: Principal, *, actor: str) -> list[str]:
        """Ten fresh codes replacing any old ones; shown once, stored hashed."""
        codes = recovery.generate()
        self.recovery_codes.replace(
            target.id, [recovery.digest(c, key=self.keys.recovery_hmac_key) for c in codes]
        )
        self._audit("mfa.recovery.generate", actor, target, count=len(codes))
        return codes

    def reset_mfa(self, target: Principal, *, actor: str) -> None:
        """Remove every second factor and end every session (lost device, compromise)."""
        self.totps.delete(target.id)
        self.credentials.delete_for_principal(target.id)
        self.recovery_codes.delete_for_principal(target.id)
        self.sessions.revoke_all(target.id, actor=actor, reason="mfa_reset")
        self._audit("mfa.reset", actor, target)
