"""The store in PostgreSQL: the same queries as ``index/store.py``, with pgvector and tsvector.

Selected by a ``postgresql://`` location (``index.store.open_store``; ``BRIEFBOT_DATABASE_URL``).
Most of the store's SQL is plain SQL both engines run: it is written once, in ``Store``, with
``?`` placeholders that :class:`PgConnection` turns into psycopg's. What differs lives here:

- the schema (identity columns, ``COLLATE "C"`` so ids sort as in SQLite, BIGINT Discord ids);
- full-text search: a weighted ``tsvector`` (title A, text B) on passages and on documents with
  GIN indexes, ranked by bm25 computed from the tsvectors (the store's FTS5-style
  ``"a" OR "b"`` expressions are read as the same terms);
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
from index.store import NewPassage, Store

log = logging.getLogger(__name__)

# The advisory-lock key every index write takes (one writer at a time, as in SQLite).
WRITE_LOCK = 0x62726965_66626F74 & 0x7FFFFFFFFFFFFFFF  # "briefbot"

_TSCONFIG = "english"
# Graph nodes a filtered walk may visit before it gives up (then an exact scan answers).
ITERATIVE_SCAN_TUPLES = 50_000
FILE_LOCK_CLASS = 0x62726966  # the first key of a file's advisory lock ("brif")


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


def connect(url: str, *, application_name: str = "briefbot", **options: Any) -> Any:
    """An autocommit psycopg connection (transactions are explicit); over TCP a dead peer is
    noticed within seconds (keepalives), not after the kernel's two hours. ``options`` go to
    ``psycopg.connect`` (a row factory, other keepalive times)."""
    import psycopg

    settings: dict[str, Any] = {
        "autocommit": True,
        "connect_timeout": 10,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "application_name": application_name,
        **options,
    }
    return psycopg.connect(url, **settings)


@lru_cache(maxsize=512)
def pyformat(sql: str) -> str:
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
            self.conn = connect(url)
        except psycopg.OperationalError as exc:
            raise IndexMissing(f"cannot reach the database {masked(url)}: {exc}") from exc
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        from pgvector.psycopg import register_vector

        register_vector(self.conn)

    def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, binary: bool = False
    ) -> Any:
        """Run one statement; the cursor iterates its rows as tuples. ``binary``: results in
        binary form (vectors come as 4 bytes a value, not as text to parse)."""
        if not params:  # psycopg reads no placeholders then: the SQL goes as it is
            return self.conn.execute(sql, binary=binary)
        return self.conn.execute(pyformat(sql), list(params), binary=binary)

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
        CREATE TABLE vectors (
            passage_id BIGINT PRIMARY KEY, doc_id TEXT COLLATE "C" NOT NULL,
            collection TEXT NOT NULL, embedding vector NOT NULL
        );
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
_K1, _B = 1.2, 0.75  # bm25's usual constants (FTS5 and tantivy use the same)


def _quoted_lexeme(lexeme: str) -> str:
    """A lexeme as a tsquery operand, taken as it is (no stemming, no operators)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery_text(match: str) -> str:
    """The store's FTS5-style expression (``"a" OR "b"``) as ``websearch_to_tsquery`` input
    (each quoted term ORed; nothing in it can be an operator)."""
    terms = [t.replace('""', '"') for t in _TERMS.findall(match)] or match.split()
    cleaned = [re.sub(r"[^\w]+", " ", t).strip() for t in terms]
    return " or ".join(f'"{t}"' for t in cleaned if t)


