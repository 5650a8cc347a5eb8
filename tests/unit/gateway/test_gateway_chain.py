"""The verification chain fails closed and audits every refusal with its reason
(DESIGN.md; security catalogue E.36, F.46, H.56, I.58)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.support.gateway import access_token, enrolled_device
from tests.support.identity import make_user
from zerotrust.client import DeviceKey
from zerotrust.core.auditing import AuditRecord, MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import StoreUnavailable
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.demo.stack import CONSOLE_UPSTREAM, console_routes
from zerotrust.gateway.app import Gateway, create_gateway
from zerotrust.gateway.chain import RequestFacts
from zerotrust.gateway.routes_file import parse_config
from zerotrust.identity.models import ClientInfo
from zerotrust.policy.model import AuthzRequest, Decision
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.service import Services

ORIGIN = "https://gw.test"
CONFIG = parse_config(
    {
        "listen": {"public_origins": [ORIGIN]},
        "rate_limits": {"per_principal": {"requests": 3, "window_s": 60}},
        "upstreams": {"svc": {"url": "http://127.0.0.1:9"}},
        "routes": [
            {
                "name": "tx",
                "prefix": "/api/transactions",
                "upstream": "svc",
                "methods": {"GET": "read", "DELETE": "delete"},
                "resource": {"type": "Transaction", "id": "{1}"},
            },
        ],
    }
)


class Setup:
    def __init__(self, svc: Services, pdp: PolicyDecisionPoint, clock: FixedClock) -> None:
        self.svc, self.clock = svc, clock
        self.audit = MemoryAudit()
        svc.audit = self.audit
        self.gateway: Gateway = create_gateway(svc, pdp, CONFIG)
        self.user = make_user(svc, "fay", roles=("fraud_analyst",)).principal
        self.key = enrolled_device(svc, self.user)
        self.token = access_token(svc, self.user, self.key)

    def facts(
        self, method: str = "GET", key: DeviceKey | None = None, **changes: Any
    ) -> RequestFacts:
        proof = make_dpop_proof(
            (key or self.key).key,
            method=method,
            url=f"{ORIGIN}/api/transactions/t1",
            now=self.clock.now(),
            access_token=self.token,
        )
        facts = RequestFacts(
            method=method,
            path="/api/transactions/t1",
            route=CONFIG.routes[0],
            segments=("t1",),
            client_ip="81.2.69.142",
            correlation_id="req_test",
            authorization=(f"DPoP {self.token}".encode(),),
            dpop=(proof.encode(),),
        )
        return replace(facts, **changes)

    def records(self, action: str) -> list[AuditRecord]:
        return [r for r in self.audit.records if r.action == action]


@pytest.fixture
def setup(svc: Services, pdp: PolicyDecisionPoint, clock: FixedClock) -> Setup:
    return Setup(svc, pdp, clock)


def test_an_allowed_request_is_audited_with_everything(setup: Setup) -> None:
    verdict = setup.gateway.chain.verify(setup.facts())
    assert (verdict.outcome, verdict.reason) == ("allow", "role-permit")
    [record] = setup.records("authz.decision")
    assert record.outcome == "allowed"
    assert record.resource == "Transaction:t1"
    assert record.device_id == verdict.device_id is not None
    assert record.details["correlation_id"] == "req_test"
    assert record.details["risk"] == (0, "low")
    assert record.details["version"].startswith("sha256:")
    assert set(verdict.stages) >= {"authenticate", "device", "decide", "audit"}


def test_a_denial_names_the_policy_reason(setup: Setup) -> None:
    verdict = setup.gateway.chain.verify(setup.facts("DELETE"))
    assert (verdict.outcome, verdict.code) == ("deny", "access_denied")
    assert setup.records("authz.decision")[0].outcome == "denied"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"authorization": ()}, "missing_token"),
        ({"authorization": (b"Bearer abc",)}, "not_dpop_scheme"),
        ({"authorization": (b"DPoP a", b"DPoP b")}, "multiple_authorization"),
        ({"dpop": ()}, "missing_proof"),
        ({"dpop": (b"x", b"y")}, "multiple_proofs"),
        ({"dpop": (b"not.a.proof",)}, "malformed"),
        ({"path": "/api/transactions/t2"}, "htu_mismatch"),
    ],
)
def test_authentication_failures_are_401_with_their_reason(
    setup: Setup, changes: dict[str, Any], reason: str
) -> None:
    verdict = setup.gateway.chain.verify(setup.facts(**changes))
    assert (verdict.outcome, verdict.reason) == ("unauthenticated", reason)
    [record] = setup.records("auth.rejected")
    assert (record.reason, record.src_ip) == (reason, "81.2.69.142")


def test_a_replayed_proof_and_a_stolen_token_are_refused(setup: Setup) -> None:
    facts = setup.facts()
    assert setup.gateway.chain.verify(facts).outcome == "allow"
    assert setup.gateway.chain.verify(facts).reason == "replayed"
    thief = setup.gateway.chain.verify(setup.facts(key=DeviceKey.generate()))
    assert thief.reason == "dpop_key_mismatch"


def test_the_principal_limit_is_429_and_audited(setup: Setup) -> None:
    for _ in range(3):
        assert setup.gateway.chain.verify(setup.facts()).outcome == "allow"
    verdict = setup.gateway.chain.verify(setup.facts())
    assert (verdict.outcome, verdict.reason) == ("rate_limited", "rate_limited_principal")
    assert verdict.retry_after_s
    assert verdict.auth is not None
    assert setup.records("gateway.rate_limited")[0].actor == setup.user.id


class RaisingPdp:
    def decide(self, request: AuthzRequest) -> Decision:
        raise RuntimeError("engine exploded")


class TimedOutPdp:
    def decide(self, request: AuthzRequest) -> Decision:
        return Decision("deny", ("pdp-timeout",))


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda s: setattr(s.gateway.chain, "pdp", RaisingPdp()), "error:RuntimeError"),
        (lambda s: setattr(s.gateway.chain, "pdp", TimedOutPdp()), "pdp-timeout"),
        (lambda s: setattr(s.svc.sessions.sessions, "get", _down), "store_unavailable"),
        (lambda s: setattr(s.svc.counters, "incr", _down), "store_unavailable"),
        (lambda s: setattr(s.svc.dpop.replay, "add_once", _down), "store_unavailable"),
    ],
)
def test_every_broken_dependency_fails_closed_and_is_audited(
    setup: Setup, break_it: Any, reason: str
) -> None:
    break_it(setup)
    verdict = setup.gateway.chain.verify(setup.facts())
    assert verdict.outcome == "unavailable"
    assert verdict.reason == reason
    audited = setup.records("gateway.unavailable") + setup.records("authz.decision")
    assert audited
    assert audited[-1].outcome == "denied"


def _down(*args: Any, **kwargs: Any) -> Any:
    raise StoreUnavailable


def test_an_audit_log_that_cannot_be_written_stops_the_request(setup: Setup) -> None:
    class Full:
        def append(self, record: AuditRecord) -> int:
            raise StoreUnavailable

    setup.gateway.chain.audit = Full()
    verdict = setup.gateway.chain.verify(setup.facts())
    assert (verdict.outcome, verdict.reason) == ("unavailable", "store_unavailable")


# -- browser sessions and public routes ------------------------------------------------------

# The console's routes as the demo deploys them (docs/console.md).
BROWSER_CONFIG = parse_config(
    {
        "listen": {"public_origins": [ORIGIN]},
        "upstreams": {CONSOLE_UPSTREAM: {"url": "http://127.0.0.1:9"}},
        "routes": console_routes(),
    }
)
SIGNIN, CONSOLE = (
    next(r for r in BROWSER_CONFIG.routes if r.name == name)
    for name in ("console-signin", "console")
)


class BrowserSetup:
    """A compliance officer's console session: bound to a browser key, linked to the
    person's enrolled laptop."""

    def __init__(self, svc: Services, pdp: PolicyDecisionPoint, clock: FixedClock) -> None:
        self.svc, self.clock = svc, clock
        self.audit = MemoryAudit()
        svc.audit = self.audit
        self.gateway = create_gateway(svc, pdp, BROWSER_CONFIG)
        self.user = make_user(svc, "cleo", roles=("compliance_officer",)).principal
        enrolled_device(svc, self.user)
        self.laptop = svc.devices.list(self.user.id)[0]
        self.browser = DeviceKey.generate()  # the page's WebCrypto key: no enrolled device
        self.handle = self.open(self.laptop.id)

    def open(self, device_id: str | None) -> str:
        client = ClientInfo(src_ip="127.0.0.1", jkt=self.browser.jkt, device_id=device_id)
        tokens = self.svc.sessions.open(self.user, aal=3, amr=("hwk", "user", "mfa"), client=client)
        return tokens.refresh_token

    def facts(self, key: DeviceKey | None = None, **changes: Any) -> RequestFacts:
        proof = make_dpop_proof(
            (key or self.browser).key,
            method="GET",
            url=f"{ORIGIN}/console/alerts",
            now=self.clock.now(),
        )
        facts = RequestFacts(
            method="GET",
            path="/console/alerts",
            route=CONSOLE,
            segments=("alerts",),
            client_ip="81.2.69.142",
            correlation_id="req_browser",
            dpop=(proof.encode(),),
            session_handle=self.handle,
        )
        return replace(facts, **changes)


