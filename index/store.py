"""The only module that speaks SQL: documents, passages, vectors and the FTS5 index in SQLite.

Files derived from the store (the vector sidecar, the tantivy index) are not its business: they
live beside their backends (``index/vectors.py``, ``index/lexical.py``), which read what they
need through the queries here. Connections, transactions and migrations are ``index/sqlite.py``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from index.errors import IncompatibleIndex, IndexMissing
from index.models import SHARED, Document, Passage
from index.sqlite import Migration, connect, migrate, transaction, utc_now

log = logging.getLogger(__name__)

# Ids bound in one statement: well under SQLite's limit on host parameters (32766; 999 before
# SQLite 3.32).
ID_BATCH = 500


def id_batches(ids: Sequence[int] | np.ndarray) -> Iterator[tuple[list[int], str]]:
    """``ids`` in groups small enough to bind, each with its ``?,?,...`` placeholder list."""
    for start in range(0, len(ids), ID_BATCH):
        batch = [int(i) for i in ids[start : start + ID_BATCH]]
        yield batch, ",".join("?" * len(batch))


def _migration_1(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE files (
            path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
            indexed_at TEXT NOT NULL
        );
        CREATE TABLE documents (
            doc_id TEXT PRIMARY KEY, source_id TEXT NOT NULL, path TEXT,
            title TEXT NOT NULL DEFAULT '', authors TEXT NOT NULL DEFAULT '[]',
            published TEXT, url TEXT, site TEXT, text TEXT NOT NULL,
            content_hash TEXT NOT NULL, indexed_at TEXT NOT NULL
        );
        CREATE INDEX documents_path ON documents(path);
        CREATE INDEX documents_published ON documents(published);
        CREATE TABLE passages (
            passage_id INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id TEXT NOT NULL REFERENCES documents(doc_id),
            ord INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX passages_doc ON passages(doc_id, ord);
        CREATE TABLE vectors (passage_id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
        CREATE VIRTUAL TABLE passages_fts USING fts5(
            title, text, tokenize = 'porter unicode61 remove_diacritics 2'
        );
        """
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    """Whole-document FTS5 (title, text), kept in step with ``documents`` by triggers.

    It ranks documents (``search --queries``): bm25 over a whole article beats its best
    passage. Rows are keyed by the documents' rowid, which nothing here ever VACUUMs away.
    """
    db.executescript(
        """
        CREATE VIRTUAL TABLE documents_fts USING fts5(
            title, text, tokenize = 'porter unicode61 remove_diacritics 2'
        );
        INSERT INTO documents_fts(rowid, title, text) SELECT rowid, title, text FROM documents;
        CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
            INSERT INTO documents_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END;
        CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
            DELETE FROM documents_fts WHERE rowid = old.rowid;
        END;
        CREATE TRIGGER documents_fts_update AFTER UPDATE OF title, text ON documents BEGIN
            UPDATE documents_fts SET title = new.title, text = new.text WHERE rowid = old.rowid;
        END;
        """
    )


def _migration_3(db: sqlite_utils.Database) -> None:
    """Where each page of a PDF begins in its document's text (JSON offsets; [] otherwise)."""
    db.execute("ALTER TABLE documents ADD COLUMN page_starts TEXT NOT NULL DEFAULT '[]'")


def _migration_4(db: sqlite_utils.Database) -> None:
    """Collections: every document and file belongs to one (what an index held before is the
    operator's ``shared`` collection, nothing re-encoded); who added and removed what, and the
    role a server lets manage its collection."""
    db.executescript(
        f"""
        ALTER TABLE documents ADD COLUMN collection TEXT NOT NULL DEFAULT '{SHARED}';
        ALTER TABLE files ADD COLUMN collection TEXT NOT NULL DEFAULT '{SHARED}';
        CREATE INDEX documents_collection ON documents(collection);
        CREATE INDEX files_collection ON files(collection, sha256);
        CREATE TABLE collection_events (
            event_id INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL,
            action TEXT NOT NULL, user_id INTEGER, at TEXT NOT NULL,
            title TEXT NOT NULL, doc_ids TEXT NOT NULL DEFAULT '[]', detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX collection_events_at ON collection_events(collection, event_id);
        CREATE TABLE collection_roles (collection TEXT PRIMARY KEY, role_id INTEGER NOT NULL);
        """
    )


