"""The store in PostgreSQL: the same queries as ``index/store.py``, with pgvector and tsvector.

Selected by a ``postgresql://`` location (``index.store.open_store``; ``BRIEFBOT_DATABASE_URL``).
Most of the store's SQL is plain SQL both engines run: it is written once, in ``Store``, with
``?`` placeholders that :class:`PgConnection` turns into psycopg's. What differs lives here:

- the schema (identity columns, ``COLLATE "C"`` so ids sort as in SQLite, BIGINT Discord ids);
- full-text search: a weighted ``tsvector`` (title A, text B) on passages and on documents with
  GIN indexes, ranked by ``ts_rank_cd`` (the store's FTS5-style ``"a" OR "b"`` expressions are
  read as the same terms);
- vectors: a pgvector column; an HNSW index over their float16 copy is built once the
  model's dimension is known (``index.pg_vectors`` searches it);
- transactions: every write takes one advisory lock, so writers queue as SQLite's
  ``BEGIN IMMEDIATE`` makes them; a read snapshot is a REPEATABLE READ transaction.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from index.errors import IndexMissing, InputError
from index.models import SHARED
from index.sqlite import migrate
from index.store import NewPassage, Store, id_batches

log = logging.getLogger(__name__)

# The advisory-lock key every index write takes (one writer at a time, as in SQLite).
WRITE_LOCK = 0x62726965_66626F74 & 0x7FFFFFFFFFFFFFFF  # "briefbot"

_TSCONFIG = "english"


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """SQLite-style ``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` as ``%%``),
    leaving quoted strings and identifiers alone."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class PgConnection:
    """One psycopg connection (autocommit; transactions are explicit) speaking the store's SQL."""

    def __init__(self, url: str) -> None:
        import psycopg

        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise IndexMissing(f"cannot reach the database {masked(url)}: {exc}") from exc
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        from pgvector.psycopg import register_vector

        register_vector(self.conn)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run one statement; the cursor iterates its rows as tuples."""
        if not params:  # psycopg reads no placeholders then: the SQL goes as it is
            return self.conn.execute(sql)
        return self.conn.execute(_placeholders(sql), list(params))

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """A write transaction holding the index's write lock (nested: a savepoint)."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            yield self

    def close(self) -> None:
        self.conn.close()


def _migration_1(db: PgConnection) -> None:
    """The schema of SQLite's version 4 (collections), in PostgreSQL."""
    db.execute(
        f"""
        CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE files (
            path TEXT COLLATE "C" PRIMARY KEY, sha256 TEXT NOT NULL, size BIGINT NOT NULL,
            indexed_at TEXT NOT NULL, collection TEXT NOT NULL DEFAULT '{SHARED}'
        );
        CREATE INDEX files_collection ON files(collection, sha256);
        CREATE TABLE documents (
            doc_id TEXT COLLATE "C" PRIMARY KEY, source_id TEXT NOT NULL, path TEXT COLLATE "C",
            title TEXT NOT NULL DEFAULT '', authors TEXT NOT NULL DEFAULT '[]',
            published TEXT, url TEXT, site TEXT, text TEXT NOT NULL,
            content_hash TEXT NOT NULL, indexed_at TEXT NOT NULL,
            page_starts TEXT NOT NULL DEFAULT '[]',
            collection TEXT NOT NULL DEFAULT '{SHARED}',
            search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('{_TSCONFIG}', title), 'A')
                || setweight(to_tsvector('{_TSCONFIG}', text), 'B')
            ) STORED
        );
        CREATE INDEX documents_path ON documents(path);
        CREATE INDEX documents_published ON documents(published);
        CREATE INDEX documents_collection ON documents(collection);
        CREATE INDEX documents_search ON documents USING gin(search);
        CREATE TABLE passages (
            passage_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            doc_id TEXT COLLATE "C" NOT NULL REFERENCES documents(doc_id),
            ord INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
            text TEXT NOT NULL, search tsvector NOT NULL
        );
        CREATE INDEX passages_doc ON passages(doc_id, ord);
        CREATE INDEX passages_search ON passages USING gin(search);
        CREATE TABLE vectors (passage_id BIGINT PRIMARY KEY, embedding vector NOT NULL);
        CREATE TABLE collection_events (
            event_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, collection TEXT NOT NULL,
            action TEXT NOT NULL, user_id BIGINT, at TEXT NOT NULL,
            title TEXT NOT NULL, doc_ids TEXT NOT NULL DEFAULT '[]', detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX collection_events_at ON collection_events(collection, event_id);
        CREATE TABLE collection_roles (collection TEXT PRIMARY KEY, role_id BIGINT NOT NULL);
        """
    )


# Ordered like SQLite's: index i brings the schema to version i + 1. A change to the schema is
# one more function in both lists.
MIGRATIONS = (_migration_1,)

_TERMS = re.compile(r'"((?:[^"]|"")*)"')


def tsquery_text(match: str) -> str:
    """The store's FTS5-style expression (``"a" OR "b"``) as ``websearch_to_tsquery`` input
    (each quoted term ORed; nothing in it can be an operator)."""
    terms = [t.replace('""', '"') for t in _TERMS.findall(match)] or match.split()
    cleaned = [re.sub(r"[^\w]+", " ", t).strip() for t in terms]
    return " or ".join(f'"{t}"' for t in cleaned if t)


def _ts_weights(weights: tuple[float, float]) -> list[float]:
    """(title, text) weights as ts_rank's {D, C, B, A} array, scaled into (0, 1]."""
    title, text = weights
    top = max(title, text, 1e-9)
    return [0.0, 0.0, text / top, title / top]


def _array(value: Any) -> np.ndarray:
    """A pgvector value as float32 (text results come as arrays, binary ones as ``Vector``)."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


class PgStore(Store):
    """A briefbot index in a PostgreSQL database (many processes, many machines)."""

    backend = "postgres"
    _CLEARED_TABLES = ("vectors", "passages", "documents", "files")

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.path = url
        self.label = masked(url)
        self.db = PgConnection(url)  # type: ignore[assignment]
        self._lock = threading.RLock()
        with self._lock:
            if not create and not self._has_meta_table():
                self.db.close()
                raise IndexMissing(
                    f"no index in {self.label}: build one with `briefbot index PATH...` first"
                )
            migrate(
                self._pg,
                MIGRATIONS,
                read_version=lambda _: self._schema_version(),
                write_version=lambda _, version: self._set_meta("schema_version", str(version)),
                name=self.label,
                remedy="upgrade briefbot",
                begin=lambda db: db.transaction(),
            )

    @property
    def _pg(self) -> PgConnection:
        return self.db  # type: ignore[return-value]

    def _transaction(self) -> AbstractContextManager[object]:
        return self._pg.transaction()

    def _has_meta_table(self) -> bool:
        row = self.db.execute("SELECT to_regclass('index_meta') IS NOT NULL").fetchone()
        return bool(row[0])

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        with self._lock, self._pg.conn.transaction():
            self.db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield

    def check_model(self, name: str, dim: int, *, claim: bool = False) -> None:
        super().check_model(name, dim, claim=claim)
        if claim:
            self.ensure_vector_index(dim)

    def clear(self) -> None:
        super().clear()
        with self._lock, self._transaction():  # the next model may have another dimension
            self.db.execute("DROP INDEX IF EXISTS vectors_hnsw")

    def ensure_vector_index(self, dim: int) -> None:
        """The HNSW index over the vectors' float16 copy (built once; kept up by inserts)."""
        with self._lock, self._transaction():
            self.db.execute(
                f"CREATE INDEX IF NOT EXISTS vectors_hnsw ON vectors USING hnsw "
                f"((embedding::halfvec({int(dim)})) halfvec_ip_ops)"
            )

    # -- writes ----------------------------------------------------------------------------

    def _insert_documents(
        self, path: str, documents: Sequence[tuple[Any, str]], passages: Sequence[NewPassage]
    ) -> None:
        for doc, _ in documents:
            if "\x00" in doc.text or "\x00" in doc.title:
                raise InputError(f"{doc.doc_id}: the text holds NUL characters (binary data?)")
        super()._insert_documents(path, documents, passages)

    def _insert_passages(self, passages: Sequence[NewPassage], titles: dict[str, str]) -> None:
        if not passages:
            return
        cursor = self._pg.conn.cursor()
        rows = [
            (p.doc_id, p.ord, p.start, p.end, p.text, titles.get(p.doc_id, ""), p.text)
            for p in passages
        ]
        cursor.executemany(
            'INSERT INTO passages(doc_id, ord, start, "end", text, search) VALUES '
            f"(%s, %s, %s, %s, %s, setweight(to_tsvector('{_TSCONFIG}', %s), 'A') || "
            f"setweight(to_tsvector('{_TSCONFIG}', %s), 'B')) RETURNING passage_id",
            rows,
            returning=True,
        )
        ids: list[int] = []
        while True:
            row = cursor.fetchone()
            assert row is not None  # RETURNING gives one row per insert
            ids.append(int(row[0]))
            if not cursor.nextset():
                break
        cursor.executemany(
            "INSERT INTO vectors(passage_id, embedding) VALUES (%s, %s)",
            [
                (pid, np.ascontiguousarray(p.vector, dtype=np.float32))
                for pid, p in zip(ids, passages, strict=True)
            ],
        )

    def _delete_document(self, doc_id: str) -> None:
        self.db.execute(
            "DELETE FROM vectors WHERE passage_id IN "
            "(SELECT passage_id FROM passages WHERE doc_id = ?)",
            [doc_id],
        )
        self.db.execute("DELETE FROM passages WHERE doc_id = ?", [doc_id])
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])

    # -- vectors ---------------------------------------------------------------------------

    def vector(self, passage_id: int) -> np.ndarray | None:
        with self._lock:
            row = self.db.execute(
                "SELECT embedding FROM vectors WHERE passage_id = ?", [passage_id]
            ).fetchone()
            return None if row is None else _array(row[0])

    def existing_passages(self, doc_ids: Any) -> dict[tuple[str, str], np.ndarray]:
        found: dict[tuple[str, str], np.ndarray] = {}
        with self._lock:
            for doc_id in doc_ids:
                rows = self.db.execute(
                    "SELECT p.text, v.embedding FROM passages p JOIN vectors v "
                    "USING (passage_id) WHERE p.doc_id = ?",
                    [doc_id],
                )
                for text, vector in rows:
                    found[(doc_id, text)] = _array(vector)
        return found

    def all_vectors(self) -> Iterator[bytes]:
        # A server-side cursor: a million vectors are streamed, not fetched at once.
        with self._lock, self._pg.conn.transaction():
            cursor = self._pg.conn.cursor(name="all_vectors")
            cursor.itersize = 20_000
            cursor.execute(
                "SELECT v.embedding FROM passages p JOIN vectors v USING (passage_id) "
                "ORDER BY p.passage_id"
            )
            for (vector,) in cursor:
                yield _array(vector).tobytes()
            cursor.close()

    def vectors_of(self, passage_ids: Sequence[int] | np.ndarray) -> Iterator[tuple[int, bytes]]:
        with self._lock:
            for batch, _ in id_batches(passage_ids):
                rows = self.db.execute(
                    "SELECT passage_id, embedding FROM vectors WHERE passage_id = ANY(?)",
                    [batch],
                ).fetchall()
                for pid, vector in rows:
                    yield int(pid), _array(vector).tobytes()

    # -- full-text search ------------------------------------------------------------------

    def lexical(
        self, match: str, limit: int, weights: tuple[float, float] = (1.0, 1.0)
    ) -> list[tuple[int, float]]:
        """Weighted tsvector search over passages: (passage_id, ts_rank_cd) best first."""
        rows = self._rank(
            "SELECT passage_id, ts_rank_cd(?::float4[], search, q, 1) AS score "
            f"FROM passages, websearch_to_tsquery('{_TSCONFIG}', ?) q "
            "WHERE search @@ q ORDER BY score DESC, passage_id LIMIT ?",
            match,
            limit,
            weights,
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def document_lexical(
        self, match: str, limit: int, weights: tuple[float, float] = (3.0, 1.0)
    ) -> list[tuple[str, float]]:
        """Weighted tsvector search over whole documents: (doc_id, score) best first."""
        rows = self._rank(
            "SELECT doc_id, ts_rank_cd(?::float4[], search, q, 1) AS score "
            f"FROM documents, websearch_to_tsquery('{_TSCONFIG}', ?) q "
            "WHERE search @@ q ORDER BY score DESC, doc_id LIMIT ?",
            match,
            limit,
            weights,
        )
        return [(str(r[0]), float(r[1])) for r in rows]

    def _rank(self, sql: str, match: str, limit: int, weights: tuple[float, float]) -> list[Any]:
        text = tsquery_text(match)
        if not text:
            return []
        with self._lock:
            return list(self.db.execute(sql, [_ts_weights(weights), text, limit]))

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many documents hold each term (as the text-search configuration reads it)."""
        found: dict[str, int] = {}
        with self._lock:
            for term in terms:
                text = tsquery_text(f'"{term}"')
                if not text:
                    continue
                row = self.db.execute(
                    "SELECT count(*) FROM documents "
                    f"WHERE search @@ websearch_to_tsquery('{_TSCONFIG}', ?)",
                    [text],
                ).fetchone()
                found[term] = int(row[0])
        return found

    # The tsvectors are written with their rows: there is nothing to defer or fill.
    def fts_pending(self) -> bool:
        return False

    def defer_fts(self) -> None:
        return None

    def ensure_fts(self) -> None:
        return None
