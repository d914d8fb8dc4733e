"""kill -9 at random moments of `briefbot index` never damages the index (issue 16, item 1).

A few rounds of the loop that ``python -m benchmarks.reliability`` runs 50 times: after every
kill the index opens and passes ``PRAGMA integrity_check`` with no half-written file, and once
a run finishes the index equals a clean rebuild of the same corpus.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.reliability import check_index, index_digest, kill_loop


def test_an_index_killed_at_random_moments_stays_whole_and_ends_equal_to_a_clean_rebuild(
    tmp_path: Path,
) -> None:
    loop = kill_loop(tmp_path, kills=3, jsonl_mb=1, seed=3)
    assert loop.kills == 3
    assert loop.problems == []
    assert loop.differences == [] and loop.equals_clean_rebuild
    assert loop.final_documents > 3 * 3  # the corpus grew: text, HTML, PDF each round, a JSONL


def test_the_index_check_finds_a_passage_whose_offsets_are_wrong(tmp_path: Path) -> None:
    import sqlite3

    from index.embedding import FakeEmbedder
    from tests.conftest import SEEDS, build_index

    db = tmp_path / "i.db"
    build_index(db, [SEEDS], FakeEmbedder())
    before = index_digest(db)
    assert check_index(db) == []
    with sqlite3.connect(db) as conn:
        conn.execute('UPDATE passages SET "end" = "end" + 1 WHERE passage_id = 1')
    assert check_index(db) == ["passages not exactly text[start:end]: 1"]
    assert index_digest(db)["passages"] != before["passages"]
