"""The data-flow map: the declared inventory, the flows observed in the audit log, merged.

The inventory (YAML) declares where sensitive data lives and how it is meant to move:
stores, services, AI workloads and external parties, and flows between them with the
data classes they carry and whether each hop is encrypted. The audit log shows how data
actually moved: every allowed access decision (``authz.decision``, a gateway ``access``)
and every vault read or write (``vault.*``) is one observed use of a resource type by a
principal. Merging the two flags what an auditor asks about first: flows seen but never
declared (GDPR art. 30 records would be incomplete) and personal or card data crossing an
unencrypted hop or leaving for an external party (GDPR art. 32, PCI DSS 4.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from zerotrust.audit.entry import AuditEntry
from zerotrust.compliance.models import PrincipalFacts
from zerotrust.core.errors import InvalidInput

NodeKind = Literal["store", "service", "workload", "external"]
NODE_KINDS: Final = ("store", "service", "workload", "external")
DATA_CLASSES: Final = ("PII", "PAN", "financial", "model_output", "pseudonymised")
SENSITIVE: Final = frozenset({"PII", "PAN"})
MAX_SAMPLES: Final = 3

# What each policy resource type holds, when the inventory does not say otherwise.
DEFAULT_CLASSES: Final[Mapping[str, tuple[str, ...]]] = {
    "Customer": ("PII",),
    "CustomerPII": ("PII", "PAN"),
    "CustomerProfile": ("PII",),
    "Transaction": ("financial",),
    "CreditProfile": ("financial", "PII"),
    "FeatureSet": ("pseudonymised",),
    "ModelOutput": ("model_output",),
}
# Vault record kinds (``vault.workload_access`` names the kind) as policy resource types.
KIND_TYPES: Final[Mapping[str, str]] = {
    "customer": "CustomerPII",
    "transaction": "Transaction",
    "credit_profile": "CreditProfile",
}
# Vault audit actions that move record data (key management and erasure do not).
_VAULT_DATA_OPS: Final = frozenset(
    {"read", "list", "search", "find", "create", "write", "update", "detokenize", "export"}
)
_WRITES: Final = frozenset({"write", "create", "update"})
_ALLOWED: Final = frozenset({"allowed", "success"})


@dataclass(frozen=True)
class Node:
    """A place data lives or passes through."""

    id: str
    kind: NodeKind
    name: str
    principals: tuple[str, ...] = ()  # identity names or ids acting as this node
    roles: tuple[str, ...] = ()  # or: any principal holding one of these roles
    resource_types: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    declared: bool = True


@dataclass(frozen=True)
class Flow:
    """A declared flow between two nodes."""

    source: str
    target: str
    data: tuple[str, ...]
    encrypted: bool
    purpose: str = ""
    lawful_basis: str = ""


@dataclass(frozen=True)
class Inventory:
    """The declared data-flow inventory."""

    name: str
    controller: str
    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)


@dataclass
class Observed:
    """Uses of one (source, target) pair seen in the audit log."""

    source: str
    target: str
    data: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    count: int = 0
    samples: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class MapFlow:
    """A flow of the merged map: declared, observed, or both, with its risks."""

    source: str
    target: str
    data: tuple[str, ...]
    declared: bool
    encrypted: bool | None  # None: undeclared, so nobody has said
    observed: int
    purpose: str = ""
    lawful_basis: str = ""
    risks: tuple[str, ...] = ()  # undeclared | unencrypted | external_transfer
    samples: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class DataFlowMap:
    """The merged map."""

    inventory: Inventory
    nodes: tuple[Node, ...]
    flows: tuple[MapFlow, ...]

    def risky(self, risk: str) -> list[MapFlow]:
        return [f for f in self.flows if risk in f.risks]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.inventory.name,
            "controller": self.inventory.controller,
            "nodes": [
                {"id": n.id, "kind": n.kind, "name": n.name, "declared": n.declared}
                for n in self.nodes
            ],
            "flows": [
                {
                    "id": f.id,
                    "from": f.source,
                    "to": f.target,
                    "data": list(f.data),
                    "declared": f.declared,
                    "encrypted": f.encrypted,
                    "observed": f.observed,
                    "purpose": f.purpose,
                    "lawful_basis": f.lawful_basis,
                    "risks": list(f.risks),
                    "audit_seqs": list(f.samples),
                }
                for f in self.flows
            ],
        }


# -- the inventory ---------------------------------------------------------------------


def load_inventory(path: Path) -> Inventory:
    """Read and validate an inventory file; ``InvalidInput`` names the first problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise InvalidInput(f"{path}: not valid YAML") from None
    return parse_inventory(data)


