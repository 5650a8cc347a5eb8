"""Root key providers: where the key at the top of the hierarchy comes from.

The root key never sits in the database. Four providers, one protocol (``load``):

- ``PassphraseKeyFile`` (the default for new installs): a random root key encrypted under a
  key derived from an operator passphrase with argon2id (RFC 9106), in a versioned file.
- ``FileRootKey``: the raw key in a 0600 file; still read so existing data dirs keep working.
- ``EnvRootKey``: the key handed over by the environment (a secret manager).
- ``Pkcs11RootKey``: a non-extractable AES-256 key inside an HSM (PKCS#11 v2.40) wraps the
  root key; only the wrapped form is on disk, and unwrapping needs the token and its PIN.

A missing or malformed key seals the product: ``Sealed``, never a default key. A wrong
passphrase or PIN, or a key that does not open the stored blob, is ``InvalidKey``.

``AeadHandle`` is the hot-path form of a key that a provider's hierarchy hands out: the
AES-256-GCM state is built once, and it seals exactly the version-1 envelope of
``aead.seal`` (so ``aead.open_sealed`` opens it and vice versa).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zerotrust.core.errors import IntegrityError, InvalidInput, Sealed, ZTError
from zerotrust.core.private_files import create_private
from zerotrust.core.secret import Secret
from zerotrust.crypto.aead import FORMAT_VERSION, NONCE_SIZE, TAG_SIZE, AeadKey
from zerotrust.crypto.encoding import b64url_decode, b64url_encode

if TYPE_CHECKING:
    import pkcs11

ROOT_KEY_BYTES = 32
MIN_PASSPHRASE = 12


class RootKeyProvider(Protocol):
    def load(self) -> bytes:
        """The 32-byte root key; raises ``Sealed`` when it cannot be had."""
        ...


class InvalidKey(Sealed):
    """Unseal was attempted with a wrong passphrase, PIN or key; the vault stays sealed."""

    code = "invalid_key"
    message = "The key material does not unseal the vault."


class RandomnessFailure(ZTError):
    """The random number generator repeated itself; nothing is encrypted (SP 800-90A)."""

    code = "rng_failure"
    message = "The random number generator failed."


def _decode(text: str) -> bytes:
    try:
        key = b64url_decode(text.strip())
    except InvalidInput:
        raise Sealed("The root key is malformed.") from None
    if len(key) != ROOT_KEY_BYTES:
        raise Sealed("The root key has the wrong length.")
    return key


def _write_private(path: Path, text: str) -> bool:
    """Create ``path`` with mode 0600 unless it exists, whole (another process never
    reads it half-written); True if this call wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return create_private(path, text.encode("ascii"))


def _read_private(path: Path) -> str:
    try:
        if path.stat().st_mode & 0o077:
            raise Sealed("The root key file is readable by others; chmod 600 it.")
        return path.read_text(encoding="ascii")
    except (FileNotFoundError, PermissionError, UnicodeDecodeError, IsADirectoryError):
        raise Sealed("The root key file is missing or unreadable.") from None


class EnvRootKey:
    """A base64url root key handed over by the environment."""

    def __init__(self, value: str) -> None:
        self._value = value

    def load(self) -> bytes:
        return _decode(self._value)

    def __repr__(self) -> str:
        return "EnvRootKey(**********)"


class FileRootKey:
    """A root key kept in a file readable only by its owner (data dirs made before v1)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self) -> bool:
        """Write a fresh key if none exists; True if one was written."""
        return _write_private(self.path, b64url_encode(secrets.token_bytes(ROOT_KEY_BYTES)) + "\n")

    def load(self) -> bytes:
        return _decode(_read_private(self.path))


# --- Passphrase-protected key file -------------------------------------------------------

PASSPHRASE_FORMAT: Final = "zerotrust-root-key"  # noqa: S105 - a format name, not a secret


@dataclass(frozen=True)
class Argon2Params:
    """argon2id cost; the default is RFC 9106 §4's second recommended option (64 MiB)."""

    memory_kib: int = 64 * 1024
    time_cost: int = 3
    parallelism: int = 4

    def check(self) -> None:
        # Bounds stop a tampered file from asking for terabytes (or for no work at all).
        if not (
            8 <= self.parallelism * 8 <= self.memory_kib <= 4 * 1024 * 1024
            and 1 <= self.time_cost <= 32
            and 1 <= self.parallelism <= 64
        ):
            raise Sealed("The root key file has invalid KDF parameters.")


