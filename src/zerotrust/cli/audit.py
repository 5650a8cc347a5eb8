"""``zt audit``: checkpoints, verification, proofs and exports of the tamper-evident log.

Every failure is one line on stderr and a non-zero exit (1: the check failed or the
input is wrong; 2: usage), never a traceback. The checkpoint signing key is a PKCS#8 file
``<data-dir>/audit-signing.key`` (mode 0600, created on first ``checkpoint``); checkpoints
are exported to ``<data-dir>/checkpoints/latest.txt`` and ``history/``, and the public
verifier key witnesses need to ``<data-dir>/checkpoints/audit.vkey``.
"""

from __future__ import annotations

import base64
import functools
import getpass
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from zerotrust.audit.checkpoint import (
    DEFAULT_ORIGIN,
    Checkpoint,
    CheckpointDirectory,
    NoteSigner,
    NoteVerifier,
)
from zerotrust.audit.export import FORMATS, Format, export_lines
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.audit.keyfile import KEY_FILE, load_signing_key
from zerotrust.audit.log import AuditLog
from zerotrust.audit.verify import LogTampered, verify_log
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import SystemClock
from zerotrust.core.errors import NotFound, ZTError
from zerotrust.crypto.signing import SigningKey
from zerotrust.store.audit_log import SqlAuditStore
from zerotrust.store.database import Database

F = TypeVar("F", bound=Callable[..., Any])
VKEY_FILE = "audit.vkey"


class Failed(click.ClickException):
    """A check or an input failed: one line, exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)  # as every zt command


def _fail_closed(fn: F) -> F:
    """Turn every error into one line and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ZTError as exc:
            raise Failed(f"{exc.detail} ({exc.code})") from None
        except Exception as exc:  # the last line of defence: no tracebacks at the edge
            raise Failed(f"unexpected {type(exc).__name__}: {exc}".splitlines()[0]) from None

    return cast(F, wrapper)


def _common(fn: F) -> F:
    fn = click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        envvar="ZT_DATA_DIR",
        default=Path(".zt"),
        show_default=True,
        help="Holds the signing key and exported checkpoints.",
    )(fn)
    fn = click.option(
        "--database-url",
        envvar="ZT_DATABASE_URL",
        default=None,
        help="Default: sqlite:///<data-dir>/zerotrust.db.",
    )(fn)
    return _fail_closed(fn)


@contextmanager
def _store(database_url: str | None, data_dir: Path, *, create: bool) -> Iterator[SqlAuditStore]:
    url = database_url or f"sqlite:///{data_dir / 'zerotrust.db'}"
    db = Database(url)
    try:
        if db.is_sqlite and not create:
            path = db.url.database
            if path and path != ":memory:" and not Path(path).is_file():
                raise Failed(f"no database at {path}")
        yield SqlAuditStore(db, create=True)
    finally:
        db.dispose()


def _load_key(data_dir: Path, *, create: bool) -> SigningKey:
    try:
        return load_signing_key(data_dir / KEY_FILE, create=create)
    except NotFound:
        raise Failed(
            f"no signing key at {data_dir / KEY_FILE}; pass --public-key or run "
            "`zt audit checkpoint` first"
        ) from None


def _verifier(data_dir: Path, public_key: str | None) -> NoteVerifier:
    if public_key is None:
        return NoteSigner(_load_key(data_dir, create=False)).verifier()
    text = public_key
    if "+" not in public_key or Path(public_key).is_file():
        text = Path(public_key).read_text(encoding="utf-8").strip()
    return NoteVerifier.from_vkey(text)


@click.group(name="audit")
def audit() -> None:
    """The tamper-evident audit log: checkpoints, verification, proofs, exports."""


@audit.command()
@_common
def checkpoint(database_url: str | None, data_dir: Path) -> None:
    """Sign the log's current tree head and export it outside the database."""
    signer = NoteSigner(_load_key(data_dir, create=True), name=DEFAULT_ORIGIN)
    exports = CheckpointDirectory(data_dir / "checkpoints")
    with _store(database_url, data_dir, create=True) as store:
        signed = AuditLog(store, clock=SystemClock(), signer=signer, exports=[exports]).checkpoint()
    (exports.path / VKEY_FILE).write_text(signer.vkey + "\n", encoding="utf-8")
    click.echo(signed.note, nl=False)
    click.echo(f"wrote {exports.latest_path}", err=True)