# Ordered migrations: index i brings the schema to version i + 1.
MIGRATIONS: tuple[Migration, ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
)
SCHEMA_VERSION = len(MIGRATIONS)


def document_row(doc: Document, path: str | None, content_hash: str, now: str) -> tuple:
    """The ``documents`` row of a document, in the table's column order."""
    return (
        doc.doc_id, doc.source_id, path, doc.title, json.dumps(list(doc.authors)),
        doc.published, doc.url, doc.site, doc.text, content_hash, now,
        json.dumps(list(doc.page_starts)), doc.collection,
    )  # fmt: skip


INSERT_DOCUMENT = (
    "INSERT INTO documents(doc_id, source_id, path, title, authors, published, url, site, "
    "text, content_hash, indexed_at, page_starts, collection) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


@dataclass(frozen=True)
class CollectionEvent:
    """One add or remove in a collection: who (a user id), when (UTC ISO), what."""

    event_id: int
    collection: str
    action: str  # "add" or "remove"
    user_id: int | None
    at: str
    title: str
    doc_ids: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class NewPassage:
    """A passage to insert: its span in the document and its vector."""

    doc_id: str
    ord: int
    start: int
    end: int
    text: str
    vector: np.ndarray


class Store:
    """A briefbot index in one SQLite file (WAL: one writer and many readers at a time)."""

    backend = "sqlite"  # PostgreSQL: index.postgres.PgStore
    shared_writers = False  # one writer at a time: indexers never split the work

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = str(path)  # what opens it again (for PostgreSQL, a URL)
        self.label = self.path  # what messages call it (a URL without its password)
        if not create and self.path != ":memory:" and not Path(self.path).exists():
            raise IndexMissing(
                f"no index at {self.path}: build one with `briefbot index PATH...` first"
            )
        self.db = connect(self.path)
        self._lock = threading.RLock()
        with self._lock:
            self.db.execute("PRAGMA foreign_keys=ON")
            migrate(
                self.db,
                MIGRATIONS,
                read_version=lambda _: self._schema_version(),
                write_version=lambda _, version: self._set_meta("schema_version", str(version)),
                name=self.path,
                remedy="upgrade briefbot or rebuild the index",
            )

    # -- schema and metadata -------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[object]:
        """One write transaction on this store's connection (nested: a savepoint)."""
        return transaction(self.db)

    def _has_meta_table(self) -> bool:
        return bool(self.db.table("index_meta").exists())

    def _schema_version(self) -> int:
        if not self._has_meta_table():
            return 0
        return int(self.meta("schema_version") or 0)

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM index_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO index_meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def check_model(self, name: str, dim: int, *, claim: bool = False) -> None:
        """Refuse an index built with another model; with ``claim``, record ours if unset."""
        with self._lock:
            stored_name, stored_dim = self.meta("model_name"), self.meta("dim")
            if stored_name is None:
                if claim:
                    with self._transaction():
                        self._set_meta("model_name", name)
                        self._set_meta("dim", str(dim))
                return
            if stored_name != name or int(stored_dim or 0) != dim:
                raise IncompatibleIndex(
                    f"{self.label} was built with {stored_name} ({stored_dim}-d vectors) but "
                    f"briefbot now embeds with {name} ({dim}-d): re-run "
                    "`briefbot index --rebuild PATH...` to rebuild it"
                )

    _CLEARED_TABLES: tuple[str, ...] = ("vectors", "passages_fts", "passages", "documents", "files")

    def clear(self) -> None:
        """Drop every document, passage and vector (``--rebuild``)."""
        with self.writing():
            for table in self._CLEARED_TABLES:
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("DELETE FROM index_meta WHERE key IN ('model_name', 'dim')")

    def generation(self) -> int:
        with self._lock:
            return int(self.meta("generation") or 0)

    def updated_at(self) -> str | None:
        with self._lock:
            return self.meta("updated_at")

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """One logical write in one transaction; readers see it as the next generation."""
        with self._lock, self._transaction():
            yield self.db
            self._bump_generation()

    def _bump_generation(self) -> None:
        # An upsert: a new index has no generation row until its first write (generation 0).
        self.db.execute(
            "INSERT INTO index_meta(key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(index_meta.value AS INTEGER) + 1"
        )
        self._set_meta("updated_at", utc_now())

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Every read inside sees one committed state, whatever writers do meanwhile."""
        with self._lock:
            self.db.execute("BEGIN")
            try:
                yield
            finally:
                self.db.execute("COMMIT")

    # -- files -----------------------------------------------------------------------------

    def claim_file(self, path: str, *, wait: bool = False) -> bool:
        """Claim ``path`` for this indexer until :meth:`release_file` (with ``wait``, block
        until no other indexer holds it). SQLite's single writer needs no claims."""
        return True

    def release_file(self, path: str) -> None:
        return None

    def file_hash(self, path: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT sha256 FROM files WHERE path = ?", [path]).fetchone()
            return None if row is None else str(row[0])

    def file_paths(self, collection: str | None = None) -> list[str]:
        """Indexed files, of one collection when given."""
        with self._lock:
            if collection is None:
                rows = self.db.execute("SELECT path FROM files ORDER BY path")
            else:
                rows = self.db.execute(
                    "SELECT path FROM files WHERE collection = ? ORDER BY path", [collection]
                )
            return [r[0] for r in rows]

    def file_documents(self, collection: str, sha256: str) -> list[Document]:
        """The documents of a file with these bytes already in ``collection`` (none: new)."""
        with self._lock:
            rows = self.db.execute(
                f"SELECT {self._DOC_COLUMNS} FROM documents WHERE path IN "
                "(SELECT path FROM files WHERE collection = ? AND sha256 = ?) ORDER BY doc_id",
                [collection, sha256],
            )
            return [self._document(r) for r in rows]

    def documents_with_texts(self, collection: str, texts: Iterable[str]) -> list[Document]:
        """Documents of ``collection`` whose text is one of ``texts`` (the same reading)."""
        found: list[Document] = []
        with self._lock:
            for text in dict.fromkeys(texts):
                rows = self.db.execute(
                    f"SELECT {self._DOC_COLUMNS} FROM documents WHERE collection = ? AND text = ?",
                    [collection, text],
                )
                found.extend(self._document(r) for r in rows)
        return found

    def existing_passages(self, doc_ids: Iterable[str]) -> dict[tuple[str, str], np.ndarray]:
        """Vectors already stored for these documents, keyed by (doc_id, passage text)."""
        found: dict[tuple[str, str], np.ndarray] = {}
        with self._lock:
            for doc_id in doc_ids:
                rows = self.db.execute(
                    "SELECT p.text, v.vector FROM passages p JOIN vectors v USING (passage_id) "
                    "WHERE p.doc_id = ?",
                    [doc_id],
                )
                for text, blob in rows:
                    found[(doc_id, text)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def document_hashes(self, path: str) -> dict[str, str]:
        with self._lock:
            rows = self.db.execute(
                "SELECT doc_id, content_hash FROM documents WHERE path = ?", [path]
            )
            return {r[0]: r[1] for r in rows}

    def replace_file(
        self,
        path: str,
        sha256: str,
        size: int,
        documents: Sequence[tuple[Document, str]],
        passages: Sequence[NewPassage],
        collection: str = SHARED,
    ) -> None:
        """Make ``path`` hold exactly ``documents`` in one transaction.

        Documents whose content hash is unchanged keep their passages (and passage ids);
        ``passages`` holds those of new or changed documents only.
        """
        with self.writing():
            old = self.document_hashes(path)
            keep = {doc.doc_id for doc, h in documents if old.get(doc.doc_id) == h}
            for doc_id in old.keys() - keep:
                self._delete_document(doc_id)
            self._insert_documents(
                path, [(d, h) for d, h in documents if d.doc_id not in keep], passages
            )
            self.db.execute(
                "INSERT INTO files(path, sha256, size, indexed_at, collection) VALUES (?,?,?,?,?) "
                "ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, "
                "size = excluded.size, indexed_at = excluded.indexed_at, "
                "collection = excluded.collection",
                [path, sha256, size, utc_now(), collection],
            )

    def write_documents(
        self, path: str, documents: Sequence[tuple[Document, str]], passages: Sequence[NewPassage]
    ) -> None:
        """Store some documents of a large file ahead of the rest, in one transaction.

        The file's own record is left alone, so the file still counts as changed until
        ``replace_file`` finishes it; an interrupted run resumes without re-encoding these.
        """
        with self.writing():
            self._insert_documents(path, documents, passages)

    def _insert_documents(
        self, path: str, documents: Sequence[tuple[Document, str]], passages: Sequence[NewPassage]
    ) -> None:
        now = utc_now()
        for doc, content_hash in documents:
            self._delete_document(doc.doc_id)  # replaced, or the same id came from elsewhere
            self.db.execute(INSERT_DOCUMENT, document_row(doc, path, content_hash, now))
        self._insert_passages(passages, {doc.doc_id: doc.title for doc, _ in documents})

    def _insert_passages(self, passages: Sequence[NewPassage], titles: dict[str, str]) -> None:
        for p in passages:
            cursor = self.db.execute(
                'INSERT INTO passages(doc_id, ord, start, "end", text) VALUES (?,?,?,?,?)',
                [p.doc_id, p.ord, p.start, p.end, p.text],
            )
            pid = cursor.lastrowid
            self.db.execute(
                "INSERT INTO vectors(passage_id, vector) VALUES (?, ?)",
                [pid, np.ascontiguousarray(p.vector, dtype=np.float32).tobytes()],
            )
            self.db.execute(
                "INSERT INTO passages_fts(rowid, title, text) VALUES (?, ?, ?)",
                [pid, titles.get(p.doc_id, ""), p.text],
            )

    def _delete_document(self, doc_id: str) -> None:
        ids = [
            r[0]
            for r in self.db.execute("SELECT passage_id FROM passages WHERE doc_id = ?", [doc_id])
        ]
        for batch, marks in id_batches(ids):
            self.db.execute(f"DELETE FROM passages_fts WHERE rowid IN ({marks})", batch)
            self.db.execute(f"DELETE FROM vectors WHERE passage_id IN ({marks})", batch)
        self.db.execute("DELETE FROM passages WHERE doc_id = ?", [doc_id])
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])

    def delete_file(self, path: str) -> int:
        """Forget a file and its documents; returns how many documents went."""
        with self.writing():
            doc_ids = list(self.document_hashes(path))
            for doc_id in doc_ids:
                self._delete_document(doc_id)
            self.db.execute("DELETE FROM files WHERE path = ?", [path])
        return len(doc_ids)

    # -- reads -----------------------------------------------------------------------------

    @staticmethod
    def _document(row: sqlite3.Row | tuple) -> Document:
        doc_id, source_id, path, title, authors, published, url, site, text, page_starts = row[:10]
        return Document(
            doc_id=doc_id,
            source_id=source_id,
            text=text,
            title=title,
            authors=tuple(json.loads(authors)),
            published=published,
            url=url,
            site=site,
            path=path,
            page_starts=tuple(json.loads(page_starts)),
            collection=row[10],
        )

    _DOC_COLUMNS = (
        "doc_id, source_id, path, title, authors, published, url, site, text, page_starts, "
        "collection"
    )

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            row = self.db.execute(
                f"SELECT {self._DOC_COLUMNS} FROM documents WHERE doc_id = ?", [doc_id]
            ).fetchone()
            return None if row is None else self._document(row)

    def documents(self) -> list[Document]:
        with self._lock:
            rows = self.db.execute(f"SELECT {self._DOC_COLUMNS} FROM documents ORDER BY doc_id")
            return [self._document(r) for r in rows]

    def passage_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self.db.execute("SELECT doc_id, count(*) FROM passages GROUP BY doc_id")
            return {r[0]: int(r[1]) for r in rows}

    def counts(self) -> tuple[int, int]:
        """(documents, passages)."""
        with self._lock:
            docs = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
            passages = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
            return int(docs), int(passages)

    @staticmethod
    def _passage(row: tuple) -> Passage:
        return Passage(passage_id=row[0], doc_id=row[1], start=row[2], end=row[3], text=row[4])

    def passage(self, passage_id: int) -> Passage | None:
        with self._lock:
            row = self.db.execute(
                'SELECT passage_id, doc_id, start, "end", text FROM passages WHERE passage_id = ?',
                [passage_id],
            ).fetchone()
            return None if row is None else self._passage(row)

    def passages(self, passage_ids: Sequence[int]) -> dict[int, Passage]:
        found: dict[int, Passage] = {}
        with self._lock:
            for batch, marks in id_batches(passage_ids):
                rows = self.db.execute(
                    f'SELECT passage_id, doc_id, start, "end", text FROM passages '
                    f"WHERE passage_id IN ({marks})",
                    batch,
                )
                for row in rows:
                    found[row[0]] = self._passage(row)
        return found

    def passages_of(self, doc_id: str) -> list[Passage]:
        with self._lock:
            rows = self.db.execute(
                'SELECT passage_id, doc_id, start, "end", text FROM passages WHERE doc_id = ? '
                "ORDER BY ord",
                [doc_id],
            )
            return [self._passage(r) for r in rows]

    def vector(self, passage_id: int) -> np.ndarray | None:
        with self._lock:
            row = self.db.execute(
                "SELECT vector FROM vectors WHERE passage_id = ?", [passage_id]
            ).fetchone()
            return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()

    def lexical(
        self, match: str, limit: int, weights: tuple[float, float] = (1.0, 1.0)
    ) -> list[tuple[int, float]]:
        """FTS5 bm25 over (title, text): (passage_id, score) best first, score higher = better."""
        rows = self._bm25(
            "SELECT rowid, -bm25(passages_fts, ?, ?) FROM passages_fts "
            "WHERE passages_fts MATCH ? ORDER BY bm25(passages_fts, ?, ?) LIMIT ?",
            match,
            limit,
            weights,
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def document_lexical(
        self, match: str, limit: int, weights: tuple[float, float] = (3.0, 1.0)
    ) -> list[tuple[str, float]]:
        """FTS5 bm25 over whole documents: (doc_id, score) best first, higher = better."""
        rows = self._bm25(
            "SELECT d.doc_id, -bm25(documents_fts, ?, ?) FROM documents_fts "
            "JOIN documents d ON d.rowid = documents_fts.rowid "
            "WHERE documents_fts MATCH ? ORDER BY bm25(documents_fts, ?, ?) LIMIT ?",
            match,
            limit,
            weights,
        )
        return [(str(r[0]), float(r[1])) for r in rows]

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many documents hold each term (as the FTS5 tokenizer reads it)."""
        found: dict[str, int] = {}
        with self._lock:
            for term in terms:
                expression = '"' + term.replace('"', '""') + '"'
                try:
                    row = self.db.execute(
                        "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ?",
                        [expression],
                    ).fetchone()
                except sqlite3.OperationalError:
                    continue
                found[term] = int(row[0])
        return found

    def _bm25(self, sql: str, match: str, limit: int, weights: tuple[float, float]) -> list[tuple]:
        with self._lock:
            try:
                return list(self.db.execute(sql, [*weights, match, *weights, limit]))
            except sqlite3.OperationalError as exc:  # a query FTS5 cannot parse finds nothing
                log.debug("fts query %r failed: %s", match, exc)
                return []

    # -- collections: what was added and removed, and who may ------------------------------

    def delete_documents(self, doc_ids: Sequence[str]) -> list[str]:
        """Delete documents in one transaction; returns the files left with none (forgotten)."""
        emptied: list[str] = []
        with self.writing():
            paths: set[str] = set()
            for doc_id in doc_ids:
                row = self.db.execute(
                    "SELECT path FROM documents WHERE doc_id = ?", [doc_id]
                ).fetchone()
                if row is not None and row[0] is not None:
                    paths.add(row[0])
            for doc_id in doc_ids:
                self._delete_document(doc_id)
            for path in sorted(paths):
                if not self.document_hashes(path):
                    self.db.execute("DELETE FROM files WHERE path = ?", [path])
                    emptied.append(path)
        return emptied

    def record_event(
        self,
        collection: str,
        action: str,
        user_id: int | None,
        title: str,
        doc_ids: Sequence[str] = (),
        detail: str = "",
    ) -> None:
        """Note one add or remove (its own transaction; the generation does not move)."""
        with self._lock, self._transaction():
            self.db.execute(
                "INSERT INTO collection_events(collection, action, user_id, at, title, doc_ids, "
                "detail) VALUES (?,?,?,?,?,?,?)",
                [collection, action, user_id, utc_now(), title, json.dumps(list(doc_ids)), detail],
            )

    def events(self, collection: str, limit: int = 100) -> list[CollectionEvent]:
        """The latest adds and removes in ``collection``, newest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT event_id, collection, action, user_id, at, title, doc_ids, detail "
                "FROM collection_events WHERE collection = ? ORDER BY event_id DESC LIMIT ?",
                [collection, limit],
            ).fetchall()
        return [
            CollectionEvent(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7])
            for r in rows
        ]

    def editor_role(self, collection: str) -> int | None:
        """The role allowed to add to and remove from ``collection`` (besides Manage Server)."""
        with self._lock:
            row = self.db.execute(
                "SELECT role_id FROM collection_roles WHERE collection = ?", [collection]
            ).fetchone()
            return None if row is None else int(row[0])

    def set_editor_role(self, collection: str, role_id: int | None) -> None:
        with self._lock, self._transaction():
            if role_id is None:
                self.db.execute("DELETE FROM collection_roles WHERE collection = ?", [collection])
            else:
                self.db.execute(
                    "INSERT INTO collection_roles(collection, role_id) VALUES (?, ?) "
                    "ON CONFLICT(collection) DO UPDATE SET role_id = excluded.role_id",
                    [collection, role_id],
                )

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # -- what derived indexes read (vector sidecar, tantivy) ------------------------------

    def fts_pending(self) -> bool:
        """True while a bulk load (``benchmarks/bulk.py``) has left the FTS5 table incomplete."""
        with self._lock:
            return self.meta("fts_pending") == "1"

    def defer_fts(self) -> None:
        """Mark the FTS5 table incomplete until :meth:`ensure_fts` fills it (bulk loads)."""
        with self._lock, self._transaction():
            self._set_meta("fts_pending", "1")

    def ensure_fts(self) -> None:
        """Fill the FTS5 table after a bulk load that deferred it (no-op otherwise)."""
        with self._lock:
            if not self.fts_pending():
                return
            with self._transaction():
                self.db.execute("DELETE FROM passages_fts")
                self.db.execute(
                    "INSERT INTO passages_fts(rowid, title, text) SELECT p.passage_id, d.title, "
                    "p.text FROM passages p JOIN documents d USING (doc_id) ORDER BY p.passage_id"
                )
                self.db.execute("DELETE FROM index_meta WHERE key = 'fts_pending'")

    def passage_count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def document_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self.db.execute("SELECT doc_id FROM documents ORDER BY doc_id")]

    def document_labels(self) -> list[tuple[str, str, str, str | None, str | None, str]]:
        """Each document's id, source id, title, site, date and authors (JSON); no texts."""
        with self._lock:
            return self.db.execute(
                "SELECT doc_id, source_id, title, site, published, authors FROM documents"
            ).fetchall()

    def document_collections(self) -> dict[str, str]:
        """Each document's collection."""
        with self._lock:
            return dict(self.db.execute("SELECT doc_id, collection FROM documents").fetchall())

    def document_indexed_at(self) -> dict[str, str]:
        """When each document was (last) indexed, as an ISO time in UTC."""
        with self._lock:
            return dict(self.db.execute("SELECT doc_id, indexed_at FROM documents").fetchall())

    def passage_ids(self) -> np.ndarray:
        """Every passage id, ascending (int64)."""
        with self._lock:
            rows = self.db.execute("SELECT passage_id FROM passages ORDER BY passage_id")
            return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def lexical_rows(
        self, passage_ids: Sequence[int] | None = None
    ) -> Iterator[tuple[int, str, str]]:
        """(passage_id, document title, passage text) of ``passage_ids`` (all when None)."""
        query = (
            "SELECT p.passage_id, d.title, p.text FROM passages p JOIN documents d USING (doc_id)"
        )
        with self._lock:
            if passage_ids is None:
                yield from self.db.execute(query + " ORDER BY p.passage_id")
                return
            for batch, marks in id_batches(passage_ids):
                yield from self.db.execute(query + f" WHERE p.passage_id IN ({marks})", batch)

    def instance_id(self) -> str:
        """A random id given to this database once: derived data from another file with the
        same path and generation (an index deleted and rebuilt) is never mistaken for ours."""
        with self._lock:
            value = self.meta("instance_id")
            if value is None:
                with self._transaction():
                    self.db.execute(
                        "INSERT INTO index_meta(key, value) VALUES ('instance_id', ?) "
                        "ON CONFLICT(key) DO NOTHING",
                        [uuid.uuid4().hex],
                    )
                value = self.meta("instance_id")
            return str(value)

    def passage_documents(self, after: int | None = None) -> list[tuple[int, str]]:
        """(passage_id, doc_id) of every passage (with ids above ``after``), by passage id."""
        with self._lock:
            return self.db.execute(
                "SELECT passage_id, doc_id FROM passages WHERE passage_id > ? ORDER BY passage_id",
                [-1 if after is None else after],
            ).fetchall()

    def all_vectors(self) -> Iterator[bytes]:
        """Every passage's vector (float32 bytes), by passage id."""
        with self._lock:
            for (blob,) in self.db.execute(
                "SELECT v.vector FROM passages p JOIN vectors v USING (passage_id) "
                "ORDER BY p.passage_id"
            ):
                yield blob

    def vectors_of(self, passage_ids: Sequence[int] | np.ndarray) -> Iterator[tuple[int, bytes]]:
        """(passage_id, vector as float32 bytes) of these passages, a batch at a time."""
        with self._lock:
            for batch, marks in id_batches(passage_ids):
                yield from self.db.execute(
                    f"SELECT passage_id, vector FROM vectors WHERE passage_id IN ({marks})", batch
                )


def is_postgres_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL database (``postgresql://…``) rather than a file."""
    return str(location).startswith(("postgresql://", "postgres://"))


def open_store(location: str | Path, *, create: bool = True) -> Store:
    """The index at ``location``: a SQLite file, or a PostgreSQL database given by its URL."""
    if is_postgres_url(location):
        from index.postgres import PgStore

        return PgStore(str(location), create=create)
    return Store(location, create=create)
