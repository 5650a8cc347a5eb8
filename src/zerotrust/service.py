"""The composition root: builds every component from ``Settings``.

Nothing else constructs repositories or services, so swapping SQLite for PostgreSQL, or
database counters for Redis, is a settings change here and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from zerotrust.alert_sinks import SyslogSink, WebhookSink
from zerotrust.audit.checkpoint import CheckpointDirectory, NoteSigner
from zerotrust.audit.keyfile import KEY_FILE, load_signing_key
from zerotrust.audit.log import AuditLog
from zerotrust.core.auditing import AuditRecorder
from zerotrust.core.clock import Clock, SystemClock
from zerotrust.core.errors import ConfigError
from zerotrust.core.events import EventSink, FanoutSink
from zerotrust.core.ids import new_id
from zerotrust.crypto.providers import LoadedRootKey, RootKeyProvider, provider_from_env
from zerotrust.detect.alerts import AlertBook
from zerotrust.detect.config import DetectConfig, load_config
from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.playbooks import PlaybookRunner
from zerotrust.detect.risk import AlertFeed
from zerotrust.detect.shared import EventFeed
from zerotrust.devices.registry import DeviceRegistry
from zerotrust.identity.authentication import Authenticator
from zerotrust.identity.ceremonies import CeremonyStore
from zerotrust.identity.dpop import DpopGuard
from zerotrust.identity.interfaces import CounterStore, ReplayCache
from zerotrust.identity.keys import IdentityKeys
from zerotrust.identity.lockout import LoginGuard
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.identity.principals import PrincipalAdmin
from zerotrust.identity.sessions import SessionManager, SessionPolicy
from zerotrust.identity.tokens import TokenIssuer
from zerotrust.identity.webauthn import WebAuthnService
from zerotrust.identity.workloads import WorkloadAuthenticator
from zerotrust.policy.decision_log import DecisionLog
from zerotrust.policy.grants import GrantIndex, GrantService
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyStore, default_pack_dir
from zerotrust.responses import IdentityResponses
from zerotrust.settings import Settings
from zerotrust.store.alerts_repo import SqlAlertClaims, SqlAlerts
from zerotrust.store.audit_log import SqlAuditStore
from zerotrust.store.ceremonies_repo import SqlCeremonies
from zerotrust.store.counters import RedisCounters, SqlCounters
from zerotrust.store.database import Database
from zerotrust.store.devices_repo import RedisReplayCache, SqlDevices, SqlReplayCache
from zerotrust.store.events_repo import SqlEventSink
from zerotrust.store.grants import SqlGrants
from zerotrust.store.identity_repos import (
    SqlChallenges,
    SqlLoginAttempts,
    SqlPasswords,
    SqlPrincipals,
    SqlRecoveryCodes,
    SqlServiceAccountKeys,
    SqlSessions,
    SqlTotp,
    SqlWebAuthnCredentials,
)
from zerotrust.store.keys_repo import SqlSigningKeys
from zerotrust.store.migrations import migrate
from zerotrust.store.vault_repo import SqlVaultKeys, SqlVaultRecords
from zerotrust.vault.services import Vault, build_vault


@dataclass
class Services:
    """Every built component, for the edges (API, CLI, gateway) to use."""

    settings: Settings
    clock: Clock
    db: Database
    audit: AuditRecorder
    events: EventSink
    counters: CounterStore
    tokens: TokenIssuer
    sessions: SessionManager
    authenticator: Authenticator
    admin: PrincipalAdmin
    webauthn: WebAuthnService
    principals: SqlPrincipals
    dpop: DpopGuard
    devices: DeviceRegistry
    workloads: WorkloadAuthenticator
    policies: PolicyStore
    grants: GrantService
    grant_index: GrantIndex
    grants_repo: SqlGrants
    pdp: PolicyDecisionPoint
    decision_log: DecisionLog
    guard: LoginGuard
    detection: DetectionEngine
    alerts: AlertBook
    risk_feed: AlertFeed
    event_feed: EventFeed
    alert_sinks: list[WebhookSink | SyslogSink]
    audit_log: AuditLog | None  # None only when a test supplies its own recorder
    vault: Vault
    ceremonies: CeremonyStore  # console sign-ins and enrolments in progress, shared
    responses: IdentityResponses  # what detection's playbooks do, and their undoing
    decoy_key: bytes  # HMAC key of the console's decoy credential ids (from the root key)

    @property
    def public_bases(self) -> tuple[str, ...]:
        return self.settings.public_bases

    def close(self) -> None:
        """Clean shutdown: a final signed checkpoint, then the connections."""
        for sink in self.alert_sinks:
            sink.close()
        if self.audit_log is not None:
            self.audit_log.close()
        self.db.dispose()

    def maintain(self) -> None:
        """Periodic upkeep (every few seconds): pick up edited policies (the last good set
        stays if the new one fails), other replicas' grant changes, grant expiries, other
        processes' events into detection and their alerts into the risk scores, audit
        checkpoints, and SQLite's log checkpoint (off the request path)."""
        self.policies.poll()
        self.tokens.reload()  # another replica may have rotated the signing key
        self.grant_index.refresh(self.grants_repo)
        self.grants.expire_due()
        self.event_feed.pull()  # before the alerts: what it raises counts at once
        self.risk_feed.pull()
        if self.audit_log is not None:
            self.audit_log.maybe_checkpoint()
        self.db.checkpoint()  # last: a disk error here must not hold back the rest


