"""``/v1/devices``: enrolment (by the device itself), posture reports, administration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from zerotrust.api import problems
from zerotrust.api.auth import Strict
from zerotrust.api.deps import current, services
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import Forbidden, NotFound
from zerotrust.devices.models import Device
from zerotrust.devices.posture import assess
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services

router = APIRouter(
    prefix="/v1/devices", tags=["devices"], responses=problems.responses(*problems.SIGNED_IN)
)
# An admin action on a device: not an admin (403), no such device (404), revoked (400).
ADMIN_ACTION = problems.responses(400, 403, 404)
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]


class EnrollIn(Strict):
    name: str
    public_jwk: dict[str, Any]
    posture: str | None = None


class PostureIn(Strict):
    report: str


class DeviceOut(BaseModel):
    id: str
    owner_id: str
    name: str
    jkt: str
    status: str
    trust: str
    trust_reasons: list[str]
    posture: dict[str, Any] | None
    created_at: float


def _out(svc: Services, device: Device) -> DeviceOut:
    trust = assess(device, now=svc.clock.now(), policy=svc.devices.policy)
    return DeviceOut(
        id=device.id,
        owner_id=device.owner_id,
        name=device.name,
        jkt=device.jkt,
        status=device.status,
        trust=trust.level,
        trust_reasons=list(trust.reasons),
        posture=device.posture.to_dict() if device.posture else None,
        created_at=device.created_at,
    )


def _require_admin(ctx: AuthContext) -> None:
    # Device administration is an admin action; the policy engine refines this with
    # assurance and device trust once it guards the API.
    if "admin" not in ctx.principal.roles:
        raise Forbidden("Device administration needs the admin role.", code="forbidden")


def _visible(svc: Services, ctx: AuthContext, device_id: str) -> Device:
    device = svc.devices.get(device_id)
    if device.owner_id != ctx.principal.id and "admin" not in ctx.principal.roles:
        raise NotFound("No such device.", code="device_not_found")  # no ID oracle (BOLA)
    return device


def _proof_jkt(request: Request) -> str:
    return str(request.state.dpop.jkt)


@router.post(
    "",
    response_model=DeviceOut,
    status_code=201,
    responses=problems.responses(403, 409, *problems.BODY),
)
def enroll(body: EnrollIn, request: Request, ctx: Ctx, svc: Svc) -> DeviceOut:
    device = svc.devices.enroll(
        ctx.principal.id,
        body.public_jwk,
        name=body.name,
        proof_jkt=_proof_jkt(request),
        posture_report=body.posture,
    )
    return _out(svc, device)


@router.get("", response_model=list[DeviceOut], responses=problems.responses(403, 422))
def list_devices(ctx: Ctx, svc: Svc, all: bool = False) -> list[DeviceOut]:
    if all:
        _require_admin(ctx)
        return [_out(svc, d) for d in svc.devices.list()]
    return [_out(svc, d) for d in svc.devices.list(ctx.principal.id)]


@router.get("/{device_id}", response_model=DeviceOut, responses=problems.responses(404))
def get_device(device_id: str, ctx: Ctx, svc: Svc) -> DeviceOut:
    return _out(svc, _visible(svc, ctx, device_id))


@router.post(
    "/{device_id}/posture",
    response_model=DeviceOut,
    responses=problems.responses(403, 404, *problems.BODY),
)
def report_posture(
    device_id: str, body: PostureIn, request: Request, ctx: Ctx, svc: Svc
) -> DeviceOut:
    _visible(svc, ctx, device_id)
    return _out(
        svc, svc.devices.report_posture(device_id, body.report, proof_jkt=_proof_jkt(request))
    )


def _admin_action(action: str, device_id: str, ctx: AuthContext, svc: Services) -> DeviceOut:
    try:
        _require_admin(ctx)
    except Forbidden:
        svc.audit.append(
            AuditRecord(
                action=f"device.{action}",
                actor=ctx.principal.id,
                outcome="denied",
                resource=f"device:{device_id}",
                reason="not_admin",
            )
        )
        raise
    op = {
        "approve": svc.devices.approve,
        "quarantine": svc.devices.quarantine,
        "revoke": svc.devices.revoke,
    }[action]
    return _out(svc, op(device_id, actor=ctx.principal.id))


@router.post("/{device_id}/approve", response_model=DeviceOut, responses=ADMIN_ACTION)
def approve(device_id: str, ctx: Ctx, svc: Svc) -> DeviceOut:
    return _admin_action("approve", device_id, ctx, svc)


@router.post("/{device_id}/quarantine", response_model=DeviceOut, responses=ADMIN_ACTION)
def quarantine(device_id: str, ctx: Ctx, svc: Svc) -> DeviceOut:
    return _admin_action("quarantine", device_id, ctx, svc)


@router.post("/{device_id}/revoke", response_model=DeviceOut, responses=ADMIN_ACTION)
def revoke(device_id: str, ctx: Ctx, svc: Svc) -> DeviceOut:
    return _admin_action("revoke", device_id, ctx, svc)
