"""Schema migrations: an index written by an older briefbot opens, upgrades and keeps its data."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import sqlite_utils

from benchmarks.bulk import bulk_load
from index.models import Document
from index.pipeline import content_hash
from index.store import MIGRATIONS, SCHEMA_VERSION, NewPassage, Store


def _old_index(db: Path, version: int) -> None:
    """An index at schema ``version`` holding one document with one passage."""
    database = sqlite_utils.Database(sqlite3.connect(db, isolation_level=None))
    database.execute("CREATE TABLE index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for migration in MIGRATIONS[:version]:
        migration(database)
    database.execute(
        "INSERT INTO index_meta VALUES ('schema_version', ?), ('generation', '1')", [str(version)]
    )
    database.execute(
        "INSERT INTO documents(doc_id, source_id, path, title, authors, published, url, site, "
        "text, content_hash, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        ["old", "old.txt", "/c/old.txt", "Old", '["Ann Lee"]', "2024-01-02", None, None,
         "An old document about tides.", "h", "2024-01-02T00:00:00+00:00"],
    )  # fmt: skip
    database.execute(
        'INSERT INTO passages(doc_id, ord, start, "end", text) VALUES (?,?,?,?,?)',
        ["old", 0, 0, 28, "An old document about tides."],
    )
    database.close()


def test_an_index_from_before_pages_migrates_and_keeps_its_documents(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _old_index(db, version=2)

    store = Store(db)

    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    (doc,) = store.documents()
    assert (doc.doc_id, doc.title, doc.authors, doc.text) == (
        "old",
        "Old",
        ("Ann Lee",),
        "An old document about tides.",
    )
    assert doc.page_starts == ()
    assert doc.page_of(0) is None
    assert [p.text for p in store.passages_of("old")] == ["An old document about tides."]


def test_page_starts_are_stored_and_read_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "i.db")
    doc = Document("d", "d.pdf", "Page one text.\n\nPage two text.", page_starts=(0, 16))
    passage = NewPassage("d", 0, 16, 30, "Page two text.", np.ones(4, np.float32))

    store.replace_file("/c/d.pdf", "sha", 1, [(doc, content_hash(doc))], [passage])

    stored = store.document("d")
    assert stored is not None
    assert stored.page_starts == (0, 16)
    assert stored.page_of(passage.start) == 2


def test_bulk_loaded_documents_keep_their_page_starts(tmp_path: Path) -> None:
    store = Store(tmp_path / "i.db")
    doc = Document("d", "d.pdf", "One.\n\nTwo.", page_starts=(0, 6))

    bulk_load(store, [(doc, content_hash(doc))], [])

    assert store.documents()[0].page_starts == (0, 6)


def test_documents_without_pages_keep_the_content_hash_they_had_before_pages() -> None:
    plain = Document("d", "d.txt", "Text.", title="T", authors=("Ann Lee",))
    before = json.dumps(["d.txt", "T", ["Ann Lee"], None, None, None, "Text."])

    assert content_hash(plain) == hashlib.sha256(before.encode()).hexdigest()


def test_moving_a_page_break_changes_the_content_hash() -> None:
    one = Document("d", "d.pdf", "A.\n\nB.", page_starts=(0, 4))
    other = Document("d", "d.pdf", "A.\n\nB.", page_starts=(0, 3))

    assert content_hash(one) != content_hash(other)
