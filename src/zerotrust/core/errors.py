"""One error tree with stable snake_case codes.

Domain code raises these; only the edges (api, gateway, cli) translate them to HTTP
status codes or exit codes. Messages are generic and never carry secrets: the detailed
reason belongs in the audit log, not in the exception text a client may see.
"""

from __future__ import annotations

from typing import ClassVar


class ZTError(Exception):
    """Root of every error zerotrust raises on purpose."""

    code: ClassVar[str] = "internal_error"
    message: ClassVar[str] = "The request could not be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.detail = message or self.message
        if code is not None:
            self.code = code  # type: ignore[misc]  # instance override of a stable default
        super().__init__(self.detail)


class InvalidInput(ZTError):
    """The input is malformed or out of bounds."""

    code = "invalid_input"
    message = "The input is not valid."


class NotFound(ZTError):
    """The thing does not exist, or the caller may not know that it does."""

    code = "not_found"
    message = "Not found."


class Conflict(ZTError):
    """The thing already exists or changed underneath the caller."""

    code = "conflict"
    message = "The request conflicts with the current state."


class AuthenticationFailed(ZTError):
    """Credentials, factor or token did not verify."""

    code = "invalid_credentials"
    message = "Authentication failed."


class ReauthRequired(AuthenticationFailed):
    """The action needs a fresh proof of the current password."""

    code = "reauth_required"
    message = "Re-authentication is required for this action."


class RateLimited(ZTError):
    """Too many attempts from this source."""

    code = "rate_limited"
    message = "Too many requests; try again later."

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Forbidden(ZTError):
    """The caller is known but may not do this."""

    code = "forbidden"
    message = "You are not allowed to do this."


class ConfigError(ZTError):
    """Settings are missing or invalid; raised at start, before serving anything."""

    code = "config_error"
    message = "The configuration is not valid."


class StoreUnavailable(ZTError):
    """A storage dependency failed; callers fail closed."""

    code = "store_unavailable"
    message = "A storage dependency is unavailable."


class IntegrityError(ZTError):
    """Ciphertext, signature or log entry failed its integrity check."""

    code = "integrity_error"
    message = "Integrity check failed."


class Sealed(ZTError):
    """The root key is unavailable; no data operation may run (never a plaintext fallback)."""

    code = "vault_sealed"
    message = "The vault is sealed."
