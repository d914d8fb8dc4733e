"""Digest subscriptions, the exactly-once ledger and per-channel snapshots.

Every method is one logical write in one transaction. The ledger, keyed by (subscription,
period), is what makes digests exactly-once: "sending" is committed before a post and "sent" after
it, so a crash leaves a "sending" row that tells the next start-up to look at the channel first.
A claim (:meth:`DigestStore.claim`) is one conditional statement, so of two processes that race
for a period only one can win it: the key (subscription, period) admits one new row, and taking
over an unsettled row compares its claim count.

:class:`DigestStore` keeps all this in the bot's SQLite; ``bot/digest_store_pg.py`` runs the same
SQL on PostgreSQL (:func:`open_digest_store` picks one by the location). On SQLite, connections,
transactions, migrations and timestamps work as the index's (``index/sqlite.py``). Queries stay
plain SQL on the connection: they are short, and sqlite-utils' table helpers do not express the
ledger's conditional upserts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Protocol

from index.sqlite import connect, migrate, script, transaction, utc_now
from index.store import is_postgres_url


class LedgerStatus(StrEnum):
    """Where a (subscription, period) stands."""

    SENDING = "sending"  # about to post: a crash here leaves the channel to look at
    SENT = "sent"  # posted (or skipped on purpose: a quiet week of a subscription that skips)
    FAILED = "failed"


SENDING, SENT, FAILED = LedgerStatus.SENDING, LedgerStatus.SENT, LedgerStatus.FAILED
SKIPPED_DETAIL = "skipped: nothing new in the period"


class QuietWeeks(StrEnum):
    """What a subscription does when nothing was added since its last digest."""

    POST = "post"  # one short post says so
    SKIP = "skip"  # nothing is posted


# Ordered migrations: index i brings the schema (``PRAGMA user_version``) to version i + 1.
_MIGRATIONS = (
    script("""
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL UNIQUE,
        cadence TEXT NOT NULL CHECK (cadence IN ('weekly', 'daily')),
        day TEXT NOT NULL,
        time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        topic TEXT,
        mention_role_id INTEGER,
        paused_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE ledger (
        subscription_id INTEGER NOT NULL,
        period TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
        message_id INTEGER,
        snapshot TEXT,
        detail TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (subscription_id, period)
    );
    CREATE TABLE snapshots (
        subscription_id INTEGER PRIMARY KEY,
        period TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """),
    # A failed post is retried with backoff: how many tries a period has had.
    script("ALTER TABLE ledger ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0"),
    # A week with nothing new: one short post, or no post at all.
    script("ALTER TABLE subscriptions ADD COLUMN quiet TEXT NOT NULL DEFAULT 'post'"),
    # Claims made on a period: taking over an unsettled entry compares it (see claim()).
    script("ALTER TABLE ledger ADD COLUMN claims INTEGER NOT NULL DEFAULT 0"),
)
SCHEMA_VERSION = len(_MIGRATIONS)


@dataclass(frozen=True)
class Subscription:
    """One channel's digest schedule."""

    id: int
    guild_id: int
    channel_id: int
    cadence: str  # "weekly" | "daily"
    day: str  # mon..sun (weekly only)
    time: str  # HH:MM in ``timezone``
    timezone: str  # an IANA name
    topic: str | None
    mention_role_id: int | None
    paused_reason: str | None
    created_at: str
    updated_at: str
    quiet: str = QuietWeeks.POST  # a QuietWeeks value

    @property
    def skips_quiet_weeks(self) -> bool:
        return self.quiet == QuietWeeks.SKIP

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None

    def schedule_key(self) -> tuple[str, str, str, str]:
        """What the trigger depends on: a change here means the job must be rescheduled."""
        return (self.cadence, self.day, self.time, self.timezone)


@dataclass(frozen=True)
class LedgerEntry:
    subscription_id: int
    period: str
    status: str
    message_id: int | None
    snapshot: dict[str, Any] | None
    detail: str | None
    updated_at: str
    attempts: int = 0  # failed tries so far
    claims: int = 0  # times the period was claimed for a post


class Claim(Enum):
    """What :meth:`DigestStore.ledger_state` says to do about a period."""

    NEW = "new"  # never attempted: post
    UNCERTAIN = "uncertain"  # "sending" or "failed": look at the channel before posting
    DONE = "done"  # already sent


class Rows(Protocol):
    """What a statement gives back: rows that read by column name, and the rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Sql(Protocol):
    """A connection that runs the store's statements (``?`` placeholders)."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows: ...


def claim_of(entry: LedgerEntry | None) -> Claim:
    """What to do about a period whose ledger entry is ``entry`` (None: never tried)."""
    if entry is None:
        return Claim.NEW
    return Claim.DONE if entry.status == SENT else Claim.UNCERTAIN


class DigestStore:
    """Subscriptions, ledger and snapshots in SQLite; safe to share between the loop and worker
    threads (one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = connect(self.path, synchronous="FULL")  # the ledger must survive a power cut
        self._conn: Any = self._db.conn
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            migrate(self._db, _MIGRATIONS, name=f"the digest store {self.path}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[Sql]:
        """One logical write (the write lock taken up front: ``BEGIN IMMEDIATE``)."""
        with self._lock, transaction(self._db):
            yield self._conn

    @contextmanager
    def _reading(self) -> Iterator[Sql]:
        with self._lock:
            yield self._conn

    # -- subscriptions ---------------------------------------------------------------------

    @staticmethod
    def _subscription(row: sqlite3.Row) -> Subscription:
        return Subscription(**dict(row))

    def subscribe(
        self,
        *,
        guild_id: int,
        channel_id: int,
        cadence: str = "weekly",
        day: str = "mon",
        time: str = "09:00",
        timezone: str = "UTC",
        topic: str | None = None,
        mention_role_id: int | None = None,
        quiet: str = QuietWeeks.POST,
        now: str | None = None,
    ) -> tuple[Subscription, bool]:
        """Create the channel's subscription or update it (un-pausing it); True when created."""
        stamp = now or utc_now()
        with self._transaction() as db:
            values = [cadence, day, time, timezone, topic, mention_role_id, str(quiet), stamp]
            # One statement decides "new": two processes subscribing a channel at once make
            # one row (the loser updates it), where a look first would let both insert.
            created = (
                db.execute(
                    "INSERT INTO subscriptions (cadence, day, time, timezone, topic, "
                    "mention_role_id, quiet, updated_at, guild_id, channel_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (channel_id) DO NOTHING",
                    [*values, guild_id, channel_id, stamp],
                ).rowcount
                == 1
            )
            if not created:
                db.execute(
                    "UPDATE subscriptions SET cadence = ?, day = ?, time = ?, timezone = ?, "
                    "topic = ?, mention_role_id = ?, quiet = ?, updated_at = ?, "
                    "paused_reason = NULL "
                    "WHERE channel_id = ?",
                    [*values, channel_id],
                )
            row = db.execute(
                "SELECT * FROM subscriptions WHERE channel_id = ?", [channel_id]
            ).fetchone()
        return self._subscription(row), created

    def unsubscribe(self, channel_id: int) -> Subscription | None:
        """Remove the channel's subscription with its ledger and snapshot; the old one or None."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM subscriptions WHERE channel_id = ?", [channel_id]
            ).fetchone()
            if row is None:
                return None
            for table, column in (("ledger", "subscription_id"), ("snapshots", "subscription_id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", [row["id"]])
            db.execute("DELETE FROM subscriptions WHERE id = ?", [row["id"]])
        return self._subscription(row)

    def subscription(self, subscription_id: int) -> Subscription | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT * FROM subscriptions WHERE id = ?", [subscription_id]
            ).fetchone()
        return None if row is None else self._subscription(row)

    def subscription_for_channel(self, channel_id: int) -> Subscription | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT * FROM subscriptions WHERE channel_id = ?", [channel_id]
            ).fetchone()
        return None if row is None else self._subscription(row)

    def subscriptions(self, guild_id: int | None = None) -> list[Subscription]:
        sql, args = "SELECT * FROM subscriptions", []
        if guild_id is not None:
            sql, args = sql + " WHERE guild_id = ?", [guild_id]
        with self._reading() as db:
            rows = db.execute(sql + " ORDER BY id", args).fetchall()
        return [self._subscription(r) for r in rows]

    def pause(self, subscription_id: int, reason: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE subscriptions SET paused_reason = ?, updated_at = ? WHERE id = ?",
                [reason, utc_now(), subscription_id],
            )

    # -- ledger ----------------------------------------------------------------------------

    def ledger_entry(self, subscription_id: int, period: str) -> LedgerEntry | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT * FROM ledger WHERE subscription_id = ? AND period = ?",
                [subscription_id, period],
            ).fetchone()
        if row is None:
            return None
        data = dict(row)
        data["snapshot"] = json.loads(data["snapshot"]) if data["snapshot"] else None
        return LedgerEntry(**data)

    def _entry_at(self, key: Any) -> LedgerEntry | None:
        return self.ledger_entry(key["subscription_id"], key["period"])

    def ledger_state(self, subscription_id: int, period: str) -> Claim:
        return claim_of(self.ledger_entry(subscription_id, period))

    def ledger(self, subscription_id: int | None = None) -> list[LedgerEntry]:
        sql, args = "SELECT subscription_id, period FROM ledger", []
        if subscription_id is not None:
            sql, args = sql + " WHERE subscription_id = ?", [subscription_id]
        with self._reading() as db:
            keys = db.execute(sql + " ORDER BY subscription_id, period", args).fetchall()
        return [e for k in keys if (e := self._entry_at(k)) is not None]

    def claim(
        self,
        subscription_id: int,
        period: str,
        snapshot: dict[str, Any] | None,
        *,
        over: LedgerEntry | None = None,
    ) -> bool:
        """Mark the period "sending" before its post (with the snapshot it will describe); False
        when another claim got there first, and the caller must not post.

        ``over`` is the period's entry as the caller read it: None claims a period never tried
        (the key admits one new row), an entry takes it over only if no other claim came since
        and it was not sent. :meth:`release` ends the claim once the post is settled.
        """
        stamp = utc_now()
        data = json.dumps(snapshot) if snapshot else None
        with self._transaction() as db:
            if over is None:
                won = db.execute(
                    "INSERT INTO ledger (subscription_id, period, status, snapshot, updated_at, "
                    "claims) VALUES (?, ?, 'sending', ?, ?, 1) "
                    "ON CONFLICT (subscription_id, period) DO NOTHING",
                    [subscription_id, period, data, stamp],
                )
            else:
                won = db.execute(
                    "UPDATE ledger SET status = 'sending', snapshot = ?, detail = NULL, "
                    "updated_at = ?, claims = claims + 1 "
                    "WHERE subscription_id = ? AND period = ? AND claims = ? AND status != 'sent'",
                    [data, stamp, subscription_id, period, over.claims],
                )
            return won.rowcount == 1

    def release(self, subscription_id: int) -> None:
        """The claim's post is settled (sent, failed or abandoned). Nothing to do in SQLite,
        where one process sends; PostgreSQL holds a lock while a claim is being posted."""

    def mark_sending(
        self, subscription_id: int, period: str, snapshot: dict[str, Any] | None
    ) -> None:
        """Claim the period over whatever entry it has, and release the claim at once: the
        ledger as a crash between the claim and the post leaves it.

        Refuses (ValueError) a period already sent, or claimed meanwhile by another.
        """
        try:
            if not self.claim(
                subscription_id, period, snapshot, over=self.ledger_entry(subscription_id, period)
            ):
                raise ValueError(f"period {period} of subscription {subscription_id} was sent")
        finally:
            self.release(subscription_id)

    def mark_sent(self, subscription_id: int, period: str, message_id: int | None) -> None:
        """Record the post, and make its snapshot the one the next digest compares with."""
        stamp = utc_now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT snapshot FROM ledger WHERE subscription_id = ? AND period = ?",
                [subscription_id, period],
            ).fetchone()
            db.execute(
                "INSERT INTO ledger (subscription_id, period, status, message_id, updated_at) "
                "VALUES (?, ?, 'sent', ?, ?) ON CONFLICT (subscription_id, period) DO UPDATE "
                "SET status = 'sent', message_id = excluded.message_id, "
                "updated_at = excluded.updated_at",
                [subscription_id, period, message_id, stamp],
            )
            if row is not None and row["snapshot"]:
                db.execute(
                    "INSERT INTO snapshots (subscription_id, period, snapshot, created_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (subscription_id) DO UPDATE SET "
                    "period = excluded.period, snapshot = excluded.snapshot, "
                    "created_at = excluded.created_at",
                    [subscription_id, period, row["snapshot"], stamp],
                )

    def mark_skipped(self, subscription_id: int, period: str) -> None:
        """Record a period deliberately not posted (nothing new): done, and the snapshot kept."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO ledger (subscription_id, period, status, detail, updated_at) "
                "VALUES (?, ?, 'sent', ?, ?) ON CONFLICT (subscription_id, period) DO UPDATE "
                "SET status = 'sent', detail = excluded.detail, updated_at = excluded.updated_at",
                [subscription_id, period, SKIPPED_DETAIL, utc_now()],
            )

    def mark_failed(
        self,
        subscription_id: int,
        period: str,
        detail: str,
        *,
        pause: bool = False,
        now: str | None = None,
    ) -> None:
        """Record a post that did not happen; ``pause`` also pauses the subscription."""
        stamp = now or utc_now()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO ledger (subscription_id, period, status, detail, updated_at, "
                "attempts) VALUES (?, ?, 'failed', ?, ?, 1) "
                "ON CONFLICT (subscription_id, period) DO UPDATE "
                "SET status = 'failed', detail = excluded.detail, "
                "updated_at = excluded.updated_at, attempts = ledger.attempts + 1",
                [subscription_id, period, detail, stamp],
            )
            if pause:
                db.execute(
                    "UPDATE subscriptions SET paused_reason = ?, updated_at = ? WHERE id = ?",
                    [detail, stamp, subscription_id],
                )

    def uncertain(self) -> list[LedgerEntry]:
        """Entries left "sending" or "failed": each needs a look at its channel."""
        with self._reading() as db:
            keys = db.execute(
                "SELECT subscription_id, period FROM ledger WHERE status != 'sent' "
                "ORDER BY subscription_id, period"
            ).fetchall()
        return [e for k in keys if (e := self._entry_at(k)) is not None]

    # -- snapshots -------------------------------------------------------------------------

    def last_snapshot(self, subscription_id: int) -> dict[str, Any] | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT snapshot FROM snapshots WHERE subscription_id = ?", [subscription_id]
            ).fetchone()
        return None if row is None else json.loads(row["snapshot"])

    def save_snapshot(self, subscription_id: int, period: str, snapshot: dict[str, Any]) -> None:
        """For digests posted on demand (no ledger entry): the next one compares with this."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO snapshots (subscription_id, period, snapshot, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (subscription_id) DO UPDATE SET "
                "period = excluded.period, snapshot = excluded.snapshot, "
                "created_at = excluded.created_at",
                [subscription_id, period, json.dumps(snapshot), utc_now()],
            )


def open_digest_store(location: str | Path) -> DigestStore:
    """The digest store at ``location``: a SQLite file, or a PostgreSQL database by its URL."""
    if is_postgres_url(location):
        from bot.digest_store_pg import PgDigestStore

        return PgDigestStore(str(location))
    return DigestStore(location)
