"""Policy sets as code: load a directory, check it, version it, and hot-reload it safely.

A directory holds ``*.cedar`` policy files and one ``schema.cedarschema``. Loading parses
every file, checks our annotation conventions, validates the policies against the schema
and compiles them once. A reload that fails any of these steps — or that would leave no
policies at all — keeps the last good set and is audited, so a typo in production never
opens (or silently closes) the door (security catalogue E.35).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, Literal

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.errors import InvalidInput
from zerotrust.policy.cedar import Compiled, ParsedPolicy, PolicyLoadError, parse_file
from zerotrust.policy.obligations import parse_obligations

SCHEMA_FILE: Final = "schema.cedarschema"
POLICY_SUFFIX: Final = ".cedar"
MAX_FILE_BYTES: Final = 1 << 20
_KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_AAL = re.compile(r"^aal([1-3])$")


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """What the PDP needs to know about one policy beyond Cedar's answer."""

    policy: ParsedPolicy
    reason: str
    obligations: tuple[str, ...] = ()
    step_up_aal: int | None = None
    max_age_s: int | None = None

    @property
    def id(self) -> str:
        return self.policy.id


class PolicyBundle:
    """A validated, compiled policy set, its schema and its version."""

    def __init__(
        self, version: str, infos: Mapping[str, PolicyInfo], compiled: Compiled | None
    ) -> None:
        self.version = version
        self.infos = dict(infos)
        self.compiled = compiled

    @classmethod
    def empty(cls) -> PolicyBundle:
        """No policies: every decision denies with ``empty-policy-set``."""
        return cls("empty", {}, None)

    @property
    def is_empty(self) -> bool:
        return self.compiled is None or not self.infos

    def __len__(self) -> int:
        return len(self.infos)


def load_sources(sources: Sequence[tuple[str, str]], schema_text: str) -> PolicyBundle:
    """Build a bundle from ``(file name, text)`` pairs and the schema text."""
    parsed = [p for name, text in sorted(sources) for p in parse_file(text, name)]
    infos = _infos(parsed)
    compiled = Compiled(parsed, schema_text)
    problems = compiled.validate([text for _, text in sorted(sources)])
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PolicyLoadError(problems[0] + more)
    return PolicyBundle(fingerprint(sources, schema_text), infos, compiled)


def read_dir(path: Path) -> tuple[list[tuple[str, str]], str]:
    """The policy files and schema text of a directory (raise ``PolicyLoadError``)."""
    if not path.is_dir():
        raise PolicyLoadError(f"{path}: not a directory")
    schema = path / SCHEMA_FILE
    if not schema.is_file():
        raise PolicyLoadError(f"{path}: no {SCHEMA_FILE}")
    files = sorted(p for p in path.iterdir() if p.suffix == POLICY_SUFFIX and p.is_file())
    return [(p.name, _read(p)) for p in files], _read(schema)


def load_dir(path: Path) -> PolicyBundle:
    """Load and validate a policy directory."""
    sources, schema_text = read_dir(path)
    return load_sources(sources, schema_text)


def default_pack_dir() -> Path:
    """The default policy pack shipped inside the package."""
    return Path(str(resources.files("zerotrust.policy") / "pack"))


def load_default() -> PolicyBundle:
    return load_dir(default_pack_dir())


