"""The digest store shared by several processes on one PostgreSQL: claims race, one post wins.

Each store here is its own connection, as each bot process has; the races are real (threads
released together by a barrier), on a real server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from bot.digest_store import Claim, DigestStore, open_digest_store
from bot.digest_store_pg import PgDigestStore
from bot.scheduling import DigestRunner, marker_for
from index.errors import IncompatibleIndex
from index.postgres import pyformat as to_pyformat
from tests.test_scheduling import MONDAY, PERIOD, MemoryChannel, subscribe

pytestmark = pytest.mark.postgres


@pytest.fixture
def stores(pg_url) -> Iterator[list[DigestStore]]:
    """Two processes' digest stores on one database."""
    opened = [open_digest_store(pg_url) for _ in range(2)]
    yield opened
    for store in opened:
        store.close()


def at_once(*calls: Any) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_a_postgres_url_opens_the_postgres_store(pg_url):
    store = open_digest_store(pg_url)
    assert isinstance(store, PgDigestStore)
    store.close()


def test_placeholders_become_psycopgs_and_a_literal_percent_survives():
    assert to_pyformat("SELECT ? WHERE a LIKE '5%'") == "SELECT %s WHERE a LIKE '5%%'"


def test_of_two_connections_claiming_a_new_period_at_once_exactly_one_wins(stores):
    first, second = stores
    sub = subscribe(first)
    for week in range(20):
        period = f"2024-W{week:02d}"
        wins = at_once(
            lambda s=first, p=period: s.claim(sub.id, p, {"by": "first"}),
            lambda s=second, p=period: s.claim(sub.id, p, {"by": "second"}),
        )
        assert sorted(wins) == [False, True], period
        for store in stores:
            store.release(sub.id)
    assert len(first.ledger(sub.id)) == 20


def test_two_takeovers_of_one_unsettled_period_at_once_only_one_wins(stores, pg_url):
    dead = open_digest_store(pg_url)
    sub = subscribe(dead)
    dead.mark_sending(sub.id, PERIOD, None)  # then the process died
    dead.close()
    first, second = stores
    seen = first.ledger_entry(sub.id, PERIOD)
    wins = at_once(
        lambda: first.claim(sub.id, PERIOD, None, over=seen),
        lambda: second.claim(sub.id, PERIOD, None, over=seen),
    )
    assert sorted(wins) == [False, True]
    assert first.ledger_entry(sub.id, PERIOD).claims == seen.claims + 1


def test_a_post_under_way_in_a_live_process_is_not_taken_over_until_that_process_is_gone(pg_url):
    posting, other = open_digest_store(pg_url), open_digest_store(pg_url)
    sub = subscribe(posting)
    assert posting.claim(sub.id, PERIOD, None)  # and now it posts ...
    seen = other.ledger_entry(sub.id, PERIOD)
    assert other.ledger_state(sub.id, PERIOD) is Claim.UNCERTAIN
    assert not other.claim(sub.id, PERIOD, None, over=seen)  # ... so the other must not
    posting.close()  # the process died mid-post: its session, and its claim lock, end
    assert other.claim(sub.id, PERIOD, None, over=seen)
    other.close()


def test_a_sent_period_cannot_be_claimed_again_from_any_connection(stores):
    first, second = stores
    sub = subscribe(first)
    assert first.claim(sub.id, PERIOD, {"n": 1})
    first.mark_sent(sub.id, PERIOD, 42)
    first.release(sub.id)
    entry = second.ledger_entry(sub.id, PERIOD)
    assert entry.status == "sent" and entry.message_id == 42
    assert not second.claim(sub.id, PERIOD, None, over=entry)
    assert second.last_snapshot(sub.id) == {"n": 1}


def test_two_processes_subscribing_one_channel_at_once_make_one_subscription(stores):
    first, second = stores
    results = at_once(
        lambda: first.subscribe(guild_id=1, channel_id=2, time="08:00"),
        lambda: second.subscribe(guild_id=1, channel_id=2, time="10:00"),
    )
    assert sorted(created for _, created in results) == [False, True]
    assert len({sub.id for sub, _ in results}) == 1
    assert len(first.subscriptions()) == 1


def make_runners(stores: list[DigestStore], channel: MemoryChannel) -> list[DigestRunner]:
    """One runner per store, whose first builds wait for each other: both have read the ledger
    before either claims."""
    built = threading.Barrier(len(stores))

    def runner(store: DigestStore) -> DigestRunner:
        first = threading.Event()

        def build(sub, previous):
            if not first.is_set():
                first.set()
                built.wait(timeout=10)
            return "digest", {"n": 1}

        return DigestRunner(store, build, channel, clock=lambda: MONDAY)

    return [runner(store) for store in stores]


async def test_two_schedulers_running_one_period_at_once_post_it_exactly_once(stores):
    channel = MemoryChannel()
    sub = subscribe(stores[0])
    runners = make_runners(stores, channel)
    outcomes = await asyncio.gather(*(runner.run_due(sub.id) for runner in runners))
    assert sorted(outcomes) == ["claimed elsewhere", "sent"]
    assert channel.posts == [(2, marker_for(PERIOD))]
    for store in stores:
        assert store.ledger_state(sub.id, PERIOD) is Claim.DONE


async def test_two_leaders_settling_a_dead_leaders_sending_entry_post_it_once(stores, pg_url):
    dead = open_digest_store(pg_url)
    sub = subscribe(dead)
    dead.mark_sending(sub.id, PERIOD, {"n": 1})  # killed before the post went out
    dead.close()
    channel = MemoryChannel()
    runners = make_runners(stores, channel)
    outcomes = await asyncio.gather(*(runner.reconcile() for runner in runners))
    assert channel.posts == [(2, marker_for(PERIOD))]
    results = sorted(result for outcome in outcomes for _, _, result in outcome)
    assert results.count("sent") == 1 and "failed" not in results


def test_a_dropped_connection_is_opened_again_on_the_next_call(pg_url):
    store = open_digest_store(pg_url)
    sub = subscribe(store)
    assert isinstance(store, PgDigestStore)
    pid = store._conn.info.backend_pid
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(psycopg.OperationalError):
        store.subscriptions()  # the call that finds the connection gone fails ...
    assert [s.id for s in store.subscriptions()] == [sub.id]  # ... the next one reconnects
    store.close()


def test_processes_opening_a_new_database_together_migrate_it_once(pg_url):
    opened = at_once(*(lambda: open_digest_store(pg_url) for _ in range(3)))
    with psycopg.connect(pg_url) as conn:
        version = conn.execute("SELECT value FROM digest_meta WHERE key = 'schema_version'")
        assert version.fetchone() == ("4",)
    for store in opened:
        store.close()


def test_a_schema_newer_than_this_briefbot_is_refused(pg_url):
    open_digest_store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE digest_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(IncompatibleIndex, match="schema version 99"):
        open_digest_store(pg_url)
