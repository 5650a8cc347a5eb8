"""AI workloads see only what their policy allows, for one call, under pseudonyms.

A ``WorkloadScope`` is opened with the fields and obligations of one policy decision.
Its single ``fetch`` decrypts just those fields, in memory, and hands them over with
every identifier (record id, customer id) replaced by a keyed pseudonym. Pseudonyms are
stable within a purpose (a model can join a customer's transactions) and unlinkable
across purposes (GDPR art. 5(1)(b), art. 4(5)); only the scope that issued them can map
them back, and only until it closes. Nothing a scope decrypts is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Final

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.errors import Forbidden, NotFound
from zerotrust.crypto.kdf import hmac_sha256
from zerotrust.vault.aad import frame
from zerotrust.vault.errors import InvalidField, ScopeClosed
from zerotrust.vault.keys import KeyHierarchy
from zerotrust.vault.kinds import Record, kind_spec
from zerotrust.vault.masking import apply_obligations, parse
from zerotrust.vault.models import DEFAULT_TENANT
from zerotrust.vault.records import Records

MAX_RECORDS: Final = 1000


def pseudonym(keys: KeyHierarchy, value: str, *, tenant: str, purpose: str) -> str:
    """A keyed, purpose-bound pseudonym of an identifier: ``psn_`` + 128 bits of HMAC."""
    mac = hmac_sha256(keys.root().pseudonym_key(purpose), frame(tenant, value))
    return "psn_" + mac[:16].hex()


class WorkloadScope:
    """One call's view of some records; use as a context manager."""

    def __init__(
        self,
        *,
        records: Records,
        keys: KeyHierarchy,
        audit: AuditRecorder,
        workload: str,
        purpose: str,
        kind: str,
        fields: tuple[str, ...],
        obligations: tuple[str, ...],
        tenant: str,
    ) -> None:
        self._records = records
        self._keys = keys
        self._audit = audit
        self.workload = workload
        self.purpose = purpose
        self.kind = kind
        self.fields = fields
        self._obligations = obligations
        self._tenant = tenant
        self._issued: dict[str, str] = {}
        self._used = False
        self._closed = False

    def __enter__(self) -> WorkloadScope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the scope: its pseudonyms can no longer be resolved."""
        self._closed = True
        self._issued.clear()

    def fetch(
        self, record_ids: Sequence[str] = (), *, customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The allowed fields of the given records (or of one customer's), once per scope."""
        if self._used or self._closed:
            raise ScopeClosed
        self._used = True
        if len(record_ids) > MAX_RECORDS:
            raise InvalidField(f"record_ids: at most {MAX_RECORDS}")
        ids = list(record_ids)
        if customer_id is not None:
            owned = self._records.for_customer(
                self.kind, customer_id, tenant=self._tenant, limit=MAX_RECORDS
            )
            ids.extend(r.record_id for r in owned)
        rows = [self._row(r) for r in self._load(ids) if r.status == "active"]
        released: list[dict[str, Any]] = apply_obligations(
            rows, self._obligations, tokenize=lambda _f, value: self._pseudonym(value)
        )
        self._audit.append(
            AuditRecord(
                action="vault.workload_access",
                actor=self.workload,
                outcome="success",
                resource=self.kind,
                details={"purpose": self.purpose, "fields": list(self.fields), "count": len(rows)},
            )
        )
        return released

    def resolve(self, token: str) -> str:
        """The identifier behind a pseudonym this scope issued (e.g. to store a score)."""
        if self._closed:
            raise ScopeClosed
        try:
            return self._issued[token]
        except KeyError:
            raise NotFound from None

    def _load(self, ids: Iterable[str]) -> list[Record]:
        out = []
        for record_id in ids:
            try:
                out.append(
                    self._records.decrypt_fields(
                        self.kind, record_id, self.fields, tenant=self._tenant
                    )
                )
            except NotFound:
                continue  # gone or never there: the workload learns nothing either way
        return out

    def _row(self, record: Record) -> dict[str, Any]:
        return {
            "id": self._pseudonym(record.record_id),
            "customer_id": self._pseudonym(record.customer_id),
            **record.fields,
        }

    def _pseudonym(self, value: str) -> str:
        token = pseudonym(self._keys, value, tenant=self._tenant, purpose=self.purpose)
        self._issued[token] = value
        return token


class Workloads:
    """Opens scopes for AI workloads from a policy decision's fields and obligations."""

    def __init__(self, *, records: Records, keys: KeyHierarchy, audit: AuditRecorder) -> None:
        self._records = records
        self._keys = keys
        self._audit = audit

    def scope(
        self,
        *,
        workload: str,
        purpose: str,
        kind: str,
        fields: Iterable[str],
        obligations: Iterable[str] = (),
        tenant: str = DEFAULT_TENANT,
    ) -> WorkloadScope:
        """A one-call scope; fields the kind never reveals (the PAN) are refused."""
        self._keys.root()
        spec = kind_spec(kind)
        wanted = tuple(dict.fromkeys(fields))
        for name in wanted:
            if not spec.spec(name).revealed:
                raise Forbidden(f"{name}: never released to workloads")
        rules = tuple(obligations)
        dropped = {field for verb, field in map(parse, rules) if verb == "drop"}
        if not purpose or not workload:
            raise InvalidField("purpose: required for workload access")
        return WorkloadScope(
            records=self._records,
            keys=self._keys,
            audit=self._audit,
            workload=workload,
            purpose=purpose,
            kind=spec.name,
            fields=tuple(n for n in wanted if n not in dropped),
            obligations=rules,
            tenant=tenant,
        )
