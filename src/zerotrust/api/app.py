"""The control-plane application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from zerotrust import __version__
from zerotrust.api import auth, devices, me, oauth, problems
from zerotrust.api.limits import BodyLimit
from zerotrust.core.errors import ZTError
from zerotrust.service import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="zerotrust control plane", version=__version__, docs_url="/docs", redoc_url=None
    )
    app.state.services = services
    app.add_exception_handler(ZTError, problems.zt_error)
    app.add_exception_handler(RequestValidationError, problems.validation_error)
    app.add_exception_handler(StarletteHTTPException, problems.http_error)
    app.add_exception_handler(Exception, problems.unexpected)
    app.add_middleware(BodyLimit, max_bytes=64 * 1024)
    app.include_router(auth.router)
    app.include_router(me.router)
    app.include_router(devices.router)
    app.include_router(oauth.router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, Any]:
        """Ready: the database answers (raises StoreUnavailable → 503 otherwise)."""
        services.db.ping()
        return {"status": "ok", "version": __version__}

    @app.get("/.well-known/jwks.json", tags=["authentication"])
    def jwks() -> dict[str, Any]:
        return services.tokens.jwks()

    return app
