"""The PDP's request and decision values, their reason codes, and their JSON forms.

A request names who (an entity with its attributes), which action, on what (an entity),
in which context. A decision is always a value, never an exception: its ``effect`` is
``allow``, ``deny`` or ``step_up``, and it says why with stable kebab-case reason codes and
the ids of the policies that determined it (the pomerium habit). The HTTP endpoint and the
CLI share ``request_from_json`` and ``decision_to_json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from zerotrust.core.errors import InvalidInput

Effect = Literal["allow", "deny", "step_up"]
EFFECTS: Final = ("allow", "deny", "step_up")

# Reasons the PDP itself gives; policies add their own through ``@reason`` annotations.
NO_APPLICABLE_POLICY: Final = "no-applicable-policy"
POLICY_EVALUATION_ERROR: Final = "policy-evaluation-error"
INVALID_REQUEST: Final = "invalid-request"
EMPTY_POLICY_SET: Final = "empty-policy-set"
PDP_ERROR: Final = "pdp-error"
PDP_TIMEOUT: Final = "pdp-timeout"
GRANT_EXPIRED: Final = "grant-expired"

PDP_REASONS: Final = {
    NO_APPLICABLE_POLICY: "no permit policy applies (default deny)",
    POLICY_EVALUATION_ERROR: "a policy failed to evaluate; Cedar would skip it, so we deny",
    INVALID_REQUEST: "the request does not conform to the schema",
    EMPTY_POLICY_SET: "no policies are loaded",
    PDP_ERROR: "the decision point failed unexpectedly",
    PDP_TIMEOUT: "the decision took longer than its budget",
    GRANT_EXPIRED: "a just-in-time grant for this access has expired",
}

# The schema's vocabulary (policy/pack/schema.cedarschema): every action and resource type.
ACTIONS: Final = ("read", "list", "write", "delete", "export", "score", "detokenize", "manage")
RESOURCE_TYPES: Final = (
    "Customer",
    "CustomerPII",
    "CustomerProfile",
    "Transaction",
    "CreditProfile",
    "FeatureSet",
    "ModelOutput",
    "FraudCase",
    "AuditLog",
    "KeyMaterial",
    "Report",
    "Database",
    "User",
    "Role",
    "Device",
    "Policy",
)

# Set by the PDP from the grant store; a caller that sends it is refused.
RESERVED_CONTEXT_KEYS: Final = frozenset({"jit_grant"})

MAX_ID_CHARS: Final = 512
MAX_ATTRS: Final = 32


@dataclass(frozen=True, slots=True)
class Entity:
    """A principal or resource: a type, an opaque id, and its attributes as JSON values."""

    type: str
    id: str
    attrs: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def uid(self) -> tuple[str, str]:
        return (self.type, self.id)


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    """Who wants to do what to which resource, and the facts about this request."""

    principal: Entity
    action: str
    resource: Entity
    context: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request; ``errors`` hold detail for the audit log, not clients."""

    effect: Effect
    reasons: tuple[str, ...]
    policies: tuple[str, ...] = ()
    obligations: tuple[str, ...] = ()
    required_aal: int | None = None
    max_auth_age_s: int | None = None
    version: str = ""
    grant_id: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"


def deny(
    reason: str, *, version: str = "", errors: tuple[str, ...] = (), policies: tuple[str, ...] = ()
) -> Decision:
    """A deny with one PDP reason."""
    return Decision("deny", (reason,), policies, version=version, errors=errors)


# -- JSON ----------------------------------------------------------------------------------


def request_from_json(obj: object) -> AuthzRequest:
    """Parse the shared JSON form of a request; raise ``InvalidInput`` (one line) if malformed.

    Only the shape is checked here. Whether the request fits the schema (known entity
    types, attribute types, context fields) is the PDP's question, answered with a deny
    ``invalid-request``.
    """
    data = _object(obj, "request")
    _no_unknown_keys(data, {"principal", "action", "resource", "context"}, "request")
    context = _object(data.get("context", {}), "context")
    reserved = sorted(RESERVED_CONTEXT_KEYS & context.keys())
    if reserved:
        raise InvalidInput(f"context.{reserved[0]} is set by the PDP, not by the caller")
    return AuthzRequest(
        principal=_entity(data.get("principal"), "principal"),
        action=_string(data.get("action"), "action"),
        resource=_entity(data.get("resource"), "resource"),
        context=context,
    )


def request_to_json(request: AuthzRequest) -> dict[str, Any]:
    """The inverse of ``request_from_json``."""
    return {
        "principal": _entity_json(request.principal),
        "action": request.action,
        "resource": _entity_json(request.resource),
        "context": dict(request.context),
    }


