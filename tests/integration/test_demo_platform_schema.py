"""The platform's data API, through the gateway, against its OpenAPI document (Schemathesis).

Generated requests go to the running demo's gateway as a persona on her own enrolled
device — a fresh DPoP proof per request — so they meet the whole chain (framing, canonical
path, token, device, Cedar, obligations) and then the service. Whatever the gateway or
the service answers must be in the document: never a 5xx, a documented status and
content type, and a body of the documented shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

from zerotrust.demo.platform_openapi import openapi_document
from zerotrust.demo.session import Renewing, renewing_persona
from zerotrust.demo.stack import Ports

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def _reads_of_a_fraud_analyst() -> dict[str, object]:
    """The document cut to the operations the policy lets a fraud analyst perform: a
    stream of generated requests she may not make is a probing pattern, which detection
    rightly answers by ending her session (the insider scenario shows it)."""
    document = openapi_document()
    allowed = {"/api/transactions/{cid}", "/api/model-outputs/{cid}"}
    document["paths"] = {
        path: {k: v for k, v in item.items() if k in ("parameters", "get")}
        for path, item in document["paths"].items()
        if path in allowed
    }
    return document


schema = schemathesis.openapi.from_dict(_reads_of_a_fraud_analyst())


@pytest.fixture(scope="module")
def fiona(running_demo: tuple[Path, Ports]) -> Iterator[Renewing]:
    data_dir, ports = running_demo
    with renewing_persona(data_dir, "fiona", api=ports.api_url, gateway=ports.gateway_url) as c:
        yield c


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    # Schemathesis names each operation's subtest through ``_nodeid`` (unset in pytest 9).
    request.node._nodeid = request.node.nodeid


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@schema.parametrize()
def test_the_platform_through_the_gateway_conforms(case: Case, fiona: Renewing) -> None:
    kwargs = case.as_transport_kwargs(base_url="")
    body = kwargs.get("json")
    response = fiona.request(
        case.method, case.formatted_path, params=kwargs.get("params"), json=body
    )
    case.validate_response(response, checks=CHECKS)
