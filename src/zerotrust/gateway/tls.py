"""TLS in transit: the gateway's listener, HSTS, and mutual TLS to upstreams.

Certificates come from ``zt ca`` (``crypto.x509ca``). Upstream connections verify the
upstream's certificate against the configured CA and present the gateway's client
certificate, so a service configured to require it accepts the gateway and nothing else.
TLS 1.2 is the floor in both directions.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from zerotrust.core.errors import ConfigError
from zerotrust.gateway.config import UpstreamTls


def upstream_context(tls: UpstreamTls) -> ssl.SSLContext:
    """A client context that verifies the upstream and presents the gateway's certificate."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls.cert_file is not None and tls.key_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"upstream TLS files could not be loaded ({exc.__class__.__name__})"
        ) from None
    return context


def listener_options(
    cert_file: Path | None, key_file: Path | None, *, client_ca: Path | None = None
) -> dict[str, Any]:
    """uvicorn's TLS settings for the listener (empty for plain HTTP)."""
    if cert_file is None and key_file is None:
        return {}
    if cert_file is None or key_file is None:
        raise ConfigError("--tls-cert and --tls-key go together")
    for path in (cert_file, key_file, client_ca):
        if path is not None and not path.is_file():
            raise ConfigError(f"no such file {path}")
    options: dict[str, Any] = {"ssl_certfile": str(cert_file), "ssl_keyfile": str(key_file)}
    if client_ca is not None:
        options |= {"ssl_ca_certs": str(client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def hsts_value(max_age_s: int) -> bytes:
    """RFC 6797 ``Strict-Transport-Security``, sent on every answer over TLS."""
    return f"max-age={max_age_s}; includeSubDomains".encode("ascii")
