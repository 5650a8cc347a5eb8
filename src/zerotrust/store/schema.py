"""Table definitions (SQLAlchemy Core). Every package's tables share this ``metadata``.

Times are stored as float seconds since the epoch (UTC); ids are prefixed random hex.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

principals = sa.Table(
    "principals",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # user | service
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("name_key", sa.String(128), nullable=False, unique=True),
    sa.Column("display_name", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("workload_kind", sa.String(64)),
    sa.Column("purposes", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

role_assignments = sa.Table(
    "role_assignments",
    metadata,
    sa.Column("principal_id", sa.String(64), sa.ForeignKey("principals.id"), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Column("granted_by", sa.String(64), nullable=False),
    sa.Column("granted_at", sa.Float, nullable=False),
)

passwords = sa.Table(
    "passwords",
    metadata,
    sa.Column("principal_id", sa.String(64), sa.ForeignKey("principals.id"), primary_key=True),
    sa.Column("hash", sa.String(256), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

totp_secrets = sa.Table(
    "totp_secrets",
    metadata,
    sa.Column("principal_id", sa.String(64), sa.ForeignKey("principals.id"), primary_key=True),
    sa.Column("secret_envelope", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | active
    sa.Column("last_used_step", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

webauthn_credentials = sa.Table(
    "webauthn_credentials",
    metadata,
    sa.Column("credential_id", sa.String(1400), primary_key=True),  # base64url
    sa.Column("principal_id", sa.String(64), sa.ForeignKey("principals.id"), nullable=False),
    sa.Column("public_key", sa.LargeBinary, nullable=False),
    sa.Column("sign_count", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("transports", sa.JSON, nullable=False),
    sa.Column("aaguid", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float),
)
sa.Index("ix_webauthn_principal", webauthn_credentials.c.principal_id)

webauthn_challenges = sa.Table(
    "webauthn_challenges",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # SHA-256 of the challenge
    sa.Column("principal_id", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),  # register | authenticate
    sa.Column("require_uv", sa.Boolean, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

sa.Index("ix_webauthn_challenges_expiry", webauthn_challenges.c.expires_at)

recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("principal_id", sa.String(64), sa.ForeignKey("principals.id"), primary_key=True),
    sa.Column("code_hash", sa.String(128), primary_key=True),
    sa.Column("used_at", sa.Float),
)

login_attempts = sa.Table(  # mfa_token: password verified, second factor pending
    "login_attempts",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("principal_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("src_ip", sa.String(64)),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("principal_id", sa.String(64), sa.ForeignKey("principals.id"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    sa.Column("auth_time", sa.Float, nullable=False),
    sa.Column("aal", sa.Integer, nullable=False),
    sa.Column("amr", sa.JSON, nullable=False),
    sa.Column("device_id", sa.String(64)),
    sa.Column("jkt", sa.String(64)),  # thumbprint of the DPoP key the session is bound to
    sa.Column("src_ip", sa.String(64)),
    sa.Column("user_agent", sa.String(512)),
    sa.Column("revoked_at", sa.Float),
    sa.Column("revoked_reason", sa.String(64)),
)
sa.Index("ix_sessions_principal", sessions.c.principal_id)
sa.Index("ix_sessions_jkt", sessions.c.jkt)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("family_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float),
)
sa.Index("ix_refresh_family", refresh_tokens.c.family_id)

counters = sa.Table(  # lockout and throttling counters when Redis is not configured
    "counters",
    metadata,
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("alg", sa.String(16), nullable=False),
    sa.Column("private_envelope", sa.LargeBinary, nullable=False),  # sealed by the root key
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("retired_at", sa.Float),
)

security_events = sa.Table(
    "security_events",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("time", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    # The process that stored it: each process's detection reads the others' events.
    sa.Column("origin", sa.String(40)),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(64), sa.ForeignKey("principals.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("jkt", sa.String(64), nullable=False, unique=True),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("approved_by", sa.String(64)),
    sa.Column("posture", sa.JSON),
    sa.Column("posture_received_at", sa.Float),
)
sa.Index("ix_devices_owner", devices.c.owner_id)

replay_cache = sa.Table(  # single-use jti values when Redis is not configured
    "replay_cache",
    metadata,
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False),
)
sa.Index("ix_replay_cache_expiry", replay_cache.c.expires_at)

service_account_keys = sa.Table(  # RFC 7523 client-assertion keys of AI workloads
    "service_account_keys",
    metadata,
    sa.Column("kid", sa.String(128), primary_key=True),
    sa.Column("principal_id", sa.String(64), sa.ForeignKey("principals.id"), nullable=False),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
