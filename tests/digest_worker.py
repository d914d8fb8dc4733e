"""Test entry point: the digest scheduler in its own process, with an injected clock.

``python -m tests.digest_worker STATE_DIR`` runs the real DigestRunner and DigestScheduler (real
AsyncIOScheduler, real job store and ledger: SQLite in STATE_DIR/bot.db, or the PostgreSQL of
``BRIEFBOT_TEST_DATABASE``) under the real leader election (bot/leader.py), and posts to a file
"channel" (STATE_DIR/channel.jsonl): Discord is the one thing faked, at the process boundary.

- ``BRIEFBOT_TEST_NOW``: the ISO time the process starts at (its clock runs on from there);
  APScheduler's clock is shifted the same way, so a week passes between two runs in no time.
- ``BRIEFBOT_TEST_CRASH``: ``sending`` (after the ledger says "sending", before the post) or
  ``posted`` (after the post, before "sent"): the process SIGKILLs itself there.

It prints one JSON line once it knows whether it leads (a leader after its start-up
reconciliation), another when it is elected later, and runs until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apscheduler.executors.base
import apscheduler.schedulers.base

from bot.digest_store import Subscription, open_digest_store
from bot.leader import Leadership, leader_lock
from bot.scheduling import DigestRunner, DigestScheduler

_OFFSET = datetime.fromisoformat(os.environ["BRIEFBOT_TEST_NOW"]) - datetime.now(UTC)


class ShiftedDatetime(datetime):
    """``datetime`` whose ``now()`` is the injected test time (running on in real time)."""

    @classmethod
    def now(cls, tz: Any = None) -> ShiftedDatetime:  # type: ignore[override]
        moment = datetime.now(UTC) + _OFFSET
        return moment.astimezone(tz) if tz is not None else moment  # type: ignore[return-value]


apscheduler.schedulers.base.datetime = ShiftedDatetime  # type: ignore[misc]
apscheduler.executors.base.datetime = ShiftedDatetime  # type: ignore[misc]


class FileChannel:
    """A channel that appends each post to a JSON-lines file, synced to disk before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _messages(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    async def find_marker(self, subscription: Subscription, marker: str) -> int | None:
        for message in reversed(self._messages()):
            if message["channel_id"] == subscription.channel_id and message["marker"] == marker:
                return int(message["id"])
        return None

    async def post(self, subscription: Subscription, payload: Any, marker: str) -> int:
        message_id = len(self._messages()) + 1
        line = {"id": message_id, "channel_id": subscription.channel_id, "marker": marker,
                "payload": payload}  # fmt: skip
        with self.path.open("a") as out:
            out.write(json.dumps(line) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return message_id


def build(subscription: Subscription, previous: dict[str, Any] | None) -> tuple[Any, Any]:
    count = (previous or {}).get("count", 0) + 1
    return {"digest": count}, {"count": count}


def crash_at(stage: str) -> None:
    if os.environ.get("BRIEFBOT_TEST_CRASH") == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def report(**fields: Any) -> None:
    sys.stdout.write(json.dumps({"pid": os.getpid(), **fields}) + "\n")
    sys.stdout.flush()


async def main(state: Path) -> None:
    location = os.environ.get("BRIEFBOT_TEST_DATABASE") or str(state / "bot.db")
    store = open_digest_store(location)
    runner = DigestRunner(
        store, build, FileChannel(state / "channel.jsonl"),
        clock=lambda: ShiftedDatetime.now(UTC), on_stage=crash_at,
    )  # fmt: skip
    scheduler = DigestScheduler(runner, location)

    async def lead() -> None:
        scheduler.start()
        outcomes = await runner.reconcile()
        next_runs = {
            str(s.id): (run.isoformat() if (run := scheduler.next_run(s.id)) else None)
            for s in store.subscriptions()
        }
        report(leader=True, reconciled=outcomes, next_runs=next_runs)

    async def follow() -> None:
        scheduler.shutdown()

    poll = float(os.environ.get("BRIEFBOT_TEST_POLL_SECONDS", "5"))
    leadership = Leadership(
        leader_lock(location), on_elected=lead, on_deposed=follow, poll_seconds=poll
    )
    await leadership.start()
    if not leadership.is_leader:
        report(leader=False)
    await asyncio.to_thread(sys.stdin.read)
    await asyncio.sleep(0)  # let a job the scheduler just started take its lock
    await runner.drain()
    await leadership.stop()
    store.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
