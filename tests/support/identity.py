"""Test helpers for driving identity over HTTP, as the client library does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from zerotrust.client import DeviceKey, ZTClient
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import AuthenticationFailed
from zerotrust.identity.models import ClientInfo, Principal
from zerotrust.service import Services

PASSWORD = "cobalt-heron-ledger-91"
BASE = "http://testserver"


@dataclass
class User:
    principal: Principal
    password: str
    totp_secret: str

    def code(self, clock: FixedClock, offset_steps: int = 0) -> str:
        # pyotp is the independent client here: it computes codes the way an app does.
        return str(pyotp.TOTP(self.totp_secret).at(int(clock.now()) + 30 * offset_steps))


def make_user(
    svc: Services,
    name: str = "alice",
    *,
    roles: tuple[str, ...] = ("fraud_analyst",),
    password: str = PASSWORD,
) -> User:
    principal = svc.admin.create_user(name, roles=roles, password=password, actor="test")
    secret, _ = svc.admin.enroll_totp(principal, actor="test", active=True)
    return User(principal, password, secret)


# Sessions are bound to a DPoP key (jkt); neither key here belongs to an enrolled device.
HOME = ClientInfo(src_ip="127.0.0.1", device_id="dev_home", jkt="jkt_home")
ATTACKER = ClientInfo(src_ip="203.0.113.66", user_agent="curl/8", jkt="jkt_attacker")


def phished_password(svc: Services, user: User, clock: FixedClock) -> None:
    """A stolen password: the owner signs in at home; an hour later the password works
    from the attacker's device and the second factor fails twice (``stolen_password``)."""
    name = user.principal.name
    ok = svc.authenticator.login(name, user.password, HOME)
    svc.authenticator.complete_totp(ok.mfa_token, user.code(clock), HOME)
    clock.advance(3600)
    stolen = svc.authenticator.login(name, user.password, ATTACKER)
    for _ in range(2):
        clock.advance(15)
        with pytest.raises(AuthenticationFailed):
            svc.authenticator.complete_totp(stolen.mfa_token, "000000", ATTACKER)


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/v1/auth/login", json={"username": username, "password": password})


def device_client(client: TestClient, clock: FixedClock, key: DeviceKey | None = None) -> ZTClient:
    return ZTClient(BASE, key or DeviceKey.generate(), http=client, clock=clock.now)


def sign_in(
    client: TestClient, user: User, clock: FixedClock, key: DeviceKey | None = None
) -> ZTClient:
    """A device-bound client signed in with password + TOTP; the clock then moves one step."""
    zc = device_client(client, clock, key)
    zc.login(user.principal.name, user.password, totp=user.code(clock))
    clock.advance(30)  # the next login needs a fresh TOTP step
    return zc


def full_login(client: TestClient, user: User, clock: FixedClock) -> dict[str, Any]:
    return sign_in(client, user, clock).tokens


def dpop_headers(
    zc: ZTClient, method: str, path: str, *, token: str | None = None
) -> dict[str, str]:
    """Headers for a raw request: the client's token (or ``token``) and a fresh proof."""
    access = token or zc.tokens["access_token"]
    return {"Authorization": f"DPoP {access}", "DPoP": zc.proof(method, path, access)}
