"""Collections: each server its own reading list beside the operator's shared one.

Real SQLite, real files, the fake embedder; the kill test runs an add in its own process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from briefings.brief import make_brief
from briefings.corpus import corpus_overview
from briefings.sources import passage_sources
from index.collections import add_reading, collection_folders, recover, remove_documents
from index.errors import InputError, NotFound, NothingRelevant
from index.library import Library
from index.models import SHARED, SearchFilters, guild_collection
from index.pipeline import Indexer
from index.store import Store, open_store
from tests.conftest import ROOT
from tests.test_store_migrations import _old_index

A, B = guild_collection(1), guild_collection(2)
TIDES = (
    "---\ntitle: Tidal power in the Severn\n---\n\n"
    "The Severn estuary has the second highest tidal range in the world. "
    "A barrage across it could supply five percent of the country's electricity.\n\n"
    "Critics of the barrage warn that mudflats feeding migrating birds would be lost.\n"
)


@pytest.fixture
def corpus(tmp_path: Path, fake_embedder, index_location: str):
    """A shared collection of one file and an empty data folder for server collections (in
    each backend's index)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "rates.txt").write_text(
        "Title: Interest rates\n\nThe central bank raised interest rates by half a point "
        "to slow inflation.\n",
        encoding="utf-8",
    )
    store = open_store(index_location)
    Indexer(store, fake_embedder).run([shared])
    return store, tmp_path / "data"


def test_a_reading_added_to_one_server_is_invisible_from_another(corpus, fake_embedder):
    store, data = corpus
    added = add_reading(store, fake_embedder, data, A, "severn.txt", TIDES.encode(), user_id=7)
    library = Library(store, fake_embedder)
    in_a = library.within({SHARED, A})
    in_b = library.within({SHARED, B})

    quotes = make_brief(in_a, "Severn tidal barrage", k=3).quotes
    assert quotes[0].doc_id == added.documents[0].doc_id
    with pytest.raises(NothingRelevant):
        make_brief(in_b, "Severn tidal barrage", k=3)
    assert {e.doc_id for e in corpus_overview(in_b).entries} == {"rates.txt"}
    assert added.documents[0].doc_id in {e.doc_id for e in corpus_overview(in_a).entries}
    passage = store.passages_of(added.documents[0].doc_id)[0]
    assert passage_sources(in_a, passage.label).quote.text == passage.text
    with pytest.raises(NotFound) as out_of_scope:
        in_b.passage(passage.label)
    with pytest.raises(NotFound) as missing:
        in_b.passage(10**9)
    assert str(out_of_scope.value) == str(missing.value).replace(
        str(10**9), str(passage.passage_id)
    )
    assert not in_b.match_source("Tidal power in the Severn")


def test_every_search_arm_honours_the_collection_filter(corpus, fake_embedder):
    store, data = corpus
    add_reading(store, fake_embedder, data, A, "severn.txt", TIDES.encode())
    library = Library(store, fake_embedder)
    only_shared = SearchFilters(collections=frozenset({SHARED}))
    for per_document in (False, True):
        hits = library.search(
            "Severn barrage", k=10, filters=only_shared, per_document=per_document
        )
        assert hits and {h.document.collection for h in hits} == {SHARED}
    vector = library.passage_vector(store.passages_of(f"{A}/severn.txt")[0].passage_id)
    assert {h.document.collection for h in library.within({SHARED}).neighbours(vector)} == {SHARED}


def test_the_same_reading_in_two_servers_is_two_documents(corpus, fake_embedder):
    store, data = corpus
    in_a = add_reading(store, fake_embedder, data, A, "severn.txt", TIDES.encode())
    in_b = add_reading(store, fake_embedder, data, B, "severn.txt", TIDES.encode())
    assert not in_b.already
    assert in_a.documents[0].doc_id != in_b.documents[0].doc_id
    assert {c for c, _ in collection_folders(data)} == {A, B}
    # Removing it from one server leaves the other's copy and file alone.
    remove_documents(store, data, A, [in_a.documents[0].doc_id], user_id=7)
    assert store.document(in_b.documents[0].doc_id) is not None
    assert (data / "guild-2" / "severn.txt").exists()
    assert not (data / "guild-1" / "severn.txt").exists()


def test_the_same_content_again_is_already_in_the_corpus(corpus, fake_embedder):
    store, data = corpus
    first = add_reading(store, fake_embedder, data, A, "severn.txt", TIDES.encode())
    again = add_reading(store, fake_embedder, data, A, "copy of severn.txt", TIDES.encode())
    # Other bytes and another name, the same document: still the same reading.
    reworded = add_reading(store, fake_embedder, data, A, "severn.md", (TIDES + "\n").encode())
    assert again.already and reworded.already
    assert again.title == first.title == "Tidal power in the Severn"
    assert len(store.file_paths(A)) == 1


