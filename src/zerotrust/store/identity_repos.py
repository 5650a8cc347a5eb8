"""SQL repositories for identity (implement ``zerotrust.identity.interfaces``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from zerotrust.core.errors import Conflict
from zerotrust.identity.models import (
    Challenge,
    LoginAttempt,
    Principal,
    PrincipalStatus,
    RefreshToken,
    Session,
    TotpRecord,
    WebAuthnCredential,
    name_key,
)
from zerotrust.store import schema as t
from zerotrust.store.database import Database


class SqlPrincipals:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, principal: Principal, *, granted_by: str) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(
                t.principals.insert().values(
                    id=principal.id,
                    kind=principal.kind,
                    name=principal.name,
                    name_key=name_key(principal.name),
                    display_name=principal.display_name,
                    status=principal.status,
                    workload_kind=principal.workload_kind,
                    purposes=list(principal.purposes),
                    created_at=principal.created_at,
                )
            )
            for role in principal.roles:
                conn.execute(
                    t.role_assignments.insert().values(
                        principal_id=principal.id,
                        role=role,
                        granted_by=granted_by,
                        granted_at=principal.created_at,
                    )
                )

        try:
            self.db.run(tx)
        except SAIntegrityError:
            raise Conflict(
                "A principal with that name already exists.", code="principal_exists"
            ) from None

    def _build(self, conn: Connection, row: Any) -> Principal:
        roles = (
            conn.execute(
                sa.select(t.role_assignments.c.role)
                .where(t.role_assignments.c.principal_id == row.id)
                .order_by(t.role_assignments.c.role)
            )
            .scalars()
            .all()
        )
        return Principal(
            id=row.id,
            kind=row.kind,
            name=row.name,
            display_name=row.display_name,
            status=row.status,
            roles=tuple(roles),
            created_at=row.created_at,
            workload_kind=row.workload_kind,
            purposes=tuple(row.purposes or ()),
        )

    def _one(self, where: Any) -> Principal | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.principals).where(where)).first()
            return None if row is None else self._build(conn, row)

    def get(self, principal_id: str) -> Principal | None:
        return self._one(t.principals.c.id == principal_id)

    def by_name(self, name_key: str) -> Principal | None:
        return self._one(t.principals.c.name_key == name_key)

    def list(self, kind: str | None = None) -> Sequence[Principal]:
        query = sa.select(t.principals).order_by(t.principals.c.name_key)
        if kind:
            query = query.where(t.principals.c.kind == kind)
        with self.db.engine.connect() as conn:
            return [self._build(conn, row) for row in conn.execute(query)]

    def set_status(self, principal_id: str, status: PrincipalStatus) -> None:
        self.db.run(
            lambda c: c.execute(
                t.principals.update().where(t.principals.c.id == principal_id).values(status=status)
            )
        )

    def grant_role(self, principal_id: str, role: str, *, granted_by: str, now: float) -> None:
        def tx(conn: Connection) -> None:
            exists = conn.execute(
                sa.select(t.role_assignments.c.role).where(
                    t.role_assignments.c.principal_id == principal_id,
                    t.role_assignments.c.role == role,
                )
            ).first()
            if exists is None:
                conn.execute(
                    t.role_assignments.insert().values(
                        principal_id=principal_id, role=role, granted_by=granted_by, granted_at=now
                    )
                )

        self.db.run(tx)

    def revoke_role(self, principal_id: str, role: str) -> None:
        self.db.run(
            lambda c: c.execute(
                t.role_assignments.delete().where(
                    t.role_assignments.c.principal_id == principal_id,
                    t.role_assignments.c.role == role,
                )
            )
        )


class SqlPasswords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_hash(self, principal_id: str) -> str | None:
        with self.db.engine.connect() as conn:
            return conn.execute(
                sa.select(t.passwords.c.hash).where(t.passwords.c.principal_id == principal_id)
            ).scalar()

    def set_hash(self, principal_id: str, password_hash: str, *, now: float) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(t.passwords.delete().where(t.passwords.c.principal_id == principal_id))
            conn.execute(
                t.passwords.insert().values(
                    principal_id=principal_id, hash=password_hash, updated_at=now
                )
            )

        self.db.run(tx)


class SqlTotp:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, principal_id: str) -> TotpRecord | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.totp_secrets).where(t.totp_secrets.c.principal_id == principal_id)
            ).first()
        if row is None:
            return None
        return TotpRecord(
            principal_id=row.principal_id,
            secret_envelope=row.secret_envelope,
            status=row.status,
            last_used_step=row.last_used_step,
        )

    def put(self, record: TotpRecord, *, now: float) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(
                t.totp_secrets.delete().where(t.totp_secrets.c.principal_id == record.principal_id)
            )
            conn.execute(
                t.totp_secrets.insert().values(
                    principal_id=record.principal_id,
                    secret_envelope=record.secret_envelope,
                    status=record.status,
                    last_used_step=record.last_used_step,
                    created_at=now,
                )
            )

        self.db.run(tx)

    def activate(self, principal_id: str) -> None:
        self.db.run(
            lambda c: c.execute(
                t.totp_secrets.update()
                .where(t.totp_secrets.c.principal_id == principal_id)
                .values(status="active")
            )
        )

    def delete(self, principal_id: str) -> None:
        self.db.run(
            lambda c: c.execute(
                t.totp_secrets.delete().where(t.totp_secrets.c.principal_id == principal_id)
            )
        )

    def consume_step(self, principal_id: str, step: int) -> bool:
        # One conditional UPDATE: the database serialises concurrent submissions, and
        # the WHERE clause is re-checked under the row lock, so exactly one wins.
        result = self.db.run(
            lambda c: c.execute(
                t.totp_secrets.update()
                .where(
                    t.totp_secrets.c.principal_id == principal_id,
                    t.totp_secrets.c.last_used_step < step,
                )
                .values(last_used_step=step)
            )
        )
        return bool(result.rowcount == 1)


def _credential(row: Any) -> WebAuthnCredential:
    return WebAuthnCredential(
        credential_id=row.credential_id,
        principal_id=row.principal_id,
        public_key=row.public_key,
        sign_count=row.sign_count,
        name=row.name,
        transports=tuple(row.transports or ()),
        aaguid=row.aaguid,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


class SqlWebAuthnCredentials:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, credential: WebAuthnCredential) -> None:
        try:
            self.db.run(
                lambda c: c.execute(
                    t.webauthn_credentials.insert().values(
                        credential_id=credential.credential_id,
                        principal_id=credential.principal_id,
                        public_key=credential.public_key,
                        sign_count=credential.sign_count,
                        name=credential.name,
                        transports=list(credential.transports),
                        aaguid=credential.aaguid,
                        created_at=credential.created_at,
                        last_used_at=credential.last_used_at,
                    )
                )
            )
        except SAIntegrityError:
            raise Conflict(
                "That credential is already registered.", code="credential_exists"
            ) from None

    def get(self, credential_id: str) -> WebAuthnCredential | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.webauthn_credentials).where(
                    t.webauthn_credentials.c.credential_id == credential_id
                )
            ).first()
        return None if row is None else _credential(row)

    def for_principal(self, principal_id: str) -> Sequence[WebAuthnCredential]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.webauthn_credentials)
                .where(t.webauthn_credentials.c.principal_id == principal_id)
                .order_by(t.webauthn_credentials.c.created_at)
            ).all()
        return [_credential(r) for r in rows]

    def update_sign_count(
        self, credential_id: str, *, expected_old: int, new: int, now: float
    ) -> bool:
        result = self.db.run(
            lambda c: c.execute(
                t.webauthn_credentials.update()
                .where(
                    t.webauthn_credentials.c.credential_id == credential_id,
                    t.webauthn_credentials.c.sign_count == expected_old,
                )
                .values(sign_count=new, last_used_at=now)
            )
        )
        return bool(result.rowcount == 1)

    def delete_for_principal(self, principal_id: str) -> None:
        self.db.run(
            lambda c: c.execute(
                t.webauthn_credentials.delete().where(
                    t.webauthn_credentials.c.principal_id == principal_id
                )
            )
        )


class SqlChallenges:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, challenge: Challenge) -> None:
        # Challenges issued but never answered would pile up: whenever one is issued,
        # clear those that expired an hour before it will (indexed, so this stays cheap;
        # expired ones are refused by the verifier anyway, so this only bounds growth).
        self.purge_expired(now=challenge.expires_at - 3600)
        self.db.run(
            lambda c: c.execute(
                t.webauthn_challenges.insert().values(
                    digest=challenge.digest,
                    principal_id=challenge.principal_id,
                    purpose=challenge.purpose,
                    require_uv=challenge.require_uv,
                    expires_at=challenge.expires_at,
                )
            )
        )

    def take(self, digest: str) -> Challenge | None:
        def tx(conn: Connection) -> Challenge | None:
            row = conn.execute(
                sa.delete(t.webauthn_challenges)
                .where(t.webauthn_challenges.c.digest == digest)
                .returning(*t.webauthn_challenges.c)
            ).first()
            if row is None:
                return None
            return Challenge(
                digest=row.digest,
                principal_id=row.principal_id,
                purpose=row.purpose,
                require_uv=bool(row.require_uv),
                expires_at=row.expires_at,
            )

        return self.db.run(tx)

    def purge_expired(self, *, now: float) -> int:
        result = self.db.run(
            lambda c: c.execute(
                t.webauthn_challenges.delete().where(t.webauthn_challenges.c.expires_at < now)
            )
        )
        return int(result.rowcount)


class SqlRecoveryCodes:
    def __init__(self, db: Database) -> None:
        self.db = db

    def replace(self, principal_id: str, code_hashes: Sequence[str]) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(
                t.recovery_codes.delete().where(t.recovery_codes.c.principal_id == principal_id)
            )
            if code_hashes:
                conn.execute(
                    t.recovery_codes.insert(),
                    [
                        {"principal_id": principal_id, "code_hash": h, "used_at": None}
                        for h in code_hashes
                    ],
                )

        self.db.run(tx)

    def hashes(self, principal_id: str) -> Sequence[str]:
        with self.db.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(t.recovery_codes.c.code_hash).where(
                        t.recovery_codes.c.principal_id == principal_id,
                        t.recovery_codes.c.used_at.is_(None),
                    )
                )
                .scalars()
                .all()
            )

    def consume(self, principal_id: str, code_hash: str, *, now: float) -> bool:
        result = self.db.run(
            lambda c: c.execute(
                t.recovery_codes.update()
                .where(
                    t.recovery_codes.c.principal_id == principal_id,
                    t.recovery_codes.c.code_hash == code_hash,
                    t.recovery_codes.c.used_at.is_(None),
                )
                .values(used_at=now)
            )
        )
        return bool(result.rowcount == 1)

    def delete_for_principal(self, principal_id: str) -> None:
        self.db.run(
            lambda c: c.execute(
                t.recovery_codes.delete().where(t.recovery_codes.c.principal_id == principal_id)
            )
        )


class SqlLoginAttempts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, attempt: LoginAttempt) -> None:
        self.db.run(
            lambda c: c.execute(
                t.login_attempts.insert().values(
                    token_hash=attempt.token_hash,
                    principal_id=attempt.principal_id,
                    created_at=attempt.created_at,
                    expires_at=attempt.expires_at,
                    src_ip=attempt.src_ip,
                )
            )
        )

    def get(self, token_hash: str) -> LoginAttempt | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.login_attempts).where(t.login_attempts.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        return LoginAttempt(
            token_hash=row.token_hash,
            principal_id=row.principal_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            src_ip=row.src_ip,
        )

    def delete(self, token_hash: str) -> bool:
        result = self.db.run(
            lambda c: c.execute(
                t.login_attempts.delete().where(t.login_attempts.c.token_hash == token_hash)
            )
        )
        return bool(result.rowcount == 1)


def _session(row: Any) -> Session:
    return Session(
        id=row.id,
        principal_id=row.principal_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        auth_time=row.auth_time,
        aal=row.aal,
        amr=tuple(row.amr or ()),
        device_id=row.device_id,
        src_ip=row.src_ip,
        user_agent=row.user_agent,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
        jkt=row.jkt,
    )


_GET_SESSION = (
    "SELECT id, principal_id, created_at, last_seen_at, auth_time, aal, amr, device_id, "
    "jkt, src_ip, user_agent, revoked_at, revoked_reason FROM sessions WHERE id = ?"
)


def _refresh(row: Any) -> RefreshToken:
    return RefreshToken(
        token_hash=row.token_hash,
        session_id=row.session_id,
        family_id=row.family_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


class SqlSessions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, session: Session) -> None:
        self.db.run(
            lambda c: c.execute(
                t.sessions.insert().values(
                    id=session.id,
                    principal_id=session.principal_id,
                    created_at=session.created_at,
                    last_seen_at=session.last_seen_at,
                    auth_time=session.auth_time,
                    aal=session.aal,
                    amr=list(session.amr),
                    device_id=session.device_id,
                    jkt=session.jkt,
                    src_ip=session.src_ip,
                    user_agent=session.user_agent,
                    revoked_at=None,
                    revoked_reason=None,
                )
            )
        )

    def get(self, session_id: str) -> Session | None:
        # Read on every gateway request (revocation holds on the next one): the driver
        # connection and a constant statement, with the row mapped here.
        with self.db.driver() as conn:
            row = conn.execute(_GET_SESSION, (session_id,)).fetchone()
        if row is None:
            return None
        amr = row[6]
        return Session(
            id=row[0],
            principal_id=row[1],
            created_at=row[2],
            last_seen_at=row[3],
            auth_time=row[4],
            aal=row[5],
            amr=tuple(json.loads(amr) if isinstance(amr, str | bytes) else amr or ()),
            device_id=row[7],
            jkt=row[8],
            src_ip=row[9],
            user_agent=row[10],
            revoked_at=row[11],
            revoked_reason=row[12],
        )

    def touch(self, session_id: str, *, now: float) -> None:
        self.db.run(
            lambda c: c.execute(
                t.sessions.update()
                .where(t.sessions.c.id == session_id, t.sessions.c.last_seen_at < now)
                .values(last_seen_at=now)
            )
        )

    def revoke(self, session_id: str, *, now: float, reason: str) -> bool:
        result = self.db.run(
            lambda c: c.execute(
                t.sessions.update()
                .where(t.sessions.c.id == session_id, t.sessions.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            )
        )
        return bool(result.rowcount == 1)

    def revoke_for_principal(self, principal_id: str, *, now: float, reason: str) -> int:
        result = self.db.run(
            lambda c: c.execute(
                t.sessions.update()
                .where(t.sessions.c.principal_id == principal_id, t.sessions.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            )
        )
        return int(result.rowcount)

    def restore_for_principal(
        self, principal_id: str, *, reason: str, since: float, until: float
    ) -> Sequence[str]:
        revoked = (
            t.sessions.c.principal_id == principal_id,
            t.sessions.c.revoked_reason == reason,
            t.sessions.c.revoked_at >= since,
            t.sessions.c.revoked_at <= until,
        )

        def tx(conn: Connection) -> list[str]:
            ids = [str(r[0]) for r in conn.execute(sa.select(t.sessions.c.id).where(*revoked))]
            if ids:
                conn.execute(
                    t.sessions.update()
                    .where(t.sessions.c.id.in_(ids), *revoked)
                    .values(revoked_at=None, revoked_reason=None)
                )
            return ids

        return self.db.run(tx)

    def for_principal(self, principal_id: str) -> Sequence[Session]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.sessions)
                .where(t.sessions.c.principal_id == principal_id)
                .order_by(t.sessions.c.created_at)
            ).all()
        return [_session(r) for r in rows]

    def add_refresh(self, token: RefreshToken) -> None:
        self.db.run(
            lambda c: c.execute(
                t.refresh_tokens.insert().values(
                    token_hash=token.token_hash,
                    session_id=token.session_id,
                    family_id=token.family_id,
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                    used_at=None,
                )
            )
        )

    def use_refresh(self, token_hash: str, *, now: float) -> RefreshToken | None:
        def tx(conn: Connection) -> RefreshToken | None:
            row = conn.execute(
                sa.select(t.refresh_tokens)
                .where(t.refresh_tokens.c.token_hash == token_hash)
                .with_for_update()
            ).first()
            if row is None:
                return None
            if row.used_at is None:
                conn.execute(
                    t.refresh_tokens.update()
                    .where(
                        t.refresh_tokens.c.token_hash == token_hash,
                        t.refresh_tokens.c.used_at.is_(None),
                    )
                    .values(used_at=now)
                )
            return _refresh(row)

        return self.db.run(tx)

    def revoke_family(self, family_id: str, *, now: float) -> None:
        def tx(conn: Connection) -> None:
            session_ids = (
                conn.execute(
                    sa.select(t.refresh_tokens.c.session_id)
                    .where(t.refresh_tokens.c.family_id == family_id)
                    .distinct()
                )
                .scalars()
                .all()
            )
            conn.execute(
                t.refresh_tokens.update()
                .where(
                    t.refresh_tokens.c.family_id == family_id, t.refresh_tokens.c.used_at.is_(None)
                )
                .values(used_at=now)
            )
            if session_ids:
                conn.execute(
                    t.sessions.update()
                    .where(t.sessions.c.id.in_(session_ids), t.sessions.c.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_reason="refresh_token_reuse")
                )

        self.db.run(tx)

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.refresh_tokens).where(t.refresh_tokens.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        return _refresh(row)

    def revoke_for_jkt(self, jkt: str, *, now: float, reason: str) -> int:
        result = self.db.run(
            lambda c: c.execute(
                t.sessions.update()
                .where(t.sessions.c.jkt == jkt, t.sessions.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            )
        )
        return int(result.rowcount)


class SqlServiceAccountKeys:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, principal_id: str, public_jwk: dict[str, Any], *, kid: str, now: float) -> None:
        try:
            self.db.run(
                lambda c: c.execute(
                    t.service_account_keys.insert().values(
                        kid=kid, principal_id=principal_id, public_jwk=public_jwk, created_at=now
                    )
                )
            )
        except SAIntegrityError:
            raise Conflict("That key is already registered.", code="key_exists") from None

    def get(self, kid: str) -> tuple[str, dict[str, Any]] | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.service_account_keys).where(t.service_account_keys.c.kid == kid)
            ).first()
        return None if row is None else (row.principal_id, dict(row.public_jwk))

    def for_principal(self, principal_id: str) -> Sequence[tuple[str, dict[str, Any]]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.service_account_keys).where(
                    t.service_account_keys.c.principal_id == principal_id
                )
            ).all()
        return [(r.kid, dict(r.public_jwk)) for r in rows]
