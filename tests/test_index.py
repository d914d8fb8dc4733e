"""Incremental, safe indexing and a live index that readers see change."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from index.embedding import FakeEmbedder
from index.errors import IncompatibleIndex
from index.library import Library
from index.pipeline import Indexer
from index.store import open_store
from tests.conftest import ROOT, build_index

ARTICLE_A = """Pipelines and trade

Russia and China signed a new gas pipeline agreement in Moscow. The Power of Siberia line will \
carry more gas to northern China within five years.

Officials in Beijing said the deal deepens the energy partnership between the two countries.
"""
ARTICLE_B = """Arctic shipping

The Northern Sea Route is becoming operational as the Arctic ice retreats. Shipping companies \
expect the route to cut journey times between Asia and Europe by a third.
"""


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text(ARTICLE_A, encoding="utf-8")
    (folder / "b.txt").write_text(ARTICLE_B, encoding="utf-8")
    return folder


def passage_ids(db: Path) -> dict[str, list[int]]:
    store = open_store(db)
    ids = {d.doc_id: [p.passage_id for p in store.passages_of(d.doc_id)] for d in store.documents()}
    store.close()
    return ids


def test_reindexing_unchanged_files_encodes_nothing(index_location: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    embedder = FakeEmbedder()
    first = build_index(index_location, [corpus], embedder)
    assert first.files_indexed == 2 and embedder.calls > 0
    before = passage_ids(index_location)
    embedder.calls = 0
    second = build_index(index_location, [corpus], embedder)
    assert embedder.calls == 0
    assert second.files_unchanged == 2 and second.files_indexed == 0
    assert passage_ids(index_location) == before


def test_a_changed_file_replaces_only_its_own_passages(index_location: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    db = index_location
    build_index(db, [corpus], FakeEmbedder())
    before = passage_ids(db)
    (corpus / "b.txt").write_text(
        ARTICLE_B + "\nRussian icebreakers escort the convoys through the winter months.\n",
        encoding="utf-8",
    )
    embedder = FakeEmbedder()
    report = build_index(db, [corpus], embedder)
    after = passage_ids(db)
    assert report.files_indexed == 1 and report.files_unchanged == 1
    assert after["a.txt"] == before["a.txt"]
    assert after["b.txt"] != before["b.txt"]
    # The unchanged sentences of b.txt kept their vectors: only the new text was encoded.
    assert 0 < embedder.calls <= 2
    library = Library(open_store(db), FakeEmbedder())
    texts = [p.text for p in library.store.passages_of("b.txt")]
    assert any("icebreakers" in t for t in texts)


def test_prune_drops_documents_whose_files_are_gone(index_location: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    db = index_location
    build_index(db, [corpus], FakeEmbedder())
    (corpus / "b.txt").unlink()
    store = open_store(db)
    report = Indexer(store, FakeEmbedder()).run([corpus], prune=False)
    assert {d.doc_id for d in store.documents()} == {"a.txt", "b.txt"}
    report = Indexer(store, FakeEmbedder()).run([corpus], prune=True)
    assert report.files_pruned == 1
    assert {d.doc_id for d in store.documents()} == {"a.txt"}


def test_an_index_built_with_another_model_is_refused_with_a_clear_message(
    index_location: str,
    tmp_path: Path,
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    db = index_location
    build_index(db, [corpus], FakeEmbedder())

    class OtherModel(FakeEmbedder):
        name = "other-model"
        dim = 32

    with pytest.raises(IncompatibleIndex, match="--rebuild"):
        Library(open_store(db), OtherModel())
    with pytest.raises(IncompatibleIndex, match="fake-hashing-64"):
        Indexer(open_store(db), OtherModel()).run([corpus])
    report = Indexer(open_store(db), OtherModel()).run([corpus], rebuild=True)
    assert report.files_indexed == 2


class Interrupting(FakeEmbedder):
    """Raises KeyboardInterrupt (as Ctrl-C would) once it has encoded ``after`` texts."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def encode_passages(self, texts, **kwargs):
        if self.calls + len(texts) > self.after:
            raise KeyboardInterrupt
        return super().encode_passages(texts, **kwargs)


