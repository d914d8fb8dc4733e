"""End to end: the real bot (create_bot) against a local Discord (discord-digital-twin).

A test user invokes commands in a guild channel through the twin; we read back what the bot
posted. `pytest -m discord` runs these alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import ROOT
from tests.discord_fixtures import Twin, bot_on_twin

pytestmark = [pytest.mark.discord, pytest.mark.asyncio(loop_scope="module")]

EPHEMERAL = 64


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live_bot(twin_info, seeds_library, tmp_path_factory):
    db = tmp_path_factory.mktemp("e2e") / "scheduler.db"
    async with bot_on_twin(twin_info, seeds_library, db) as bot:
        yield bot


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def twin(twin_info, live_bot):
    async with aiohttp.ClientSession() as session:
        yield Twin(twin_info, session)


def by_bot(twin: Twin, pred=lambda m: True):
    return lambda m: m["author"]["id"] == twin.info["botUserId"] and pred(m)


def passage_label(embed: dict) -> str:
    return next(f["value"] for f in embed["fields"] if f["name"] == "Passage").strip("`")


async def test_commands_are_synced_to_the_twin(twin):
    names = {c["name"] for c in await twin.call("GET", "/commands")}
    assert {"brief", "sources", "corpus", "help", "Sources for this quote"} <= names


async def test_brief_defers_then_posts_verbatim_quotes_from_the_seeds(twin, seeds_library):
    iid = await twin.slash("brief", topic="sino-russian partnership", count=3)
    ack = await twin.response(iid)
    assert ack["type"] == 5  # deferred: acknowledged within the window, answer follows
    msg = await twin.wait_for_message(
        by_bot(twin, lambda m: "sino-russian partnership" in m["content"] and m["embeds"])
    )
    assert not (msg.get("flags") or 0) & EPHEMERAL
    assert len(msg["embeds"]) == 3
    for embed in msg["embeds"]:
        quote = embed["description"].removeprefix("“").removesuffix("”")
        passage = seeds_library.passage(passage_label(embed))
        assert quote == passage.text
        assert quote in seeds_library.document(passage.doc_id).text  # verbatim from the corpus
    labels = [b["label"] for row in msg["components"] for b in row["components"]]
    assert labels == [f"Sources {passage_label(e)}" for e in msg["embeds"]]


async def test_blank_topic_gets_a_short_ephemeral_error(twin):
    iid = await twin.slash("brief", topic="   ")
    ack = await twin.response(iid)
    assert ack["type"] == 4
    msg = await twin.wait_for_message(by_bot(twin, lambda m: "topic is empty" in m["content"]))
    assert msg["flags"] & EPHEMERAL and not msg["embeds"]


async def test_sources_of_a_quoted_passage_and_its_button(twin, seeds_library):
    await twin.response(await twin.slash("brief", topic="japan russia relations", count=2))
    brief = await twin.wait_for_message(
        by_bot(twin, lambda m: "japan russia relations" in m["content"] and m["embeds"])
    )
    label = passage_label(brief["embeds"][0])
    passage = seeds_library.passage(label)

    await twin.response(await twin.slash("sources", passage=label))
    sources = await twin.wait_for_message(
        by_bot(twin, lambda m: m["embeds"] and m["embeds"][0]["footer"]["text"].startswith(label))
    )
    main = sources["embeds"][0]
    assert f"**“{passage.text}”**" in main["description"]
    document = seeds_library.document(passage.doc_id)
    assert main["title"] == (document.title or document.source_id)

    button = brief["components"][0]["components"][0]
    clicked = await twin.interact(
        3, {"custom_id": button["custom_id"], "component_type": 2}, messageId=brief["id"]
    )
    await twin.response(clicked)
    private = await twin.wait_for_message(
        by_bot(twin, lambda m: m["id"] != sources["id"] and m["embeds"]
               and m["embeds"][0]["footer"]["text"].startswith(label))
    )  # fmt: skip
    assert private["flags"] & EPHEMERAL


async def test_the_unmodified_briefbot_run_comes_online_via_its_settings(
    twin_info, seeds_db, tmp_path
):
    """`briefbot run` itself, aimed at the twin by DISCORD_API_BASE / DISCORD_GATEWAY_URL."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRIEFBOT_EMBEDDER": "fake",
        "DISCORD_TOKEN": twin_info["botToken"],
        "DISCORD_API_BASE": twin_info["rest"],
        "DISCORD_GATEWAY_URL": twin_info["gateway"],
        "SCHEDULER_DB": str(tmp_path / "scheduler.db"),
        "GUILD_READY_TIMEOUT": "0.1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--db", str(seeds_db),
        cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    log = ""
    try:
        async with asyncio.timeout(30):
            while "online as" not in log:
                line = await proc.stderr.readline()
                if not line:
                    break
                log += line.decode()
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 15)
    assert "online as" in log, log
    assert "invite briefbot with: https://discord.com/oauth2/authorize" in log
    assert twin_info["botToken"] not in log
