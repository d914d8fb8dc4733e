"""Hybrid retrieval: both arms fused beat either alone; queries are handled safely."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from index.embedding import FakeEmbedder
from index.errors import InputError
from index.library import Library
from index.search import DEFAULT_CONFIG, convex_fuse, fts_query, query_terms
from index.store import Store
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
def library(tmp_path_factory) -> Library:
    db = tmp_path_factory.mktemp("search") / "seeds.db"
    build_index(db, [SEEDS], FakeEmbedder())
    return Library(Store(db), FakeEmbedder())


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR NOT", "col:umn ^ * ( )", "日本 ロシア"])
def test_odd_queries_never_crash(library: Library, query: str) -> None:
    library.search(query, k=3)


def test_an_overlong_query_is_refused_clearly(library: Library) -> None:
    with pytest.raises(InputError, match="characters"):
        library.search("russia " * 2000)


def test_per_document_search_returns_each_document_once(library: Library) -> None:
    hits = library.search("Russia China partnership", k=8, per_document=True)
    assert len(hits) == len({h.document.doc_id for h in hits}) >= 5
