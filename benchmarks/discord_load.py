"""Concurrent /brief interactions against the local Discord (issue 16, item 7).

The bot runs as ``briefbot run`` in its own process, pointed at the twin (tests/discord_twin),
over the seeds; this process only plays the users. The twin stamps, on one monotonic clock, when
each INTERACTION_CREATE left its gateway, when the bot's callback (the acknowledgement Discord
wants within 3 s) arrived and when its first message for it (the answer) arrived
(``GET /_twin/timings``), so the figures do not include this process's polling.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TWIN_DIR = ROOT / "tests" / "discord_twin"
SEEDS = ROOT / "seeds"

TOPICS = (
    "russia china partnership",
    "gas pipeline to china",
    "joint military exercises",
    "trade in yuan and roubles",
    "sanctions after the invasion of ukraine",
    "xi jinping visit to moscow",
    "arctic shipping route",
    "central asia influence",
    "energy exports to china",
    "asymmetric relationship",
)
PREFIXES = ("rus", "chi", "ene", "sib", "mil", "tra", "san", "xi", "arc", "asy")


@dataclass(frozen=True)
class Timing:
    """One interaction as the twin saw it (milliseconds after it went out; None: never)."""

    interaction_id: str
    kind: str  # "brief" or "autocomplete"
    sent_ms: float  # after the burst's first interaction went out
    ack_ms: float | None
    answer_ms: float | None


def slash_body(name: str, user_id: str, **options: Any) -> dict[str, Any]:
    """A control-API body for ``/name option:value`` sent by ``user_id``."""
    kinds = {bool: 5, int: 4, float: 10, str: 3}
    opts = [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]
    return {"type": 2, "data": {"name": name, "type": 1, "options": opts}, "userId": user_id}


def autocomplete_body(name: str, option: str, value: str, user_id: str) -> dict[str, Any]:
    data = {
        "name": name,
        "type": 1,
        "options": [{"name": option, "type": 3, "value": value, "focused": True}],
    }
    return {"type": 4, "data": data, "userId": user_id}


async def burst(
    session: aiohttp.ClientSession,
    control: str,
    bodies: Sequence[tuple[str, dict[str, Any]]],
    *,
    within: float = 30.0,
    together: bool = False,
) -> list[Timing]:
    """Send every (kind, body) at once through the twin; wait until all are answered or
    ``within`` seconds passed; their timings, in the order sent.

    ``together``: the twin holds the interactions back until it has created them all, then
    sends them in one go (otherwise each goes out as soon as it is created).
    """

    async def send(body: dict[str, Any]) -> str:
        async with session.post(f"{control}/interactions", json=body) as r:
            r.raise_for_status()
            return str((await r.json())["id"])

    if together:
        async with session.post(f"{control}/hold", json={"on": True}) as r:
            r.raise_for_status()
    ids = list(await asyncio.gather(*(send(body) for _, body in bodies)))
    if together:
        async with session.post(f"{control}/release") as r:
            assert (await r.json())["released"] == len(ids)
    deadline = time.monotonic() + within
    rows: dict[str, dict[str, float]] = {}
    while time.monotonic() < deadline:
        async with session.get(f"{control}/timings") as r:
            rows = await r.json()
        if all("answered" in rows.get(i, {}) for i in ids):
            break
        await asyncio.sleep(0.2)

    def after(row: dict[str, float], what: str) -> float | None:
        return round(row[what] - row["sent"], 1) if what in row else None

    first = min((rows[i]["sent"] for i in ids if i in rows), default=0.0)
    return [
        Timing(
            i,
            kind,
            round(rows.get(i, {}).get("sent", first) - first, 1),
            after(rows.get(i, {}), "acknowledged"),
            after(rows.get(i, {}), "answered"),
        )
        for i, (kind, _) in zip(ids, bodies, strict=True)
    ]


def most_in_flight(timings: Sequence[Timing]) -> int:
    """The most interactions sent and not yet answered at any one moment."""
    events = []
    for t in timings:
        if t.answer_ms is not None:
            events += [(t.sent_ms, 1), (t.sent_ms + t.answer_ms, -1)]
    in_flight = peak = 0
    for _, change in sorted(events):
        in_flight += change
        peak = max(peak, in_flight)
    return peak


def percentiles(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """p50, p95 and the largest of the values that came (nearest rank), and how many did not."""
    got = sorted(v for v in values if v is not None)

    def rank(q: float) -> float | None:
        if not got:
            return None
        return got[min(len(got) - 1, max(0, round(q * len(got) + 0.5) - 1))]

    return {
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "max_ms": got[-1] if got else None,
        "missing": len(values) - len(got),
    }


@contextmanager
def running_twin(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``node twin.mjs CONFIG``; yields its info line."""
    proc = subprocess.Popen(
        ["node", "twin.mjs", json.dumps(config)],
        cwd=TWIN_DIR,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "TWIN_EXIT_ON_STDIN_EOF": "1"},
    )
    try:
        assert proc.stdout is not None
        ready = select.select([proc.stdout], [], [], 60)[0]
        line = proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("the Discord twin did not start (npm ci in tests/discord_twin?)")
        yield {**json.loads(line), "pid": proc.pid}
    finally:
        proc.terminate()
        proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait_until_serving(
    session: aiohttp.ClientSession, control: str, user_id: str, bot: subprocess.Popen[bytes]
) -> None:
    for _ in range(600):
        if bot.poll() is not None:
            raise RuntimeError(f"the bot exited with status {bot.returncode}")
        async with session.get(f"{control}/commands") as r:
            names = {c["name"] for c in await r.json()}
        if "brief" in names:
            break
        await asyncio.sleep(0.1)
    # The gateway may still be connecting: the first brief retried until it is answered.
    for _ in range(30):
        [warm] = await burst(
            session, control, [("brief", slash_body("brief", user_id, topic=TOPICS[0]))], within=5
        )
        if warm.answer_ms is not None:
            return
    raise RuntimeError("the bot never answered a /brief")


