"""The console's passkey sign-in driven from Python: straight at the control plane (a
test client) or through the gateway (a real HTTP client), by the same steps."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from tests.support.authenticator import SoftAuthenticator
from zerotrust.client import ZTClient
from zerotrust.crypto.signing import SigningKey
from zerotrust.identity.models import Principal
from zerotrust.service import Services


class Http(Protocol):
    def post(self, url: str, *, json: Any = None) -> httpx.Response: ...


class Browser(Protocol):
    """What the steps need of a test's browser: its session key, and a POST that the
    page's script would send (signed with that key, with the page's CSRF token)."""

    key: SigningKey

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response: ...


def console_passkey(
    svc: Services, principal: Principal, origin: str, *, user_verified: bool = True
) -> SoftAuthenticator:
    """A console passkey registered for ``principal``, in a software authenticator."""
    passkey = SoftAuthenticator("localhost", origin, user_verified=user_verified)
    options = svc.webauthn.registration_options(principal, require_uv=False)
    svc.webauthn.verify_registration(principal, passkey.create(options), name="console")
    return passkey


def passkey_verify(
    browser: Browser, http: Http, name: str, passkey: SoftAuthenticator
) -> httpx.Response:
    """Steps 1-2 with a new browser key: the options, then the passkey's assertion."""
    browser.key = SigningKey.generate("ES256")
    options = http.post("/console/signin/options", json={"username": name})
    assert options.status_code == 200, options.text
    credential = passkey.get(options.json())
    return browser.post("/console/signin/verify", {"username": name, "credential": credential})


def passkey_sign_in(
    browser: Browser,
    http: Http,
    name: str,
    passkey: SoftAuthenticator,
    *,
    agent: ZTClient | None = None,
) -> None:
    """The whole sign-in: steps 1-2, the person's device agent confirming the link code
    (or no device), then completing; each step must succeed."""
    verified = passkey_verify(browser, http, name, passkey)
    assert verified.status_code == 200, verified.text
    if agent is not None:
        linked = agent.request("POST", "/console/link", json={"code": verified.json()["code"]})
        assert linked.status_code == 200, linked.text
    done = browser.post("/console/signin/complete", {"without_device": agent is None})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "signed_in"