def _kdf(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    return hash_secret_raw(
        secret=passphrase.encode("utf-8"),
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=ROOT_KEY_BYTES,
        type=Type.ID,
    )


def _header_aad(header: Mapping[str, Any]) -> bytes:
    # The header (format, version, KDF and its parameters) is authenticated, so nobody can
    # lower the argon2 cost in the file without the passphrase.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("ascii")


class PassphraseKeyFile:
    """A random root key sealed under argon2id(passphrase) with AES-256-GCM, format v1::

    {"format": "zerotrust-root-key", "version": 1,
     "kdf": {"alg": "argon2id", "m_kib": …, "t": …, "p": …, "salt": b64url},
     "nonce": b64url, "ciphertext": b64url}
    """

    VERSION: Final = 1

    def __init__(
        self,
        path: Path,
        passphrase: Secret[str] | None,
        *,
        params: Argon2Params | None = None,
    ) -> None:
        self.path = path
        self._passphrase = passphrase
        self._params = params or Argon2Params()

    def __repr__(self) -> str:
        return f"PassphraseKeyFile({str(self.path)!r})"

    def _secret(self) -> str:
        if self._passphrase is None or not self._passphrase.reveal():
            raise Sealed("A passphrase is needed to unseal the vault.")
        return self._passphrase.reveal()

    def create(self) -> bool:
        """Write a fresh root key sealed under the passphrase; False if the file exists."""
        passphrase = self._secret()
        if len(passphrase) < MIN_PASSPHRASE:
            raise InvalidInput(
                "The passphrase must have at least 12 characters.", code="passphrase_too_short"
            )
        if self.path.exists():
            return False
        return _write_private(self.path, self._seal(secrets.token_bytes(ROOT_KEY_BYTES)))

    def _seal(self, root: bytes) -> str:
        salt = secrets.token_bytes(16)
        p = self._params
        header = {
            "format": PASSPHRASE_FORMAT,
            "version": self.VERSION,
            "kdf": {
                "alg": "argon2id",
                "m_kib": p.memory_kib,
                "t": p.time_cost,
                "p": p.parallelism,
                "salt": b64url_encode(salt),
            },
        }
        nonce = secrets.token_bytes(NONCE_SIZE)
        kek = _kdf(self._secret(), salt, p)
        sealed = AESGCM(kek).encrypt(nonce, root, _header_aad(header))
        body = {**header, "nonce": b64url_encode(nonce), "ciphertext": b64url_encode(sealed)}
        return json.dumps(body, sort_keys=True) + "\n"

    def load(self) -> bytes:
        header, nonce, sealed, salt, params = _parse_passphrase_file(_read_private(self.path))
        params.check()
        kek = _kdf(self._secret(), salt, params)
        try:
            root = AESGCM(kek).decrypt(nonce, sealed, _header_aad(header))
        except InvalidTag:
            raise InvalidKey("The passphrase does not open the root key file.") from None
        if len(root) != ROOT_KEY_BYTES:
            raise Sealed("The root key has the wrong length.")
        return root

    def change_passphrase(self, new: Secret[str]) -> None:
        """Re-seal the same root key under a new passphrase (atomic rename)."""
        root = self.load()
        replacement = PassphraseKeyFile(self.path, new, params=self._params)
        if len(new.reveal()) < MIN_PASSPHRASE:
            raise InvalidInput(
                "The passphrase must have at least 12 characters.", code="passphrase_too_short"
            )
        tmp = self.path.with_name(self.path.name + ".new")
        tmp.unlink(missing_ok=True)
        _write_private(tmp, replacement._seal(root))
        tmp.replace(self.path)
        self._passphrase = new


def _parse_passphrase_file(
    text: str,
) -> tuple[dict[str, Any], bytes, bytes, bytes, Argon2Params]:
    try:
        data = json.loads(text)
        kdf = data["kdf"]
        if data["format"] != PASSPHRASE_FORMAT or data["version"] != PassphraseKeyFile.VERSION:
            raise Sealed("The root key file has an unknown format version.")
        if kdf["alg"] != "argon2id":
            raise Sealed("The root key file names an unknown KDF.")
        params = Argon2Params(int(kdf["m_kib"]), int(kdf["t"]), int(kdf["p"]))
        header = {"format": data["format"], "version": data["version"], "kdf": dict(kdf)}
        nonce = b64url_decode(data["nonce"])
        sealed = b64url_decode(data["ciphertext"])
        salt = b64url_decode(kdf["salt"])
    except (ValueError, KeyError, TypeError, InvalidInput):
        raise Sealed("The root key file is malformed.") from None
    if len(nonce) != NONCE_SIZE or len(salt) < 16:
        raise Sealed("The root key file is malformed.")
    return header, nonce, sealed, salt, params


# --- PKCS#11 (HSM) -----------------------------------------------------------------------

PKCS11_FORMAT: Final = "zerotrust-root-key-pkcs11"


@dataclass(frozen=True)
class Pkcs11Config:
    """Where the HSM key lives; the PIN is a secret and never appears in a repr."""

    module: str  # path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
    token_label: str
    pin: Secret[str]
    key_label: str = "zerotrust-root"


class Pkcs11RootKey:
    """The root key wrapped by a non-extractable AES-256 key on a PKCS#11 token.

    ``create`` makes the token key (``CKA_SENSITIVE``, not ``CKA_EXTRACTABLE``) if the token
    has none under the label, draws a random root key and stores only its wrapped form
    (``CKM_AES_GCM`` on the token, the file header as associated data). ``load`` unwraps it
    on the token. This is the HSM auto-unseal model: a copy of the data directory is useless
    without the token and its PIN.
    """

    VERSION: Final = 1

    def __init__(self, config: Pkcs11Config, blob_path: Path) -> None:
        self.config = config
        self.path = blob_path

    def __repr__(self) -> str:
        return f"Pkcs11RootKey(token={self.config.token_label!r}, key={self.config.key_label!r})"

    def _header(self) -> dict[str, Any]:
        return {
            "format": PKCS11_FORMAT,
            "version": self.VERSION,
            "key_label": self.config.key_label,
            "mechanism": "CKM_AES_GCM",
        }

    def create(self) -> bool:
        """Make the token key if missing and store a freshly wrapped root key."""
        if self.path.exists():
            return False
        header = self._header()
        nonce = secrets.token_bytes(NONCE_SIZE)
        with self._session(rw=True) as session:
            key = self._find_key(session) or self._generate_key(session)
            wrapped = self._gcm(key, "encrypt", secrets.token_bytes(ROOT_KEY_BYTES), nonce, header)
        body = {**header, "nonce": b64url_encode(nonce), "ciphertext": b64url_encode(wrapped)}
        return _write_private(self.path, json.dumps(body, sort_keys=True) + "\n")

    def load(self) -> bytes:
        text = _read_private(self.path)
        try:
            data = json.loads(text)
            nonce = b64url_decode(data["nonce"])
            wrapped = b64url_decode(data["ciphertext"])
            header = {k: data[k] for k in ("format", "version", "key_label", "mechanism")}
        except (ValueError, KeyError, TypeError, InvalidInput):
            raise Sealed("The wrapped root key file is malformed.") from None
        if header != self._header() or len(nonce) != NONCE_SIZE:
            raise Sealed("The wrapped root key file does not match this token configuration.")
        with self._session(rw=False) as session:
            key = self._find_key(session)
            if key is None:
                raise Sealed("The root key is not on the token.")
            root = self._gcm(key, "decrypt", wrapped, nonce, header)
        if len(root) != ROOT_KEY_BYTES:
            raise InvalidKey("The token key does not unwrap the root key.")
        return root

    def _session(self, *, rw: bool) -> pkcs11.Session:
        try:
            import pkcs11
            from pkcs11 import exceptions as p11e
        except ImportError:
            raise Sealed("PKCS#11 support is not installed (python-pkcs11).") from None
        try:
            lib = pkcs11.lib(self.config.module)
            token = lib.get_token(token_label=self.config.token_label)
            return token.open(user_pin=self.config.pin.reveal(), rw=rw)
        except (p11e.PinIncorrect, p11e.PinLenRange, p11e.PinInvalid):
            raise InvalidKey("The token PIN is wrong.") from None
        except p11e.PKCS11Error:
            raise Sealed("The HSM token is unavailable.") from None

    def _find_key(self, session: pkcs11.Session) -> pkcs11.Key | None:
        from pkcs11 import KeyType
        from pkcs11 import exceptions as p11e

        try:
            return session.get_key(label=self.config.key_label, key_type=KeyType.AES)
        except p11e.NoSuchKey:
            return None
        except p11e.PKCS11Error:
            raise Sealed("The root key on the token cannot be used.") from None

    def _generate_key(self, session: pkcs11.Session) -> pkcs11.Key:
        from pkcs11 import Attribute, KeyType, MechanismFlag

        return session.generate_key(
            KeyType.AES,
            256,
            label=self.config.key_label,
            store=True,
            capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
            # Never leaves the token in the clear, not even wrapped (PKCS#11 §4.9).
            template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )

    def _gcm(
        self,
        key: pkcs11.Key,
        op: str,
        data: bytes,
        nonce: bytes,
        header: Mapping[str, Any],
    ) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11 import exceptions as p11e
        from pkcs11.mechanisms import GCMParams
        from pkcs11.types import DecryptMixin, EncryptMixin

        if not (isinstance(key, EncryptMixin) and isinstance(key, DecryptMixin)):
            raise Sealed("The key on the token cannot encrypt and decrypt.")
        params = GCMParams(nonce, _header_aad(header), TAG_SIZE * 8)
        try:
            if op == "encrypt":
                out = key.encrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=params)
            else:
                out = key.decrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=params)
        except p11e.PKCS11Error:
            raise InvalidKey("The token key does not unwrap the root key.") from None
        if not isinstance(out, bytes):  # only file-like input streams; ours is bytes
            raise InvalidKey("The token returned no key.")
        return out


