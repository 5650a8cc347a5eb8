"""Overview: open alerts by severity, the riskiest principals, decisions per second;
kept current with server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from zerotrust.console.charts import bars, lines
from zerotrust.console.runtime import Console, console
from zerotrust.console.sessions import resolve, session_handle
from zerotrust.detect.alerts import SEVERITIES
from zerotrust.identity.sessions import SessionInvalid

RISKY_SHOWN: Final = 8
PRINCIPALS_SCORED: Final = 5000


def open_alerts(c: Console) -> Counter[str]:
    return Counter(a.severity for a in c.svc.alerts.list() if a.state != "resolved")


def riskiest(c: Console) -> list[dict[str, Any]]:
    """Principals by current (decaying) risk: those alerts name, and the directory."""
    now = c.svc.clock.now()
    names = {a.principal for a in c.svc.alerts.list() if a.principal}
    names |= {p.name for p in c.svc.principals.list()[:PRINCIPALS_SCORED]}
    scored = [(c.svc.detection.risk.score(n, now), n) for n in names]
    top = sorted((s for s in scored if s[0].score > 0), key=lambda s: (-s[0].score, s[1]))
    return [
        {"name": n, "score": r.score, "level": r.level, "width": r.score * 2.4}
        for r, n in top[:RISKY_SHOWN]
    ]


def snapshot(c: Console) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (the page and the stream share it)."""
    severity = open_alerts(c)
    return {
        "severity": [
            {"label": b.label, "count": b.count, "width": round(b.width, 1)}
            for b in bars(severity, SEVERITIES[::-1])
        ],
        "open": sum(severity.values()),
        "decisions": lines(c.meter.series()),
        "signins": dict(c.signins.totals()),
        "risky": riskiest(c),
    }


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "overview")
    recent = sorted(c.svc.alerts.list(), key=lambda a: -a.ts)[:6]
    return c.render(request, "overview.html", signed, data=snapshot(c), recent=recent)


async def stream(request: Request) -> Response:
    """``text/event-stream`` of snapshots. The session is checked on every tick, so a
    revoked session stops the stream at once; the stream ends after ``sse_max_s`` and
    the browser reconnects, which asks the PDP again."""
    c = console(request)
    await run_in_threadpool(c.guard.view, request, "overview")
    handle = session_handle(request)

    # Behind the gateway each update is a request of its own, verified in full there
    # (the gateway answers a request once the upstream is done with it): one snapshot,
    # then the browser reconnects after ``sse_interval_s``.
    once = c.svc.settings.console_via_gateway
    retry_ms = int(c.config.sse_interval_s * 1000) if once else 5000

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + c.config.sse_max_s
        yield f"retry: {retry_ms}\n\n"
        while loop.time() < deadline:
            try:
                await run_in_threadpool(resolve, c.svc, handle)
            except SessionInvalid:
                yield "event: signedout\ndata: {}\n\n"
                return
            data = await run_in_threadpool(snapshot, c)
            yield f"event: overview\ndata: {json.dumps(data)}\n\n"
            if once:
                return
            await asyncio.sleep(c.config.sse_interval_s)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
