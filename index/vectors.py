"""Vector backends behind one small interface (numpy today; FAISS or pgvector could follow)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VectorIndex(Protocol):
    """Top-k inner-product search over L2-normalised rows."""

    def __len__(self) -> int: ...

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the ``k`` best rows (best first), only rows where ``mask``."""
        ...

    def row(self, i: int) -> np.ndarray: ...


class NumpyVectorIndex:
    """Exact brute-force search: one matrix-vector product and a partial sort."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def row(self, i: int) -> np.ndarray:
        return self.matrix[i]

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(self)
        if n == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = self.matrix @ np.asarray(query, dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
            k = min(k, int(mask.sum()))
            if k == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
        k = min(k, n)
        top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        order = top[np.argsort(-scores[top], kind="stable")]
        return order.astype(np.int64), scores[order]


def make_vector_index(matrix: np.ndarray, backend: str = "numpy") -> VectorIndex:
    """The vector backend named ``backend`` over ``matrix``."""
    if backend == "numpy":
        return NumpyVectorIndex(matrix)
    raise ValueError(f"unknown vector backend {backend!r}")
