"""The control-plane application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from zerotrust import __version__
from zerotrust.api import alerts, audit, auth, authz, devices, me, oauth, problems, records
from zerotrust.api.limits import BodyLimit
from zerotrust.api.policy_guard import ClientAddress, PdpAuthorizer
from zerotrust.console import mount_console
from zerotrust.core.errors import ZTError
from zerotrust.service import Services

log = logging.getLogger("zerotrust.api")


MAINTENANCE_INTERVAL_S = 2.0


def _lifespan(services: Services) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async def upkeep() -> None:
            while True:
                await asyncio.sleep(MAINTENANCE_INTERVAL_S)
                try:
                    await asyncio.to_thread(services.maintain)
                except Exception:  # keep serving on the last good state; say so
                    log.exception("maintenance failed")

        task = asyncio.create_task(upkeep())
        try:
            yield
        finally:
            task.cancel()

    return lifespan


class ControlPlane(FastAPI):
    """The FastAPI application, whose OpenAPI document also defines the problem schema."""

    def openapi(self) -> dict[str, Any]:
        return problems.document(super().openapi())  # cached by FastAPI; idempotent


def create_app(services: Services) -> FastAPI:
    app = ControlPlane(
        lifespan=_lifespan(services),
        title="zerotrust control plane",
        version=__version__,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    app.add_exception_handler(ZTError, problems.zt_error)
    app.add_exception_handler(RequestValidationError, problems.validation_error)
    app.add_exception_handler(StarletteHTTPException, problems.http_error)
    app.add_exception_handler(Exception, problems.unexpected)
    app.add_middleware(BodyLimit, max_bytes=64 * 1024)
    app.add_middleware(ClientAddress)
    app.include_router(auth.router)
    app.include_router(me.router)
    app.include_router(devices.router)
    app.include_router(oauth.router)
    app.include_router(authz.router)
    app.include_router(audit.router)
    app.include_router(records.router)
    app.include_router(alerts.router)
    app.state.vault = services.vault
    app.state.authorize = PdpAuthorizer(services)
    mount_console(app, services)  # the security console at /console

    @app.get("/healthz", tags=["operations"], responses=problems.responses(503))
    def healthz() -> dict[str, Any]:
        """Ready: the database answers (raises StoreUnavailable → 503 otherwise)."""
        services.db.ping()
        return {"status": "ok", "version": __version__}

    @app.get("/.well-known/jwks.json", tags=["authentication"])
    def jwks() -> dict[str, Any]:
        return services.tokens.jwks()

    return app
