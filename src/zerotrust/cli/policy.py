"""``zt policy``, ``zt authz`` and ``zt grant``: policies as code, decisions, JIT grants.

Every command prints JSON or one line per item on stdout, and a bad input ends with one
``error: …`` line on stderr and a non-zero exit — never a traceback. A decision of any
effect is a success (exit 0); a failing policy test or, with ``--fail-on-flip``, a
what-if flip exits 1.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, NoReturn, TypeVar, cast

import click

from zerotrust.core.auditing import AuditRecorder
from zerotrust.core.clock import SystemClock
from zerotrust.core.errors import InvalidInput, ZTError

if TYPE_CHECKING:
    from zerotrust.policy.grants import Grant, GrantService, GrantView
    from zerotrust.policy.store import PolicyBundle
    from zerotrust.policy.whatif import Flip, WhatIfReport
    from zerotrust.store.database import Database

F = TypeVar("F", bound=Callable[..., Any])
AuditFactory = Callable[["Database"], AuditRecorder]

MAX_REQUEST_BYTES: Final = 1 << 20
DEFAULT_DATABASE_URL: Final = "sqlite:///.zt/zerotrust.db"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(1)


def cli_errors(fn: F) -> F:
    """One ``error:`` line and exit 1 for any failure; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ZTError as exc:
            _fail(f"{exc.detail} ({exc.code})")
        except OSError as exc:
            _fail(f"{exc.filename or 'file'}: {exc.strerror or 'cannot be read'}")
        except Exception as exc:  # the CLI's boundary: report, never dump a traceback
            _fail(f"unexpected {type(exc).__name__}")

    return cast(F, wrapper)


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def _bundle(directory: Path | None) -> PolicyBundle:
    from zerotrust.policy.store import load_default, load_dir

    return load_default() if directory is None else load_dir(directory)


_policies_option = click.option(
    "--policies",
    "policies_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Policy directory (default: the packaged default pack).",
)


# -- zt policy ------------------------------------------------------------------------


@click.group("policy")
def policy_group() -> None:
    """Validate, test and replay policy sets."""


@policy_group.command("validate")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@cli_errors
def policy_validate(directory: Path | None) -> None:
    """Parse DIRECTORY's policies and validate them against its schema."""
    bundle = _bundle(directory)
    if bundle.is_empty:
        raise InvalidInput("no policies: an empty set denies everything and is never loaded")
    click.echo(f"ok: {len(bundle)} policies valid against the schema, version {bundle.version}")


