"""RFC 6962 hashing, roots and proof generation: known answers and edge cases.

Known answers are the RFC 6962 test leaves and roots used by transparency-dev
``proof/verify_test.go`` (Apache-2.0); the generated proofs must equal the happy-path
vectors in ``tests/vectors/merkle``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from zerotrust.audit import merkle
from zerotrust.core.errors import IntegrityError

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
HASHES = [merkle.leaf_hash(x) for x in LEAVES]
VECTORS = Path(__file__).parents[2] / "vectors" / "merkle" / "testdata"


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert merkle.root_of([]) == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_rfc6962_known_answers(size: int) -> None:
    assert merkle.root_of(HASHES[:size]) == ROOTS[size - 1]


def test_domain_separation_leaf_vs_node() -> None:
    # A leaf whose bytes are two concatenated hashes must not hash like the node above them.
    a, b = HASHES[0], HASHES[1]
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


def _happy(kind: str) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(VECTORS.glob(f"{kind}/*/happy-path.json"))]


@pytest.mark.parametrize("vector", _happy("inclusion"), ids=str)
def test_generated_inclusion_proofs_equal_vectors(vector: dict[str, object]) -> None:
    size, index = int(vector["treeSize"]), int(vector["leafIdx"])  # type: ignore[call-overload]
    hashes = HASHES[:size]
    proof = merkle.inclusion_proof(index, size, merkle.list_range_hash(hashes))
    assert [base64.b64encode(h).decode() for h in proof] == (vector["proof"] or [])
    assert base64.b64encode(merkle.root_of(hashes)).decode() == vector["root"]


@pytest.mark.parametrize("vector", _happy("consistency"), ids=str)
def test_generated_consistency_proofs_equal_vectors(vector: dict[str, object]) -> None:
    size1, size2 = int(vector["size1"]), int(vector["size2"])  # type: ignore[call-overload]
    proof = merkle.consistency_proof(size1, size2, merkle.list_range_hash(HASHES[:size2]))
    assert [base64.b64encode(h).decode() for h in proof] == (vector["proof"] or [])


@pytest.mark.parametrize("size", range(1, 70))
def test_every_generated_proof_verifies(size: int) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    root, rh = merkle.root_of(hashes), merkle.list_range_hash(hashes)
    for index in range(size):
        merkle.verify_inclusion(
            index=index,
            size=size,
            leaf=hashes[index],
            proof=merkle.inclusion_proof(index, size, rh),
            root=root,
        )
    for size1 in range(1, size + 1):
        old = merkle.root_of(hashes[:size1])
        merkle.verify_consistency(
            size1=size1,
            size2=size,
            root1=old,
            root2=root,
            proof=merkle.consistency_proof(size1, size, rh),
        )


def test_compact_range_reports_completed_subtrees() -> None:
    seen: list[tuple[int, int]] = []
    rng = merkle.CompactRange()
    rng.extend(HASHES, lambda level, index, _h: seen.append((level, index)))
    assert seen == [(1, 0), (1, 1), (2, 0), (1, 2), (1, 3), (2, 1), (3, 0)]
    assert rng.root() == ROOTS[7]


def test_compact_range_rejects_a_frontier_of_the_wrong_shape() -> None:
    with pytest.raises(IntegrityError):
        merkle.CompactRange(3, [HASHES[0]])  # size 3 needs two perfect subtrees


def test_compact_range_resumes_from_its_frontier() -> None:
    head = merkle.CompactRange()
    head.extend(HASHES[:5])
    resumed = merkle.CompactRange(head.size, head.hashes)
    resumed.extend(HASHES[5:])
    assert resumed.root() == ROOTS[7]


@pytest.mark.parametrize(
    ("start", "end", "nodes"),
    [
        (0, 8, [(3, 0)]),
        (0, 7, [(2, 0), (1, 2), (0, 6)]),
        (4, 7, [(1, 2), (0, 6)]),
        (5, 5, []),
    ],
)
def test_perfect_subtrees(start: int, end: int, nodes: list[tuple[int, int]]) -> None:
    assert merkle.perfect_subtrees(start, end) == nodes


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (-1, 3), (5, 3)])
def test_inclusion_ranges_reject_indices_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(merkle.InvalidProof):
        merkle.inclusion_ranges(index, size)


@pytest.mark.parametrize(("size1", "size2"), [(0, 0), (0, 3), (4, 3)])
def test_consistency_ranges_reject_meaningless_sizes(size1: int, size2: int) -> None:
    with pytest.raises(merkle.InvalidProof):
        merkle.consistency_ranges(size1, size2)


def test_verification_failures_raise_not_return() -> None:
    proof = merkle.inclusion_proof(2, 8, merkle.list_range_hash(HASHES))
    with pytest.raises(merkle.InvalidProof):
        merkle.verify_inclusion(index=3, size=8, leaf=HASHES[2], proof=proof, root=ROOTS[7])
    assert merkle.InvalidProof.code == "invalid_proof"