def root_key_provider(settings: Settings) -> RootKeyProvider:
    """``ZT_ROOT_KEY``, else a PKCS#11 token (``ZT_PKCS11_*``), else ``root.key``, else the
    passphrase file ``root.key.enc`` unlocked by ``ZT_ROOT_PASSPHRASE``."""
    return provider_from_env(settings.data_dir, {**os.environ, "ZT_ROOT_KEY": settings.root_key})


def detect_config(settings: Settings) -> DetectConfig:
    """Detector thresholds and playbooks from ``ZT_DETECT_CONFIG`` (YAML), else defaults."""
    if not settings.detect_config:
        return load_config(None)
    path = Path(settings.detect_config)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raise ConfigError(f"setting ZT_DETECT_CONFIG: cannot read {path} as YAML") from None
    return load_config(data)


def alert_sinks(settings: Settings) -> list[WebhookSink | SyslogSink]:
    """Where alerts go besides the console's alert book."""
    sinks: list[WebhookSink | SyslogSink] = []
    if settings.alert_webhook_url:
        sinks.append(WebhookSink(settings.alert_webhook_url))
    if settings.alert_syslog:
        sinks.append(SyslogSink(settings.alert_syslog))
    return sinks


def build_audit_log(settings: Settings, db: Database, clock: Clock) -> AuditLog:
    """The tamper-evident log: entries in the database, the signing key and the exported
    checkpoints in the data directory, outside the database an insider could rewrite.
    Replicas must share the signing key file."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    signer = NoteSigner(load_signing_key(settings.data_dir / KEY_FILE, create=True))
    return AuditLog(
        SqlAuditStore(db),
        clock=clock,
        signer=signer,
        exports=[CheckpointDirectory(settings.data_dir / "checkpoints")],
        checkpoint_interval_s=60,
    )


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hashing: PasswordHashing | None = None,
    migrate_db: bool = True,
    extra_sinks: tuple[EventSink, ...] = (),
    audit: AuditRecorder | None = None,
) -> Services:
    """Wire the product. Raises ``Sealed`` if the root key is unavailable."""
    clock = clock or SystemClock()
    root = root_key_provider(settings).load()  # sealed: stop before any I/O
    keys = IdentityKeys(root)
    db = Database(settings.effective_database_url)
    if migrate_db:
        migrate(db, now=clock.now())
    audit_log: AuditLog | None = None
    if audit is None:
        audit_log = build_audit_log(settings, db, clock)
        audit = audit_log
    # Detection sees every event as it happens; its responses act on identity and devices
    # (wired below, once those exist) and its risk scores feed the policy context.
    alerts = AlertBook(audit, store=SqlAlerts(db))  # shared by every process
    sinks = alert_sinks(settings)
    # Every process's engine also counts the events the others store (``event_feed``);
    # a claim in the shared store decides which of them raises an incident's alert.
    engine = DetectionEngine(
        detect_config(settings), on_alert=[alerts.add, *sinks], claims=SqlAlertClaims(db)
    )
    stored_events = SqlEventSink(db, origin=new_id("proc"))
    # The engine first: it claims what its own events complete before any other process
    # can read them, so a replica's own incidents weigh on its very next decision.
    events: EventSink = FanoutSink([engine, stored_events, *extra_sinks])
    counters: CounterStore = (
        RedisCounters(settings.redis_url) if settings.redis_url else SqlCounters(db)
    )
    replay: ReplayCache = (
        RedisReplayCache(settings.redis_url) if settings.redis_url else SqlReplayCache(db)
    )
    principals = SqlPrincipals(db)
    credentials = SqlWebAuthnCredentials(db)
    tokens = TokenIssuer(
        repo=SqlSigningKeys(db),
        keys=keys,
        clock=clock,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl_s=settings.access_token_ttl_s,
    )
    sessions = SessionManager(
        sessions=SqlSessions(db),
        principals=principals,
        tokens=tokens,
        audit=audit,
        clock=clock,
        policy=SessionPolicy(
            idle_s=settings.session_idle_s,
            absolute_s=settings.session_absolute_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
        ),
    )
    webauthn = WebAuthnService(
        rp_id=settings.rp_id,
        rp_name=settings.rp_name,
        expected_origins=settings.origins,
        credentials=credentials,
        challenges=SqlChallenges(db),
        clock=clock,
        audit=audit,
    )
    hashing = hashing or PasswordHashing()
    guard = LoginGuard(
        counters,
        clock,
        threshold=settings.lockout_threshold,
        lock_s=settings.lockout_duration_s,
        ip_limit=settings.ip_failure_limit,
        ip_window_s=settings.ip_failure_window_s,
    )
    passwords, totps, recovery = SqlPasswords(db), SqlTotp(db), SqlRecoveryCodes(db)
    devices = DeviceRegistry(
        repo=SqlDevices(db),
        audit=audit,
        clock=clock,
        revoke_bound=lambda jkt: sessions.revoke_bound(jkt, reason="device_revoked"),
        auto_approve=settings.device_auto_approve,
    )
    authenticator = Authenticator(
        principals=principals,
        passwords=passwords,
        totps=totps,
        recovery_codes=recovery,
        attempts=SqlLoginAttempts(db),
        credentials=credentials,
        webauthn=webauthn,
        sessions=sessions,
        guard=guard,
        hashing=hashing,
        keys=keys,
        events=events,
        audit=audit,
        clock=clock,
        devices=devices,
        mfa_token_ttl_s=settings.mfa_token_ttl_s,
    )
    workloads = WorkloadAuthenticator(
        principals=principals,
        keys=SqlServiceAccountKeys(db),
        replay=replay,
        sessions=sessions,
        audit=audit,
        events=events,
        clock=clock,
        token_endpoints=[f"{base}/v1/oauth/token" for base in settings.public_bases]
        + [settings.issuer],
    )
    admin = PrincipalAdmin(
        principals=principals,
        passwords=passwords,
        totps=totps,
        credentials=credentials,
        recovery_codes=recovery,
        sessions=sessions,
        hashing=hashing,
        keys=keys,
        audit=audit,
        clock=clock,
        issuer_name=settings.rp_name,
    )
    responses = IdentityResponses(
        admin=admin,
        sessions=sessions,
        guard=guard,
        devices=devices,
        alerts=alerts,
        clock=clock,
        audit=audit,
    )
    engine.responder = PlaybookRunner(
        responses,
        audit,
        engine.config.playbooks,
    )
    # The vault: a root-derived KEK hierarchy and a data key per subject; if the root key
    # cannot be had it stays sealed (data calls answer 503), the rest keeps running.
    vault = build_vault(
        # The key is already unsealed above: a passphrase file's KDF runs once, not twice.
        provider=LoadedRootKey(root),
        key_repo=SqlVaultKeys(db),
        record_repo=SqlVaultRecords(db),
        audit=audit,
        clock=clock,
    )
    policies = PolicyStore.from_dir(
        Path(settings.policy_dir) if settings.policy_dir else default_pack_dir(), audit=audit
    )
    grant_repo, grant_index = SqlGrants(db), GrantIndex()
    grant_index.refresh(grant_repo)
    grants = GrantService(grant_repo, audit=audit, clock=clock, listeners=[grant_index.put])
    event_feed = EventFeed(stored_events, engine.ingest)
    risk_feed = AlertFeed(alerts.store, engine.risk, now=clock.now())
    risk_feed.pull()  # a restarted replica decides with the risk that still weighs
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        audit=audit,
        events=events,
        counters=counters,
        tokens=tokens,
        sessions=sessions,
        authenticator=authenticator,
        admin=admin,
        webauthn=webauthn,
        principals=principals,
        dpop=DpopGuard(replay, clock),
        devices=devices,
        workloads=workloads,
        policies=policies,
        grants=grants,
        grant_index=grant_index,
        grants_repo=grant_repo,
        pdp=PolicyDecisionPoint(policies, grants=grant_index, clock=clock),
        decision_log=DecisionLog(settings.data_dir / "decisions.jsonl"),
        guard=guard,
        detection=engine,
        alerts=alerts,
        risk_feed=risk_feed,
        event_feed=event_feed,
        alert_sinks=sinks,
        audit_log=audit_log,
        vault=vault,
        ceremonies=SqlCeremonies(db, clock),
        decoy_key=keys.decoy_hmac_key,
        responses=responses,
    )
