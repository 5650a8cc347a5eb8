"""bench/RESULTS.md: one section per benchmark, each replaced by its own script's
``--write`` and nothing else touched."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(heading: str, text: str, results: Path = RESULTS) -> None:
    """Replace the section that starts with the ``heading`` line (up to the next ``## ``
    heading), or add it at the end; sections are one blank line apart."""
    current = results.read_text("utf-8") if results.exists() else "# Benchmark results\n"
    section = text.rstrip("\n") + "\n"
    start = current.find(heading + "\n")
    if start < 0:
        results.write_text(current.rstrip("\n") + "\n\n" + section, "utf-8")
        return
    end = current.find("\n## ", start + len(heading))
    tail = current[end + 1 :] if end >= 0 else ""
    results.write_text(current[:start] + section + ("\n" + tail if tail else ""), "utf-8")
