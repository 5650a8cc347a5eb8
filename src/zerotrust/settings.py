"""Settings from the environment (``ZT_*``) and an optional ``zt.toml``, validated at start.

Precedence: environment over file over defaults. Every problem is reported as one
``ConfigError`` line naming the setting, so a bad start fails fast and clearly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from zerotrust.core.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build the product."""

    data_dir: Path = Path(".zt")
    database_url: str = ""  # default: sqlite:///<data_dir>/zerotrust.db
    redis_url: str = ""  # empty: counters live in the database
    host: str = "127.0.0.1"
    port: int = 8000
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "zerotrust"
    rp_id: str = "localhost"
    rp_name: str = "zerotrust"
    origins: tuple[str, ...] = ("http://localhost:8000", "http://127.0.0.1:8000")
    root_key: str = ""  # base64url 32 bytes; empty: read <data_dir>/root.key
    access_token_ttl_s: int = 300
    refresh_token_ttl_s: int = 12 * 3600
    session_idle_s: int = 15 * 60
    session_absolute_s: int = 12 * 3600
    mfa_token_ttl_s: int = 300
    lockout_threshold: int = 10
    lockout_duration_s: int = 30 * 60
    ip_failure_limit: int = 50
    ip_failure_window_s: int = 15 * 60
    trusted_proxies: tuple[str, ...] = ()
    device_auto_approve: bool = False  # True only for the demo: admins approve devices
    policy_dir: str = ""  # empty: the packaged default policy pack
    detect_config: str = ""  # YAML of detector thresholds and playbooks; empty: defaults
    alert_webhook_url: str = ""  # alerts POSTed as JSON here (https, or http to loopback)
    alert_syslog: str = ""  # host:port: alerts as RFC 5424 syslog carrying CEF over UDP
    log_level: str = "info"
    demo: bool = False
    # The console answers only requests the gateway forwarded (console/via_gateway.py);
    # false serves it straight from the control plane, for development without a gateway.
    console_via_gateway: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def public_bases(self) -> tuple[str, ...]:
        """Origins this deployment answers on: DPoP ``htu`` and assertion ``aud`` bases."""
        return tuple(dict.fromkeys((self.issuer.rstrip("/"), *self.origins)))

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'zerotrust.db'}"


_BOOL = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    try:
        if kind in (int, "int"):
            value = int(raw)
            if value < 0:
                raise ValueError
            return value
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            return _BOOL[str(raw).strip().lower()]
        if kind in (Path, "Path"):
            return Path(str(raw))
        if kind in ("tuple[str, ...]",):
            if isinstance(raw, list | tuple):
                return tuple(str(x) for x in raw)
            return tuple(x.strip() for x in str(raw).split(",") if x.strip())
        return str(raw)
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"setting {name}: invalid value") from None


def load_settings(
    env: Mapping[str, str] | None = None, *, config_file: Path | None = None
) -> Settings:
    """Read ``ZT_*`` variables and ``zt.toml`` (``ZT_CONFIG`` names another file)."""
    env = os.environ if env is None else env
    path = config_file or Path(env.get("ZT_CONFIG", "zt.toml"))
    file_values: dict[str, Any] = {}
    if path.is_file():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    known = {f.name: f for f in fields(Settings) if f.name != "extra"}
    unknown = sorted(set(file_values) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name, f in known.items():
        raw = env.get(f"ZT_{name.upper()}", file_values.get(name))
        if raw is not None and raw != "":
            values[name] = _coerce(f"ZT_{name.upper()}", f.type, raw)
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if not 0 < s.port < 65536:
        raise ConfigError("setting ZT_PORT: must be 1-65535")
    if s.access_token_ttl_s == 0 or s.access_token_ttl_s > 300:
        raise ConfigError("setting ZT_ACCESS_TOKEN_TTL_S: must be 1-300 seconds")
    if s.lockout_threshold == 0:
        raise ConfigError("setting ZT_LOCKOUT_THRESHOLD: must be at least 1")
    if s.database_url and not s.database_url.startswith(("sqlite:", "postgresql")):
        raise ConfigError("setting ZT_DATABASE_URL: only sqlite:// and postgresql:// are supported")
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("setting ZT_REDIS_URL: must be a redis:// URL")
    if s.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError("setting ZT_LOG_LEVEL: one of debug, info, warning, error")
