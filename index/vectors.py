"""Vector backends behind one small interface (numpy today; FAISS or pgvector could follow).

``make_vector_index(matrix, "auto")`` is exact float32 search (``numpy``) at every size. On this
two-core AVX (no AVX2) machine one BLAS matrix-vector product over 1M x 384 float32 rows is
memory-bound (p95 ~95 ms at load ~1.5). numpy has no int8 or float16 BLAS, so the compact codes
must be widened to float32 block by block: float16 took over 10x the float32 time, int8 with an
exact re-score of a 256-row shortlist between 1x and 3.7x across runs (recall@10 = 1.0), never
clearly faster. ``vector_backend_trials`` in ``benchmarks/results/perf.json`` holds the latest
trial. ``int8`` stays available for machines where that trade goes the other way.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from index.tempfiles import remove_abandoned, temp_path

log = logging.getLogger(__name__)

_BLOCK_ROWS = 16_384  # int8 rows widened to float32 per step: 24 MB, stays in cache


class VectorIndex(Protocol):
    """Top-k inner-product search over L2-normalised rows."""

    def __len__(self) -> int: ...

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the ``k`` best rows (best first), only rows where ``mask``."""
        ...

    def row(self, i: int) -> np.ndarray: ...


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first (ties by position)."""
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, np.int64)
    top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    return top[np.argsort(-scores[top], kind="stable")].astype(np.int64)


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
        order = _top_k(scores, k)
        return order, scores[order]


def quantize_int8(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row symmetric int8 codes and scales: ``row ≈ codes * scale``."""
    codes = np.empty(matrix.shape, np.int8)
    scales = np.empty(matrix.shape[0], np.float32)
    for start in range(0, matrix.shape[0], _BLOCK_ROWS):
        block = np.asarray(matrix[start : start + _BLOCK_ROWS], dtype=np.float32)
        peak = np.abs(block).max(axis=1)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        codes[start : start + len(block)] = np.rint(block / scale[:, None])
        scales[start : start + len(block)] = scale
    return codes, scales


class Int8VectorIndex:
    """int8 codes scanned in cache-sized blocks, then the shortlist re-scored exactly.

    The scan reads a quarter of the float32 bytes (the product is memory-bound); the float32
    matrix (memory-mapped for large indexes) is touched only for ``shortlist`` rows a query,
    so results are exact whenever the true top-k is inside the int8 shortlist.
    """

    def __init__(
        self,
        matrix: np.ndarray,
        codes: np.ndarray | None = None,
        scales: np.ndarray | None = None,
        *,
        shortlist: int = 256,
    ) -> None:
        self.matrix = matrix
        if codes is None or scales is None:
            codes, scales = quantize_int8(matrix)
        self.codes, self.scales = codes, scales
        self.shortlist = shortlist
        self._buffer = np.empty((min(_BLOCK_ROWS, len(codes)), codes.shape[1]), np.float32)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def row(self, i: int) -> np.ndarray:
        return np.asarray(self.matrix[i], dtype=np.float32)

    def approximate_scores(self, query: np.ndarray) -> np.ndarray:
        """int8-code inner products with ``query``, one per row."""
        q = np.asarray(query, dtype=np.float32)
        out = np.empty(len(self), np.float32)
        for start in range(0, len(self), _BLOCK_ROWS):
            block = self.codes[start : start + _BLOCK_ROWS]
            wide = self._buffer[: len(block)]
            wide[...] = block
            np.matmul(wide, q, out=out[start : start + len(block)])
        out *= self.scales
        return out

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(self) == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.asarray(query, dtype=np.float32)
        approx = self.approximate_scores(q)
        if mask is not None:
            approx[~mask] = -np.inf
            k = min(k, int(mask.sum()))
            if k == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
        candidates = _top_k(approx, max(self.shortlist, 2 * k))
        if mask is not None:
            candidates = candidates[mask[candidates]]
        candidates = np.sort(candidates)  # ascending rows read the memory map in order
        exact = np.asarray(self.matrix[candidates], dtype=np.float32) @ q
        best = _top_k(exact, k)
        return candidates[best], exact[best]


def _cached_int8(matrix: np.ndarray) -> Int8VectorIndex:
    """An int8 index; codes of a memory-mapped sidecar matrix are cached beside it."""
    filename = getattr(matrix, "filename", None)
    if not isinstance(matrix, np.memmap) or not filename:
        return Int8VectorIndex(matrix)
    folder = Path(filename).parent
    try:
        codes = np.load(folder / "int8_codes.npy", mmap_mode="r")
        scales = np.load(folder / "int8_scales.npy")
        if codes.shape == matrix.shape and scales.shape == (matrix.shape[0],):
            return Int8VectorIndex(matrix, codes, scales)
    except (OSError, ValueError):
        pass
    codes, scales = quantize_int8(matrix)
    try:
        remove_abandoned(folder)
        for name, array in (("int8_codes", codes), ("int8_scales", scales)):
            tmp = temp_path(folder / f"{name}.npy")
            with tmp.open("wb") as out:
                np.save(out, array)
            os.replace(tmp, folder / f"{name}.npy")
    except OSError as exc:  # a read-only folder only costs the next cold start
        log.info("could not cache int8 codes in %s: %s", folder, exc)
    return Int8VectorIndex(matrix, codes, scales)


def make_vector_index(matrix: np.ndarray, backend: str = "auto") -> VectorIndex:
    """The vector backend named ``backend`` (``numpy``, ``int8`` or ``auto``) over ``matrix``."""
    if backend in ("auto", "numpy"):
        return NumpyVectorIndex(matrix)
    if backend == "int8":
        return _cached_int8(matrix)
    raise ValueError(f"unknown vector backend {backend!r}")
