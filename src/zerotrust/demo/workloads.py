"""The sample platform's AI workloads: batch workers that reach data only through the gateway.

Each workload is a service account of its own: no person, no password. It proves who it
is with a client key (an RFC 7523 assertion, ``WorkloadIdentity``) and binds its token to
its host's key with DPoP (RFC 9449), so a token copied out of the process is useless
without that key. Every request names the purpose it serves in the ``zt-purpose`` header;
the gateway accepts only a purpose the token was issued for.

The workers speak to the data API behind the gateway:

* ``GET /api/transactions/{customer_id}?limit=N``: ``{"customer_id", "items": [...]}``
* ``GET /api/credit-profiles/{customer_id}``: ``{"id", "customer_id", "score", ...}``
* ``POST /api/model-outputs/{customer_id}``: ``{"model", "subject", "score", "label",
  "explanation"}``, answered 201

A refusal (403, or a 401 asking for a step-up no workload can perform) is counted with
its problem code and the batch goes on; a 429 is retried after its ``Retry-After``, a few
times at most; a stop event ends the batch between two requests, or during a wait.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import httpx

from zerotrust.client import DeviceKey, ZTClient, ZTClientError
from zerotrust.crypto.signing import SigningKey
from zerotrust.demo.models import CreditModel, FraudModel, ModelInputError

PURPOSE_HEADER: Final = "zt-purpose"
FRAUD_PURPOSE: Final = "fraud_detection"
CREDIT_PURPOSE: Final = "credit_scoring"
DEFAULT_LIMIT: Final = 500
MAX_RETRIES: Final = 3
MAX_WAIT_S: Final = 60.0  # a Retry-After longer than this is waited this long, then retried
STEP_UP: Final = "insufficient_user_authentication"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")  # a service account's name


# --- identity ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkloadIdentity:
    """A service account's name, its client key (RFC 7523: who it is) and its host's key
    (RFC 9449: what it runs on). The host key signs the DPoP proofs, so it must be
    enrolled as the service account's device: the gateway's device guards bind
    workloads as they bind people. Both keys are stored like a device key (``alg`` and
    PKCS#8, mode 0600)."""

    name: str
    client_key: SigningKey
    host: DeviceKey

    @staticmethod
    def paths(directory: Path, name: str) -> tuple[Path, Path]:
        """Where ``create`` writes the client key and the host key."""
        # The name becomes a file name: refuse separators and "..", or a crafted name
        # would read or write keys outside ``directory``.
        if not _NAME.fullmatch(name) or ".." in name:
            raise ValueError(f"{name!r} is not a service account name")
        return directory / f"{name}.client.key", directory / f"{name}.host.key"

    @classmethod
    def create(cls, directory: Path, name: str, *, alg: str = "ES256") -> WorkloadIdentity:
        """Generate both keys (refusing to overwrite) and write their public JWKs next to
        them: ``NAME.client.jwk`` for ``zt service-account key add NAME --jwk FILE``,
        ``NAME.host.jwk`` to enrol as the service account's device."""
        client_path, host_path = cls.paths(directory, name)
        for path in (client_path, host_path):
            DeviceKey.generate(alg).save(path)
        identity = cls.load(name, client_key=client_path, host_key=host_path)
        for path, jwk in (
            (client_path, identity.public_jwk),
            (host_path, identity.host.public_jwk),
        ):
            path.with_suffix(".jwk").write_text(json.dumps(jwk), encoding="ascii")
        return identity

    @classmethod
    def load(cls, name: str, *, client_key: Path, host_key: Path) -> WorkloadIdentity:
        """Read both keys; a key file readable by others is refused."""
        return cls(name, DeviceKey.load(client_key).key, DeviceKey.load(host_key))

    @property
    def public_jwk(self) -> dict[str, str]:
        return self.client_key.public_jwk()

    def sign_in(self, client: ZTClient, *, purposes: Sequence[str]) -> dict[str, Any]:
        """Get a token for ``purposes`` (again, when the last one expired)."""
        return client.workload_login(self.name, self.client_key, scope=" ".join(purposes))

    def connect(
        self,
        base_url: str,
        *,
        purposes: Sequence[str],
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> ZTClient:
        """A client signed in for ``purposes``, its token bound to the host key."""
        client = ZTClient(base_url, self.host, http=http, clock=clock)
        self.sign_in(client, purposes=purposes)
        return client


# --- requests ----------------------------------------------------------------------------


@dataclass(slots=True)
class BatchReport:
    """What a batch did. ``allowed``/``denied``/``errors`` count final answers to
    requests; ``problems`` counts the codes of the refused and failed ones."""

    model: str
    customers: int = 0
    scored: int = 0
    flagged: int = 0
    outputs: int = 0
    allowed: int = 0
    denied: int = 0
    errors: int = 0
    retries: int = 0
    stopped: bool = False
    problems: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer to one request; ``code`` is its problem code when it failed."""

    status: int
    code: str | None = None
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _Stopped(Exception):
    """The stop event was set: the batch ends before its next request."""


def retry_after(value: str | None, *, now: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3), within limits."""
    if value is None:
        return 1.0
    value = value.strip()
    if value.isdigit():
        return min(MAX_WAIT_S, float(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(MAX_WAIT_S, max(0.0, when.timestamp() - now))


def _problem_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) and code else f"http_{response.status_code}"


class _Caller:
    """Sends requests with the purpose header; retries 429s, renews an expired token."""

    def __init__(
        self,
        client: ZTClient,
        report: BatchReport,
        *,
        purpose: str,
        stop: threading.Event,
        sleep: Callable[[float], object] | None,
        max_retries: int,
        renew: Callable[[], object] | None,
    ) -> None:
        self.client, self.report, self.purpose = client, report, purpose
        self.stop, self.max_retries, self.renew = stop, max_retries, renew
        # Waiting on the event itself: a stop ends the wait at once.
        self.sleep = stop.wait if sleep is None else sleep

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Answer:
        answer = self._attempts(method, path, body)
        self._count(answer)
        return answer

    def _attempts(self, method: str, path: str, body: Mapping[str, Any] | None) -> Answer:
        renewed, retries = False, 0
        while True:
            try:
                response = self._send(method, path, body)
            except httpx.HTTPError:
                return Answer(0, "unreachable")
            if response.status_code == 401 and not renewed and self._renewable(response):
                renewed = True
                continue
            if response.status_code != 429 or retries >= self.max_retries:
                return _answer(response)
            retries += 1
            self.report.retries += 1
            self.sleep(retry_after(response.headers.get("retry-after"), now=time.time()))
            if self.stop.is_set():
                raise _Stopped

    def _send(self, method: str, path: str, body: Mapping[str, Any] | None) -> httpx.Response:
        headers = {PURPOSE_HEADER: self.purpose}
        if body is None:
            return self.client.request(method, path, headers=headers)
        return self.client.request(method, path, headers=headers, json=dict(body))

    def _renewable(self, response: httpx.Response) -> bool:
        # An expired token is renewed once; a step-up challenge is not: no workload
        # has a second factor, so that refusal stands.
        if self.renew is None or _problem_code(response) == STEP_UP:
            return False
        try:
            self.renew()
        except (ZTClientError, httpx.HTTPError):
            return False
        return True

    def _count(self, answer: Answer) -> None:
        if answer.ok:
            self.report.allowed += 1
            return
        if answer.status in (401, 403):
            self.report.denied += 1
        else:
            self.report.errors += 1
        self.report.problems[answer.code or f"http_{answer.status}"] += 1


def _answer(response: httpx.Response) -> Answer:
    if response.status_code >= 300:
        return Answer(response.status_code, _problem_code(response))
    try:
        return Answer(response.status_code, None, response.json() if response.content else None)
    except ValueError:
        return Answer(502, "malformed_response")


def _segment(customer_id: str) -> str:
    # Escaped as one path segment: an id like "../customers/x" must not become a path.
    return quote(customer_id, safe="")


# --- the batches -------------------------------------------------------------------------


def _malformed(report: BatchReport) -> None:
    report.errors += 1
    report.problems["malformed_response"] += 1


def _items(answer: Answer, report: BatchReport) -> list[Mapping[str, Any]] | None:
    items = answer.body.get("items") if isinstance(answer.body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        _malformed(report)
        return None
    return items


def score_text(score: float) -> str:
    """A score as the data API stores it: a decimal string of at most 4 places."""
    return f"{score:.4f}"


def _score(
    model: FraudModel, items: list[Mapping[str, Any]], report: BatchReport
) -> tuple[list[tuple[Mapping[str, Any], float]], float]:
    """The items labelled fraud, with their scores, and the highest score of all."""
    flagged, top = [], 0.0
    for item in items:
        try:
            score = model.score(item)
        except ModelInputError as exc:
            report.errors += 1
            report.problems[exc.code] += 1
            continue
        report.scored += 1
        top = max(top, score)
        if model.label(score) != "fraud":
            continue
        if isinstance(item.get("id"), str):
            flagged.append((item, score))
        else:  # an output must name its subject
            _malformed(report)
    report.flagged += len(flagged)
    return flagged, top


def _write(caller: _Caller, customer_id: str, output: Mapping[str, Any]) -> None:
    if caller.call("POST", f"/api/model-outputs/{_segment(customer_id)}", output).ok:
        caller.report.outputs += 1


def _fraud_customer(
    caller: _Caller, model: FraudModel, customer_id: str, *, limit: int, summaries: bool
) -> None:
    segment = _segment(customer_id)
    answer = caller.call("GET", f"/api/transactions/{segment}?limit={limit}")
    items = _items(answer, caller.report) if answer.ok else None
    if items is None:
        return
    flagged, top = _score(model, items, caller.report)
    for item, score in flagged:
        if caller.stop.is_set():
            raise _Stopped
        output = {"model": model.name, "subject": item["id"], "score": score_text(score)}
        _write(
            caller, customer_id, {**output, "label": "fraud", "explanation": model.explain(item)}
        )
    if summaries and items:
        if caller.stop.is_set():
            raise _Stopped
        note = f"{len(flagged)} of {len(items)} transactions flagged"
        subject = str(answer.body.get("customer_id") or customer_id)
        summary = {"model": model.name, "subject": subject, "score": score_text(top)}
        _write(
            caller,
            customer_id,
            {**summary, "label": "fraud" if flagged else "ok", "explanation": note},
        )
    caller.report.customers += 1


def _run(
    client: ZTClient,
    name: str,
    customer_ids: Iterable[str],
    one: Callable[[_Caller, str], None],
    *,
    purpose: str,
    stop: threading.Event | None,
    sleep: Callable[[float], object] | None,
    max_retries: int,
    renew: Callable[[], object] | None,
) -> BatchReport:
    """One batch: ``one(caller, customer_id)`` for each customer until done or stopped."""
    report = BatchReport(name)
    stop = threading.Event() if stop is None else stop
    caller = _Caller(
        client, report, purpose=purpose, stop=stop, sleep=sleep, max_retries=max_retries,
        renew=renew,
    )  # fmt: skip
    try:
        for customer_id in customer_ids:
            if stop.is_set():
                raise _Stopped
            one(caller, customer_id)
    except _Stopped:
        report.stopped = True
    return report


def run_fraud_batch(
    client: ZTClient,
    model: FraudModel,
    customer_ids: Iterable[str],
    *,
    purpose: str = FRAUD_PURPOSE,
    limit: int = DEFAULT_LIMIT,
    summaries: bool = True,
    stop: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
    max_retries: int = MAX_RETRIES,
    renew: Callable[[], object] | None = None,
) -> BatchReport:
    """Score each customer's recent transactions; write an output for each one labelled
    fraud and, with ``summaries``, one per customer. ``renew`` signs in again when the
    token expired (``functools.partial(identity.sign_in, client, purposes=[...])``)."""
    if not 1 <= limit <= 10_000 or max_retries < 0:
        raise ValueError("limit: 1 to 10000; max_retries: at least 0")
    return _run(
        client,
        model.name,
        customer_ids,
        lambda caller, cid: _fraud_customer(caller, model, cid, limit=limit, summaries=summaries),
        purpose=purpose, stop=stop, sleep=sleep, max_retries=max_retries, renew=renew,
    )  # fmt: skip


def _credit_customer(caller: _Caller, model: CreditModel, customer_id: str) -> None:
    answer = caller.call("GET", f"/api/credit-profiles/{_segment(customer_id)}")
    if not answer.ok:
        return
    profile = answer.body
    if not isinstance(profile, dict) or not isinstance(profile.get("id"), str):
        _malformed(caller.report)
        return
    try:
        result = model.assess(profile)
    except ModelInputError as exc:
        caller.report.errors += 1
        caller.report.problems[exc.code] += 1
        return
    caller.report.scored += 1
    caller.report.flagged += int(result["decision"] == "refer")
    explanation = f"band {result['band']}, {result['decision']}: " + ", ".join(result["factors"])
    pd = score_text(result["probability_of_default"])
    output = {"model": model.name, "subject": profile["id"], "score": pd, "label": result["band"]}
    _write(caller, customer_id, {**output, "explanation": explanation})
    caller.report.customers += 1


def run_credit_batch(
    client: ZTClient,
    model: CreditModel,
    customer_ids: Iterable[str],
    *,
    purpose: str = CREDIT_PURPOSE,
    stop: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
    max_retries: int = MAX_RETRIES,
    renew: Callable[[], object] | None = None,
) -> BatchReport:
    """Assess each customer's credit profile and write the result as a model output
    (score: probability of default; label: the band)."""
    if max_retries < 0:
        raise ValueError("max_retries: at least 0")
    return _run(
        client,
        model.name,
        customer_ids,
        lambda caller, cid: _credit_customer(caller, model, cid),
        purpose=purpose, stop=stop, sleep=sleep, max_retries=max_retries, renew=renew,
    )  # fmt: skip


# --- overreach -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request a workload should not be allowed to make, and what it got."""

    method: str
    path: str
    status: int
    code: str | None


def overreach(client: ZTClient, customer_id: str, *, purpose: str = FRAUD_PURPOSE) -> list[Attempt]:
    """As the fraud model, try what its role does not allow: mark a transaction as
    legitimate, and read the customer's raw personal data. Both should come back 403."""
    report = BatchReport("overreach")
    caller = _Caller(
        client, report, purpose=purpose, stop=threading.Event(), sleep=None, max_retries=0,
        renew=None,
    )  # fmt: skip
    segment = _segment(customer_id)
    tries: list[tuple[str, str, Mapping[str, Any] | None]] = [
        ("POST", f"/api/transactions/{segment}", {"fraud_label": 0, "amount": "0.01"}),
        ("GET", f"/api/customers/{segment}", None),
    ]
    out = []
    for method, path, body in tries:
        answer = caller.call(method, path, body)
        out.append(Attempt(method, path, answer.status, answer.code))
    return out
