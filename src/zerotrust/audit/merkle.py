"""RFC 6962 Merkle trees: hashing, roots, and inclusion and consistency proofs.

Leaf hash ``SHA-256(0x00 || entry)``, node hash ``SHA-256(0x01 || left || right)``
(RFC 6962 §2.1); the distinct prefixes stop a leaf being passed off as an interior node
(second-preimage attack). The root of a tree of ``n`` leaves splits at the largest power
of two below ``n``, so a tree of any size has exactly one root.

Proof *generation* (RFC 6962 §2.1.1 and §2.1.2) is written against a ``range_hash``
callback, the Merkle tree hash of leaves ``[start, end)``, so the same code serves an
in-memory list and a database. Proof *verification* follows the transparency-dev
verifier (``proof/verify.go``, Apache-2.0) and raises ``InvalidProof`` on any failure;
it never returns a bool.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence

from zerotrust.core.errors import IntegrityError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF = b"\x00"
_NODE = b"\x01"

RangeHash = Callable[[int, int], bytes]


class InvalidProof(IntegrityError):
    """An inclusion or consistency proof did not verify."""

    code = "invalid_proof"
    message = "The Merkle proof does not verify."


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)`` (RFC 6962 §2.1)."""
    return hashlib.sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` (RFC 6962 §2.1)."""
    return hashlib.sha256(_NODE + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, via a compact range (memory O(log n))."""
    rng = CompactRange()
    for h in leaf_hashes:
        rng.append(h)
    return rng.root()


class CompactRange:
    """The right border of a growing tree: one perfect-subtree hash per set bit of ``size``.

    Appending a leaf costs one node hash on average and the range never holds more than
    64 hashes, so a verifier can recompute the root of a billion entries in flat memory.
    ``on_node(level, index, hash)`` sees each perfect subtree as it completes.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.hashes = list(hashes)
        if len(self.hashes) != size.bit_count():
            raise IntegrityError("The compact range does not match its size.")

    def append(self, h: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        self.extend((h,), on_node)

    def extend(
        self,
        leaves: Iterable[bytes],
        on_node: Callable[[int, int, bytes], None] | None = None,
        *,
        every: int = 1,
    ) -> None:
        """Append leaf hashes; ``on_node`` sees completed subtrees at levels divisible by
        ``every``. (Written for speed: verification runs this once per entry.)"""
        hashes, size, sha256 = self.hashes, self.size, hashlib.sha256
        pop, push = hashes.pop, hashes.append
        for leaf in leaves:
            h, n, level = leaf, size, 0
            while n & 1:
                h = sha256(_NODE + pop() + h).digest()
                level += 1
                n >>= 1
                if on_node is not None and level % every == 0:
                    on_node(level, size >> level, h)
            push(h)
            size += 1
            self.size = size

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into perfect subtrees ``(level, index)``, left to right.

    For the ranges proofs use (``start`` aligned to a power of two at least ``end -
    start``) folding these hashes right to left gives ``MTH(D[start:end])``.
    """
    nodes = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else 63
        while start + (1 << level) > end:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form ``PATH(index, D[size])`` (RFC 6962 §2.1.1), leaf first."""
    if not 0 <= index < size:
        raise InvalidProof("The leaf index is outside the tree.")
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index - lo < k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form ``PROOF(size1, D[size2])`` (RFC 6962 §2.1.2)."""
    if not 0 < size1 <= size2:
        raise InvalidProof("A consistency proof needs 0 < size1 <= size2.")
    ranges = []
    lo, hi, whole = 0, size2, True
    while size1 - lo != hi - lo:
        k = split_point(hi - lo)
        if size1 - lo <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, range_hash: RangeHash) -> list[bytes]:
    return [range_hash(a, b) for a, b in inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, range_hash: RangeHash) -> list[bytes]:
    return [range_hash(a, b) for a, b in consistency_ranges(size1, size2)]


def list_range_hash(leaf_hashes: Sequence[bytes]) -> RangeHash:
    """A ``range_hash`` over an in-memory list of leaf hashes (tests, small trees)."""

    def range_hash(start: int, end: int) -> bytes:
        return root_of(leaf_hashes[start:end])

    return range_hash


# --- verification (transparency-dev proof/verify.go) ---------------------------------


def match_root(calculated: bytes, expected: bytes) -> None:
    if not hmac.compare_digest(calculated, expected):
        raise InvalidProof("The proof leads to a different root.")


def _decomp_inclusion(index: int, size: int) -> tuple[int, int]:
    # Split the path where the paths to ``index`` and ``size - 1`` diverge.
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
    return seed


def chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise InvalidProof("The leaf index is outside the tree.")
    if len(leaf) != HASH_SIZE:
        raise InvalidProof("The leaf hash has the wrong size.")
    inner, border = _decomp_inclusion(index, size)
    if len(proof) != inner + border:
        raise InvalidProof("The inclusion proof has the wrong length.")
    res = _chain_inner(leaf, proof[:inner], index)
    return chain_border_right(res, proof[inner:])


def verify_inclusion(
    *, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ``InvalidProof`` unless ``proof`` shows ``leaf`` at ``index`` under ``root``."""
    match_root(root_from_inclusion_proof(index, size, leaf, proof), root)


def root_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> bytes:
    """The root of ``size2`` that ``proof`` implies, after checking it against ``root1``."""
    if size2 < size1:
        raise InvalidProof("size2 is smaller than size1.")
    if size1 == 0:
        # Every tree extends the empty one: such a "proof" would prove nothing.
        raise InvalidProof("A consistency proof from the empty tree is meaningless.")
    if size1 == size2:
        if proof:
            raise InvalidProof("Equal sizes need an empty proof.")
        return root1
    if not proof:
        raise InvalidProof("The consistency proof is empty.")
    inner, border = _decomp_inclusion(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    # The proof opens with the root of the subtree of size 2^shift, unless size1 is it.
    seed, start = proof[0], 1
    if size1 == 1 << shift:
        seed, start = root1, 0
    if len(proof) != start + inner + border:
        raise InvalidProof("The consistency proof has the wrong length.")
    rest = proof[start:]
    mask = (size1 - 1) >> shift
    hash1 = chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    match_root(hash1, root1)
    return chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])


def verify_consistency(
    *, size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise ``InvalidProof`` unless the tree ``(size2, root2)`` extends ``(size1, root1)``."""
    match_root(root_from_consistency_proof(size1, size2, proof, root1), root2)
