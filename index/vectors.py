"""Vector backends behind one small interface (numpy, torch float16, and faiss HNSW in index.ann).

Large indexes (from ``index.ann.ANN_MIN`` passages, held in the memory-mapped sidecar) search an
HNSW graph and re-score its shortlist exactly (``index.ann``): ~1 ms at 1M passages where any
exact scan reads 0.8-1.5 GB per query. The exact backends stay for small indexes and as the
reference. One matrix-vector product over 1M x 384 float32 rows is memory-bound: ~70-95 ms with
numpy's BLAS on this two-core machine; torch's float16 product reads half the bytes (~27 ms), so
``half`` scans float16 and re-scores a shortlist exactly in float32 (the float16 copy is cached
beside the sidecar matrix). ``vector_backend_trials`` and ``ann_trials`` in
``benchmarks/results/perf.json`` hold the latest comparisons.

This module owns every file derived from the store's vectors: the sidecar (the matrix, its ids
and documents, one folder per generation) and the backends' caches kept in the same folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.tempfiles import generation_folders, remove_abandoned, sidecar_path, temp_path

if TYPE_CHECKING:
    from index.postgres import PgStore
    from index.store import Store

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


class _RescoredIndex:
    """Compact codes scanned for a shortlist, then the shortlist re-scored exactly in float32.

    The scan reads fewer bytes than float32 (the product is memory-bound); the float32 matrix
    (memory-mapped for large indexes) is touched only for the shortlisted rows, so results are
    exact whenever the true top-k is inside the shortlist.
    """

    def __init__(self, matrix: np.ndarray, shortlist: int) -> None:
        self.matrix = matrix
        self.shortlist = shortlist
        self._file: int | None = None
        filename = getattr(matrix, "filename", None)
        if isinstance(matrix, np.memmap) and filename and matrix.flags.c_contiguous:
            # Shortlisted rows of a memory-mapped matrix are read with pread, not through the
            # map: page faults would map ~64 KB around each row (fault-around) and, query after
            # query, the whole float32 matrix would become resident again.
            self._file = os.open(filename, os.O_RDONLY)
            self._offset = int(matrix.offset)
            self._row_bytes = int(matrix.shape[1]) * matrix.dtype.itemsize

    def __del__(self) -> None:
        if getattr(self, "_file", None) is not None:
            os.close(self._file)  # type: ignore[arg-type]

    def exact_rows(self, rows: np.ndarray) -> np.ndarray:
        """The float32 rows ``rows`` (ascending), exactly as stored."""
        if self._file is None:
            return np.asarray(self.matrix[rows], dtype=np.float32)
        out = np.empty((len(rows), self.matrix.shape[1]), dtype=self.matrix.dtype)
        size = self._row_bytes
        for i, row in enumerate(rows.tolist()):
            out[i] = np.frombuffer(os.pread(self._file, size, self._offset + row * size), out.dtype)
        return out.astype(np.float32, copy=False)

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def row(self, i: int) -> np.ndarray:
        return self.exact_rows(np.array([i]))[0]

    def approximate_scores(self, query: np.ndarray) -> np.ndarray:
        """Approximate inner products with ``query``, one per row (float32, writable)."""
        raise NotImplementedError

    def _candidates(self, scores: np.ndarray, n: int) -> np.ndarray:
        return _top_k(scores, n)

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
        candidates = self._candidates(approx, min(len(self), max(self.shortlist, 2 * k)))
        if mask is not None:
            candidates = candidates[mask[candidates]]
        candidates = np.sort(candidates)  # ascending rows read the memory map in order
        exact = self.exact_rows(candidates) @ q
        best = _top_k(exact, k)
        return candidates[best], exact[best]


class Int8VectorIndex(_RescoredIndex):
    """Per-row int8 codes, widened to float32 in cache-sized blocks (numpy has no int8 BLAS)."""

    def __init__(
        self,
        matrix: np.ndarray,
        codes: np.ndarray | None = None,
        scales: np.ndarray | None = None,
        *,
        shortlist: int = 256,
    ) -> None:
        super().__init__(matrix, shortlist)
        if codes is None or scales is None:
            codes, scales = quantize_int8(matrix)
        self.codes, self.scales = codes, scales
        self._buffer = np.empty((min(_BLOCK_ROWS, len(codes)), codes.shape[1]), np.float32)

    def approximate_scores(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32)
        out = np.empty(len(self), np.float32)
        for start in range(0, len(self), _BLOCK_ROWS):
            block = self.codes[start : start + _BLOCK_ROWS]
            wide = self._buffer[: len(block)]
            wide[...] = block
            np.matmul(wide, q, out=out[start : start + len(block)])
        out *= self.scales
        return out


def to_float16(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` as float16, converted block by block."""
    out = np.empty(matrix.shape, np.float16)
    for start in range(0, matrix.shape[0], _BLOCK_ROWS):
        out[start : start + _BLOCK_ROWS] = matrix[start : start + _BLOCK_ROWS]
    return out


