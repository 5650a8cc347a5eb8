"""Builders shared by the vault's unit and integration tests."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from zerotrust.core.auditing import AuditRecorder, MemoryAudit
from zerotrust.core.clock import Clock
from zerotrust.core.errors import Forbidden, Sealed
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.crypto.providers import EnvRootKey, RootKeyProvider
from zerotrust.identity.sessions import AuthContext
from zerotrust.store.database import Database
from zerotrust.store.vault_repo import SqlVaultKeys, SqlVaultRecords, create_tables
from zerotrust.vault.models import AES_GCM_USAGE_LIMIT
from zerotrust.vault.services import Vault, build_vault

# Well-known test card numbers (they pass Luhn; no real account behind them).
VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
VISA_19 = "4222222222222222224"  # 19 digits, Luhn-valid


def new_root_key() -> str:
    return b64url_encode(secrets.token_bytes(32))


class MissingKey:
    """A provider whose key is gone: the vault must stay sealed."""

    def load(self) -> bytes:
        raise Sealed("The root key file is missing or unreadable.")


def open_db(url: str) -> Database:
    db = Database(url)
    create_tables(db)
    return db


def make_vault(
    db: Database,
    clock: Clock,
    *,
    provider: RootKeyProvider | None = None,
    root_key: str | None = None,
    audit: AuditRecorder | None = None,
    usage_limit: int = AES_GCM_USAGE_LIMIT,
    lease: int = 4096,
    unseal: bool = True,
) -> Vault:
    return build_vault(
        provider=provider or EnvRootKey(root_key or new_root_key()),
        key_repo=SqlVaultKeys(db),
        record_repo=SqlVaultRecords(db),
        audit=audit if audit is not None else MemoryAudit(),
        clock=clock,
        usage_limit=usage_limit,
        lease=lease,
        unseal=unseal,
    )


VaultFactory = Callable[..., Vault]


def customer(vault: Vault, n: int = 0, **extra: object) -> str:
    """Create a customer with distinct, recognisable PII; returns its id."""
    values: dict[str, object] = {
        "name": f"Customer Number{n}",
        "email": f"customer{n}@example.org",
        "phone": f"+4420794{n:05d}",
        **extra,
    }
    return vault.records.create("customer", values).record_id


class Policy:
    """A stand-in PDP: ``allow[(action, resource_type)]`` is the obligations list."""

    def __init__(self) -> None:
        self.allow: dict[tuple[str, str], Any] = {}
        self.calls: list[tuple[str, str, str | None]] = []

    def __call__(
        self, ctx: AuthContext, action: str, resource_type: str, resource_id: str | None
    ) -> list[str]:
        self.calls.append((action, resource_type, resource_id))
        decision = self.allow.get((action, resource_type))
        if decision is None:
            raise Forbidden
        if isinstance(decision, Exception):
            raise decision
        return decision  # type: ignore[no-any-return]

    def permit_all(self) -> None:
        for action in ("read", "list", "write", "detokenize"):
            for rtype in ("CustomerPII", "Transaction", "CreditProfile"):
                self.allow[(action, rtype)] = []
        self.allow[("delete", "Customer")] = []
