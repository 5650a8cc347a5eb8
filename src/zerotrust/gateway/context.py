"""The facts the PDP decides on: who, what, and the request's context (docs/policy.md).

Principals come from the identity service on every request (roles as of now, or at most
``principal_cache_s`` ago); the resource from the route and the canonical path; the
context from the live session (AAL and its age), the device registry (enrolment and
posture trust), the trusted client address (country), the gateway's clock (local hour),
the principal's risk score and, for AI workloads, the purpose their token was issued for.
Nothing here is taken from a header the client controls, except the choice of purpose
among those its token already carries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from zerotrust.devices.models import Device, Trust
from zerotrust.gateway.config import ResourceSpec
from zerotrust.gateway.geo import Countries
from zerotrust.identity.models import Principal
from zerotrust.identity.sessions import AuthContext
from zerotrust.policy.model import Entity

COLLECTION_ID: Final = "*"
# Patch age when the device never said: old enough that no patch rule can be satisfied.
UNKNOWN_PATCH_AGE_DAYS: Final = 36_500
_REF = re.compile(r"\{([^{}]*)\}")


class RiskSource(Protocol):
    """The principal's current risk (``detect.risk.RiskScores`` is one)."""

    def score(self, principal: str, now: float) -> tuple[int, str]:
        """``(score 0-100, level low|medium|high)``."""
        ...


class NoRisk:
    """The default risk source: everyone is low risk until a detector says otherwise."""

    def score(self, principal: str, now: float) -> tuple[int, str]:
        return 0, "low"


class CaseSource(Protocol):
    """The one customer a support session is bound to (``context.case_customer``)."""

    def case_for(self, principal_id: str, session_id: str) -> str | None: ...


def principal_entity(principal: Principal) -> Entity:
    """Identity's principal as the schema's ``User`` or ``ServiceAccount``."""
    if principal.kind == "service":
        return Entity(
            "ServiceAccount",
            principal.id,
            {"workload": principal.workload_kind or "", "purposes": list(principal.purposes)},
        )
    return Entity("User", principal.id, {"roles": list(principal.roles)})


def resource_entity(spec: ResourceSpec, segments: Sequence[str]) -> Entity:
    """The route's resource, its id and attributes filled in from the path segments."""
    attrs: dict[str, Any] = {}
    for key, template in spec.attrs.items():
        value = fill(template, segments)
        if value is not None:
            attrs[key] = value
    return Entity(spec.type, fill(spec.id, segments) or COLLECTION_ID, attrs)


def fill(template: str, segments: Sequence[str]) -> str | None:
    """Substitute ``{n}`` and ``{path}``; ``None`` when a named segment is absent."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        ref = match.group(1)
        if ref == "path":
            missing = missing or not segments
            return "/".join(segments)
        index = int(ref) - 1
        if index >= len(segments):
            missing = True
            return ""
        return segments[index]

    value = _REF.sub(one, template)
    return None if missing or not value else value


def workload_purpose(claims: Mapping[str, Any], requested: str | None) -> str | None:
    """The purpose a workload acts for: the one its token's ``scope`` names, or the one
    it asks for among those (GDPR art. 5(1)(b)); otherwise none, and policy decides."""
    scope = claims.get("scope")
    purposes = scope.split() if isinstance(scope, str) else []
    if requested is not None:
        return requested if requested in purposes else None
    return purposes[0] if len(purposes) == 1 else None


class ContextBuilder:
    """Builds ``AuthzRequest.context`` for one verified request."""

    def __init__(
        self,
        *,
        countries: Countries,
        risk: RiskSource,
        cases: CaseSource | None = None,
        timezone: str = "UTC",
    ) -> None:
        self.countries = countries
        self.risk = risk
        self.cases = cases
        self.zone = ZoneInfo(timezone)

    def build(
        self,
        auth: AuthContext,
        *,
        device: Device | None,
        trust: Trust,
        client_ip: str,
        now: float,
        purpose: str | None = None,
    ) -> dict[str, Any]:
        session, principal = auth.session, auth.principal
        score, level = self.risk.score(principal.name, now)
        context: dict[str, Any] = {
            "aal": session.aal,
            "auth_age_s": max(0, int(now - session.auth_time)),
            "device": {
                "enrolled": device is not None and device.status == "active",
                "trust": trust.level,
                "patch_age_days": (
                    UNKNOWN_PATCH_AGE_DAYS if trust.patch_age_days is None else trust.patch_age_days
                ),
            },
            "risk": {"score": score, "level": level},
            "country": self.countries.country(client_ip),
            "hour_local": datetime.fromtimestamp(now, tz=self.zone).hour,
        }
        if principal.kind == "service":
            chosen = workload_purpose(auth.claims, purpose)
            if chosen is not None:
                context["purpose"] = chosen
        if self.cases is not None:
            case = self.cases.case_for(principal.id, session.id)
            if case is not None:
                context["case_customer"] = case
        return context
