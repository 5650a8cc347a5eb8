"""``zt``: initialise, serve and administer zerotrust."""

from __future__ import annotations

import click

from zerotrust import __version__
from zerotrust.cli.agent import agent_group
from zerotrust.cli.common import emit_json, handle_errors, settings
from zerotrust.cli.detect import detect_group
from zerotrust.cli.devices import device_group
from zerotrust.cli.policy import authz_group, grant_group, policy_group
from zerotrust.cli.users import service_account_group, user_group


@click.group()
@click.version_option(__version__, prog_name="zt")
def cli() -> None:
    """zerotrust: Zero Trust security for fintech AI."""


@cli.command()
@handle_errors
def init() -> None:
    """Create the data directory, the root key and the database (idempotent)."""
    from zerotrust.crypto.providers import FileRootKey
    from zerotrust.store.database import Database
    from zerotrust.store.migrations import migrate

    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    s.data_dir.chmod(0o700)
    created = False if s.root_key else FileRootKey(s.data_dir / "root.key").create()
    db = Database(s.effective_database_url)
    try:
        import time

        applied = migrate(db, now=time.time())
    finally:
        db.dispose()
    emit_json(
        {"data_dir": str(s.data_dir), "root_key_created": created, "migrations_applied": applied}
    )


@cli.command()
@click.option("--host", default=None, help="Listen address (default from ZT_HOST).")
@click.option("--port", default=None, type=int, help="Listen port (default from ZT_PORT).")
@handle_errors
def serve(host: str | None, port: int | None) -> None:
    """Serve the control-plane API."""
    import uvicorn

    from zerotrust.api.app import create_app
    from zerotrust.service import build_services

    s = settings()
    svc = build_services(s)
    app = create_app(svc)
    uvicorn.run(
        app,
        host=host or s.host,
        port=port or s.port,
        log_level=s.log_level,
        proxy_headers=False,
        server_header=False,
    )


cli.add_command(user_group)
cli.add_command(service_account_group)
cli.add_command(device_group)
cli.add_command(agent_group)
cli.add_command(policy_group)
cli.add_command(authz_group)
cli.add_command(grant_group)
cli.add_command(detect_group)


def main() -> None:
    cli(prog_name="zt")


__all__ = ["cli", "emit_json", "main"]
