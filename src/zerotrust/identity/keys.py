"""Identity's keys, all derived from the root key (HKDF, one purpose each).

Deriving rather than storing keeps the database free of key material: a stolen database
yields sealed TOTP secrets and signing keys, and keyed recovery-code hashes, none usable
without the root key.
"""

from __future__ import annotations

from zerotrust.crypto.aead import AeadKey, Keyring, open_sealed, seal
from zerotrust.crypto.kdf import derive_key


class IdentityKeys:
    """Sealing and hashing keys for identity secrets."""

    def __init__(self, root: bytes) -> None:
        self._secrets = Keyring(AeadKey("idsec-v1", derive_key(root, purpose="identity/secrets")))
        self.recovery_hmac_key = derive_key(root, purpose="identity/recovery-codes")
        # Decoy credential ids for names without a passkey: the same on every replica and
        # after a restart, so comparing two answers never tells who exists.
        self.decoy_hmac_key = derive_key(root, purpose="identity/decoy-credentials")

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        return seal(self._secrets.primary, plaintext, aad=aad)

    def open(self, envelope: bytes, *, aad: bytes) -> bytes:
        return open_sealed(self._secrets, envelope, aad=aad)
