"""Test entry point: the indexer in its own process, killed at a chosen write.

``python -m tests.index_worker DB PATH...`` indexes PATHs into DB with the fake embedder, as
``briefbot index`` does; ``--add COLLECTION DATA_DIR DB FILE`` adds FILE to a server's
collection, as ``/corpus add`` does. ``BRIEFBOT_TEST_KILL_AT_INSERT=N`` SIGKILLs the process
just before the N-th row it would insert into ``passages`` runs: inside a write transaction,
after N - 1 rows of the run went in (SQLite's trace hook sees each statement as it starts, so the
kill always lands mid-write, never before the first or after the last).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from index.collections import add_reading
from index.embedding import FakeEmbedder
from index.pipeline import Indexer
from index.store import Store, open_store


def kill_at_insert(store: Store, n: int) -> None:
    seen = 0
    if store.backend == "postgres":  # no statement trace: count the rows handed to its insert
        insert = store._insert_passages

        def counted(passages, titles):
            nonlocal seen
            seen += len(passages)
            if seen >= n:
                os.kill(os.getpid(), signal.SIGKILL)
            insert(passages, titles)

        store._insert_passages = counted  # type: ignore[method-assign]
        return

    def trace(statement: str) -> None:
        nonlocal seen
        if statement.lstrip().upper().startswith("INSERT INTO PASSAGES("):
            seen += 1
            if seen >= n:
                os.kill(os.getpid(), signal.SIGKILL)

    store.db.conn.set_trace_callback(trace)


def main(db: str, paths: list[str]) -> int:
    store = open_store(db)
    if kill_at := os.environ.get("BRIEFBOT_TEST_KILL_AT_INSERT"):
        kill_at_insert(store, int(kill_at))
    report = Indexer(store, FakeEmbedder()).run(paths)
    sys.stdout.write(report.summary() + "\n")
    return 0


def add(collection: str, data_dir: str, db: str, file: str) -> int:
    store = open_store(db)
    if kill_at := os.environ.get("BRIEFBOT_TEST_KILL_AT_INSERT"):
        kill_at_insert(store, int(kill_at))
    data = Path(file).read_bytes()
    added = add_reading(store, FakeEmbedder(), data_dir, collection, Path(file).name, data)
    sys.stdout.write(f"{added.passages} passages\n")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--add":
        sys.exit(add(*sys.argv[2:6]))
    sys.exit(main(sys.argv[1], sys.argv[2:]))
