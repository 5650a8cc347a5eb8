"""The device key: generated on the device, kept in a file only its owner can read."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from zerotrust.core.private_files import create_private
from zerotrust.crypto.encoding import b64url_decode, b64url_encode
from zerotrust.crypto.signing import SigningKey, jwk_thumbprint


class DeviceKey:
    """An ES256 (P-256) or EdDSA key pair whose private half never leaves this machine."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    @classmethod
    def generate(cls, alg: str = "ES256") -> DeviceKey:
        return cls(SigningKey.generate(alg))

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self.key.public_jwk())

    @property
    def jkt(self) -> str:
        return jwk_thumbprint(self.key.public_jwk())

    def save(self, path: Path) -> None:
        """Write ``alg`` and the PKCS#8 key, mode 0600, whole, refusing to overwrite."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = f"{self.key.alg}\n{b64url_encode(self.key.private_pkcs8())}\n"
        if not create_private(path, text.encode("ascii")):
            raise FileExistsError(errno.EEXIST, "refusing to overwrite a key", str(path))

    @classmethod
    def load(cls, path: Path) -> DeviceKey:
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} is readable by others; chmod 600 it")
        alg, encoded = path.read_text(encoding="ascii").split()
        der = b64url_decode(encoded)
        probe = SigningKey.from_pkcs8(der, alg=alg, kid="device")
        return cls(SigningKey.from_pkcs8(der, alg=alg, kid=jwk_thumbprint(probe.public_jwk())))