@policy_group.command("test")
@click.argument("cases_file", type=click.Path(dir_okay=False, path_type=Path))
@_policies_option
@cli_errors
def policy_test(cases_file: Path, policies_dir: Path | None) -> None:
    """Run a YAML table of requests and expected decisions."""
    from zerotrust.policy.cases import load_cases, run_cases

    results = run_cases(_bundle(policies_dir), load_cases(cases_file.read_text("utf-8")))
    for result in results:
        status = "PASS" if result.passed else "FAIL"
        detail = f": {'; '.join(result.problems)}" if result.problems else ""
        click.echo(f"{status} {result.case.name}{detail}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


@policy_group.command("whatif")
@click.option(
    "--policies",
    "policies_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The proposed policy directory.",
)
@click.option(
    "--decisions",
    "log",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Recorded decisions, JSON lines.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--fail-on-flip", is_flag=True, help="Exit 1 if any decision would flip.")
@cli_errors
def policy_whatif(policies_dir: Path, log: Path, as_json: bool, fail_on_flip: bool) -> None:
    """List every recorded decision that would flip under the proposed policies."""
    from zerotrust.policy.whatif import read_log, replay

    bundle = _bundle(policies_dir)
    with log.open(encoding="utf-8") as lines:
        report = replay(bundle, read_log(lines))
    if as_json:
        _emit(_whatif_json(report))
    else:
        for flip in report.flips:
            r = flip.request
            click.echo(
                f"line {flip.line}: {json.dumps(r.principal.id)} {r.action} "
                f"{r.resource.type}:{json.dumps(r.resource.id)}: {flip.before.effect} -> "
                f"{flip.after.effect} ({', '.join(flip.after.reasons)})"
            )
        click.echo(
            f"{report.total} decisions replayed, {len(report.flips)} would flip, "
            f"{len(report.reason_changes)} keep their effect with other reasons"
        )
    if fail_on_flip and report.flips:
        sys.exit(1)


def _whatif_json(report: WhatIfReport) -> dict[str, Any]:
    from zerotrust.policy.model import decision_to_json, request_to_json

    def flip(f: Flip) -> dict[str, Any]:
        return {
            "line": f.line,
            "request": request_to_json(f.request),
            "before": decision_to_json(f.before),
            "after": decision_to_json(f.after),
        }

    return {
        "version": report.version,
        "total": report.total,
        "flips": [flip(f) for f in report.flips],
        "reason_changes": [flip(f) for f in report.reason_changes],
    }


# -- zt authz -------------------------------------------------------------------------


@click.group("authz")
def authz_group() -> None:
    """Ask the policy decision point."""


@authz_group.command("check")
@click.option(
    "--request",
    "request_file",
    type=click.File("r", encoding="utf-8"),
    default="-",
    help="Request JSON file, or - for stdin (the default).",
)
@_policies_option
@click.option("--explain", is_flag=True, help="Print a readable explanation instead of JSON.")
@click.option(
    "--database-url",
    default=None,
    help="Consult just-in-time grants in this database (default: no grants).",
)
@cli_errors
def authz_check(
    request_file: IO[str], policies_dir: Path | None, explain: bool, database_url: str | None
) -> None:
    """Decide one request; exit 0 whatever the effect."""
    from zerotrust.policy.explain import explain as explain_decision
    from zerotrust.policy.model import decision_to_json, request_from_json
    from zerotrust.policy.pdp import PolicyDecisionPoint

    request = request_from_json(_read_json(request_file))
    bundle = _bundle(policies_dir)
    with _grant_view(database_url) as grants:
        decision = PolicyDecisionPoint(bundle, grants=grants).decide(request)
    click.echo(explain_decision(decision, bundle) if explain else _json(decision_to_json(decision)))


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)


def _read_json(stream: IO[str]) -> Any:
    text = stream.read(MAX_REQUEST_BYTES + 1)
    if len(text) > MAX_REQUEST_BYTES:
        raise InvalidInput("request: larger than 1 MiB")
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput("request: not valid JSON") from None


@contextmanager
def _grant_view(database_url: str | None) -> Iterator[GrantView | None]:
    if database_url is None:
        yield None
        return
    from zerotrust.policy.grants import RepoGrantView

    with _database(database_url) as db:
        from zerotrust.store.grants import SqlGrants

        yield RepoGrantView(SqlGrants(db))


# -- zt grant -------------------------------------------------------------------------

_database_option = click.option(
    "--database-url",
    envvar="ZT_DATABASE_URL",
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    help="Database holding the grants (env ZT_DATABASE_URL).",
)


@click.group("grant")
def grant_group() -> None:
    """Just-in-time grants: request, approve (by someone else), deny, list, revoke."""


@grant_group.command("request")
@click.option("--principal", "principal_id", required=True, help="Who the grant is for.")
@click.option("--principal-type", default="User", type=click.Choice(["User", "ServiceAccount"]))
@click.option("--action", required=True, help="The one action granted, e.g. read.")
@click.option("--resource-type", required=True, help="e.g. Database.")
@click.option("--resource-id", required=True, help="The one resource granted.")
@click.option("--duration", required=True, help="How long once approved: 2h, 90m, 1h30m.")
@click.option("--justification", required=True, help="Why (a ticket or incident).")
@_database_option
@cli_errors
def grant_request(
    principal_id: str,
    principal_type: str,
    action: str,
    resource_type: str,
    resource_id: str,
    duration: str,
    justification: str,
    database_url: str,
) -> None:
    """File a request; it grants nothing until a second person approves it."""
    with _grant_service(database_url) as service:
        grant = service.request(
            principal_id=principal_id,
            principal_type=principal_type,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            duration_s=parse_duration(duration),
            justification=justification,
        )
        _emit(_grant_json(grant, service))


@grant_group.command("approve")
@click.argument("grant_id")
@click.option("--approver", required=True, help="Who approves (not the grantee).")
@_database_option
@cli_errors
def grant_approve(grant_id: str, approver: str, database_url: str) -> None:
    """Approve a pending request; the clock starts now."""
    with _grant_service(database_url) as service:
        _emit(_grant_json(service.approve(grant_id, approver=approver), service))


@grant_group.command("deny")
@click.argument("grant_id")
@click.option("--approver", required=True, help="Who refuses.")
@_database_option
@cli_errors
def grant_deny(grant_id: str, approver: str, database_url: str) -> None:
    """Refuse a pending request."""
    with _grant_service(database_url) as service:
        _emit(_grant_json(service.deny(grant_id, approver=approver), service))


@grant_group.command("revoke")
@click.argument("grant_id")
@click.option("--by", "revoker", required=True, help="Who revokes.")
@_database_option
@cli_errors
def grant_revoke(grant_id: str, revoker: str, database_url: str) -> None:
    """End a pending or active grant now."""
    with _grant_service(database_url) as service:
        _emit(_grant_json(service.revoke(grant_id, by=revoker), service))


@grant_group.command("list")
@click.option("--principal", "principal_id", default=None, help="Only this grantee.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["pending", "approved", "denied", "revoked", "expired"]),
    help="Only these stored statuses (repeatable).",
)
@_database_option
@cli_errors
def grant_list(principal_id: str | None, statuses: tuple[str, ...], database_url: str) -> None:
    """List grants with their state as of now."""
    with _grant_service(database_url) as service:
        grants = service.find(principal_id=principal_id, statuses=cast(Any, statuses) or None)
        _emit([_grant_json(g, service) for g in grants])


@grant_group.command("expire-due")
@_database_option
@cli_errors
def grant_expire_due(database_url: str) -> None:
    """Record grants whose time is up as expired (access already ended at expiry)."""
    with _grant_service(database_url) as service:
        _emit([_grant_json(g, service) for g in service.expire_due()])


def parse_duration(text: str) -> int:
    """``2h``, ``90m``, ``1h30m``, ``45s`` or plain seconds."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise InvalidInput("duration: expected e.g. 2h, 90m, 1h30m or 3600")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@contextmanager
def _database(url: str) -> Iterator[Database]:
    from zerotrust.store.database import Database
    from zerotrust.store.grants import jit_grants

    _ensure_sqlite_dir(url)
    db = Database(url)
    try:
        jit_grants.create(db.engine, checkfirst=True)
        yield db
    finally:
        db.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def _grant_service(database_url: str) -> Iterator[GrantService]:
    from zerotrust.policy.grants import GrantService
    from zerotrust.store.grants import SqlGrants

    with _database(database_url) as db:
        yield GrantService(SqlGrants(db), audit=_audit_for(db), clock=SystemClock())


def _audit_for(db: Database) -> AuditRecorder:
    """The product's tamper-evident log (signing key and checkpoints in ``ZT_DATA_DIR``);
    tests may pass ``obj={"audit_factory": fn}`` instead."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(dict) if ctx is not None else None
    factory = cast(AuditFactory | None, (obj or {}).get("audit_factory"))
    if factory is not None:
        return factory(db)
    from zerotrust.core.clock import SystemClock
    from zerotrust.service import build_audit_log
    from zerotrust.settings import load_settings

    return build_audit_log(load_settings(), db, SystemClock())


def _grant_json(grant: Grant, service: GrantService) -> dict[str, Any]:
    import dataclasses

    data = dataclasses.asdict(grant)
    data["state"] = grant.state(SystemClock().now(), request_ttl_s=service.request_ttl_s)
    return data


__all__ = ["authz_group", "grant_group", "parse_duration", "policy_group"]