def test_adds_and_removes_are_recorded_with_who_and_what(corpus, fake_embedder):
    store, data = corpus
    added = add_reading(store, fake_embedder, data, A, "severn.txt", TIDES.encode(), user_id=7)
    remove_documents(store, data, A, [added.documents[0].doc_id], user_id=8)
    removed, add = store.events(A)
    assert (add.action, add.user_id, add.title) == ("add", 7, "Tidal power in the Severn")
    assert (removed.action, removed.user_id) == ("remove", 8)
    assert removed.doc_ids == add.doc_ids == (added.documents[0].doc_id,)
    assert store.events(B) == []


def test_a_server_cannot_remove_the_shared_or_another_servers_documents(corpus, fake_embedder):
    store, data = corpus
    added = add_reading(store, fake_embedder, data, A, "severn.txt", TIDES.encode())
    with pytest.raises(NotFound):
        remove_documents(store, data, B, [added.documents[0].doc_id])
    with pytest.raises(NotFound):
        remove_documents(store, data, A, ["rates.txt"])
    assert store.document("rates.txt") is not None


def test_a_reading_of_an_unknown_kind_is_refused_and_leaves_nothing(corpus, fake_embedder):
    store, data = corpus
    with pytest.raises(InputError, match="not a reading"):
        add_reading(store, fake_embedder, data, A, "run.exe", b"MZ\x90\x00")
    with pytest.raises(InputError, match="could not read"):
        add_reading(store, fake_embedder, data, A, "empty.txt", b"   \n")
    assert store.file_paths(A) == []
    assert not any((data / "guild-1").iterdir())


def test_pruning_a_collection_never_touches_another(corpus, fake_embedder, tmp_path):
    store, data = corpus
    add_reading(store, fake_embedder, data, A, "severn.txt", TIDES.encode())
    Indexer(store, fake_embedder).run([tmp_path / "shared"], prune=True)
    assert store.file_paths(A)
    # The re-scan indexes a server's folder with its collection: nothing changes.
    report = Indexer(store, fake_embedder).run([data / "guild-1"], collection=A, prune=True)
    assert report.files_unchanged == 1 and report.passages_encoded == 0


def test_an_old_index_migrates_into_the_shared_collection_without_reencoding(tmp_path):
    db = tmp_path / "old.db"
    _old_index(db, version=3)
    with_vector = Store(db)
    (doc,) = with_vector.documents()
    assert doc.collection == SHARED and doc.doc_id == "old"
    assert with_vector.file_paths(SHARED) == with_vector.file_paths()
    assert with_vector.events(SHARED) == []


def test_the_add_worker_killed_mid_write_leaves_the_collection_as_before(corpus, fake_embedder):
    store, data = corpus
    reading = str(data.parent / "severn-upload.txt")
    Path(reading).write_text(TIDES * 30, encoding="utf-8")  # enough passages to die among
    before = (store.documents(), store.file_paths())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BRIEFBOT_TEST_KILL_AT_INSERT": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.index_worker", "--add", A, str(data), store.path, reading],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    store = open_store(store.path)
    assert (store.documents(), store.file_paths()) == before
    assert store.events(A) == []
    assert recover(store, data) == 1  # the staged copy of the interrupted add is dropped
    assert not any((data / "guild-1").iterdir())
    added = add_reading(store, fake_embedder, data, A, "severn.txt", Path(reading).read_bytes())
    assert not added.already and added.passages > 3
    assert len(store.passages_of(added.documents[0].doc_id)) == added.passages
    assert [e.action for e in store.events(A)] == ["add"]


def test_the_cli_indexes_into_a_collection_and_answers_from_the_ones_named(tmp_path):
    import json

    from tests.conftest import run_cli

    shared, server = tmp_path / "shared", tmp_path / "server"
    shared.mkdir()
    server.mkdir()
    (shared / "rates.txt").write_text(
        "The central bank raised interest rates to slow inflation.\n", encoding="utf-8"
    )
    (server / "severn.md").write_text(TIDES, encoding="utf-8")
    db = str(tmp_path / "cli.db")
    assert run_cli("index", "--db", db, str(shared)).returncode == 0
    assert run_cli("index", "--db", db, "--collection", A, str(server)).returncode == 0

    def docs(*scope: str) -> set[str]:
        out = run_cli("docs", "--db", db, "--json", *scope)
        assert out.returncode == 0, out.stderr
        return {json.loads(line)["doc_id"] for line in out.stdout.splitlines()}

    assert docs() == {"rates.txt", f"{A}/severn.md"}
    assert docs("--collection", SHARED) == {"rates.txt"}
    assert docs("--collection", SHARED, "--collection", A) == {"rates.txt", f"{A}/severn.md"}
    brief = run_cli("brief", "--db", db, "--collection", B, "--json", "Severn barrage")
    assert brief.returncode != 0 and "nothing in the corpus" in brief.stderr.lower()
    # Pruning the shared folder, now empty, leaves the server's collection alone.
    (shared / "rates.txt").unlink()
    assert run_cli("index", "--db", db, "--prune", str(shared)).returncode == 0
    assert docs() == {f"{A}/severn.md"}
