"""The key hierarchy: root key → versioned key-encryption keys → one data key per subject.

- The **root key** comes from a provider and never touches the database. Keys derived from
  it (HKDF, one purpose each) seal the KEK versions and key the blind indexes, the PAN
  tokens and the workload pseudonyms.
- **KEK versions** are random AES-256 keys stored sealed by the root key. The highest
  version is primary and wraps new data keys; older versions keep unwrapping until a
  rewrap moves their data keys forward, after which they may be deleted.
- **Data keys**, one per data subject (a customer), versioned, wrapped by a KEK version.
  Destroying them erases the subject (crypto-shredding, GDPR art. 17).

Every key counts its encryptions. Uses are reserved from the database in leases (a whole
block at once, so the hot path touches no storage), and a key whose count would pass the
limit is replaced by a new version: AES-GCM with random 96-bit nonces is safe for 2^32
encryptions per key (SP 800-38D §8.3). Unused leased uses are lost on restart, which only
ever rotates early. A vault without its root key is sealed: every operation raises
``Sealed``, and nothing falls back to a default key.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import Conflict, IntegrityError, InvalidInput, NotFound, Sealed
from zerotrust.crypto.aead import AeadKey
from zerotrust.crypto.kdf import derive_key
from zerotrust.crypto.providers import AeadHandle, InvalidKey, RootKeyProvider
from zerotrust.vault.aad import frame
from zerotrust.vault.errors import Erased, KeyInUse
from zerotrust.vault.interfaces import KeyRepo
from zerotrust.vault.models import (
    AES_GCM_USAGE_LIMIT,
    DataKeyRecord,
    Destruction,
    KekRecord,
    KekStatus,
    Rewrapped,
)

KEY_BYTES: Final = 32
DEFAULT_LEASE: Final = 4096
ROOT_WRAP_ID: Final = "vault-root-v1"
_ATTEMPTS: Final = 8

Random = Callable[[int], bytes]


def kek_key_id(version: int) -> str:
    return f"kek-v{version}"


def dek_key_id(version: int) -> str:
    return f"dek-v{version}"


def _kek_aad(version: int) -> bytes:
    return frame("zt/vault/kek/v1", str(version))


def _dek_aad(tenant: str, subject_id: str, version: int) -> bytes:
    # A wrapped data key moved to another subject or version fails to unwrap.
    return frame("zt/vault/dek/v1", tenant, subject_id, str(version))


@dataclass(frozen=True, slots=True)
class DataKey:
    """One version of a subject's data key, ready to seal and open fields."""

    version: int
    handle: AeadHandle


class RootKeys:
    """The keys derived from the root key; the root itself is not kept."""

    def __init__(self, root: bytes, *, random: Random = os.urandom) -> None:
        wrap = derive_key(root, purpose="vault/kek-wrap")
        self.kek_wrap = AeadHandle(AeadKey(ROOT_WRAP_ID, wrap), random=random)
        self._index_root = derive_key(root, purpose="vault/blind-index")
        self.pan_token_key = derive_key(root, purpose="vault/pan-token")
        self._pseudonym_root = derive_key(root, purpose="vault/pseudonym")
        self._cache: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "RootKeys(**********)"

    def index_key(self, field: str) -> bytes:
        """The blind index key of one field (independent per field, RFC 5869 §3.2)."""
        return self._sub(self._index_root, f"field/{field}")

    def pseudonym_key(self, purpose: str) -> bytes:
        """The pseudonym key of one processing purpose, so purposes cannot link data."""
        return self._sub(self._pseudonym_root, f"purpose/{purpose}")

    def _sub(self, base: bytes, purpose: str) -> bytes:
        key = self._cache.get(purpose)
        if key is None:
            key = self._cache[purpose] = derive_key(base, purpose=purpose)
        return key


@dataclass
class _Subject:
    """A subject's unwrapped key versions, cached, with the uses leased on the primary."""

    tenant: str
    subject_id: str
    loaded_at: float
    erased: bool
    keys: dict[int, DataKey]
    next_version: int
    primary: int = 0
    left: int = 0


