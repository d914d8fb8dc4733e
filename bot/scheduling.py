"""Scheduled digests, exactly once, and the hourly corpus re-scan, on APScheduler 3.x.

How "exactly once" holds across restarts and crashes:

- Jobs live in a persistent ``SQLAlchemyJobStore`` (the SQLite file, or the PostgreSQL database
  everything else is in). At start-up a job is added only when
  it is missing and rescheduled only when its schedule changed: re-adding with
  ``replace_existing=True`` would recompute its next run time and lose a run missed while down.
- ``coalesce=True`` and a generous ``misfire_grace_time`` (APScheduler's default is 1 s, which
  silently skips any run the loop was late for) turn missed runs into one run.
- The ledger, not the scheduler, decides whether to post: (subscription, period) is marked
  "sending" before the post and "sent" after it. A "sending" (or "failed") entry means a crash or
  error came in between, so the channel is searched for the period's marker (it is in every
  digest's footer) before posting again.
- The poster sends once: discord.py itself waits out 429s and retries 500/502/504/524. A post
  that still failed (Discord down, a 503, a 5xx after discord.py's retries) is tried again by a
  sweep every few minutes, with backoff (5, 10, 20, ... minutes, at most ``RETRY_ATTEMPTS``
  tries, and only within the misfire grace time), through the same marker check.
- Several processes (PostgreSQL): one of them, the leader (``bot/leader.py``), runs the scheduler;
  it picks up subscriptions the others changed every few seconds (:meth:`DigestScheduler.resync`).
  Should two leaders ever overlap, a period still goes out once: a claim of it is one conditional
  write (``DigestStore.claim``), and only its winner posts.
- :meth:`DigestRunner.reconcile` runs at start-up: it settles uncertain entries and posts the
  latest period of each subscription that is due and not yet in the ledger (a run whose job had
  already advanced when the process died). A per-subscription lock keeps it from racing the
  scheduler's own catch-up run.
- The ledger is SQLite with fsync'd commits, or a database server: the runner reaches it through
  ``asyncio.to_thread`` so the gateway heartbeat never waits on a disk or the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.digest_store import FAILED, Claim, DigestStore, LedgerEntry, Subscription, claim_of
from index.store import is_postgres_url

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CADENCES = ("weekly", "daily")
#: How late a run may still happen (a bot down over a weekend still posts Monday's digest).
MISFIRE_GRACE = {"weekly": timedelta(days=2), "daily": timedelta(hours=6)}
RESCAN_JOB_ID = "rescan-corpus"
RETRY_JOB_ID = "retry-failed-digests"
#: A failed post is tried again after 5, 10, 20, 40 ... minutes, this many tries in all.
RETRY_FIRST_DELAY = timedelta(minutes=5)
RETRY_ATTEMPTS = 6
RETRY_SWEEP_MINUTES = 5
MARKER_PREFIX = "digest period "


class Delivery(StrEnum):
    """What :meth:`DigestRunner.deliver` (and ``run_due``) did about a period."""

    SENT = "sent"
    FOUND = "found"  # an earlier try had posted it: the channel's history says so
    ALREADY_SENT = "already sent"
    CLAIMED = "claimed elsewhere"  # another process won the period's claim: it posts
    SKIPPED = "skipped"  # nothing new, and the subscription skips quiet weeks
    TOO_LATE = "too late"
    PAUSED = "paused"
    FAILED = "failed"
    INACTIVE = "inactive"
    NOT_DUE = "not due"


class DeliveryBlocked(Exception):
    """The channel is gone or the bot may not post there: pause the subscription."""


class Poster(Protocol):
    """Where digests go (a Discord channel in the bot; a file in the kill/restart tests)."""

    async def find_marker(self, subscription: Subscription, marker: str) -> int | None:
        """The id of a recent message of ours that carries ``marker``, if any."""
        ...

    async def post(self, subscription: Subscription, payload: Any, marker: str) -> int:
        """Post the digest with ``marker`` in it; the message id."""
        ...


#: (subscription, previous snapshot) → (what the poster posts, the snapshot it describes);
#: a payload of None means there is nothing to post this period (a quiet week it skips).
Builder = Callable[[Subscription, dict[str, Any] | None], tuple[Any, dict[str, Any] | None]]


# --------------------------------------------------------------------------------- triggers


def digest_trigger(subscription: Subscription) -> CronTrigger:
    """Weekly on ``day`` or daily, at ``time`` in the subscription's own time zone."""
    hour, minute = (int(part) for part in subscription.time.split(":"))
    zone = ZoneInfo(subscription.timezone)
    if subscription.cadence == "daily":
        return CronTrigger(hour=hour, minute=minute, timezone=zone)
    return CronTrigger(day_of_week=subscription.day, hour=hour, minute=minute, timezone=zone)