class HalfVectorIndex(_RescoredIndex):
    """float16 rows scanned by torch's half-precision matrix-vector product.

    Half the bytes of float32 and, unlike numpy, a kernel that reads float16 directly: at 1M x
    384 one scan takes ~27 ms here against ~70-95 ms for float32 numpy. Scores are within ~1e-4
    of float32; the shortlist is re-scored exactly.
    """

    def __init__(
        self, matrix: np.ndarray, half: np.ndarray | None = None, *, shortlist: int = 256
    ) -> None:
        import torch

        super().__init__(matrix, shortlist)
        self.half = to_float16(matrix) if half is None else half
        with warnings.catch_warnings():  # a read-only memory map: torch only ever reads it
            warnings.simplefilter("ignore", UserWarning)
            self._rows = torch.from_numpy(self.half)

    def approximate_scores(self, query: np.ndarray) -> np.ndarray:
        import torch

        q = torch.from_numpy(np.asarray(query, dtype=np.float16))
        return torch.mv(self._rows, q).float().numpy()

    def _candidates(self, scores: np.ndarray, n: int) -> np.ndarray:
        import torch

        return torch.topk(torch.from_numpy(scores), n).indices.numpy()


def _cached_codes(
    matrix: np.ndarray, names: tuple[str, ...], make: Callable[[np.ndarray], tuple[np.ndarray, ...]]
) -> tuple[np.ndarray, ...] | None:
    """Codes ``make(matrix)`` of a memory-mapped sidecar matrix, cached beside it as NAME.npy.

    None for an in-memory matrix (small indexes: built each time). Codes are read back
    memory-mapped; a read-only folder only costs rebuilding them at the next cold start.
    """
    filename = getattr(matrix, "filename", None)
    if not isinstance(matrix, np.memmap) or not filename:
        return None
    folder = Path(filename).parent
    try:
        found = tuple(np.load(folder / f"{n}.npy", mmap_mode="r") for n in names)
        if all(len(a) == len(matrix) for a in found):
            return found
    except (OSError, ValueError):
        pass
    made = make(matrix)
    try:
        remove_abandoned(folder)
        for name, array in zip(names, made, strict=True):
            tmp = temp_path(folder / f"{name}.npy")
            with tmp.open("wb") as out:
                np.save(out, array)
            os.replace(tmp, folder / f"{name}.npy")
    except OSError as exc:
        log.info("could not cache %s in %s: %s", ", ".join(names), folder, exc)
        return made
    return tuple(np.load(folder / f"{n}.npy", mmap_mode="r") for n in names)


def _cached_int8(matrix: np.ndarray) -> Int8VectorIndex:
    codes = _cached_codes(matrix, ("int8_codes", "int8_scales"), quantize_int8)
    if codes is None:
        return Int8VectorIndex(matrix)
    return Int8VectorIndex(matrix, codes[0], np.asarray(codes[1]))


def _cached_half(matrix: np.ndarray) -> HalfVectorIndex:
    codes = _cached_codes(matrix, ("matrix_f16",), lambda m: (to_float16(m),))
    return HalfVectorIndex(matrix, None if codes is None else codes[0])


