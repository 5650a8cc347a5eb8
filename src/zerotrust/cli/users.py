"""``zt user`` and ``zt service-account``: provisioning principals."""

from __future__ import annotations

import sys
from typing import Any

import click

from zerotrust.cli.common import emit_json, handle_errors, open_services
from zerotrust.core.errors import InvalidInput
from zerotrust.identity.models import Principal


def principal_json(p: Principal, methods: tuple[str, ...] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": p.id,
        "kind": p.kind,
        "name": p.name,
        "display_name": p.display_name,
        "status": p.status,
        "roles": list(p.roles),
    }
    if p.kind == "service":
        data |= {"workload_kind": p.workload_kind, "purposes": list(p.purposes)}
    else:
        data["mfa_methods"] = list(methods)
    return data


@click.group("user")
def user_group() -> None:
    """Manage people who sign in."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, help="Role to assign (repeatable).")
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the initial password from stdin.")
@click.option("--enroll-totp", is_flag=True, help="Provision TOTP and print its otpauth:// URI.")
@click.option("--recovery-codes", is_flag=True, help="Generate and print 10 recovery codes.")
@handle_errors
def user_add(
    name: str,
    roles: tuple[str, ...],
    display_name: str | None,
    password_stdin: bool,
    enroll_totp: bool,
    recovery_codes: bool,
) -> None:
    """Create a user; prints the user (and provisioning secrets) as JSON."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with open_services() as svc:
        user = svc.admin.create_user(
            name, roles=roles, password=password, display_name=display_name, actor="cli"
        )
        out = principal_json(user)
        if enroll_totp:
            secret, uri = svc.admin.enroll_totp(user, actor="cli", active=True)
            out["totp"] = {"otpauth_uri": uri, "secret": secret}
        if recovery_codes:
            out["recovery_codes"] = svc.admin.new_recovery_codes(user, actor="cli")
        out["mfa_methods"] = list(svc.authenticator.methods(user.id))
        emit_json(out)


@user_group.command("list")
@handle_errors
def user_list() -> None:
    """List users."""
    with open_services() as svc:
        emit_json(
            [
                principal_json(p, svc.authenticator.methods(p.id))
                for p in svc.principals.list("user")
            ]
        )


@user_group.command("show")
@click.argument("name")
@handle_errors
def user_show(name: str) -> None:
    """Show one user with MFA methods and sessions."""
    with open_services() as svc:
        p = svc.admin.get(name)
        out = principal_json(p, svc.authenticator.methods(p.id))
        out["sessions"] = [
            {
                "id": s.id,
                "aal": s.aal,
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "revoked": s.revoked_at is not None,
            }
            for s in svc.sessions.sessions.for_principal(p.id)
        ]
        emit_json(out)


def _set_status(name: str, active: bool) -> None:
    with open_services() as svc:
        p = svc.admin.get(name)
        svc.admin.set_status(p, active=active, actor="cli")
        emit_json(principal_json(svc.admin.get(p.id)))


@user_group.command("disable")
@click.argument("name")
@handle_errors
def user_disable(name: str) -> None:
    """Disable a user and end all their sessions at once."""
    _set_status(name, False)


@user_group.command("enable")
@click.argument("name")
@handle_errors
def user_enable(name: str) -> None:
    """Enable a disabled user."""
    _set_status(name, True)


@user_group.command("grant")
@click.argument("name")
@click.argument("role")
@click.option("--by", "actor", required=True, help="Who grants it (an admin's name).")
@handle_errors
def user_grant(name: str, role: str, actor: str) -> None:
    """Grant a role; audited, and refused when granter and grantee are the same person."""
    with open_services() as svc:
        target, granter = svc.admin.get(name), svc.admin.get(actor)
        svc.admin.grant_role(target, role, actor=granter.id)
        emit_json(principal_json(svc.admin.get(target.id)))


@user_group.command("revoke")
@click.argument("name")
@click.argument("role")
@click.option("--by", "actor", required=True, help="Who revokes it (an admin's name).")
@handle_errors
def user_revoke(name: str, role: str, actor: str) -> None:
    """Revoke a role; audited."""
    with open_services() as svc:
        target, revoker = svc.admin.get(name), svc.admin.get(actor)
        svc.admin.revoke_role(target, role, actor=revoker.id)
        emit_json(principal_json(svc.admin.get(target.id)))


@user_group.command("unlock")
@click.argument("name")
@handle_errors
def user_unlock(name: str) -> None:
    """Clear a lockout (failures or an automated response) on every factor; audited."""
    from zerotrust.core.auditing import AuditRecord
    from zerotrust.identity.models import name_key

    with open_services() as svc:
        p = svc.admin.get(name)
        svc.guard.unlock(name_key(p.name))
        svc.audit.append(
            AuditRecord(
                action="auth.unlock", actor="cli", outcome="success", resource=f"principal:{p.id}"
            )
        )
        emit_json({"name": p.name, "unlocked": True})


@user_group.group("mfa")
def user_mfa() -> None:
    """Second factors of a user."""


@user_mfa.command("reset")
@click.argument("name")
@handle_errors
def user_mfa_reset(name: str) -> None:
    """Remove every second factor and end every session of a user."""
    with open_services() as svc:
        p = svc.admin.get(name)
        svc.admin.reset_mfa(p, actor="cli")
        emit_json({"name": p.name, "mfa_methods": []})


@click.group("service-account")
def service_account_group() -> None:
    """Manage AI workload identities."""


@service_account_group.command("add")
@click.argument("name")
@click.option("--kind", required=True, help="Workload kind, e.g. fraud_model.")
@click.option("--purpose", "purposes", multiple=True, help="Declared purpose (repeatable).")
@handle_errors
def service_account_add(name: str, kind: str, purposes: tuple[str, ...]) -> None:
    """Create a service account for an AI workload."""
    with open_services() as svc:
        emit_json(
            principal_json(
                svc.admin.create_service_account(
                    name, workload_kind=kind, purposes=purposes, actor="cli"
                )
            )
        )


@service_account_group.group("key")
def service_account_key() -> None:
    """Client-assertion keys (RFC 7523) of a workload."""


@service_account_key.command("add")
@click.argument("name")
@click.option(
    "--jwk",
    "jwk_file",
    type=click.File("r"),
    required=True,
    help="The workload's public JWK (a file, or - for stdin).",
)
@handle_errors
def service_account_key_add(name: str, jwk_file: Any) -> None:
    """Register a workload's public key; prints its kid."""
    import json

    try:
        jwk = json.load(jwk_file)
    except ValueError:
        raise InvalidInput("The JWK is not valid JSON.", code="invalid_jwk") from None
    if not isinstance(jwk, dict):
        raise InvalidInput("The JWK must be a JSON object.", code="invalid_jwk")
    with open_services() as svc:
        kid = svc.workloads.register_key(svc.admin.get(name), jwk, actor="cli")
        emit_json({"name": name, "kid": kid})


@click.group("tokens")
def tokens_group() -> None:
    """Access-token signing keys."""


@tokens_group.command("rotate-key")
@handle_errors
def tokens_rotate_key() -> None:
    """Sign with a new key from now on; the old one verifies until its tokens expire."""
    from zerotrust.core.auditing import AuditRecord

    with open_services() as svc:
        kid = svc.tokens.rotate()
        svc.audit.append(
            AuditRecord(
                action="tokens.rotate_key", actor="cli", outcome="success", details={"kid": kid}
            )
        )
        emit_json({"kid": kid, "jwks": svc.tokens.jwks()})
