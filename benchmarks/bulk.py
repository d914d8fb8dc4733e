"""Bulk loading of large synthetic or pre-encoded corpora into a store, for the benchmarks.

Not the indexer's path (that is ``Store.replace_file``, one file per transaction): rows go in
with ``executemany`` in batches, passage ids assigned up front and FTS5 filled in bulk. It
writes the store's tables directly, so it lives here, beside the benchmarks that use it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from index.models import Document
from index.sqlite import utc_now
from index.store import INSERT_DOCUMENT, NewPassage, Store, document_row


def bulk_load(
    store: Store,
    documents: Iterable[tuple[Document, str]],
    passages: Iterable[NewPassage],
    *,
    defer_fts: bool = False,
    batch_size: int = 20_000,
) -> int:
    """Append documents (with content hashes) and their passages in one transaction.

    With ``defer_fts`` the FTS5 table is left to ``Store.ensure_fts`` (a derived lexical index
    can serve meanwhile). Documents must be new; returns how many passages were written.
    """
    now = utc_now()
    written = 0
    titles: dict[str, str] = {}

    with store.writing() as db:

        def title_of(doc_id: str) -> str:
            title = titles.get(doc_id)
            if title is None:
                row = db.execute(
                    "SELECT title FROM documents WHERE doc_id = ?", [doc_id]
                ).fetchone()
                title = titles[doc_id] = "" if row is None else str(row[0])
            return title

        def remember(doc: Document) -> Document:
            titles[doc.doc_id] = doc.title
            return doc

        db.conn.executemany(
            INSERT_DOCUMENT,
            (
                document_row(doc, doc.path, content_hash, now)
                for doc, content_hash in ((remember(d), h) for d, h in documents)
            ),
        )
        row = db.execute(
            "SELECT max(m) FROM (SELECT max(passage_id) AS m FROM passages UNION ALL "
            "SELECT seq FROM sqlite_sequence WHERE name = 'passages')"
        ).fetchone()
        next_id = int(row[0] or 0) + 1
        batch: list[NewPassage] = []

        def flush() -> None:
            nonlocal next_id, written
            if not batch:
                return
            ids = range(next_id, next_id + len(batch))
            db.conn.executemany(
                'INSERT INTO passages(passage_id, doc_id, ord, start, "end", text) '
                "VALUES (?,?,?,?,?,?)",
                (
                    (pid, p.doc_id, p.ord, p.start, p.end, p.text)
                    for pid, p in zip(ids, batch, strict=True)
                ),
            )
            db.conn.executemany(
                "INSERT INTO vectors(passage_id, vector) VALUES (?, ?)",
                (
                    (pid, np.ascontiguousarray(p.vector, dtype=np.float32).tobytes())
                    for pid, p in zip(ids, batch, strict=True)
                ),
            )
            if not defer_fts:
                db.conn.executemany(
                    "INSERT INTO passages_fts(rowid, title, text) VALUES (?, ?, ?)",
                    ((pid, title_of(p.doc_id), p.text) for pid, p in zip(ids, batch, strict=True)),
                )
            next_id += len(batch)
            written += len(batch)
            batch.clear()

        for passage in passages:
            batch.append(passage)
            if len(batch) >= batch_size:
                flush()
        flush()
        if defer_fts and written:
            store.defer_fts()
    return written
