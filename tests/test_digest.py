"""Digests from the seeds: ranked themes, verbatim quotes, contrasts, changes, the chart."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from briefings.chart import theme_source_chart
from briefings.digest import (
    Digest,
    DigestSnapshot,
    SnapshotTheme,
    build_digest,
    compare_themes,
    digest_text,
    excerpt,
)
from index.library import Library
from index.models import Passage
from index.store import Store
from tests.conftest import ROOT, SEEDS, build_index, run_cli

NOW = datetime(2024, 3, 25, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeds_db(tmp_path_factory) -> Path:
    from index.embedding import FakeEmbedder

    db = tmp_path_factory.mktemp("digest") / "seeds.db"
    build_index(db, [SEEDS], FakeEmbedder())
    return db


@pytest.fixture(scope="module")
def library(seeds_db):
    from index.embedding import FakeEmbedder

    lib = Library(Store(seeds_db), FakeEmbedder())
    yield lib
    lib.store.close()


@pytest.fixture(scope="module")
def digest(library) -> Digest:
    return build_digest(library, now=NOW)


def all_quotes(digest: Digest):
    for theme in digest.themes:
        yield from theme.quotes
        if theme.contrast:
            yield theme.contrast.left
            yield theme.contrast.right


def test_digest_quotes_are_exact_substrings_of_their_documents(digest, library):
    quotes = list(all_quotes(digest))
    assert quotes
    for q in quotes:
        doc = library.document(q.doc_id)
        assert doc.text[q.start : q.end] == q.text
        assert q.text.strip()


def test_top_themes_quote_at_least_two_sources(digest):
    assert len(digest.themes) >= 3
    for theme in digest.themes[:3]:
        assert len({q.source_id for q in theme.quotes}) >= 2, theme.label
        assert len(theme.sources) >= 2


def test_themes_are_ranked_by_source_span_then_size(digest):
    keys = [(len(t.sources), t.size) for t in digest.themes]
    assert keys == sorted(keys, reverse=True)


def test_contrasts_come_from_different_voices(digest):
    contrasts = [t.contrast for t in digest.themes if t.contrast]
    assert contrasts
    for c in contrasts:
        left = (c.left.site or "", c.left.authors, c.left.source_id)
        right = (c.right.site or "", c.right.authors, c.right.source_id)
        assert left != right


def test_counts_cover_the_corpus_and_no_passage_is_silently_dropped(digest, library):
    assert digest.documents == len(library.documents())
    assert digest.sources == len({d.source_id for d in library.documents()})
    total = sum(len(t.passages) for t in digest.snapshot.themes)
    assert total == digest.passages
    assert digest.outliers < digest.passages / 4


def test_same_corpus_gives_the_same_digest(digest, library):
    again = build_digest(library, now=NOW)
    assert again.to_json() == digest.to_json()
    assert again.snapshot == digest.snapshot


def test_snapshot_round_trips_through_json(digest):
    data = json.loads(json.dumps(digest.snapshot.to_json()))
    assert DigestSnapshot.from_json(data) == digest.snapshot


def test_first_digest_calls_every_document_new_and_reports_no_changes(digest, library):
    assert digest.first
    assert {d.doc_id for d in digest.new_documents} == {d.doc_id for d in library.documents()}
    assert digest.changes == ()


def test_since_last_digest_names_new_documents_and_theme_changes(digest, library):
    gone = digest.snapshot.documents[0]
    shrunk = digest.snapshot.themes[0]
    previous = replace(
        digest.snapshot,
        documents=digest.snapshot.documents[1:],
        themes=(
            replace(shrunk, passages=shrunk.passages[: len(shrunk.passages) // 2]),
            *digest.snapshot.themes[1:],
            SnapshotTheme("vanished theme", (10**9, 10**9 + 1, 10**9 + 2), 1, 1),
        ),
    )
    later = build_digest(library, previous, now=NOW)
    assert not later.first
    assert [d.doc_id for d in later.new_documents] == [gone]
    changes = {(c.label, c.change) for c in later.changes}
    assert (shrunk.label, "grew") in changes
    assert ("vanished theme", "faded") in changes
    assert later.themes[0].change == "grew"


def test_compare_themes_matches_by_passages_not_labels():
    before = [SnapshotTheme("old name", (1, 2, 3, 4), 2, 2), SnapshotTheme("b", (9, 10), 1, 1)]
    after = [
        SnapshotTheme("new name", (1, 2, 3, 4, 5), 2, 2),
        SnapshotTheme("fresh", (20, 21, 22), 2, 2),
    ]
    statuses, changes = compare_themes(before, after)
    assert statuses == ["steady", "appeared"]
    assert {(c.label, c.change) for c in changes} == {("fresh", "appeared"), ("b", "faded")}


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


def test_chart_is_a_png_of_themes_by_sources(digest):
    png = theme_source_chart(digest)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(digest.coverage) == len(digest.themes)
    assert all(len(row) == len(digest.source_ids) for row in digest.coverage)


def test_console_text_shows_each_theme_and_its_citations(digest):
    text = digest_text(digest)
    for theme in digest.themes:
        assert theme.label in text
    assert "(P" in text


def test_briefings_import_neither_discord_nor_apscheduler():
    code = (
        "import sys, briefings.digest, briefings.chart, briefings.themes;"
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
    assert set(data) >= {"themes", "new_documents"}
    first = data["themes"][0]
    assert set(first) >= {"label", "size", "sources", "quotes"}
    assert set(first["quotes"][0]) >= {"passage_id", "doc_id", "source_id", "quote", "start", "end"}
    assert (out / "digest-chart.png").read_bytes().startswith(b"\x89PNG")
    # the second run compares with the snapshot the first one saved in --out
    again = run_cli("digest", "--db", str(small), "--json", "--out", str(out))
    assert json.loads(again.stdout)["new_documents"] == []


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
            assert len({q.source_id for q in theme.quotes}) >= 2
    finally:
        library.store.close()