def decision_to_json(decision: Decision) -> dict[str, Any]:
    """The client-facing form: no engine error text (that goes to the audit log)."""
    return {
        "effect": decision.effect,
        "reasons": list(decision.reasons),
        "policies": list(decision.policies),
        "obligations": list(decision.obligations),
        "required_aal": decision.required_aal,
        "max_auth_age_s": decision.max_auth_age_s,
        "grant": decision.grant_id,
        "version": decision.version,
    }


def decision_from_json(obj: object) -> Decision:
    """Read a recorded decision (what-if logs); only ``effect`` and ``reasons`` are required."""
    data = _object(obj, "decision")
    effect = data.get("effect")
    if effect not in EFFECTS:
        raise InvalidInput("decision.effect: must be allow, deny or step_up")
    return Decision(
        effect=effect,
        reasons=_strings(data.get("reasons", []), "decision.reasons"),
        policies=_strings(data.get("policies", []), "decision.policies"),
        obligations=_strings(data.get("obligations", []), "decision.obligations"),
        required_aal=_optional_int(data.get("required_aal"), "decision.required_aal"),
        version=str(data.get("version") or ""),
        grant_id=_optional_str(data.get("grant"), "decision.grant"),
    )


def _entity(obj: object, where: str) -> Entity:
    data = _object(obj, where)
    attrs = {k: v for k, v in data.items() if k not in ("type", "id")}
    if len(attrs) > MAX_ATTRS:
        raise InvalidInput(f"{where}: too many attributes")
    return Entity(
        _string(data.get("type"), f"{where}.type"), _string(data.get("id"), f"{where}.id"), attrs
    )


def _entity_json(entity: Entity) -> dict[str, Any]:
    return {"type": entity.type, "id": entity.id, **entity.attrs}


def _object(obj: object, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: expected a JSON object")
    if not all(isinstance(k, str) for k in obj):
        raise InvalidInput(f"{where}: keys must be strings")
    return obj


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{where}: expected a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise InvalidInput(f"{where}: longer than {MAX_ID_CHARS} characters")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: expected a list of strings")
    return tuple(value)


def _optional_int(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{where}: expected an integer")
    return value


def _optional_str(value: object, where: str) -> str | None:
    if value is None:
        return None
    return _string(value, where)


def _no_unknown_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInput(f"{where}: unknown field {unknown[0]!r}")


# -- context facts the PDP must be able to trust -------------------------------------------

TRUST_LEVELS: Final = frozenset({"high", "medium", "low", "unknown"})
RISK_LEVELS: Final = frozenset({"low", "medium", "high"})


Check = tuple[str, Callable[[Any], bool], str]


def _int_in(low: int, high: int) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        return type(value) is int and low <= value <= high  # bool is not an int here

    return ok


def _one_of(allowed: frozenset[str]) -> Callable[[Any], bool]:
    def ok(value: Any) -> bool:
        return type(value) is str and value in allowed

    return ok


def _country(value: Any) -> bool:
    return type(value) is str and len(value) == 2 and value.isascii() and value.isupper()


_TOP: Final[tuple[Check, ...]] = (
    ("aal", _int_in(1, 3), "aal must be an integer 1-3"),
    ("auth_age_s", _int_in(0, 2**53), "auth_age_s must be a non-negative integer"),
    ("hour_local", _int_in(0, 23), "hour_local must be an integer 0-23"),
    ("country", _country, "country must be an ISO 3166-1 alpha-2 code"),
)
_NESTED: Final[tuple[tuple[str, tuple[Check, ...]], ...]] = (
    ("device", (
        ("trust", _one_of(TRUST_LEVELS), "device.trust must be high, medium, low or unknown"),
        ("patch_age_days", _int_in(0, 2**31),
         "device.patch_age_days must be a non-negative integer"),
    )),
    ("risk", (
        ("level", _one_of(RISK_LEVELS), "risk.level must be low, medium or high"),
        ("score", _int_in(0, 100), "risk.score must be an integer 0-100"),
    )),
)  # fmt: skip
_MISSING: Final = object()


def context_problem(context: Mapping[str, Any]) -> str | None:
    """The first context fact outside its domain, if any.

    The schema only says ``trust`` is a string; a value the policies do not expect must
    deny rather than match no guard, so the PDP checks each known fact's domain here.
    Absent facts (and non-object groups) are left to the schema, which requires them.
    """
    problem = _first_problem(context, _TOP)
    for group, checks in _NESTED:
        if problem is not None:
            return problem
        nested = context.get(group)
        if isinstance(nested, dict):
            problem = _first_problem(nested, checks)
    return problem


def _first_problem(values: Mapping[str, Any], checks: tuple[Check, ...]) -> str | None:
    for key, ok, message in checks:
        value = values.get(key, _MISSING)
        if value is not _MISSING and not ok(value):
            return message
    return None