def parse_inventory(data: object) -> Inventory:
    """Validate an inventory already parsed from YAML or JSON."""
    top = _mapping(data, "inventory")
    nodes = tuple(_node(n, i) for i, n in enumerate(_list(top.get("nodes"), "nodes")))
    ids = [n.id for n in nodes]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate:
        raise InvalidInput(f"nodes: {duplicate!r} is declared twice")
    flows = tuple(_flow(f, i, set(ids)) for i, f in enumerate(_list(top.get("flows", []), "flows")))
    return Inventory(
        name=str(top.get("name", "data-flow inventory")),
        controller=str(top.get("controller", "")),
        nodes=nodes,
        flows=flows,
    )


def _node(raw: object, i: int) -> Node:
    where = f"nodes[{i}]"
    data = _mapping(raw, where)
    kind = data.get("kind")
    if kind not in NODE_KINDS:
        raise InvalidInput(f"{where}.kind: one of {', '.join(NODE_KINDS)}")
    types = _mapping(data.get("resource_types", {}), f"{where}.resource_types")
    return Node(
        id=_name(data.get("id"), f"{where}.id"),
        kind=kind,
        name=str(data.get("name") or data["id"]),
        principals=tuple(_strs(data.get("principals", []), f"{where}.principals")),
        roles=tuple(_strs(data.get("roles", []), f"{where}.roles")),
        resource_types={
            str(t): _classes(c, f"{where}.resource_types.{t}") for t, c in types.items()
        },
    )


def _flow(raw: object, i: int, ids: set[str]) -> Flow:
    where = f"flows[{i}]"
    data = _mapping(raw, where)
    source, target = data.get("from"), data.get("to")
    for end, value in (("from", source), ("to", target)):
        if value not in ids:
            raise InvalidInput(f"{where}.{end}: no node {value!r}")
    encrypted = data.get("encrypted")
    if not isinstance(encrypted, bool):
        raise InvalidInput(f"{where}.encrypted: true or false")
    return Flow(
        source=str(source),
        target=str(target),
        data=_classes(data.get("data"), f"{where}.data"),
        encrypted=encrypted,
        purpose=str(data.get("purpose", "")),
        lawful_basis=str(data.get("lawful_basis", "")),
    )


def _classes(raw: object, where: str) -> tuple[str, ...]:
    values = _strs(raw, where)
    unknown = [v for v in values if v not in DATA_CLASSES]
    if unknown or not values:
        raise InvalidInput(f"{where}: data classes from {', '.join(DATA_CLASSES)}")
    return tuple(values)


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: a mapping expected")
    return raw


