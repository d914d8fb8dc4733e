"""Digest scheduling: pure triggers, the ledger state machine, and exactly-once across crashes."""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.digest_store import Claim, Subscription, open_digest_store
from bot.scheduling import (
    RETRY_ATTEMPTS,
    RETRY_JOB_ID,
    DeliveryBlocked,
    DigestRunner,
    DigestScheduler,
    digest_trigger,
    latest_fire_time,
    marker_for,
    parse_time,
    period_key,
)
from index.store import is_postgres_url
from tests.conftest import ROOT

BERLIN = ZoneInfo("Europe/Berlin")
CREATED = "2024-03-18T12:00:00+00:00"


def subscription(**overrides: Any) -> Subscription:
    values: dict[str, Any] = {
        "id": 1, "guild_id": 10, "channel_id": 20, "cadence": "weekly", "day": "mon",
        "time": "09:00", "timezone": "Europe/Berlin", "topic": None, "mention_role_id": None,
        "paused_reason": None, "created_at": CREATED, "updated_at": CREATED,
    }  # fmt: skip
    return Subscription(**{**values, **overrides})


# ----------------------------------------------------------------------------- triggers


def test_weekly_monday_nine_berlin_keeps_local_time_across_the_spring_dst_change():
    trigger = digest_trigger(subscription())
    first = trigger.get_next_fire_time(None, datetime(2024, 3, 20, tzinfo=UTC))
    assert first == datetime(2024, 3, 25, 9, 0, tzinfo=BERLIN)
    assert first.astimezone(UTC) == datetime(2024, 3, 25, 8, 0, tzinfo=UTC)
    # clocks go forward on Sunday 31 March: the next Monday is still 09:00 local, 07:00 UTC
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert second.astimezone(UTC) == datetime(2024, 4, 1, 7, 0, tzinfo=UTC)
    assert second.astimezone(BERLIN).hour == 9


def test_weekly_trigger_across_the_autumn_dst_change():
    trigger = digest_trigger(subscription())
    fire = trigger.get_next_fire_time(None, datetime(2024, 10, 22, tzinfo=UTC))
    assert fire.astimezone(UTC) == datetime(2024, 10, 28, 8, 0, tzinfo=UTC)
    assert period_key(fire) == "2024-10-28T09:00+01:00"


def test_daily_trigger_fires_every_day_at_the_local_time():
    trigger = digest_trigger(
        subscription(cadence="daily", time="18:30", timezone="America/New_York")
    )
    now = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)
    fires = []
    fire = trigger.get_next_fire_time(None, now)
    for _ in range(3):
        fires.append(fire.astimezone(UTC))
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    # 18:30 EST is 23:30 UTC; after 10 March (EDT) it is 22:30 UTC
    assert fires == [
        datetime(2024, 3, 9, 23, 30, tzinfo=UTC),
        datetime(2024, 3, 10, 22, 30, tzinfo=UTC),
        datetime(2024, 3, 11, 22, 30, tzinfo=UTC),
    ]


def test_a_daily_time_the_autumn_change_repeats_is_one_period_and_never_hangs():
    trigger = digest_trigger(subscription(cadence="daily", time="02:30"))
    # 27 Oct 2024: 02:30 Berlin happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET)
    first = latest_fire_time(trigger, datetime(2024, 10, 27, 0, 31, tzinfo=UTC))
    second = latest_fire_time(trigger, datetime(2024, 10, 27, 1, 31, tzinfo=UTC))
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert period_key(first) == period_key(second) == "2024-10-27T02:30+02:00"
    later = latest_fire_time(trigger, datetime(2024, 10, 29, 12, 0, tzinfo=UTC))
    assert later == datetime(2024, 10, 29, 2, 30, tzinfo=BERLIN)


