"""The checkpoint signing key as a file: unencrypted PKCS#8 (RFC 5208, RFC 8410), mode 0600.

The key lives outside the database on purpose: an insider who can rewrite the audit
tables must not also find the means to sign a matching checkpoint there. A key file that
other users can read is refused rather than used (as ssh does with private keys).
"""

from __future__ import annotations

from pathlib import Path

from zerotrust.core.errors import ConfigError, NotFound
from zerotrust.core.private_files import create_private
from zerotrust.crypto.signing import SigningKey, jwk_thumbprint

KEY_FILE = "audit-signing.key"


def load_signing_key(path: Path, *, create: bool = False) -> SigningKey:
    """Load the Ed25519 key at ``path``, creating it (mode 0600) when asked and missing.

    Raises ``NotFound`` if it is missing and ``create`` is false, and ``ConfigError`` if
    its permissions let anyone but the owner read it.
    """
    if not path.exists():
        if not create:
            raise NotFound(f"No audit signing key at {path}.")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Whole or not at all: processes started together (the demo's seeders) may all
        # find it missing; one key wins and every one of them loads it.
        create_private(path, SigningKey.generate("EdDSA").private_pkcs8())
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} is readable by other users; chmod 600 it.")
    der = path.read_bytes()
    # The key id is the RFC 7638 thumbprint of the public key, the same on every load.
    probe = SigningKey.from_pkcs8(der, alg="EdDSA", kid="audit")
    return SigningKey.from_pkcs8(der, alg="EdDSA", kid=jwk_thumbprint(probe.public_jwk()))