class KeyHierarchy:
    """Root → KEK versions → data keys, with usage limits, rotation and erasure."""

    def __init__(
        self,
        *,
        provider: RootKeyProvider,
        repo: KeyRepo,
        clock: Clock,
        audit: AuditRecorder | None = None,
        usage_limit: int = AES_GCM_USAGE_LIMIT,
        lease: int = DEFAULT_LEASE,
        cache_ttl_s: float = 30.0,
        cache_size: int = 10_000,
        random: Random = os.urandom,
    ) -> None:
        if not 1 <= usage_limit <= AES_GCM_USAGE_LIMIT or lease < 1:
            raise InvalidInput("The key usage limit must be between 1 and 3,865,470,566.")
        self._provider = provider
        self._repo = repo
        self._clock = clock
        self._now = clock.now
        self._audit = audit
        self.usage_limit = usage_limit
        self._lease = lease
        self._ttl = cache_ttl_s
        self._cache_size = cache_size
        self._random = random
        self._lock = threading.Lock()  # public methods only; internals never re-lock
        self._root: RootKeys | None = None
        self._keks: dict[int, AeadHandle] = {}
        self._primary = 0
        self._kek_left = 0
        self._keks_at = 0.0
        self._subjects: OrderedDict[tuple[str, str], _Subject] = OrderedDict()

    # --- sealing ---------------------------------------------------------------------

    @property
    def sealed(self) -> bool:
        return self._root is None

    def unseal(self) -> None:
        """Load the root key and open the KEK versions; ``Sealed``/``InvalidKey`` if not."""
        root = RootKeys(self._provider.load(), random=self._random)
        with self._lock:
            try:
                self._load_keks(root)
            except IntegrityError:
                raise InvalidKey("The root key does not open the vault's key store.") from None
            if not self._keks:
                self._make_kek(root, 1, reason="initial")
            self._root = root

    def seal(self) -> None:
        """Forget every key held in memory; data operations raise ``Sealed`` until unsealed."""
        with self._lock:
            self._root = None
            self._keks.clear()
            self._subjects.clear()
            self._primary = self._kek_left = 0

    def root(self) -> RootKeys:
        """The derived root keys; raises ``Sealed`` while the vault is sealed."""
        root = self._root
        if root is None:
            raise Sealed
        return root

    # --- KEK versions ----------------------------------------------------------------

    def _load_keks(self, root: RootKeys) -> None:
        records = self._repo.keks()
        keks = {
            r.version: AeadHandle(
                AeadKey(
                    kek_key_id(r.version), root.kek_wrap.open(r.wrapped, aad=_kek_aad(r.version))
                )
            )
            for r in records
        }
        primary = max(keks, default=0)
        if primary != self._primary:
            self._kek_left = 0
        self._keks, self._primary, self._keks_at = keks, primary, self._clock.now()

    def _refresh_keks(self, root: RootKeys, *, force: bool = False) -> None:
        if force or self._clock.now() - self._keks_at > self._ttl:
            self._load_keks(root)

    def _make_kek(
        self, root: RootKeys, version: int, *, reason: str, actor: str = "system"
    ) -> None:
        wrapped = root.kek_wrap.seal(secrets.token_bytes(KEY_BYTES), aad=_kek_aad(version))
        try:
            self._repo.add_kek(KekRecord(version, wrapped, self._clock.now()))
        except Conflict:
            pass  # another process made this version first: adopt theirs
        else:
            self._record("vault.kek_rotate", actor, resource=kek_key_id(version), reason=reason)
        self._load_keks(root)

    def _kek(self, root: RootKeys, version: int | None) -> AeadHandle:
        if version is not None and version not in self._keks:
            self._load_keks(root)  # made by another process since we loaded
        if version is None or version not in self._keks:
            raise Sealed("A key version this data needs is unavailable.")
        return self._keks[version]

    def _kek_for_wrap(self, root: RootKeys, wanted: int) -> tuple[int, AeadHandle, int]:
        """(version, key, granted): up to ``wanted`` uses of the primary, rotating at the limit."""
        self._refresh_keks(root)
        for _ in range(_ATTEMPTS):
            if self._kek_left > 0:
                granted = min(wanted, self._kek_left)
                self._kek_left -= granted
                return self._primary, self._keks[self._primary], granted
            reserve = max(wanted, self._lease)
            self._kek_left = self._repo.reserve_kek(self._primary, reserve, limit=self.usage_limit)
            if self._kek_left == 0:
                before = self._primary
                self._load_keks(root)
                if self._primary == before:  # exhausted (or deleted): a new version takes over
                    self._make_kek(root, before + 1, reason="usage_limit")
        raise Conflict("The key store changed too often; try again.")

    def rotate(self, *, actor: str) -> int:
        """Make a new KEK version primary; returns it. Old versions keep unwrapping."""
        root = self.root()
        with self._lock:
            self._load_keks(root)
            self._make_kek(root, self._primary + 1, reason="operator", actor=actor)
            return self._primary

    def delete_version(self, version: int, *, actor: str) -> None:
        """Delete a KEK version; refused for the primary and while data keys reference it."""
        root = self.root()
        with self._lock:
            self._load_keks(root)
            if version not in self._keks:
                raise NotFound("No such key version.")
            if version == self._primary:
                raise KeyInUse("The primary key version cannot be deleted.")
            self._repo.delete_kek(version)
            del self._keks[version]
        self._record("vault.kek_delete", actor, resource=kek_key_id(version))

    def status(self) -> list[KekStatus]:
        """Every KEK version with its age, usage and dependants (works while sealed)."""
        records = self._repo.keks()
        refs = self._repo.kek_references()
        primary = max((r.version for r in records), default=0)
        now = self._clock.now()
        return [
            KekStatus(
                version=r.version,
                primary=r.version == primary,
                created_at=r.created_at,
                age_s=max(0.0, now - r.created_at),
                usage=r.usage,
                usage_limit=self.usage_limit,
                data_keys=refs.get(r.version, 0),
                retired_at=r.retired_at,
            )
            for r in records
        ]

    # --- data keys -------------------------------------------------------------------

    def encryption_key(self, tenant: str, subject_id: str, *, uses: int = 1) -> DataKey:
        """The subject's primary data key with ``uses`` encryptions reserved on it.

        Creates the first key version, or the next one when the limit is reached; raises
        ``Erased`` for an erased subject.
        """
        root = self._root
        if root is None:
            raise Sealed
        if not 1 <= uses <= self.usage_limit:
            raise InvalidInput("Too many encryptions requested at once.")
        with self._lock:
            entry = self._subjects.get((tenant, subject_id))
            if (  # the hot path: a fresh cached key with leased uses left
                entry is not None
                and entry.left >= uses
                and entry.primary
                and not entry.erased
                and self._now() - entry.loaded_at <= self._ttl
            ):
                entry.left -= uses
                return entry.keys[entry.primary]
            return self._reserve(root, self._subject(root, tenant, subject_id), uses)

    def _reserve(self, root: RootKeys, entry: _Subject, uses: int) -> DataKey:
        tenant, subject_id = entry.tenant, entry.subject_id
        for _ in range(_ATTEMPTS):
            if entry.erased:
                raise Erased
            if entry.primary and entry.left >= uses:
                entry.left -= uses
                return entry.keys[entry.primary]
            granted = 0
            if entry.primary:
                granted = self._repo.reserve_data_key(
                    tenant,
                    subject_id,
                    entry.primary,
                    max(uses, self._lease),
                    limit=self.usage_limit,
                )
            entry.left += granted
            if not granted:
                entry = self._new_data_key(root, entry, tenant, subject_id)
        raise Conflict("The key store changed too often; try again.")

    def decryption_key(self, tenant: str, subject_id: str, version: int) -> DataKey:
        """A given version of the subject's key; ``Erased`` once the subject is erased."""
        root = self._root
        if root is None:
            raise Sealed
        # The hot path reads without the lock: a version's key never changes, dict reads
        # are atomic, and erasure removes the entry before it returns.
        entry = self._subjects.get((tenant, subject_id))
        if entry is not None and self._now() - entry.loaded_at <= self._ttl:
            key = entry.keys.get(version)
            if key is not None:
                return key
        with self._lock:
            entry = self._subject(root, tenant, subject_id)
            if not entry.erased and version not in entry.keys:
                self._subjects.pop((tenant, subject_id), None)  # made elsewhere since loaded
                entry = self._subject(root, tenant, subject_id)
            if entry.erased:
                raise Erased
            key = entry.keys.get(version)
            if key is None:
                raise IntegrityError
            return key

    def destroy(self, tenant: str, subject_id: str) -> Destruction:
        """Destroy every version of the subject's key (idempotent)."""
        self.root()
        result = self._repo.destroy_subject(tenant, subject_id, now=self._clock.now())
        with self._lock:
            self._subjects.pop((tenant, subject_id), None)
        return result

    def _subject(self, root: RootKeys, tenant: str, subject_id: str) -> _Subject:
        key = (tenant, subject_id)
        entry = self._subjects.get(key)
        now = self._clock.now()
        if entry is not None and now - entry.loaded_at <= self._ttl:
            self._subjects.move_to_end(key)
            return entry
        rows = self._repo.data_keys(tenant, subject_id)
        erased = any(r.destroyed for r in rows)
        keys = {} if erased else {r.version: self._unwrap(root, r) for r in rows}
        entry = _Subject(
            tenant=tenant,
            subject_id=subject_id,
            loaded_at=now,
            erased=erased,
            keys=keys,
            next_version=max((r.version for r in rows), default=0) + 1,
            primary=max(keys, default=0),
        )
        self._subjects[key] = entry
        while len(self._subjects) > self._cache_size:
            self._subjects.popitem(last=False)
        return entry

    def _unwrap(self, root: RootKeys, row: DataKeyRecord) -> DataKey:
        if row.wrapped is None:
            raise IntegrityError
        kek = self._kek(root, row.kek_version)
        material = kek.open(row.wrapped, aad=_dek_aad(row.tenant, row.subject_id, row.version))
        key = AeadKey(dek_key_id(row.version), material)
        return DataKey(row.version, AeadHandle(key, random=self._random))

    def _new_data_key(
        self, root: RootKeys, entry: _Subject, tenant: str, subject_id: str
    ) -> _Subject:
        version = entry.next_version
        material = secrets.token_bytes(KEY_BYTES)
        kek_version, kek, _ = self._kek_for_wrap(root, 1)
        wrapped = kek.seal(material, aad=_dek_aad(tenant, subject_id, version))
        record = DataKeyRecord(tenant, subject_id, version, kek_version, wrapped, self._clock.now())
        try:
            self._repo.add_data_key(record)
        except Conflict:
            # Another process made this version, erased the subject or retired the KEK.
            self._subjects.pop((tenant, subject_id), None)
            self._load_keks(root)
            return self._subject(root, tenant, subject_id)
        key = DataKey(
            version, AeadHandle(AeadKey(dek_key_id(version), material), random=self._random)
        )
        entry.keys[version] = key
        entry.primary, entry.next_version, entry.left = version, version + 1, 0
        return entry

    # --- rewrap ----------------------------------------------------------------------

    def pending_rewrap(self) -> int:
        """Live data keys not yet wrapped by the primary KEK version."""
        root = self.root()
        with self._lock:
            self._refresh_keks(root, force=True)
            return self._repo.count_pending(self._primary)

    def rewrap_batch(self, *, after: int, limit: int) -> tuple[int, int | None]:
        """Rewrap up to ``limit`` data keys past row ``after`` to the primary KEK version.

        Returns (rewrapped, cursor); the cursor is None once no pending key is left past
        this batch. Each batch commits on its own, and each key is either fully old or
        fully new, so a crash at any point leaves every key unwrappable.
        """
        root = self.root()
        with self._lock:
            self._refresh_keks(root)
            rows = self._repo.pending_rewrap(self._primary, after=after, limit=limit)
            if not rows:
                return 0, None
            updates = self._rewrap_rows(root, rows)
        done = self._repo.apply_rewrap(updates)
        return done, (rows[-1].row_id if len(rows) == limit else None)

    def _rewrap_rows(self, root: RootKeys, rows: Sequence[DataKeyRecord]) -> list[Rewrapped]:
        updates: list[Rewrapped] = []
        done = 0
        while done < len(rows):
            version, kek, granted = self._kek_for_wrap(root, len(rows) - done)
            for row in rows[done : done + granted]:
                old = row.kek_version
                if row.wrapped is None or old is None or old == version:
                    continue
                aad = _dek_aad(row.tenant, row.subject_id, row.version)
                material = self._kek(root, old).open(row.wrapped, aad=aad)
                updates.append(Rewrapped(row.row_id, old, version, kek.seal(material, aad=aad)))
            done += granted
        return updates

    def _record(self, action: str, actor: str, *, resource: str, reason: str | None = None) -> None:
        if self._audit is not None:
            self._audit.append(
                AuditRecord(
                    action=action, actor=actor, outcome="success", resource=resource, reason=reason
                )
            )
