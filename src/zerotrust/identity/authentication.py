"""The login flow: password first, then a second factor; only then a session.

A password alone never yields a token (PCI DSS 8.4.2). Wrong password, unknown user,
disabled user and locked account answer alike, and in about the same time: a dummy
argon2 verification runs wherever a real one does not (OWASP ASVS 6.3.8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import AuthenticationFailed, InvalidInput, ReauthRequired
from zerotrust.core.events import EventKind, EventSink, SecurityEvent
from zerotrust.core.ids import new_token, token_digest
from zerotrust.crypto.dpop import DpopInvalid
from zerotrust.identity import recovery, totp
from zerotrust.identity.interfaces import (
    DeviceLookup,
    LoginAttemptRepo,
    PasswordRepo,
    PrincipalRepo,
    RecoveryCodeRepo,
    TotpRepo,
    WebAuthnCredentialRepo,
)
from zerotrust.identity.keys import IdentityKeys
from zerotrust.identity.lockout import Factor, LoginGuard
from zerotrust.identity.models import ClientInfo, LoginAttempt, Principal, TokenSet, name_key
from zerotrust.identity.passwords import MAX_BYTES, PasswordHashing
from zerotrust.identity.sessions import AuthContext, SessionManager
from zerotrust.identity.webauthn import WebAuthnRejected, WebAuthnService


class MfaTokenInvalid(AuthenticationFailed):
    """The mfa_token is unknown, spent or expired: start again with the password."""

    code = "mfa_token_invalid"
    message = "The login attempt is not valid; start again."


class OtpAlreadyUsed(AuthenticationFailed):
    """The code was right but already used (RFC 6238 §5.2: one use per code)."""

    code = "otp_already_used"
    message = "That code was already used; wait for the next one."


@dataclass(frozen=True)
class MfaRequired:
    """The password verified; the client must now prove a second factor."""

    mfa_token: str
    methods: tuple[str, ...]
    expires_in: int


def totp_aad(principal_id: str) -> bytes:
    """Associated data binding a sealed TOTP secret to its owner."""
    return b"zerotrust/totp/" + principal_id.encode()


class Authenticator:
    """Runs each login step, counts failures, and emits one security event per step."""

    def __init__(
        self,
        *,
        principals: PrincipalRepo,
        passwords: PasswordRepo,
        totps: TotpRepo,
        recovery_codes: RecoveryCodeRepo,
        attempts: LoginAttemptRepo,
        credentials: WebAuthnCredentialRepo,
        webauthn: WebAuthnService,
        sessions: SessionManager,
        guard: LoginGuard,
        hashing: PasswordHashing,
        keys: IdentityKeys,
        events: EventSink,
        audit: AuditRecorder,
        clock: Clock,
        devices: DeviceLookup | None = None,
        mfa_token_ttl_s: int = 300,
    ) -> None:
        self.principals = principals
        self.passwords = passwords
        self.totps = totps
        self.recovery_codes = recovery_codes
        self.attempts = attempts
        self.credentials = credentials
        self.webauthn = webauthn
        self.sessions = sessions
        self.guard = guard
        self.hashing = hashing
        self.keys = keys
        self.events = events
        self.audit = audit
        self.clock = clock
        self.devices = devices
        self.mfa_token_ttl_s = mfa_token_ttl_s

    # -- events ------------------------------------------------------------------------

    def _emit(
        self,
        kind: EventKind,
        who: str,
        outcome: str,
        client: ClientInfo,
        principal: Principal | None = None,
        **extra: Any,
    ) -> None:
        self.events.emit(
            SecurityEvent.at(
                self.clock.now(),
                kind=kind,
                principal=principal.name if principal else who,
                principal_type=principal.kind if principal else "user",
                principal_roles=principal.roles if principal else (),
                outcome=outcome,
                src_ip=client.src_ip,
                user_agent=client.user_agent,
                device_id=client.device_id,
                **extra,
            )
        )

    def _fail(
        self,
        kind: EventKind,
        who: str,
        client: ClientInfo,
        reason: str,
        *,
        principal: Principal | None = None,
        factor: Factor = "password",
        locks_now: bool = False,
        mfa_method: str | None = None,
        error: AuthenticationFailed | InvalidInput | None = None,
    ) -> NoReturn:
        """Record a failed step, audit a lockout if this failure caused one, and raise."""
        self.guard.failed_from(client.src_ip)
        self._emit(kind, who, "failure", client, principal, reason=reason, mfa_method=mfa_method)
        if locks_now:
            self.audit.append(
                AuditRecord(
                    action="auth.lockout",
                    actor="system",
                    outcome="success",
                    resource=f"principal:{principal.id if principal else name_key(who)}",
                    reason=f"{factor}_failures",
                    src_ip=client.src_ip,
                    device_id=client.device_id,
                    details={"factor": factor, "threshold": self.guard.threshold},
                )
            )
        raise error if error is not None else AuthenticationFailed()

    # -- step 1: password --------------------------------------------------------------

    def login(self, username: str, password: str, client: ClientInfo) -> MfaRequired:
        """Verify the password; answer with an mfa_token, never with a session."""
        self.guard.check_source(client.src_ip)
        who = username[:128]
        key = name_key(who)
        attempt = self.guard.reserve("password", key)
        principal = self.principals.by_name(key)
        stored = self.passwords.get_hash(principal.id) if principal else None
        usable = len(password.encode("utf-8", "surrogatepass")) <= MAX_BYTES
        if (
            not attempt.allowed
            or principal is None
            or not principal.active
            or not stored
            or not usable
        ):
            if usable:
                self.hashing.burn(password)
            reason = (
                "account_locked"
                if not attempt.allowed
                else "unknown_user"
                if principal is None
                else "account_disabled"
                if not principal.active
                else "bad_password"
            )
            self._fail(
                "auth.password",
                who,
                client,
                reason,
                principal=principal,
                locks_now=attempt.locks_now and reason != "account_locked",
            )
        if principal is None or stored is None:  # unreachable: narrowed for the type checker
            raise AuthenticationFailed()
        if not self.hashing.verify(stored, password):
            self._fail(
                "auth.password",
                who,
                client,
                "bad_password",
                principal=principal,
                locks_now=attempt.locks_now,
            )
        self.guard.succeeded("password", key)
        if self.hashing.needs_rehash(stored):
            self.passwords.set_hash(principal.id, self.hashing.hash(password), now=self.clock.now())
        token = new_token()
        now = self.clock.now()
        self.attempts.put(
            LoginAttempt(
                token_digest(token), principal.id, now, now + self.mfa_token_ttl_s, client.src_ip
            )
        )
        self._emit("auth.password", who, "success", client, principal)
        return MfaRequired(token, self.methods(principal.id), self.mfa_token_ttl_s)

    def methods(self, principal_id: str) -> tuple[str, ...]:
        """The second factors this principal can use now."""
        found = []
        record = self.totps.get(principal_id)
        if record is not None and record.status == "active":
            found.append("totp")
        if self.credentials.for_principal(principal_id):
            found.append("webauthn")
        if self.recovery_codes.hashes(principal_id):
            found.append("recovery")
        return tuple(found)

    # -- step 2: a second factor -------------------------------------------------------

    def _attempt(self, mfa_token: str) -> tuple[LoginAttempt, Principal]:
        attempt = self.attempts.get(token_digest(mfa_token[:256]))
        if attempt is None or attempt.expires_at <= self.clock.now():
            raise MfaTokenInvalid()
        principal = self.principals.get(attempt.principal_id)
        if principal is None or not principal.active:
            raise MfaTokenInvalid()
        return attempt, principal

    def _pending(
        self, mfa_token: str, client: ClientInfo
    ) -> tuple[LoginAttempt, Principal, ClientInfo]:
        attempt, principal = self._attempt(mfa_token)
        return attempt, principal, self._bind(principal, client)

    def _bind(self, principal: Principal, client: ClientInfo) -> ClientInfo:
        """The session will be bound to the proof's key; name the device if it is enrolled.

        A key whose device was revoked never gets a session again.
        """
        if not client.jkt:
            raise DpopInvalid("missing_proof")
        found = self.devices.lookup(principal.id, client.jkt) if self.devices else None
        if found is None:
            return replace(client, device_id=None)
        device_id, status = found
        if status == "revoked":
            self._emit(
                "auth.mfa", principal.name, "failure", client, principal, reason="device_revoked"
            )
            raise AuthenticationFailed()
        return replace(client, device_id=device_id)

    def _finish(
        self,
        attempt: LoginAttempt,
        principal: Principal,
        client: ClientInfo,
        *,
        method: str,
        aal: int,
        amr: tuple[str, ...],
    ) -> TokenSet:
        # The mfa_token is single use: of two concurrent completions only one deletes it.
        if not self.attempts.delete(attempt.token_hash):
            raise MfaTokenInvalid()
        tokens = self.sessions.open(principal, aal=aal, amr=amr, client=client)
        self._emit(
            "auth.mfa",
            principal.name,
            "success",
            client,
            principal,
            mfa_method=method,
            session_id=tokens.session_id,
        )
        return tokens

    def complete_totp(self, mfa_token: str, code: str, client: ClientInfo) -> TokenSet:
        self.guard.check_source(client.src_ip)
        attempt, principal, client = self._pending(mfa_token, client)
        key = name_key(principal.name)
        reserved = self.guard.reserve("totp", key)

        def fail(reason: str, error: AuthenticationFailed | InvalidInput | None = None) -> NoReturn:
            self._fail(
                "auth.mfa",
                principal.name,
                client,
                reason,
                principal=principal,
                factor="totp",
                mfa_method="totp",
                locks_now=reserved.locks_now,
                error=error,
            )

        try:
            totp.check_format(code)
        except totp.OtpInvalidFormat as exc:
            fail("otp_invalid_format", exc)
        if not reserved.allowed:
            fail("factor_locked")
        record = self.totps.get(principal.id)
        if record is None or record.status != "active":
            fail("totp_not_enrolled")
        secret = self.keys.open(record.secret_envelope, aad=totp_aad(principal.id)).decode()
        step = totp.matching_step(secret, code, now=self.clock.now())
        if step is None:
            fail("bad_otp")
        if not self.totps.consume_step(principal.id, step):
            fail("otp_already_used", OtpAlreadyUsed())
        self.guard.succeeded("totp", key)
        return self._finish(
            attempt, principal, client, method="totp", aal=2, amr=("pwd", "otp", "mfa")
        )

    def webauthn_options(self, mfa_token: str, *, require_uv: bool) -> dict[str, Any]:
        _, principal = self._attempt(mfa_token)
        return self.webauthn.authentication_options(principal, require_uv=require_uv)

    def complete_webauthn(
        self, mfa_token: str, credential: Mapping[str, Any] | str, client: ClientInfo
    ) -> TokenSet:
        self.guard.check_source(client.src_ip)
        attempt, principal, client = self._pending(mfa_token, client)
        key = name_key(principal.name)
        reserved = self.guard.reserve("webauthn", key)
        if not reserved.allowed:
            self._fail(
                "auth.mfa",
                principal.name,
                client,
                "factor_locked",
                principal=principal,
                factor="webauthn",
                mfa_method="webauthn",
            )
        try:
            verified = self.webauthn.verify_authentication(principal, credential)
        except WebAuthnRejected as exc:
            self._fail(
                "auth.mfa",
                principal.name,
                client,
                exc.code,
                principal=principal,
                factor="webauthn",
                mfa_method="webauthn",
                locks_now=reserved.locks_now,
                error=exc,
            )
        self.guard.succeeded("webauthn", key)
        uv = verified.user_verified
        return self._finish(
            attempt,
            principal,
            client,
            method="webauthn",
            aal=3 if uv else 2,
            amr=("pwd", "hwk", "user", "mfa") if uv else ("pwd", "hwk", "mfa"),
        )

    def complete_recovery(self, mfa_token: str, code: str, client: ClientInfo) -> TokenSet:
        self.guard.check_source(client.src_ip)
        attempt, principal, client = self._pending(mfa_token, client)
        key = name_key(principal.name)
        reserved = self.guard.reserve("recovery", key)
        digest = recovery.digest(code[:64], key=self.keys.recovery_hmac_key)
        if not reserved.allowed or not self.recovery_codes.consume(
            principal.id, digest, now=self.clock.now()
        ):
            self._fail(
                "auth.mfa",
                principal.name,
                client,
                "factor_locked" if not reserved.allowed else "bad_recovery_code",
                principal=principal,
                factor="recovery",
                mfa_method="recovery",
                locks_now=reserved.locks_now,
            )
        self.guard.succeeded("recovery", key)
        self.audit.append(
            AuditRecord(
                action="auth.recovery_code_used",
                actor=principal.id,
                outcome="success",
                src_ip=client.src_ip,
                details={"remaining": len(self.recovery_codes.hashes(principal.id))},
            )
        )
        return self._finish(
            attempt, principal, client, method="recovery", aal=2, amr=("pwd", "kba", "mfa")
        )

    # -- re-authentication for sensitive self-service ----------------------------------

    def reauthenticate(self, ctx: AuthContext, password: str | None, client: ClientInfo) -> None:
        """Demand the current password again (MFA changes); ``ReauthRequired`` otherwise."""
        principal = ctx.principal
        key = name_key(principal.name)
        if not password or len(password.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise ReauthRequired()
        reserved = self.guard.reserve("password", key)
        stored = self.passwords.get_hash(principal.id)
        if not reserved.allowed or not stored or not self.hashing.verify(stored, password):
            self._fail(
                "auth.password",
                principal.name,
                client,
                "reauth_failed",
                principal=principal,
                locks_now=reserved.locks_now,
                error=ReauthRequired(),
            )
        self.guard.succeeded("password", key)
