"""End to end: a scheduled digest posted to a channel of the local Discord twin.

The twin rejects file uploads, so here the chart is not attached (the attachment is checked
against the aiohttp fake in test_digest_bot.py).
"""

from __future__ import annotations

import aiohttp
import pytest
import pytest_asyncio

from bot.digest_store import Claim
from bot.scheduling import marker_for
from tests.discord_fixtures import Twin, bot_on_twin

pytestmark = [pytest.mark.discord, pytest.mark.asyncio(loop_scope="module")]

PERIOD = "2024-03-25T09:00+01:00"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live_bot(twin_info, seeds_library, tmp_path_factory):
    db = tmp_path_factory.mktemp("digest-e2e") / "scheduler.db"
    async with bot_on_twin(twin_info, seeds_library, db) as bot:
        bot.get_cog("Digests").poster.attach_chart = False
        yield bot


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def twin(twin_info, live_bot):
    async with aiohttp.ClientSession() as session:
        yield Twin(twin_info, session)


async def test_subscribe_then_the_scheduled_digest_reaches_the_channel_once(
    twin, live_bot, seeds_library
):
    cog = live_bot.get_cog("Digests")
    iid = await twin.slash("subscribe", timezone="Europe/Berlin", time="09:00")
    answer = await twin.response(iid)
    assert "Subscribed" in answer["data"]["content"], answer
    (sub,) = cog.store.subscriptions()
    assert sub.channel_id == int(twin.info["channels"]["general"])
    assert cog.scheduler.next_run(sub.id) is not None

    assert await cog.runner.deliver(sub, PERIOD) == "sent"
    marker = marker_for(PERIOD)
    message = await twin.wait_for_message(
        lambda m: any(marker in (e.get("footer") or {}).get("text", "") for e in m["embeds"])
    )
    assert message["author"]["id"] == twin.info["botUserId"]
    assert len(message["embeds"]) >= 2 and not message["attachments"]
    theme = message["embeds"][1]
    assert "> " in theme["description"] and "`P" in theme["description"]

    # a crash after the post left the period uncertain: the channel's history settles it
    cog.store.mark_failed(sub.id, PERIOD, "crashed before 'sent'")
    assert await cog.runner.deliver(sub, PERIOD) == "found"
    assert cog.store.ledger_state(sub.id, PERIOD) is Claim.DONE
    posts = [m for m in await twin.messages() if any(
        marker in (e.get("footer") or {}).get("text", "") for e in m["embeds"])]  # fmt: skip
    assert len(posts) == 1