@pytest.fixture
def browser(svc: Services, pdp: PolicyDecisionPoint, clock: FixedClock) -> BrowserSetup:
    return BrowserSetup(svc, pdp, clock)


def test_a_browser_session_is_decided_on_the_device_it_was_linked_to(
    browser: BrowserSetup,
) -> None:
    verdict = browser.gateway.chain.verify(browser.facts())
    assert (verdict.outcome, verdict.reason) == ("allow", "role-permit")
    assert verdict.device_id == browser.laptop.id
    [record] = [r for r in browser.audit.records if r.action == "authz.decision"]
    assert (record.resource, record.device_id) == ("Report:console", browser.laptop.id)


def test_a_browser_session_needs_its_cookie_and_a_proof_by_its_key(
    browser: BrowserSetup,
) -> None:
    chain = browser.gateway.chain
    facts = browser.facts()
    no_cookie = chain.verify(replace(facts, session_handle=None))
    assert (no_cookie.outcome, no_cookie.reason) == ("unauthenticated", "missing_token")
    assert chain.verify(facts).outcome == "allow"  # the proof was not spent above
    assert chain.verify(facts).reason == "replayed"
    assert chain.verify(browser.facts(key=DeviceKey.generate())).reason == "dpop_key_mismatch"
    assert chain.verify(browser.facts(dpop=())).reason == "missing_proof"
    assert chain.verify(browser.facts(session_handle="x" * 43)).reason == "session_unknown"
    # An access token is no browser session, even with a proof by its own key.
    laptop_token = access_token(browser.svc, browser.user, browser.browser)
    assert chain.verify(browser.facts(session_handle=laptop_token)).reason == "no_session"


def test_a_device_linked_to_someone_else_earns_no_trust(browser: BrowserSetup) -> None:
    other = make_user(browser.svc, "olly", roles=("compliance_officer",)).principal
    enrolled_device(browser.svc, other)
    browser.handle = browser.open(browser.svc.devices.list(other.id)[0].id)
    verdict = browser.gateway.chain.verify(browser.facts())
    assert verdict.outcome == "allow"  # a report: no device needed
    assert verdict.device_id is None


def test_a_public_route_verifies_nobody_and_decides_nothing(browser: BrowserSetup) -> None:
    facts = browser.facts(path="/console/signin", route=SIGNIN, session_handle=None, dpop=())
    verdict = browser.gateway.chain.verify(facts)
    assert (verdict.outcome, verdict.auth) == ("public", None)
    assert browser.audit.records == []
