"""Search backends for large indexes: tantivy, int8 vectors, the vector sidecar, bulk loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.bulk import bulk_load
from index.embedding import FakeEmbedder
from index.lexical import FtsLexical, TantivyLexical, make_lexical_index
from index.models import Document
from index.pipeline import content_hash
from index.store import NewPassage, Store
from index.vectors import (
    HalfVectorIndex,
    Int8VectorIndex,
    NumpyVectorIndex,
    VectorSnapshot,
    load_vectors,
    make_vector_index,
)

ARTICLES = {
    "pipes": (
        "Power of Siberia gas pipeline",
        [
            "Russia and China signed a gas pipeline deal worth billions.",
            "The pipeline will carry Siberian gas to northern China from 2030.",
        ],
    ),
    "chips": (
        "Chip export controls",
        [
            "Washington tightened export controls on advanced semiconductors.",
            "Chip makers in Taiwan expect lower sales to Chinese customers.",
        ],
    ),
    "wheat": (
        "Drought and the harvest",
        [
            "A long drought cut the wheat harvest across the southern plains.",
            "Farmers asked the ministry for drought relief and cheaper credit.",
        ],
    ),
    "rates": (
        "Central bank holds rates",
        [
            "The central bank kept interest rates unchanged as inflation cooled.",
            "Bond yields fell after the decision on interest rates.",
        ],
    ),
}


def _rows(embedder: FakeEmbedder, doc_ids: list[str]):
    documents, passages = [], []
    for doc_id in doc_ids:
        title, texts = ARTICLES[doc_id]
        text = "\n\n".join(texts)
        doc = Document(doc_id=doc_id, source_id=doc_id, text=text, title=title)
        documents.append((doc, content_hash(doc)))
        vectors = embedder.encode_passages([f"{title}. {t}" for t in texts])
        start = 0
        for ord_, (passage_text, vector) in enumerate(zip(texts, vectors, strict=True)):
            passages.append(
                NewPassage(doc_id, ord_, start, start + len(passage_text), passage_text, vector)
            )
            start += len(passage_text) + 2
    return documents, passages


@pytest.fixture
def store(tmp_path: Path, fake_embedder: FakeEmbedder) -> Store:
    store = Store(tmp_path / "index.db")
    store.check_model(fake_embedder.name, fake_embedder.dim, claim=True)
    bulk_load(store, *_rows(fake_embedder, ["pipes", "chips", "wheat"]))
    return store


def _ids(hits: list[tuple[int, float]]) -> list[int]:
    return [pid for pid, _ in hits]


@pytest.mark.parametrize(
    "query",
    [
        "gas pipeline",
        "export controls on semiconductors",
        "drought relief for farmers",
        "Siberian gas China",
    ],
)
def test_tantivy_finds_the_same_top_passages_as_fts5(store: Store, query: str) -> None:
    tantivy_hits = _ids(TantivyLexical(store).search(query, 3))
    fts_hits = _ids(FtsLexical(store).search(query, 3))
    assert tantivy_hits[0] == fts_hits[0]
    assert set(tantivy_hits[:2]) == set(fts_hits[:2])


def test_tantivy_answers_nothing_for_stopwords_only_or_unknown_terms(store: Store) -> None:
    lexical = TantivyLexical(store)
    assert lexical.search("the of and", 5) == []
    assert lexical.search("zeppelin", 5) == []


def test_tantivy_index_lives_beside_the_database_tagged_with_the_generation(
    store: Store,
) -> None:
    TantivyLexical(store)
    folder = Path(store.path + ".tantivy")
    assert (folder / "state.json").exists()
    assert f'"generation": {store.generation()}' in (folder / "state.json").read_text()


def test_tantivy_catches_up_with_new_and_deleted_passages(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    lexical = TantivyLexical(store)
    assert lexical.search("interest rates", 5) == []
    documents, passages = _rows(fake_embedder, ["rates"])
    store.replace_file("rates.txt", "h1", 1, documents, passages)
    found = _ids(lexical.search("interest rates", 5))
    assert found and store.passage(found[0]).doc_id == "rates"

    pipeline_ids = set(_ids(lexical.search("pipeline", 5)))
    assert pipeline_ids
    store.db.execute("UPDATE documents SET path = 'pipes.txt' WHERE doc_id = 'pipes'")
    store.delete_file("pipes.txt")
    assert not pipeline_ids & set(_ids(lexical.search("pipeline", 5)))
    assert _ids(lexical.search("pipeline", 5)) == _ids(FtsLexical(store).search("pipeline", 5))


def test_a_stale_tantivy_folder_is_brought_up_to_date_when_opened(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    TantivyLexical(store)  # built at this generation, then the store moves on without it
    store.replace_file("rates.txt", "h1", 1, *_rows(fake_embedder, ["rates"]))
    reopened = TantivyLexical(store)
    assert _ids(reopened.search("interest rates", 5))
    query = "gas pipeline drought interest semiconductors chip"
    assert sorted(_ids(reopened.search(query, 50))) == sorted(
        _ids(FtsLexical(store).search(query, 50))
    )


def test_a_broken_tantivy_folder_is_rebuilt(store: Store) -> None:
    TantivyLexical(store)
    folder = Path(store.path + ".tantivy")
    (folder / "ids.npy").write_bytes(b"not an array")
    assert _ids(TantivyLexical(store).search("wheat harvest", 1))


def test_auto_lexical_backend_is_fts5_for_small_stores_and_tantivy_for_large(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(make_lexical_index(store, "auto"), FtsLexical)
    monkeypatch.setattr("index.lexical.TANTIVY_MIN_PASSAGES", 3)
    assert isinstance(make_lexical_index(store, "auto"), TantivyLexical)


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


COMPACT = pytest.mark.parametrize("compact", [Int8VectorIndex, HalfVectorIndex])


@COMPACT
def test_compact_vectors_find_the_exact_top10_on_random_data(compact) -> None:
    matrix = _unit_rows(30_000, 96, 1)
    queries = _unit_rows(40, 96, 2)
    exact, index = NumpyVectorIndex(matrix), compact(matrix)
    recall = [
        len(set(exact.search(q, 10)[0].tolist()) & set(index.search(q, 10)[0].tolist())) / 10
        for q in queries
    ]
    assert np.mean(recall) >= 0.99
    rows, scores = index.search(queries[0], 10)
    np.testing.assert_allclose(scores, matrix[rows] @ queries[0], rtol=1e-5)  # re-scored exactly


@COMPACT
def test_compact_vectors_respect_the_mask(compact) -> None:
    matrix = _unit_rows(2_000, 32, 3)
    mask = np.zeros(2_000, dtype=bool)
    mask[::7] = True
    rows, _ = compact(matrix).search(matrix[5], 20, mask)
    assert len(rows) == 20 and mask[rows].all()
    expected, _ = NumpyVectorIndex(matrix).search(matrix[5], 20, mask)
    assert rows.tolist() == expected.tolist()


def test_auto_backend_is_exact_in_memory_and_float16_over_a_sidecar(tmp_path: Path) -> None:
    assert isinstance(make_vector_index(_unit_rows(10, 8, 4), "auto"), NumpyVectorIndex)
    with pytest.raises(ValueError):
        make_vector_index(_unit_rows(10, 8, 4), "faiss")
    np.save(tmp_path / "matrix.npy", _unit_rows(3_000, 32, 5))
    mapped = np.load(tmp_path / "matrix.npy", mmap_mode="r")
    first = make_vector_index(mapped, "auto")
    assert isinstance(first, HalfVectorIndex)
    assert (tmp_path / "matrix_f16.npy").exists()  # built once, beside the sidecar matrix
    again = make_vector_index(mapped, "auto")
    assert isinstance(again.half, np.memmap)  # the next cold start maps it back
    query = np.asarray(mapped[7])
    assert (
        again.search(query, 5)[0].tolist() == NumpyVectorIndex(mapped).search(query, 5)[0].tolist()
    )


def test_bulk_loaded_passages_keep_their_offsets(store: Store) -> None:
    for doc in store.documents():
        passages = store.passages_of(doc.doc_id)
        assert len(passages) == 2
        for p in passages:
            assert doc.text[p.start : p.end] == p.text


def test_bulk_load_with_deferred_fts_is_searchable_once_fts_is_filled(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store = Store(tmp_path / "deferred.db")
    bulk_load(store, *_rows(fake_embedder, ["wheat", "rates"]), defer_fts=True)
    assert store.fts_pending()
    assert _ids(FtsLexical(store).search("wheat harvest", 3))  # the backend fills it first
    assert not store.fts_pending()


def test_a_bulk_loaded_index_is_searchable_through_the_library(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    from index.library import Library

    library = Library(store, fake_embedder)
    hits = library.search("gas pipeline to China", k=3)
    assert hits[0].document.doc_id == "pipes"
    for hit in hits:
        assert hit.document.text[hit.passage.start : hit.passage.end] == hit.passage.text
    # bulk loads append: ids continue after what is there
    before = max(store.passage_ids())
    bulk_load(store, *_rows(fake_embedder, ["rates"]))
    assert min(p.passage_id for p in store.passages_of("rates")) > before
    assert library.search("interest rates", k=1)[0].document.doc_id == "rates"


def _vectors_in_sqlite(store: Store, dim: int) -> VectorSnapshot:
    """Every passage vector read straight from SQLite: what a sidecar must agree with."""
    rows = store.db.execute(
        "SELECT p.passage_id, p.doc_id, v.vector FROM passages p "
        "JOIN vectors v USING (passage_id) ORDER BY p.passage_id"
    ).fetchall()
    doc_ids = list(dict.fromkeys(doc_id for _, doc_id, _ in rows))
    return VectorSnapshot(
        store.generation(),
        np.array([pid for pid, _, _ in rows], np.int64),
        np.array([doc_ids.index(doc_id) for _, doc_id, _ in rows], np.int32),
        tuple(doc_ids),
        np.array([np.frombuffer(blob, np.float32) for *_, blob in rows]).reshape(-1, dim),
    )


def _same_snapshot(a, b) -> None:
    assert a.generation == b.generation
    assert a.ids.tolist() == b.ids.tolist()
    assert [a.doc_ids[i] for i in a.doc_index] == [b.doc_ids[i] for i in b.doc_index]
    np.testing.assert_array_equal(np.asarray(a.matrix), np.asarray(b.matrix))


def test_vector_sidecar_is_memory_mapped_and_updated_incrementally(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    first = load_vectors(store, fake_embedder.dim, sidecar_min=0)
    assert isinstance(first.matrix, np.memmap)
    _same_snapshot(first, _vectors_in_sqlite(store, fake_embedder.dim))

    store.replace_file("rates.txt", "h1", 1, *_rows(fake_embedder, ["rates"]))
    store.db.execute("UPDATE documents SET path = 'chips.txt' WHERE doc_id = 'chips'")
    store.delete_file("chips.txt")
    updated = load_vectors(store, fake_embedder.dim, first, sidecar_min=0)
    _same_snapshot(updated, _vectors_in_sqlite(store, fake_embedder.dim))
    # a cold open maps the sidecar of the current generation; older ones are gone
    cold = load_vectors(store, fake_embedder.dim, sidecar_min=0)
    _same_snapshot(cold, updated)
    assert [p.name for p in Path(store.path + ".vectors").iterdir()] == [f"g{store.generation()}"]


def test_small_indexes_keep_vectors_in_memory(store: Store, fake_embedder: FakeEmbedder) -> None:
    snapshot = load_vectors(store, fake_embedder.dim)
    assert not isinstance(snapshot.matrix, np.memmap)
    assert not Path(store.path + ".vectors").exists()


def test_library_reads_documents_lazily_for_large_corpora(
    store: Store, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.library import Library

    eager = Library(store, fake_embedder).search("drought wheat", k=3)
    monkeypatch.setattr("index.library.EAGER_DOCUMENTS", 0)
    library = Library(store, fake_embedder)
    assert library.search("drought wheat", k=3) == eager
    assert [d.doc_id for d in library.documents()] == ["chips", "pipes", "wheat"]
    assert library.document("chips").title == "Chip export controls"
    assert library.match_source("Drought and the harvest") == {"wheat"}


def test_tantivy_answers_from_fts5_while_another_process_holds_its_writer(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    import tantivy

    lexical = TantivyLexical(store)
    store.replace_file("rates.txt", "h1", 1, *_rows(fake_embedder, ["rates"]))
    writer = tantivy.Index.open(store.path + ".tantivy").writer(heap_size=15_000_000)
    try:
        assert _ids(lexical.search("interest rates", 5)) == _ids(
            FtsLexical(store).search("interest rates", 5)
        )
    finally:
        del writer
    assert store.passage(_ids(lexical.search("interest rates", 1))[0]).doc_id == "rates"


def test_derived_indexes_of_a_deleted_database_are_not_reused_by_its_successor(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    def make(doc_ids: list[str]) -> Store:
        store = Store(tmp_path / "same.db")
        bulk_load(store, *_rows(fake_embedder, doc_ids))
        return store

    old = make(["pipes", "chips"])
    TantivyLexical(old)
    load_vectors(old, fake_embedder.dim, sidecar_min=0)
    old.close()
    for leftover in tmp_path.glob("same.db-*"):
        leftover.unlink()
    (tmp_path / "same.db").unlink()
    new = make(["wheat", "rates"])  # same path, same generation, other passages
    assert _ids(TantivyLexical(new).search("drought", 3))
    assert TantivyLexical(new).search("pipeline", 3) == []
    snapshot = load_vectors(new, fake_embedder.dim, sidecar_min=0)
    _same_snapshot(snapshot, _vectors_in_sqlite(new, fake_embedder.dim))
    assert isinstance(snapshot.matrix, np.memmap)  # the old folder was replaced, not kept


def test_date_and_source_filters_at_scale_read_only_the_documents_they_show(
    store: Store, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.library import Library
    from index.models import SearchFilters

    for doc_id, published, authors in (
        ("pipes", "2024-03-01", '["Anna Žukova"]'),
        ("chips", "2022-11-20", '["Lee Min"]'),
        ("wheat", None, "[]"),
    ):
        store.db.execute(
            "UPDATE documents SET published = ?, authors = ? WHERE doc_id = ?",
            [published, authors, doc_id],
        )
    monkeypatch.setattr("index.library.EAGER_DOCUMENTS", 0)  # as with 10^5 documents
    library = Library(store, fake_embedder)
    reads: list[str] = []
    read_one = store.document
    monkeypatch.setattr(store, "document", lambda d: reads.append(d) or read_one(d))

    def shown(**filters: str) -> set[str]:
        hits = library.search("gas pipeline exports", k=5, filters=SearchFilters(**filters))
        return {hit.document.doc_id for hit in hits}

    assert shown(since="2023-01-01") == {"pipes"}  # undated documents are not "since" anything
    assert shown(source="ŽUKOVA") == {"pipes"}  # case-insensitive beyond ASCII
    assert shown(source="chips") == {"chips"}  # a document id
    assert shown(source="lee min", since="2023") == set()
    assert len(reads) <= 2  # only the documents shown, never one read per document


def test_a_sidecar_build_removes_what_an_interrupted_build_left_behind(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    import os
    import subprocess
    import sys

    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    root = Path(store.path + ".vectors")
    crashed = root / f"g1.tmp{int(ended.stdout)}"  # its process died mid-build
    crashed.mkdir(parents=True)
    (crashed / "matrix.npy").write_bytes(b"\0" * 4096)
    building = root / f"g1.tmp{os.getppid()}"  # another process still at work: left alone
    building.mkdir()
    load_vectors(store, fake_embedder.dim, sidecar_min=0)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [f"g{store.generation()}", building.name]
    )


def test_rows_of_a_mapped_matrix_read_back_exactly(tmp_path: Path) -> None:
    matrix = _unit_rows(5_000, 48, 6)
    np.save(tmp_path / "matrix.npy", matrix)
    index = make_vector_index(np.load(tmp_path / "matrix.npy", mmap_mode="r"), "half")
    rows = np.array([0, 17, 4_999])
    np.testing.assert_array_equal(index.exact_rows(rows), matrix[rows])
    np.testing.assert_array_equal(index.row(17), matrix[17])
