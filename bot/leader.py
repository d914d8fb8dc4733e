"""One digest scheduler among all the bot's processes: the one holding the leader lock.

APScheduler 3 must not run two schedulers on one job store, and a digest must go out once, so
of the processes sharing a database exactly one, the leader, runs the scheduler:

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection of its own, in
  autocommit mode, never from a pool or through a transaction-mode pooler (either would hand the
  session, and the lock, to someone else). The server frees the lock when the session ends, so
  a leader that dies or loses its connection stops being one at once; the followers try the
  lock every few seconds and one takes over. The leader looks at its session every few seconds
  too and steps down (stops its scheduler) the moment the session is gone.
- SQLite (one machine): an ``fcntl`` lock on a file beside the scheduler's database; a second
  process on the same files waits as a follower instead of scheduling twice.

Two leaders can still overlap briefly (one that lost its connection runs until its next look);
the ledger's claims keep a period to one post even then (``bot/digest_store.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg

from index.postgres import connect
from index.store import is_postgres_url

log = logging.getLogger(__name__)

#: The leader's advisory lock key: "briefbot" in ASCII (one-key locks, apart from the claims').
LEADER_KEY = 0x6272_6965_6662_6F74
CHECK_SECONDS = 10.0  # how often the leader makes sure it still holds the lock
POLL_SECONDS = 5.0  # how often a follower tries to take it


class LeaderLock(Protocol):
    """A lock at most one process holds; each call may block briefly (run it in a thread)."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it now."""
        ...

    def held(self) -> bool:
        """Whether the lock taken is still this process's (False once it was lost)."""
        ...

    def release(self) -> None: ...


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a dedicated autocommit connection."""

    def __init__(self, url: str, key: int = LEADER_KEY) -> None:
        self.url = url
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            # Keepalives tighter than the stores': a lost leader must be noticed quickly.
            self._conn = connect(
                self.url,
                application_name="briefbot leader",
                keepalives_idle=5,
                keepalives_interval=2,
            )
        return self._conn

    def try_acquire(self) -> bool:
        try:
            row = self._connection().execute("SELECT pg_try_advisory_lock(%s)", [self.key])
            return bool(row.fetchone()[0])  # type: ignore[index]
        except psycopg.OperationalError as exc:
            log.warning("cannot reach the database for the leader lock: %s", exc)
            self.release()
            return False

    def held(self) -> bool:
        """Asks the server: the session is alive and holds the lock (pg_locks says so)."""
        if self._conn is None:
            return False
        try:
            row = self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
                "AND classid = %s AND objid = %s)",
                [self.key >> 32, self.key & 0xFFFF_FFFF],
            ).fetchone()
            return bool(row and row[0])
        except psycopg.Error as exc:
            log.warning("lost the database session holding the leader lock: %s", exc)
            self.release()
            return False

    def release(self) -> None:
        """Close the session: the server frees the lock with it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()


class FileLock:
    """An exclusive ``flock`` on a file: held while this process keeps it open."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = self.path.open("a")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def held(self) -> bool:
        return self._file is not None  # the kernel keeps an flock until the file is closed

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()


def leader_lock(location: str | Path) -> LeaderLock:
    """The leader lock for the digest store at ``location`` (a PostgreSQL URL or a file)."""
    if is_postgres_url(location):
        return AdvisoryLock(str(location))
    return FileLock(f"{location}.leader")


Callback = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


class Leadership:
    """Becomes the leader when it can, and says so: ``on_elected`` when this process becomes the
    leader, ``on_deposed`` when it stops being one, ``on_tick`` at each check while it leads."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_elected: Callback,
        on_deposed: Callback,
        on_tick: Callback = _nothing,
        check_seconds: float = CHECK_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.lock = lock
        self.on_elected, self.on_deposed, self.on_tick = on_elected, on_deposed, on_tick
        self.check_seconds = check_seconds
        self.poll_seconds = poll_seconds
        self.is_leader = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Try the lock once now (a lone process leads from the start), then keep watching."""
        await self._try()
        self._task = asyncio.create_task(self._watch(), name="briefbot leadership")

    async def stop(self) -> None:
        """Stop watching and let the lock go (another process may lead at once)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.is_leader:
            self.is_leader = False
            await self.on_deposed()
        await asyncio.to_thread(self.lock.release)

    async def _try(self) -> None:
        if await asyncio.to_thread(self.lock.try_acquire):
            self.is_leader = True
            log.info("this process leads: it runs the digest scheduler")
            await self.on_elected()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds if self.is_leader else self.poll_seconds)
            try:
                if not self.is_leader:
                    await self._try()
                elif await asyncio.to_thread(self.lock.held):
                    await self.on_tick()
                else:
                    self.is_leader = False
                    log.warning("lost the leader lock: the digest scheduler stops here")
                    await self.on_deposed()
            except Exception:
                # One bad look (a database hiccup, a failing resync) must not end the watch.
                log.exception("leadership check failed")
