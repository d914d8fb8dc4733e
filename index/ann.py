"""Approximate dense search for large indexes: an HNSW graph (faiss) beside the vector sidecar.

An exact scan of 1M x 384 vectors reads 768 MB (float16) to 1.5 GB (float32) per query: tens of
milliseconds on any host. From ``ANN_MIN`` passages dense search walks an HNSW graph over 8-bit
scalar-quantised codes instead (faiss ``IndexHNSWSQ``: ~0.4 KB a passage with the graph), takes
a shortlist and re-scores it exactly against the float32 sidecar rows, so scores are exact and
only membership of the shortlist is approximate. faiss was chosen by measurement
(``benchmarks/ann.py``, ``ann_trials`` in ``benchmarks/results/perf.json``): its HNSW search
takes a bitmap of allowed ids inside the graph walk, which keeps recall under filters.

The graph is derived from SQLite like the sidecar and kept in ``<db>.vectors/ann-g<generation>/``
(graph, the passage id of each graph label, meta), written under a temporary name and renamed
into place: a crash mid-build leaves the previous graph in use. Opening it at a later
generation maps its labels to the new rows by passage id: passages added since are inserted
into the graph (no rebuild), passages deleted since are masked out of every search. The graph
is written again once the additions reach ``REPUBLISH_SHARE`` and rebuilt once deletions reach
``REBUILD_DELETED_SHARE`` of it. A graph from a newer generation, another database, another
dimension or format is never trusted: it is rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.tempfiles import generation_folders, remove_abandoned, temp_path
from index.vectors import NumpyVectorIndex, VectorSnapshot, _RescoredIndex, _top_k

log = logging.getLogger(__name__)

ANN_MIN = 50_000  # passages from which dense search goes through the graph (measured: README)
# From here a first graph is built in the background (a minute at 100k, ~7 at 1M here).
BACKGROUND_BUILD_MIN = 200_000
_FORMAT = 1
_ADD_ROWS = 65_536  # float32 rows handed to faiss per add: 96 MB at 384 dimensions
_BLOCK_ROWS = 8_192  # codes widened to float32 per step of a scan: 12 MB
_SCAN_ALWAYS = 4_096  # allowed rows that are always scanned rather than walked


@dataclass(frozen=True)
class AnnParams:
    """HNSW graph and search settings (``benchmarks/ann.py`` measured these)."""

    m: int = 16  # links per node (2m on the bottom layer)
    ef_construction: int = 64
    ef_search: int = 128
    shortlist: int = 100  # graph results re-scored exactly (at least 2k)
    # Filters keeping fewer than this share of the graph are answered by a scan of the 8-bit
    # codes of the allowed rows only: the graph walk would visit mostly refused nodes.
    scan_below_share: float = 0.02
    # The search depth under a filter keeping a share s of the graph: ef / s**filter_ef_power
    # (measured at 100k, 10% kept: power 0.5 recall@10 0.991, 0.75 0.999, 1.0 1.000 at 3-5x
    # the time).
    filter_ef_power: float = 0.75
    siblings: bool = True  # walk results widened to their documents' other passages
    republish_share: float = 0.01
    rebuild_deleted_share: float = 0.2


DEFAULT_PARAMS = AnnParams()


def _faiss() -> Any:
    import faiss

    return faiss


class _Threads:
    """faiss's OpenMP threads for one block (builds use every core; single queries one)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        _faiss().omp_set_num_threads(self.n)

    def __exit__(self, *_: object) -> None:
        _faiss().omp_set_num_threads(1)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class _Graph:
    index: Any  # faiss.IndexHNWSQ
    label_ids: np.ndarray  # int64: passage id of each graph label
    generation: int  # the generation the files on disk were written at
    saved_labels: int  # labels in the files on disk


