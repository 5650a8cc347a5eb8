"""``zt``: initialise, serve and administer zerotrust."""

from __future__ import annotations

import click

from zerotrust import __version__
from zerotrust.cli.agent import agent_group
from zerotrust.cli.audit import audit as audit_group
from zerotrust.cli.ca import ca_group
from zerotrust.cli.common import emit_json, handle_errors, settings
from zerotrust.cli.compliance import dataflow, dsar, report, review
from zerotrust.cli.demo import demo_group
from zerotrust.cli.detect import detect_group
from zerotrust.cli.devices import device_group
from zerotrust.cli.gateway import gateway_group
from zerotrust.cli.policy import authz_group, grant_group, policy_group
from zerotrust.cli.users import service_account_group, tokens_group, user_group
from zerotrust.cli.vault import keys_group, vault_group
from zerotrust.settings import Settings


@click.group()
@click.version_option(__version__, prog_name="zt")
def cli() -> None:
    """zerotrust: Zero Trust security for fintech AI."""


@cli.command()
@handle_errors
def init() -> None:
    """Create the data directory, the root key and the database (idempotent)."""
    from zerotrust.store.database import Database
    from zerotrust.store.migrations import migrate

    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    s.data_dir.chmod(0o700)
    created = _create_root_key(s)
    db = Database(s.effective_database_url)
    try:
        import time

        applied = migrate(db, now=time.time())
    finally:
        db.dispose()
    emit_json(
        {"data_dir": str(s.data_dir), "root_key_created": created, "migrations_applied": applied}
    )


def _create_root_key(s: Settings) -> bool:
    """A root key for a new data directory: an HSM-wrapped one when PKCS#11 is configured,
    a passphrase-protected file when ``ZT_ROOT_PASSPHRASE`` is set, else a 0600 file."""
    import os

    from zerotrust.crypto.providers import FileRootKey
    from zerotrust.service import root_key_provider

    if s.root_key:
        return False
    if os.environ.get("ZT_PKCS11_MODULE") or os.environ.get("ZT_ROOT_PASSPHRASE"):
        provider = root_key_provider(s)
        create = getattr(provider, "create", None)
        return bool(create()) if create is not None else False
    return FileRootKey(s.data_dir / "root.key").create()


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
    # X-Forwarded-For is read only when the peer is one of ZT_TRUSTED_PROXIES (none by
    # default); from anyone else it is attacker-controlled text (ASVS 4.1.3, 15.3.4).
    proxies = list(s.trusted_proxies)
    uvicorn.run(
        app,
        host=host or s.host,
        port=port or s.port,
        log_level=s.log_level,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
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
cli.add_command(audit_group)
cli.add_command(keys_group)
cli.add_command(demo_group)
cli.add_command(vault_group)
cli.add_command(ca_group)
cli.add_command(gateway_group)
cli.add_command(tokens_group)
for _command in (dataflow, report, review, dsar):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="zt")


__all__ = ["cli", "emit_json", "main"]
