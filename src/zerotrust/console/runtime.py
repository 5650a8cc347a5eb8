"""What every console handler reaches through ``request.app.state.console``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from zerotrust import __version__
from zerotrust.console.gates import offered
from zerotrust.console.guard import Guard, Signed
from zerotrust.console.metrics import DecisionMeter, RecentEvents, SignInCounter
from zerotrust.console.state import SourceLimiter
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import InvalidInput
from zerotrust.service import Services

HERE: Final = Path(__file__).parent
MAX_BODY: Final = 64 * 1024


@dataclass(frozen=True)
class ConsoleConfig:
    pending_ttl_s: int = 120  # a sign-in waits this long for its device link
    sse_interval_s: float = 2.0
    sse_max_s: float = 300.0  # a stream ends after this; EventSource reconnects (re-checked)


@dataclass
class Console:
    svc: Services
    config: ConsoleConfig
    guard: Guard
    meter: DecisionMeter
    events: RecentEvents
    signins: SignInCounter
    env: Environment
    starts: SourceLimiter

    def render(
        self,
        request: Request,
        template: str,
        signed: Signed | None = None,
        *,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        roles = signed.ctx.principal.roles if signed else ()
        page = self.env.get_template(template).render(
            request=request,
            me=signed.ctx.principal if signed else None,
            session=signed.ctx.session if signed else None,
            csrf=signed.csrf if signed else "",
            nav=offered(roles),
            version=__version__,
            **context,
        )
        return HTMLResponse(page, status_code=status)


def build_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = _utc
    env.filters["ago"] = _ago
    env.filters["days"] = lambda s: f"{float(s) / 86400:.1f}"
    env.filters["compact"] = lambda v: json.dumps(v, sort_keys=True, default=str)
    return env


def _utc(ts: float | None) -> str:
    return iso_utc(ts)[:19].replace("T", " ") + "Z" if ts is not None else "—"


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172_800:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, bounded; anything else is ``InvalidInput``."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput("The request body is too large.")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput("The request body is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


def text(data: Mapping[str, Any], name: str, *, limit: int = 256, required: bool = True) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise InvalidInput(f"{name}: a string of 1-{limit} characters is required.")
    return value.strip()


Handler = Callable[..., Any]
