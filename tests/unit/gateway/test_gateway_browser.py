"""Refusals on ``session`` routes as a browser navigating to a page gets them."""

from __future__ import annotations

from zerotrust.gateway.browser import refusal
from zerotrust.gateway.chain import Verdict
from zerotrust.gateway.config import ResourceSpec, Route, Upstream
from zerotrust.policy.model import Decision

ROUTE = Route(
    name="console",
    prefix="/console",
    upstream=Upstream("console", "http://127.0.0.1:8000"),
    methods={"GET": "read"},
    resource=ResourceSpec("Report", "console"),
    auth="session",
    signin="/console/signin",
)


def _headers(reply: object) -> dict[bytes, bytes]:
    return dict(reply.headers)  # type: ignore[attr-defined]


def test_not_signed_in_is_sent_to_sign_in_with_where_it_was_going() -> None:
    reply = refusal(Verdict("unauthenticated", "missing_token", code="invalid_token"), ROUTE,
                    "/console/alerts/al_1", "req_1")  # fmt: skip
    assert reply.status == 303
    location = _headers(reply)[b"location"]
    assert location == b"/console/signin?next=/console/alerts/al_1&why=invalid_token"
    assert _headers(reply)[b"cache-control"] == b"no-store"


def test_a_step_up_is_a_fresh_sign_in() -> None:
    verdict = Verdict("step_up", "risk-medium", code="insufficient_user_authentication")
    reply = refusal(verdict, ROUTE, "/console/", "req_2")
    assert reply.status == 303
    assert _headers(reply)[b"location"].endswith(b"why=insufficient_user_authentication")


def test_next_cannot_smuggle_a_parameter_or_a_host() -> None:
    verdict = Verdict("unauthenticated", "x", code="invalid_token")
    reply = refusal(verdict, ROUTE, "/console/a&why=x?b=<c>", "req_3")
    location = _headers(reply)[b"location"].decode()
    assert location.startswith("/console/signin?next=/console/a%26why%3Dx%3Fb%3D%3Cc%3E&why=")


def test_a_denial_is_a_page_naming_the_policy_reason_and_nothing_else() -> None:
    decision = Decision(effect="deny", reasons=("device-untrusted",))
    reply = refusal(Verdict("deny", "device-untrusted", code="access_denied", decision=decision),
                    ROUTE, "/console/", "req_<4>")  # fmt: skip
    assert reply.status == 403
    assert _headers(reply)[b"content-type"] == b"text/html; charset=utf-8"
    assert b"default-src 'none'" in _headers(reply)[b"content-security-policy"]
    page = reply.body.decode()
    assert "<code>device-untrusted</code>" in page
    assert "req_&lt;4&gt;" in page  # escaped
    assert 'href="/console/signin"' in page


def test_limits_and_outages_keep_their_status() -> None:
    limited = refusal(Verdict("rate_limited", "per_principal", code="rate_limited",
                              retry_after_s=7), ROUTE, "/console/", "req_5")  # fmt: skip
    assert limited.status == 429
    assert _headers(limited)[b"retry-after"] == b"7"
    down = refusal(Verdict("unavailable", "db", code="service_unavailable"), ROUTE, "/", "r")
    assert down.status == 503
