"""kill -9 around digest time (issue 16, item 2): exactly one digest per period in every channel.

``python -m benchmarks.digest_kills [--kills 50] [--channels 3] [--database URL]`` runs the real
scheduler, runner, ledger and leader election (``tests/digest_worker.py``: Discord faked at the
process boundary as a file "channel" whose posts are synced to disk) over several weekly periods.
In each period the bot process is started just before the digest is due and SIGKILLed at a
random moment (before it is up, while it reconciles, while it posts, after it posted), again and
again; then it runs once without a kill. At the end every channel must hold exactly one post of
every period, and nothing else. The figures go into ``benchmarks/results/reliability.json``
(``digest_kill_loop``).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "reliability.json"
FIRST_DUE = datetime(2024, 3, 25, 9, 0, tzinfo=UTC)  # a Monday; the subscriptions' 09:00 UTC
KILLS_PER_PERIOD = 10


def _worker(state: Path, now: datetime, database: str | None) -> subprocess.Popen[str]:
    env = {**os.environ, "BRIEFBOT_TEST_NOW": now.isoformat(), "PYTHONPATH": str(ROOT)}
    env.pop("BRIEFBOT_TEST_CRASH", None)
    if database:
        env["BRIEFBOT_TEST_DATABASE"] = database
    return subprocess.Popen(
        [sys.executable, "-m", "tests.digest_worker", str(state)],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def _run_clean(state: Path, now: datetime, database: str | None) -> dict[str, Any]:
    """One run to its end: until it has led and reconciled, then a clean stop."""
    proc = _worker(state, now, database)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready, _, _ = select.select([proc.stdout], [], [], 90)
        line = proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("the digest worker did not start")
        proc.stdin.close()
        proc.wait(90)
        return dict(json.loads(line))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def posts(state: Path) -> list[tuple[int, str]]:
    """(channel id, period marker) of every post, in order."""
    path = state / "channel.jsonl"
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(m["channel_id"], m["marker"]) for m in map(json.loads, filter(None, lines))]


def digest_kill_loop(
    state: Path,
    *,
    kills: int,
    channels: int = 3,
    database: str | None = None,
    seed: int = 0,
    per_period: int = KILLS_PER_PERIOD,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The loop; what it found (``ok`` when every channel has each period exactly once)."""
    from bot.digest_store import open_digest_store
    from bot.scheduling import marker_for

    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    store = open_digest_store(database or state / "bot.db")
    for channel in range(channels):
        store.subscribe(
            guild_id=1,
            channel_id=100 + channel,
            day="mon",
            time="09:00",
            timezone="UTC",
            now=(FIRST_DUE - timedelta(days=3)).isoformat(),
        )
    store.close()
    rng = random.Random(seed)
    periods = max(1, -(-kills // per_period))
    done, started = 0, time.monotonic()
    delays: list[float] = []
    killed_after_posting = 0  # kills in a run that had posted (some of them before "sent")
    for period in range(periods):
        due = FIRST_DUE + timedelta(weeks=period)
        for _ in range(min(per_period, kills - done)):
            # Up a moment before the digest is due, killed at a random point of its life.
            before = len(posts(state))
            proc = _worker(state, due - timedelta(seconds=rng.uniform(0.2, 2.0)), database)
            delay = rng.uniform(0.3, 4.0)
            time.sleep(delay)
            proc.kill()
            proc.wait()
            killed_after_posting += len(posts(state)) > before
            delays.append(round(delay, 2))
            done += 1
        _run_clean(state, due + timedelta(minutes=1), database)  # the next start settles it
        log(f"period {period + 1}/{periods}: {done} kills so far, {len(posts(state))} posts")
    found = collections.Counter(posts(state))
    wanted = {
        (100 + c, marker_for((FIRST_DUE + timedelta(weeks=p)).strftime("%Y-%m-%dT%H:%M+00:00")))
        for c in range(channels)
        for p in range(periods)
    }
    duplicated = sorted(f"{c} {m}" for (c, m), n in found.items() if n > 1)
    lost = sorted(f"{c} {m}" for c, m in wanted - found.keys())
    unexpected = sorted(f"{c} {m}" for c, m in found.keys() - wanted)
    return {
        "kills": done,
        "periods": periods,
        "channels": channels,
        "backend": "postgres" if database else "sqlite",
        "posts": sum(found.values()),
        "expected_posts": len(wanted),
        "duplicated": duplicated,
        "lost": lost,
        "unexpected": unexpected,
        "kill_delays_s": {"min": min(delays, default=0), "max": max(delays, default=0)},
        "kills_in_a_run_that_had_posted": killed_after_posting,
        "seconds": round(time.monotonic() - started, 1),
        "ok": not duplicated and not lost and not unexpected,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite files)")
    args = parser.parse_args(argv)
    from benchmarks.perf import machine_facts

    with tempfile.TemporaryDirectory() as tmp:
        result = digest_kill_loop(
            Path(tmp) / "state", kills=args.kills, channels=args.channels, database=args.database
        )
    result["machine"] = machine_facts()
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["digest_kill_loop" + ("_postgres" if args.database else "")] = result
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