def next_fire_time(subscription: Subscription, now: datetime | None = None) -> datetime | None:
    """When the subscription's digest is next due, from its trigger alone (a process that does
    not run the scheduler answers with this)."""
    return digest_trigger(subscription).get_next_fire_time(None, now or datetime.now(UTC))


def latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last time ``trigger`` fired at or before ``now`` (looking back eight days)."""
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    last = None
    while fire is not None and fire <= now:
        last = fire
        # Step on in UTC: local arithmetic on the second of two 02:30s (autumn) stands still.
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    return last


def period_key(fire_time: datetime) -> str:
    """The ledger key of a scheduled run: local time and offset, e.g. 2024-03-25T09:00+01:00.

    A local time the autumn clock change repeats (02:30 twice) is one period, keyed by its first
    occurrence: the trigger fires at both, and the ledger lets only one digest out.
    """
    return fire_time.replace(fold=0).isoformat(timespec="minutes")


def marker_for(period: str) -> str:
    return f"{MARKER_PREFIX}{period}"


def parse_time(value: str) -> str:
    """``9``, ``9:30``, ``09:30`` → ``09:30``; ValueError otherwise."""
    text = value.strip()
    hour_text, _, minute_text = text.partition(":")
    if not hour_text.isdigit() or (minute_text and not minute_text.isdigit()):
        raise ValueError(f"time must look like 09:00, not {value!r}")
    hour, minute = int(hour_text), int(minute_text or 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{value!r} is not a time of day")
    return f"{hour:02d}:{minute:02d}"


# ----------------------------------------------------------------------------------- runner


class DigestRunner:
    """Builds and posts digests, recording each period in the ledger exactly once."""

    def __init__(
        self,
        store: DigestStore,
        build: Builder,
        poster: Poster,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_stage: Callable[[str], None] | None = None,
        on_paused: Callable[[Subscription], None] | None = None,
    ) -> None:
        self.store = store
        self.build = build
        self.poster = poster
        self.clock = clock
        self.on_stage = on_stage or (lambda _stage: None)
        self.on_paused = on_paused or (lambda _sub: None)
        self._locks: dict[int, asyncio.Lock] = {}

    def _lock(self, subscription_id: int) -> asyncio.Lock:
        return self._locks.setdefault(subscription_id, asyncio.Lock())

    def due_period(self, subscription: Subscription, now: datetime | None = None) -> str | None:
        """The period to post now: the latest scheduled run, if still within its grace time."""
        now = now or self.clock()
        fire = latest_fire_time(digest_trigger(subscription), now)
        if fire is None or now - fire > MISFIRE_GRACE[subscription.cadence]:
            return None
        if fire < datetime.fromisoformat(subscription.updated_at):
            return None  # scheduled before the subscription (or its schedule) existed
        return period_key(fire)

    async def run_due(self, subscription_id: int) -> Delivery:
        """Post the due digest of a subscription unless the ledger says it went out."""
        subscription = await asyncio.to_thread(self.store.subscription, subscription_id)
        if subscription is None or subscription.paused:
            return Delivery.INACTIVE
        period = self.due_period(subscription)
        if period is None:
            return Delivery.NOT_DUE
        return await self.deliver(subscription, period)

    async def deliver(
        self, subscription: Subscription, period: str, *, may_post: bool = True
    ) -> Delivery:
        """Post ``period``'s digest once, and say what happened."""
        store = self.store
        async with self._lock(subscription.id):
            entry = await asyncio.to_thread(store.ledger_entry, subscription.id, period)
            state = claim_of(entry)
            if state is Claim.DONE:
                return Delivery.ALREADY_SENT
            marker = marker_for(period)
            claimed = False
            try:
                if state is Claim.UNCERTAIN:
                    found = await self.poster.find_marker(subscription, marker)
                    if found is not None:
                        await asyncio.to_thread(store.mark_sent, subscription.id, period, found)
                        log.info("digest %s of subscription %d was already posted (message %d)",
                                 period, subscription.id, found)  # fmt: skip
                        return Delivery.FOUND
                if not may_post:
                    await asyncio.to_thread(
                        store.mark_failed, subscription.id, period, "too late to post"
                    )
                    return Delivery.TOO_LATE
                previous = await asyncio.to_thread(store.last_snapshot, subscription.id)
                payload, snapshot = await asyncio.to_thread(self.build, subscription, previous)
                if payload is None:
                    await asyncio.to_thread(store.mark_skipped, subscription.id, period)
                    log.info("digest %s of subscription %d skipped: nothing new",
                             period, subscription.id)  # fmt: skip
                    return Delivery.SKIPPED
                claimed = await asyncio.to_thread(
                    store.claim, subscription.id, period, snapshot, over=entry
                )
                if not claimed:
                    log.info("digest %s of subscription %d: claimed by another process",
                             period, subscription.id)  # fmt: skip
                    return Delivery.CLAIMED
                self.on_stage("sending")
                message_id = await self.poster.post(subscription, payload, marker)
            except DeliveryBlocked as exc:
                await asyncio.to_thread(
                    store.mark_failed, subscription.id, period, str(exc), pause=True
                )
                log.warning("paused digests for channel %d (subscription %d): %s",
                            subscription.channel_id, subscription.id, exc)  # fmt: skip
                self.on_paused(subscription)
                return Delivery.PAUSED
            except Exception as exc:
                await asyncio.to_thread(
                    store.mark_failed,
                    subscription.id,
                    period,
                    f"{type(exc).__name__}: {exc}",
                    now=self.clock().isoformat(timespec="seconds"),
                )
                log.exception("digest %s of subscription %d failed", period, subscription.id)
                return Delivery.FAILED
            else:
                self.on_stage("posted")
                await asyncio.to_thread(store.mark_sent, subscription.id, period, message_id)
                log.info("posted digest %s to channel %d", period, subscription.channel_id)
                return Delivery.SENT
            finally:
                if claimed:
                    await asyncio.to_thread(store.release, subscription.id)

    async def drain(self) -> None:
        """Wait for deliveries in progress (before shutting down)."""
        for lock in list(self._locks.values()):
            async with lock:
                pass

    def _unsettled(self, now: datetime) -> list[tuple[LedgerEntry, Subscription, bool]]:
        """Ledger entries left "sending" or "failed" of active subscriptions, and whether each is
        now too late to post (past the misfire grace time). Reads the store: call in a thread."""
        unsettled = []
        for entry in self.store.uncertain():
            subscription = self.store.subscription(entry.subscription_id)
            if subscription is not None and not subscription.paused:
                late = (
                    now - datetime.fromisoformat(entry.period) > MISFIRE_GRACE[subscription.cadence]
                )
                unsettled.append((entry, subscription, late))
        return unsettled

    async def retry_failed(self) -> list[tuple[int, str, Delivery]]:
        """Try failed posts again whose backoff has passed, while they are still on time."""
        outcomes = []
        now = self.clock()
        for entry, subscription, late in await asyncio.to_thread(self._unsettled, now):
            if late or entry.status != FAILED or entry.attempts >= RETRY_ATTEMPTS:
                continue  # "sending": a crash mid-post, which start-up settles
            delay = RETRY_FIRST_DELAY * 2 ** max(entry.attempts - 1, 0)
            if now < datetime.fromisoformat(entry.updated_at) + delay:
                continue
            log.info("retrying digest %s of subscription %d (try %d)",
                     entry.period, subscription.id, entry.attempts + 1)  # fmt: skip
            result = await self.deliver(subscription, entry.period)
            outcomes.append((subscription.id, entry.period, result))
        return outcomes

    async def reconcile(self) -> list[tuple[int, str, Delivery]]:
        """At start-up: settle uncertain ledger entries, then post every digest that is due."""
        outcomes = []
        now = self.clock()
        for entry, subscription, late in await asyncio.to_thread(self._unsettled, now):
            result = await self.deliver(subscription, entry.period, may_post=not late)
            outcomes.append((subscription.id, entry.period, result))
        for subscription in await asyncio.to_thread(self.store.subscriptions):
            if not subscription.paused:
                period = self.due_period(subscription, now)
                if period is not None:
                    result = await self.deliver(subscription, period)
                    outcomes.append((subscription.id, period, result))
        return outcomes


