"""Five weeks of a growing corpus, digest after digest as one channel gets them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from briefings.digest import ChangeKind, Digest
from briefings.digest_build import build_digest
from briefings.render import digest_text
from index.embedding import FakeEmbedder
from index.library import Library
from index.store import open_store
from tests.conftest import build_index, run_cli
from tests.weekly_corpus import write_week

WEEKS = [  # (articles, topics) added before each week's digest; week 5 adds nothing
    (20, ["football", "markets", "elections"]),
    (20, ["football", "markets", "elections", "technology"]),
    (20, ["technology", "markets"]),
    (20, ["elections", "football", "technology"]),
    (0, []),
]


@pytest.fixture(scope="module")
def five_weeks(tmp_path_factory, module_location: str) -> list[tuple[list[str], Digest]]:
    """(the week's new document ids, the week's digest) for each of five weeks."""
    root = tmp_path_factory.mktemp("weeks")
    corpus, db = root / "corpus", module_location
    start = datetime.now(UTC)
    library = None
    previous = None
    out = []
    try:
        for week, (count, topics) in enumerate(WEEKS, start=1):
            added = write_week(corpus, week, count, topics) if count else []
            build_index(db, [corpus], FakeEmbedder())
            if library is None:
                library = Library(open_store(db), FakeEmbedder())
            library.refresh()
            digest = build_digest(library, previous, now=start + timedelta(weeks=week - 1))
            previous = digest.snapshot
            out.append((added, digest))
    finally:
        if library is not None:
            library.store.close()
    return out


def test_each_digest_counts_exactly_its_weeks_documents_as_new(five_weeks):
    for added, digest in five_weeks:
        assert sorted(d.doc_id for d in digest.period.documents) == sorted(added)


def test_each_digest_quotes_only_its_weeks_documents(five_weeks):
    for week, (added, digest) in enumerate(five_weeks, start=1):
        quotes = digest.quotes()
        if added:
            assert quotes, f"week {week} quotes nothing"
        assert {q.quote.doc_id for q in quotes} <= set(added), f"week {week}"


def test_no_passage_is_quoted_twice_to_one_channel(five_weeks):
    seen: set[int] = set()
    for _added, digest in five_weeks:
        ids = [q.quote.passage_id for q in digest.quotes()]
        assert len(ids) == len(set(ids))
        assert not seen & set(ids)
        assert not any(q.reminder for q in digest.quotes())
        seen |= set(ids)
    assert set(five_weeks[-1][1].snapshot.quoted) == seen


def test_a_week_with_nothing_added_is_one_short_post(five_weeks):
    _added, quiet = five_weeks[-1]
    assert quiet.quiet and not quiet.themes and quiet.quotes() == []
    assert quiet.running  # the running themes are still named, one line
    assert quiet.period.since == five_weeks[-2][1].created_at
    text = digest_text(quiet)
    assert "nothing new" in text and len(text) < 600


def test_labels_are_multi_word_and_distinct_every_week(five_weeks):
    for _added, digest in five_weeks:
        phrases = [p for t in digest.charted for p in t.label.split(" · ")]
        assert phrases and all(len(p.split()) >= 2 for p in phrases), phrases
        assert len({p.lower() for p in phrases}) == len(phrases), phrases


def test_quotes_are_whole_sentences_that_stand_alone(five_weeks):
    for _added, digest in five_weeks:
        for q in digest.quotes():
            assert q.quote.text[0].isupper() and q.quote.text.endswith(".")
            assert q.quote.text.split()[0] not in {"But", "This", "So"}


def test_a_topic_arriving_in_week_two_starts_a_new_theme_that_later_weeks_join(five_weeks):
    week2 = five_weeks[1][1]
    tech = [t for t in week2.themes if any(d.startswith("technology") for d in t.new_documents)]
    assert any(t.change is ChangeKind.NEW for t in tech), [(t.label, t.change) for t in tech]
    week3 = five_weeks[2][1]
    assert any(t.change is ChangeKind.JOINED for t in week3.themes)


def test_the_weeks_chart_grows_a_column_per_digest(five_weeks):
    for week, (_added, digest) in enumerate(five_weeks, start=1):
        assert len(digest.weeks) == week
        assert len(digest.growth) == len(digest.charted)


def test_the_cli_out_folder_behaves_like_a_channel(tmp_path):
    corpus, db, out = tmp_path / "corpus", tmp_path / "index.db", tmp_path / "out"
    shown: set[int] = set()
    for week, (count, topics) in enumerate(WEEKS[:2] + WEEKS[-1:], start=1):
        added = write_week(corpus, week, count, topics) if count else []
        build_index(db, [corpus], FakeEmbedder())
        result = run_cli("digest", "--db", str(db), "--json", "--out", str(out))
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert sorted(data["period"]["documents"]) == sorted(added)
        quotes = [q for t in data["themes"] for q in (*t["quotes"], *t["other_voices"])]
        assert {q["doc_id"] for q in quotes} <= set(added)
        ids = {q["passage_id"] for q in quotes}
        assert not ids & shown
        shown |= ids
        if not added:
            assert quotes == [] and data["period"]["since"] is not None
