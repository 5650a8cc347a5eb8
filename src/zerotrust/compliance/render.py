"""Drawing the data-flow map: JSON, Mermaid text, or SVG through Graphviz's ``dot``.

Edges are coloured by the most sensitive data class they carry; risky flows (undeclared,
unencrypted personal or card data, transfers to external parties) are drawn thick and red
and labelled with their risk, so they are the first thing a reviewer sees.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Final

from zerotrust.compliance.dataflow import DATA_CLASSES, DataFlowMap, MapFlow, Node
from zerotrust.core.errors import ConfigError

CLASS_COLOURS: Final = {
    "PAN": "#b30000",
    "PII": "#e67e00",
    "financial": "#1f5fbf",
    "model_output": "#6a3d9a",
    "pseudonymised": "#2e8b57",
}
RISK_COLOUR: Final = "#d00000"
_SHAPES: Final = {
    "store": ("cylinder", "[(", ")]"),
    "service": ("box", "[", "]"),
    "workload": ("component", "[[", "]]"),
    "external": ("doubleoctagon", "{{", "}}"),
}
DOT_TIMEOUT_S: Final = 30


def to_json(flow_map: DataFlowMap) -> str:
    return json.dumps(flow_map.to_json(), indent=2, sort_keys=True)


def _colour(flow: MapFlow) -> str:
    return next((CLASS_COLOURS[c] for c in DATA_CLASSES if c in flow.data), "#555555")


def _label(flow: MapFlow) -> str:
    parts = [", ".join(flow.data)]
    if flow.encrypted is False:
        parts.append("UNENCRYPTED")
    if flow.observed:
        parts.append(f"{flow.observed} seen")
    if flow.risks:
        parts.append("! " + ", ".join(flow.risks))
    return " | ".join(parts)


def _safe_id(node_id: str) -> str:
    return "n_" + "".join(ch if ch.isalnum() else "_" for ch in node_id)


def _text(value: str) -> str:
    """Text for a quoted label: no quotes, brackets or line breaks to break out of it."""
    return "".join(" " if ch in "\"'<>[]{}|\\\n\r`" else ch for ch in value)


def to_mermaid(flow_map: DataFlowMap) -> str:
    lines = ["flowchart LR"]
    for node in flow_map.nodes:
        _, left, right = _SHAPES[node.kind]
        suffix = " (undeclared)" if not node.declared else ""
        lines.append(f'  {_safe_id(node.id)}{left}"{_text(node.name)}{suffix}"{right}')
    for i, flow in enumerate(flow_map.flows):
        arrow = "-.->" if not flow.declared else "-->"
        lines.append(
            f'  {_safe_id(flow.source)} {arrow}|"{_text(_label(flow))}"| {_safe_id(flow.target)}'
        )
        width = 4 if flow.risks else 2
        colour = RISK_COLOUR if flow.risks else _colour(flow)
        lines.append(f"  linkStyle {i} stroke:{colour},stroke-width:{width}px")
    for node in flow_map.nodes:
        if not node.declared:
            lines.append(f"  style {_safe_id(node.id)} stroke:{RISK_COLOUR},stroke-dasharray:4")
    return "\n".join(lines) + "\n"


def _dot_node(node: Node) -> str:
    shape = _SHAPES[node.kind][0]
    extra = f', color="{RISK_COLOUR}", style=dashed' if not node.declared else ""
    return f'  {_safe_id(node.id)} [label="{_text(node.name)}", shape={shape}{extra}];'


def _dot_edge(flow: MapFlow) -> str:
    attrs = [f'label="{_text(_label(flow))}"', f'color="{_colour(flow)}"', "fontsize=10"]
    if flow.risks:
        attrs += [f'color="{RISK_COLOUR}"', "penwidth=3", f'fontcolor="{RISK_COLOUR}"']
    if not flow.declared:
        attrs.append("style=dashed")
    return f"  {_safe_id(flow.source)} -> {_safe_id(flow.target)} [{', '.join(attrs)}];"


def to_dot(flow_map: DataFlowMap) -> str:
    legend = " ".join(f'<font color="{CLASS_COLOURS[c]}">&#9632; {c}</font>' for c in DATA_CLASSES)
    lines = [
        "digraph dataflow {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica"];',
        f"  label=<{_text(flow_map.inventory.name)}<br/>{legend}"
        f' <font color="{RISK_COLOUR}">&#9632; risky</font>>;',
        "  labelloc=t;",
    ]
    lines += [_dot_node(n) for n in flow_map.nodes]
    lines += [_dot_edge(f) for f in flow_map.flows]
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    return shutil.which("dot") is not None


def to_svg(flow_map: DataFlowMap) -> str:
    """SVG from Graphviz; ``ConfigError`` if ``dot`` is not installed (use Mermaid then)."""
    dot = shutil.which("dot")
    if dot is None:
        raise ConfigError(
            "Graphviz `dot` is not installed (apt-get install graphviz); "
            "use --format mermaid instead"
        )
    done = subprocess.run(  # noqa: S603 - fixed binary, the graph comes in on stdin
        [dot, "-Tsvg"],
        input=to_dot(flow_map).encode("utf-8"),
        capture_output=True,
        timeout=DOT_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError("Graphviz failed to render the map: " + done.stderr.decode()[:200])
    return done.stdout.decode("utf-8")


def render(flow_map: DataFlowMap, fmt: str) -> str:
    if fmt == "json":
        return to_json(flow_map)
    if fmt == "mermaid":
        return to_mermaid(flow_map)
    if fmt == "dot":
        return to_dot(flow_map)
    if fmt == "svg":
        return to_svg(flow_map)
    raise ConfigError(f"unknown format {fmt!r}")
