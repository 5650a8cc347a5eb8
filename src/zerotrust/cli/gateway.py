"""``zt gateway serve``: run the policy enforcement point in front of protected services."""

from __future__ import annotations

from pathlib import Path

import click

from zerotrust.cli.common import handle_errors, settings


@click.group("gateway")
def gateway_group() -> None:
    """The Zero Trust gateway (policy enforcement point)."""


@gateway_group.command("serve")
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The routes file (docs/gateway.md).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option("--port", default=8443, show_default=True, type=int, help="Listen port.")
@click.option("--tls-cert", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--tls-key", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option(
    "--cases",
    "cases_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="JSON of support agent id -> customer id, binding support sessions to a case.",
)
@handle_errors
def serve(
    config_file: Path,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    cases_file: Path | None,
) -> None:
    """Serve the gateway: every request verified, decided, forwarded and audited.

    Identity, devices, policies (``ZT_POLICY_DIR``), counters and the audit log come from
    the same settings as ``zt serve`` (``ZT_*``, ``zt.toml``); replicas share them.
    """
    import uvicorn

    from zerotrust.gateway import logs
    from zerotrust.gateway.app import create_gateway
    from zerotrust.gateway.cases import FileCases
    from zerotrust.gateway.routes_file import load_config
    from zerotrust.gateway.server import uvicorn_config
    from zerotrust.gateway.tls import listener_options
    from zerotrust.service import build_services

    config = load_config(config_file)  # a bad file stops here, before any key is touched
    tls = listener_options(tls_cert, tls_key)
    s = settings()
    logs.configure(s.log_level)
    services = build_services(s)
    app = create_gateway(
        services,
        services.pdp,
        config,
        tokenizer=services.vault.tokenizer(),
        cases=FileCases(cases_file) if cases_file is not None else None,
    )
    server = uvicorn.Server(
        uvicorn_config(
            app,
            host=host,
            port=port,
            max_header_bytes=config.max_header_bytes,
            header_timeout_s=config.header_timeout_s,
            log_level=s.log_level,
            tls=tls,
        )
    )
    try:
        server.run()
    finally:
        services.close()
