"""The records API over the fintech's data: customers, transactions, credit profiles.

Every field but the identifiers is encrypted under the data key of the customer it
belongs to (a customer is their own data subject; a transaction or credit profile
belongs to its ``customer_id``). Email, phone and card token are searchable through
blind indexes. A card number is validated, stored encrypted next to its token, never
returned by a read, and revealed only by ``detokenize`` (audited). Card numbers found in
free text are replaced by their tokens before anything is stored. The kinds, their
fields and what each accepts are ``vault.kinds``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from json.encoder import encode_basestring_ascii
from typing import Any, Final, NamedTuple

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import InvalidInput, NotFound
from zerotrust.core.ids import new_id
from zerotrust.vault import pan as pans
from zerotrust.vault.blind_index import BlindIndex
from zerotrust.vault.errors import Erased, InvalidField
from zerotrust.vault.fields import FieldCipher, RecordContext
from zerotrust.vault.interfaces import RecordRepo
from zerotrust.vault.keys import DataKey, KeyHierarchy
from zerotrust.vault.kinds import (
    CUSTOMER,
    FieldSpec,
    KindSpec,
    Record,
    clean_scalar,
    clean_text,
    kind_spec,
    search_form,
)
from zerotrust.vault.models import DEFAULT_TENANT, IndexEntry, StoredRecord
from zerotrust.vault.shred import Erasure, erase_subject

MAX_LIST: Final = 1000
MAX_BATCH: Final = 10_000  # records per ``create_many`` call, so one call's memory is bounded
_ID_BYTES: Final = 16  # as ``new_id``: 128 bits
_BATCH_ID_BYTES: Final = 4


_JSON: Final = json.JSONEncoder(separators=(",", ":")).encode
_MEMO_TYPES: Final = (str, int)  # exact types: True == 1, but not as a field value
_UNSEEN: Final = object()


def _json(value: Any) -> bytes:
    """Compact JSON, byte for byte ``json.dumps(value, separators=(",", ":"))``."""
    # The two types nearly every field holds, without the encoder's general path.
    if type(value) is str:
        return encode_basestring_ascii(value).encode()
    if type(value) is int:
        return int.__repr__(value).encode()
    return _JSON(value).encode()


def _encode(clean: Mapping[str, Any]) -> dict[str, bytes]:
    """Each value as compact JSON, the plaintext a field envelope seals."""
    return {k: _json(v) for k, v in clean.items()}


class _Pending(NamedTuple):
    """A validated batch row waiting for its key."""

    record_id: str
    subject: str
    clean: dict[str, Any]


def _in_row(exc: InvalidInput, row: int, name: str) -> InvalidInput:
    """The same error (type and code), its message naming the batch row and field."""
    detail = exc.detail if exc.detail.startswith(f"{name}:") else f"{name}: {exc.detail}"
    return type(exc)(f"row {row}: {detail}", code=exc.code)


class Records:
    """Create, read, search, detokenise and erase encrypted records."""

    def __init__(
        self,
        *,
        keys: KeyHierarchy,
        repo: RecordRepo,
        audit: AuditRecorder,
        clock: Clock,
    ) -> None:
        self._keys = keys
        self._repo = repo
        self._audit = audit
        self._clock = clock
        self._cipher = FieldCipher(keys)
        self._index = BlindIndex(keys)

    # --- writing ---------------------------------------------------------------------

    def create(
        self, kind: str, values: Mapping[str, Any], *, tenant: str = DEFAULT_TENANT
    ) -> Record:
        """Validate, encrypt and store a record; returns it as a reader would see it."""
        self._keys.root()  # sealed: refuse before looking at any value
        spec = kind_spec(kind)
        data = dict(values)
        record_id = new_id(spec.id_prefix)
        subject = self._owner(spec, data, tenant) if spec.owned else record_id
        clean = self._clean(spec, data, tenant)
        where = RecordContext(tenant, spec.table, record_id)
        stored = StoredRecord(
            tenant=tenant,
            kind=spec.name,
            record_id=record_id,
            subject_id=subject,
            created_at=self._clock.now(),
            fields=self._cipher.encrypt(subject, where, _encode(clean)),
        )
        self._repo.add(stored, self._index_entries(spec, clean, tenant, {}))
        return self._view(spec, stored, clean)

    def create_many(
        self,
        kind: str,
        batch: Iterable[Mapping[str, Any]],
        *,
        tenant: str = DEFAULT_TENANT,
    ) -> list[Record]:
        """Validate, encrypt and store up to ``MAX_BATCH`` records in one transaction.

        Each record is sealed exactly as ``create`` seals it: its own id and associated
        data, its owner's data key, its blind index entries. Every row is validated before
        anything is encrypted, and the rows are stored together or not at all: a bad row
        raises (naming its index and field) and leaves nothing behind. Within the batch
        each owner is looked up once, each data key is fetched with one reservation of
        uses for all of its records, and each index entry is computed once.
        """
        self._keys.root()
        spec = kind_spec(kind)
        rows = list(islice(batch, MAX_BATCH + 1))
        if len(rows) > MAX_BATCH:
            raise InvalidField(f"batch: at most {MAX_BATCH} records expected")
        pending = self._prepare(spec, rows, tenant)
        keys = self._batch_keys(tenant, pending)
        digests: dict[tuple[str, Any], str] = {}
        stored: list[tuple[StoredRecord, list[IndexEntry]]] = []
        for p, key in zip(pending, keys, strict=True):
            # ``encrypt_field`` for each field, its two steps written out: this loop runs
            # once per field of every record of the batch.
            where = RecordContext(tenant, spec.table, p.record_id)
            seal, version = key.handle.seal, key.version
            sealed = {n: seal(_json(v), aad=where.aad(n, version)) for n, v in p.clean.items()}
            record = StoredRecord(
                tenant, spec.name, p.record_id, p.subject, self._clock.now(), sealed
            )
            stored.append((record, self._index_entries(spec, p.clean, tenant, digests)))
        if stored:
            self._repo.add_many(stored)
        shown = [f.name for f in spec.fields if f.revealed]
        return [
            self._view(spec, r, p.clean, only=shown)
            for (r, _), p in zip(stored, pending, strict=True)
        ]

    def create_customer(self, *, tenant: str = DEFAULT_TENANT, **values: Any) -> Record:
        return self.create("customer", values, tenant=tenant)

    def create_transaction(self, *, tenant: str = DEFAULT_TENANT, **values: Any) -> Record:
        return self.create("transaction", values, tenant=tenant)

    def create_credit_profile(self, *, tenant: str = DEFAULT_TENANT, **values: Any) -> Record:
        return self.create("credit_profile", values, tenant=tenant)

    def _owner(self, spec: KindSpec, data: dict[str, Any], tenant: str) -> str:
        owner = data.pop("customer_id", None)
        if not isinstance(owner, str) or self._repo.get(tenant, "customer", owner) is None:
            raise NotFound("No such customer.")
        return owner

    def _prepare(
        self, spec: KindSpec, rows: Sequence[Mapping[str, Any]], tenant: str
    ) -> list[_Pending]:
        """Validate every row of a batch; the first bad one raises, naming its index."""
        owners: dict[str, bool] = {}  # customer id → exists, looked up once per batch
        memo: dict[tuple[str, Any], Any] = {}
        pending: list[_Pending] = []
        # The ids of a batch share a random 32-bit prefix, so the primary key index takes
        # them in one run of pages: scattered random ids cost the database about one page
        # write per row. Each id keeps 96 random bits of its own, and the shared prefix
        # tells no more than ``created_at`` already does (these were created together).
        batch_id = f"{spec.id_prefix}_{secrets.token_hex(_BATCH_ID_BYTES)}"
        for row, values in enumerate(rows):
            data = dict(values)
            record_id = batch_id + secrets.token_hex(_ID_BYTES - _BATCH_ID_BYTES)
            subject = record_id
            if spec.owned:
                owner = data.pop("customer_id", None)
                if isinstance(owner, str) and owner not in owners:
                    owners[owner] = self._repo.get(tenant, "customer", owner) is not None
                if not isinstance(owner, str) or not owners[owner]:
                    raise NotFound(f"row {row}: customer_id: no such customer.")
                subject = owner
            clean = self._clean(spec, data, tenant, row=row, memo=memo)
            pending.append(_Pending(record_id, subject, clean))
        return pending

    def _batch_keys(self, tenant: str, pending: Sequence[_Pending]) -> list[DataKey]:
        """The data key of each pending record, reserving each subject's uses at once.

        A subject needing more uses than a key version allows gets them in turns, so a
        version still rotates at its limit exactly as it does for single records.
        """
        needed: dict[str, int] = {}
        for p in pending:
            needed[p.subject] = needed.get(p.subject, 0) + max(1, len(p.clean))
        current: dict[str, tuple[DataKey, int]] = {}  # subject → (key, uses left of it)
        out: list[DataKey] = []
        for row, p in enumerate(pending):
            uses = max(1, len(p.clean))
            key, left = current.get(p.subject, (None, 0))
            if key is None or left < uses:
                want = max(uses, min(needed[p.subject], self._keys.usage_limit))
                try:
                    key = self._keys.encryption_key(tenant, p.subject, uses=want)
                except Erased:
                    raise Erased(f"row {row}: customer_id: the customer was erased.") from None
                left = want
            needed[p.subject] -= uses
            current[p.subject] = (key, left - uses)
            out.append(key)
        return out

    def _index_entries(
        self,
        spec: KindSpec,
        clean: Mapping[str, Any],
        tenant: str,
        memo: dict[tuple[str, Any], str],
    ) -> list[IndexEntry]:
        out: list[IndexEntry] = []
        for f in spec.fields:
            if f.indexed and f.name in clean:
                value = clean[f.name]
                digest = memo.get((f.name, value))
                if digest is None:
                    wanted = search_form(f, value)
                    digest = memo[f.name, value] = self._index.digest(f.name, wanted, tenant=tenant)
                out.append(IndexEntry(f.name, digest))
        return out

    def _clean(
        self,
        spec: KindSpec,
        data: Mapping[str, Any],
        tenant: str,
        *,
        row: int | None = None,
        memo: dict[tuple[str, Any], Any] | None = None,
    ) -> dict[str, Any]:
        """The validated, stored form of a record's values.

        In a batch, ``row`` names the row in errors, and ``memo`` keeps the values already
        checked (a check depends on the field and the value alone), so a merchant, a
        category or a card token repeated across the batch is checked once.
        """
        out: dict[str, Any] = {}
        fields = spec._by_name
        for name, value in data.items():
            try:
                f = fields.get(name) or spec.spec(name)  # spec() raises for unknown names
                if value is None:
                    continue
                if f.kind in ("pan", "card_token"):
                    self._card(spec, f, value, data, tenant, out, memo)
                elif memo is not None and type(value) in _MEMO_TYPES:
                    known = memo.get((name, value), _UNSEEN)  # ``_checked``, inlined
                    if known is _UNSEEN:
                        known = memo[name, value] = self._value(f, value, tenant)
                    out[name] = known
                else:
                    out[name] = self._value(f, value, tenant)
            except InvalidInput as exc:
                if row is None:
                    raise
                raise _in_row(exc, row, name) from None
        missing = [f.name for f in spec.fields if f.required and f.name not in out]
        if missing:
            at = "" if row is None else f"row {row}: "
            raise InvalidField(f"{at}{missing[0]}: required")
        return out

    def _card(
        self,
        spec: KindSpec,
        f: FieldSpec,
        value: Any,
        data: Mapping[str, Any],
        tenant: str,
        out: dict[str, Any],
        memo: dict[tuple[str, Any], Any] | None,
    ) -> None:
        if f.kind == "pan":
            card = pans.validate_pan(value)
            out["card_token"] = self.tokenize_pan(card, tenant=tenant)
            if f.stored:
                out["pan"] = card
            return
        # These depend on the row, not on the value: checked every time.
        if "pan" in data and data["pan"] is not None:
            raise InvalidField("card_token: give either pan or card_token")
        if spec is CUSTOMER:
            raise InvalidField("card_token: derived from pan")
        out[f.name] = self._checked(f, value, tenant, memo)

    def _checked(
        self, f: FieldSpec, value: Any, tenant: str, memo: dict[tuple[str, Any], Any] | None
    ) -> Any:
        """``_value``, remembered for the batch (hashable values of exact types only)."""
        if memo is None or type(value) not in _MEMO_TYPES:
            return self._value(f, value, tenant)
        key = (f.name, value)
        known = memo.get(key, _UNSEEN)
        if known is _UNSEEN:
            known = memo[key] = self._value(f, value, tenant)
        return known

    def _value(self, f: FieldSpec, value: Any, tenant: str) -> Any:
        if f.kind == "card_token":
            return pans.is_token(value)
        if f.kind in ("email", "phone"):
            search_form(f, value)  # validates
            return clean_text(f, value)
        if f.kind in ("text", "free"):
            # A card number typed into a name, an address or a note is replaced by its
            # token before anything is stored (PCI DSS 3.4.1).
            text = clean_text(f, value, multiline=f.kind == "free")
            return pans.scrub(text, lambda card: self.tokenize_pan(card, tenant=tenant))
        return clean_scalar(f, value)

    def tokenize_pan(self, card: str, *, tenant: str = DEFAULT_TENANT) -> str:
        """The card's format-preserving token under this vault's token key."""
        return pans.tokenize(self._keys.root().pan_token_key, card, tenant=tenant)

    # --- reading ---------------------------------------------------------------------

    def get(self, kind: str, record_id: str, *, tenant: str = DEFAULT_TENANT) -> Record:
        """One record; ``NotFound`` (also for another tenant's), or status ``erased``."""
        self._keys.root()
        spec = kind_spec(kind)
        row = self._repo.get(tenant, spec.name, record_id)
        if row is None:
            raise NotFound
        return self._open(spec, row)

    def find(
        self,
        kind: str,
        *,
        field: str,
        value: str,
        tenant: str = DEFAULT_TENANT,
        limit: int = 100,
    ) -> list[Record]:
        """Records whose ``field`` equals ``value``, found through its blind index."""
        self._keys.root()
        spec = kind_spec(kind)
        f = spec.spec(field)
        if not f.indexed:
            raise InvalidField(f"{field}: not searchable")
        wanted = search_form(f, value)
        digest = self._index.digest(f.name, wanted, tenant=tenant)
        rows = self._repo.find(tenant, spec.name, f.name, digest, limit=_limit(limit))
        found = [self._open(spec, row) for row in rows]
        # Index entries are truncated MACs: drop the (astronomically rare) false match.
        return [
            r for r in found if r.status == "active" and _matches(f, r.fields.get(field), wanted)
        ]

    def for_customer(
        self, kind: str, customer_id: str, *, tenant: str = DEFAULT_TENANT, limit: int = 100
    ) -> list[Record]:
        """Every record of one kind that belongs to a customer."""
        self._keys.root()
        spec = kind_spec(kind)
        rows = self._repo.for_subject(tenant, spec.name, customer_id, limit=_limit(limit))
        return [self._open(spec, row) for row in rows]

    def _open(self, spec: KindSpec, row: StoredRecord, only: Sequence[str] | None = None) -> Record:
        names = [f.name for f in spec.fields if f.revealed] if only is None else list(only)
        where = RecordContext(row.tenant, spec.table, row.record_id)
        try:
            plain = self._cipher.decrypt(row.subject_id, where, row.fields, only=names)
        except Erased:
            return self._erased(spec, row)
        values = {k: json.loads(v) for k, v in plain.items()}
        return self._view(spec, row, values, only=names)

    def _erased(self, spec: KindSpec, row: StoredRecord) -> Record:
        return Record(
            spec.name, row.record_id, row.tenant, row.subject_id, row.created_at, "erased", {}
        )

    def _view(
        self,
        spec: KindSpec,
        row: StoredRecord,
        values: Mapping[str, Any],
        only: Sequence[str] | None = None,
    ) -> Record:
        names = [f.name for f in spec.fields if f.revealed] if only is None else list(only)
        shown = {n: values[n] for n in names if n in values}
        return Record(
            spec.name, row.record_id, row.tenant, row.subject_id, row.created_at, "active", shown
        )

    def decrypt_fields(
        self, kind: str, record_id: str, names: Sequence[str], *, tenant: str = DEFAULT_TENANT
    ) -> Record:
        """Only the named fields of one record (revealed ones only), for scoped callers."""
        self._keys.root()
        spec = kind_spec(kind)
        allowed = [n for n in names if spec.spec(n).revealed]
        row = self._repo.get(tenant, spec.name, record_id)
        if row is None:
            raise NotFound
        return self._open(spec, row, only=allowed)

    # --- card numbers and erasure ----------------------------------------------------

    def detokenize(self, customer_id: str, *, actor: str, tenant: str = DEFAULT_TENANT) -> str:
        """The customer's full card number. Authorise (``detokenize`` + step-up) first."""
        self._keys.root()
        row = self._repo.get(tenant, "customer", customer_id)
        if row is None or "pan" not in row.fields:
            raise NotFound("No card on file.")
        where = RecordContext(tenant, CUSTOMER.table, customer_id)
        card = json.loads(
            self._cipher.decrypt(customer_id, where, row.fields, only=("pan",))["pan"]
        )
        if not isinstance(card, str):
            raise NotFound("No card on file.")
        self._audit.append(
            AuditRecord(
                action="vault.detokenize",
                actor=actor,
                outcome="success",
                resource=f"customer:{customer_id}",
                details={"card": pans.redact(card)},
            )
        )
        return card

    def erase(self, subject_id: str, *, actor: str, tenant: str = DEFAULT_TENANT) -> Erasure:
        """Crypto-shred a customer and everything of theirs (idempotent)."""
        self._keys.root()
        return erase_subject(
            keys=self._keys,
            records=self._repo,
            audit=self._audit,
            tenant=tenant,
            subject_id=subject_id,
            actor=actor,
        )


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise InvalidField(f"limit: 1 to {MAX_LIST} expected")
    return limit


def _matches(f: FieldSpec, stored: Any, wanted: str) -> bool:
    if not isinstance(stored, str):
        return False
    try:
        return search_form(f, stored) == wanted
    except InvalidField:
        return False
