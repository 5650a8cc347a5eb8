"""The sample platform's people and AI workloads, with their devices and MFA.

DEMO ONLY. Provisioning writes each persona's password, TOTP secret and device key to
``<data dir>/demo/`` (mode 0600) so the scenarios can sign in as them, and it refuses to
run in a data directory that is not marked as a demo (``demo/DEMO-ONLY``): demo
credentials never exist outside the demo profile.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyotp

from zerotrust.client import DeviceKey
from zerotrust.core.errors import Conflict, InvalidInput
from zerotrust.devices.models import Posture
from zerotrust.devices.posture import sign_posture
from zerotrust.service import Services

MARKER: Final = "DEMO-ONLY"
STATE_FILE: Final = "personas.json"


@dataclass(frozen=True)
class Persona:
    """A person of the sample fintech and what they do there."""

    name: str
    role: str
    title: str
    does: str


PERSONAS: Final = (
    Persona("fiona", "fraud_analyst", "Fraud analyst", "reviews transactions and model alerts"),
    Persona("dara", "data_scientist", "Data scientist", "sees model outputs, pseudonymised"),
    Persona("sam", "support_agent", "Support agent", "helps one customer per case"),
    Persona("chloe", "compliance_officer", "Compliance officer", "reads audit and reports"),
    Persona("devon", "developer", "Developer", "reads non-production databases"),
    Persona("ada", "admin", "Administrator", "manages users, devices and policy"),
)


@dataclass(frozen=True)
class Workload:
    """An AI workload: a service identity with its purposes."""

    name: str
    kind: str
    purposes: tuple[str, ...]
    does: str


WORKLOADS: Final = (
    Workload("fraud-model", "fraud_model", ("fraud_detection",), "scores transactions"),
    Workload("credit-model", "credit_model", ("credit_scoring",), "scores credit profiles"),
)


def demo_dir(data_dir: Path) -> Path:
    return data_dir / "demo"


def mark_demo(data_dir: Path) -> None:
    """Declare ``data_dir`` a demo: the only place demo credentials may be created."""
    folder = demo_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    (folder / MARKER).write_text(
        "This data directory belongs to the zerotrust demo. Its credentials are public.\n"
    )


def require_demo(data_dir: Path) -> Path:
    folder = demo_dir(data_dir)
    if not (folder / MARKER).is_file():
        raise InvalidInput(
            f"{data_dir} is not a demo data directory: demo personas are refused here.",
            code="not_a_demo",
        )
    return folder


_PHRASES: Final = {
    "fiona": "amber-lantern-quay",
    "dara": "cobalt-meadow-sextant",
    "sam": "juniper-ferry-anvil",
    "chloe": "saffron-beacon-ledger",
    "devon": "orchid-tundra-piston",
    "ada": "granite-halyard-plume",
}


def demo_password(name: str) -> str:
    # Public by design (printed by `make up`); passes the password policy.
    return f"demo-{_PHRASES[name]}-91"


def healthy_posture() -> Posture:
    """What a patched laptop or server with disk encryption, firewall, screen lock and
    endpoint protection reports now."""
    return Posture("debian", "12", 2, True, True, True, True, collected_at=time.time())


def provision(services: Services, data_dir: Path) -> dict[str, Any]:
    """Create every persona and workload that does not exist yet; returns the state
    the scenarios use (also written to ``demo/personas.json``). Idempotent."""
    folder = require_demo(data_dir)
    state = load_state(data_dir) or {"people": {}, "workloads": {}}
    for persona in PERSONAS:
        if persona.name not in state["people"]:
            state["people"][persona.name] = _person(services, folder, persona)
    for workload in WORKLOADS:
        if workload.name not in state["workloads"]:
            state["workloads"][workload.name] = _workload(services, folder, workload)
    _write_private(folder / STATE_FILE, json.dumps(state, indent=2))
    return state


def load_state(data_dir: Path) -> dict[str, Any] | None:
    path = demo_dir(data_dir) / STATE_FILE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def totp_now(entry: Mapping[str, Any]) -> str:
    return pyotp.TOTP(str(entry["totp_secret"])).now()


def _person(services: Services, folder: Path, persona: Persona) -> dict[str, Any]:
    password = demo_password(persona.name)
    try:
        user = services.admin.create_user(
            persona.name,
            roles=(persona.role,),
            password=password,
            display_name=f"{persona.title} (demo)",
            actor="demo",
        )
    except Conflict:
        raise InvalidInput(
            f"User {persona.name!r} exists but the demo has no record of it; "
            "start from an empty data directory.",
            code="demo_state_lost",
        ) from None
    secret, _uri = services.admin.enroll_totp(user, actor="demo", active=True)
    key_path = folder / "devices" / f"{persona.name}.key"
    key = _new_key(key_path)
    device = enrol_device(services, user.id, key, name=f"{persona.name}-laptop")
    return {
        "id": user.id,
        "role": persona.role,
        "title": persona.title,
        "password": password,
        "totp_secret": secret,
        "device_id": device,
        "device_key": str(key_path),
    }


def _workload(services: Services, folder: Path, workload: Workload) -> dict[str, Any]:
    principal = services.admin.create_service_account(
        workload.name, workload_kind=workload.kind, purposes=workload.purposes, actor="demo"
    )
    # Its RFC 7523 client key (kid: the key's thumbprint, as registered).
    client_path = folder / "workloads" / f"{workload.name}.client.key"
    client_key = _new_key(client_path)
    kid = services.workloads.register_key(principal, client_key.public_jwk, actor="demo")
    # The model server's DPoP key, enrolled as the host it runs on: the device guards
    # bind workloads as they bind people.
    host_path = folder / "workloads" / f"{workload.name}.host.key"
    host = _new_key(host_path)
    device = enrol_device(services, principal.id, host, name=f"{workload.name}-host")
    return {
        "id": principal.id,
        "kind": workload.kind,
        "purposes": list(workload.purposes),
        "client_key": str(client_path),
        "kid": kid,
        "host_key": str(host_path),
        "device_id": device,
    }


def enrol_device(
    services: Services, owner_id: str, key: DeviceKey, *, name: str, actor: str = "demo"
) -> str:
    """Enrol ``key`` for ``owner_id``, approve it and report healthy posture from it."""
    device = services.devices.enroll(owner_id, key.public_jwk, name=name, proof_jkt=key.jkt)
    services.devices.approve(device.id, actor=actor)
    report = sign_posture(key.key, healthy_posture(), device_id=device.id)
    services.devices.report_posture(device.id, report, proof_jkt=key.jkt)
    return device.id


def refresh_posture(services: Services, data_dir: Path) -> None:
    """Report fresh posture for every demo device (posture goes stale with time)."""
    state = load_state(data_dir)
    if state is None:
        return
    entries = [*state["people"].values()]
    keys = [Path(e["device_key"]) for e in entries]
    ids = [e["device_id"] for e in entries]
    for w in state["workloads"].values():
        keys.append(Path(w["host_key"]))
        ids.append(w["device_id"])
    for path, device_id in zip(keys, ids, strict=True):
        key = DeviceKey.load(path)
        report = sign_posture(key.key, healthy_posture(), device_id=device_id)
        services.devices.report_posture(device_id, report, proof_jkt=key.jkt)


def _new_key(path: Path) -> DeviceKey:
    """A new ES256 key, saved at ``path`` for its owner alone (0600 in a 0700 folder)."""
    key = DeviceKey.generate("ES256")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key.save(path)
    os.chmod(path, 0o600)
    return key


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