def test_a_daily_time_the_spring_change_skips_still_gets_its_digest():
    trigger = digest_trigger(subscription(cadence="daily", time="02:30"))
    # 31 Mar 2024: clocks jump from 02:00 to 03:00 in Berlin; that day's run is not lost
    fire = latest_fire_time(trigger, datetime(2024, 3, 31, 3, 0, tzinfo=UTC))
    assert fire is not None and fire.astimezone(UTC).date().isoformat() == "2024-03-31"
    assert period_key(fire).startswith("2024-03-31T")


def test_latest_fire_time_is_the_last_run_at_or_before_now():
    trigger = digest_trigger(subscription())
    now = datetime(2024, 4, 3, 12, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, now) == datetime(2024, 4, 1, 9, 0, tzinfo=BERLIN)
    exactly = datetime(2024, 4, 1, 7, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, exactly) == exactly


def test_due_period_respects_grace_and_subscription_start():
    runner = DigestRunner(None, None, None)  # type: ignore[arg-type]
    sub = subscription()
    monday = datetime(2024, 3, 25, 8, 0, 30, tzinfo=UTC)
    assert runner.due_period(sub, monday) == "2024-03-25T09:00+01:00"
    assert runner.due_period(sub, monday + timedelta(days=1)) == "2024-03-25T09:00+01:00"
    assert runner.due_period(sub, monday + timedelta(days=3)) is None  # beyond the grace time
    late_sub = subscription(updated_at="2024-03-25T08:30:00+00:00")
    assert runner.due_period(late_sub, monday + timedelta(hours=1)) is None