class StoredMatrix:
    """A snapshot's vectors left in the database (PostgreSQL), read a block at a time.

    It answers what the rest of briefbot asks of a matrix (``shape``, ``len``, rows by slice
    or index array, ``@``), so a bot process holds no copy of a million vectors: search goes
    to pgvector (:class:`PgVectorIndex`), and a digest reads the rows it needs.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, store: PgStore, ids: np.ndarray, dim: int) -> None:
        self.store, self.ids, self.dim = store, ids, dim

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.ids), self.dim)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, key: int | slice | np.ndarray) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self.rows(np.array([int(key)]))[0]
        if isinstance(key, slice):
            return self.rows(np.arange(len(self.ids))[key])
        return self.rows(np.asarray(key, dtype=np.int64))

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        return self.rows(np.arange(len(self.ids)))

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of snapshot rows, in the order asked."""
        out = np.zeros((len(rows), self.dim), np.float32)
        if len(rows) == 0:
            return out
        wanted = self.ids[rows]
        found = self.store.vectors_matrix(wanted)
        missing = [int(p) for p in wanted if int(p) not in found]
        if missing:
            raise LookupError(f"passages without a vector: {missing[:5]}")
        for i, pid in enumerate(wanted):
            out[i] = found[int(pid)]
        return out


class PgVectorIndex:
    """Dense search in pgvector: an HNSW walk over float16 copies, re-scored exactly.

    Filters (always whole documents from the library, or single passages) are answered by
    whichever is cheapest (measured at 1M real-like passages, top-100):
    - most passages allowed (from ``OVERFETCH_SHARE``): one unfiltered walk fetching
      2k / share candidates, the others dropped here (~13 ms at half the index, where naming
      62k documents to the database took 420 ms);
    - a few thousand passages: an exact scan of them by id;
    - else the filter goes to the database in its own terms (whole collections: a server's
      scope, a name or two; else the documents, else the passages) and pgvector's iterative
      scan walks on past the others (~30 ms for a tenth of the index), deeper as fewer are
      allowed. A walk that comes back short is answered by an exact scan.
    """

    EXACT_ROWS = 5_000  # allowed passages up to which an exact scan beats a filtered walk
    OVERFETCH_SHARE = 0.3  # allowed share from which one wider unfiltered walk is cheapest
    MAX_FETCH = 1_000  # candidates one walk returns at most (pgvector's ef_search limit)
    MAX_LISTED = 20_000  # documents or passages a filter may name to the database

    def __init__(self, snapshot: VectorSnapshot, store: PgStore, ef_search: int = 100) -> None:
        self._snapshot, self._store, self.ef_search = snapshot, store, ef_search
        self.matrix = snapshot.matrix
        assert isinstance(snapshot.matrix, StoredMatrix)
        self._stored: StoredMatrix = snapshot.matrix
        # Per snapshot document: its collection's code, and the codes' names (read when needed).
        self._collection_codes: np.ndarray | None = None
        self._collection_names: list[str] = []

    def __len__(self) -> int:
        return len(self._snapshot.ids)

    def row(self, i: int) -> np.ndarray:
        return self.exact_rows(np.array([i]))[0]

    def exact_rows(self, rows: np.ndarray) -> np.ndarray:
        return self._stored.rows(np.asarray(rows, dtype=np.int64))

    def _rows_of(self, found: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Snapshot rows and scores of passages found (those newer than the snapshot left out)."""
        pids = np.array([p for p, _ in found], dtype=np.int64)
        scores = np.array([s for _, s in found], dtype=np.float32)
        rows, keep = self._snapshot.rows_of(pids)
        return rows[keep], scores[keep]

    def _collections_of(self, documents: np.ndarray) -> list[str] | None:
        """The collections whose documents are exactly those flagged, or None."""
        if self._collection_codes is None:
            found = self._store.document_collections()
            names = [found.get(d, "") for d in self._snapshot.doc_ids]
            unique, codes = np.unique(np.array(names, dtype=object), return_inverse=True)
            self._collection_names = [str(u) for u in unique]
            self._collection_codes = codes.astype(np.int32)
        codes = self._collection_codes
        used = np.unique(codes[documents])
        if not np.array_equal(np.isin(codes, used), documents):
            return None
        return [self._collection_names[int(c)] for c in used]

    def _scope(self, mask: np.ndarray, documents: np.ndarray) -> dict[str, Any] | None:
        """The filter in the database's terms, or None when it would name too many."""
        snap = self._snapshot
        if not np.array_equal(documents[np.asarray(snap.doc_index)], mask):
            listed = snap.ids[mask]
            return {"passages": listed} if len(listed) <= self.MAX_LISTED else None
        collections = self._collections_of(documents)
        if collections is not None:
            return {"collections": collections}
        positions = np.flatnonzero(documents)
        if len(positions) > self.MAX_LISTED:
            return None
        return {"documents": [snap.doc_ids[int(p)] for p in positions]}

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        ids = self._snapshot.ids
        k = min(k, len(ids))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ef = max(self.ef_search, k)
        if mask is None or bool(mask.all()):
            return self._rows_of(self._store.nearest(query, k, ef_search=ef))
        allowed = int(np.count_nonzero(mask))
        if allowed == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        share = allowed / len(mask)
        if allowed <= self.EXACT_ROWS:
            return self._kept(self._store.nearest(query, k, exact=True, passages=ids[mask]), mask)
        if share >= self.OVERFETCH_SHARE:
            fetch = min(self.MAX_FETCH, int(np.ceil(2 * k / share)))
            rows, scores = self._kept(
                self._store.nearest(query, fetch, ef_search=max(ef, fetch)), mask
            )
            if len(rows) >= k:
                return rows[:k], scores[:k]
        documents = np.zeros(len(self._snapshot.doc_ids), dtype=bool)
        documents[np.asarray(self._snapshot.doc_index)[mask]] = True
        scope = self._scope(mask, documents)
        if scope is not None:
            # A walk past the others sees fewer allowed candidates: deeper as fewer are
            # allowed (at a tenth, ef 100 gave recall@10 0.96, 560 gave 0.99+; 100k real-like).
            deeper = min(self.MAX_FETCH, int(ef / share**0.75))
            rows, scores = self._kept(
                self._store.nearest(query, k, ef_search=deeper, **scope), mask
            )
            if len(rows) >= k:
                return rows, scores
        names = [self._snapshot.doc_ids[int(p)] for p in np.flatnonzero(documents)]
        return self._kept(self._store.nearest(query, k, exact=True, documents=names), mask)

    def _kept(
        self, found: list[tuple[int, float]], mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows found that the mask allows (a passage newer than the snapshot is not)."""
        rows, scores = self._rows_of(found)
        keep = mask[rows]
        return rows[keep], scores[keep]


def make_vector_index(source: np.ndarray | VectorSnapshot, backend: str = "auto") -> VectorIndex:
    """The vector backend ``backend`` over a snapshot (or a bare matrix).

    Backends: ``numpy`` (exact float32), ``half`` (float16 scan, exact re-score), ``int8``,
    ``ann`` (an HNSW graph beside the sidecar, exact re-score: ``index.ann``; needs a snapshot
    with a memory-mapped sidecar) and ``auto``: exact numpy for indexes held in memory (below
    the sidecar size a scan takes a few milliseconds), ``ann`` over a sidecar from
    ``index.ann.ANN_MIN`` passages, float16 over a smaller sidecar.
    """
    snapshot = source if isinstance(source, VectorSnapshot) else None
    matrix = source.matrix if isinstance(source, VectorSnapshot) else source
    if isinstance(matrix, StoredMatrix):  # PostgreSQL: the vectors stay in the database
        if snapshot is None or backend not in ("auto", "pgvector"):
            raise ValueError("vectors kept in PostgreSQL are searched by pgvector only")
        return PgVectorIndex(snapshot, matrix.store)
    mapped = isinstance(matrix, np.memmap)
    if backend == "auto":
        from index.ann import ANN_MIN

        if mapped and snapshot is not None and len(matrix) >= ANN_MIN:
            backend = "ann"
        else:
            backend = "half" if mapped else "numpy"
    if backend == "numpy":
        return NumpyVectorIndex(matrix)
    if backend == "half":
        return _cached_half(matrix)
    if backend == "int8":
        return _cached_int8(matrix)
    if backend == "ann":
        from index.ann import DeferredAnnIndex

        if snapshot is None or not mapped:
            raise ValueError("the ann backend needs a snapshot over a memory-mapped sidecar")
        return DeferredAnnIndex(snapshot, sidecar_instance(snapshot))
    raise ValueError(f"unknown vector backend {backend!r}")


def sidecar_instance(snapshot: VectorSnapshot) -> str:
    """The database instance a memory-mapped snapshot's sidecar was written for."""
    folder = Path(getattr(snapshot.matrix, "filename", "")).parent
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return str(meta["instance"])


# -- the vector sidecar: the store's vectors as memory-mapped files -------------------------


@dataclass(frozen=True)
class VectorSnapshot:
    """All passage vectors at one generation: row i of ``matrix`` is passage ``ids[i]``."""

    generation: int
    ids: np.ndarray  # int64
    doc_index: np.ndarray  # int32, row → position in ``doc_ids``
    doc_ids: tuple[str, ...]
    matrix: np.ndarray  # float32, L2-normalised rows

    def rows_of(self, passage_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each passage id's row, and whether it is in the snapshot at all (a row where not)."""
        wanted = np.asarray(passage_ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.zeros(len(wanted), np.int64), np.zeros(len(wanted), dtype=bool)
        rows = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return rows, self.ids[rows] == wanted


_SIDECAR_FORMAT = 1
SIDECAR_MIN = 50_000  # passages from which a sidecar is written


def _document_positions(rows: list[tuple[int, str]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Passage ids, each row's position in the document list, and that list (first seen)."""
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    doc_ids: list[str] = []
    doc_pos: dict[str, int] = {}
    doc_index = np.empty(len(rows), np.int32)
    for i, (_, doc_id) in enumerate(rows):
        pos = doc_pos.get(doc_id)
        if pos is None:
            pos = doc_pos[doc_id] = len(doc_ids)
            doc_ids.append(doc_id)
        doc_index[i] = pos
    return ids, doc_index, doc_ids


def load_vectors(
    store: Store,
    dim: int,
    previous: VectorSnapshot | None = None,
    *,
    sidecar_min: int = SIDECAR_MIN,
) -> VectorSnapshot:
    """Every passage vector, reusing ``previous`` or the on-disk sidecar where they hold.

    A sidecar (``<db>.vectors/g<generation>/``, float32 ``.npy`` files opened memory-mapped)
    is written once the index has ``sidecar_min`` passages: a cold start then maps it
    instead of decoding every BLOB, and a change reads only the BLOBs of new passages.
    SQLite stays the truth: a sidecar is trusted only for the generation it is named after.
    PostgreSQL keeps its vectors: the snapshot's matrix reads them from there (StoredMatrix).
    """
    if store.backend == "postgres":
        return _stored_snapshot(store, dim, previous)
    root = sidecar_path(store.path, ".vectors")
    generation = store.generation()
    if root is not None:
        instance = store.instance_id()
        cached = _read_sidecar(root / f"g{generation}", generation, dim, instance)
        if cached is not None:
            return cached
        if previous is None or previous.generation > generation:
            previous = _newest_sidecar(root, dim, generation, instance)
    with store.read_snapshot():
        generation = store.generation()
        rows = store.passage_documents()
        ids, doc_index, doc_ids = _document_positions(rows)
        del rows
        target = None
        matrix: np.ndarray
        if root is not None and len(ids) >= sidecar_min:
            remove_abandoned(root)
            target = temp_path(root / f"g{generation}")
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            matrix = np.lib.format.open_memmap(
                target / "matrix.npy", mode="w+", dtype=np.float32, shape=(len(ids), dim)
            )
        else:
            matrix = np.empty((len(ids), dim), np.float32)
        fresh = np.ones(len(ids), dtype=bool)
        if previous is not None and len(previous.ids) and previous.matrix.shape[1] == dim:
            where = np.searchsorted(previous.ids, ids).clip(0, len(previous.ids) - 1)
            kept = previous.ids[where] == ids
            fresh = ~kept
            rows_new = np.flatnonzero(kept)
            for start in range(0, len(rows_new), 65_536):
                part = rows_new[start : start + 65_536]
                matrix[part] = previous.matrix[where[part]]
        todo = np.flatnonzero(fresh)
        if len(todo) == len(ids):
            for i, blob in enumerate(store.all_vectors()):
                matrix[i] = np.frombuffer(blob, dtype=np.float32)
        else:
            row_of = {int(ids[i]): int(i) for i in todo}
            for passage_id, blob in store.vectors_of(ids[todo]):
                matrix[row_of.pop(passage_id)] = np.frombuffer(blob, dtype=np.float32)
            if row_of:
                raise LookupError(f"passages without a vector: {sorted(row_of)[:5]}")
        log.info(
            "vectors at generation %d: %d reused, %d read from SQLite",
            generation,
            len(ids) - len(todo),
            len(todo),
        )
        snapshot = VectorSnapshot(generation, ids, doc_index, tuple(doc_ids), matrix)
    if target is None or root is None:
        return snapshot
    return _publish_sidecar(root, target, snapshot, dim, store.instance_id())


def _stored_snapshot(store: Store, dim: int, previous: VectorSnapshot | None) -> VectorSnapshot:
    """A PostgreSQL index's snapshot: passage ids and documents, the vectors left in the database.

    A change that only added passages (their ids are above every older one: writes are
    serialised, identities only grow) reads just those; one that removed any reads all ids.
    """
    with store.read_snapshot():
        generation = store.generation()
        if previous is not None and isinstance(previous.matrix, StoredMatrix) and len(previous.ids):
            if previous.generation == generation:
                return previous
            added = store.passage_documents(after=int(previous.ids[-1]))
            if len(previous.ids) + len(added) == store.passage_count():
                doc_ids = list(previous.doc_ids)
                position = {d: i for i, d in enumerate(doc_ids)}
                more = np.empty(len(added), np.int32)
                for i, (_, doc_id) in enumerate(added):
                    if doc_id not in position:
                        position[doc_id] = len(doc_ids)
                        doc_ids.append(doc_id)
                    more[i] = position[doc_id]
                ids = np.concatenate([previous.ids, np.array([r[0] for r in added], np.int64)])
                doc_index = np.concatenate([np.asarray(previous.doc_index), more])
                return _stored(store, generation, ids, doc_index, doc_ids, dim)
        ids, doc_index, doc_ids = _document_positions(store.passage_documents())
    return _stored(store, generation, ids, doc_index, doc_ids, dim)


def _stored(
    store: Store,
    generation: int,
    ids: np.ndarray,
    doc_index: np.ndarray,
    doc_ids: list[str],
    dim: int,
) -> VectorSnapshot:
    # Duck-typed as a matrix (shape, rows by index, @): what the snapshot's users ask of it.
    stored: Any = StoredMatrix(store, ids, dim)  # type: ignore[arg-type]
    return VectorSnapshot(generation, ids, doc_index, tuple(doc_ids), stored)


def _read_sidecar(folder: Path, generation: int, dim: int, instance: str) -> VectorSnapshot | None:
    """The sidecar in ``folder`` memory-mapped, or None when it is missing or does not fit."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        found = (meta.get("format"), meta.get("instance"), meta.get("generation"), meta.get("dim"))
        if found != (_SIDECAR_FORMAT, instance, generation, dim):
            return None
        matrix = np.load(folder / "matrix.npy", mmap_mode="r")
        ids = np.load(folder / "ids.npy")
        doc_index = np.load(folder / "doc_index.npy")
        doc_ids = tuple(json.loads((folder / "doc_ids.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        log.debug("vector sidecar %s unusable: %s", folder, exc)
        return None
    if matrix.shape != (len(ids), dim) or len(doc_index) != len(ids):
        return None
    return VectorSnapshot(generation, ids, doc_index, doc_ids, matrix)


def _newest_sidecar(root: Path, dim: int, below: int, instance: str) -> VectorSnapshot | None:
    """The newest complete sidecar older than generation ``below`` (a base to update from)."""
    for generation, folder in generation_folders(root, "g"):
        if generation < below:
            found = _read_sidecar(folder, generation, dim, instance)
            if found is not None:
                return found
    return None


def _publish_sidecar(
    root: Path, target: Path, snapshot: VectorSnapshot, dim: int, instance: str
) -> VectorSnapshot:
    """Finish ``target``, rename it to its generation's name, drop older ones; map it back."""
    matrix = snapshot.matrix
    if isinstance(matrix, np.memmap):
        matrix.flush()
    np.save(target / "ids.npy", snapshot.ids)
    np.save(target / "doc_index.npy", snapshot.doc_index)
    (target / "doc_ids.json").write_text(json.dumps(list(snapshot.doc_ids)), encoding="utf-8")
    (target / "meta.json").write_text(
        json.dumps(
            {
                "format": _SIDECAR_FORMAT,
                "instance": instance,
                "generation": snapshot.generation,
                "dim": dim,
            }
        ),
        encoding="utf-8",
    )
    final = root / f"g{snapshot.generation}"
    if final.exists() and _read_sidecar(final, snapshot.generation, dim, instance) is None:
        shutil.rmtree(final, ignore_errors=True)  # left by another database or a crash
    try:
        target.rename(final)
    except OSError:  # another process published the same generation first: use theirs
        shutil.rmtree(target, ignore_errors=True)
    for generation, old in generation_folders(root, "g"):
        if generation < snapshot.generation:
            shutil.rmtree(old, ignore_errors=True)  # open maps of it stay valid on POSIX
    return _read_sidecar(final, snapshot.generation, dim, instance) or snapshot