def _list(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise InvalidInput(f"{where}: a list expected")
    return raw


def _strs(raw: object, where: str) -> list[str]:
    values = _list(raw, where)
    if not all(isinstance(v, str) and v for v in values):
        raise InvalidInput(f"{where}: a list of names expected")
    return values


def _name(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw.replace("_", "").replace("-", "").isalnum():
        raise InvalidInput(f"{where}: letters, digits, '-' and '_' only")
    return raw


# -- observed flows --------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """One observed use of a resource type by a principal, from one audit entry."""

    principal: str  # identity id (or name, when the entry names it)
    resource_type: str
    action: str


def use_of(entry: AuditEntry) -> Use | None:
    """The data use an audit entry records, or None if it records none."""
    if entry.outcome not in _ALLOWED:
        return None
    details = entry.details
    if entry.action == "authz.decision":
        return _use(_after_colon(entry.actor), _type_of(entry.resource), details.get("action"))
    if entry.action == "access":  # a gateway access event recorded as such
        return _use(entry.actor, details.get("resource_type"), details.get("action"))
    if entry.action.startswith("vault."):
        op = entry.action.removeprefix("vault.")
        if op == "workload_access":
            return _use(entry.actor, KIND_TYPES.get(entry.resource or ""), "read")
        if op in _VAULT_DATA_OPS:
            rtype = _type_of(entry.resource)
            return _use(entry.actor, KIND_TYPES.get(rtype, rtype), op)
    return None


def _use(principal: str, rtype: object, action: object) -> Use | None:
    if not principal or not isinstance(rtype, str) or not rtype or not isinstance(action, str):
        return None
    return Use(principal, rtype, action)


def _after_colon(actor: str) -> str:
    return actor.split(":", 1)[1] if ":" in actor else actor


def _type_of(resource: str | None) -> str:
    return (resource or "").split(":", 1)[0]


class FlowObserver:
    """Folds audit entries into observed flows between inventory nodes, in one pass."""

    def __init__(self, inventory: Inventory, principals: Sequence[PrincipalFacts]) -> None:
        self._inventory = inventory
        self._by_id = {p.id: p for p in principals}
        self._by_name = {p.name: p for p in principals}
        self._actor_nodes: dict[str, Node] = {}
        self.flows: dict[tuple[str, str], Observed] = {}
        self.extra_nodes: dict[str, Node] = {}

    def add(self, entry: AuditEntry) -> None:
        use = use_of(entry)
        if use is None:
            return
        actor = self._actor_node(use.principal)
        store, classes = self._store_node(use.resource_type)
        if not classes:
            return  # a resource type that holds no classified data
        key = (actor.id, store.id) if use.action in _WRITES else (store.id, actor.id)
        seen = self.flows.get(key)
        if seen is None:
            seen = self.flows[key] = Observed(*key)
        seen.count += 1
        seen.data.update(classes)
        seen.actions.add(use.action)
        if len(seen.samples) < MAX_SAMPLES:
            seen.samples.append(entry.seq)

    def _actor_node(self, who: str) -> Node:
        cached = self._actor_nodes.get(who)
        if cached is not None:
            return cached
        principal = self._by_id.get(who) or self._by_name.get(who)
        names = {who} | ({principal.id, principal.name} if principal else set())
        roles = set(principal.roles) if principal else set()
        node = next(
            (n for n in self._inventory.nodes if names & set(n.principals) or roles & set(n.roles)),
            None,
        )
        if node is None:
            label = principal.name if principal else who
            kind: NodeKind = "workload" if principal and principal.kind == "service" else "service"
            node = Node(f"principal:{label}", kind, label, principals=(who,), declared=False)
            self.extra_nodes[node.id] = node
        self._actor_nodes[who] = node
        return node

    def _store_node(self, rtype: str) -> tuple[Node, tuple[str, ...]]:
        for n in self._inventory.nodes:
            if rtype in n.resource_types:
                return n, n.resource_types[rtype]
        node = self.extra_nodes.setdefault(
            f"resource:{rtype}", Node(f"resource:{rtype}", "store", rtype, declared=False)
        )
        return node, DEFAULT_CLASSES.get(rtype, ())


def observe(
    inventory: Inventory, principals: Sequence[PrincipalFacts], entries: Iterable[AuditEntry]
) -> FlowObserver:
    observer = FlowObserver(inventory, principals)
    for entry in entries:
        observer.add(entry)
    return observer


# -- merging ---------------------------------------------------------------------------


def merge(inventory: Inventory, observer: FlowObserver | None = None) -> DataFlowMap:
    """The declared flows with their observed volumes, plus every undeclared flow seen."""
    seen = dict(observer.flows) if observer else {}
    flows = [_declared(inventory, f, seen.pop((f.source, f.target), None)) for f in inventory.flows]
    for obs in seen.values():
        flows.append(_undeclared(inventory, obs))
    extra = tuple(observer.extra_nodes.values()) if observer else ()
    return DataFlowMap(inventory, inventory.nodes + extra, tuple(flows))


def _declared(inventory: Inventory, flow: Flow, obs: Observed | None) -> MapFlow:
    risks = []
    sensitive = SENSITIVE & set(flow.data)
    if sensitive and not flow.encrypted:
        risks.append("unencrypted")
    if sensitive and _external(inventory, flow.source, flow.target):
        risks.append("external_transfer")
    extra = sorted(obs.data - set(flow.data)) if obs else []
    if extra:  # seen carrying classes the declaration does not list
        risks.append("undeclared")
    return MapFlow(
        flow.source,
        flow.target,
        tuple(flow.data) + tuple(extra),
        declared=True,
        encrypted=flow.encrypted,
        observed=obs.count if obs else 0,
        purpose=flow.purpose,
        lawful_basis=flow.lawful_basis,
        risks=tuple(risks),
        samples=tuple(obs.samples) if obs else (),
    )


def _undeclared(inventory: Inventory, obs: Observed) -> MapFlow:
    risks = ["undeclared"]
    if SENSITIVE & obs.data and _external(inventory, obs.source, obs.target):
        risks.append("external_transfer")
    return MapFlow(
        obs.source,
        obs.target,
        tuple(c for c in DATA_CLASSES if c in obs.data),
        declared=False,
        encrypted=None,
        observed=obs.count,
        risks=tuple(risks),
        samples=tuple(obs.samples),
    )


def _external(inventory: Inventory, *ends: str) -> bool:
    return any((n := inventory.node(e)) is not None and n.kind == "external" for e in ends)