# -------------------------------------------------------------------------------- scheduler

# APScheduler persists jobs as "module:function" references, so the job functions are
# module-level and find the live runner here.
_active: dict[str, Any] = {}


async def run_digest_job(subscription_id: int) -> None:
    """The scheduled job of one subscription."""
    runner: DigestRunner | None = _active.get("runner")
    if runner is None:
        log.warning("digest job for subscription %d ran with no runner", subscription_id)
        return
    await runner.run_due(subscription_id)


async def run_retry_job() -> None:
    """The sweep that retries failed posts."""
    runner: DigestRunner | None = _active.get("runner")
    if runner is not None:
        await runner.retry_failed()


async def run_rescan_job() -> None:
    """The periodic corpus re-scan."""
    rescan = _active.get("rescan")
    if rescan is not None:
        try:
            await rescan()
        except Exception:
            log.exception("corpus re-scan failed")


def job_id(subscription_id: int) -> str:
    return f"digest-{subscription_id}"


def job_store(location: str | Path) -> SQLAlchemyJobStore:
    """APScheduler's job store at ``location``: a SQLite file, or a PostgreSQL URL (through
    psycopg 3; a pooled connection the server dropped is replaced, not handed out)."""
    if is_postgres_url(location):
        url = "postgresql+psycopg://" + str(location).split("://", 1)[1]
        return SQLAlchemyJobStore(url=url, engine_options={"pool_pre_ping": True})
    return SQLAlchemyJobStore(url=f"sqlite:///{location}")


