"""Signing in as the demo's personas and workloads, the way their own devices would.

A person signs in at the control plane with password and TOTP from their device (the
token is bound to that device's key), then talks to the gateway with the same key; a
workload signs in with its RFC 7523 client key from its host. Both come from the demo
state that ``personas.provision`` wrote.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from zerotrust.client import DeviceKey, ZTClient, ZTClientError
from zerotrust.core.errors import NotFound
from zerotrust.demo.personas import load_state, require_demo, totp_now

TOTP_STEP_S = 30


def _state(data_dir: Path) -> dict[str, Any]:
    require_demo(data_dir)
    state = load_state(data_dir)
    if state is None:
        raise NotFound("No demo personas yet: run `zt demo up` first.")
    return state


def via(client: ZTClient, base_url: str) -> ZTClient:
    """The same device and sign-in, aimed at another origin (the gateway)."""
    other = ZTClient(base_url, client.device)
    other.tokens = dict(client.tokens)
    return other


class Renewing:
    """A gateway client that, when its access token has expired (401), refreshes it at
    the control plane (a rotating refresh token, same device) and retries once —
    what a long-running client does every few minutes."""

    def __init__(self, control: ZTClient, gateway: ZTClient) -> None:
        self.control, self.gateway = control, gateway
        self.refreshes = 0
        self._lock = threading.Lock()  # one refresh at a time: a reused one kills the family

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        used = self.gateway.tokens.get("access_token")
        answer = self.gateway.request(method, path, **kwargs)
        if answer.status_code != 401 or not self.control.tokens.get("refresh_token"):
            return answer
        with self._lock:
            if self.gateway.tokens.get("access_token") == used:  # nobody refreshed yet
                self.control.refresh()
                self.gateway.tokens = dict(self.control.tokens)
                self.refreshes += 1
        return self.gateway.request(method, path, **kwargs)


@contextmanager
def renewing_persona(data_dir: Path, name: str, *, api: str, gateway: str) -> Iterator[Renewing]:
    """Like ``persona_client``, for long runs: the token is refreshed when it expires."""
    with _signed_in(data_dir, name, api=api) as control, _aimed(control, gateway) as gw:
        yield Renewing(control, gw)


def _person(data_dir: Path, name: str) -> dict[str, Any]:
    people = _state(data_dir)["people"]
    if name not in people:
        raise NotFound(f"No persona {name!r}; one of {', '.join(sorted(people))}.")
    entry: dict[str, Any] = people[name]
    return entry


@contextmanager
def persona_client(
    data_dir: Path, name: str, *, api: str, gateway: str, device: DeviceKey | None = None
) -> Iterator[ZTClient]:
    """A gateway client signed in as persona ``name`` (on their own device by default;
    ``device`` signs in from another, as an attacker would)."""
    with (
        _signed_in(data_dir, name, api=api, device=device) as control,
        _aimed(control, gateway) as gw,
    ):
        yield gw


@contextmanager
def _signed_in(
    data_dir: Path, name: str, *, api: str, device: DeviceKey | None = None
) -> Iterator[ZTClient]:
    """The control-plane client of persona ``name``, signed in with password and TOTP.

    Each TOTP code is accepted once: if this step's code was just spent (by a scenario,
    another client), wait for the next step, as a person would, and try once more."""
    entry = _person(data_dir, name)
    key = device or DeviceKey.load(Path(entry["device_key"]))
    with ZTClient(api, key) as control:
        try:
            control.login(name, entry["password"], totp=lambda: totp_now(entry))
        except ZTClientError as exc:
            if exc.code != "otp_already_used":
                raise
            time.sleep(TOTP_STEP_S - time.time() % TOTP_STEP_S + 0.5)
            control.login(name, entry["password"], totp=lambda: totp_now(entry))
        yield control


@contextmanager
def _aimed(control: ZTClient, base_url: str) -> Iterator[ZTClient]:
    gw = via(control, base_url)
    try:
        yield gw
    finally:
        gw.close()


@contextmanager
def workload_client(
    data_dir: Path, name: str, *, api: str, gateway: str, scope: str | None = None
) -> Iterator[ZTClient]:
    """A gateway client signed in as workload ``name`` from its enrolled host key."""
    workloads = _state(data_dir)["workloads"]
    if name not in workloads:
        raise NotFound(f"No workload {name!r}; one of {', '.join(sorted(workloads))}.")
    entry = workloads[name]
    host = DeviceKey.load(Path(entry["host_key"]))
    client_key = DeviceKey.load(Path(entry["client_key"]))
    with ZTClient(api, host) as control:
        control.workload_login(name, client_key.key, scope=scope or entry["purposes"][0])
        with _aimed(control, gateway) as gw:
            yield gw
