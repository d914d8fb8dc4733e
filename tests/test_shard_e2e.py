"""Two sharded bots against a local Discord that routes each guild to its own shard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio

from tests.discord_fixtures import Twin, bot_on_twin, start_twin

pytestmark = [pytest.mark.discord, pytest.mark.asyncio(loop_scope="module")]


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


async def test_brief_in_each_guild_is_answered_by_that_guilds_shard_only(sharded_twin, two_shards):
    channels = sharded_twin["channels"]
    async with aiohttp.ClientSession() as session:
        twin = Twin(sharded_twin, session)
        for name in ("a-general", "b-general"):
            data = {"name": "brief", "type": 1,
                    "options": [{"name": "topic", "type": 3, "value": "japan russia"}]}  # fmt: skip
            interaction = await twin.interact(2, data, channelId=channels[name])
            answer = await twin.response(interaction, within=20)
            assert answer["delivered"]
    for guild, (_, asked) in two_shards.items():
        assert asked == [guild]  # its own guild's /brief, and never the other's
