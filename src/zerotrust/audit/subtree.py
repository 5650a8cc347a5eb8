"""Subtree inclusion and consistency proofs (Merkle Tree Certificates draft, §4.3-§4.4).

A subtree ``[start, end)`` of an RFC 6962 log is valid when ``start`` is a multiple of
the smallest power of two at least ``end - start``; its hash is ``MTH(D[start:end])``.
The audit log does not hand these out; they are here so our verifier runs every
transparency-dev vector, and so a witness can check a range of entries at once. The
algorithm follows transparency-dev ``proof/verify.go`` (Apache-2.0).
"""

from __future__ import annotations

from collections.abc import Sequence

from zerotrust.audit.merkle import (
    EMPTY_ROOT,
    InvalidProof,
    chain_border_right,
    match_root,
    node_hash,
    root_from_inclusion_proof,
)


def check_subtree(start: int, end: int) -> None:
    """Raise ``InvalidProof`` unless ``[start, end)`` is a valid, non-empty subtree."""
    if not 0 <= start < end:
        raise InvalidProof("The subtree is empty or reversed.")
    width = 1 << (end - start - 1).bit_length()
    if start % width:
        raise InvalidProof("The subtree is not aligned.")


def verify_subtree_inclusion(
    *, index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise unless ``proof`` shows ``leaf`` at ``index`` under subtree root ``root``."""
    check_subtree(start, end)
    if not start <= index < end:
        raise InvalidProof("The leaf index is outside the subtree.")
    match_root(root_from_inclusion_proof(index - start, end - start, leaf, proof), root)


def verify_subtree_consistency(
    *, start: int, end: int, size: int, proof: Sequence[bytes], sub_root: bytes, root: bytes
) -> None:
    """Raise unless subtree ``[start, end)`` with ``sub_root`` sits in tree ``(size, root)``."""
    if start == end and end <= size:
        # The empty subtree is part of every tree; only its hash and proof can be wrong.
        if proof or sub_root != EMPTY_ROOT:
            raise InvalidProof("An empty subtree has the empty hash and no proof.")
        return
    match_root(_root_from_subtree_consistency(start, end, size, proof, sub_root), root)


def _root_from_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], sub_root: bytes
) -> bytes:
    check_subtree(start, end)
    if size < end:
        raise InvalidProof("The subtree ends beyond the tree.")
    if start == 0 and end == size:
        if proof:
            raise InvalidProof("The subtree is the whole tree; the proof must be empty.")
        return sub_root
    if not proof:
        raise InvalidProof("The consistency proof is empty.")
    height = ((end - 1) ^ start).bit_length()
    if end == size:
        # The subtree sits on the right border: one left sibling per right-child ancestor.
        if len(proof) != (start >> height).bit_count():
            raise InvalidProof("The consistency proof has the wrong length.")
        return chain_border_right(sub_root, proof)
    fork = ((end - 1) ^ (size - 1)).bit_length()
    shift = ((end - start) & -(end - start)).bit_length() - 1
    seed, first = proof[0], 1
    if end - start == 1 << shift:
        seed, first = sub_root, 0
    if len(proof) != first + (fork - shift) + ((end - 1) >> fork).bit_count():
        raise InvalidProof("The consistency proof has the wrong length.")
    rest = proof[first:]
    sub, grown, used = seed, seed, 0
    for level in range(shift, height):
        if ((end - 1) >> level) & 1:
            sub = node_hash(rest[used], sub)
            grown = node_hash(rest[used], grown)
            used += 1
        elif level < fork:
            grown = node_hash(grown, rest[used])
            used += 1
    match_root(sub, sub_root)
    # The rest is an inclusion proof of the grown subtree root, one level up per step.
    index = start >> height
    level_size = ((size - 1) >> height) + 1
    return root_from_inclusion_proof(index, level_size, grown, rest[used:])
