"""The gateway drops the bot (a network blip, Discord restarting a node): it comes back and
answers again. The local Discord keeps no sessions, so a RESUME is refused (INVALID_SESSION) as
Discord refuses one it cannot resume, and the bot identifies anew."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.discord_fixtures import Twin, bot_on_twin, start_twin

pytestmark = [pytest.mark.discord, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def own_twin() -> Iterator[dict[str, Any]]:
    with start_twin({"channels": ["general"]}) as info:
        yield info


@pytest.mark.parametrize("code", [1001, 4000, 4009])  # going away, unknown error, timed out
async def test_a_bot_the_gateway_drops_comes_back_and_answers(
    own_twin, seeds_library, tmp_path, code
):
    async with (
        bot_on_twin(own_twin, seeds_library, tmp_path / "scheduler.db", reconnect=True) as bot,
        aiohttp.ClientSession() as session,
    ):
        twin = Twin(own_twin, session)
        first = await twin.response(await twin.slash("brief", topic="japan russia"), within=20)
        assert first["delivered"]
        ready_again = asyncio.Event()

        async def on_ready() -> None:
            ready_again.set()

        bot.add_listener(on_ready)
        dropped = await twin.call("POST", "/disconnect", {"code": code})
        assert dropped["dropped"] >= 1
        async with asyncio.timeout(30):  # RESUME refused, then IDENTIFY and READY again
            await ready_again.wait()
        again = await twin.response(await twin.slash("brief", topic="Power of Siberia"), within=20)
        assert again["delivered"]
        assert not bot.is_closed()
