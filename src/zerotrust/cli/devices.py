"""``zt device``: an administrator's view of enrolled devices."""

from __future__ import annotations

from typing import Any

import click

from zerotrust.cli.common import emit_json, handle_errors, open_services
from zerotrust.devices.models import Device
from zerotrust.devices.posture import assess
from zerotrust.service import Services


def device_json(svc: Services, d: Device) -> dict[str, Any]:
    trust = assess(d, now=svc.clock.now(), policy=svc.devices.policy)
    return {
        "id": d.id,
        "owner_id": d.owner_id,
        "name": d.name,
        "jkt": d.jkt,
        "status": d.status,
        "trust": trust.level,
        "trust_reasons": list(trust.reasons),
        "posture": d.posture.to_dict() if d.posture else None,
    }


@click.group("device")
def device_group() -> None:
    """List, inspect, approve, quarantine and revoke devices."""


@device_group.command("list")
@click.option("--owner", default=None, help="Only this user's devices.")
@handle_errors
def device_list(owner: str | None) -> None:
    with open_services() as svc:
        owner_id = svc.admin.get(owner).id if owner else None
        emit_json([device_json(svc, d) for d in svc.devices.list(owner_id)])


@device_group.command("show")
@click.argument("device_id")
@handle_errors
def device_show(device_id: str) -> None:
    with open_services() as svc:
        emit_json(device_json(svc, svc.devices.get(device_id)))


def _act(action: str, device_id: str, actor: str) -> None:
    with open_services() as svc:
        admin = svc.admin.get(actor)
        op = {
            "approve": svc.devices.approve,
            "quarantine": svc.devices.quarantine,
            "revoke": svc.devices.revoke,
        }[action]
        emit_json(device_json(svc, op(device_id, actor=admin.id)))


@device_group.command("approve")
@click.argument("device_id")
@click.option("--by", "actor", required=True, help="The approving admin's name.")
@handle_errors
def device_approve(device_id: str, actor: str) -> None:
    _act("approve", device_id, actor)


@device_group.command("quarantine")
@click.argument("device_id")
@click.option("--by", "actor", required=True, help="The admin's name.")
@handle_errors
def device_quarantine(device_id: str, actor: str) -> None:
    _act("quarantine", device_id, actor)


@device_group.command("revoke")
@click.argument("device_id")
@click.option("--by", "actor", required=True, help="The admin's name.")
@handle_errors
def device_revoke(device_id: str, actor: str) -> None:
    """Revoke for good: every session bound to the device ends at once."""
    _act("revoke", device_id, actor)
