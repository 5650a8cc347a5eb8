"""AI workloads sign in with a key, not a password: RFC 7523 client assertions + DPoP.

A service account registers public keys. To get a token it sends a client assertion (a
JWT it signs: ``iss`` = ``sub`` = its name, ``aud`` = our token endpoint, short ``exp``,
a single-use ``jti``) with ``grant_type=client_credentials``, and a DPoP proof. The token
is bound to the DPoP key and restricted to the purposes the workload declared.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import AuthenticationFailed, InvalidInput
from zerotrust.core.events import EventSink, SecurityEvent
from zerotrust.crypto.dpop import DpopInvalid
from zerotrust.crypto.jwt import TokenInvalid, decode_jwt, decode_unverified_header
from zerotrust.crypto.signing import VerifyingKey, jwk_thumbprint
from zerotrust.identity.interfaces import PrincipalRepo, ReplayCache, ServiceAccountKeyRepo
from zerotrust.identity.models import ClientInfo, Principal
from zerotrust.identity.sessions import SessionManager

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME_S = 300


class InvalidClient(AuthenticationFailed):
    """RFC 6749 §5.2 ``invalid_client``: the assertion did not authenticate the client."""

    code = "invalid_client"
    message = "Client authentication failed."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class InvalidScope(InvalidInput):
    """RFC 6749 §5.2 ``invalid_scope``: a purpose the workload never declared."""

    code = "invalid_scope"
    message = "The requested scope exceeds the declared purposes."


class WorkloadAuthenticator:
    def __init__(
        self,
        *,
        principals: PrincipalRepo,
        keys: ServiceAccountKeyRepo,
        replay: ReplayCache,
        sessions: SessionManager,
        audit: AuditRecorder,
        events: EventSink,
        clock: Clock,
        token_endpoints: Collection[str],
    ) -> None:
        self.principals = principals
        self.keys = keys
        self.replay = replay
        self.sessions = sessions
        self.audit = audit
        self.events = events
        self.clock = clock
        self.token_endpoints = tuple(token_endpoints)

    def register_key(
        self, principal: Principal, public_jwk: Mapping[str, Any], *, actor: str
    ) -> str:
        """Register a workload's public key; returns its kid (the RFC 7638 thumbprint)."""
        if principal.kind != "service":
            raise InvalidInput("Only service accounts have client keys.", code="not_a_workload")
        key = VerifyingKey.from_jwk({k: v for k, v in public_jwk.items() if k != "kid"})
        kid = jwk_thumbprint(key.jwk)
        self.keys.add(principal.id, dict(key.jwk), kid=kid, now=self.clock.now())
        self.audit.append(
            AuditRecord(
                action="workload.key_add",
                actor=actor,
                outcome="success",
                resource=f"principal:{principal.id}",
                details={"kid": kid},
            )
        )
        return kid

    def _verify(self, assertion: str) -> tuple[Principal, dict[str, Any]]:
        try:
            kid = decode_unverified_header(assertion).get("kid")
        except TokenInvalid:
            raise InvalidClient("malformed") from None
        if not isinstance(kid, str):
            raise InvalidClient("unknown_key")
        found = self.keys.get(kid)
        if found is None:
            raise InvalidClient("unknown_key")
        principal = self.principals.get(found[0])
        if principal is None or not principal.active or principal.kind != "service":
            raise InvalidClient("client_disabled")
        key = VerifyingKey.from_jwk(found[1])
        now = self.clock.now()
        last_error: TokenInvalid | None = None
        for audience in self.token_endpoints:
            try:
                claims = decode_jwt(
                    assertion,
                    keys={kid: key},
                    algorithms=(key.alg,),
                    issuer=principal.name,
                    audience=audience,
                    now=now,
                    leeway_s=30,
                    typ=None,
                    required=("iss", "sub", "aud", "exp", "jti"),
                )
                break
            except TokenInvalid as exc:
                last_error = exc
        else:
            raise InvalidClient(last_error.reason if last_error else "invalid") from None
        if claims.get("sub") != principal.name:
            raise InvalidClient("sub_mismatch")  # RFC 7523 §3 item 2
        if float(claims["exp"]) - now > MAX_ASSERTION_LIFETIME_S:
            raise InvalidClient("lifetime_too_long")
        if not self.replay.add_once(
            f"assertion:{kid}:{claims['jti']}", ttl_s=MAX_ASSERTION_LIFETIME_S + 60, now=now
        ):
            raise InvalidClient("replayed")  # RFC 7523 §3 item 7
        return principal, claims

    def token(
        self, assertion: str, *, scope: str | None, client: ClientInfo
    ) -> tuple[str, int, tuple[str, ...]]:
        """Verify the assertion; answer a DPoP-bound token limited to the asked purposes."""
        if not client.jkt:
            raise DpopInvalid("missing_proof")
        try:
            principal, _ = self._verify(assertion[:8192])
        except InvalidClient as exc:
            self.events.emit(
                SecurityEvent.at(
                    self.clock.now(),
                    kind="auth.client",
                    principal="unknown",
                    principal_type="service",
                    outcome="failure",
                    src_ip=client.src_ip,
                    user_agent=client.user_agent,
                    reason=exc.reason,
                )
            )
            raise
        wanted = tuple(sorted(set(scope.split()))) if scope else principal.purposes
        if not set(wanted) <= set(principal.purposes):
            raise InvalidScope()
        access, ttl, session_id = self.sessions.open_workload(
            principal, client=client, scope=wanted
        )
        self.events.emit(
            SecurityEvent.at(
                self.clock.now(),
                kind="auth.client",
                principal=principal.name,
                principal_type="service",
                principal_roles=principal.roles,
                outcome="success",
                src_ip=client.src_ip,
                user_agent=client.user_agent,
                session_id=session_id,
            )
        )
        return access, ttl, wanted
