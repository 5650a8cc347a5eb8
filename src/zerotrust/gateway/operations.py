"""Operating the gateway: liveness, readiness of each dependency, Prometheus metrics.

``/healthz``, ``/readyz`` and ``/metrics`` answer only to peers in ``admin_networks`` (by
socket address, never a forwarded one); to anyone else they are ordinary paths. A replica
that cannot reach its database, counters, audit log, policy set or upstreams would only
fail closed on every request, so it reports itself unready and the load balancer sends
traffic elsewhere. Each check is bounded in time; a failure is reported as the error's
class name, never its message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, Final

from zerotrust.gateway.chain import Decider
from zerotrust.gateway.client_ip import Network, parse_address
from zerotrust.gateway.forward import Forwarder
from zerotrust.gateway.metrics import CONTENT_TYPE, GatewayMetrics
from zerotrust.gateway.replies import Reply
from zerotrust.service import Services

ADMIN_PATHS: Final = frozenset({b"/healthz", b"/readyz", b"/metrics"})
CHECK_TIMEOUT_S: Final = 2.0


class Operations:
    def __init__(
        self,
        services: Services,
        pdp: Decider,
        forwarder: Forwarder,
        executor: Executor,
        metrics: GatewayMetrics,
        *,
        admin_networks: Sequence[Network],
    ) -> None:
        self.services = services
        self.pdp = pdp
        self.forwarder = forwarder
        self.executor = executor
        self.metrics = metrics
        self.admin_networks = tuple(admin_networks)

    def answers(self, path: bytes, peer: str | None) -> bool:
        """Whether ``path`` is an operations endpoint and the peer may use it."""
        if path not in ADMIN_PATHS or not peer:
            return False
        address = parse_address(peer)
        return address is not None and any(address in n for n in self.admin_networks)

    async def reply(self, path: bytes) -> Reply:
        if path == b"/metrics":
            return Reply(200, self.metrics.exposition(), [(b"content-type", CONTENT_TYPE)])
        if path == b"/healthz":
            return _json(200, {"status": "ok"})
        checks = await self.readiness()
        ready = all(v == "ok" for v in checks.values())
        return _json(200 if ready else 503, {"status": "ready" if ready else "unready", **checks})

    async def readiness(self) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        results: dict[str, str] = {}
        for name, fn in self._sync_checks().items():
            results[name] = await _outcome(loop.run_in_executor(self.executor, fn))
        for upstream in self.forwarder.upstreams.values():
            results[f"upstream:{upstream.name}"] = await _outcome(self.forwarder.probe(upstream))
        return results

    def _sync_checks(self) -> dict[str, Callable[[], Any]]:
        svc = self.services
        checks: dict[str, Callable[[], Any]] = {
            "database": svc.db.ping,
            "counters": lambda: svc.counters.get("gw:ready", now=svc.clock.now()),
            "signing_key": svc.tokens.signing_key,
            "policy": self._policy,
        }
        size = getattr(svc.audit, "size", None)  # the Merkle log reads its head
        if callable(size):
            checks["audit"] = size
        return checks

    def _policy(self) -> None:
        bundle = getattr(self.pdp, "bundle", None)
        if bundle is not None and getattr(bundle, "is_empty", False):
            raise RuntimeError("empty policy set")


async def _outcome(awaitable: Any) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await awaitable
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _json(status: int, body: dict[str, Any]) -> Reply:
    return Reply(
        status,
        json.dumps(body, separators=(",", ":")).encode(),
        [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
    )
