"""Alerts leave the product (webhook, syslog/CEF), the security team works them over the
API, and an admin can undo an automated response."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.identity import PASSWORD, make_user, sign_in
from zerotrust.api.app import create_app
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import AuthenticationFailed, RateLimited
from zerotrust.detect.alerts import Alert
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

ATTACKER = ClientInfo(src_ip="testclient", user_agent="curl/8", jkt="jkt_attacker")


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receivers() -> Iterator[tuple[str, str, socket.socket]]:
    _Hook.received = []
    http = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(5)
    yield (f"http://127.0.0.1:{http.server_port}/hook", f"127.0.0.1:{udp.getsockname()[1]}", udp)
    http.shutdown()
    http.server_close()
    udp.close()


@pytest.fixture
def product(
    settings: Settings,
    clock: FixedClock,
    fast_hashing: PasswordHashing,
    receivers: tuple[str, str, socket.socket],
) -> Iterator[Services]:
    hook, syslog, _ = receivers
    svc = build_services(
        replace(settings, detect_config="", alert_webhook_url=hook, alert_syslog=syslog),
        clock=clock,
        hashing=fast_hashing,
        audit=MemoryAudit(),
    )
    yield svc
    svc.close()


def _brute_force(svc: Services) -> None:
    make_user(svc, "alice")
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            svc.authenticator.login("alice", "not-the-password-1", ATTACKER)


def test_alerts_reach_the_webhook_and_syslog(
    product: Services, receivers: tuple[str, str, socket.socket]
) -> None:
    _brute_force(product)
    for sink in product.alert_sinks:
        sink.flush()
    assert [m["alert"]["detector"] for m in _Hook.received] == ["brute_force"]
    line = receivers[2].recv(8192).decode()
    assert line.startswith("<")
    assert "CEF:0|zerotrust|zerotrust|1|brute_force|" in line


def test_the_security_team_works_alerts_and_undoes_a_block(
    product: Services, clock: FixedClock
) -> None:
    with TestClient(create_app(product), raise_server_exceptions=False) as api:
        admin = sign_in(api, make_user(product, "root", roles=("admin",)), clock)
        analyst = sign_in(api, make_user(product, "fred"), clock)
        _brute_force(product)
        with pytest.raises(RateLimited):
            product.authenticator.login("root", PASSWORD, ATTACKER)
        assert analyst.request("GET", "/v1/alerts").status_code == 403
        alerts = admin.get_json_list("/v1/alerts?state=open")
        assert [a["detector"] for a in alerts] == ["brute_force"]
        alert_id = alerts[0]["id"]
        assert admin.post_json(f"/v1/alerts/{alert_id}/acknowledge", {})["state"] == (
            "acknowledged"
        )
        undone = admin.post_json(f"/v1/alerts/{alert_id}/undo", {"action": "unblock_source"})
        assert undone["undone"] == "unblock_source"
        assert product.authenticator.login("root", PASSWORD, ATTACKER).mfa_token
        assert (
            admin.post_json(f"/v1/alerts/{alert_id}/resolve", {"note": "tested"})["state"]
            == "resolved"
        )
        actions = [r.action for r in product.audit.records]  # type: ignore[attr-defined]
        assert "detect.undo.unblock_source" in actions


def test_an_admin_restores_the_sessions_a_response_revoked(
    product: Services, clock: FixedClock
) -> None:
    with TestClient(create_app(product), raise_server_exceptions=False) as api:
        admin = sign_in(api, make_user(product, "root", roles=("admin",)), clock)
        eve = make_user(product, "eve", roles=("fraud_analyst",))
        victim = sign_in(api, eve, clock)
        assert victim.request("GET", "/v1/me").status_code == 200
        alert = Alert(
            id="alt_x1", ts=clock.now(), detector="bulk_exfiltration", severity="high",
            principal="eve", event_id="evt_1", event_ids=("evt_1",), explanation="bulk",
        )  # fmt: skip
        product.alerts.add(alert)
        product.sessions.revoke_all(eve.principal.id, actor="system:detect", reason="detection")
        assert victim.request("GET", "/v1/me").status_code == 401
        undone = admin.post_json(f"/v1/alerts/{alert.id}/undo", {"action": "restore_sessions"})
        assert undone["undone"] == "restore_sessions"
        assert victim.request("GET", "/v1/me").status_code == 200  # the same token works again
        again = admin.request(
            "POST", f"/v1/alerts/{alert.id}/undo", json={"action": "restore_sessions"}
        )
        assert again.status_code == 409
        assert again.json()["code"] == "nothing_to_undo"
        actions = [r.action for r in product.audit.records]  # type: ignore[attr-defined]
        assert {"session.restore", "detect.undo.restore_sessions"} <= set(actions)


def test_an_admin_approves_a_quarantined_device_again_and_nothing_else_is_undone(
    product: Services, clock: FixedClock
) -> None:
    from zerotrust.client import DeviceKey

    with TestClient(create_app(product), raise_server_exceptions=False) as api:
        admin = sign_in(api, make_user(product, "root", roles=("admin",)), clock)
        eve = make_user(product, "eve", roles=("fraud_analyst",))
        key = DeviceKey.generate("ES256")
        device = product.devices.enroll(
            eve.principal.id, key.public_jwk, name="laptop", proof_jkt=key.jkt
        )
        product.devices.approve(device.id, actor="root")
        product.devices.quarantine(device.id, actor="system:detect")  # a playbook's step
        alert = Alert(
            id="alt_q1", ts=clock.now(), detector="session_replay", severity="high",
            principal="eve", event_id="evt_1", event_ids=("evt_1",), explanation="replay",
            device_id=device.id,
        )  # fmt: skip
        product.alerts.add(alert)
        undone = admin.post_json(f"/v1/alerts/{alert.id}/undo", {"action": "approve_device"})
        assert undone["undone"] == "approve_device"
        assert product.devices.get(device.id).status == "active"
        # The alert names no source address: nothing to unblock, the same answer as the
        # console's.
        nothing = admin.request(
            "POST", f"/v1/alerts/{alert.id}/undo", json={"action": "unblock_source"}
        )
        assert nothing.status_code == 409
        assert nothing.json()["code"] == "nothing_to_undo"
        actions = [r.action for r in product.audit.records]  # type: ignore[attr-defined]
        assert "detect.undo.approve_device" in actions
