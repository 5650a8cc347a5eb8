"""The OpenAPI document of the platform's data API, as callers see it through the gateway.

Through the gateway every operation may also be refused before it reaches the service
(RFC 9457 problem details): 400 (a path the gateway will not canonicalise), 401 (no or
bad token or proof, or a step-up), 403 (policy), 404 (no route), 405, 413, 429 (rate
limit, with ``Retry-After``) and 503 (a dependency down: fail closed). The document
lists them, so a property-based run can hold both to it.
"""

from __future__ import annotations

from typing import Any, Final

PROBLEM: Final = "application/problem+json"
REFUSALS: Final = ("400", "401", "403", "404", "405", "410", "413", "429", "503")


def _problem_responses(*extra: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        code: {"description": "Refused (RFC 9457)", "content": {PROBLEM: {"schema": ref}}}
        for code in sorted({*REFUSALS, *extra})
    }


def _ok(schema: str, status: str = "200") -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {status: {"description": "OK", "content": {"application/json": {"schema": ref}}}}


def _operation(summary: str, ok: dict[str, Any], *, body: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **_problem_responses()}}
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op


_ID: Final = {
    "name": "cid",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
_LIMIT: Final = {
    "name": "limit",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
}


def openapi_document() -> dict[str, Any]:
    record = {
        "type": "object",
        "required": ["id", "kind"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string"},
            "customer_id": {"type": ["string", "null"]},
            "status": {"type": "string"},
            "created_at": {"type": "number"},
        },
        "additionalProperties": True,
    }
    listing = {
        "type": "object",
        "required": ["customer_id", "items"],
        "properties": {
            "customer_id": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "zerotrust demo platform: data API", "version": "1"},
        "paths": {
            "/api/customers/{cid}": {
                "parameters": [_ID],
                "get": _operation("A customer (CustomerPII)", _ok("Record")),
            },
            "/api/transactions/{cid}": {
                "parameters": [_ID],
                "get": {
                    **_operation("A customer's transactions", _ok("Listing")),
                    "parameters": [_LIMIT],
                },
                "post": _operation("Add a transaction", _ok("Record", "201"), body="Transaction"),
            },
            "/api/credit-profiles/{cid}": {
                "parameters": [_ID],
                "get": _operation("A customer's credit profile", _ok("Record")),
            },
            "/api/features/{cid}": {
                "parameters": [_ID],
                "get": {
                    **_operation("The model-facing view of transactions", _ok("Listing")),
                    "parameters": [_LIMIT],
                },
            },
            "/api/model-outputs/{cid}": {
                "parameters": [_ID],
                "get": {
                    **_operation("What models concluded", _ok("Listing")),
                    "parameters": [_LIMIT],
                },
                "post": _operation(
                    "Write a model output", _ok("Record", "201"), body="ModelOutputIn"
                ),
            },
            "/api/reports/{name}": {
                "parameters": [{**_ID, "name": "name"}],
                "get": _operation("A report (aggregates only)", _ok("Report")),
            },
        },
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["status", "code"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "code": {"type": "string"},
                    },
                    "additionalProperties": True,
                },
                "Record": record,
                "Listing": listing,
                "Report": {
                    "type": "object",
                    "required": ["report"],
                    "properties": {"report": {"type": "string"}},
                },
                "Transaction": {
                    "type": "object",
                    "properties": {
                        "amount": {"type": "string"},
                        "currency": {"type": "string"},
                        "merchant": {"type": "string"},
                    },
                },
                "ModelOutputIn": {
                    "type": "object",
                    "required": ["model", "score"],
                    "properties": {
                        "model": {"type": "string", "maxLength": 64},
                        "subject": {"type": "string", "maxLength": 64},
                        "score": {"type": "number", "minimum": 0, "maximum": 1},
                        "label": {"type": "string", "maxLength": 32},
                        "explanation": {"type": "string", "maxLength": 500},
                    },
                },
            }
        },
    }
