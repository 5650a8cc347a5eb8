"""The sample platform's data API: the protected service the gateway stands in front of.

It serves the fintech's records (customers, transactions, credit profiles, a feature
view for models and model outputs) out of the vault, and trusts nobody but the gateway:
every request must carry the gateway's identity assertion (``zt-identity``), a JWT signed
by the issuer, verified here against the issuer's published JWKS with this service as
its audience. Without one — a request that went around the gateway — the answer is 401.
Authorisation is the gateway's (Cedar, obligations); this service only serves what
reached it, and records who wrote what.

    python -m zerotrust.demo.platform_api --port 8081 --jwks http://127.0.0.1:8000/.well-known/jwks.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zerotrust.core.errors import NotFound, ZTError
from zerotrust.demo.platform_openapi import openapi_document
from zerotrust.gateway.assertion import ASSERTION_HEADER, verify_assertion
from zerotrust.vault.errors import Erased
from zerotrust.vault.records import Records

AUDIENCE: Final = "platform"
MAX_ITEMS: Final = 500
PROBLEM: Final = "application/problem+json"


class Jwks:
    """The issuer's public keys, fetched when first needed and again (at most every
    ``min_refresh_s``) when an assertion names a key not seen yet — a rotation."""

    def __init__(
        self, fetch: Callable[[], Mapping[str, Any]], *, min_refresh_s: float = 10.0
    ) -> None:
        self._fetch = fetch
        self._keys: Mapping[str, Any] = {"keys": []}
        self._fetched_at = -math.inf
        self._min_refresh_s = min_refresh_s
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> Jwks:
        def fetch() -> Mapping[str, Any]:
            answer = httpx.get(url, timeout=5)
            answer.raise_for_status()
            data: Mapping[str, Any] = answer.json()
            return data

        return cls(fetch)

    def current(self, *, refresh: bool = False) -> Mapping[str, Any]:
        with self._lock:
            stale = time.monotonic() - self._fetched_at >= self._min_refresh_s
            if (refresh or not self._keys.get("keys")) and stale:
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
            return self._keys


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "status": status, "title": detail, "code": code},
        status_code=status,
        media_type=PROBLEM,
    )


def create_platform_app(
    records: Records,
    jwks: Jwks,
    *,
    issuer: str,
    audience: str = AUDIENCE,
    portfolio: Callable[[], list[str]] = list,
) -> Starlette:
    """The data API over ``records``, accepting only assertions from ``issuer``;
    ``portfolio`` names the customers the fraud report covers (those the models score)."""

    def caller(request: Request) -> dict[str, Any]:
        token = request.headers.get(ASSERTION_HEADER, "")
        if not token:
            raise _Refused(401, "assertion_missing", "Only the gateway may call this service.")
        for refresh in (False, True):
            try:
                return verify_assertion(
                    token,
                    jwks=jwks.current(refresh=refresh),
                    issuer=issuer,
                    audience=audience,
                    now=time.time(),
                )
            except ZTError:
                continue  # perhaps a key rotated since the last fetch: one refresh
        raise _Refused(401, "assertion_invalid", "The identity assertion is not valid.")

    def handler(fn: Callable[[Request, dict[str, Any]], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                who = caller(request)
                result = await fn(request, who)
            except _Refused as exc:
                return _problem(exc.status, exc.code, exc.detail)
            except Erased:
                return _problem(410, "erased", "The data subject's records were erased.")
            except NotFound:
                return _problem(404, "not_found", "No such record.")
            except ZTError as exc:
                return _problem(400, exc.code, exc.message)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    async def customer(request: Request, who: dict[str, Any]) -> Any:
        return records.get("customer", request.path_params["cid"]).to_json()

    async def transactions(request: Request, who: dict[str, Any]) -> Any:
        cid = request.path_params["cid"]
        if request.method == "POST":
            body = await _json(request)
            created = records.create("transaction", {**body, "customer_id": cid})
            return JSONResponse(created.to_json(), status_code=201)
        items = records.for_customer("transaction", cid, limit=_limit(request))
        return {"customer_id": cid, "items": [r.to_json() for r in items]}

    async def credit_profile(request: Request, who: dict[str, Any]) -> Any:
        cid = request.path_params["cid"]
        found = records.for_customer("credit_profile", cid, limit=1)
        if not found:
            raise NotFound()
        return found[0].to_json()

    async def features(request: Request, who: dict[str, Any]) -> Any:
        # The model-facing view: behaviour, not identity (no name, card or free text).
        cid = request.path_params["cid"]
        items = records.for_customer("transaction", cid, limit=_limit(request))
        return {"customer_id": cid, "items": [feature_row(r.to_json()) for r in items]}

    async def model_outputs(request: Request, who: dict[str, Any]) -> Any:
        cid = request.path_params["cid"]
        if request.method == "POST":
            body = await _json(request)
            values = {
                "customer_id": cid,
                "model": str(body.get("model", ""))[:64],
                "subject": str(body.get("subject", ""))[:64],
                "score": _score(body.get("score")),
                "label": str(body.get("label", ""))[:32],
                "explanation": str(body.get("explanation", ""))[:500],
                "producer": str(who.get("name", ""))[:64],
            }
            created = records.create("model_output", {k: v for k, v in values.items() if v != ""})
            return JSONResponse(created.to_json(), status_code=201)
        items = records.for_customer("model_output", cid, limit=_limit(request))
        return {"customer_id": cid, "items": [r.to_json() for r in items]}

    async def report(request: Request, who: dict[str, Any]) -> Any:
        name = request.path_params["name"]
        if name != "fraud-summary":
            raise NotFound()
        return {
            "report": name,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "requested_by": who.get("name"),
            **fraud_summary(records, portfolio()),
            "note": "Aggregates only: no customer appears in a report.",
        }

    routes = [
        Route("/api/customers/{cid}", handler(customer), methods=["GET"]),
        Route("/api/transactions/{cid}", handler(transactions), methods=["GET", "POST"]),
        Route("/api/credit-profiles/{cid}", handler(credit_profile), methods=["GET"]),
        Route("/api/features/{cid}", handler(features), methods=["GET"]),
        Route("/api/model-outputs/{cid}", handler(model_outputs), methods=["GET", "POST"]),
        Route("/api/reports/{name}", handler(report), methods=["GET"]),
        Route("/openapi.json", _document, methods=["GET"]),  # a description, no data
    ]
    return Starlette(routes=routes)


def fraud_summary(records: Records, customers: list[str]) -> dict[str, Any]:
    """What the models concluded over ``customers``, counted: outputs per model and label,
    the mean score, the share of customers with a flag. Nobody is named."""
    by_model: dict[str, dict[str, int]] = {}
    scores: list[float] = []
    flagged = 0
    for cid in customers:
        try:
            outputs = records.for_customer("model_output", cid, limit=MAX_ITEMS)
        except (NotFound, Erased):
            continue
        labels = [str(o.fields.get("label", "")) for o in outputs]
        flagged += "fraud" in labels
        for output, label in zip(outputs, labels, strict=True):
            model = by_model.setdefault(str(output.fields.get("model", "")), {})
            model[label] = model.get(label, 0) + 1
            with contextlib.suppress(ValueError, TypeError):
                scores.append(float(output.fields.get("score", "")))
    return {
        "customers": len(customers),
        "customers_flagged": flagged,
        "outputs": by_model,
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
    }


FEATURE_FIELDS: Final = (
    "id",
    "customer_id",
    "amount",
    "currency",
    "merchant",
    "category",
    "country",
    "occurred_at",
    "channel",
)


def feature_row(tx: Mapping[str, Any]) -> dict[str, Any]:
    """One transaction as the feature view shows it."""
    return {k: tx.get(k) for k in FEATURE_FIELDS}


async def _document(request: Request) -> Response:
    return JSONResponse(openapi_document())


class _Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail


def _limit(request: Request) -> int:
    try:
        value = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise _Refused(400, "bad_limit", "limit must be an integer.") from None
    return max(1, min(value, MAX_ITEMS))


def _score(value: Any) -> str:
    """A probability, as a number or decimal text, stored with four places."""
    number = float("nan")
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            number = float(value)
    if not 0 <= number <= 1:  # NaN fails this too
        raise _Refused(400, "bad_score", "score must be a number between 0 and 1.")
    return f"{number:.4f}"


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _Refused(400, "bad_json", "The body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise _Refused(400, "bad_json", "The body must be a JSON object.")
    return body


def main() -> None:  # pragma: no cover - exercised by the demo's process tests
    import uvicorn

    from zerotrust.service import build_services
    from zerotrust.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--jwks", required=True, help="the issuer's JWKS URL")
    args = parser.parse_args()
    settings = load_settings()
    services = build_services(settings)
    queue = settings.data_dir / "demo" / "queue.json"

    def portfolio() -> list[str]:  # the customers the demo's models score
        try:
            return [str(c) for c in json.loads(queue.read_text("utf-8"))]
        except (OSError, ValueError):
            return []

    app = create_platform_app(
        services.vault.records,
        Jwks.from_url(args.jwks),
        issuer=settings.issuer,
        portfolio=portfolio,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
