"""One digest scheduler leader: the lock, the election, and a leader killed before a digest."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.digest_store import Claim, open_digest_store
from bot.leader import AdvisoryLock, FileLock, Leadership, leader_lock
from bot.scheduling import marker_for
from tests.conftest import ROOT

# ------------------------------------------------------------------------------ the locks


def test_sqlite_has_a_file_lock_beside_the_scheduler_db_and_postgres_an_advisory_lock(tmp_path):
    lock = leader_lock(tmp_path / "bot.db")
    assert isinstance(lock, FileLock) and lock.path == tmp_path / "bot.db.leader"
    assert isinstance(leader_lock("postgresql://u@h/db"), AdvisoryLock)


def test_one_process_at_a_time_holds_the_file_lock(tmp_path):
    path = tmp_path / "bot.db.leader"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom bot.leader import FileLock\n"
         f"lock = FileLock({str(path)!r}); print(lock.try_acquire(), flush=True)\n"
         "sys.stdin.read()"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        here = FileLock(path)
        assert not here.try_acquire()  # the child holds it
        child.kill()
        child.wait(10)
        assert here.try_acquire() and here.held()  # the kernel let go with the child
        here.release()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def backend_pid(lock: AdvisoryLock) -> int:
    assert lock._conn is not None
    return lock._conn.info.backend_pid


@pytest.mark.postgres
def test_one_session_holds_the_advisory_lock_and_the_next_takes_it_when_it_closes(pg_url):
    first, second = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    assert first.try_acquire() and first.held()
    assert not second.try_acquire() and not second.held()
    first.release()
    started = time.monotonic()
    while not second.try_acquire():
        assert time.monotonic() - started < 5, "the lock was not handed over"
        time.sleep(0.05)
    assert second.held()
    second.release()


@pytest.mark.postgres
def test_a_leader_whose_session_was_killed_finds_it_has_lost_the_lock(pg_url):
    leader, follower = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    assert leader.try_acquire()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid(leader)])
    assert not leader.held()
    assert follower.try_acquire()
    assert not leader.try_acquire()  # reconnected, and now a follower
    follower.release()
    leader.release()


# ---------------------------------------------------------------------------- the election


class Process:
    """A stand-in for one bot process's leadership, recording what it was told."""

    def __init__(self, lock: Any) -> None:
        self.events: list[str] = []

        async def elected() -> None:
            self.events.append("elected")

        async def deposed() -> None:
            self.events.append("deposed")

        self.leadership = Leadership(
            lock, on_elected=elected, on_deposed=deposed, check_seconds=0.05, poll_seconds=0.05
        )


async def wait_for(condition: Any, within: float = 5.0) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, "timed out"
        await asyncio.sleep(0.02)


async def test_a_lone_process_leads_from_the_start_and_a_second_follows(tmp_path):
    one, two = Process(FileLock(tmp_path / "x.leader")), Process(FileLock(tmp_path / "x.leader"))
    await one.leadership.start()
    assert one.leadership.is_leader and one.events == ["elected"]  # before start() returned
    await two.leadership.start()
    await asyncio.sleep(0.2)
    assert not two.leadership.is_leader and two.events == []
    await one.leadership.stop()
    assert one.events == ["elected", "deposed"]
    await wait_for(lambda: two.leadership.is_leader)
    await two.leadership.stop()


@pytest.mark.postgres
async def test_when_the_leaders_connection_drops_it_steps_down_and_the_follower_takes_over(pg_url):
    one, two = Process(AdvisoryLock(pg_url)), Process(AdvisoryLock(pg_url))
    await one.leadership.start()
    await two.leadership.start()
    assert (one.leadership.is_leader, two.leadership.is_leader) == (True, False)
    assert isinstance(one.leadership.lock, AdvisoryLock)
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid(one.leadership.lock)])
    await wait_for(lambda: two.leadership.is_leader)
    await wait_for(lambda: "deposed" in one.events)
    await asyncio.sleep(0.3)
    assert one.events == ["elected", "deposed"] and two.events == ["elected"]
    assert not one.leadership.is_leader  # it keeps trying, and finds the lock taken
    for process in (one, two):
        await process.leadership.stop()


# ------------------------------------------- kill the leader before a digest is due, for real


def start_worker(state: Path, database: str, now: datetime) -> subprocess.Popen[str]:
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "BRIEFBOT_TEST_NOW": now.isoformat(),
        "BRIEFBOT_TEST_DATABASE": database, "BRIEFBOT_TEST_POLL_SECONDS": "0.2",
    }  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "tests.digest_worker", str(state)],
        cwd=ROOT, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def read_line(proc: subprocess.Popen[str], within: float = 60) -> dict[str, Any]:
    assert proc.stdout is not None
    ready = select.select([proc.stdout], [], [], within)[0]
    line = proc.stdout.readline() if ready else ""
    assert line, proc.stderr.read() if proc.stderr and proc.poll() is not None else "no line"
    return json.loads(line)


def channel_posts(state: Path) -> list[str]:
    path = state / "channel.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["marker"] for line in lines]


@pytest.mark.postgres
def test_the_leader_killed_before_a_digest_is_due_the_other_process_posts_it_once(tmp_path, pg_url):
    store = open_digest_store(pg_url)
    sub, _ = store.subscribe(
        guild_id=1, channel_id=2, timezone="Europe/Berlin", now="2024-03-20T10:00:00+00:00"
    )
    due = datetime.fromisoformat("2024-03-25T09:00:00+01:00")
    lead_time = timedelta(seconds=8)  # from the first start to the digest: both start in it
    began = time.monotonic()
    first = start_worker(tmp_path, pg_url, due - lead_time)
    second = None
    try:
        assert read_line(first)["leader"] is True
        second = start_worker(
            tmp_path, pg_url, due - lead_time + timedelta(seconds=time.monotonic() - began)
        )
        assert read_line(second) == {"pid": second.pid, "leader": False}
        assert time.monotonic() - began < lead_time.total_seconds() - 1, "started too slowly"
        assert channel_posts(tmp_path) == []
        first.send_signal(signal.SIGKILL)  # the leader dies before Monday 09:00
        first.wait(10)
        taken = read_line(second)
        assert taken["leader"] is True
        assert taken["next_runs"] == {str(sub.id): due.isoformat()}
        period = "2024-03-25T09:00+01:00"
        deadline = time.monotonic() + 30
        while store.ledger_state(sub.id, period) is not Claim.DONE:
            assert time.monotonic() < deadline, "the new leader did not post the digest"
            time.sleep(0.1)
        assert channel_posts(tmp_path) == [marker_for(period)]
        assert second.stdin is not None
        second.stdin.close()
        assert second.wait(30) == 0
        assert channel_posts(tmp_path) == [marker_for(period)]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        store.close()
