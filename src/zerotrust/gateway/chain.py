"""The verification chain (DESIGN.md steps 2-5 and 7), run in full on every request.

``verify`` takes what the edge already checked (framing, canonical path, route, client
address) and answers a ``Verdict``; it never raises. In order: the source address's rate
limit; exactly one ``DPoP`` proof, verified over this method and canonical URL with a
single-use ``jti``, and the credential it is bound to — an ``Authorization: DPoP`` token
(``dpop`` routes) or a browser session's cookie (``session`` routes) — and its live
session; the principal's rate limit; the device (the one whose key signed the proof, or
the enrolled device a browser session was linked to), with its posture trust; the
context; the PDP; and the audit entry. A ``public`` route stops after the address's
rate limit: there is nobody to verify. The audit entry is written before anything is
forwarded, so an access that cannot be audited does not happen (PCI DSS 10.7.2).

Fail closed: an ``AuthenticationFailed`` is a 401, a limit a 429, and *any other*
exception — a database or Redis that is down, a PDP that raises, a bug — is an
``unavailable`` verdict (503) with its reason audited, never a pass-through.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import AuthenticationFailed, NotFound, RateLimited, ZTError
from zerotrust.devices.models import Device, Trust
from zerotrust.devices.registry import DeviceRegistry
from zerotrust.gateway.cache import CachedDevices, CachedPrincipals, VerifiedTokens
from zerotrust.gateway.config import GatewayConfig, Route
from zerotrust.gateway.context import ContextBuilder, principal_entity, resource_entity
from zerotrust.gateway.ratelimit import RateLimiter
from zerotrust.identity.dpop import DpopGuard, TokenMissing, dpop_access_token
from zerotrust.identity.sessions import AuthContext, SessionManager
from zerotrust.policy.explain import audit_record
from zerotrust.policy.model import PDP_ERROR, PDP_TIMEOUT, AuthzRequest, Decision
from zerotrust.service import Services

log = logging.getLogger("zerotrust.gateway")

Outcome = Literal[
    "allow", "public", "deny", "step_up", "unauthenticated", "rate_limited", "unavailable"
]
# PDP reasons that mean "the decision point failed", answered 503 rather than 403.
UNAVAILABLE_REASONS: Final = frozenset({PDP_ERROR, PDP_TIMEOUT})


class Decider(Protocol):
    """The policy decision point (``policy.pdp.PolicyDecisionPoint``)."""

    def decide(self, request: AuthzRequest) -> Decision: ...


class DeviceTrust(Protocol):
    """The device registry's view (``devices.registry.DeviceRegistry``)."""

    def trust_for_key(self, jkt: str) -> tuple[Device | None, Trust]: ...

    def get(self, device_id: str) -> Device: ...


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the edge established before verification."""

    method: str
    path: str  # canonical
    route: Route
    segments: tuple[str, ...]
    client_ip: str
    correlation_id: str
    authorization: tuple[bytes, ...] = ()
    dpop: tuple[bytes, ...] = ()
    purpose: str | None = None
    user_agent: str | None = None
    session_handle: str | None = None  # a browser session's cookie (``session`` routes)


@dataclass(slots=True)
class Verdict:
    """What to do with the request, and everything the audit and the event need."""

    outcome: Outcome
    reason: str
    code: str = ""  # the client-facing error code
    decision: Decision | None = None
    request: AuthzRequest | None = None
    auth: AuthContext | None = None
    device_id: str | None = None
    risk: tuple[int, str] | None = None
    retry_after_s: int | None = None
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def principal_label(self) -> str:
        return self.auth.principal.name if self.auth else "anonymous"


class _Stages:
    """Wall time per stage, for the latency histograms; and who was verified, so a
    refusal after authentication (a principal's rate limit) still names them."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.auth: AuthContext | None = None
        self._last = time.perf_counter()

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = now - self._last
        self._last = now


class VerificationChain:
    def __init__(
        self,
        *,
        dpop: DpopGuard,
        sessions: SessionManager,
        devices: DeviceTrust,
        pdp: Decider,
        limiter: RateLimiter,
        context: ContextBuilder,
        audit: AuditRecorder,
        clock: Clock,
        htu_urls: Callable[[str], frozenset[str]],
    ) -> None:
        self.dpop = dpop
        self.sessions = sessions
        self.devices = devices
        self.pdp = pdp
        self.limiter = limiter
        self.context = context
        self.audit = audit
        self.clock = clock
        self.htu_urls = htu_urls

    @classmethod
    def over(
        cls,
        services: Services,
        pdp: Decider,
        config: GatewayConfig,
        *,
        context: ContextBuilder,
        htu_urls: Callable[[str], frozenset[str]],
    ) -> VerificationChain:
        """The chain over the product's services, with the short-lived caches of
        ``gateway.cache`` in front of principals, device records and verified tokens.
        Sessions are read on every request, so revocation holds on the next one."""
        clock, ttl_s = services.clock, config.cache_s
        base, registry = services.sessions, services.devices
        sessions = SessionManager(
            sessions=base.sessions,
            principals=CachedPrincipals(base.principals, clock, ttl_s=ttl_s),
            tokens=VerifiedTokens.like(base.tokens),
            audit=base.audit,
            clock=clock,
            policy=base.policy,
        )
        devices = DeviceRegistry(
            repo=CachedDevices(registry.repo, clock, ttl_s=ttl_s),
            audit=registry.audit,
            clock=clock,
            revoke_bound=registry.revoke_bound,
            policy=registry.policy,
        )
        limiter = RateLimiter(
            services.counters,
            clock,
            per_address=config.per_address,
            per_principal=config.per_principal,
        )
        return cls(
            dpop=services.dpop,
            sessions=sessions,
            devices=devices,
            pdp=pdp,
            limiter=limiter,
            context=context,
            audit=services.audit,
            clock=clock,
            htu_urls=htu_urls,
        )

    def verify(self, facts: RequestFacts) -> Verdict:
        """Decide one request; never raises."""
        stages = _Stages()
        try:
            verdict = self._verify(facts, stages)
        except AuthenticationFailed as exc:
            verdict = Verdict("unauthenticated", _reason(exc), code=exc.code)
        except RateLimited as exc:
            verdict = Verdict(
                "rate_limited",
                _reason(exc),
                code=exc.code,
                auth=stages.auth,
                retry_after_s=exc.retry_after_s,
            )
        except Exception as exc:  # fail closed: whatever broke, nothing is forwarded
            verdict = Verdict("unavailable", _reason(exc), code="service_unavailable")
        verdict.stages = stages.times
        if verdict.outcome in ("unauthenticated", "rate_limited", "unavailable"):
            self.audit_refusal(facts, verdict)
        return verdict

    def _verify(self, facts: RequestFacts, stages: _Stages) -> Verdict:
        self.limiter.check_address(facts.client_ip)
        stages.mark("ratelimit")
        if facts.route.auth == "public":
            return Verdict("public", "public_route")
        proofs = facts.dpop
        if len(proofs) > 1:
            raise TokenMissing("multiple_proofs")
        proof_text = proofs[0].decode("latin-1") if proofs else None
        urls = self.htu_urls(facts.path)
        if facts.route.auth == "session":
            auth = stages.auth = self._browser_session(facts, proof_text, urls)
        else:
            token = dpop_access_token([v.decode("latin-1") for v in facts.authorization])
            proof = self.dpop.verify(proof_text, method=facts.method, urls=urls, access_token=token)
            auth = stages.auth = self.sessions.authenticate(token, jkt=proof.jkt)
        stages.mark("authenticate")
        self.limiter.check_principal(auth.principal.id)
        device, trust = self._device(auth, linked=facts.route.auth == "session")
        stages.mark("device")
        context = self.context.build(
            auth,
            device=device,
            trust=trust,
            client_ip=facts.client_ip,
            now=self.clock.now(),
            purpose=facts.purpose,
        )
        request = AuthzRequest(
            principal=principal_entity(auth.principal),
            action=facts.route.methods[facts.method],
            resource=resource_entity(facts.route.resource, facts.segments),
            context=context,
        )
        stages.mark("context")
        decision = self.pdp.decide(request)
        stages.mark("decide")
        verdict = _from_decision(decision, request, auth, device)
        # The ``authz.decision`` entry; if it cannot be written, the request fails.
        record = audit_record(
            request,
            decision,
            src_ip=facts.client_ip,
            device_id=verdict.device_id,
            session_id=auth.session.id,
        )
        details = {**record.details, **_gateway_details(facts), "risk": verdict.risk}
        self.audit.append(dataclasses.replace(record, details=details))
        stages.mark("audit")
        return verdict

    def _browser_session(
        self, facts: RequestFacts, proof_text: str | None, urls: frozenset[str]
    ) -> AuthContext:
        """A browser session: its cookie, and a proof by the key the session is bound to
        (no token: the browser never holds one). Without a cookie there is nothing to
        verify, so the proof's ``jti`` is not spent."""
        if not facts.session_handle:
            raise TokenMissing("missing_token")
        proof = self.dpop.verify(proof_text, method=facts.method, urls=urls)
        return self.sessions.resume(facts.session_handle, jkt=proof.jkt)

    def _device(self, auth: AuthContext, *, linked: bool) -> tuple[Device | None, Trust]:
        """The device the request comes from: the enrolled device whose key is the
        session's, or — for a browser session — the enrolled device the person's own
        device agent linked to it at sign-in (a browser key alone is no enrolled device).
        A device owned by someone else counts for nothing."""
        device_id, jkt = auth.session.device_id, auth.session.jkt or ""
        if linked and device_id is not None:
            try:
                jkt = self.devices.get(device_id).jkt
            except NotFound:
                return None, Trust("unknown", ("device_not_found",))
        device, trust = self.devices.trust_for_key(jkt)
        if device is not None and device.owner_id != auth.principal.id:
            return None, Trust("unknown", ("device_owner_mismatch",))
        return device, trust

    def audit_refusal(self, facts: RequestFacts, verdict: Verdict) -> None:
        """Refusals before a decision are audited too, with their precise reason."""
        action = {
            "unauthenticated": "auth.rejected",
            "rate_limited": "gateway.rate_limited",
        }.get(verdict.outcome, "gateway.unavailable")
        try:
            self.audit.append(
                AuditRecord(
                    action=action,
                    actor=verdict.auth.principal.id if verdict.auth else "anonymous",
                    outcome="denied",
                    resource=f"{facts.route.resource.type}:{facts.path[:256]}",
                    reason=verdict.reason,
                    src_ip=facts.client_ip,
                    details=_gateway_details(facts),
                )
            )
        except Exception:
            # The request is refused either way; the failure itself is logged and counted.
            log.exception("audit write failed for a refused request (%s)", facts.correlation_id)
            if verdict.outcome != "unavailable":
                verdict.outcome, verdict.reason = "unavailable", "audit_unavailable"
                verdict.code = "service_unavailable"


def _from_decision(
    decision: Decision, request: AuthzRequest, auth: AuthContext, device: Device | None
) -> Verdict:
    reason = ",".join(decision.reasons)
    outcome: Outcome
    if decision.effect == "allow":
        outcome, code = "allow", ""
    elif decision.effect == "step_up":
        outcome, code = "step_up", "insufficient_user_authentication"
    elif UNAVAILABLE_REASONS & set(decision.reasons):
        outcome, code = "unavailable", "policy_unavailable"
    else:
        outcome, code = "deny", "access_denied"
    risk = request.context.get("risk", {})
    return Verdict(
        outcome,
        reason,
        code=code,
        decision=decision,
        request=request,
        auth=auth,
        device_id=device.id if device else None,
        risk=(risk.get("score", 0), risk.get("level", "low")),
    )


def _gateway_details(facts: RequestFacts) -> dict[str, Any]:
    return {
        "correlation_id": facts.correlation_id,
        "route": facts.route.name,
        "method": facts.method,
        "path": facts.path[:256],
    }


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    if isinstance(exc, ZTError):
        return exc.code
    return f"error:{type(exc).__name__}"