class AnnVectorIndex(_RescoredIndex):
    """HNSW over 8-bit codes for a shortlist, re-scored exactly in float32 (see module doc)."""

    def __init__(
        self,
        matrix: np.ndarray,
        ids: np.ndarray,
        graph: _Graph,
        params: AnnParams = DEFAULT_PARAMS,
        doc_index: np.ndarray | None = None,
    ) -> None:
        super().__init__(matrix, params.shortlist)
        self.params = params
        self.graph = graph
        self.index = graph.index
        where = np.searchsorted(ids, graph.label_ids).clip(0, max(len(ids) - 1, 0))
        found = ids[where] == graph.label_ids if len(ids) else np.zeros(0, bool)
        self.row_of_label = np.where(found, where, -1).astype(np.int64)
        self.deleted = int((~found).sum())
        self._live = found if self.deleted else None
        self._live_bits = np.packbits(found, bitorder="little") if self.deleted else None
        self.label_of_row = np.full(len(ids), -1, np.int64)
        self.label_of_row[self.row_of_label[found]] = np.flatnonzero(found)
        self._doc_index = doc_index if params.siblings and doc_index is not None else None
        if self._doc_index is not None and len(ids):
            # Rows of each document: _doc_rows[_doc_bounds[d] : _doc_bounds[d + 1]].
            self._doc_rows = np.argsort(self._doc_index, kind="stable")
            self._doc_bounds = np.searchsorted(
                self._doc_index[self._doc_rows], np.arange(int(self._doc_index.max()) + 2)
            )

    @property
    def added_since_saved(self) -> int:
        return len(self.graph.label_ids) - self.graph.saved_labels

    def _allowed_labels(self, mask: np.ndarray | None) -> np.ndarray | None:
        if mask is None:
            return self._live
        allowed = self.row_of_label >= 0
        allowed[allowed] = mask[self.row_of_label[allowed]]
        return allowed

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(self)
        if n == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        want = max(self.params.shortlist, k)
        allowed = self._allowed_labels(mask)
        faiss = _faiss()
        walked = True
        if allowed is None:
            labels = self._graph_search(q, want, None)
        else:
            count = int(allowed.sum())
            if count == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            share = count / len(allowed)
            if count <= want:
                labels = np.flatnonzero(allowed)
                walked = False
            elif share < self.params.scan_below_share or count <= _SCAN_ALWAYS:
                labels = self._scan_codes(q[0], np.flatnonzero(allowed), want)
                walked = False
            else:  # the bitmap only for a walk: a scan never reads it
                bits = (
                    self._live_bits
                    if allowed is self._live
                    else np.packbits(allowed, bitorder="little")
                )
                selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
                labels = self._graph_search(q, want, selector, share)
        labels = labels[labels >= 0]
        rows = self.row_of_label[labels]
        rows = rows[rows >= 0]
        if walked and self._doc_index is not None and len(rows):
            rows = self._with_siblings(q[0], rows, want, mask)
        rows = np.sort(rows)  # ascending rows read the sidecar file in order
        if mask is not None:
            rows = rows[mask[rows]]
        exact = self.exact_rows(rows) @ q[0]
        best = _top_k(exact, k)
        return rows[best], exact[best]

    def _with_siblings(
        self, q: np.ndarray, rows: np.ndarray, want: int, mask: np.ndarray | None
    ) -> np.ndarray:
        """``rows`` and the other passages of their documents, the best ``want`` by code.

        A document's passages lie close together, and HNSW links such a tight group mostly
        among itself: a walk that reaches one passage of a document can miss its siblings
        (at 1M, 10% filter, recall@10 0.988 without this).
        """
        assert self._doc_index is not None
        docs = np.unique(self._doc_index[rows])
        first, last = self._doc_bounds[docs], self._doc_bounds[docs + 1]
        sizes = last - first
        offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        found = self._doc_rows[np.repeat(first, sizes) + offsets]
        if mask is not None:
            found = found[mask[found]]
        labels = self.label_of_row[found]
        found = found[labels >= 0]
        if len(found) <= want:
            return found
        return self.row_of_label[self._scan_codes(q, labels[labels >= 0], want)]

    def _scan_codes(self, q: np.ndarray, labels: np.ndarray, want: int) -> np.ndarray:
        """The ``want`` best of ``labels`` by their 8-bit codes, read in place block by block."""
        faiss = _faiss()
        storage = faiss.downcast_index(self.index.storage)
        dim, total = int(storage.d), int(storage.ntotal)
        codes = faiss.rev_swig_ptr(storage.codes.data(), total * storage.code_size)
        codes = codes.reshape(total, storage.code_size)
        trained = faiss.vector_to_array(storage.sq.trained)
        width = trained[dim:]  # the first dim values are the per-dimension minimums
        # x = low + (code + 0.5) / 255 * width, so x @ q = code @ (q * width / 255) + a constant
        # shared by every row: the ranking needs only the first term.
        weights = (q * width / 255.0).astype(np.float32)
        scores = np.empty(len(labels), np.float32)
        for start in range(0, len(labels), _BLOCK_ROWS):
            part = labels[start : start + _BLOCK_ROWS]
            np.matmul(
                codes[part].astype(np.float32), weights, out=scores[start : start + len(part)]
            )
        return labels[_top_k(scores, want)]

    def _graph_search(self, q: np.ndarray, want: int, selector: Any, share: float = 1.0) -> Any:
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        # A filter keeping a share s of the graph leaves ~s of each visited list usable.
        depth = max(self.params.ef_search, want) / min(1.0, share**self.params.filter_ef_power)
        params.efSearch = int(depth)
        if selector is not None:
            params.sel = selector
        _, labels = self.index.search(q, want, params=params)
        return labels[0]


