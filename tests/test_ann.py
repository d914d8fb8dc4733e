"""The approximate (HNSW) dense backend: recall, filters, increments, crashes, stale graphs."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

import index.ann as ann
import index.library as library_module
from benchmarks.bulk import bulk_load
from index.ann import AnnVectorIndex, DeferredAnnIndex
from index.embedding import MINILM_CALIBRATION
from index.library import Library
from index.models import Document, SearchFilters
from index.pipeline import content_hash
from index.store import NewPassage, Store
from index.vectors import NumpyVectorIndex, load_vectors, make_vector_index

DIM = 24
PER_DOC = 8


def _clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors in documents of 8 around shared topics, as embeddings are (not uniform)."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((40, DIM), dtype=np.float32)
    docs = topics[rng.integers(0, 40, n // PER_DOC + 1)]
    docs += 0.6 * rng.standard_normal(docs.shape, dtype=np.float32)
    rows = np.repeat(docs, PER_DOC, axis=0)[:n]
    rows += 0.5 * rng.standard_normal(rows.shape, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _load(store: Store, vectors: np.ndarray, first_doc: int) -> list[str]:
    documents, passages, doc_ids = [], [], []
    for d in range(0, len(vectors), PER_DOC):
        doc_id = f"d{first_doc + d // PER_DOC}"
        texts = [f"Passage {j} of {doc_id}." for j in range(min(PER_DOC, len(vectors) - d))]
        text = "\n\n".join(texts)
        doc = Document(doc_id=doc_id, source_id=f"s{(first_doc + d // PER_DOC) % 10}", text=text)
        documents.append((doc, content_hash(doc)))
        doc_ids.append(doc_id)
        start = 0
        for j, passage_text in enumerate(texts):
            end = start + len(passage_text)
            passages.append(NewPassage(doc_id, j, start, end, passage_text, vectors[d + j]))
            start = end + 2
    bulk_load(store, documents, passages)
    return doc_ids


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "index.db")
    store.check_model("test-clustered", DIM, claim=True)
    _load(store, _clustered(2_400, 1), 0)
    return store


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many graphs were built from scratch (each entry: the rows built over)."""
    made: list[int] = []
    real = ann.build_graph

    def counting(matrix, ids, params=ann.DEFAULT_PARAMS):
        made.append(len(ids))
        return real(matrix, ids, params)

    monkeypatch.setattr(ann, "build_graph", counting)
    return made


def _ann(store: Store, previous=None) -> tuple[AnnVectorIndex, object]:
    snapshot = load_vectors(store, DIM, previous, sidecar_min=0)
    deferred = make_vector_index(snapshot, "ann")
    assert isinstance(deferred, DeferredAnnIndex)
    index = deferred.opened()
    assert isinstance(index, AnnVectorIndex)
    return index, snapshot


def _recall(index, exact, queries, mask=None) -> float:
    found = []
    for q in queries:
        want = set(exact.search(q, 10, mask)[0].tolist())
        found.append(len(want & set(index.search(q, 10, mask)[0].tolist())) / len(want))
    return float(np.mean(found))


