"""Hybrid retrieval: both arms fused beat either alone; queries are handled safely."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.embedding import FakeEmbedder
from index.errors import InputError
from index.library import Library
from index.query import distinctive_terms, expansion_terms, fts_query, query_terms, term_counts
from index.ranking import DEFAULT_CONFIG, convex_fuse, rocchio, wants_feedback
from index.store import Store, open_store
from tests.conftest import SEEDS, build_index

LABELLED = Path(__file__).parent / "data" / "seed_queries.jsonl"


def mean_reciprocal_rank(library: Library, cases: list[dict]) -> float:
    total = 0.0
    for case in cases:
        hits = library.search(case["query"], k=10)
        rank = next(
            (i for i, h in enumerate(hits, start=1) if case["answer"] in h.passage.text), None
        )
        total += 1.0 / rank if rank else 0.0
    return total / len(cases)


@pytest.mark.slow
def test_hybrid_beats_each_arm_on_a_labelled_set(seeds_index_real: Path, real_embedder) -> None:
    cases = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    store = Store(seeds_index_real)
    scores = {
        name: mean_reciprocal_rank(Library(store, real_embedder, config=config), cases)
        for name, config in {
            "lexical": replace(DEFAULT_CONFIG, dense_weight=0.0),
            "dense": replace(DEFAULT_CONFIG, lexical_weight=0.0),
            "hybrid": DEFAULT_CONFIG,
        }.items()
    }
    assert scores["hybrid"] > scores["lexical"], scores
    assert scores["hybrid"] > scores["dense"], scores


def test_fusion_rewards_agreement_and_gives_a_missed_item_the_arms_lowest_score() -> None:
    lexical = {1: 9.0, 2: 8.0, 3: 1.0}
    dense = {3: 0.9, 1: 0.8, 4: 0.2}
    fused = convex_fuse([(lexical, 0.5), (dense, 0.5)])
    assert max(fused, key=fused.__getitem__) == 1
    assert fused[3] > fused[4]  # both arms found 3; only dense found 4
    assert convex_fuse([(lexical, 0.5), ({}, 0.5)]).keys() == lexical.keys()


def test_queries_with_fts_syntax_are_searched_as_plain_words() -> None:
    assert query_terms('NEAR("China" Russia) AND * OR -x "') == ["near", "china", "russia", "x"]
    assert fts_query("the of and") is None
    assert fts_query('say "hi"') == '"say" OR "hi"'


@pytest.fixture(scope="module")
def library(module_location: str) -> Library:
    build_index(module_location, [SEEDS], FakeEmbedder())
    return Library(open_store(module_location), FakeEmbedder())


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR NOT", "col:umn ^ * ( )", "日本 ロシア"])
def test_odd_queries_never_crash(library: Library, query: str) -> None:
    library.search(query, k=3)


def test_a_pasted_ten_thousand_character_query_is_answered(library: Library) -> None:
    passage = library.store.passages_of(library.documents()[2].doc_id)[3]
    pasted = " ".join([passage.text] * (10_000 // len(passage.text) + 1))[:10_000]
    for per_document in (False, True):
        hits = library.search(pasted, k=3, per_document=per_document)
        assert hits and hits[0].document.doc_id == passage.doc_id


def test_a_long_query_keeps_its_most_distinctive_terms_for_the_lexical_arm() -> None:
    query = "the cat sat " * 40 + " ".join(f"word{i}" for i in range(100)) + " zebra zebra"
    frequencies = {"cat": 900, "sat": 500, "zebra": 3} | {f"word{i}": 400 for i in range(100)}
    kept = distinctive_terms(query, lambda ts: {t: frequencies.get(t, 0) for t in ts}, 1000, 8)
    assert len(kept) == 8 and {"zebra", "sat"} <= set(kept)  # rare, or repeated and fairly rare
    assert "cat" not in kept  # repeated, but in nearly every document
    assert kept == sorted(kept, key=list(term_counts(query)).index)  # in the query's order


def test_an_absurdly_long_query_is_refused_clearly(library: Library) -> None:
    with pytest.raises(InputError, match="characters"):
        library.search("russia " * 20_000)


def test_minmax_fusion_maps_each_arm_onto_the_unit_interval() -> None:
    fused = convex_fuse([({1: 10.0, 2: 5.0, 3: 0.0}, 0.5), ({1: 0.2, 4: 0.9}, 0.5)], "minmax")
    assert fused == {1: 0.5, 2: 0.25, 3: 0.0, 4: 0.5}


def test_feedback_terms_are_frequent_in_the_feedback_and_rare_in_the_corpus() -> None:
    feedback = ["statins lower cholesterol; statins and lipids", "cholesterol statins lipids"]
    frequencies = {"statins": 5, "lipids": 6, "cholesterol": 40, "lower": 900}
    terms = expansion_terms(
        "cholesterol drugs", feedback, lambda ts: {t: frequencies.get(t, 0) for t in ts}, 1000, 2
    )
    assert terms == ["statins", "lipids"]  # never the query's own words


def test_per_document_search_returns_each_document_once(library: Library) -> None:
    hits = library.search("Russia China partnership", k=8, per_document=True)
    assert len(hits) == len({h.document.doc_id for h in hits}) >= 5


def test_rocchio_moves_the_query_towards_the_feedback_and_stays_unit_length() -> None:
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    feedback = np.array([[0.0, 1.0, 0.0], [0.0, 0.6, 0.8]], dtype=np.float32)
    moved = rocchio(query, feedback, 0.5)
    assert moved.dtype == np.float32 and np.isclose(np.linalg.norm(moved), 1.0)
    assert moved @ feedback.mean(axis=0) > query @ feedback.mean(axis=0)
    assert moved[0] > moved[1]  # still mostly the query
    assert rocchio(query, feedback[:0], 0.5) is query


def test_only_short_queries_get_pseudo_relevance_feedback() -> None:
    assert wants_feedback("statins and breast cancer", DEFAULT_CONFIG)
    claim = "Statin use is associated with a lower risk of breast cancer in older women"
    assert not wants_feedback(claim, DEFAULT_CONFIG)
    assert wants_feedback(claim, replace(DEFAULT_CONFIG, feedback_max_terms=1000))


def test_dense_feedback_reorders_documents_for_short_queries_only(library: Library) -> None:
    plain = Library(
        library.store, library.embedder, config=replace(DEFAULT_CONFIG, dense_prf_docs=0)
    )
    long_query = "Russia and China sign a gas pipeline deal while sanctions bite and trade grows"
    assert [h.passage.passage_id for h in library.search(long_query, k=20, per_document=True)] == [
        h.passage.passage_id for h in plain.search(long_query, k=20, per_document=True)
    ]
    moved = Library(
        library.store, library.embedder, config=replace(DEFAULT_CONFIG, dense_prf_weight=5.0)
    )
    short, before = (
        moved.search("gas pipeline", k=20, per_document=True),
        plain.search("gas pipeline", k=20, per_document=True),
    )
    assert [h.document.doc_id for h in short] != [h.document.doc_id for h in before]
    assert len(short) == len({h.document.doc_id for h in short})
    for hit in short:  # each document still shown by one of its own passages, verbatim
        assert hit.document.text[hit.passage.start : hit.passage.end] == hit.passage.text
    lexical_only = replace(DEFAULT_CONFIG, document_dense_weight=0.0)
    assert Library(library.store, library.embedder, config=lexical_only).search(
        "gas pipeline", k=5, per_document=True
    )  # no dense candidates: nothing to feed back, no error