# --- Choosing a provider -----------------------------------------------------------------


def select_root_key_provider(
    data_dir: Path,
    *,
    root_key: str = "",
    passphrase: Secret[str] | None = None,
    pkcs11: Pkcs11Config | None = None,
) -> RootKeyProvider:
    """The provider for a data directory, most explicit first.

    An environment key wins, then a configured HSM, then an existing ``root.key`` (data
    dirs made before passphrase files existed keep working); otherwise the
    passphrase-protected ``root.key.enc``, the default for new installs.
    """
    if root_key:
        return EnvRootKey(root_key)
    if pkcs11 is not None:
        return Pkcs11RootKey(pkcs11, data_dir / "root.key.p11")
    legacy = data_dir / "root.key"
    if legacy.exists():
        return FileRootKey(legacy)
    return PassphraseKeyFile(data_dir / "root.key.enc", passphrase)


# --- Key handles (the hot path) ----------------------------------------------------------


_NONCE_BATCH: Final = 256  # nonces drawn per call to the random generator
_HANDLES: weakref.WeakSet[AeadHandle] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A child must never use nonces its parent drew: under the same key that would be
    # nonce reuse. It also must not inherit a lock another parent thread held.
    for handle in list(_HANDLES):
        handle._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)


class AeadHandle:
    """One AES-256-GCM key, initialised once, sealing version-1 envelopes under its key id.

    Field encryption calls this millions of times a second, so the cipher state and the
    envelope header are built once, and nonces are drawn from the generator 256 at a time
    under a lock (nonces are public, only their uniqueness matters; a forked child discards
    the batch). The output is byte-for-byte the ``aead.seal`` format. Associated data is
    required: an envelope bound to nothing can be moved anywhere. A generator that repeats
    a nonce or returns short output is refused (``RandomnessFailure``): a repeated GCM
    nonce reveals the authentication key (SP 800-38D App. A).
    """

    __slots__ = (
        "__weakref__",
        "_aead",
        "_header",
        "_last_nonce",
        "_lock",
        "_min",
        "_nonces",
        "_pos",
        "_random",
        "_start",
        "key_id",
    )

    def __init__(self, key: AeadKey, *, random: Callable[[int], bytes] = os.urandom) -> None:
        raw = key.key_id.encode("ascii")
        self.key_id = key.key_id
        self._header = bytes([FORMAT_VERSION, len(raw)]) + raw
        self._start = len(self._header) + NONCE_SIZE
        self._min = self._start + TAG_SIZE
        self._aead = AESGCM(key.material)
        self._random = random
        self._reset()
        _HANDLES.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._last_nonce = b""
        self._nonces = b""
        self._pos = 0

    def __repr__(self) -> str:
        return f"AeadHandle({self.key_id!r})"

    def _nonce(self) -> bytes:
        with self._lock:  # two threads must never take the same slice of the batch
            pos = self._pos
            if pos >= len(self._nonces):
                batch = self._random(NONCE_SIZE * _NONCE_BATCH)
                if len(batch) != NONCE_SIZE * _NONCE_BATCH:
                    raise RandomnessFailure
                self._nonces, pos = batch, 0
            nonce = self._nonces[pos : pos + NONCE_SIZE]
            self._pos = pos + NONCE_SIZE
            if nonce == self._last_nonce:
                raise RandomnessFailure
            self._last_nonce = nonce
            return nonce

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        """Encrypt into ``header | nonce | ciphertext || tag`` bound to ``header + aad``."""
        if not aad:
            raise InvalidInput("Associated data is required.")
        nonce = self._nonce()
        header = self._header
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + aad)

    def open(self, envelope: bytes, *, aad: bytes) -> bytes:
        """Authenticate and decrypt; any failure (or another key id) is ``IntegrityError``."""
        header, start = self._header, self._start
        if not aad:
            raise InvalidInput("Associated data is required.")
        if len(envelope) < self._min or envelope[: start - NONCE_SIZE] != header:
            raise IntegrityError
        try:
            return self._aead.decrypt(
                envelope[start - NONCE_SIZE : start], envelope[start:], header + aad
            )
        except InvalidTag:
            raise IntegrityError from None

    def encrypt_raw(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """The bare primitive under this key (ciphertext || tag), for known-answer tests.

        Hazardous: the caller must never repeat ``nonce``; ``seal`` draws them for you.
        """
        if len(nonce) != NONCE_SIZE:
            raise InvalidInput("AES-256-GCM needs a 12-byte nonce.")
        return self._aead.encrypt(nonce, plaintext, aad)

    def decrypt_raw(self, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
        """The bare primitive's decryption; any failure raises ``IntegrityError``."""
        if len(nonce) != NONCE_SIZE:
            raise InvalidInput("AES-256-GCM needs a 12-byte nonce.")
        if len(ciphertext_and_tag) < TAG_SIZE:
            raise IntegrityError
        try:
            return self._aead.decrypt(nonce, ciphertext_and_tag, aad)
        except InvalidTag:
            raise IntegrityError from None


def provider_from_env(data_dir: Path, env: Mapping[str, str]) -> RootKeyProvider:
    """The root key provider the environment configures for ``data_dir``."""
    pkcs11 = None
    if env.get("ZT_PKCS11_MODULE"):
        pkcs11 = Pkcs11Config(
            module=env["ZT_PKCS11_MODULE"],
            token_label=env.get("ZT_PKCS11_TOKEN", ""),
            pin=Secret(env.get("ZT_PKCS11_PIN", "")),
            key_label=env.get("ZT_PKCS11_KEY_LABEL", "") or "zerotrust-root",
        )
    passphrase = env.get("ZT_ROOT_PASSPHRASE")
    return select_root_key_provider(
        data_dir,
        root_key=env.get("ZT_ROOT_KEY", ""),
        passphrase=Secret(passphrase) if passphrase else None,
        pkcs11=pkcs11,
    )


class LoadedRootKey:
    """A root key already unsealed by another provider in this process."""

    def __init__(self, key: bytes) -> None:
        if len(key) != ROOT_KEY_BYTES:
            raise Sealed("The root key has the wrong length.")
        self._key = key

    def load(self) -> bytes:
        return self._key

    def __repr__(self) -> str:
        return "LoadedRootKey(**********)"
