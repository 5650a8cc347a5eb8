"""Tree hashes of a stored log, read from stored leaf hashes and stride nodes.

Only perfect subtrees at levels that are multiples of ``NODE_STRIDE`` are stored (level 0
is the leaf hash column), so the hash of any perfect subtree is one range read of at most
2^(stride-1) stored hashes folded upwards. Reads are grouped by aligned blocks of 256, so
an inclusion proof in a tree of a million entries costs about three reads.
"""

from __future__ import annotations

from zerotrust.audit import merkle
from zerotrust.audit.interfaces import NODE_STRIDE, AuditStore

_GROUP = 1 << NODE_STRIDE


class StoredTree:
    """The Merkle tree of the first ``size`` entries of a store (one per request)."""

    def __init__(self, store: AuditStore, size: int) -> None:
        self._store = store
        self.size = size
        self._groups: dict[tuple[int, int], list[bytes]] = {}

    def perfect(self, level: int, index: int) -> bytes:
        """The hash of leaves ``[index << level, (index + 1) << level)``."""
        base = level - level % NODE_STRIDE
        width = level - base
        lo = index << width
        group = self._group(base, lo >> NODE_STRIDE)
        offset = lo - (lo >> NODE_STRIDE << NODE_STRIDE)
        hashes = group[offset : offset + (1 << width)]
        if len(hashes) != 1 << width:
            raise merkle.InvalidProof("The subtree is not complete in this tree.")
        for _ in range(width):
            hashes = [merkle.node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def range_hash(self, start: int, end: int) -> bytes:
        """``MTH(D[start:end])`` for the aligned ranges that proofs are made of."""
        nodes = merkle.perfect_subtrees(start, end)
        if not nodes:
            return merkle.EMPTY_ROOT
        h = self.perfect(*nodes[-1])
        for level, index in reversed(nodes[:-1]):
            h = merkle.node_hash(self.perfect(level, index), h)
        return h

    def root(self) -> bytes:
        return self.range_hash(0, self.size)

    def inclusion_proof(self, index: int) -> list[bytes]:
        return merkle.inclusion_proof(index, self.size, self.range_hash)

    def consistency_proof(self, size1: int) -> list[bytes]:
        return merkle.consistency_proof(size1, self.size, self.range_hash)

    def frontier(self) -> tuple[bytes, ...]:
        """The compact range of the whole tree, e.g. to rebuild a lost head."""
        return tuple(self.perfect(lv, ix) for lv, ix in merkle.perfect_subtrees(0, self.size))

    def _group(self, base: int, group: int) -> list[bytes]:
        key = (base, group)
        cached = self._groups.get(key)
        if cached is None:
            start = group * _GROUP
            end = min(start + _GROUP, self.size >> base)
            if base == 0:
                cached = self._store.leaf_hashes(start, end)
            else:
                cached = self._store.node_hashes(base, start, end)
            self._groups[key] = cached
        return cached
