"""Digest subscriptions, the exactly-once ledger and per-channel snapshots, in the bot's SQLite.

Every method is one logical write in one transaction. The ledger, keyed by (subscription,
period), is what makes digests exactly-once: "sending" is committed before a post and "sent" after
it, so a crash leaves a "sending" row that tells the next start-up to look at the channel first.
Connections, transactions, migrations and timestamps work as the index's (``index/sqlite.py``).
Queries stay plain SQL on the connection: they are short, and sqlite-utils' table helpers do not
express the ledger's conditional upserts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from index.sqlite import connect, migrate, script, transaction, utc_now


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
)


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


class Claim(Enum):
    """What :meth:`DigestStore.ledger_state` says to do about a period."""

    NEW = "new"  # never attempted: post
    UNCERTAIN = "uncertain"  # "sending" or "failed": look at the channel before posting
    DONE = "done"  # already sent


class DigestStore:
    """Subscriptions, ledger and snapshots; safe to share between the loop and worker threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = connect(self.path, synchronous="FULL")  # the ledger must survive a power cut
        self._conn = self._db.conn
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            migrate(self._db, _MIGRATIONS, name=f"the digest store {self.path}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, transaction(self._db):
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
            existing = db.execute(
                "SELECT id FROM subscriptions WHERE channel_id = ?", [channel_id]
            ).fetchone()
            values = [cadence, day, time, timezone, topic, mention_role_id, str(quiet), stamp]
            if existing is None:
                db.execute(
                    "INSERT INTO subscriptions (cadence, day, time, timezone, topic, "
                    "mention_role_id, quiet, updated_at, guild_id, channel_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [*values, guild_id, channel_id, stamp],
                )
            else:
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
        return self._subscription(row), existing is None

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
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM subscriptions WHERE id = ?", [subscription_id]
            ).fetchone()
        return None if row is None else self._subscription(row)

    def subscription_for_channel(self, channel_id: int) -> Subscription | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM subscriptions WHERE channel_id = ?", [channel_id]
            ).fetchone()
        return None if row is None else self._subscription(row)

    def subscriptions(self, guild_id: int | None = None) -> list[Subscription]:
        sql, args = "SELECT * FROM subscriptions", []
        if guild_id is not None:
            sql, args = sql + " WHERE guild_id = ?", [guild_id]
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
        return [self._subscription(r) for r in rows]

    def pause(self, subscription_id: int, reason: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE subscriptions SET paused_reason = ?, updated_at = ? WHERE id = ?",
                [reason, utc_now(), subscription_id],
            )

    # -- ledger ----------------------------------------------------------------------------

    def ledger_entry(self, subscription_id: int, period: str) -> LedgerEntry | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM ledger WHERE subscription_id = ? AND period = ?",
                [subscription_id, period],
            ).fetchone()
        if row is None:
            return None
        data = dict(row)
        data["snapshot"] = json.loads(data["snapshot"]) if data["snapshot"] else None
        return LedgerEntry(**data)

    def ledger_state(self, subscription_id: int, period: str) -> Claim:
        entry = self.ledger_entry(subscription_id, period)
        if entry is None:
            return Claim.NEW
        return Claim.DONE if entry.status == SENT else Claim.UNCERTAIN

    def ledger(self, subscription_id: int | None = None) -> list[LedgerEntry]:
        sql, args = "SELECT subscription_id, period FROM ledger", []
        if subscription_id is not None:
            sql, args = sql + " WHERE subscription_id = ?", [subscription_id]
        with self._lock:
            keys = self._conn.execute(sql + " ORDER BY subscription_id, period", args).fetchall()
        return [e for k in keys if (e := self.ledger_entry(k[0], k[1])) is not None]

    def mark_sending(
        self, subscription_id: int, period: str, snapshot: dict[str, Any] | None
    ) -> None:
        """Record that a post is about to happen (with the snapshot it will describe).

        Refuses (ValueError) a period already sent: the caller lost a race and must not post.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT status FROM ledger WHERE subscription_id = ? AND period = ?",
                [subscription_id, period],
            ).fetchone()
            if row is not None and row["status"] == SENT:
                raise ValueError(f"period {period} of subscription {subscription_id} was sent")
            db.execute(
                "INSERT INTO ledger (subscription_id, period, status, snapshot, updated_at) "
                "VALUES (?, ?, 'sending', ?, ?) ON CONFLICT (subscription_id, period) DO UPDATE "
                "SET status = 'sending', snapshot = excluded.snapshot, detail = NULL, "
                "updated_at = excluded.updated_at",
                [subscription_id, period, json.dumps(snapshot) if snapshot else None, utc_now()],
            )

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
        with self._lock:
            keys = self._conn.execute(
                "SELECT subscription_id, period FROM ledger WHERE status != 'sent' "
                "ORDER BY subscription_id, period"
            ).fetchall()
        return [e for k in keys if (e := self.ledger_entry(k[0], k[1])) is not None]

    # -- snapshots -------------------------------------------------------------------------

    def last_snapshot(self, subscription_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
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
