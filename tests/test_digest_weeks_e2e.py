"""Two weeks of a growing corpus through the bot, posted to the local Discord twin."""

from __future__ import annotations

import re

import aiohttp
import pytest
import pytest_asyncio

from bot.scheduling import marker_for
from index.embedding import FakeEmbedder
from index.library import Library
from index.store import Store
from tests.conftest import build_index
from tests.discord_fixtures import Twin, bot_on_twin
from tests.weekly_corpus import write_week

pytestmark = [pytest.mark.discord, pytest.mark.asyncio(loop_scope="module")]

PERIODS = ["2024-04-01T09:00+00:00", "2024-04-08T09:00+00:00"]
LABEL = re.compile(r"`P(\d+)`")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def weekly(twin_info, tmp_path_factory):
    root = tmp_path_factory.mktemp("weeks-e2e")
    corpus, db = root / "corpus", root / "index.db"
    write_week(corpus, 1, 12, ["football", "markets", "elections"])
    build_index(db, [corpus], FakeEmbedder())
    library = Library(Store(db), FakeEmbedder())
    async with bot_on_twin(twin_info, library, root / "scheduler.db") as bot:
        bot.get_cog("Digests").poster.attach_chart = False  # the twin takes no uploads
        async with aiohttp.ClientSession() as session:
            yield bot, Twin(twin_info, session), library, corpus, db
    library.store.close()


async def posted(twin: Twin, period: str) -> dict:
    marker = marker_for(period)
    return await twin.wait_for_message(
        lambda m: any(marker in (e.get("footer") or {}).get("text", "") for e in m["embeds"])
    )


async def test_the_second_week_quotes_only_its_own_documents_and_nothing_shown_before(weekly):
    bot, twin, library, corpus, db = weekly
    cog = bot.get_cog("Digests")
    channel = int(twin.info["channels"]["general"])
    sub, _ = cog.store.subscribe(guild_id=int(twin.info["guildId"]), channel_id=channel,
                                 now="2024-03-01T00:00:00+00:00")  # fmt: skip
    assert await cog.runner.deliver(sub, PERIODS[0]) == "sent"
    first = await posted(twin, PERIODS[0])
    first_ids = {int(i) for e in first["embeds"] for i in LABEL.findall(e.get("description", ""))}
    assert first_ids

    added = write_week(corpus, 2, 12, ["technology", "markets"])
    build_index(db, [corpus], FakeEmbedder())
    library.refresh()
    assert await cog.runner.deliver(sub, PERIODS[1]) == "sent"
    second = await posted(twin, PERIODS[1])
    text = "\n".join(e.get("description", "") for e in second["embeds"])
    text += "\n".join(f["value"] for e in second["embeds"] for f in e.get("fields", []))
    second_ids = {int(i) for i in LABEL.findall(text)}
    assert second_ids and not second_ids & first_ids
    assert {library.passage(i).doc_id for i in second_ids} <= set(added)
    assert "12 new documents" in second["embeds"][0]["description"]


async def test_a_quiet_week_is_one_short_post(weekly):
    bot, twin, _library, _corpus, _db = weekly
    cog = bot.get_cog("Digests")
    (sub,) = cog.store.subscriptions()
    period = "2024-04-15T09:00+00:00"
    assert await cog.runner.deliver(sub, period) == "sent"
    quiet = await posted(twin, period)
    assert len(quiet["embeds"]) == 1
    assert "Nothing new" in quiet["embeds"][0]["description"]
    assert "`P" not in quiet["embeds"][0]["description"]
