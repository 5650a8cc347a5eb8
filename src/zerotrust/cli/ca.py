"""``zt ca``: a small internal certificate authority for TLS inside the platform.

``zt ca init`` makes the CA (``ca.pem``, ``ca.key``); ``zt ca issue NAME`` signs a server
certificate (the gateway's listener, an upstream) or a client certificate (the gateway's
identity for mutual TLS to upstreams). Each file is created whole (written beside its
name, then linked into place), private keys mode 0600, certificates 0644; nothing is
ever overwritten.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from zerotrust.cli.common import emit_json, fail, handle_errors
from zerotrust.core.private_files import create_whole

CA_CERT = "ca.pem"
CA_KEY = "ca.key"


def _write_pair(key_path: Path, key_pem: bytes, cert_path: Path, cert_pem: bytes) -> None:
    """Create the key (0600) and its certificate (0644), each whole, refusing to
    overwrite either: if the certificate cannot be created, the key just written is
    removed again, so a failed run leaves nothing behind to block the next one."""
    for path in (key_path, cert_path):
        if path.exists():
            fail(f"{path} exists; refusing to overwrite it", 1)
    if not create_whole(key_path, key_pem, mode=0o600):
        fail(f"{key_path} exists; refusing to overwrite it", 1)
    try:
        created = create_whole(cert_path, cert_pem, mode=0o644)
    except BaseException:
        key_path.unlink(missing_ok=True)
        raise
    if not created:
        key_path.unlink(missing_ok=True)
        fail(f"{cert_path} exists; refusing to overwrite it", 1)


@click.group("ca")
def ca_group() -> None:
    """Internal certificate authority (X.509) for the gateway and upstreams."""


@ca_group.command("init")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".zt/ca"),
    show_default=True,
)
@click.option("--name", default="zerotrust internal CA", show_default=True)
@click.option("--days", default=3650, show_default=True, type=int)
@handle_errors
def init(directory: Path, name: str, days: int) -> None:
    """Create the CA certificate and key in DIR."""
    from zerotrust.crypto.x509ca import create_ca, describe

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (directory / CA_KEY).exists():
        fail(f"{directory / CA_KEY} exists; the CA is already initialised", 1)
    pair = create_ca(name, now=time.time(), days=days)
    _write_pair(directory / CA_KEY, pair.key_pem, directory / CA_CERT, pair.cert_pem)
    emit_json({"ca": str(directory / CA_CERT), **describe(pair.cert_pem)})


@ca_group.command("issue")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".zt/ca"),
    show_default=True,
    help="The CA directory.",
)
@click.option("--dns", multiple=True, help="A DNS name (repeatable).")
@click.option("--ip", "ips", multiple=True, help="An IP address (repeatable).")
@click.option(
    "--usage", type=click.Choice(["server", "client", "both"]), default="server", show_default=True
)
@click.option("--days", default=397, show_default=True, type=int)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to write NAME.pem and NAME.key (default: the CA directory).",
)
@handle_errors
def issue(
    name: str,
    directory: Path,
    dns: tuple[str, ...],
    ips: tuple[str, ...],
    usage: str,
    days: int,
    out: Path | None,
) -> None:
    """Issue a certificate for NAME, signed by the CA."""
    from zerotrust.crypto.x509ca import IssuedPair, Usage, describe
    from zerotrust.crypto.x509ca import issue as issue_cert

    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        fail("NAME: letters, digits, '.', '-' and '_' only", 2)
    try:
        ca = IssuedPair((directory / CA_CERT).read_bytes(), (directory / CA_KEY).read_bytes())
    except OSError:
        fail(f"no CA in {directory}; run zt ca init first", 1)
    chosen: Usage = "client" if usage == "client" else "both" if usage == "both" else "server"
    pair = issue_cert(ca, name, dns=dns, ips=ips, usage=chosen, now=time.time(), days=days)
    target = out or directory
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_pair(target / f"{name}.key", pair.key_pem, target / f"{name}.pem", pair.cert_pem)
    emit_json(
        {
            "cert": str(target / f"{name}.pem"),
            "key": str(target / f"{name}.key"),
            **describe(pair.cert_pem),
        }
    )
