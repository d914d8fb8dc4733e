"""Two sharded bots against a local Discord that routes each guild to its own shard."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio

from tests.discord_fixtures import Twin, bot_on_twin, start_twin

pytestmark = [pytest.mark.discord, pytest.mark.asyncio(loop_scope="module")]
BRIEF = {
    "name": "brief",
    "type": 1,
    "options": [{"name": "topic", "type": 3, "value": "japan russia"}],
}


@pytest.fixture(scope="module")
def sharded_twin() -> Iterator[dict[str, Any]]:
    config = {
        "guilds": [
            {"name": "Guild A", "channels": ["a-general"]},
            {"name": "Guild B", "channels": ["b-general"]},
        ]
    }
    with start_twin(config, script="sharded.mjs", env={"TWIN_SHARD_BY": "order"}) as info:
        yield info


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def two_shards(
    sharded_twin, seeds_library, tmp_path_factory
) -> AsyncIterator[dict[int, tuple[Any, list[int]]]]:
    """guild id -> (the bot process running that guild's shard, guild ids it was asked in)."""
    guilds = [int(g) for g in sharded_twin["guildIds"]]  # guild i is on shard i (by order)
    count = len(guilds)
    folder = tmp_path_factory.mktemp("shards")
    bots: dict[int, tuple[Any, list[int]]] = {}
    async with AsyncExitStack() as stack:
        for guild in guilds:
            bot = await stack.enter_async_context(
                bot_on_twin(
                    sharded_twin,
                    seeds_library,
                    folder / f"scheduler-{guild}.db",
                    shard_count=count,
                    shard_ids=str(guilds.index(guild)),
                )
            )
            asked: list[int] = []

            async def on_interaction(interaction: discord.Interaction, asked=asked) -> None:
                asked.append(interaction.guild_id or 0)

            bot.add_listener(on_interaction)
            bots[guild] = (bot, asked)
        yield bots


async def test_each_bot_process_sees_only_the_guild_of_its_own_shard(two_shards):
    for guild, (bot, _) in two_shards.items():
        assert isinstance(bot, discord.AutoShardedClient)
        assert [g.id for g in bot.guilds] == [guild]


async def brief_in_each_guild(twin_info: dict[str, Any]) -> None:
    """A /brief in each guild's channel; each must be answered."""
    channels = twin_info["channels"]
    async with aiohttp.ClientSession() as session:
        twin = Twin(twin_info, session)
        for name in ("a-general", "b-general"):
            interaction = await twin.interact(2, BRIEF, channelId=channels[name])
            answer = await twin.response(interaction, within=30)
            assert answer["delivered"], name


async def test_brief_in_each_guild_is_answered_by_that_guilds_shard_only(sharded_twin, two_shards):
    await brief_in_each_guild(sharded_twin)
    for guild, (_, asked) in two_shards.items():
        assert asked == [guild]  # its own guild's /brief, and never the other's


@pytest.mark.postgres
async def test_two_bot_processes_on_one_database_run_a_shard_each_and_one_leads(
    sharded_twin, pg_url, tmp_path
):
    """`briefbot run` twice, shard 0 and shard 1 of two, sharing one PostgreSQL."""
    import asyncio
    import os
    import signal
    import sys

    from index.embedding import FakeEmbedder
    from tests.conftest import ROOT, SEEDS, build_index

    build_index(pg_url, [SEEDS], FakeEmbedder())
    base = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRIEFBOT_EMBEDDER": "fake",
        "BRIEFBOT_DATABASE_URL": pg_url,
        "DISCORD_TOKEN": sharded_twin["botToken"],
        "DISCORD_API_BASE": sharded_twin["rest"],
        "DISCORD_GATEWAY_URL": sharded_twin["gateway"],
        "GUILD_READY_TIMEOUT": "0.1",
        "SHARD_COUNT": "2",
    }
    procs, logs = [], ["", ""]
    for shard in (0, 1):
        folder = tmp_path / f"shard{shard}"
        folder.mkdir()
        procs.append(
            await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", "-v", "run"),
                cwd=folder,
                env={**base, "SHARD_IDS": str(shard)},
                stderr=asyncio.subprocess.PIPE,
            )
        )

    async def read_until(i: int, text: str) -> None:
        while text not in logs[i]:
            line = await procs[i].stderr.readline()  # type: ignore[union-attr]
            if not line:
                return
            logs[i] += line.decode()

    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(read_until(i, "online as") for i in (0, 1)))
        assert all("in 1 guild(s)" in log for log in logs), logs
        await brief_in_each_guild(sharded_twin)
        async with asyncio.timeout(20):  # the leader election settles within its poll
            while sum("this process leads" in log for log in logs) < 1:
                await asyncio.sleep(0.5)
                for i in (0, 1):
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.2):
                            await read_until(i, "this process leads")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 20)
    assert sum("this process leads" in log for log in logs) == 1, logs
    assert sharded_twin["botToken"] not in "".join(logs)  # DEBUG logs of two whole runs
