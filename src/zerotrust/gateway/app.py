"""The gateway's ASGI application: every request parsed, verified, forwarded, filtered and
audited (DESIGN.md steps 1-7).

Per request: framing and size checks, the canonical path, the route and method, the
trusted client address and the bounded body (all before any token work); then the
verification chain in one worker thread (its steps are blocking domain calls), bounded by
``chain_timeout_s``; then the outcome — forward and filter on allow, 403 on deny, 401 with
an RFC 9470 challenge on step-up, 401/429/503 on refusals. The security event is
published after the answer is sent, off the latency path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from starlette.requests import cookie_parser
from starlette.types import Receive, Scope, Send

from zerotrust.core.auditing import AuditRecord
from zerotrust.core.events import QueuedSink
from zerotrust.core.ids import new_id
from zerotrust.crypto.dpop import canonical_htu
from zerotrust.gateway import browser, replies
from zerotrust.gateway.assertion import AssertionSigner
from zerotrust.gateway.canonical import BadPath, canonical_path, encode_path
from zerotrust.gateway.chain import Decider, RequestFacts, Verdict, VerificationChain
from zerotrust.gateway.client_ip import ClientAddress
from zerotrust.gateway.config import ROUTABLE_METHODS, GatewayConfig, Route
from zerotrust.gateway.context import CaseSource, ContextBuilder, NoRisk, RiskSource
from zerotrust.gateway.forward import (
    Forwarder,
    UpstreamFailed,
    UpstreamResponse,
    forwarded_headers,
)
from zerotrust.gateway.framing import BadFraming, check_framing, read_body
from zerotrust.gateway.geo import Countries
from zerotrust.gateway.metrics import DetectionCollector, GatewayMetrics
from zerotrust.gateway.obligations import filter_body
from zerotrust.gateway.operations import Operations
from zerotrust.gateway.replies import Reply, problem
from zerotrust.gateway.reporting import (
    Exchange,
    access_event,
    access_line,
    error_record,
    withheld_record,
)
from zerotrust.gateway.tls import hsts_value
from zerotrust.identity.sessions import BROWSER_COOKIE, SECURE_BROWSER_COOKIE
from zerotrust.service import Services
from zerotrust.vault.errors import ObligationUnfulfilled
from zerotrust.vault.masking import Tokenizer

T = TypeVar("T")
log = logging.getLogger("zerotrust.gateway")
access_log = logging.getLogger("zerotrust.gateway.access")

MAINTENANCE_INTERVAL_S: Final = 2.0
# Access events wait this long for company before they are stored (and detection sees
# them): a batch per transaction even at light load.
EVENT_LINGER_S: Final = 0.02
PURPOSE_HEADER: Final = b"zt-purpose"
# Bodies above this are filtered in a worker thread, not on the event loop.
INLINE_FILTER_BYTES: Final = 256 * 1024
_PICKED: Final = frozenset(
    {
        b"host", b"authorization", b"dpop", b"x-forwarded-for", b"user-agent", b"cookie",
        b"accept", b"sec-fetch-mode", PURPOSE_HEADER,
    }
)  # fmt: skip
_OUTCOME_STATUS: Final = {"deny": 403, "rate_limited": 429, "unavailable": 503}


class Gateway:
    """The ASGI application (``create_gateway`` builds it)."""

    def __init__(
        self,
        services: Services,
        pdp: Decider,
        config: GatewayConfig,
        *,
        risk: RiskSource | None = None,
        cases: CaseSource | None = None,
        tokenizer: Tokenizer | None = None,
        countries: Countries | None = None,
        workers: int = 8,
    ) -> None:
        self.services = services
        self.config = config
        self.tokenizer = tokenizer
        self.metrics = GatewayMetrics()
        self.metrics.registry.register(DetectionCollector(services.detection, services.event_feed))
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zt-gateway")
        self.client_address = ClientAddress(config.trusted_proxies)
        self.origins = config.public_origins or services.public_bases
        self.forwarder = Forwarder(config.upstreams, max_response_bytes=config.max_response_bytes)
        self.signer = AssertionSigner(services.tokens, services.clock, ttl_s=config.assertion_ttl_s)
        self.assertion_header = config.assertion_header.encode("ascii")
        self.hsts = hsts_value(config.hsts_max_age_s)
        context = ContextBuilder(
            countries=countries or Countries(),
            risk=risk or _default_risk(services),
            cases=cases,
            timezone=config.timezone,
        )
        self.chain = VerificationChain.over(
            services, pdp, config, context=context, htu_urls=self.htu_urls
        )
        self.operations = Operations(
            services,
            pdp,
            self.forwarder,
            self.executor,
            self.metrics,
            admin_networks=config.admin_networks,
        )
        self._background: set[asyncio.Future[Any]] = set()
        # Access events leave after the answer, through one publishing thread that
        # stores them in batches: no worker-thread hand-off per request.
        self.events = QueuedSink(
            services.events, linger_s=EVENT_LINGER_S, on_error=self._events_failed
        )

    def htu_urls(self, path: str) -> frozenset[str]:
        """The ``htu`` values a proof may carry: the canonical path under each public
        origin (configured, never taken from the Host header)."""
        encoded = encode_path(path)
        return frozenset(canonical_htu(origin + encoded) for origin in self.origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # -- lifetime ------------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        upkeep: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.forwarder.start()
                upkeep = asyncio.create_task(self._upkeep())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if upkeep is not None:
                    upkeep.cancel()
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _upkeep(self) -> None:
        """``Services.maintain`` every few seconds: edited policies, other replicas' grant
        changes, grant expiries and audit checkpoints, as the control plane does."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL_S)
            try:
                await loop.run_in_executor(self.executor, self.services.maintain)
            except Exception:  # keep serving on the last good state; say so
                log.exception("maintenance failed")

    async def aclose(self) -> None:
        if self._background:
            await asyncio.wait(self._background, timeout=5)
        await asyncio.get_running_loop().run_in_executor(self.executor, self.events.close)
        await self.forwarder.close()
        self.executor.shutdown(wait=False)

    # -- one request -----------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        ex = Exchange(new_id("req"), scope["method"])
        try:
            reply = await self._handle(scope, receive, ex)
        except BadFraming as exc:
            ex.refusal = exc.reason
            reply = self._refuse(exc.status, exc.code, ex.correlation_id, close=True)
        except Exception:  # catalogue F.46: a generic 500, audited; the worker stays up
            log.exception("unhandled error (%s)", ex.correlation_id)
            self._in_background(self._audit_quietly, error_record(ex))
            reply = problem(500, "internal_error", ex.correlation_id)
        extra = [(b"x-correlation-id", ex.correlation_id.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", self.hsts))
        await reply.send(send, extra=extra)
        elapsed = time.perf_counter() - started
        self.metrics.stage("total", elapsed)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(access_line(ex, reply.status, elapsed))
        event = access_event(ex, now=self.services.clock.now())
        # After the answer: detection is not on the latency path. A full queue makes
        # this request wait for room (in a worker thread), rather than drop its event.
        if event is not None and not self.events.offer(event):
            try:
                await self._run(self.events.emit, event)
            except Exception:
                self._events_failed(None, 1)

    def _events_failed(self, exc: BaseException | None, count: int) -> None:
        self.metrics.event_failures.inc(count)
        why = type(exc).__name__ if exc is not None else "queue closed"
        log.error("%d security event(s) not published (%s)", count, why)

    async def _handle(self, scope: Scope, receive: Receive, ex: Exchange) -> Reply:
        cid = ex.correlation_id
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        framing = check_framing(headers, max_header_bytes=self.config.max_header_bytes)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        peer = scope["client"][0] if scope.get("client") else None
        if self.operations.answers(raw_path, peer):
            return await self.operations.reply(raw_path)
        if ex.method not in ROUTABLE_METHODS:
            return self._refuse(405, "method_not_allowed", cid)
        try:
            canonical = canonical_path(raw_path)
        except BadPath as exc:
            ex.refusal = exc.reason
            return self._refuse(400, "bad_path", cid)
        picked = _pick(headers)
        matched = self.config.match(_host(picked.get(b"host", [b""])[0]), canonical)
        if matched is None:
            ex.path = canonical
            return self._refuse(404, "not_found", cid)
        route, ex.path, segments = matched
        ex.route = route
        if ex.method not in route.methods:
            allow = [(b"allow", route.allow_header.encode())]
            return self._refuse(405, "method_not_allowed", cid, headers=allow)
        forwarded_for = picked.get(b"x-forwarded-for", [])
        ex.forwarded_for = b",".join(forwarded_for)[:256].decode("latin-1")
        ex.client_ip = self.client_address.resolve(peer, forwarded_for)
        ex.user_agent = _first_text(picked.get(b"user-agent"))
        body = await read_body(
            receive, framing, limit=route.max_body_bytes, timeout_s=self.config.body_timeout_s
        )
        facts = RequestFacts(
            method=ex.method,
            path=ex.path,
            route=route,
            segments=segments,
            client_ip=ex.client_ip,
            correlation_id=cid,
            authorization=tuple(picked.get(b"authorization", ())),
            dpop=tuple(picked.get(b"dpop", ())),
            purpose=_first_text(picked.get(PURPOSE_HEADER)),
            user_agent=ex.user_agent,
            session_handle=_session_cookie(picked, https=scope.get("scheme") == "https")
            if route.auth == "session"
            else None,
        )
        verdict = ex.verdict = await self._verify(facts)
        self.metrics.decision(verdict.outcome, verdict.reason)
        self.metrics.stages(verdict.stages)
        if verdict.outcome in ("allow", "public"):
            return await self._forward(scope, facts, verdict, body, ex)
        if route.auth == "session" and _navigation(picked):
            return browser.refusal(verdict, route, facts.path, cid)
        return _refusal(verdict, cid)

    async def _verify(self, facts: RequestFacts) -> Verdict:
        future = self._run(self.chain.verify, facts)
        try:
            async with asyncio.timeout(self.config.chain_timeout_s):
                return await future
        except TimeoutError:
            # The worker may still be blocked on a dead dependency; answer now, fail closed.
            verdict = Verdict("unavailable", "chain_timeout", code="service_unavailable")
            self._in_background(self.chain.audit_refusal, facts, verdict)
            return verdict

    def _refuse(
        self,
        status: int,
        code: str,
        cid: str,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        close: bool = False,
    ) -> Reply:
        self.metrics.refusals.labels(str(status), code).inc()
        return problem(status, code, cid, headers=headers, close=close)

    # -- allow: forward, filter --------------------------------------------------------------

    async def _forward(
        self, scope: Scope, facts: RequestFacts, verdict: Verdict, body: bytes, ex: Exchange
    ) -> Reply:
        auth, decision, route = verdict.auth, verdict.decision, facts.route
        public = verdict.outcome == "public" and route.auth == "public"
        if not public and (auth is None or decision is None):  # an allow carries both
            return problem(503, "service_unavailable", facts.correlation_id)
        obligations = decision.obligations if decision is not None else ()
        started = time.perf_counter()
        extra = {
            self.assertion_header: self.signer.sign(
                None if public else auth,
                device_id=verdict.device_id,
                audience=route.upstream.assertion_audience,
                correlation_id=facts.correlation_id,
                client_ip=facts.client_ip,
            ).encode("ascii"),
            b"x-forwarded-for": facts.client_ip.encode("latin-1"),
            b"x-forwarded-proto": str(scope.get("scheme", "http")).encode("latin-1"),
            b"x-correlation-id": facts.correlation_id.encode("ascii"),
        }
        if public and len(facts.dpop) == 1:
            # Nothing here verified the proof: it is the upstream's to check (a sign-in
            # ceremony binding a new browser key), so it goes along, unspent.
            extra[b"dpop"] = facts.dpop[0]
        headers = scope["headers"]
        if obligations:  # the body must be readable to be filtered
            headers = [(k, v) for k, v in headers if k != b"accept-encoding"]
            extra[b"accept-encoding"] = b"identity"
        try:
            answer = await self.forwarder.forward(
                route.upstream,
                method=facts.method,
                path=facts.path,
                query=scope.get("query_string", b""),
                headers=forwarded_headers(
                    headers, extra=extra, assertion_header=self.assertion_header
                ),
                body=body,
            )
        except UpstreamFailed as exc:
            self.metrics.upstream_errors.labels(route.upstream.name, exc.reason).inc()
            return problem(exc.status, "bad_gateway", facts.correlation_id)
        self.metrics.stage("forward", time.perf_counter() - started)
        ex.upstream_status = answer.status
        started = time.perf_counter()
        try:
            content, ex.records = await self._filter(answer, obligations, route)
        except ObligationUnfulfilled:
            self.metrics.withheld.inc()
            self._in_background(self._audit_quietly, withheld_record(facts, verdict))
            return problem(403, "obligation_unfulfilled", facts.correlation_id)
        self.metrics.stage("obligations", time.perf_counter() - started)
        ex.nbytes = len(content)
        response_headers = answer.headers
        if content is not answer.body:  # filtered: validators of the old body no longer hold
            response_headers = [
                (k, v) for k, v in response_headers if k not in (b"etag", b"content-md5")
            ]
        return Reply(answer.status, content, response_headers)

    async def _filter(
        self, answer: UpstreamResponse, obligations: tuple[str, ...], route: Route
    ) -> tuple[bytes, int | None]:
        def run() -> tuple[bytes, int | None]:
            return filter_body(
                answer.body,
                content_type=answer.content_type,
                content_encoding=answer.content_encoding,
                obligations=obligations,
                rules=route.fields,
                tokenize=self.tokenizer,
            )

        if len(answer.body) <= INLINE_FILTER_BYTES:
            return run()
        return await self._run(run)

    # -- worker threads --------------------------------------------------------------------

    def _run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _in_background(self, fn: Callable[..., Any], *args: Any) -> None:
        future = self._run(fn, *args)
        self._background.add(future)
        future.add_done_callback(self._background.discard)

    def _audit_quietly(self, record: AuditRecord) -> None:
        """For records that follow an answer already decided: a failure is logged."""
        try:
            self.services.audit.append(record)
        except Exception:
            log.exception("audit write failed (%s)", record.details.get("correlation_id"))


def create_gateway(
    services: Services,
    pdp: Decider,
    config: GatewayConfig,
    *,
    risk: RiskSource | None = None,
    cases: CaseSource | None = None,
    tokenizer: Tokenizer | None = None,
    countries: Countries | None = None,
) -> Gateway:
    """The gateway ASGI application over built services, a PDP and a routes config.

    ``risk`` defaults to the detection engine's scores; ``cases`` binds support sessions
    to a customer (``context.case_customer``); ``tokenizer`` carries out ``tokenize:``
    obligations (without one they withhold the response).
    """
    return Gateway(
        services, pdp, config, risk=risk, cases=cases, tokenizer=tokenizer, countries=countries
    )


def _refusal(verdict: Verdict, cid: str) -> Reply:
    """The answer to anything but an allow."""
    if verdict.outcome == "unauthenticated":
        return replies.unauthenticated(
            verdict.code, cid, with_error=verdict.reason != "missing_token"
        )
    if verdict.outcome == "step_up" and verdict.decision is not None:
        return replies.step_up(
            cid,
            required_aal=verdict.decision.required_aal,
            max_age_s=verdict.decision.max_auth_age_s,
            reasons=list(verdict.decision.reasons),
        )
    status = _OUTCOME_STATUS.get(verdict.outcome, 503)
    if verdict.outcome == "rate_limited":
        retry = str(verdict.retry_after_s or 1).encode()
        return problem(status, verdict.code, cid, headers=[(b"retry-after", retry)])
    if verdict.outcome == "deny":
        reasons = list(verdict.decision.reasons) if verdict.decision else [verdict.reason]
        return problem(status, verdict.code, cid, reason=reasons[0], reasons=reasons)
    return problem(503, verdict.code or "service_unavailable", cid)


def _default_risk(services: Services) -> RiskSource:
    """The detection engine's decaying risk scores when the services run one."""
    detection = getattr(services, "detection", None)
    scores = getattr(detection, "risk", None)
    return scores if scores is not None else NoRisk()


def _pick(headers: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    picked: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        if name in _PICKED:
            picked.setdefault(name, []).append(value)
    return picked


def _session_cookie(picked: dict[bytes, list[bytes]], *, https: bool) -> str | None:
    """The browser session's handle from the ``Cookie`` header(s): ``__Host-ztc`` over
    https (the prefix guarantees a Secure, host-only cookie), ``ztc`` over http."""
    name = SECURE_BROWSER_COOKIE if https else BROWSER_COOKIE
    for header in picked.get(b"cookie", ()):
        value = cookie_parser(header.decode("latin-1")).get(name)
        if value:
            return value
    return None


def _navigation(picked: dict[bytes, list[bytes]]) -> bool:
    """A browser asking for a page (rather than a script's ``fetch``): answered with a
    redirect to sign in, or a page, instead of a problem document."""
    if picked.get(b"sec-fetch-mode", [b""])[0] == b"navigate":
        return True
    return picked.get(b"accept", [b""])[0].startswith(b"text/html")


def _host(value: bytes) -> str:
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text.partition("]")[0] + "]"
    return text.partition(":")[0]


def _first_text(values: list[bytes] | None) -> str | None:
    if not values:
        return None
    return values[0].decode("latin-1")[:512]
