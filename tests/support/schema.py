"""Driving the control-plane API from its own OpenAPI document, as a device-bound caller.

Schemathesis generates the cases; ``Caller`` sends each one the way a real client does:
``Authorization: DPoP`` with its access token and a fresh proof signed over the request's
own method and URL (RFC 9449 §4.2), so generated requests get past authentication and
reach the handlers. Routes that do not ask for them ignore both headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
from fastapi.testclient import TestClient

from tests.support.gateway import healthy_posture
from tests.support.identity import make_user, sign_in
from zerotrust.client import ZTClient
from zerotrust.core.clock import FixedClock
from zerotrust.service import Services


def httpx_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis's transport arguments (``requests`` style) as ``httpx`` ones."""
    out = {k: kwargs[k] for k in ("method", "url", "headers", "params") if kwargs.get(k)}
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, str | bytes):
        out["content"] = data
    elif data is not None:
        out["data"] = data
    return out


@dataclass(frozen=True)
class Persona:
    """Who the caller is: roles, and the just-in-time grants someone else approved."""

    name: str
    roles: tuple[str, ...]
    grants: tuple[tuple[str, str], ...] = ()  # (action, resource type) on any resource ("*")
    paths: str = "^/"  # the operations this caller is sent to (a regular expression)
    # Schemathesis's coverage phase (boundary and invalid values for every parameter and
    # field, undeclared methods): mostly refused before any handler whoever asks, so one
    # caller running it on every operation is enough.
    coverage: bool = False


class Caller:
    """A person signed in on their own enrolled, healthy device, who signs every request.

    When a generated request ends the session (``POST /v1/auth/logout``, a device
    revoked), the next request comes from a fresh account on a fresh device key, signed
    in from its own address: the throttling the generated traffic earns its source never
    blocks the sign-in.
    """

    def __init__(
        self, svc: Services, clock: FixedClock, login: TestClient, persona: Persona
    ) -> None:
        self.svc, self.clock, self.login, self.persona = svc, clock, login, persona
        self.sign_ins = 0
        self.zc: ZTClient
        self._sign_in()

    def _sign_in(self) -> None:
        self.sign_ins += 1
        user = make_user(self.svc, f"{self.persona.name}-{self.sign_ins}", roles=self.persona.roles)
        self.zc = sign_in(self.login, user, self.clock)
        device = self.zc.enroll("laptop", healthy_posture(self.clock.now()))
        self.svc.devices.approve(device["id"], actor="security-team")
        for action, resource_type in self.persona.grants:
            grant = self.svc.grants.request(
                principal_id=user.principal.id,
                action=action,
                resource_type=resource_type,
                resource_id="*",
                duration_s=8 * 3600,
                justification="API conformance run",
            )
            self.svc.grants.approve(grant.id, approver="security-team")

    @property
    def token(self) -> str:
        return str(self.zc.tokens["access_token"])

    def sign(self, request: httpx.Request) -> None:
        """Add the access token and a proof over this request's method and path."""
        request.headers["Authorization"] = f"DPoP {self.token}"
        # The path as the application compares it: decoded (the test client decodes it once
        # more), with "?", "#" and "\\" escaped again as Starlette's ``request.url`` does.
        path = unquote(request.url.path)
        path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
        request.headers["DPoP"] = self.zc.proof(request.method, path, self.token)

    def saw(self, response: httpx.Response) -> None:
        """A properly signed request refused as ``invalid_token``: the session is over."""
        problem = response.headers.get("content-type", "").startswith("application/problem")
        if response.status_code == 401 and problem and response.json()["code"] == "invalid_token":
            self._sign_in()