def _array(value: Any) -> np.ndarray:
    """A pgvector value as float32 (text results come as arrays, binary ones as ``Vector``)."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


class PgStore(Store):
    """A briefbot index in a PostgreSQL database (many processes, many machines)."""

    backend = "postgres"
    shared_writers = True  # indexers on several machines split a corpus by claiming files
    _CLEARED_TABLES = ("vectors", "passages", "documents", "files")

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.path = url
        self.label = masked(url)
        self.db = PgConnection(url)  # type: ignore[assignment]
        self._lock = threading.RLock()
        # bm25's corpus statistics (row counts, lengths, lexeme frequencies) for one generation.
        self._stats: dict[tuple[Any, ...], Any] = {}
        self._stats_generation = -1
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
        # The catalog read through a fresh snapshot, not to_regclass: its cache may not yet
        # know of a table another process just created (an advisory lock brings no news).
        row = self._pg.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'index_meta'"
        ).fetchone()
        return bool(row[0])

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        with self._lock, self._pg.conn.transaction():
            self._pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield

    def check_model(self, name: str, dim: int, *, claim: bool = False) -> None:
        super().check_model(name, dim, claim=claim)
        if claim:
            self.ensure_vector_index(dim)

    def clear(self) -> None:
        super().clear()
        with self._lock, self._transaction():  # the next model may have another dimension
            self._pg.execute("DROP INDEX IF EXISTS vectors_hnsw")

    def ensure_vector_index(self, dim: int) -> None:
        """The HNSW index over the vectors' float16 copy (built once; kept up by inserts)."""
        with self._lock, self._transaction():
            self._pg.execute(
                f"CREATE INDEX IF NOT EXISTS vectors_hnsw ON vectors USING hnsw "
                f"((embedding::halfvec({int(dim)})) halfvec_ip_ops)"
            )

    def claim_file(self, path: str, *, wait: bool = False) -> bool:
        """A session advisory lock on the file's path (released by release_file, or when this
        connection closes: a dead worker's files are free again)."""
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        with self._lock:
            row = self._pg.execute(
                f"SELECT {function}(?::int4, hashtext(?))::text", [FILE_LOCK_CLASS, path]
            ).fetchone()
        return wait or row[0] == "true"

    def release_file(self, path: str) -> None:
        with self._lock:
            self._pg.execute(
                "SELECT pg_advisory_unlock(?::int4, hashtext(?))", [FILE_LOCK_CLASS, path]
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
            "INSERT INTO vectors(passage_id, doc_id, collection, embedding) VALUES "
            "(%s, %s, (SELECT collection FROM documents WHERE doc_id = %s), %s)",
            [
                (pid, p.doc_id, p.doc_id, np.ascontiguousarray(p.vector, dtype=np.float32))
                for pid, p in zip(ids, passages, strict=True)
            ],
        )

    def _delete_document(self, doc_id: str) -> None:
        self._pg.execute(
            "DELETE FROM vectors WHERE passage_id IN "
            "(SELECT passage_id FROM passages WHERE doc_id = ?)",
            [doc_id],
        )
        self._pg.execute("DELETE FROM passages WHERE doc_id = ?", [doc_id])
        self._pg.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])

    # -- vectors ---------------------------------------------------------------------------

    def vector(self, passage_id: int) -> np.ndarray | None:
        with self._lock:
            row = self._pg.execute(
                "SELECT embedding FROM vectors WHERE passage_id = ?", [passage_id], binary=True
            ).fetchone()
            return None if row is None else _array(row[0])

    def existing_passages(self, doc_ids: Any) -> dict[tuple[str, str], np.ndarray]:
        found: dict[tuple[str, str], np.ndarray] = {}
        with self._lock:
            for doc_id in doc_ids:
                rows = self._pg.execute(
                    "SELECT p.text, v.embedding FROM passages p JOIN vectors v "
                    "USING (passage_id) WHERE p.doc_id = ?",
                    [doc_id],
                    binary=True,
                )
                for text, vector in rows:
                    found[(doc_id, text)] = _array(vector)
        return found

    def lexical_rows(
        self, passage_ids: Sequence[int] | None = None
    ) -> Iterator[tuple[int, str, str]]:
        if passage_ids is not None:
            yield from super().lexical_rows(passage_ids)
            return
        # Every passage (a tantivy build): streamed through a server-side cursor.
        with self._lock, self._pg.conn.transaction():
            cursor = self._pg.conn.cursor(name="lexical_rows")
            cursor.itersize = 20_000
            cursor.execute(
                "SELECT p.passage_id, d.title, p.text FROM passages p JOIN documents d "
                "USING (doc_id) ORDER BY p.passage_id"
            )
            yield from cursor
            cursor.close()

    def vectors_matrix(self, passage_ids: np.ndarray) -> dict[int, np.ndarray]:
        """Vectors of ``passage_ids`` by id: a range read when they are most of a range (a
        block of a snapshot), else by id lists."""
        found: dict[int, np.ndarray] = {}
        if len(passage_ids) == 0:
            return found
        ids = np.asarray(passage_ids, dtype=np.int64)
        lo, hi = int(ids.min()), int(ids.max())
        with self._lock:
            if hi - lo + 1 <= 2 * len(ids):
                wanted = set(ids.tolist())
                rows = self._pg.execute(
                    "SELECT passage_id, embedding FROM vectors WHERE passage_id BETWEEN ? AND ?",
                    [lo, hi],
                    binary=True,
                )
                for pid, vector in rows:
                    if pid in wanted:
                        found[int(pid)] = _array(vector)
                return found
            for start in range(0, len(ids), 10_000):
                rows = self._pg.execute(
                    "SELECT passage_id, embedding FROM vectors WHERE passage_id = ANY(?)",
                    [ids[start : start + 10_000].tolist()],
                    binary=True,
                )
                for pid, vector in rows:
                    found[int(pid)] = _array(vector)
        return found

    def nearest(
        self,
        query: np.ndarray,
        limit: int,
        *,
        ef_search: int = 100,
        collections: Sequence[str] | None = None,
        documents: Sequence[str] | None = None,
        passages: Sequence[int] | np.ndarray | None = None,
        exact: bool = False,
    ) -> list[tuple[int, float]]:
        """(passage_id, inner product) of the ``limit`` passages nearest ``query``, best first.

        An HNSW walk (``ef_search`` candidates) over the float16 copies, re-scored exactly;
        with ``collections`` or ``documents``, only their passages: the walk goes on past the
        others (pgvector's iterative scan) until it has ``limit``; with ``passages``, only
        those. ``exact``: score the allowed passages one by one instead (few of them: faster
        than walking past all the others).
        """
        vector = np.ascontiguousarray(query, dtype=np.float32)
        dim = len(vector)
        where, params = "", list[Any]()
        if collections is not None:
            where, params = "WHERE collection = ANY(?) ", [list(collections)]
        elif documents is not None:
            where, params = "WHERE doc_id = ANY(?) ", [list(documents)]
        elif passages is not None:
            where, params = "WHERE passage_id = ANY(?) ", [[int(p) for p in passages]]
        with self._lock, self._pg.conn.transaction():
            if exact:
                rows = self._pg.execute(
                    f"SELECT passage_id, -(embedding <#> ?) AS s FROM vectors {where}"
                    "ORDER BY s DESC, passage_id LIMIT ?",
                    [vector, *params, limit],
                ).fetchall()
            else:
                self._pg.execute(f"SET LOCAL hnsw.ef_search = {max(1, min(int(ef_search), 1000))}")
                if where:
                    # The walk, never a scan of every allowed row (there is no other index on
                    # vectors: a filtered scan could only be sequential).
                    self._pg.execute("SET LOCAL enable_seqscan = off")
                    self._pg.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                    self._pg.execute(f"SET LOCAL hnsw.max_scan_tuples = {ITERATIVE_SCAN_TUPLES}")
                rows = self._pg.execute(
                    f"SELECT passage_id, -(embedding <#> ?) FROM vectors {where}"
                    f"ORDER BY embedding::halfvec({dim}) <#> ?::vector::halfvec({dim}) LIMIT ?",
                    [vector, *params, vector, limit],
                ).fetchall()
        found = [(int(pid), float(score)) for pid, score in rows]
        found.sort(key=lambda item: (-item[1], item[0]))
        return found

    # -- full-text search ------------------------------------------------------------------

    def lexical(
        self, match: str, limit: int, weights: tuple[float, float] = (1.0, 1.0)
    ) -> list[tuple[int, float]]:
        """bm25 over passages (title and text, weighted): (passage_id, score) best first."""
        return [
            (int(k), s)
            for k, s in self._tsvector_bm25("passages", "passage_id", match, limit, weights)
        ]

    def document_lexical(
        self, match: str, limit: int, weights: tuple[float, float] = (3.0, 1.0)
    ) -> list[tuple[str, float]]:
        """bm25 over whole documents: (doc_id, score) best first."""
        return [
            (str(k), s)
            for k, s in self._tsvector_bm25("documents", "doc_id", match, limit, weights)
        ]

    def _tsvector_bm25(
        self, table: str, key: str, match: str, limit: int, weights: tuple[float, float]
    ) -> list[tuple[Any, float]]:
        """bm25 (k1 1.2, b 0.75) computed from the rows' tsvectors.

        PostgreSQL ranks text with ts_rank / ts_rank_cd, which know nothing of how rare a term
        is in the corpus and favour long texts; FTS5 and tantivy rank by bm25, and so does this:
        a row's term frequency is its positions of the term (a title position counts
        ``weights[0]``, a text one ``weights[1]``), its length the tsvector's number of
        lexemes, and each lexeme's document frequency a GIN count (cached per generation).
        """
        text = tsquery_text(match)
        if not text:
            return []
        with self._lock:
            lexemes = self._lexemes(text)
            if not lexemes:
                return []
            rows_total, mean_length = self._length_stats(table)
            frequencies = self._lexeme_frequencies(table, lexemes)
            idf = [
                float(np.log(1.0 + (rows_total - df + 0.5) / (df + 0.5)))
                for df in (frequencies[lexeme] for lexeme in lexemes)
            ]
            query = " | ".join(_quoted_lexeme(lexeme) for lexeme in lexemes)
            rows = self._pg.execute(
                f"SELECT t.{key}, sum(w.idf * u.tf * {_K1 + 1} / (u.tf + {_K1} * "
                f"({1 - _B} + {_B} * length(t.search) / ?::float8))) AS score "
                f"FROM {table} t CROSS JOIN LATERAL ("
                "  SELECT v.lexeme, (SELECT sum(CASE x WHEN 'A' THEN ?::float8 ELSE ?::float8 END) "
                "  FROM unnest(v.weights) x) AS tf FROM unnest(t.search) v "
                "  WHERE v.lexeme = ANY(?::text[])) u "
                "JOIN unnest(?::text[], ?::float8[]) AS w(lexeme, idf) ON w.lexeme = u.lexeme "
                "WHERE t.search @@ ?::tsquery "
                f"GROUP BY t.{key} ORDER BY score DESC, t.{key} LIMIT ?",
                [
                    max(mean_length, 1.0),
                    *weights,
                    lexemes,
                    lexemes,
                    idf,
                    query,
                    limit,
                ],
            ).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def _lexemes(self, text: str) -> list[str]:
        """The distinct lexemes of a query, as the text-search configuration stems them."""
        row = self._pg.execute(
            f"SELECT ARRAY(SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('{_TSCONFIG}', ?)))"
            " ORDER BY 1)",
            [text.replace('"', " ").replace(" or ", " ")],
        ).fetchone()
        return list(row[0]) if row else []

    def _cached(self, key: tuple[Any, ...], compute: Any) -> Any:
        generation = self.generation()
        if self._stats_generation != generation:
            self._stats = {}
            self._stats_generation = generation
        if key not in self._stats:
            self._stats[key] = compute()
        return self._stats[key]

    def _length_stats(self, table: str) -> tuple[int, float]:
        """(rows, mean tsvector length) of ``table``, cached per generation."""

        def compute() -> tuple[int, float]:
            row = self._pg.execute(f"SELECT count(*), avg(length(search)) FROM {table}").fetchone()
            return int(row[0]), float(row[1] or 0.0)

        return self._cached(("lengths", table), compute)  # type: ignore[no-any-return]

    def _lexeme_frequencies(self, table: str, lexemes: list[str]) -> dict[str, int]:
        """How many rows of ``table`` hold each lexeme (GIN counts, cached per generation)."""
        found: dict[str, int] = {}
        for lexeme in lexemes:

            def compute(lexeme: str = lexeme) -> int:
                row = self._pg.execute(
                    f"SELECT count(*) FROM {table} WHERE search @@ ?::tsquery",
                    [_quoted_lexeme(lexeme)],
                ).fetchone()
                return int(row[0])

            found[lexeme] = self._cached(("df", table, lexeme), compute)
        return found

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many documents hold each term (as the text-search configuration stems it)."""
        found: dict[str, int] = {}
        with self._lock:
            for term in terms:
                lexemes = self._lexemes(term)
                if lexemes:
                    found[term] = min(self._lexeme_frequencies("documents", lexemes).values())
        return found

    # The tsvectors are written with their rows: there is nothing to defer or fill.
    def fts_pending(self) -> bool:
        return False

    def defer_fts(self) -> None:
        return None

    def ensure_fts(self) -> None:
        return None
