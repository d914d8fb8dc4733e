"""One way to use SQLite: connections, write transactions, ordered migrations and the clock.

Shared by the index store (``index/store.py``) and the bot's digest store
(``bot/digest_store.py``). sqlite-utils does most of the work: its ``Database`` wraps the
connection, ``enable_wal`` sets the journal, ``atomic`` nests savepoints and ``executescript``
inside a transaction runs a script statement by statement (so a migration's trigger body, with
its own ``;``, stays whole and nothing is committed early). What it lacks is written here:
``atomic`` opens with a plain (deferred) ``BEGIN``, and sqlite-utils keeps no schema version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from index.errors import IncompatibleIndex

Migration = Callable[[sqlite_utils.Database], None]
DB = TypeVar("DB")


def utc_now() -> str:
    """Now in UTC as an ISO time to the second: every stored timestamp looks like this."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: str | Path, *, synchronous: str = "NORMAL") -> sqlite_utils.Database:
    """A connection for one process's threads: WAL (one writer, many readers), no implicit
    transactions (see :func:`transaction`), and a 30 s wait for another writer's lock."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    db = sqlite_utils.Database(conn)
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One logical write: committed whole at the end, rolled back whole on any exception.

    At the top level it opens with ``BEGIN IMMEDIATE`` rather than sqlite-utils' deferred
    ``BEGIN``: the write lock is taken up front (waiting for another writer), so a write that
    reads first never fails because another connection committed in between. Nested, it is a
    savepoint (``db.atomic``).
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


def user_version(db: sqlite_utils.Database) -> int:
    """The schema version kept in SQLite's own ``PRAGMA user_version`` (0 for a new file)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def set_user_version(db: sqlite_utils.Database, version: int) -> None:
    db.execute(f"PRAGMA user_version = {int(version)}")


def script(sql: str) -> Migration:
    """A migration that runs ``sql`` (several statements, triggers included) in the migration's
    transaction."""

    def run(db: sqlite_utils.Database) -> None:
        db.executescript(sql)

    run.__doc__ = sql
    return run


def migrate(
    db: DB,
    migrations: Sequence[Callable[[DB], None]],
    *,
    read_version: Callable[[DB], int] = user_version,  # type: ignore[assignment]
    write_version: Callable[[DB, int], None] = set_user_version,  # type: ignore[assignment]
    name: str = "the database",
    remedy: str = "upgrade briefbot",
    begin: Callable[[DB], AbstractContextManager[object]] = transaction,  # type: ignore[assignment]
) -> int:
    """Bring the schema up to ``len(migrations)``; returns the version it was at.

    Migration ``i`` brings version ``i`` to ``i + 1``. All pending ones run in one transaction,
    each followed by its version, so an interrupted upgrade leaves the old schema. A database
    already up to date is only read (no write lock: opening it never waits for a writer). A
    schema newer than these migrations is refused: its tables are not ours to guess.
    ``begin`` opens the write transaction (PostgreSQL passes its own: ``index/postgres.py``).
    """
    latest = len(migrations)

    def check(found: int) -> int:
        if found > latest:
            raise IncompatibleIndex(
                f"{name} has schema version {found}; this briefbot knows up to {latest}: {remedy}"
            )
        return found

    if check(read_version(db)) == latest:
        return latest
    with begin(db):
        found = check(read_version(db))  # again under the lock: another process may have won
        for version in range(found, latest):
            migrations[version](db)
            write_version(db, version + 1)
    return found
