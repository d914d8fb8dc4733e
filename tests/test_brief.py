"""Briefs and sources on the seeds: verbatim, cited, diverse, honest when nothing fits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from briefings.brief import make_brief, parse_since, relevance_of, select_diverse
from briefings.sources import (
    SAME_CLAIM_OVERLAP,
    claim_similarity,
    passage_sources,
    sources_for_text,
)
from index.embedding import FakeEmbedder
from index.errors import InputError, NothingRelevant
from index.library import Library
from index.store import Store, open_store
from tests.conftest import SEEDS, build_index


@pytest.fixture(scope="module")
def fake_library(module_location: str) -> Library:
    build_index(module_location, [SEEDS], FakeEmbedder())
    return Library(open_store(module_location), FakeEmbedder())


@pytest.fixture(scope="module")
def real_library(seeds_index_real: Path, real_embedder) -> Library:
    return Library(Store(seeds_index_real), real_embedder)


def assert_verbatim(library: Library, quotes) -> None:
    for q in quotes:
        assert library.document(q.doc_id).text[q.start : q.end] == q.text


@pytest.mark.slow
def test_sino_russian_brief_quotes_partnership_passages_from_three_documents(
    real_library: Library,
) -> None:
    brief = make_brief(real_library, "sino-russian", k=5)
    assert len({q.doc_id for q in brief.quotes}) >= 3
    assert_verbatim(real_library, brief.quotes)
    on_topic = [
        q
        for q in brief.quotes
        if ("Russia" in q.text or "Moscow" in q.text)
        and ("China" in q.text or "Beijing" in q.text or "Sino" in q.text)
    ]
    assert len(on_topic) >= 3


@pytest.mark.slow
def test_a_topic_the_corpus_does_not_cover_gets_an_honest_answer(real_library: Library) -> None:
    with pytest.raises(NothingRelevant, match="nothing in the corpus"):
        make_brief(real_library, "chocolate cake baking recipes")


@pytest.mark.slow
def test_a_pasted_quote_is_traced_to_its_passage(real_library: Library) -> None:
    doc = next(d for d in real_library.documents() if "marriage" in d.title.lower())
    passage = real_library.store.passages_of(doc.doc_id)[2]
    view = sources_for_text(real_library, f"> {passage.text}\n— someone on the internet")
    assert view.quote.passage_id == passage.passage_id


def test_without_a_margin_quotes_come_one_per_document_before_any_document_repeats(
    fake_library: Library,
) -> None:
    brief = make_brief(fake_library, "Russia China partnership", k=4, margin=None)
    assert len({q.doc_id for q in brief.quotes}) == len(brief.quotes) == 4
    assert_verbatim(fake_library, brief.quotes)


def test_a_document_repeats_only_when_the_next_document_is_clearly_weaker() -> None:
    vectors = np.eye(4, dtype=np.float32)  # no redundancy between any two candidates
    groups = ["a", "a", "b", "c"]
    # a's second passage is far better than b's best: it comes before b.
    assert select_diverse([0.9, 0.8, 0.4, 0.3], vectors, groups, 3, margin=0.05) == [0, 1, 2]
    # ... but a slight edge is not enough to beat diversity (c, far weaker, still loses).
    assert select_diverse([0.9, 0.8, 0.78, 0.3], vectors, groups, 3, margin=0.05) == [0, 2, 1]
    # Without a margin, every document is quoted once before any repeats.
    assert select_diverse([0.9, 0.8, 0.4, 0.3], vectors, groups, 3, margin=None) == [0, 2, 3]


def test_brief_relevance_mixes_the_fused_rank_into_the_cosine_scale(
    fake_library: Library,
) -> None:
    hits = fake_library.search("Russia China partnership", k=10)
    relevance = relevance_of(hits, 0.5)
    cosines = [h.similarity for h in hits]
    assert min(cosines) - 1e-9 <= min(relevance) and max(relevance) <= max(cosines) + 1e-9
    assert relevance_of(hits, 0.0) == cosines


def test_source_filter_narrows_to_an_author(fake_library: Library) -> None:
    brief = make_brief(fake_library, "Russia China", k=5, source="Bhadrakumar")
    assert brief.quotes
    assert all(any("Bhadrakumar" in a for a in q.authors) for q in brief.quotes)


def test_since_filter_keeps_only_documents_published_since(fake_library: Library) -> None:
    brief = make_brief(fake_library, "Russia China", k=5, since="2021-01-01")
    assert brief.quotes
    assert all(q.published and q.published >= "2021-01-01" for q in brief.quotes)


@pytest.mark.parametrize("bad", ["yesterday", "2023-13-01", "23-06-01"])
def test_a_malformed_since_date_is_an_input_error(bad: str) -> None:
    with pytest.raises(InputError, match="date"):
        parse_since(bad)


def test_an_unknown_source_is_named_in_the_error(fake_library: Library) -> None:
    with pytest.raises(InputError, match="Nobody Atall"):
        make_brief(fake_library, "Russia", source="Nobody Atall")


def test_sources_shows_the_passage_in_its_context(fake_library: Library) -> None:
    brief = make_brief(fake_library, "joint air patrol bombers", k=1)
    view = passage_sources(fake_library, brief.quotes[0].label)
    doc = fake_library.document(view.quote.doc_id)
    assert doc.text[view.quote.start : view.quote.end] == view.quote.text
    if view.before:
        assert view.before in doc.text[: view.quote.start]
    assert view.after and view.after in doc.text[view.quote.end :]
    assert all(other.doc_id != view.quote.doc_id for other in view.same_elsewhere)


def test_a_page_without_a_title_is_cited_by_its_opening_words_and_file(fake_library) -> None:
    from briefings.corpus import corpus_overview

    untitled = "004_4ee72bb1d8602485.txt"  # a seed whose page carries no title
    [entry] = [e for e in corpus_overview(fake_library).entries if e.source_id == untitled]
    assert (
        entry.title
        == f"“The beginning of 2022 saw Russia threaten war in Ukraine, China loom…” ({untitled})"
    )
    brief = make_brief(fake_library, "Japanese thinking on the Japan-US alliance", k=5)
    assert {q.title for q in brief.quotes if q.source_id == untitled} == {entry.title}
    # machine-readable output keeps the page's own (empty) title
    assert fake_library.document(entry.doc_id).title == ""


def test_sources_says_the_same_only_of_a_passage_repeating_the_claim(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    claim = "The Australian Senate passed a bill letting the government sanction foreign hackers."
    (corpus / "a.txt").write_text(f"Title: Cyber sanctions\n\n{claim}\n", encoding="utf-8")
    (corpus / "b.txt").write_text(
        "Title: Hackers face sanctions\n\nA bill letting the Australian government sanction"
        " foreign hackers was passed by the Senate.\n",
        encoding="utf-8",
    )
    (corpus / "c.txt").write_text(
        "Title: Cyber sanctions abroad\n\nEuropean governments debated whether sanctions on"
        " foreign hackers work at all, and most diplomats doubted it.\n",
        encoding="utf-8",
    )
    db = tmp_path / "same.db"
    build_index(db, [corpus], FakeEmbedder())
    library = Library(Store(db), FakeEmbedder())
    [first] = library.store.passages_of(
        next(d for d in library.documents() if "a.txt" in d.doc_id).doc_id
    )
    view = passage_sources(library, first.passage_id)
    assert [q.source_id for q in view.same_elsewhere] == ["b.txt"]
    assert all(q.source_id != "b.txt" for q in view.related)


def test_claim_similarity_separates_a_reworded_claim_from_another_claim_on_the_subject() -> None:
    vector = np.ones(4, dtype=np.float32) / 2
    claim = "Chinese and Russian premiers praised the sound progress made in relations."
    reworded = "The premiers of China and Russia praised the progress made in their relations."
    other = "China and Russia are not formal allies; distrust remains, especially in Moscow."
    assert claim_similarity(claim, reworded, vector, vector)[1] >= SAME_CLAIM_OVERLAP
    assert claim_similarity(claim, other, vector, vector)[1] < SAME_CLAIM_OVERLAP


class _StrictFake(FakeEmbedder):
    """The fake embedder with a calibration no seed passage clears; vectors as before."""

    calibration = replace(FakeEmbedder.calibration, relevance_floor=0.9, quote_match=0.999)


def test_a_brief_takes_its_relevance_floor_from_the_embedder(fake_library: Library) -> None:
    topic = "Russia China partnership"
    assert make_brief(fake_library, topic).quotes

    with pytest.raises(NothingRelevant):
        make_brief(Library(fake_library.store, _StrictFake()), topic)


def test_a_pasted_paraphrase_matches_only_above_the_embedders_quote_match(
    fake_library: Library,
) -> None:
    passage = fake_library.passage(1)
    paraphrase = passage.text.replace(" the ", " this ") + " Indeed."
    assert sources_for_text(fake_library, paraphrase).quote.passage_id == 1

    with pytest.raises(NothingRelevant):
        sources_for_text(Library(fake_library.store, _StrictFake()), paraphrase)
