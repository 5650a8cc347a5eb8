"""``zt agent``: the device side. Holds the device key, signs in, enrols, reports posture.

State lives in ``ZT_AGENT_DIR`` (default ``~/.zerotrust-agent``): ``device.key`` and
``session.json``, both mode 0600.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from zerotrust.cli.common import emit_json, fail
from zerotrust.client import DeviceKey, ZTClient, ZTClientError, collect_local_posture


def _dir(path: str | None) -> Path:
    return Path(path or os.environ.get("ZT_AGENT_DIR", "~/.zerotrust-agent")).expanduser()


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    tmp.replace(path)


_OPEN: list[ZTClient] = []  # closed when the command ends (see _guard)


def _client(state_dir: Path) -> tuple[ZTClient, dict[str, Any]]:
    key_path, session_path = state_dir / "device.key", state_dir / "session.json"
    if not key_path.exists():
        fail(f"no device key in {state_dir}; run 'zt agent init' first")
    session: dict[str, Any] = {}
    if session_path.exists():
        session = json.loads(session_path.read_text(encoding="utf-8"))
    try:
        key = DeviceKey.load(key_path)
    except (OSError, ValueError) as exc:
        fail(f"cannot load the device key: {exc}")
        raise  # unreachable: fail exits
    zc = _track(ZTClient(session.get("server", "http://127.0.0.1:8000"), key))
    zc.tokens = session.get("tokens", {})
    return zc, session


def _track(zc: ZTClient) -> ZTClient:
    _OPEN.append(zc)
    return zc


def _save(state_dir: Path, zc: ZTClient, session: dict[str, Any]) -> None:
    _write_private(
        state_dir / "session.json", {**session, "server": zc.base_url, "tokens": zc.tokens}
    )


def _guard(fn: Any) -> Any:
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ZTClientError as exc:
            fail(f"{exc} ", 1)
        except (OSError, httpx.HTTPError) as exc:  # network
            fail(f"cannot reach the server: {exc.__class__.__name__}", 1)
        finally:
            while _OPEN:
                _OPEN.pop().close()
        return None

    return wrapper


@click.group("agent")
@click.option("--dir", "state", default=None, help="Agent state directory.")
@click.pass_context
def agent_group(ctx: click.Context, state: str | None) -> None:
    """The device agent: key, sign-in, enrolment, posture, requests."""
    ctx.obj = _dir(state)


@agent_group.command("init")
@click.option("--alg", type=click.Choice(["ES256", "EdDSA"]), default="ES256")
@click.pass_obj
def agent_init(state_dir: Path, alg: str) -> None:
    """Generate this device's key (once)."""
    path = state_dir / "device.key"
    if path.exists():
        fail(f"{path} exists; this device already has a key")
    key = DeviceKey.generate(alg)
    key.save(path)
    emit_json({"device_key": str(path), "jkt": key.jkt})


@agent_group.command("login")
@click.option("--server", default="http://127.0.0.1:8000")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--totp", "code", default=None, help="The current TOTP code.")
@click.option("--recovery-code", default=None)
@click.pass_obj
@_guard
def agent_login(
    state_dir: Path,
    server: str,
    username: str,
    password_stdin: bool,
    code: str | None,
    recovery_code: str | None,
) -> None:
    """Sign in (password + second factor); tokens are bound to this device's key."""
    zc, session = _client(state_dir)
    zc = _track(ZTClient(server, zc.device))
    password = (
        sys.stdin.readline().rstrip("\r\n")
        if password_stdin
        else click.prompt("Password", hide_input=True)
    )
    if code is None and recovery_code is None:
        code = click.prompt("Authenticator code")
    tokens = zc.login(username, password, totp=code, recovery_code=recovery_code)
    _save(state_dir, zc, session)
    emit_json({"signed_in": username, "aal": tokens["aal"], "expires_in": tokens["expires_in"]})


@agent_group.command("enroll")
@click.option("--name", required=True, help="A name for this device.")
@click.pass_obj
@_guard
def agent_enroll(state_dir: Path, name: str) -> None:
    """Enrol this device for the signed-in user, with its current posture."""
    zc, session = _client(state_dir)
    device = zc.enroll(name, collect_local_posture())
    _save(state_dir, zc, {**session, "device_id": device["id"]})
    emit_json(device)


@agent_group.command("posture")
@click.option("--dry-run", is_flag=True, help="Print what would be reported.")
@click.pass_obj
@_guard
def agent_posture(state_dir: Path, dry_run: bool) -> None:
    """Collect and report this machine's posture (run at least hourly)."""
    posture = collect_local_posture()
    if dry_run:
        emit_json(posture.to_dict())
        return
    zc, session = _client(state_dir)
    if "device_id" not in session:
        fail("this device is not enrolled; run 'zt agent enroll' first")
    emit_json(zc.report_posture(session["device_id"], posture))


@agent_group.command("request")
@click.argument("method")
@click.argument("path")
@click.option("--json", "body", default=None, help="JSON body.")
@click.pass_obj
@_guard
def agent_request(state_dir: Path, method: str, path: str, body: str | None) -> None:
    """Make an authenticated request (refreshing the token if it expired)."""
    zc, session = _client(state_dir)
    payload = json.loads(body) if body else None
    response = zc.request(method.upper(), path, json=payload)
    if response.status_code == 401 and zc.tokens.get("refresh_token"):
        zc.refresh()
        _save(state_dir, zc, session)
        response = zc.request(method.upper(), path, json=payload)
    click.echo(response.text)
    if response.status_code >= 400:
        sys.exit(1)