MODES = {
    # The twin creates the whole burst, then sends it: every event reaches the bot at once.
    "released_together": True,
    # Requested at once, each sent as soon as the twin created it (about 0.7 s for the burst),
    # while the twin's creating the rest competes with its answering the bot.
    "as_created": False,
}


def _summary(timings: Sequence[Timing]) -> dict[str, Any]:
    briefs = [t for t in timings if t.kind == "brief"]
    completions = [t for t in timings if t.kind == "autocomplete"]
    return {
        "interactions": len(briefs),
        "acknowledged": sum(t.ack_ms is not None for t in briefs),
        "answered": sum(t.answer_ms is not None for t in briefs),
        "lost": sum(t.ack_ms is None or t.answer_ms is None for t in briefs),
        "ack": percentiles([t.ack_ms for t in briefs]),
        "answer": percentiles([t.answer_ms for t in briefs]),
        "autocomplete": percentiles([t.answer_ms for t in completions]),
    }


async def _measure(
    info: dict[str, Any],
    users: list[str],
    bot: subprocess.Popen[bytes],
    *,
    concurrent: int,
    autocompletes: int,
    rounds: int,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, list[Timing]]]:
    control = info["control"]
    channel = info["channels"]["general"]
    every: dict[str, list[Timing]] = {}
    out: dict[str, Any] = {}
    # A fresh connection per request: node closes idle keep-alive connections after 5 s, and a
    # request sent on one just closed fails (ServerDisconnectedError).
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        await _wait_until_serving(session, control, users[-1], bot)
        for m, (mode, together) in enumerate(MODES.items()):
            timings: list[Timing] = []
            per_round = []
            cpu_before = cpu_seconds(bot.pid)
            twin_before = cpu_seconds(info["pid"])
            started = time.monotonic()
            for round_ in range(rounds):
                # Each user asks once, so no one hits the per-user cooldown.
                first = (m * rounds + round_) * concurrent
                mine = users[first : first + concurrent]
                bodies = [
                    ("brief", slash_body("brief", user, topic=TOPICS[i % len(TOPICS)]))
                    for i, user in enumerate(mine)
                ]
                bodies += [
                    ("autocomplete", autocomplete_body("brief", "topic", PREFIXES[i % 10], mine[i]))
                    for i in range(autocompletes)
                ]
                for _, body in bodies:
                    body["channelId"] = channel
                got = await burst(session, control, bodies, together=together)
                timings.extend(got)
                per_round.append(
                    {
                        **_summary(got),
                        "arrival_spread_ms": max(t.sent_ms for t in got),
                        "most_in_flight": most_in_flight(got),
                        "load_average": [round(x, 2) for x in os.getloadavg()],
                    }
                )
                log(f"{mode} round {round_ + 1}: {per_round[-1]}")
                await asyncio.sleep(1.0)
            out[mode] = {
                **_summary(timings),
                "rounds": per_round,
                "bot_cpu_seconds": round(cpu_seconds(bot.pid) - cpu_before, 2),
                "twin_cpu_seconds": round(cpu_seconds(info["pid"]) - twin_before, 2),
                "wall_seconds": round(time.monotonic() - started, 1),
            }
            every[mode] = timings
        async with session.get(f"{control}/channels/{channel}/messages") as r:
            messages = await r.json()
    out["answered_with_quotes"] = -1 + sum(  # less the warm-up brief
        1
        for m in messages
        if m["author"]["id"] == info["botUserId"]
        and m.get("embeds")
        and not (m.get("flags") or 0) & 64
    )
    return out, every


def in_the_bot(trace: Path, timings: Sequence[Timing]) -> dict[str, Any]:
    """The bot's own share, from its trace: gateway event to the acknowledgement's request,
    the acknowledgement's round trip, gateway event to the answer's request."""
    moments: dict[str, dict[str, float]] = {}
    for line in trace.read_text(encoding="utf-8").splitlines():
        interaction_id, what, at = json.loads(line)
        moments.setdefault(interaction_id, {}).setdefault(what, at)

    def spans(kind: str, start: str, end: str) -> dict[str, float | int | None]:
        values: list[float | None] = []
        for t in timings:
            row = moments.get(t.interaction_id, {})
            if t.kind == kind:
                ok = start in row and end in row
                values.append(round(1000 * (row[end] - row[start]), 1) if ok else None)
        return percentiles(values)

    return {
        "brief_event_to_ack_sent": spans("brief", "received", "callback"),
        "brief_ack_round_trip": spans("brief", "callback", "callback_done"),
        "brief_event_to_answer_sent": spans("brief", "received", "message"),
        "autocomplete_event_to_answer_sent": spans("autocomplete", "received", "callback"),
    }