def test_an_interrupted_run_leaves_the_previous_index_usable(
    index_location: str, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    db = index_location
    build_index(db, [corpus], FakeEmbedder())
    before = passage_ids(db)
    (corpus / "a.txt").write_text(ARTICLE_A.replace("gas", "oil"), encoding="utf-8")
    (corpus / "c.txt").write_text(ARTICLE_B.replace("Arctic", "Antarctic"), encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        Indexer(open_store(db), Interrupting(after=0)).run([corpus])
    assert passage_ids(db) == before
    hits = Library(open_store(db), FakeEmbedder()).search("gas pipeline", k=3)
    assert hits and "gas" in hits[0].passage.text


def test_an_indexer_killed_mid_write_keeps_what_it_committed_and_none_of_the_rest(
    index_location: str,
    tmp_path: Path,
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    db = index_location
    build_index(db, [corpus], FakeEmbedder())
    before = passage_ids(db)
    (corpus / "c.txt").write_text(
        "Baltic ferries\n\nFerry operators added winter crossings between Tallinn and Helsinki.\n",
        encoding="utf-8",
    )
    many = tmp_path / "many.jsonl"
    with many.open("w", encoding="utf-8") as f:
        for i in range(300):
            f.write(json.dumps({"id": f"d{i}", "text": f"Document {i} on trade. " * 30}) + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BRIEFBOT_TEST_KILL_AT_INSERT": "500"}
    command = [sys.executable, "-m", "tests.index_worker", str(db), str(corpus), str(many)]
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr  # killed inside a write

    after = passage_ids(db)
    assert after["a.txt"] == before["a.txt"] and after["b.txt"] == before["b.txt"]
    assert after["c.txt"]  # the file committed before the kill stays indexed
    assert not any(doc_id.startswith("many.jsonl") or doc_id.startswith("d") for doc_id in after)
    if not db.startswith("postgresql://"):
        store = open_store(db)
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.close()
    hits = Library(open_store(db), FakeEmbedder()).search("Northern Sea Route", k=1)
    assert hits and hits[0].document.doc_id == "b.txt"

    finished = subprocess.run(
        command, env={**env, "BRIEFBOT_TEST_KILL_AT_INSERT": ""}, capture_output=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    assert len(passage_ids(db)) == 3 + 300  # the next run indexes what the killed one lost


def test_an_open_library_sees_documents_indexed_after_it_opened(
    index_location: str, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    db = index_location
    build_index(db, [corpus / "a.txt"], FakeEmbedder())
    library = Library(open_store(db), FakeEmbedder())
    assert {h.document.doc_id for h in library.search("Arctic shipping route", k=5)} <= {"a.txt"}
    build_index(db, [corpus / "b.txt"], FakeEmbedder())  # another connection, as another process
    hits = library.search("Arctic shipping route", k=5)
    assert hits[0].document.doc_id == "b.txt"


def test_bad_files_are_skipped_with_a_warning_and_good_ones_indexed(
    index_location: str, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02 not text \xff\xfe")
    report = build_index(index_location, [corpus], FakeEmbedder())
    skipped = {Path(p).name for p, _ in report.skipped}
    assert {"empty.txt", "binary.txt"} <= skipped
    assert report.files_indexed == 2 and report.ok


def test_the_index_command_fails_only_when_nothing_could_be_indexed(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x00\x00")
    result = run_cli("index", "--db", str(tmp_path / "i.db"), str(bad))
    assert result.returncode == 1
    assert "bad.txt" in result.stderr
    good = write_corpus(tmp_path / "corpus")
    result = run_cli("index", "--db", str(tmp_path / "i.db"), str(bad), str(good))
    assert result.returncode == 0, result.stderr
    assert "bad.txt" in result.stderr


def test_files_indexed_with_a_caveat_carry_warnings_in_the_report(
    index_location: str, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "legacy.txt").write_bytes(
        "Caf\u00e9 \u201cCr\u00e8me\u201d opens.\n".encode("cp1252")
    )
    (corpus / "c.jsonl").write_text(
        '{"id": "1", "text": "Fine."}\n{"id": "2", "text": \n', encoding="utf-8"
    )
    report = build_index(index_location, [corpus], FakeEmbedder())
    assert report.files_indexed == 4 and report.skipped == []
    assert {(Path(path).name, note.split(":")[0]) for path, note in report.warnings} == {
        ("legacy.txt", "legacy.txt"),
        ("c.jsonl", "c.jsonl line 2"),
    }
    assert "2 warning(s)" in report.summary()
    store = open_store(index_location)
    texts = {d.doc_id: d.text for d in store.documents()}
    assert texts["legacy.txt"] == "Caf\u00e9 \u201cCr\u00e8me\u201d opens."
    assert texts["1"] == "Fine." and "2" not in texts


def test_the_index_command_prints_each_warning_and_succeeds(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "legacy.txt").write_bytes("Le caf\u00e9 cr\u00e8me est froid.\n".encode("latin-1"))
    (corpus / "c.jsonl").write_text(
        '{"id": "1", "text": "Fine."}\n{"id": "2", "text": \n[3]\n', encoding="utf-8"
    )
    (corpus / "broken.jsonl").write_text('{"id": "x"\n', encoding="utf-8")
    result = run_cli("index", "--db", str(tmp_path / "i.db"), str(corpus))
    assert result.returncode == 0, result.stderr
    printed = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any("legacy.txt: not UTF-8; read as cp1252" in line for line in printed)
    assert any("c.jsonl line 2: not valid JSON" in line for line in printed)
    assert any("c.jsonl line 3: expected a JSON object, got list" in line for line in printed)
    assert any("skipped" in line and "broken.jsonl line 1" in line for line in printed)
    assert "1 skipped, 3 warning(s)" in result.stderr


def test_an_interrupted_large_file_resumes_without_re_encoding_what_was_stored(
    index_location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.pipeline as pipeline

    monkeypatch.setattr(pipeline, "ENCODE_CHUNK", 10)
    monkeypatch.setattr(pipeline, "EARLY_WRITE", 10)
    corpus = tmp_path / "big.jsonl"
    with corpus.open("w", encoding="utf-8") as f:
        for i in range(30):
            text = f"Report {i} covers the partnership. It names delegation {i} in full detail."
            f.write(json.dumps({"id": f"r{i}", "text": text}) + "\n")
    db = index_location
    with pytest.raises(KeyboardInterrupt):
        Indexer(open_store(db), Interrupting(after=20)).run([corpus])
    stored = len(open_store(db).documents())
    assert 0 < stored < 30
    embedder = FakeEmbedder()
    report = Indexer(open_store(db), embedder).run([corpus])
    assert report.files_indexed == 1
    assert len(open_store(db).documents()) == 30
    assert embedder.calls == 30 - stored  # one passage per report; stored ones are not redone


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_an_encoding_bar_that_counts_every_passage(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    terminal, log_file = _Terminal(), io.StringIO()
    report = Indexer(open_store(tmp_path / "t.db"), FakeEmbedder(), progress_stream=terminal).run(
        [corpus]
    )
    total = report.passages_encoded
    assert total > 0
    assert f"{total}/{total}" in terminal.getvalue()
    assert "encoding" in terminal.getvalue()
    Indexer(open_store(tmp_path / "l.db"), FakeEmbedder(), progress_stream=log_file).run([corpus])
    assert log_file.getvalue() == ""  # a log file or pipe gets no bar
