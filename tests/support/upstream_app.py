"""A protected service for the gateway tests: records every request it receives.

Run as its own process (``python -m tests.support.upstream_app --port P --log FILE``,
optionally with ``--cert/--key/--ca`` to require a client certificate), so the tests see
exactly what crossed the network. Each request is appended to FILE as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAN = "4111111111111111"


def _record(request: Request, body: bytes) -> None:
    entry = {
        "method": request.method,
        "path": request.scope["raw_path"].decode("latin-1"),
        "query": request.scope["query_string"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw],
        "body": body.decode("utf-8", "replace"),
    }
    log: Path = request.app.state.log
    with log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


async def handle(request: Request) -> Response:
    body = await request.body()
    _record(request, body)
    path = request.url.path
    if path.startswith("/api/customers/"):
        customer = path.split("/")[3]
        return JSONResponse(
            {
                "customer": customer,
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "card": {"pan": PAN, "number": "5500005555555559"},
                "ssn": "123-45-6789",
            }
        )
    if path.startswith("/api/transactions"):
        return JSONResponse(
            {"items": [{"id": "t1", "amount": 12, "pan": PAN}, {"id": "t2", "amount": 7}]}
        )
    if path.startswith("/api/features"):
        return JSONResponse(
            [{"customer_id": "c1", "email": "ada@example.com", "ssn": "1", "score": 0.4}]
        )
    if path.startswith("/api/redirect"):
        return Response(status_code=302, headers={"location": "http://169.254.169.254/latest"})
    if path.startswith("/api/slow"):
        await asyncio.sleep(5)
    if path.startswith("/api/text"):
        return Response("plain text " + PAN, media_type="text/plain")
    return JSONResponse({"ok": True, "method": request.method, "path": path})


def build(log: Path) -> Starlette:
    app = Starlette(
        routes=[
            Route("/{path:path}", handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
        ]
    )
    app.state.log = log
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    if args.cert:
        options = {
            "ssl_certfile": args.cert,
            "ssl_keyfile": args.key,
            "ssl_ca_certs": args.ca,
            "ssl_cert_reqs": ssl.CERT_REQUIRED,  # only holders of a CA-signed client cert
        }
    uvicorn.run(
        build(args.log),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        ws="none",
        **options,
    )


if __name__ == "__main__":
    main()