class DigestScheduler:
    """An AsyncIOScheduler on a persistent job store, kept in step with subscriptions.

    Only one process may run it on a job store (APScheduler's rule): see ``bot/leader.py``.
    """

    def __init__(
        self,
        runner: DigestRunner,
        jobs_location: str | Path,
        *,
        rescan: Callable[[], Any] | None = None,
        rescan_minutes: float = 60,
    ) -> None:
        self.runner = runner
        self.rescan = rescan
        self.rescan_minutes = rescan_minutes
        # What the jobs were last brought in step with: subscription id -> (schedule, paused).
        self._synced: dict[int, tuple[tuple[str, str, str, str], bool]] = {}
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": job_store(jobs_location)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(MISFIRE_GRACE["daily"].total_seconds()),
            },
            timezone=UTC,
        )

    def start(self, *, paused: bool = False) -> None:
        """Start inside the running event loop and bring the jobs in step (never replacing)."""
        _active["runner"] = self.runner
        _active["rescan"] = self.rescan
        self.scheduler.start(paused=paused)
        self._synced.clear()
        subscriptions = self.runner.store.subscriptions()
        for subscription in subscriptions:
            self.sync(subscription)
        known = {job_id(s.id) for s in subscriptions}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest-") and job.id not in known:
                job.remove()
        if self.scheduler.get_job(RETRY_JOB_ID) is None:
            self.scheduler.add_job(
                "bot.scheduling:run_retry_job",
                IntervalTrigger(minutes=RETRY_SWEEP_MINUTES),
                id=RETRY_JOB_ID,
                misfire_grace_time=None,
            )
        if self.rescan is not None and self.scheduler.get_job(RESCAN_JOB_ID) is None:
            self.scheduler.add_job(
                "bot.scheduling:run_rescan_job",
                IntervalTrigger(minutes=self.rescan_minutes),
                id=RESCAN_JOB_ID,
                misfire_grace_time=None,
            )

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if _active.get("runner") is self.runner:
            _active.clear()

    def resync(self) -> None:
        """Bring the jobs in step with subscriptions changed since (by any process): one read
        of the subscriptions, and job store work only for those that changed."""
        subscriptions = self.runner.store.subscriptions()
        for subscription in subscriptions:
            if self._synced.get(subscription.id) != self._state(subscription):
                self.sync(subscription)
        for gone in self._synced.keys() - {s.id for s in subscriptions}:
            self.remove(gone)

    @staticmethod
    def _state(subscription: Subscription) -> tuple[tuple[str, str, str, str], bool]:
        return subscription.schedule_key(), subscription.paused

    def sync(self, subscription: Subscription) -> None:
        """Add the subscription's job if missing, reschedule it if its schedule changed."""
        jid = job_id(subscription.id)
        job = self.scheduler.get_job(jid)
        self._synced[subscription.id] = self._state(subscription)
        if subscription.paused:
            if job is not None:
                job.remove()
            return
        trigger = digest_trigger(subscription)
        grace = int(MISFIRE_GRACE[subscription.cadence].total_seconds())
        if job is None:
            self.scheduler.add_job(
                "bot.scheduling:run_digest_job",
                trigger,
                args=[subscription.id],
                id=jid,
                name=f"digest for channel {subscription.channel_id}",
                misfire_grace_time=grace,
            )
        elif repr(job.trigger) != repr(trigger) or job.misfire_grace_time != grace:
            self.scheduler.reschedule_job(jid, trigger=trigger)
            self.scheduler.modify_job(jid, misfire_grace_time=grace)

    def remove(self, subscription_id: int) -> None:
        self._synced.pop(subscription_id, None)
        job = self.scheduler.get_job(job_id(subscription_id))
        if job is not None:
            job.remove()

    def next_run(self, subscription_id: int) -> datetime | None:
        job = self.scheduler.get_job(job_id(subscription_id))
        return None if job is None else job.next_run_time

    def job_ids(self) -> Sequence[str]:
        return [job.id for job in self.scheduler.get_jobs()]