def fingerprint(sources: Iterable[tuple[str, str]], schema_text: str) -> str:
    """The policy set version: SHA-256 over the schema and every file, name and text."""
    digest = hashlib.sha256(b"zerotrust-policy-v1\0")
    for name, text in [(SCHEMA_FILE, schema_text), *sorted(sources)]:
        for part in (name, text):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "big") + data)
    return "sha256:" + digest.hexdigest()


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyLoadError(f"{path.name}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise PolicyLoadError(f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyLoadError(f"{path.name}: not UTF-8") from None


# -- annotation conventions ------------------------------------------------------------


def _infos(parsed: Sequence[ParsedPolicy]) -> dict[str, PolicyInfo]:
    infos: dict[str, PolicyInfo] = {}
    for policy in parsed:
        if policy.id in infos:
            raise PolicyLoadError(f"{policy.source}: duplicate @id {policy.id!r}")
        try:
            infos[policy.id] = _info(policy)
        except InvalidInput as exc:
            raise PolicyLoadError(f"{policy.source}: policy {policy.id!r}: {exc.detail}") from None
    return infos


def _info(policy: ParsedPolicy) -> PolicyInfo:
    notes = policy.annotations
    if not _KEBAB.match(policy.id):
        raise InvalidInput("@id must be kebab-case")
    reason = notes.get("reason", "")
    if not _KEBAB.match(reason):
        raise InvalidInput("needs a kebab-case @reason")
    obligations = _obligations(policy)
    aal, max_age = _step_up(policy)
    return PolicyInfo(policy, reason, obligations, aal, max_age)


def _obligations(policy: ParsedPolicy) -> tuple[str, ...]:
    value = policy.annotations.get("obligation")
    if value is None:
        return ()
    if policy.effect != "permit":
        raise InvalidInput("@obligation belongs on permit policies")
    return parse_obligations(value)


def _step_up(policy: ParsedPolicy) -> tuple[int | None, int | None]:
    step_up = policy.annotations.get("step_up")
    max_age = policy.annotations.get("max_age")
    if step_up is None:
        if max_age is not None:
            raise InvalidInput("@max_age needs @step_up")
        return None, None
    match = _AAL.match(step_up)
    if policy.effect != "forbid" or match is None:
        raise InvalidInput('@step_up("aal1|aal2|aal3") belongs on forbid policies')
    if max_age is not None and not (max_age.isdigit() and 0 < int(max_age) <= 86_400):
        raise InvalidInput("@max_age must be 1-86400 seconds")
    return int(match.group(1)), int(max_age) if max_age is not None else None


# -- hot reload -----------------------------------------------------------------------

ReloadStatus = Literal["reloaded", "rejected", "unchanged"]


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did; on ``rejected`` the previous set is still in force."""

    status: ReloadStatus
    version: str
    error: str | None = None


class PolicyStore:
    """Holds the policy set in force; swaps it only for one that loaded completely.

    ``current`` is replaced by a single reference assignment, so a decision in flight
    keeps the bundle it started with.
    """

    def __init__(
        self, bundle: PolicyBundle, *, audit: AuditRecorder, source: Path | None = None
    ) -> None:
        self.current = bundle
        self.source = source
        self._audit = audit
        self._rejected: str | None = None

    @classmethod
    def from_dir(cls, path: Path, *, audit: AuditRecorder) -> PolicyStore:
        """Start from a directory; fails loudly (there is no last good set yet)."""
        return cls(load_dir(path), audit=audit, source=path)

    def reload(self, path: Path | None = None) -> ReloadResult:
        """Load ``path`` (or the source directory) and swap it in if it is good."""
        target = path or self.source
        if target is None:
            raise InvalidInput("no policy directory to reload from")
        try:
            sources, schema_text = read_dir(target)
            version = fingerprint(sources, schema_text)
            if version == self.current.version:
                return ReloadResult("unchanged", version)
            bundle = load_sources(sources, schema_text)
            if bundle.is_empty:
                raise PolicyLoadError("the new policy set is empty")
        except PolicyLoadError as exc:
            return self._reject(exc.detail)
        self._record("success", bundle.version, None)  # audited before it takes effect
        self.current = bundle
        return ReloadResult("reloaded", bundle.version)

    def poll(self) -> ReloadResult:
        """Reload if the directory changed; a set already rejected is not re-audited."""
        if self.source is None:
            return ReloadResult("unchanged", self.current.version)
        try:
            key = fingerprint(*read_dir(self.source))
        except PolicyLoadError as exc:
            key = f"unreadable:{exc.detail}"
        if key == self._rejected:
            return ReloadResult("rejected", self.current.version, "unchanged since rejected")
        result = self.reload()
        self._rejected = key if result.status == "rejected" else None
        return result

    def _reject(self, error: str) -> ReloadResult:
        self._record("failure", self.current.version, error)
        return ReloadResult("rejected", self.current.version, error)

    def _record(self, outcome: str, version: str, error: str | None) -> None:
        self._audit.append(
            AuditRecord(
                action="policy.reload",
                actor="system",
                outcome=outcome,
                resource=f"policy-set:{version}",
                reason=error,
                details={"kept": version if error else None, "source": str(self.source or "")},
            )
        )