@audit.command()
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(path_type=Path),
    help="Verify against this checkpoint (default: every exported one).",
)
@click.option("--public-key", help="Verifier key (name+hash+key) or a file holding it.")
@_common
def verify(
    database_url: str | None, data_dir: Path, checkpoint_file: Path | None, public_key: str | None
) -> None:
    """Recompute the log and check it against signed checkpoints; exit 1 on any failure."""
    verifier = _verifier(data_dir, public_key)
    checkpoints = _checkpoints(verifier, data_dir, checkpoint_file)
    with _store(database_url, data_dir, create=False) as store:
        try:
            result = verify_log(store, checkpoints)
        except LogTampered as exc:
            raise Failed(f"verify FAILED: {exc.detail}") from None
    click.echo(
        f"verify OK: {result.size} entries, root {_b64(result.root)}, consistent "
        f"with {result.checkpoints} signed checkpoint(s) up to size "
        f"{result.checkpoint_size}"
    )


def _checkpoints(verifier: NoteVerifier, data_dir: Path, file: Path | None) -> list[Checkpoint]:
    if file is not None:
        notes = [(str(file), _read(file))]
    else:
        folder = CheckpointDirectory(data_dir / "checkpoints")
        notes = [(str(folder.latest_path), n) for n in (folder.latest(),) if n is not None]
        notes += [("history", n) for n in folder.history()]
    if not notes:
        raise Failed(
            "no signed checkpoint to verify against; pass --checkpoint or run `zt audit checkpoint`"
        )
    out, seen = [], set()
    for name, note in notes:
        if note in seen:  # latest.txt is also in history/
            continue
        seen.add(note)
        try:
            out.append(verifier.open(note))
        except ZTError as exc:
            raise Failed(f"checkpoint {name}: {exc.detail}") from None
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Failed(f"cannot read {path}: {exc}") from None


@audit.command()
@click.option("--seq", type=click.IntRange(min=0), help="Prove this entry is in the log.")
@click.option("--size", type=click.IntRange(min=1), help="Tree size (default: latest checkpoint).")
@click.option(
    "--consistency",
    nargs=2,
    type=click.IntRange(min=1),
    metavar="A B",
    help="Prove the tree of size B extends the tree of size A.",
)
@_common
def proof(
    database_url: str | None,
    data_dir: Path,
    seq: int | None,
    size: int | None,
    consistency: tuple[int, int] | None,
) -> None:
    """Print an inclusion or consistency proof as JSON (hashes in base64)."""
    if (seq is None) == (not consistency):
        raise click.UsageError("give exactly one of --seq N or --consistency A B")
    with _store(database_url, data_dir, create=False) as store:
        log = AuditLog(store, clock=SystemClock())
        if consistency:
            out = log.consistency_proof(*consistency).to_json()
        else:
            out = log.inclusion_proof(int(seq or 0), size).to_json()
    click.echo(json.dumps(out, indent=2))


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry, e.g. in a container
        return f"uid:{os.getuid()}"


_RELATIVE = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _parse_since(text: str, now: datetime) -> float:
    """``2024-05-01``, ``2024-05-01T12:00:00Z`` (naive means UTC) or ``24h``/``7d``/``30m``."""
    match = _RELATIVE.fullmatch(text)
    if match:
        return (now - timedelta(**{_UNITS[match[2]]: int(match[1])})).timestamp()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601 (2024-05-01T12:00:00Z) or 24h, 7d, 30m", param_hint="--since"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@audit.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--since", help="Only entries stamped at or after this time.")
@click.option("--from-seq", type=click.IntRange(min=0), help="Only entries from this seq on.")
@_common
def export(
    database_url: str | None, data_dir: Path, fmt: str, since: str | None, from_seq: int | None
) -> None:
    """Stream entries as JSON lines, OCSF events or CEF lines (for syslog)."""
    clock = SystemClock()
    where = EntryFilter(
        since=_parse_since(since, datetime.now(UTC)) if since else None,
        after_seq=from_seq - 1 if from_seq else None,
    )
    with _store(database_url, data_dir, create=False) as store:
        # Reading the log is itself audited, before anything is read (fail closed).
        AuditLog(store, clock=clock).append(
            AuditRecord(
                action="audit.export",
                actor=f"cli:{_os_user()}",
                outcome="success",
                details={"format": fmt, "since": since, "from_seq": from_seq},
            )
        )
        for line in export_lines(store, cast(Format, fmt), where):
            click.echo(line)
