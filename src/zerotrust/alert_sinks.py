"""Alert delivery to the outside: a webhook (JSON) and syslog (RFC 5424 carrying CEF).

Detection must never wait on the network, so alerts are queued and sent by one worker
thread; a full queue drops the oldest alert and counts it, and every failed delivery is
logged (never with the alert's content) and counted. Destinations come from settings
only, never from an alert, and redirects are not followed (no SSRF through a 302).
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from zerotrust.audit.export import syslog_line
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import ConfigError
from zerotrust.detect.alerts import Alert

log = logging.getLogger("zerotrust.alerts")
_CEF_SEVERITY = {"low": 3, "medium": 5, "high": 8, "critical": 10}
_SYSLOG_SEVERITY = {"low": 5, "medium": 4, "high": 3, "critical": 2}


def _cef_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", " ").replace("\r", " ")


def alert_cef(alert: Alert) -> str:
    """The alert as one CEF line."""
    ext = {
        "rt": str(int(alert.ts * 1000)),
        "externalId": alert.id,
        "suser": alert.principal or "",
        "src": alert.src_ip or "",
        "msg": alert.explanation,
        "cs1Label": "events",
        "cs1": ",".join(alert.event_ids),
    }
    body = " ".join(f"{k}={_cef_escape(v)}" for k, v in ext.items() if v)
    name = alert.detector.replace("|", "/")
    return f"CEF:0|zerotrust|zerotrust|1|{name}|{name}|{_CEF_SEVERITY[alert.severity]}|{body}"


class _Worker:
    """One daemon thread draining a bounded queue into ``send``."""

    def __init__(self, name: str, send: Callable[[Alert], None], *, capacity: int = 1000) -> None:
        self.send = send
        self.queue: queue.Queue[Alert | None] = queue.Queue(maxsize=capacity)
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def __call__(self, alert: Alert) -> None:
        try:
            self.queue.put_nowait(alert)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while (alert := self.queue.get()) is not None:
            try:
                self.send(alert)
                self.sent += 1
            except Exception:  # a sink failure must not stop detection
                self.failed += 1
                log.warning("alert delivery failed (%s, %s)", self.thread.name, alert.id)
            finally:
                self.queue.task_done()
        self.queue.task_done()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far is handled (tests, shutdown)."""
        done = threading.Event()

        def wait() -> None:
            self.queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=5)


class WebhookSink(_Worker):
    """POSTs each alert as JSON to one configured URL."""

    def __init__(self, url: str, *, timeout_s: float = 3.0) -> None:
        parts = urlsplit(url)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ConfigError("setting ZT_ALERT_WEBHOOK_URL: https (or http to loopback) only")
        self.url = url
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        super().__init__("alert-webhook", self._post)

    def _post(self, alert: Alert) -> None:
        response = self.client.post(
            self.url, json={"type": "zerotrust.alert", "alert": alert.to_dict()}
        )
        if response.status_code >= 300:
            raise RuntimeError(f"webhook answered {response.status_code}")

    def close(self) -> None:
        super().close()
        self.client.close()


class SyslogSink(_Worker):
    """Sends each alert over UDP as an RFC 5424 message whose text is a CEF line."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError("setting ZT_ALERT_SYSLOG: host:port")
        self.address = (host.strip("[]"), int(port))
        self.sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM
        )
        super().__init__("alert-syslog", self._send)

    def _send(self, alert: Alert) -> None:
        line = syslog_line(
            alert_cef(alert),
            time=iso_utc(alert.ts),
            facility=10,
            severity=_SYSLOG_SEVERITY[alert.severity],
        )
        self.sock.sendto(line.encode("utf-8")[:8192], self.address)

    def close(self) -> None:
        super().close()
        self.sock.close()