def load(
    workdir: Path,
    *,
    concurrent: int = 50,
    autocompletes: int = 20,
    rounds: int = 3,
    embedder: str = "fake",
    log: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """``rounds`` bursts of ``concurrent`` /brief and ``autocompletes`` autocomplete
    interactions from distinct users against ``briefbot run`` on the twin; the figures."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BRIEFBOT_EMBEDDER": embedder, "PYTHONPATH": str(ROOT)}
    db = workdir / "seeds.db"
    subprocess.run(
        [sys.executable, "-m", "bot", "index", "--db", str(db), str(SEEDS)],
        env=env,
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    users = [f"reader{i}" for i in range(concurrent * rounds * len(MODES) + 1)]
    load_before = [round(x, 2) for x in os.getloadavg()]
    with running_twin({"channels": ["general"], "users": users}) as info:
        bot_env = {
            **env,
            "DISCORD_TOKEN": info["botToken"],
            "DISCORD_API_BASE": info["rest"],
            "DISCORD_GATEWAY_URL": info["gateway"],
            "BRIEFBOT_DB": str(db),
            "SCHEDULER_DB": str(workdir / "scheduler.db"),
            "CORPUS_DATA_DIR": str(workdir / "data"),
            "GUILD_READY_TIMEOUT": "0.1",
        }
        stderr = (workdir / "bot.log").open("wb")
        trace = workdir / "trace.jsonl"
        bot = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.discord_load", "serve", str(trace)],
            env={**bot_env, "BRIEFBOT_CORPUS": str(SEEDS)},
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            ids = [info["users"][u] for u in users]
            result, timings = asyncio.run(
                _measure(
                    info,
                    ids,
                    bot,
                    concurrent=concurrent,
                    autocompletes=autocompletes,
                    rounds=rounds,
                    log=log,
                )
            )
        finally:
            bot.terminate()
            bot.wait(20)
            stderr.close()
    for mode, mode_timings in timings.items():
        result[mode]["in_the_bot"] = in_the_bot(trace, mode_timings)
    errors = [
        line
        for line in (workdir / "bot.log").read_text(errors="replace").splitlines()
        if "ERROR" in line or "Traceback" in line
    ]
    return {
        "embedder": embedder,
        "concurrent_briefs": concurrent,
        "concurrent_autocompletes": autocompletes,
        "corpus": "seeds (5 articles)",
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **result,
        "bot_errors": errors[:5],
    }


def serve_traced(trace: Path) -> int:
    """``briefbot run`` with each interaction's moments in the bot written to ``trace``.

    One JSON line per moment: ``[interaction id, what, seconds]`` on the bot's monotonic clock;
    what is "received" (the gateway event parsed), "callback" or "message" (a request for it
    began) and "callback_done" or "message_done" (Discord's reply came back).
    """
    import discord.state
    import discord.webhook.async_ as webhooks

    from bot.client import run_bot

    out = trace.open("a", buffering=1, encoding="utf-8")

    def note(interaction_id: str, what: str) -> None:
        out.write(json.dumps([interaction_id, what, time.monotonic()]) + "\n")

    parse = discord.state.ConnectionState.parse_interaction_create

    def parse_interaction_create(self: Any, data: Any) -> None:
        note(str(data["id"]), "received")
        parse(self, data)

    request = webhooks.AsyncWebhookAdapter.request

    async def traced_request(self: Any, route: Any, *args: Any, **kwargs: Any) -> Any:
        # The twin's interaction tokens end in the interaction's id.
        found = re.search(r"interaction-token-(\d+)", str(route.url))
        interaction_id = found.group(1) if found else "?"
        what = "callback" if str(route.url).endswith("/callback") else "message"
        note(interaction_id, what)
        try:
            return await request(self, route, *args, **kwargs)
        finally:
            note(interaction_id, f"{what}_done")

    discord.state.ConnectionState.parse_interaction_create = parse_interaction_create  # type: ignore[method-assign]
    webhooks.AsyncWebhookAdapter.request = traced_request  # type: ignore[method-assign]
    return run_bot()


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:2] == ["serve"]:
        sys.exit(serve_traced(Path(sys.argv[2])))

    with tempfile.TemporaryDirectory() as tmp:
        out = load(
            Path(tmp),
            rounds=int(sys.argv[1]) if len(sys.argv) > 1 else 1,
            embedder=sys.argv[2] if len(sys.argv) > 2 else "fake",
            log=lambda line: print(line, flush=True),
        )
    print(json.dumps(out, indent=2))
