"""The live ``EvidenceSource`` and ``AccessControl`` for compliance, over ``Services``.

Compliance is a pure domain package: it may not import the store or the service. This
adapter, at the package root beside the composition root, reads what it needs from the
built services (and, for the streamed audit scan, the audit store) and hands compliance
plain facts. Everything here is read-only except ``record`` (audit entries) and the two
revocations a review campaign decides.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from zerotrust.audit.checkpoint import CheckpointDirectory, NoteSigner
from zerotrust.audit.entry import decode_entry, seq_prefix
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.audit.keyfile import KEY_FILE, load_signing_key
from zerotrust.audit.verify import verify_log
from zerotrust.compliance.models import (
    AuthSettings,
    FieldFacts,
    GrantFacts,
    IntegrityFacts,
    KeyFacts,
    Permission,
    PrincipalFacts,
    ScannedEntry,
)
from zerotrust.compliance.reviews import Campaign
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import InvalidInput, ZTError
from zerotrust.identity.models import Principal
from zerotrust.policy.grants import GrantStatus
from zerotrust.policy.model import ACTIONS, RESOURCE_TYPES, AuthzRequest, Entity
from zerotrust.service import Services
from zerotrust.store.audit_log import SqlAuditStore
from zerotrust.store.vault_repo import vault_records
from zerotrust.vault.fields import key_version
from zerotrust.vault.kinds import KINDS

_OWNED: Final = frozenset(
    {"Customer", "CustomerPII", "CustomerProfile", "Transaction", "CreditProfile"}
)
# The most permissive legitimate context: what a principal could be allowed at best.
_BEST_CONTEXT: Final[Mapping[str, Any]] = {
    "aal": 3,
    "auth_age_s": 30,
    "device": {"enrolled": True, "trust": "high", "patch_age_days": 1},
    "risk": {"score": 0, "level": "low"},
    "country": "GB",
    "hour_local": 10,
    "case_customer": "probe",
}
FIELD_CLASSES: Final[Mapping[str, str]] = {
    "pan": "PAN",
    "card_token": "pseudonymised",  # a keyed format-preserving token, not the PAN
    "amount": "financial",
    "currency": "financial",
    "merchant": "financial",
    "description": "financial",
    "score": "financial",
    "income": "financial",
    "debt": "financial",
    "employment": "PII",
    # A transaction's circumstances: where, when, how, and whether it was fraud.
    "category": "financial",
    "country": "financial",
    "occurred_at": "financial",
    "channel": "financial",
    "fraud_label": "financial",
}
# What a model concluded about a customer is its own class, whatever the field is called.
KIND_CLASSES: Final[Mapping[str, str]] = {"model_output": "model_output"}
SAMPLE_ROWS: Final = 200
_APPROVED: Final[tuple[GrantStatus, ...]] = ("approved",)


def _principal_facts(svc: Services, p: Principal) -> PrincipalFacts:
    return PrincipalFacts(
        id=p.id,
        name=p.name,
        kind=p.kind,
        active=p.active,
        roles=tuple(p.roles),
        mfa_methods=svc.authenticator.methods(p.id) if p.kind == "user" else (),
        workload_kind=p.workload_kind,
        purposes=tuple(p.purposes),
    )


def _entity(p: PrincipalFacts, roles: Sequence[str]) -> Entity:
    if p.kind == "service":
        return Entity(
            "ServiceAccount",
            p.id,
            {"workload": p.workload_kind or "", "purposes": list(p.purposes)},
        )
    return Entity("User", p.id, {"roles": list(roles)})


def _resource(rtype: str) -> Entity:
    if rtype in _OWNED:
        return Entity(rtype, "probe", {"customer": "probe"})
    if rtype == "Database":
        return Entity(rtype, "probe", {"environment": "staging"})
    return Entity(rtype, "probe")


class LiveEvidence:
    """``EvidenceSource`` and ``AccessControl`` over the built services."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._store = SqlAuditStore(svc.db, create=False)
        self._probe = cache(self._probe_uncached)

    # -- facts -----------------------------------------------------------------------

    def now(self) -> float:
        return self.svc.clock.now()

    def principals(self) -> list[PrincipalFacts]:
        return [_principal_facts(self.svc, p) for p in self.svc.principals.list()]

    def auth_settings(self) -> AuthSettings:
        s = self.svc.settings
        return AuthSettings(
            s.lockout_threshold, s.lockout_duration_s, s.session_idle_s, s.session_absolute_s
        )

    def key_versions(self) -> list[KeyFacts]:
        return [
            KeyFacts(
                k.version, k.primary, k.created_at, k.age_s, k.usage, k.usage_limit, k.data_keys
            )
            for k in self.svc.vault.keys.status()
        ]

    def classified_fields(self) -> list[FieldFacts]:
        out = []
        for spec in KINDS.values():
            samples = self._sample(spec.name)
            for f in spec.fields:
                if not f.stored:
                    continue
                values = [row[f.name] for row in samples if f.name in row]
                out.append(
                    FieldFacts(
                        kind=spec.name,
                        resource_type=spec.resource_type,
                        field=f.name,
                        data_class=KIND_CLASSES.get(spec.name, FIELD_CLASSES.get(f.name, "PII")),
                        encrypted=all(_is_envelope(v) for v in values),
                        revealed=f.revealed,
                        sampled=len(values),
                    )
                )
        return out

    def _sample(self, kind: str) -> list[Mapping[str, Any]]:
        stmt = sa.select(vault_records.c.fields).where(vault_records.c.kind == kind)
        with self.svc.db.engine.connect() as conn:
            rows = conn.execute(stmt.limit(SAMPLE_ROWS)).scalars().all()
        return [dict(r) for r in rows]

    # -- the audit log ---------------------------------------------------------------

    def verify_audit_log(self) -> IntegrityFacts:
        log = self.svc.audit_log
        data_dir = self.svc.settings.data_dir
        try:
            if log is not None:
                log.checkpoint()  # a fresh signed head, so the whole log is covered
            verifier = NoteSigner(load_signing_key(data_dir / KEY_FILE, create=False)).verifier()
            folder = CheckpointDirectory(data_dir / "checkpoints")
            notes = dict.fromkeys([n for n in (folder.latest(),) if n] + list(folder.history()))
            result = verify_log(self._store, [verifier.open(n) for n in notes])
        except ZTError as exc:
            return IntegrityFacts(
                False, self._store.head().size, error=exc.detail, seq=getattr(exc, "seq", None)
            )
        return IntegrityFacts(True, result.size, checkpoints=result.checkpoints)

    def audit_entries(self, *, since: float | None) -> Iterator[ScannedEntry]:
        start = 0
        if since is not None:
            first = self._store.query(EntryFilter(since=since), limit=1)
            if not first:
                return
            start = first[0].seq
        sha256 = hashlib.sha256
        for batch in self._store.scan(start=start, batch_size=5000):
            for row in batch:
                if sha256(
                    b"\x00" + row.entry
                ).digest() != row.leaf_hash or not row.entry.startswith(seq_prefix(row.seq)):
                    yield ScannedEntry(row.seq, None)
                    continue
                yield ScannedEntry(row.seq, decode_entry(row.entry))

    def inclusion_proof(self, seq: int) -> dict[str, Any] | None:
        if self.svc.audit_log is None:
            return None
        try:
            return self.svc.audit_log.inclusion_proof(seq).to_json()
        except ZTError:
            return None

    # -- policy ----------------------------------------------------------------------

    def _probe_uncached(
        self, principal: PrincipalFacts, roles: tuple[str, ...]
    ) -> frozenset[Permission]:
        entity = _entity(principal, roles)
        context = dict(_BEST_CONTEXT)
        if principal.kind == "service":
            context["purpose"] = principal.purposes[0] if principal.purposes else "probe"
        found = set()
        for action in ACTIONS:
            for rtype in RESOURCE_TYPES:
                decision = self.svc.pdp.decide(
                    AuthzRequest(entity, action, _resource(rtype), context)
                )
                if decision.effect in ("allow", "step_up"):
                    found.add((action, rtype))
        return frozenset(found)

    def permissions(self, principal: PrincipalFacts) -> frozenset[Permission]:
        return self._probe(principal, principal.roles)

    def role_permissions(self, principal: PrincipalFacts, role: str) -> frozenset[Permission]:
        return self._probe(principal, (role,))

    def admin_effect_at_aal2(self) -> str:
        context = {**_BEST_CONTEXT, "aal": 2}
        request = AuthzRequest(
            Entity("User", "probe", {"roles": ["admin"]}),
            "manage",
            Entity("Role", "probe"),
            context,
        )
        return self.svc.pdp.decide(request).effect

    def detectors(self) -> list[str]:
        return [d.name for d in self.svc.detection.detectors]

    def grants(self) -> list[GrantFacts]:
        now = self.now()
        return [
            GrantFacts(
                g.id,
                g.principal_id,
                g.action,
                g.resource_type,
                g.resource_id,
                g.decided_at,
                g.expires_at,
            )
            for g in self.svc.grants.find(statuses=_APPROVED)
            if g.state(now) == "active"
        ]

    # -- AccessControl ---------------------------------------------------------------

    def record(self, record: AuditRecord) -> int:
        return self.svc.audit.append(record)

    def revoke_role(self, principal_id: str, role: str, *, actor: str) -> None:
        self.svc.admin.revoke_role(self.svc.admin.get(principal_id), role, actor=actor)

    def revoke_grant(self, grant_id: str, *, actor: str) -> None:
        self.svc.grants.revoke(grant_id, by=actor)


