"""Briefs and sources on the seeds: verbatim, cited, diverse, honest when nothing fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefings.brief import make_brief, parse_since
from briefings.sources import passage_sources, sources_for_text
from index.embedding import FakeEmbedder
from index.errors import InputError, NothingRelevant
from index.library import Library
from index.store import Store
from tests.conftest import SEEDS, build_index


@pytest.fixture(scope="module")
def fake_library(tmp_path_factory) -> Library:
    db = tmp_path_factory.mktemp("brief") / "seeds.db"
    build_index(db, [SEEDS], FakeEmbedder())
    return Library(Store(db), FakeEmbedder())


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


def test_quotes_come_one_per_document_before_any_document_repeats(
    fake_library: Library,
) -> None:
    brief = make_brief(fake_library, "Russia China partnership", k=4)
    assert len({q.doc_id for q in brief.quotes}) == len(brief.quotes) == 4
    assert_verbatim(fake_library, brief.quotes)


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
