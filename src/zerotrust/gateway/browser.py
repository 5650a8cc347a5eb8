"""Refusals on ``session`` routes, as a browser navigating to a page should get them.

A script's ``fetch`` gets the problem document every route answers. A navigation gets
what a person can act on: not signed in (or signed in with a key this browser no longer
holds) → a redirect to the route's sign-in page with the page asked for as ``next``; a
step-up → the same redirect, since a fresh passkey sign-in is the step-up; anything else
(a deny, a limit, an outage) → a small page with the status, the policy reason and the
correlation id. ``why`` tells the sign-in page that the gateway sent the browser there, so
it never bounces a browser straight back.
"""

from __future__ import annotations

from html import escape
from typing import Final
from urllib.parse import quote

from zerotrust.gateway.chain import Verdict
from zerotrust.gateway.config import Route
from zerotrust.gateway.replies import TITLES, Reply

_STATUS: Final = {
    "unauthenticated": 401, "step_up": 401, "deny": 403, "rate_limited": 429, "unavailable": 503,
}  # fmt: skip
_CSP: Final = b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} · {title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;
padding:0 1rem;color:#1b1f24}}code{{background:#eef1f4;padding:0 .3em;border-radius:3px}}
a{{color:#0b5cad}}</style></head>
<body><main><h1>{title}</h1>{reason}
<p>Reference <code>{cid}</code> (HTTP {status}).</p>
<p><a href="{home}">{home_text}</a></p></main></body></html>
"""


def refusal(verdict: Verdict, route: Route, path: str, correlation_id: str) -> Reply:
    headers = [(b"cache-control", b"no-store"), (b"content-security-policy", _CSP)]
    if verdict.outcome in ("unauthenticated", "step_up") and route.signin:
        why = verdict.code or verdict.outcome
        target = f"{route.signin}?next={quote(path, safe='/')}&why={quote(why)}"
        return Reply(303, b"", [(b"location", target.encode("ascii")), *headers])
    status = _STATUS.get(verdict.outcome, 503)
    if verdict.outcome == "rate_limited":
        headers.append((b"retry-after", str(verdict.retry_after_s or 1).encode()))
    reasons = verdict.decision.reasons if verdict.decision else ()
    reason = f"<p>Reason: <code>{escape(reasons[0])}</code></p>" if reasons else ""
    code = verdict.code or "service_unavailable"
    body = _PAGE.format(
        status=status,
        title=escape(TITLES.get(code, TITLES["internal_error"])),
        reason=reason,
        cid=escape(correlation_id),
        home=escape(route.signin or route.prefix + "/"),
        home_text="Sign in as someone else" if route.signin else "Back",
    )
    html = [(b"content-type", b"text/html; charset=utf-8"), *headers]
    return Reply(status, body.encode("utf-8"), html)
