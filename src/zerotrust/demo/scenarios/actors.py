"""Who the scenarios play: colleagues made for one run, outsiders on unknown machines,
and signing in the way each one's own device would.

A scenario whose culprit or victim is judged by detection (a stolen password, an insider,
a hijacked model) plays that part with an account made for the run, like the persona it
stands for: alerts are suppressed for an hour per principal and risk scores decay over
half an hour, so the same account attacked twice in a row would find the first run's
state still in force. Accounts made for a run are disabled when it ends.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import httpx
import pyotp

from zerotrust.client import DeviceKey, ZTClient, ZTClientError
from zerotrust.demo import personas
from zerotrust.demo.session import via
from zerotrust.detect.geo import CountryGeo
from zerotrust.service import Services

ACTOR: Final = "demo"  # who the audit log names for what the scenarios set up and undo
TOTP_STEP_S: Final = 30
# Address blocks that the bundled GeoLite2 data places in one country each.
_BLOCKS: Final = {
    "BR": "177.54.",
    "NG": "102.89.",
    "VN": "113.160.",
    "RO": "79.112.",
    "ID": "36.72.",
}


@dataclass(frozen=True)
class Person:
    """A colleague made for one run: password, TOTP secret and an enrolled laptop."""

    name: str
    id: str
    role: str
    password: str
    totp_secret: str
    device: DeviceKey
    device_id: str


@dataclass(frozen=True)
class Workload:
    """A service account made for one run: its client key and its enrolled host key."""

    name: str
    id: str
    kind: str
    purpose: str
    client_key: DeviceKey
    host: DeviceKey
    device_id: str


def fresh_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def enrol_device(services: Services, owner_id: str, key: DeviceKey, *, name: str) -> str:
    """Enrol ``key`` for ``owner_id``, approve it and report healthy posture from it."""
    return personas.enrol_device(services, owner_id, key, name=name, actor=ACTOR)


def new_person(services: Services, *, prefix: str, role: str, title: str) -> Person:
    name = fresh_name(prefix)
    password = secrets.token_urlsafe(18)  # 24 random characters: passes the policy
    user = services.admin.create_user(
        name, roles=(role,), password=password, display_name=f"{title} (demo run)", actor=ACTOR
    )
    secret, _uri = services.admin.enroll_totp(user, actor=ACTOR, active=True)
    key = DeviceKey.generate("ES256")
    device_id = enrol_device(services, user.id, key, name=f"{name}-laptop")
    return Person(name, user.id, role, password, secret, key, device_id)


def new_workload(services: Services, *, prefix: str, kind: str, purpose: str) -> Workload:
    name = fresh_name(prefix)
    principal = services.admin.create_service_account(
        name, workload_kind=kind, purposes=(purpose,), actor=ACTOR
    )
    client_key = DeviceKey.generate("ES256")
    services.workloads.register_key(principal, client_key.public_jwk, actor=ACTOR)
    host = DeviceKey.generate("ES256")
    device_id = enrol_device(services, principal.id, host, name=f"{name}-host")
    return Workload(name, principal.id, kind, purpose, client_key, host, device_id)


def retire(services: Services, principal_id: str) -> None:
    """Disable an account made for a run (its sessions end with it)."""
    services.admin.set_status(services.admin.get(principal_id), active=False, actor=ACTOR)


# --- signing in ----------------------------------------------------------------------


class SignedIn:
    """A signed-in person: the control-plane client and the same sign-in at the gateway."""

    def __init__(self, control: ZTClient, gateway_url: str) -> None:
        self.control = control
        self.gateway = via(control, gateway_url)
        self.signed_at = time.monotonic()

    def refresh(self) -> None:
        """A new token pair (the refresh token rotates), for both clients."""
        self.control.refresh()
        self.gateway.tokens = dict(self.control.tokens)
        self.signed_at = time.monotonic()

    def close(self) -> None:
        self.gateway.close()
        self.control.close()


def totp_step(last_used: int, now: float) -> int | None:
    """The time step whose code to offer at ``now``, or None to wait for the next one.

    The server accepts each step's code once, and the step either side of its clock
    (RFC 6238 §5.2, one step of drift): after the current step was spent, the next
    step's code is still good; after that one too, only waiting helps.
    """
    current = int(now // TOTP_STEP_S)
    step = max(current, last_used + 1)
    return step if step <= current + 1 else None


def _problem(response: httpx.Response) -> ZTClientError:
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    code, title = str(body.get("code", "http_error")), str(body.get("title", ""))
    return ZTClientError(response.status_code, code, title)


def _code(totp_secret: str, last_used: Callable[[], int]) -> str:
    while (step := totp_step(last_used(), time.time())) is None:
        time.sleep(TOTP_STEP_S - time.time() % TOTP_STEP_S + 0.1)
    return str(pyotp.TOTP(totp_secret).at(step * TOTP_STEP_S))


def sign_in(
    api: str,
    gateway: str,
    *,
    name: str,
    password: str,
    totp_secret: str,
    device: DeviceKey,
    last_used: Callable[[], int],
) -> SignedIn:
    """Password, then TOTP, from ``device`` (the tokens are bound to its key).

    ``last_used`` reads the last time step the server accepted for this account, so the
    code offered is never one already spent: a refused code is a second-factor failure,
    and failures from one address add up to a brute-force alert that blocks it.
    """
    control = ZTClient(api, device)
    try:
        first = control.http.post("/v1/auth/login", json={"username": name, "password": password})
        if first.status_code != 200:
            raise _problem(first)
        path = "/v1/auth/mfa/totp"
        answer = control.http.post(
            path,
            json={"mfa_token": first.json()["mfa_token"], "code": _code(totp_secret, last_used)},
            headers={"DPoP": control.proof("POST", path)},
        )
        if answer.status_code != 200:
            raise _problem(answer)
        control.tokens = answer.json()
        return SignedIn(control, gateway)
    except BaseException:
        control.close()
        raise


def sign_in_workload(api: str, gateway: str, workload: Workload) -> ZTClient:
    """A gateway client for ``workload``: RFC 7523 client assertion, DPoP from its host."""
    with ZTClient(api, workload.host) as control:
        control.workload_login(workload.name, workload.client_key.key, scope=workload.purpose)
        return via(control, gateway)


# --- outsiders -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _geo() -> CountryGeo:
    return CountryGeo()


def country_of(address: str) -> str:
    where = _geo().locate(address)
    return where.country if where else "??"


def foreign_address(country: str) -> str:
    """A fresh public address in ``country`` (one of ``_BLOCKS``): each run attacks from
    addresses no earlier run was blocked on."""
    prefix = _BLOCKS[country]
    for _ in range(64):
        address = f"{prefix}{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"
        if country_of(address) == country:
            return address
    raise RuntimeError(f"no address in {country} found under {prefix}")


class Outsider:
    """Someone on a machine zerotrust never saw: a new key, a browser-like agent, and an
    address of their own, which reaches the control plane through the demo's trusted
    front proxy as ``X-Forwarded-For``."""

    def __init__(self, api: str, *, address: str, user_agent: str = "Mozilla/5.0") -> None:
        self.address = address
        self.country = country_of(address)
        self.device = DeviceKey.generate("ES256")
        headers = {"X-Forwarded-For": address, "User-Agent": user_agent}
        http = httpx.Client(base_url=api, timeout=10, follow_redirects=False, headers=headers)
        self.client = ZTClient(api, self.device, http=http)

    @property
    def label(self) -> str:
        return f"{self.address} ({self.country})"

    def password(self, username: str, password: str) -> httpx.Response:
        return self.client.http.post(
            "/v1/auth/login", json={"username": username, "password": password}
        )

    def totp(self, mfa_token: str, code: str) -> httpx.Response:
        path = "/v1/auth/mfa/totp"
        return self.client.http.post(
            path,
            json={"mfa_token": mfa_token, "code": code},
            headers={"DPoP": self.client.proof("POST", path)},
        )

    def close(self) -> None:
        self.client.close()
