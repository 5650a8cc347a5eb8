"""The vault façade the composition root builds: keys, records, workloads, erasure."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from zerotrust.core.auditing import AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import Sealed
from zerotrust.crypto.providers import RootKeyProvider
from zerotrust.vault.errors import ObligationUnfulfilled
from zerotrust.vault.interfaces import KeyRepo, RecordRepo
from zerotrust.vault.keys import DEFAULT_LEASE, KeyHierarchy
from zerotrust.vault.masking import Tokenizer
from zerotrust.vault.models import AES_GCM_USAGE_LIMIT, DEFAULT_TENANT
from zerotrust.vault.records import Records
from zerotrust.vault.workload import Workloads, pseudonym


@dataclass
class Vault:
    """Everything the edges need; each part raises ``Sealed`` while the vault is sealed."""

    keys: KeyHierarchy
    records: Records
    workloads: Workloads
    audit: AuditRecorder
    unseal_error: str | None = None  # the code of the last failed unseal, for health checks

    @property
    def sealed(self) -> bool:
        return self.keys.sealed

    def unseal(self) -> None:
        """Unseal now; raises ``Sealed`` or ``InvalidKey`` (and stays sealed) on failure."""
        try:
            self.keys.unseal()
        except Sealed as exc:
            self.unseal_error = exc.code
            raise
        self.unseal_error = None

    def seal(self) -> None:
        self.keys.seal()

    def pseudonym(self, value: str, *, tenant: str, purpose: str) -> str:
        return pseudonym(self.keys, value, tenant=tenant, purpose=purpose)

    def tokenizer(self, *, tenant: str = DEFAULT_TENANT) -> Tokenizer:
        """Carries out ``tokenize:`` obligations at the gateway: a keyed pseudonym per
        field, so a customer id is the same pseudonym in every response (joinable for
        analytics) and unlinkable to its e-mail's. A sealed vault withholds the response
        rather than release it half-done."""

        def tokenize(field: str, value: str) -> str:
            try:
                return self.pseudonym(value, tenant=tenant, purpose=f"tokenize/{field}")
            except Sealed as exc:
                raise ObligationUnfulfilled() from exc

        return tokenize


def build_vault(
    *,
    provider: RootKeyProvider,
    key_repo: KeyRepo,
    record_repo: RecordRepo,
    audit: AuditRecorder,
    clock: Clock,
    usage_limit: int = AES_GCM_USAGE_LIMIT,
    lease: int = DEFAULT_LEASE,
    cache_ttl_s: float = 30.0,
    unseal: bool = True,
) -> Vault:
    """Build the vault and try to unseal it; on failure it stays sealed (503s), not down."""
    keys = KeyHierarchy(
        provider=provider,
        repo=key_repo,
        clock=clock,
        audit=audit,
        usage_limit=usage_limit,
        lease=lease,
        cache_ttl_s=cache_ttl_s,
    )
    records = Records(keys=keys, repo=record_repo, audit=audit, clock=clock)
    workloads = Workloads(records=records, keys=keys, audit=audit)
    vault = Vault(keys=keys, records=records, workloads=workloads, audit=audit)
    if unseal:
        # A failure is kept in ``unseal_error``; every data operation answers "sealed".
        with contextlib.suppress(Sealed):
            vault.unseal()
    return vault