# -- building, loading and publishing the graph ----------------------------------------------


def _meta(folder: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((folder / "meta.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _read_graph(
    folder: Path, generation: int, dim: int, instance: str, params: AnnParams
) -> _Graph | None:
    meta = _meta(folder)
    expected = {
        "format": _FORMAT,
        "instance": instance,
        "dim": dim,
        "m": params.m,
        "ef_construction": params.ef_construction,
    }
    if meta is None or any(meta.get(key) != value for key, value in expected.items()):
        return None
    if int(meta.get("generation", -1)) > generation:
        return None  # from the future: the store was replaced or restored
    try:
        label_ids = np.load(folder / "label_ids.npy")
        index = _faiss().read_index(str(folder / "graph.faiss"))
    except (OSError, ValueError, RuntimeError) as exc:
        log.info("ANN graph %s unusable: %s", folder, exc)
        return None
    if index.ntotal != len(label_ids) or index.d != dim:
        return None
    return _Graph(index, label_ids, int(meta["generation"]), len(label_ids))


def _add_rows(index: Any, matrix: np.ndarray, rows: np.ndarray | None = None) -> None:
    total = len(matrix) if rows is None else len(rows)
    with _Threads(_cores()):
        for start in range(0, total, _ADD_ROWS):
            part = slice(start, start + _ADD_ROWS)
            block = matrix[part] if rows is None else matrix[rows[part]]
            index.add(np.ascontiguousarray(block, dtype=np.float32))


def build_graph(matrix: np.ndarray, ids: np.ndarray, params: AnnParams = DEFAULT_PARAMS) -> Any:
    """A fresh HNSW graph over every row of ``matrix`` (labels are row numbers)."""
    faiss = _faiss()
    dim = int(matrix.shape[1])
    index = faiss.IndexHNSWSQ(
        dim, faiss.ScalarQuantizer.QT_8bit, params.m, faiss.METRIC_INNER_PRODUCT
    )
    index.hnsw.efConstruction = params.ef_construction
    sample = np.ascontiguousarray(matrix[:: max(1, len(matrix) // 65_536)], dtype=np.float32)
    index.train(sample)
    _add_rows(index, matrix)
    return index


def _publish(
    root: Path, graph: _Graph, generation: int, dim: int, instance: str, params: AnnParams
) -> None:
    """Write ``graph`` as ``ann-g<generation>`` (temporary name, then rename); drop older ones."""
    final = root / f"ann-g{generation}"
    remove_abandoned(root)
    target = temp_path(final)
    shutil.rmtree(target, ignore_errors=True)
    try:
        target.mkdir(parents=True)
        _faiss().write_index(graph.index, str(target / "graph.faiss"))
        np.save(target / "label_ids.npy", graph.label_ids)
        meta = {
            "format": _FORMAT,
            "instance": instance,
            "generation": generation,
            "dim": dim,
            "m": params.m,
            "ef_construction": params.ef_construction,
            "labels": len(graph.label_ids),
        }
        (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        target.rename(final)
    except OSError as exc:  # a read-only or full disk: the graph still serves from memory
        log.warning("could not write the ANN graph to %s: %s", final, exc)
        shutil.rmtree(target, ignore_errors=True)
        return
    graph.generation, graph.saved_labels = generation, len(graph.label_ids)
    for old_generation, old in generation_folders(root, "ann-g"):
        if old_generation < generation:
            shutil.rmtree(old, ignore_errors=True)


def open_ann_index(
    snapshot: VectorSnapshot,
    instance: str,
    params: AnnParams = DEFAULT_PARAMS,
) -> AnnVectorIndex:
    """The graph for ``snapshot`` (a memory-mapped sidecar): loaded, updated or built.

    The newest usable graph at or below the snapshot's generation is brought up to date
    (new passages inserted, deleted ones masked); none, or too many deletions, builds afresh.
    """
    matrix = snapshot.matrix
    filename = getattr(matrix, "filename", None)
    if not isinstance(matrix, np.memmap) or not filename:
        raise ValueError("the ANN graph needs a memory-mapped sidecar matrix")
    root = Path(filename).parent.parent
    dim = int(matrix.shape[1])
    generation = snapshot.generation
    graph = None
    for _, folder in generation_folders(root, "ann-g"):
        graph = _read_graph(folder, generation, dim, instance, params)
        if graph is not None:
            break
    if graph is not None:
        present = np.isin(graph.label_ids, snapshot.ids, assume_unique=True)
        deleted = int((~present).sum())
        if deleted > params.rebuild_deleted_share * len(graph.label_ids):
            log.info(
                "ANN graph: %d of %d passages deleted, rebuilding", deleted, graph.index.ntotal
            )
            graph = None
    if graph is None:
        log.info("building the ANN graph over %d passages ...", len(snapshot.ids))
        index = build_graph(matrix, snapshot.ids, params)
        graph = _Graph(index, snapshot.ids.copy(), -1, 0)
    else:
        fresh = np.flatnonzero(~np.isin(snapshot.ids, graph.label_ids, assume_unique=True))
        if len(fresh):
            _add_rows(graph.index, matrix, fresh)
            graph.label_ids = np.concatenate([graph.label_ids, snapshot.ids[fresh]])
            log.info("ANN graph: %d passages added at generation %d", len(fresh), generation)
    if graph.generation < 0 or (
        len(graph.label_ids) - graph.saved_labels
        >= max(1, params.republish_share * len(graph.label_ids))
    ):
        _publish(root, graph, generation, dim, instance, params)
    return AnnVectorIndex(matrix, snapshot.ids, graph, params, snapshot.doc_index)


class DeferredAnnIndex(_RescoredIndex):
    """The graph opened (loaded, brought up to date or built) at the first search.

    A library refresh stays a matter of mapping the sidecar, and a process that never searches
    dense vectors (a digest reads rows, not neighbours) never builds a graph. The first graph of
    a large index takes minutes (~7 at 1M passages here): it is built in a background thread
    while searches are answered by the exact scan, so the first user is not the one who waits.
    """

    def __init__(
        self, snapshot: VectorSnapshot, instance: str, params: AnnParams = DEFAULT_PARAMS
    ) -> None:
        super().__init__(snapshot.matrix, params.shortlist)
        self._snapshot, self._instance, self._params = snapshot, instance, params
        self._lock = threading.Lock()
        self._opened: AnnVectorIndex | None = None
        self._builder: threading.Thread | None = None

    def _open(self) -> AnnVectorIndex:
        return open_ann_index(self._snapshot, self._instance, self._params)

    def opened(self) -> AnnVectorIndex:
        """The graph index, opened now (or once the background build ends) if not yet open."""
        builder = self._builder
        if builder is not None:
            builder.join()
        with self._lock:
            if self._opened is None:
                self._opened = self._open()
            return self._opened

    def _ready(self) -> AnnVectorIndex | None:
        """The graph if it is open or quick to open; None while a first graph is being built."""
        with self._lock:
            if self._opened is not None:
                return self._opened
            root = Path(getattr(self.matrix, "filename", "")).parent.parent
            if len(self._snapshot.ids) < BACKGROUND_BUILD_MIN or generation_folders(root, "ann-g"):
                self._opened = self._open()  # small, or a graph to load and bring up to date
                return self._opened
            if self._builder is None:
                log.info(
                    "building the first ANN graph (%d passages) in the background; "
                    "searches scan exactly meanwhile",
                    len(self._snapshot.ids),
                )
                self._builder = threading.Thread(target=self._build, name="ann-build", daemon=True)
                self._builder.start()
            return None

    def _build(self) -> None:
        try:
            graph = self._open()
        except Exception:
            log.exception("the background ANN build failed; searches stay exact")
            return
        with self._lock:
            self._opened = graph

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        graph = self._ready()
        if graph is None:
            return NumpyVectorIndex(self.matrix).search(query, k, mask)
        return graph.search(query, k, mask)
