"""Keys: the vault's key-encryption key versions, their age and usage against the
AES-GCM limit, and how far the rewrap to the primary version has come."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from zerotrust.console.runtime import console
from zerotrust.core.errors import Sealed

CRYPTOPERIOD_DAYS = 365  # PCI DSS 3.6.4: the checks in compliance use the same period


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "keys")
    keys = c.svc.vault.keys
    versions = sorted(keys.status(), key=lambda k: -k.version)
    total = sum(k.data_keys for k in versions)
    try:
        pending: int | None = keys.pending_rewrap()
    except Sealed:
        pending = None  # the count needs the unsealed hierarchy
    done = total - pending if pending is not None else None
    return c.render(
        request,
        "keys.html",
        signed,
        versions=versions,
        sealed=c.svc.vault.sealed,
        total=total,
        pending=pending,
        progress=(100.0 * done / total if total and done is not None else 100.0),
        cryptoperiod_days=CRYPTOPERIOD_DAYS,
    )
