"""The policy decision for a control-plane request: the same PDP and context the gateway
uses, so an action is allowed or refused alike whichever door it comes through."""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

from zerotrust.core.errors import AuthenticationFailed, Forbidden
from zerotrust.gateway.context import ContextBuilder, principal_entity
from zerotrust.gateway.geo import Countries
from zerotrust.identity.sessions import AuthContext
from zerotrust.policy.explain import audit_record
from zerotrust.policy.model import AuthzRequest, Entity
from zerotrust.service import Services

NO_ADDRESS = "0.0.0.0"  # noqa: S104 - a value for "unknown", never bound
# The caller's address for decisions made below the route (the records API's gate), set
# for every request by ``ClientAddress``.
CLIENT_IP: ContextVar[str] = ContextVar("zt_client_ip", default=NO_ADDRESS)


class StepUpRequired(AuthenticationFailed):
    """RFC 9470: a stronger or fresher authentication is needed for this action."""

    code = "insufficient_user_authentication"
    message = "A stronger or more recent authentication is required."

    def __init__(self, required_aal: int | None, max_age_s: int | None) -> None:
        super().__init__()
        self.required_aal = required_aal
        self.max_age_s = max_age_s
        self.reason = "step_up_required"


class PolicyDenied(Forbidden):
    """The PDP said no; ``reason`` is its first stable reason code."""

    code = "policy_denied"
    message = "The policy does not allow this."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ClientAddress:
    """ASGI middleware: remember the socket peer for the policy context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        token = CLIENT_IP.set(client[0] if client else NO_ADDRESS)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT_IP.reset(token)


class _EngineRisk:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def score(self, principal: str, now: float) -> tuple[int, str]:
        risk = self.svc.detection.risk.score(principal, now)
        return int(risk.score), str(risk.level)


class PdpAuthorizer:
    """``(ctx, action, resource_type, resource_id) -> obligations``: the PDP for a
    control-plane request, with the caller's address from ``ClientAddress``.

    Returns the obligations of an allow and raises on deny or step-up; every decision is
    audited, and a refusal says which reason, never the policy text.
    """

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.context = ContextBuilder(countries=Countries(), risk=_EngineRisk(svc))

    def __call__(
        self, ctx: AuthContext, action: str, resource_type: str, resource_id: str | None
    ) -> list[str]:
        svc, client_ip, now = self.svc, CLIENT_IP.get(), self.svc.clock.now()
        device, trust = svc.devices.trust_for_key(ctx.session.jkt or "")
        authz = AuthzRequest(
            principal=principal_entity(ctx.principal),
            action=action,
            resource=Entity(resource_type, resource_id or "*"),
            context=self.context.build(
                ctx, device=device, trust=trust, client_ip=client_ip, now=now
            ),
        )
        decision = svc.pdp.decide(authz)
        svc.audit.append(
            audit_record(
                authz,
                decision,
                src_ip=client_ip,
                device_id=device.id if device else None,
                session_id=ctx.session.id,
            )
        )
        if decision.effect == "step_up":
            raise StepUpRequired(decision.required_aal, decision.max_auth_age_s)
        if decision.effect != "allow":
            raise PolicyDenied(decision.reasons[0] if decision.reasons else "denied")
        return list(decision.obligations)
