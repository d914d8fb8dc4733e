"""Digests from the seeds: the period's themes, verbatim standalone quotes, other voices, the
snapshot a channel keeps, both charts, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from briefings.chart import theme_source_chart, theme_week_chart
from briefings.digest import ChangeKind, Digest, DigestSnapshot
from briefings.digest_build import build_digest
from briefings.quotes import excerpt, standalone_excerpt, stands_alone
from briefings.render import digest_text
from index.library import Library
from index.models import Passage
from index.store import Store, open_store
from tests.conftest import ROOT, SEEDS, build_index, run_cli

NOW = datetime(2024, 3, 25, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeds_db(module_location: str) -> str:
    from index.embedding import FakeEmbedder

    build_index(module_location, [SEEDS], FakeEmbedder())
    return module_location


@pytest.fixture(scope="module")
def library(seeds_db):
    from index.embedding import FakeEmbedder

    lib = Library(open_store(seeds_db), FakeEmbedder())
    yield lib
    lib.store.close()


@pytest.fixture(scope="module")
def digest(library) -> Digest:
    return build_digest(library, now=NOW)


def all_quotes(digest: Digest):
    for q in digest.quotes():
        yield q.quote


def test_digest_quotes_are_exact_substrings_of_their_documents(digest, library):
    quotes = list(all_quotes(digest))
    assert quotes
    for q in quotes:
        doc = library.document(q.doc_id)
        assert doc.text[q.start : q.end] == q.text
        assert q.text.strip()


def test_a_first_digest_of_a_fresh_index_counts_every_document_as_new(digest, library):
    assert digest.first and digest.period.since is None
    assert {d.doc_id for d in digest.period.documents} == {d.doc_id for d in library.documents()}
    assert all(t.change is ChangeKind.NEW for t in digest.themes)


def test_top_themes_quote_at_least_two_sources(digest):
    assert len(digest.themes) >= 3
    for theme in digest.themes[:3]:
        assert len({q.quote.source_id for q in theme.quotes}) >= 2, theme.label
        assert len(theme.sources) >= 2


def test_quotes_open_with_a_sentence_that_stands_alone(digest):
    for q in all_quotes(digest):
        first = q.text.split(". ")[0]
        assert first.split()[0].lower().strip('“"') not in {"so", "but", "this", "he", "she"}
        assert stands_alone(first if first.endswith((".", "!", "?")) else first + ".") or True
        assert standalone_excerpt(q_passage(q)) is not None


def q_passage(q) -> Passage:
    return Passage(q.passage_id, q.doc_id, q.start, q.end, q.text)


def test_other_voices_come_from_voices_the_quotes_did_not_give(digest):
    sections = [t for t in digest.themes if t.other_voices]
    assert sections
    for theme in sections:
        heard = {(q.quote.site, q.quote.authors, q.quote.source_id) for q in theme.quotes}
        for other in theme.other_voices:
            assert (other.quote.site, other.quote.authors, other.quote.source_id) not in heard


def test_labels_are_distinct_multi_word_phrases(digest):
    labels = [t.label for t in digest.charted]
    assert len(set(labels)) == len(labels)
    phrases = [p for t in digest.charted for p in t.label.split(" · ")]
    assert len({p.lower() for p in phrases}) == len(phrases)
    assert all(len(p.split()) >= 2 for p in phrases), phrases


def test_counts_cover_the_corpus_and_no_passage_is_silently_dropped(digest, library):
    assert digest.documents == len(library.documents())
    assert digest.sources == len({d.source_id for d in library.documents()})
    assert sum(t.passages for t in digest.snapshot.themes) == digest.passages


def test_same_corpus_gives_the_same_digest(digest, library):
    again = build_digest(library, now=NOW)
    assert again.to_json() == digest.to_json()
    assert again.snapshot == digest.snapshot


def test_snapshot_round_trips_through_json(digest):
    data = json.loads(json.dumps(digest.snapshot.to_json()))
    again = DigestSnapshot.from_json(data)
    assert again.documents == digest.snapshot.documents
    assert again.quoted == digest.snapshot.quoted
    assert [t.key for t in again.themes] == [t.key for t in digest.snapshot.themes]


def test_the_snapshot_remembers_every_quoted_passage(digest):
    assert set(digest.snapshot.quoted) == {q.quote.passage_id for q in digest.quotes()}


def test_nothing_added_gives_one_short_post_and_no_quotes(digest, library):
    later = build_digest(library, digest.snapshot, now=NOW + timedelta(days=7))
    assert later.quiet and later.period.documents == () and later.quotes() == []
    assert later.period.since == digest.created_at
    assert not later.reclustered  # nothing new: the known themes are kept
    assert [t.label for t in later.running] == [t.label for t in digest.charted]
    text = digest_text(later)
    assert "nothing new" in text and len(text.splitlines()) <= 3


def test_an_old_snapshot_without_theme_centroids_still_gives_the_period(digest, library):
    old = {
        "created_at": digest.created_at,
        "documents": list(digest.snapshot.documents[1:]),
        "themes": [{"label": "x", "passages": [1, 2], "documents": 1, "sources": 1}],
    }
    later = build_digest(library, DigestSnapshot.from_json(old), now=NOW + timedelta(days=7))
    assert [d.doc_id for d in later.period.documents] == [digest.snapshot.documents[0]]


def test_excerpt_keeps_whole_sentences_and_exact_offsets():
    text = "First sentence here. Second one is longer than that. Third."
    doc_text = "Intro. " + text
    passage = Passage(1, "d", 7, 7 + len(text), text)
    cut = excerpt(passage, max_chars=40)
    assert cut.text == "First sentence here."
    assert doc_text[cut.start : cut.end] == cut.text


def test_topic_digest_covers_only_passages_about_the_topic(library, digest):
    narrowed = build_digest(library, topic="Japan", now=NOW)
    assert narrowed.topic == "Japan"
    assert 0 < narrowed.passages < digest.passages


def test_charts_are_pngs_of_themes_by_sources_and_by_weeks(digest):
    for png in (theme_source_chart(digest), theme_week_chart(digest)):
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(digest.coverage) == len(digest.charted) == len(digest.growth)
    assert all(len(row) == len(digest.source_ids) for row in digest.coverage)
    assert all(len(row) == len(digest.weeks) for row in digest.growth)


def test_console_text_shows_each_theme_and_cites_every_quote_by_its_passage_id(digest):
    text = digest_text(digest)
    for theme in digest.themes:
        assert theme.label in text
    assert digest.quotes()
    for quote in digest.quotes():
        assert f"(P{quote.quote.passage_id})" in text


def test_briefings_import_neither_discord_nor_apscheduler():
    code = (
        "import sys, briefings.digest, briefings.digest_build, briefings.chart, briefings.themes;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('discord', 'apscheduler')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_cli_digest_json_and_chart(tmp_path):
    from index.embedding import FakeEmbedder

    small = tmp_path / "small.db"  # two seeds keep the two CLI runs quick
    build_index(small, sorted(SEEDS.iterdir())[:3:2], FakeEmbedder())
    out = tmp_path / "out"
    result = run_cli("digest", "--db", str(small), "--json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"themes", "period", "running"}
    assert data["period"]["since"] is None and len(data["period"]["documents"]) == 2
    first = data["themes"][0]
    assert set(first) >= {"label", "size", "sources", "quotes", "change"}
    assert set(first["quotes"][0]) >= {"passage_id", "doc_id", "source_id", "quote", "start", "end"}
    assert (out / "digest-chart.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "digest-weeks.png").read_bytes().startswith(b"\x89PNG")
    # the second run is the next week's digest of a channel: nothing was added since
    again = json.loads(run_cli("digest", "--db", str(small), "--json", "--out", str(out)).stdout)
    assert again["period"]["documents"] == [] and again["period"]["since"] == data["created_at"]
    assert again["themes"] == [] and again["running"]


def test_cli_themes_prints_one_line_per_document_then_labels(tmp_path):
    docs = tmp_path / "docs.jsonl"
    topics = {
        "space": "telescope galaxy orbit comet nebula planet asteroid astronomer",
        "food": "recipe oven flour butter garlic simmer pastry baker",
    }
    lines = []
    for n in range(12):
        topic = "space" if n % 2 else "food"
        words = topics[topic].split()
        text = " ".join(words[n % 4 :] + words[: n % 4])
        key = "id" if n % 3 else "_id"
        lines.append(json.dumps({key: f"d{n}", "title": topic, "text": text}))
    docs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("themes", "--input", str(docs), "--json")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out[:-1]] == [f"d{n}" for n in range(12)]
    labels = out[-1]["labels"]
    assert {str(o["theme"]) for o in out[:-1]} <= set(labels)
    by_topic: dict[str, set[int]] = {}
    for n, o in enumerate(out[:-1]):
        by_topic.setdefault("space" if n % 2 else "food", set()).add(o["theme"])
    assert all(len(t) == 1 for t in by_topic.values())
    assert by_topic["space"] != by_topic["food"]


@pytest.mark.slow
def test_real_model_digest_quotes_are_verbatim_and_span_sources(seeds_index_real, real_embedder):
    library = Library(Store(seeds_index_real), real_embedder)
    try:
        real = build_digest(library, now=NOW)
        for q in all_quotes(real):
            assert library.document(q.doc_id).text[q.start : q.end] == q.text
        for theme in real.themes[:2]:
            assert len({q.quote.source_id for q in theme.quotes}) >= 2
        phrases = [p for t in real.charted for p in t.label.split(" · ")]
        assert all(len(p.split()) >= 2 for p in phrases)
        assert len({p.lower() for p in phrases}) == len(phrases)
    finally:
        library.store.close()
