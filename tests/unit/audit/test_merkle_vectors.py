"""transparency-dev Merkle vectors: every inclusion and consistency file behaves as labelled.

Source: github.com/transparency-dev/merkle ``testdata/`` (Apache-2.0), copied with its
licence into ``tests/vectors/merkle``. Each file holds a proof and ``wantErr``; our
verifier must accept exactly the ones labelled good and raise ``InvalidProof`` otherwise.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from zerotrust.audit import merkle, subtree

ROOT = Path(__file__).parents[2] / "vectors" / "merkle" / "testdata"
KINDS = ("inclusion", "consistency", "subtreeinclusion", "subtreeconsistency")
# Counted when the vectors were copied; a lost or added file must be noticed.
EXPECTED = {"inclusion": 98, "consistency": 98, "subtreeinclusion": 204, "subtreeconsistency": 118}
FILES = sorted(ROOT.rglob("*.json"))


def _h(text: str) -> bytes:
    return base64.b64decode(text) if text else b""


def _proof(value: list[str] | None) -> list[bytes]:
    return [_h(x) for x in value or []]


def _run(kind: str, v: dict[str, Any]) -> None:
    if kind == "inclusion":
        merkle.verify_inclusion(
            index=v["leafIdx"],
            size=v["treeSize"],
            leaf=_h(v["leafHash"]),
            proof=_proof(v["proof"]),
            root=_h(v["root"]),
        )
    elif kind == "consistency":
        merkle.verify_consistency(
            size1=v["size1"],
            size2=v["size2"],
            proof=_proof(v["proof"]),
            root1=_h(v["root1"]),
            root2=_h(v["root2"]),
        )
    elif kind == "subtreeinclusion":
        subtree.verify_subtree_inclusion(
            index=v["leafIdx"],
            start=v["start"],
            end=v["end"],
            leaf=_h(v["leafHash"]),
            proof=_proof(v["proof"]),
            root=_h(v["root"]),
        )
    else:
        subtree.verify_subtree_consistency(
            start=v["start"],
            end=v["end"],
            size=v["size"],
            proof=_proof(v["proof"]),
            sub_root=_h(v["root1"]),
            root=_h(v["root2"]),
        )


def test_all_vector_files_are_present() -> None:
    counts = Counter(f.relative_to(ROOT).parts[0] for f in FILES)
    assert dict(counts) == EXPECTED
    assert sum(counts.values()) == 518
    assert (ROOT.parent / "LICENSE").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_vector_behaves_as_labelled(path: Path) -> None:
    kind = path.relative_to(ROOT).parts[0]
    assert kind in KINDS
    vector = json.loads(path.read_text())
    if vector["wantErr"]:
        with pytest.raises(merkle.InvalidProof):
            _run(kind, vector)
    else:
        _run(kind, vector)


def test_labels_cover_good_and_bad_proofs() -> None:
    # Most files are corruptions (flipped bits, wrong sizes, extra or missing hashes) of a
    # few good proofs: (kind, must fail) -> count.
    labels = Counter(
        (f.relative_to(ROOT).parts[0], json.loads(f.read_text())["wantErr"]) for f in FILES
    )
    assert labels == {
        ("inclusion", False): 6,
        ("inclusion", True): 92,
        ("consistency", False): 6,
        ("consistency", True): 92,
        ("subtreeinclusion", False): 12,
        ("subtreeinclusion", True): 192,
        ("subtreeconsistency", False): 12,
        ("subtreeconsistency", True): 106,
    }
