"""Inclusion and consistency proofs as values that verify themselves (RFC 6962 §2.1).

What ``AuditLog.inclusion_proof`` and ``consistency_proof`` return, and what the HTTP
endpoints and ``zt audit proof`` serialise (``to_json``: hashes in standard base64).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from zerotrust.audit import merkle


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Entry ``seq`` is leaf ``seq`` of the tree of ``tree_size`` entries with ``root``."""

    seq: int
    tree_size: int
    entry: bytes
    leaf_hash: bytes
    proof: tuple[bytes, ...]
    root: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tree_size": self.tree_size,
            "entry": self.entry.decode("ascii"),
            "leaf_hash": _b64(self.leaf_hash),
            "proof": [_b64(h) for h in self.proof],
            "root": _b64(self.root),
        }

    def verify(self) -> None:
        """Raise ``InvalidProof`` unless the entry, proof and root agree."""
        if merkle.leaf_hash(self.entry) != self.leaf_hash:
            raise merkle.InvalidProof("The entry does not match its leaf hash.")
        merkle.verify_inclusion(
            index=self.seq,
            size=self.tree_size,
            leaf=self.leaf_hash,
            proof=self.proof,
            root=self.root,
        )


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of ``size2`` entries (``root2``) extends the one of ``size1`` (``root1``)."""

    size1: int
    size2: int
    proof: tuple[bytes, ...]
    root1: bytes
    root2: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "size1": self.size1,
            "size2": self.size2,
            "proof": [_b64(h) for h in self.proof],
            "root1": _b64(self.root1),
            "root2": _b64(self.root2),
        }

    def verify(self) -> None:
        """Raise ``InvalidProof`` unless the proof links ``root1`` to ``root2``."""
        merkle.verify_consistency(
            size1=self.size1, size2=self.size2, proof=self.proof, root1=self.root1, root2=self.root2
        )
