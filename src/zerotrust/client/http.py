"""``ZTClient``: sign in, then make requests that carry a fresh DPoP proof each time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from zerotrust.client.device import DeviceKey
from zerotrust.core.ids import new_token
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.crypto.jwt import encode_jwt
from zerotrust.crypto.signing import SigningKey
from zerotrust.devices.models import Posture
from zerotrust.devices.posture import sign_posture
from zerotrust.identity.workloads import ASSERTION_TYPE


class ZTClientError(Exception):
    """The server refused; ``status`` and ``code`` are from its problem+json answer."""

    def __init__(self, status: int, code: str, title: str) -> None:
        super().__init__(f"{status} {code}: {title}")
        self.status = status
        self.code = code


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {}
        raise ZTClientError(
            response.status_code,
            str(body.get("code", "http_error")),
            str(body.get("title", response.reason_phrase)),
        )
    data: dict[str, Any] = response.json() if response.content else {}
    return data


class ZTClient:
    """A device-bound client. ``http`` may be any ``httpx.Client`` (a test client too)."""

    def __init__(
        self,
        base_url: str,
        device: DeviceKey,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.device = device
        self.http = http or httpx.Client(base_url=self.base_url, timeout=10, follow_redirects=False)
        self.clock = clock
        self.tokens: dict[str, Any] = {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ZTClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- proofs and raw requests -------------------------------------------------------

    def proof(self, method: str, path: str, access_token: str | None = None) -> str:
        return make_dpop_proof(
            self.device.key,
            method=method,
            url=self.base_url + path,
            now=self.clock(),
            access_token=access_token,
        )

    def _post(self, path: str, body: dict[str, Any], *, proof: bool = True) -> dict[str, Any]:
        headers = {"DPoP": self.proof("POST", path)} if proof else {}
        return _check(self.http.post(path, json=body, headers=headers))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An authenticated request: ``Authorization: DPoP`` plus a fresh proof."""
        token = self.tokens.get("access_token")
        if not token:
            raise ZTClientError(401, "not_signed_in", "Sign in first.")
        headers = dict(kwargs.pop("headers", {}) or {})
        headers["Authorization"] = f"DPoP {token}"
        headers["DPoP"] = self.proof(method, path.split("?", maxsplit=1)[0], token)
        return self.http.request(method, path, headers=headers, **kwargs)

    def get_json(self, path: str) -> dict[str, Any]:
        return _check(self.request("GET", path))

    def get_json_list(self, path: str) -> list[dict[str, Any]]:
        response = self.request("GET", path)
        if response.status_code >= 400:
            _check(response)
        data: list[dict[str, Any]] = response.json()
        return data

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _check(self.request("POST", path, json=body))

    # -- people ------------------------------------------------------------------------

    def login(
        self,
        username: str,
        password: str,
        *,
        totp: str | Callable[[], str] | None = None,
        recovery_code: str | None = None,
        webauthn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        user_verification: bool = True,
    ) -> dict[str, Any]:
        first = self._post(
            "/v1/auth/login", {"username": username, "password": password}, proof=False
        )
        token = first["mfa_token"]
        if webauthn is not None:
            options = self._post(
                "/v1/auth/mfa/webauthn/options",
                {"mfa_token": token, "user_verification": user_verification},
                proof=False,
            )
            self.tokens = self._post(
                "/v1/auth/mfa/webauthn/verify",
                {"mfa_token": token, "credential": webauthn(options)},
            )
        elif totp is not None:
            code = totp() if callable(totp) else totp
            self.tokens = self._post("/v1/auth/mfa/totp", {"mfa_token": token, "code": code})
        elif recovery_code is not None:
            self.tokens = self._post(
                "/v1/auth/mfa/recovery", {"mfa_token": token, "code": recovery_code}
            )
        else:
            raise ZTClientError(401, "mfa_required", f"Methods: {first['methods']}")
        return self.tokens

    def refresh(self) -> dict[str, Any]:
        self.tokens = self._post(
            "/v1/auth/refresh", {"refresh_token": self.tokens.get("refresh_token", "")}
        )
        return self.tokens

    def logout(self) -> None:
        response = self.request("POST", "/v1/auth/logout")
        if response.status_code != 204:
            _check(response)
        self.tokens = {}

    # -- devices -----------------------------------------------------------------------

    def enroll(self, name: str, posture: Posture | None = None) -> dict[str, Any]:
        """Enrol this client's key as the signed-in user's device (with posture)."""
        body: dict[str, Any] = {"name": name, "public_jwk": self.device.public_jwk}
        device = self.post_json("/v1/devices", body)
        if posture is not None:
            device = self.report_posture(device["id"], posture)
        return device

    def report_posture(self, device_id: str, posture: Posture) -> dict[str, Any]:
        report = sign_posture(self.device.key, posture, device_id=device_id)
        return self.post_json(f"/v1/devices/{device_id}/posture", {"report": report})

    # -- workloads ---------------------------------------------------------------------

    def workload_login(
        self, name: str, client_key: SigningKey, *, scope: str | None = None
    ) -> dict[str, Any]:
        """RFC 7523 client assertion signed with ``client_key``, plus DPoP with the device key."""
        now = int(self.clock())
        assertion = encode_jwt(
            {
                "iss": name,
                "sub": name,
                "aud": f"{self.base_url}/v1/oauth/token",
                "iat": now,
                "exp": now + 60,
                "jti": new_token(16),
            },
            client_key,
            typ="JWT",
        )
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        if scope:
            data["scope"] = scope
        response = self.http.post(
            "/v1/oauth/token", data=data, headers={"DPoP": self.proof("POST", "/v1/oauth/token")}
        )
        self.tokens = _check(response)
        return self.tokens
