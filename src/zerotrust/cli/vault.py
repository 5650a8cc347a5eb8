"""``zt keys`` and ``zt vault``: rotation, rewrap, key status, erasure and the seal check.

Every command reads ``--data-dir`` (``ZT_DATA_DIR``, default ``.zt``) and
``--database-url`` (``ZT_DATABASE_URL``, default ``sqlite:///<data dir>/zerotrust.db``).
The root key comes from ``ZT_ROOT_KEY``, a PKCS#11 token (``ZT_PKCS11_MODULE``,
``ZT_PKCS11_TOKEN``, ``ZT_PKCS11_PIN``, optional ``ZT_PKCS11_KEY_LABEL``), an existing
``root.key``, or the passphrase file ``root.key.enc`` unlocked by ``ZT_ROOT_PASSPHRASE``.
Bad input and refusals print one ``error: …`` line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import click

from zerotrust.core.auditing import AuditRecorder
from zerotrust.core.clock import SystemClock, iso_utc
from zerotrust.core.errors import ZTError
from zerotrust.crypto.providers import (
    provider_from_env,
)
from zerotrust.vault.models import DEFAULT_TENANT
from zerotrust.vault.rewrap import MAX_BATCH
from zerotrust.vault.services import Vault, build_vault

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class _Command(click.Command):
    """A command whose usage errors are one ``error:`` line (exit 2), not a usage dump."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _fail(exc.format_message(), 2)


class _Group(click.Group):
    command_class = _Command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _fail(exc.format_message(), 2)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            _fail(exc.format_message(), 2)


def _errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ZTError as exc:
            _fail(f"{exc.detail} ({exc.code})")
        except OSError as exc:
            _fail(f"{exc.strerror or exc} ({type(exc).__name__})")

    return cast(F, wrapper)


def _location(fn: F) -> F:
    fn = click.option(
        "--database-url",
        envvar="ZT_DATABASE_URL",
        default="",
        help="Database URL (default sqlite:///<data dir>/zerotrust.db).",
    )(fn)
    return click.option(
        "--data-dir",
        envvar="ZT_DATA_DIR",
        default=".zt",
        type=click.Path(path_type=Path, file_okay=False),
        help="Data directory (ZT_DATA_DIR).",
    )(fn)


def _audit_log(data_dir: Path, db: Any) -> AuditRecorder:
    """Key operations and erasures go to the product's tamper-evident log."""
    from zerotrust.service import build_audit_log
    from zerotrust.settings import load_settings

    return build_audit_log(replace(load_settings(), data_dir=data_dir), db, SystemClock())


@contextmanager
def open_vault(
    data_dir: Path, database_url: str, *, unseal: bool = True, audit: AuditRecorder | None = None
) -> Iterator[Vault]:
    """A vault over the data directory's database; ``Sealed`` if it cannot be unsealed."""
    from zerotrust.store.database import Database
    from zerotrust.store.vault_repo import SqlVaultKeys, SqlVaultRecords, create_tables

    url = database_url or f"sqlite:///{data_dir / 'zerotrust.db'}"
    if not url.startswith(("sqlite:", "postgresql")):
        _fail("--database-url: only sqlite:// and postgresql:// are supported", 2)
    if not database_url and not data_dir.is_dir():
        _fail(f"data directory {data_dir} not found; run `zt init` first", 2)
    db = Database(url)
    try:
        create_tables(db)
        vault = build_vault(
            provider=provider_from_env(data_dir, os.environ),
            key_repo=SqlVaultKeys(db),
            record_repo=SqlVaultRecords(db),
            audit=audit or _audit_log(data_dir, db),
            clock=SystemClock(),
            unseal=False,
        )
        if unseal:
            vault.unseal()
        yield vault
    finally:
        db.dispose()


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@click.group("keys", cls=_Group)
def keys_group() -> None:
    """Vault keys: rotate, rewrap, status, delete old versions."""


@keys_group.command("rotate")
@_location
@_errors
def keys_rotate(data_dir: Path, database_url: str) -> None:
    """Make a new KEK version primary; old versions keep decrypting."""
    with open_vault(data_dir, database_url) as vault:
        version = vault.keys.rotate(actor="cli")
        _emit({"primary": version, "pending_rewrap": vault.keys.pending_rewrap()})


@keys_group.command("rewrap")
@_location
@click.option(
    "--batch",
    default=1000,
    type=click.IntRange(1, MAX_BATCH),
    show_default=True,
    help="Keys per batch.",
)
@click.option(
    "--pause", default=0.0, type=click.FloatRange(0, 60), help="Seconds to wait between batches."
)
@_errors
def keys_rewrap(data_dir: Path, database_url: str, batch: int, pause: float) -> None:
    """Rewrap every data key to the primary KEK version (resumable, idempotent)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from zerotrust.vault.rewrap import rewrap

    with (
        open_vault(data_dir, database_url) as vault,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        ) as bar,
    ):
        task = bar.add_task("rewrap", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = rewrap(vault.keys, batch=batch, progress=progress, pause_s=pause)
    _emit({"rewrapped": report.rewrapped, "remaining": report.remaining, "passes": report.passes})


@keys_group.command("status")
@_location
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_errors
def keys_status(data_dir: Path, database_url: str, as_json: bool) -> None:
    """KEK versions: age, usage, and how many data keys still depend on each."""
    with open_vault(data_dir, database_url, unseal=False) as vault:
        rows = vault.keys.status()
    if as_json:
        _emit([row.__dict__ for row in rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("version", "primary", "created", "age (days)", "usage", "data keys")
    for r in rows:
        table.add_row(
            str(r.version),
            "yes" if r.primary else "",
            iso_utc(r.created_at),
            f"{r.age_s / 86400:.1f}",
            f"{r.usage:,} / {r.usage_limit:,}",
            f"{r.data_keys:,}",
        )
    Console().print(table)


@keys_group.command("delete-version")
@_location
@click.argument("version", type=int)
@_errors
def keys_delete_version(data_dir: Path, database_url: str, version: int) -> None:
    """Delete an old KEK version; refused while any data key still depends on it."""
    with open_vault(data_dir, database_url) as vault:
        vault.keys.delete_version(version, actor="cli")
    _emit({"deleted": version})


@click.group("vault", cls=_Group)
def vault_group() -> None:
    """The vault: erase a data subject, check the seal."""


@vault_group.command("erase")
@_location
@click.argument("subject")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@_errors
def vault_erase(data_dir: Path, database_url: str, subject: str, tenant: str) -> None:
    """Crypto-shred SUBJECT: destroy their data key; their records read as erased."""
    if not 1 <= len(subject) <= 128 or not subject.isprintable():
        _fail("SUBJECT: 1 to 128 printable characters", 2)
    with open_vault(data_dir, database_url) as vault:
        erasure = vault.records.erase(subject, actor="cli", tenant=tenant)
    _emit(erasure.__dict__)


@vault_group.command("seal-check")
@_location
@_errors
def vault_seal_check(data_dir: Path, database_url: str) -> None:
    """Try to unseal with the configured root key; exit 1 if the vault stays sealed."""
    started = time.perf_counter()
    with open_vault(data_dir, database_url) as vault:
        versions = vault.keys.status()
    _emit(
        {
            "sealed": False,
            "kek_versions": len(versions),
            "primary": max((v.version for v in versions), default=None),
            "unseal_ms": round((time.perf_counter() - started) * 1000, 1),
        }
    )


if __name__ == "__main__":  # pragma: no cover - `python -m zerotrust.cli.vault keys …`
    _root = click.Group("zt-vault", commands=[keys_group, vault_group])
    _root(prog_name="zt")
