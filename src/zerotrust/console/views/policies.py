"""Policies: the set in force and its version, a decision explainer over the PDP, and a
what-if replay of a proposed change against the recorded decisions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zerotrust.console.gates import ACTIONS
from zerotrust.console.guard import client_info
from zerotrust.console.passkeys import endpoint
from zerotrust.console.runtime import Console, console, text
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import InvalidInput, NotFound
from zerotrust.gateway.context import principal_entity
from zerotrust.policy.cedar import PolicyLoadError
from zerotrust.policy.explain import audit_record, explain
from zerotrust.policy.model import ACTIONS as PDP_ACTIONS
from zerotrust.policy.model import RESOURCE_TYPES, AuthzRequest, Entity
from zerotrust.policy.store import POLICY_SUFFIX, default_pack_dir, load_sources, read_dir
from zerotrust.policy.whatif import read_log, replay

LOG_TAIL_BYTES: Final = 8 << 20  # replay at most the last 8 MiB of the decision log
FLIPS_SHOWN: Final = 50
TRUST_LEVELS: Final = ("high", "medium", "low", "unknown")
RISK_LEVELS: Final = ("low", "medium", "high")


def _source_dir(c: Console) -> Path:
    return c.svc.policies.source or default_pack_dir()


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "policies")
    bundle = c.svc.policies.current
    infos = sorted(bundle.infos.values(), key=lambda i: (i.policy.source, i.id))
    files, _ = read_dir(_source_dir(c))
    people = sorted(c.svc.principals.list(), key=lambda p: (p.kind, p.name))[:300]
    return c.render(
        request,
        "policies.html",
        signed,
        policy_version=bundle.version,
        infos=infos,
        files=files,
        people=people,
        pdp_actions=PDP_ACTIONS,
        resource_types=RESOURCE_TYPES,
        trust_levels=TRUST_LEVELS,
        risk_levels=RISK_LEVELS,
    )


def _number(data: dict[str, Any], name: str, low: int, high: int) -> int:
    value = data.get(name)
    try:
        number = int(value) if isinstance(value, int | str) and str(value).strip() else low
    except ValueError:
        raise InvalidInput(f"{name}: a whole number.") from None
    if not low <= number <= high:
        raise InvalidInput(f"{name}: between {low} and {high}.")
    return number


def _request(c: Console, data: dict[str, Any]) -> AuthzRequest:
    """The request to decide, with the principal's roles as the directory has them now."""
    principal = c.svc.principals.get(text(data, "principal", limit=128))
    if principal is None:
        raise NotFound("No such principal.")
    attrs: dict[str, Any] = {}
    for name in ("customer", "environment"):
        value = text(data, name, limit=128, required=False)
        if value:
            attrs[name] = value
    context: dict[str, Any] = {
        "aal": _number(data, "aal", 1, 3),
        "auth_age_s": _number(data, "auth_age_s", 0, 86_400),
        "device": {
            "enrolled": data.get("device_enrolled") in (True, "on", "true"),
            "trust": text(data, "device_trust", limit=16),
            "patch_age_days": _number(data, "patch_age_days", 0, 36_500),
        },
        "risk": {"score": 0, "level": text(data, "risk_level", limit=16)},
        "country": text(data, "country", limit=2).upper(),
        "hour_local": _number(data, "hour_local", 0, 23),
    }
    for name in ("purpose", "case_customer"):
        value = text(data, name, limit=128, required=False)
        if value:
            context[name] = value
    resource = Entity(
        text(data, "resource_type", limit=64), text(data, "resource_id", limit=128), attrs
    )
    return AuthzRequest(
        principal_entity(principal), text(data, "action", limit=32), resource, context
    )


def _explain(request: Request, data: dict[str, Any]) -> Response:
    """Decide like ``POST /v1/authz/check``: audited, and recorded for what-if."""
    c = console(request)
    signed = c.guard.action(request)
    c.guard.authorize(signed.ctx, ACTIONS["policy.explain"])
    asked = _request(c, data)
    decision = c.svc.pdp.decide(asked)
    c.svc.audit.append(
        audit_record(
            asked,
            decision,
            src_ip=client_info(request).src_ip,
            session_id=signed.ctx.session.id,
        )
    )
    c.svc.decision_log.append(asked, decision)
    # Engine error text stays in the audit entry, never on a page (docs/policy.md).
    story = explain(replace(decision, errors=()), c.svc.policies.current)
    html = c.env.get_template("_decision.html").render(decision=decision, story=story)
    return JSONResponse({"html": html, "effect": decision.effect, "reload": False})


def _log_lines(path: Path) -> Iterator[str]:
    if not path.is_file():
        return iter(())
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - LOG_TAIL_BYTES))
        data = fh.read().decode("utf-8", "replace")
    lines = data.splitlines()
    if size > LOG_TAIL_BYTES:
        lines = lines[1:]  # the first line was cut in half
    return iter(lines)


def _whatif(request: Request, data: dict[str, Any]) -> Response:
    """Replay the recorded decisions against the set with one file replaced or added."""
    c = console(request)
    signed = c.guard.action(request)
    c.guard.authorize(signed.ctx, ACTIONS["policy.whatif"])
    name = text(data, "file", limit=64)
    if not name.endswith(POLICY_SUFFIX) or "/" in name or "\\" in name:
        raise InvalidInput(f"file: a policy file name ending in {POLICY_SUFFIX}.")
    proposed = data.get("text")
    if not isinstance(proposed, str) or len(proposed) > 48 * 1024:
        raise InvalidInput("text: the proposed policy file, at most 48 KiB.")
    files, schema = read_dir(_source_dir(c))
    sources = [(n, t) for n, t in files if n != name]
    if proposed.strip():
        sources.append((name, proposed))
    template = c.env.get_template("_whatif.html")
    try:
        bundle = load_sources(sources, schema)
    except PolicyLoadError as exc:
        return JSONResponse({"html": template.render(error=exc.detail), "reload": False})
    report = replay(bundle, read_log(_log_lines(c.svc.decision_log.path)))
    c.svc.audit.append(
        AuditRecord(
            action="policy.whatif",
            actor=signed.ctx.principal.id,
            outcome="success",
            resource=f"policy-set:{bundle.version}",
            session_id=signed.ctx.session.id,
            details={"file": name, "replayed": report.total, "flips": len(report.flips)},
        )
    )
    names = {p.id: p.name for p in c.svc.principals.list()}
    html = template.render(report=report, flips=report.flips[:FLIPS_SHOWN], names=names, error=None)
    return JSONResponse({"html": html, "flips": len(report.flips), "reload": False})


explain_decision = endpoint(_explain)
whatif = endpoint(_whatif)