def test_ann_search_matches_exact_search(store: Store, builds: list[int]) -> None:
    index, snapshot = _ann(store)
    exact = NumpyVectorIndex(np.asarray(snapshot.matrix))
    queries = _clustered(200, 9)[:60]
    assert _recall(index, exact, queries) >= 0.99
    rows, scores = index.search(queries[0], 10)
    np.testing.assert_allclose(scores, np.asarray(snapshot.matrix)[rows] @ queries[0], rtol=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    assert builds == [2_400]


@pytest.mark.parametrize(
    ("share", "walk"),
    [(0.1, True), (0.3, True), (0.1, False), (0.01, False)],  # the graph walk, the code scan
)
def test_ann_filters_return_nothing_outside_the_mask(
    store: Store, share: float, walk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if walk:
        monkeypatch.setattr(ann, "_SCAN_ALWAYS", 0)
    index, snapshot = _ann(store)
    allowed_docs = np.random.default_rng(3).random(len(snapshot.doc_ids)) < share
    allowed_docs[0] = True
    mask = allowed_docs[snapshot.doc_index]
    exact = NumpyVectorIndex(np.asarray(snapshot.matrix))
    queries = _clustered(200, 11)[:40]
    for q in queries:
        rows, _ = index.search(q, 10, mask)
        assert len(rows) == min(10, int(mask.sum()))
        assert mask[rows].all()
    assert _recall(index, exact, queries, mask) >= 0.99


def test_passages_added_after_the_build_are_found_without_a_rebuild(
    store: Store, builds: list[int]
) -> None:
    _, snapshot = _ann(store)
    new = _clustered(40, 21)  # over 1% of the graph: written again
    _load(store, new, 10_000)
    index, updated = _ann(store, snapshot)
    assert builds == [2_400]  # inserted into the graph, not rebuilt
    assert len(index) == 2_440
    for vector in new:
        rows, _ = index.search(vector, 1)
        assert updated.matrix[rows[0]] @ vector == pytest.approx(1.0, abs=1e-5)
    cold, _ = _ann(store)  # the next start reads the graph with the additions (republished)
    assert builds == [2_400] and cold.added_since_saved == 0


def test_deleted_passages_are_never_returned(store: Store, builds: list[int]) -> None:
    _, snapshot = _ann(store)
    doomed = [f"d{i}" for i in range(0, 30)]
    doomed_vectors = np.asarray(snapshot.matrix)[np.isin(snapshot.doc_index, range(30))]
    store.delete_documents(doomed)
    index, updated = _ann(store, snapshot)
    assert builds == [2_400] and index.deleted == 30 * PER_DOC
    gone = {updated.doc_ids[i] for i in range(len(updated.doc_ids))} & set(doomed)
    assert not gone
    for vector in doomed_vectors[:40]:
        rows, _ = index.search(vector, 10)
        assert len(rows) == 10
        np.testing.assert_array_less(updated.matrix[rows] @ vector, 1.0 - 1e-4)
    store.delete_documents([f"d{i}" for i in range(30, 100)])  # a quarter of the graph gone
    _ann(store, updated)
    assert builds == [2_400, 2_400 - 100 * PER_DOC]


def _published(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("ann-g*") if p.name[5:].isdigit())


def test_a_crash_mid_build_leaves_the_previous_graph_in_use(
    store: Store, builds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, snapshot = _ann(store)
    root = Path(str(store.path) + ".vectors")
    published = _published(root)
    store.delete_documents([f"d{i}" for i in range(0, 90)])  # forces a rebuild ...
    _load(store, _clustered(8, 5), 20_000)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(ann, "_add_rows", crash)  # ... which dies half-way
    with pytest.raises(RuntimeError):
        _ann(store, snapshot)
    assert _published(root) == published
    kept = ann._read_graph(
        root / published[0], store.generation(), DIM, store.instance_id(), ann.AnnParams()
    )
    assert kept is not None and kept.index.ntotal == 2_400  # the previous graph, still whole


def test_a_crash_while_writing_the_graph_leaves_the_previous_one_in_use(
    store: Store, builds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, snapshot = _ann(store)
    root = Path(str(store.path) + ".vectors")
    published = _published(root)
    new = _clustered(40, 8)
    _load(store, new, 30_000)  # over 1% of the graph: the updated graph is written again
    faiss = ann._faiss()
    real_write = faiss.write_index

    def torn_write(index: object, path: str) -> None:
        Path(path).write_bytes(b"half a graph")
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(faiss, "write_index", torn_write)
    with pytest.raises(RuntimeError):
        _ann(store, snapshot)
    monkeypatch.setattr(faiss, "write_index", real_write)
    assert _published(root) == published  # the torn copy never took the graph's name
    index, updated = _ann(store, snapshot)  # the previous graph, brought up to date
    assert builds == [2_400] and len(index) == 2_440
    rows, _ = index.search(new[3], 1)
    assert updated.matrix[rows[0]] @ new[3] == pytest.approx(1.0, abs=1e-5)
    assert _published(root) == [f"ann-g{updated.generation}"]


def test_a_graph_from_another_generation_is_rebuilt(store: Store, builds: list[int]) -> None:
    _ann(store)
    root = Path(str(store.path) + ".vectors")
    (folder,) = root.glob("ann-g*")
    future = root / "ann-g999"
    folder.rename(future)
    meta = (
        (future / "meta.json")
        .read_text()
        .replace(f'"generation": {store.generation()}', '"generation": 999')
    )
    (future / "meta.json").write_text(meta)
    index, _ = _ann(store)
    assert builds == [2_400, 2_400]
    assert index.search(_clustered(8, 2)[0], 5)[0].size == 5


def test_auto_backend_uses_the_graph_from_ann_min_passages(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = load_vectors(store, DIM, sidecar_min=0)
    assert not isinstance(make_vector_index(snapshot, "auto"), DeferredAnnIndex)
    monkeypatch.setattr(ann, "ANN_MIN", 1_000)
    assert isinstance(make_vector_index(snapshot, "auto"), DeferredAnnIndex)
    in_memory = np.asarray(snapshot.matrix)  # below the sidecar size vectors stay in memory
    assert isinstance(make_vector_index(in_memory, "auto"), NumpyVectorIndex)


class _GivenVectors:
    """Queries arrive with their vectors (the passages were never encoded by a model)."""

    name, dim = "test-clustered", DIM
    calibration = MINILM_CALIBRATION

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("the test passes query vectors")


def test_library_dense_search_through_the_graph_honours_filters(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ann, "ANN_MIN", 1_000)
    monkeypatch.setattr(library_module, "load_vectors", partial(load_vectors, sidecar_min=0))
    library = Library(store, _GivenVectors())  # type: ignore[arg-type]
    state = library.refresh()
    assert isinstance(state.vectors, DeferredAnnIndex)
    root = Path(str(store.path) + ".vectors")
    assert not list(root.glob("ann-g*"))  # nothing built until a dense search needs it
    vector = np.asarray(state.snapshot.matrix[17])
    hits = library.search("passage", k=5, query_vector=vector)
    own = next(h for h in hits if h.passage.passage_id == int(state.snapshot.ids[17]))
    assert own.dense_rank == 1
    wanted = frozenset(f"d{i}" for i in range(0, 300, 10))
    hits = library.search(
        "passage", k=10, query_vector=vector, filters=SearchFilters(doc_ids=wanted)
    )
    assert hits and {h.passage.doc_id for h in hits} <= wanted


def test_the_first_graph_of_a_large_index_is_built_while_searches_scan_exactly(
    store: Store, builds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    monkeypatch.setattr(ann, "BACKGROUND_BUILD_MIN", 0)
    started, release = threading.Event(), threading.Event()
    real = ann.build_graph

    def held(matrix, ids, params=ann.DEFAULT_PARAMS):  # a build that takes as long as we say
        started.set()
        release.wait(30)
        return real(matrix, ids, params)

    monkeypatch.setattr(ann, "build_graph", held)
    snapshot = load_vectors(store, DIM, sidecar_min=0)
    deferred = make_vector_index(snapshot, "ann")
    assert isinstance(deferred, DeferredAnnIndex)
    exact = NumpyVectorIndex(np.asarray(snapshot.matrix))
    query = _clustered(200, 9)[0]
    rows, scores = deferred.search(query, 10)  # answered at once, while the graph is built
    assert started.wait(10)
    want_rows, want_scores = exact.search(query, 10)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6)
    release.set()
    graph = deferred.opened()  # waits for the build, then every search walks the graph
    assert isinstance(graph, AnnVectorIndex)
    assert len(set(deferred.search(query, 10)[0].tolist()) & set(want_rows.tolist())) >= 9