@pytest.mark.parametrize(
    ("text", "expected"), [("9", "09:00"), ("9:30", "09:30"), ("23:59", "23:59")]
)
def test_parse_time_accepts_clock_times(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9:60", "nine", "", "-1"])
def test_parse_time_rejects_anything_else(text):
    with pytest.raises(ValueError):
        parse_time(text)


# ------------------------------------------------------------------------------- ledger


@pytest.fixture
def digest_location(index_location: str) -> str:
    """The digest store's database, once per backend: a SQLite file, then PostgreSQL."""
    return index_location


@pytest.fixture
def store(digest_location):
    store = open_digest_store(digest_location)
    yield store
    store.close()


def test_ledger_moves_from_new_to_sending_to_sent(store):
    sub, created = store.subscribe(guild_id=1, channel_id=2)
    assert created
    assert store.ledger_state(sub.id, "p1") is Claim.NEW
    store.mark_sending(sub.id, "p1", {"documents": ["a"]})
    assert store.ledger_state(sub.id, "p1") is Claim.UNCERTAIN
    assert store.last_snapshot(sub.id) is None  # not until the post is recorded
    store.mark_sent(sub.id, "p1", 99)
    assert store.ledger_state(sub.id, "p1") is Claim.DONE
    assert store.ledger_entry(sub.id, "p1").message_id == 99
    assert store.last_snapshot(sub.id) == {"documents": ["a"]}
    with pytest.raises(ValueError):
        store.mark_sending(sub.id, "p1", None)


def test_failed_entries_stay_uncertain_and_can_pause(store):
    sub, _ = store.subscribe(guild_id=1, channel_id=2)
    store.mark_sending(sub.id, "p1", None)
    store.mark_failed(sub.id, "p1", "missing permission", pause=True)
    assert store.ledger_state(sub.id, "p1") is Claim.UNCERTAIN
    assert store.subscription(sub.id).paused_reason == "missing permission"
    assert [e.period for e in store.uncertain()] == ["p1"]


def test_one_subscription_per_channel_and_resubscribing_updates_and_unpauses(store):
    sub, _ = store.subscribe(guild_id=1, channel_id=2)
    store.pause(sub.id, "gone")
    again, created = store.subscribe(guild_id=1, channel_id=2, cadence="daily", time="07:15")
    assert not created and again.id == sub.id
    assert (again.cadence, again.time, again.paused) == ("daily", "07:15", False)
    assert len(store.subscriptions()) == 1


def test_unsubscribe_removes_ledger_and_snapshot(store):
    sub, _ = store.subscribe(guild_id=1, channel_id=2)
    store.mark_sending(sub.id, "p1", {"x": 1})
    store.mark_sent(sub.id, "p1", 5)
    assert store.unsubscribe(2).id == sub.id
    assert store.ledger() == [] and store.last_snapshot(sub.id) is None
    assert store.unsubscribe(2) is None


def test_ledger_survives_reopening_the_database(digest_location):
    first = open_digest_store(digest_location)
    sub, _ = first.subscribe(guild_id=1, channel_id=2)
    first.mark_sending(sub.id, "p1", None)
    first.close()
    second = open_digest_store(digest_location)
    assert second.ledger_state(sub.id, "p1") is Claim.UNCERTAIN
    second.close()


# ------------------------------------------------------------------------ the runner


class MemoryChannel:
    def __init__(self) -> None:
        self.posts: list[tuple[int, str]] = []
        self.fail_with: BaseException | None = None

    async def find_marker(self, sub: Subscription, marker: str) -> int | None:
        return next((i for i, (_, m) in enumerate(self.posts, 1) if m == marker), None)

    async def post(self, sub: Subscription, payload: Any, marker: str) -> int:
        if self.fail_with is not None:
            raise self.fail_with
        await asyncio.sleep(0)  # a real post yields to the loop
        self.posts.append((sub.channel_id, marker))
        return len(self.posts)


def make_runner(store, channel, now):
    def build(sub, previous):
        return "digest", {"n": ((previous or {}).get("n", 0)) + 1}

    return DigestRunner(store, build, channel, clock=lambda: now)


MONDAY = datetime(2024, 3, 25, 8, 0, 5, tzinfo=UTC)
PERIOD = "2024-03-25T09:00+01:00"


def subscribe(store) -> Subscription:
    sub, _ = store.subscribe(
        guild_id=1, channel_id=2, timezone="Europe/Berlin", now="2024-03-18T00:00:00+00:00"
    )
    return sub


async def test_two_concurrent_runs_of_one_period_post_once(store):
    channel = MemoryChannel()
    runner = make_runner(store, channel, MONDAY)
    sub = subscribe(store)
    results = await asyncio.gather(runner.run_due(sub.id), runner.run_due(sub.id))
    assert sorted(results) == ["already sent", "sent"]
    assert channel.posts == [(2, marker_for(PERIOD))]
    assert store.last_snapshot(sub.id) == {"n": 1}


async def test_sending_entry_with_its_marker_in_the_channel_is_not_posted_again(store):
    channel = MemoryChannel()
    sub = subscribe(store)
    store.mark_sending(sub.id, PERIOD, {"n": 1})
    channel.posts.append((2, marker_for(PERIOD)))  # the post went out, then the crash
    outcomes = await make_runner(store, channel, MONDAY).reconcile()
    assert outcomes == [(sub.id, PERIOD, "found"), (sub.id, PERIOD, "already sent")]
    assert len(channel.posts) == 1
    assert store.ledger_state(sub.id, PERIOD) is Claim.DONE
    assert store.last_snapshot(sub.id) == {"n": 1}


async def test_missing_channel_pauses_the_subscription_and_calls_back(store, caplog):
    channel = MemoryChannel()
    channel.fail_with = DeliveryBlocked("channel 2 no longer exists")
    paused = []
    runner = make_runner(store, channel, MONDAY)
    runner.on_paused = paused.append
    sub = subscribe(store)
    assert await runner.run_due(sub.id) == "paused"
    assert store.subscription(sub.id).paused
    assert [p.id for p in paused] == [sub.id]
    assert "paused digests for channel 2" in caplog.text
    assert await runner.run_due(sub.id) == "inactive"


async def test_a_failed_post_is_retried_by_the_next_reconcile_without_duplicates(store):
    channel = MemoryChannel()
    channel.fail_with = RuntimeError("503 after retries")
    runner = make_runner(store, channel, MONDAY)
    sub = subscribe(store)
    assert await runner.run_due(sub.id) == "failed"
    assert not store.subscription(sub.id).paused
    channel.fail_with = None
    await runner.reconcile()
    await runner.reconcile()
    assert channel.posts == [(2, marker_for(PERIOD))]


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def failing_runner(store) -> tuple[MemoryChannel, Clock, DigestRunner]:
    """A runner on Monday morning whose channel answers 503 until told otherwise."""
    channel = MemoryChannel()
    channel.fail_with = RuntimeError("503 Service Unavailable")
    clock = Clock(MONDAY)
    return channel, clock, DigestRunner(store, lambda s, p: ("digest", None), channel, clock=clock)


async def test_a_failed_post_is_retried_with_backoff_while_still_on_time(store):
    channel, clock, runner = failing_runner(store)
    sub = subscribe(store)
    assert await runner.run_due(sub.id) == "failed"
    assert await runner.retry_failed() == []  # not before the first delay
    clock.now += timedelta(minutes=6)
    assert await runner.retry_failed() == [(sub.id, PERIOD, "failed")]  # still down
    clock.now += timedelta(minutes=6)
    assert await runner.retry_failed() == []  # the second delay is longer
    channel.fail_with = None
    clock.now += timedelta(minutes=5)
    assert await runner.retry_failed() == [(sub.id, PERIOD, "sent")]
    clock.now += timedelta(hours=1)
    assert await runner.retry_failed() == []
    assert channel.posts == [(2, marker_for(PERIOD))]
    assert store.ledger_state(sub.id, PERIOD) is Claim.DONE


async def test_one_digest_on_the_day_the_clocks_go_back(store):
    channel = MemoryChannel()
    sub, _ = store.subscribe(
        guild_id=1, channel_id=2, cadence="daily", time="02:30", timezone="Europe/Berlin",
        now="2024-10-20T00:00:00+00:00",
    )  # fmt: skip
    outcomes = []
    for fired in (
        datetime(2024, 10, 27, 0, 30, 5, tzinfo=UTC),
        datetime(2024, 10, 27, 1, 30, 5, tzinfo=UTC),
    ):
        outcomes.append(await make_runner(store, channel, fired).run_due(sub.id))
    assert outcomes == ["sent", "already sent"]
    assert channel.posts == [(2, marker_for("2024-10-27T02:30+02:00"))]


async def test_retries_stop_after_the_grace_time_or_the_last_attempt(store):
    channel, clock, runner = failing_runner(store)
    sub = subscribe(store)
    await runner.run_due(sub.id)
    tries = 1
    for _ in range(50):
        clock.now += timedelta(minutes=30)
        tries += len(await runner.retry_failed())
    assert tries == RETRY_ATTEMPTS
    assert store.ledger_entry(sub.id, PERIOD).attempts == RETRY_ATTEMPTS
    clock.now = MONDAY + timedelta(days=3)  # the week's digest is too late now, even for a try
    channel.fail_with = None
    store._conn.execute("UPDATE ledger SET attempts = 1")
    assert await runner.retry_failed() == []
    assert channel.posts == []


def test_the_scheduler_keeps_one_retry_sweep_across_restarts(digest_location):
    store = open_digest_store(digest_location)
    runner = make_runner(store, MemoryChannel(), MONDAY)

    async def start_twice() -> list[str]:
        for _ in range(2):
            scheduler = DigestScheduler(runner, digest_location)
            scheduler.start(paused=True)
            ids = list(scheduler.job_ids())
            scheduler.shutdown()
        return ids

    assert asyncio.run(start_twice()) == [RETRY_JOB_ID]
    store.close()


# --------------------------------------------------------------------- the scheduler


async def test_restart_never_replaces_an_existing_job_and_keeps_its_missed_run(digest_location):
    store = open_digest_store(digest_location)
    sub = subscribe(store)
    runner = make_runner(store, MemoryChannel(), MONDAY)
    first = DigestScheduler(runner, digest_location)
    first.start(paused=True)
    assert first.next_run(sub.id) is not None
    missed = datetime(2024, 3, 25, 8, 0, tzinfo=UTC)
    first.scheduler.modify_job(f"digest-{sub.id}", next_run_time=missed)
    first.shutdown()

    second = DigestScheduler(runner, digest_location)
    second.start(paused=True)
    assert second.next_run(sub.id) == missed  # still due: the restart did not recompute it
    job = second.scheduler.get_job(f"digest-{sub.id}")
    assert job.coalesce and job.misfire_grace_time >= 3600
    changed, _ = store.subscribe(guild_id=1, channel_id=2, time="10:00", timezone="Europe/Berlin")
    second.sync(changed)
    assert second.next_run(sub.id).astimezone(BERLIN).hour == 10
    second.shutdown()
    store.close()


# -------------------------------------------------------- kill -9 and restart, for real


def run_in_worker(
    state: Path, now: str, crash: str | None = None, *, database: str | None = None
) -> dict[str, Any] | None:
    """Run tests.digest_worker at ``now``; None when it killed itself at ``crash``."""
    env = {**os.environ, "BRIEFBOT_TEST_NOW": now, "PYTHONPATH": str(ROOT)}
    if database:
        env["BRIEFBOT_TEST_DATABASE"] = database
    if crash:
        env["BRIEFBOT_TEST_CRASH"] = crash
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.digest_worker", str(state)],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        if crash:
            proc.wait(60)
            assert proc.returncode == -9, proc.stderr.read() if proc.stderr else ""
            return None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert line, proc.stderr.read() if proc.stderr else "worker did not start"
        proc.stdin.close()
        assert proc.wait(60) == 0
        return json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def posts(state: Path) -> list[str]:
    path = state / "channel.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["marker"] for line in path.read_text().splitlines()]


def test_exactly_one_digest_per_period_across_kills_and_restarts(tmp_path, digest_location):
    database = digest_location if is_postgres_url(digest_location) else None
    store = open_digest_store(database or tmp_path / "bot.db")

    def run_worker(now: str, crash: str | None = None) -> dict[str, Any] | None:
        return run_in_worker(tmp_path, now, crash, database=database)

    sub, _ = store.subscribe(
        guild_id=1, channel_id=2, timezone="Europe/Berlin", now="2024-03-20T10:00:00+00:00"
    )
    # Wednesday: the bot starts and schedules Monday 25 March 09:00 Berlin.
    first = run_worker("2024-03-20T10:00:00+00:00")
    assert first["next_runs"] == {str(sub.id): "2024-03-25T09:00:00+01:00"}
    assert posts(tmp_path) == []

    week1 = marker_for("2024-03-25T09:00+01:00")
    # Monday 09:00:01: killed after "sending", before the post.
    run_worker("2024-03-25T08:00:01+00:00", crash="sending")
    assert posts(tmp_path) == []
    assert store.ledger_state(sub.id, "2024-03-25T09:00+01:00") is Claim.UNCERTAIN
    # Restart a minute later: the digest is posted, once.
    run_worker("2024-03-25T08:01:00+00:00")
    assert posts(tmp_path) == [week1]
    assert store.ledger_state(sub.id, "2024-03-25T09:00+01:00") is Claim.DONE

    week2 = marker_for("2024-04-01T09:00+02:00")  # after the DST change
    # Next Monday: killed after the post, before "sent"; the restart finds the marker.
    run_worker("2024-04-01T07:00:02+00:00", crash="posted")
    assert posts(tmp_path) == [week1, week2]
    again = run_worker("2024-04-01T07:05:00+00:00")
    assert posts(tmp_path) == [week1, week2]
    assert again["reconciled"][0][2] == "found"

    # Down for two weeks: one coalesced digest for the latest period, none for the one missed.
    week4 = marker_for("2024-04-15T09:00+02:00")
    run_worker("2024-04-15T09:30:00+00:00")
    run_worker("2024-04-15T10:00:00+00:00")
    assert posts(tmp_path) == [week1, week2, week4]
    assert [e.status for e in store.ledger(sub.id)] == ["sent", "sent", "sent"]
    store.close()