def _is_envelope(value: object) -> bool:
    """A stored field is base64 of a version-1 AES-GCM envelope naming its key version."""
    if not isinstance(value, str):
        return False
    try:
        raw = base64.b64decode(value, validate=True)
        key_version(raw)
    except (ValueError, ZTError):
        return False
    return len(raw) >= 2 + raw[1] + 12 + 16


class FileCampaigns:
    """Review campaigns as JSON files under ``<data dir>/reviews`` (atomic writes)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, campaign_id: str) -> Path:
        if not campaign_id.startswith("rev_") or not campaign_id[4:].isalnum():
            raise InvalidInput("campaign: not a campaign id")
        return self.folder / f"{campaign_id}.json"

    def save(self, campaign: Campaign) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(campaign.to_json(), out, indent=2, sort_keys=True)
        Path(tmp).replace(self._path(campaign.id))

    def get(self, campaign_id: str) -> Campaign | None:
        path = self._path(campaign_id)
        if not path.is_file():
            return None
        return Campaign.from_json(json.loads(path.read_text(encoding="utf-8")))

    def list(self) -> list[Campaign]:
        if not self.folder.is_dir():
            return []
        found = [
            Campaign.from_json(json.loads(p.read_text(encoding="utf-8")))
            for p in sorted(self.folder.glob("rev_*.json"))
        ]
        return sorted(found, key=lambda c: c.started_at)


def campaigns_for(svc: Services) -> FileCampaigns:
    return FileCampaigns(svc.settings.data_dir / "reviews")
