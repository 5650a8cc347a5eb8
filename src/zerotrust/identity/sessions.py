"""Server-side sessions, access tokens and rotating refresh tokens.

Idle timeout 15 minutes and absolute lifetime 12 hours (NIST SP 800-63B §2.3.3 for AAL2,
PCI DSS 8.2.8); both are checked on every request against the server's own record, so
logout, disablement or revocation take effect on the very next request. Refresh tokens
rotate on every use; presenting a used one revokes its whole family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import AuthenticationFailed
from zerotrust.core.ids import new_id, new_token, token_digest
from zerotrust.identity.interfaces import PrincipalRepo, SessionRepo
from zerotrust.identity.models import ClientInfo, Principal, RefreshToken, Session, TokenSet
from zerotrust.identity.tokens import TokenIssuer

# Activity is recorded at most this often: idle timeouts are exact to within this many
# seconds, and a busy session does not turn every request into a database write.
TOUCH_INTERVAL_S = 15.0
# Browser session handles are 256-bit tokens; anything far longer is not one of ours.
MAX_HANDLE = 256
# The cookie that carries a browser session's handle: ``__Host-`` over https (RFC 6265bis
# §4.1.3.2: Secure, Path=/, no Domain), the plain name over http on localhost.
BROWSER_COOKIE = "ztc"
SECURE_BROWSER_COOKIE = "__Host-ztc"


class SessionInvalid(AuthenticationFailed):
    """The session behind a token is gone, revoked or timed out."""

    code = "invalid_token"
    message = "The token is not valid."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


@dataclass(frozen=True)
class AuthContext:
    """A verified caller: who, in which session, with which token claims."""

    principal: Principal
    session: Session
    claims: dict[str, Any]


@dataclass(frozen=True)
class SessionPolicy:
    idle_s: int = 15 * 60
    absolute_s: int = 12 * 3600
    refresh_ttl_s: int = 12 * 3600


class SessionManager:
    """Opens, checks, refreshes and ends sessions."""

    def __init__(
        self,
        *,
        sessions: SessionRepo,
        principals: PrincipalRepo,
        tokens: TokenIssuer,
        audit: AuditRecorder,
        clock: Clock,
        policy: SessionPolicy = SessionPolicy(),
    ) -> None:
        self.sessions = sessions
        self.principals = principals
        self.tokens = tokens
        self.audit = audit
        self.clock = clock
        self.policy = policy

    def open(
        self, principal: Principal, *, aal: int, amr: tuple[str, ...], client: ClientInfo
    ) -> TokenSet:
        """A new session (a fresh id: never one the client chose) and its tokens."""
        now = self.clock.now()
        session = Session(
            id=new_id("ses"),
            principal_id=principal.id,
            created_at=now,
            last_seen_at=now,
            auth_time=now,
            aal=aal,
            amr=amr,
            device_id=client.device_id,
            src_ip=client.src_ip,
            user_agent=(client.user_agent or "")[:512] or None,
            jkt=client.jkt,
        )
        self.sessions.add(session)
        return self._tokens(principal, session, family_id=new_id("fam"))

    def open_workload(
        self, principal: Principal, *, client: ClientInfo, scope: tuple[str, ...]
    ) -> tuple[str, int, str]:
        """A short session for an AI workload: an access token only, no refresh token
        (RFC 6749 §4.4.3); the workload proves its key again when it needs another."""
        now = self.clock.now()
        session = Session(
            id=new_id("ses"),
            principal_id=principal.id,
            created_at=now,
            last_seen_at=now,
            auth_time=now,
            aal=2,
            amr=("pop", "swk"),
            src_ip=client.src_ip,
            user_agent=(client.user_agent or "")[:512] or None,
            jkt=client.jkt,
        )
        self.sessions.add(session)
        access, ttl = self.tokens.issue(principal, session, scope=scope)
        return access, ttl, session.id

    def _tokens(self, principal: Principal, session: Session, *, family_id: str) -> TokenSet:
        now = self.clock.now()
        refresh = new_token()
        expires = min(now + self.policy.refresh_ttl_s, session.created_at + self.policy.absolute_s)
        self.sessions.add_refresh(
            RefreshToken(
                token_hash=token_digest(refresh),
                session_id=session.id,
                family_id=family_id,
                created_at=now,
                expires_at=expires,
            )
        )
        access, ttl = self.tokens.issue(principal, session)
        return TokenSet(
            access_token=access,
            expires_in=ttl,
            refresh_token=refresh,
            aal=session.aal,
            session_id=session.id,
            amr=session.amr,
        )

    def check_live(self, session: Session) -> None:
        """Raise ``SessionInvalid`` unless the session is live now."""
        self._live(session, now=self.clock.now())

    def _live(self, session: Session | None, *, now: float) -> Session:
        if session is None:
            raise SessionInvalid("session_unknown")
        if session.revoked_at is not None:
            raise SessionInvalid("session_revoked")
        if now - session.last_seen_at > self.policy.idle_s:
            raise SessionInvalid("session_idle_timeout")
        if now - session.created_at > self.policy.absolute_s:
            raise SessionInvalid("session_expired")
        return session

    def _principal(self, principal_id: str) -> Principal:
        principal = self.principals.get(principal_id)
        if principal is None or not principal.active:
            raise SessionInvalid("principal_disabled")
        return principal

    def _seen(
        self, principal: Principal, session: Session, now: float, claims: dict[str, Any]
    ) -> AuthContext:
        """The verified caller, with the session's activity recorded (at most every
        ``TOUCH_INTERVAL_S``)."""
        if now - session.last_seen_at >= TOUCH_INTERVAL_S:
            self.sessions.touch(session.id, now=now)
        return AuthContext(principal, replace(session, last_seen_at=now), claims)

    def authenticate(self, access_token: str, *, jkt: str) -> AuthContext:
        """Verify the token, its binding to the proof's key, then the live session.

        ``jkt`` is the thumbprint of the key that signed this request's DPoP proof (already
        verified, with ``ath`` over this token): a token without ``cnf.jkt``, or bound to
        another key, is refused (RFC 9449 §7.1) — a stolen token is useless elsewhere.
        """
        claims = self.tokens.verify(access_token)
        cnf = claims.get("cnf")
        bound = cnf.get("jkt") if isinstance(cnf, dict) else None
        if not isinstance(bound, str) or bound != jkt:
            raise SessionInvalid("dpop_key_mismatch")
        now = self.clock.now()
        session = self._live(self.sessions.get(str(claims.get("sid", ""))), now=now)
        if session.principal_id != claims.get("sub") or session.jkt != bound:
            raise SessionInvalid("session_mismatch")
        return self._seen(self._principal(session.principal_id), session, now, claims)

    def resume(self, handle: str, *, jkt: str | None = None) -> AuthContext:
        """A person's browser session by its opaque handle (the session's refresh token,
        carried in an ``HttpOnly`` cookie; never an access token).

        A handle that was ever spent at the token endpoint is dead here: the pair rotated,
        so this copy is over. Given ``jkt`` (the key that signed this request's proof), the
        session must be bound to that key.
        """
        if not handle or len(handle) > MAX_HANDLE:
            raise SessionInvalid("no_session")
        stored = self.sessions.refresh_token(token_digest(handle))
        now = self.clock.now()
        if stored is None or stored.used_at is not None or stored.expires_at <= now:
            raise SessionInvalid("session_unknown")
        session = self._live(self.sessions.get(stored.session_id), now=now)
        if jkt is not None and session.jkt != jkt:
            raise SessionInvalid("dpop_key_mismatch")
        principal = self._principal(session.principal_id)
        if principal.kind != "user":
            raise SessionInvalid("principal_disabled")
        return self._seen(principal, session, now, {})

    def refresh(self, refresh_token: str, *, jkt: str) -> TokenSet:
        """Rotate: the presented token is spent and a new pair issued in the same family.

        The refresh token is bound to the session's DPoP key too (RFC 9449 §5), so it is
        as useless as the access token to anyone without the device key.
        """
        now = self.clock.now()
        digest = token_digest(refresh_token[:512])
        # Check the key binding before spending: a thief without the device key must not be
        # able to burn the owner's token (and with it, the owner's session).
        peek = self.sessions.refresh_token(digest)
        bound = self.sessions.get(peek.session_id) if peek else None
        if bound is not None and bound.jkt != jkt:
            raise SessionInvalid("dpop_key_mismatch")
        stored = self.sessions.use_refresh(digest, now=now)
        if stored is None:
            raise SessionInvalid("refresh_unknown")
        if stored.used_at is not None:
            # A spent token came back: it was stolen or the client is confused. Either
            # way nobody in this family can be trusted any more.
            self.sessions.revoke_family(stored.family_id, now=now)
            self.audit.append(
                AuditRecord(
                    action="session.refresh_reuse",
                    actor="system",
                    outcome="failure",
                    session_id=stored.session_id,
                    reason="refresh_token_reuse",
                )
            )
            raise SessionInvalid("refresh_reused")
        if stored.expires_at <= now:
            raise SessionInvalid("refresh_expired")
        session = self._live(self.sessions.get(stored.session_id), now=now)
        if session.jkt != jkt:  # re-checked: the binding never changes, but say it here too
            raise SessionInvalid("dpop_key_mismatch")
        principal = self._principal(session.principal_id)
        self.sessions.touch(session.id, now=now)
        return self._tokens(
            principal, replace(session, last_seen_at=now), family_id=stored.family_id
        )

    def revoke(self, session_id: str, *, actor: str, reason: str) -> bool:
        revoked = self.sessions.revoke(session_id, now=self.clock.now(), reason=reason)
        if revoked:
            self.audit.append(
                AuditRecord(
                    action="session.revoke",
                    actor=actor,
                    outcome="success",
                    session_id=session_id,
                    reason=reason,
                )
            )
        return revoked

    def revoke_all(self, principal_id: str, *, actor: str, reason: str) -> int:
        count = self.sessions.revoke_for_principal(
            principal_id, now=self.clock.now(), reason=reason
        )
        self.audit.append(
            AuditRecord(
                action="session.revoke_all",
                actor=actor,
                outcome="success",
                resource=f"principal:{principal_id}",
                reason=reason,
                details={"count": count},
            )
        )
        return count

    def restore_revoked(
        self, principal_id: str, *, reason: str, since: float, until: float, actor: str
    ) -> list[str]:
        """Undo a revocation that proved wrong (an automated response to a false
        positive): the principal's sessions revoked for ``reason`` within [``since``,
        ``until``] are live again — unless they timed out meanwhile, which every request
        still checks. Audited as ``session.restore`` when any is restored."""
        ids = list(
            self.sessions.restore_for_principal(
                principal_id, reason=reason, since=since, until=until
            )
        )
        if not ids:
            return ids  # nothing changed, nothing to record
        self.audit.append(
            AuditRecord(
                action="session.restore",
                actor=actor,
                outcome="success",
                resource=f"principal:{principal_id}",
                reason=reason,
                details={"count": len(ids), "sessions": ids[:50]},
            )
        )
        return ids

    def revoke_bound(
        self, jkt: str, *, actor: str = "system", reason: str = "device_revoked"
    ) -> int:
        """End every session (and so every token) bound to the key ``jkt``."""
        count = self.sessions.revoke_for_jkt(jkt, now=self.clock.now(), reason=reason)
        self.audit.append(
            AuditRecord(
                action="session.revoke_bound",
                actor=actor,
                outcome="success",
                reason=reason,
                details={"jkt": jkt, "count": count},
            )
        )
        return count
