"""Test helpers for driving identity over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyotp
from fastapi.testclient import TestClient

from zerotrust.core.clock import FixedClock
from zerotrust.identity.models import Principal
from zerotrust.service import Services

PASSWORD = "cobalt-heron-ledger-91"


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


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/v1/auth/login", json={"username": username, "password": password})


def full_login(client: TestClient, user: User, clock: FixedClock) -> dict[str, Any]:
    first = login(client, user.principal.name, user.password)
    assert first.status_code == 200, first.text
    second = client.post(
        "/v1/auth/mfa/totp", json={"mfa_token": first.json()["mfa_token"], "code": user.code(clock)}
    )
    assert second.status_code == 200, second.text
    clock.advance(30)  # the next login needs a fresh TOTP step
    body: dict[str, Any] = second.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
