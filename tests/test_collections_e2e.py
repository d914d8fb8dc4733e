"""Each server its own reading list, end to end: the real bot on a local Discord with two guilds.

The twin does not model uploads or permissions: an attachment is put into
``data.resolved.attachments`` (its URL served by a local aiohttp server) and a member's
permissions into the interaction (twin.mjs keeps both). Everything guild B receives is checked
for the reading guild A added.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from index.fetching import fetch_url
from tests.discord_fixtures import Twin, bot_on_twin, start_twin

pytestmark = [pytest.mark.discord, pytest.mark.asyncio(loop_scope="module")]

EPHEMERAL = 64
NO_PERMISSIONS = 0
SITE = "readings.example"  # the one name the tests' resolver knows (exempt from the check)
SEVERN = (
    "---\ntitle: Tidal power in the Severn estuary\n---\n\n"
    "The Severn estuary has the second highest tidal range in the world, about fourteen metres. "
    "A barrage across the estuary could supply five percent of the country's electricity.\n\n"
    "Critics of the Severn barrage warn that the mudflats feeding migrating wading birds "
    "would be lost for good.\n"
)
FENS = (
    "<html><head><title>Draining the Fens</title></head><body><article><h1>Draining the Fens"
    "</h1><p>Dutch engineers drained the Fens in the seventeenth century, turning marsh into "
    "farmland with long straight cuts and windpumps.</p><p>The peat shrank as it dried, and "
    "the fields now lie below the rivers that drain them.</p></article></body></html>"
)
_ids = itertools.count(1_300_000_000_000_000_001)


@pytest.fixture(scope="module")
def two_guilds():
    config = {
        "guilds": [
            {"name": "Guild A", "channels": ["a-general"]},
            {"name": "Guild B", "channels": ["b-general"]},
        ],
        "users": ["admin", "member"],
    }
    with start_twin(config) as info:
        yield info


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def readings() -> AsyncIterator[str]:
    """A local web server holding the readings (attachments' URLs and a linked page)."""

    async def severn(_: web.Request) -> web.Response:
        return web.Response(text=SEVERN)

    async def fens(_: web.Request) -> web.Response:
        return web.Response(text=FENS, content_type="text/html")

    app = web.Application()
    app.router.add_get("/files/severn.md", severn)
    app.router.add_get("/fens.html", fens)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live_bot(two_guilds, seeds_db, tmp_path_factory):
    """The bot over a copy of the seeds index (the shared collection), data in a temp folder."""
    from index.embedding import FakeEmbedder
    from index.library import Library

    folder = tmp_path_factory.mktemp("collections")
    db = folder / "index.db"
    with sqlite3.connect(seeds_db) as source, sqlite3.connect(db) as copy:
        source.backup(copy)
    library = Library.open(db, FakeEmbedder())
    async with bot_on_twin(
        two_guilds, library, folder / "scheduler.db", corpus_data_dir=str(folder / "data")
    ) as bot:
        yield bot


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def twin(two_guilds, live_bot, readings):
    async def resolve(host: str, port: int) -> list[str]:
        if host != SITE:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["127.0.0.1"]

    live_bot.get_cog("Digests").poster.attach_chart = False  # the twin takes no uploads
    cog = live_bot.get_cog("Corpus")
    cog.fetch = functools.partial(fetch_url, resolver=resolve, private_hosts={SITE})
    async with aiohttp.ClientSession() as session:
        yield Twin(two_guilds, session)


def by_bot(twin: Twin, pred=lambda m: True):
    return lambda m: m["author"]["id"] == twin.info["botUserId"] and pred(m)


def channel(twin: Twin, name: str) -> str:
    return twin.info["channels"][name]


def user(twin: Twin, name: str) -> str:
    return twin.info["users"][name]


async def corpus(twin: Twin, where: str, sub: str, *, who: str = "admin", **options: Any) -> str:
    """``/corpus SUB`` in a channel as a user; ``permissions`` among ``options`` are theirs."""
    permissions = options.pop("permissions", None)
    resolved = options.pop("resolved", None)
    kinds = {bool: 5, int: 4, str: 3}
    opts = [
        {"name": k, "type": 11 if k == "file" else kinds[type(v)], "value": v}
        for k, v in options.items()
    ]
    data: dict[str, Any] = {
        "name": "corpus",
        "type": 1,
        "options": [{"name": sub, "type": 1, "options": opts}],
    }
    if resolved:
        data["resolved"] = resolved
    body: dict[str, Any] = {"channelId": channel(twin, where), "userId": user(twin, who)}
    if permissions is not None:
        body["permissions"] = permissions
    return await twin.interact(2, data, **body)


def attachment(url: str, filename: str, size: int) -> tuple[str, dict[str, Any]]:
    """An uploaded file as Discord resolves it: (attachment id, data.resolved)."""
    attachment_id = str(next(_ids))
    return attachment_id, {
        "attachments": {
            attachment_id: {
                "id": attachment_id,
                "filename": filename,
                "size": size,
                "url": url,
                "proxy_url": url,
                "content_type": "text/markdown",
            }
        }
    }


async def slash(twin: Twin, where: str, name: str, **options: Any) -> str:
    kinds = {bool: 5, int: 4, str: 3}
    opts = [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]
    data = {"name": name, "type": 1, "options": opts}
    return await twin.interact(2, data, channelId=channel(twin, where), userId=user(twin, "admin"))


async def topic_choices(twin: Twin, bot: Any, where: str, current: str) -> list[str]:
    """What /brief's topic autocomplete offers in a channel once its server's vocabulary is
    built (the first request starts the build and is answered from the shared one)."""
    guild = int(twin.info["channelGuilds"][channel(twin, where)])
    names: list[str] = []
    for _ in range(2):
        complete = await twin.interact(
            4,
            {"name": "brief", "type": 1,
             "options": [{"name": "topic", "type": 3, "value": current, "focused": True}]},
            channelId=channel(twin, where), userId=user(twin, "admin"),
        )  # fmt: skip
        names = [c["name"] for c in (await twin.response(complete))["data"]["choices"]]
        vocabulary = bot.get_cog("Briefs").vocabularies[guild]
        await asyncio.wait_for(vocabulary._task, 10)
    return names


async def final_reply(twin: Twin, where: str, pred, within: float = 30) -> dict[str, Any]:
    return await twin.wait_for_message(by_bot(twin, pred), channel=where, within=within)


async def test_a_reading_added_in_guild_a_never_reaches_guild_b(twin, live_bot, readings):
    attachment_id, resolved = attachment(f"{readings}/files/severn.md", "severn.md", len(SEVERN))
    iid = await corpus(twin, "a-general", "add", file=attachment_id, resolved=resolved)
    assert (await twin.response(iid))["type"] == 5  # deferred: the add takes its time
    added = await final_reply(twin, "a-general", lambda m: "Added **" in m["content"])
    assert "Tidal power in the Severn estuary" in added["content"]
    assert "passages" in added["content"] and "/brief topic:" in added["content"]

    # Guild A quotes it...
    await twin.response(await slash(twin, "a-general", "brief", topic="Severn barrage tidal"))
    brief = await final_reply(twin, "a-general", lambda m: m["embeds"] and "Severn" in m["content"])
    severn = [e for e in brief["embeds"] if "Severn" in e["description"]]
    assert "Tidal power in the Severn estuary" in await topic_choices(
        twin, live_bot, "a-general", "Tidal"
    )
    assert severn
    label = next(f["value"] for f in severn[0]["fields"] if f["name"] == "Passage").strip("`")

    # ...and guild B sees none of it, whatever it asks.
    b, topic, title = "b-general", "Severn barrage tidal", "Tidal power in the Severn estuary"
    await twin.response(await slash(twin, b, "brief", topic=topic))
    await twin.response(await slash(twin, b, "sources", passage=label))
    await twin.response(await slash(twin, b, "sources", passage="P999999999"))
    choices = await topic_choices(twin, live_bot, b, "Tidal")
    await twin.response(await corpus(twin, b, "list"))
    await twin.response(await corpus(twin, b, "list", source=title))
    await twin.response(await corpus(twin, b, "history"))
    await twin.response(await slash(twin, b, "digest", preview=True))
    quote = await twin.call(
        "POST", "/messages", {"content": severn[0]["description"], "channelId": channel(twin, b)}
    )
    menu = await twin.interact(
        2, {"name": "Sources for this quote", "type": 3, "target_id": quote["id"]},
        channelId=channel(twin, b), userId=user(twin, "admin"),
    )  # fmt: skip
    await twin.response(menu)

    assert not [name for name in choices if "Severn" in name]
    received: list[dict[str, Any]] = []
    bot_id = twin.info["botUserId"]
    for _ in range(600):  # the deferred answers (the digest last) land after their acks
        received = [m for m in await twin.messages(b) if m["author"]["id"] == bot_id]
        if len(received) >= 8:
            break
        await asyncio.sleep(0.1)
    assert len(received) == 8  # every request answered, the digest too
    assert any(m["embeds"] and "igest" in json.dumps(m["embeds"][0]) for m in received)
    not_found = [m["content"] for m in received if m["content"].startswith("No passage P")]
    assert len(not_found) == 2 and not_found[0].replace(label[1:], "999999999") == not_found[1]
    # The message command quoting guild A's passage finds nothing it may show.
    assert "No passage in the corpus matches that text" in [m["content"] for m in received]
    typed = (topic, title)  # what B's user typed may be echoed back, nothing else of A's
    for message in received:
        shown = json.dumps(message)
        for text in typed:
            shown = shown.replace(text, "")
        assert "Severn" not in shown and "guild:" not in shown, shown[:300]


async def test_the_same_reading_again_is_already_in_the_corpus(twin, readings):
    attachment_id, resolved = attachment(f"{readings}/files/severn.md", "copy.md", len(SEVERN))
    iid = await corpus(twin, "a-general", "add", file=attachment_id, resolved=resolved)
    await twin.response(iid)
    again = await final_reply(
        twin, "a-general", lambda m: "Already in the corpus as" in m["content"]
    )
    assert "Tidal power in the Severn estuary" in again["content"]


async def test_without_manage_server_or_the_role_adding_and_removing_are_refused(twin, readings):
    attachment_id, resolved = attachment(f"{readings}/files/severn.md", "s.md", len(SEVERN))
    refused = [
        await corpus(twin, "a-general", "add", who="member", permissions=NO_PERMISSIONS,
                     file=attachment_id, resolved=resolved),
        await corpus(twin, "a-general", "remove", who="member", permissions=NO_PERMISSIONS,
                     document="anything"),
        await corpus(twin, "a-general", "role", who="member", permissions=NO_PERMISSIONS),
    ]  # fmt: skip
    for iid in refused:
        assert (await twin.response(iid))["type"] == 4  # answered at once, not deferred
    replies = [
        m
        for m in await twin.messages("a-general")
        if m["author"]["id"] == twin.info["botUserId"] and "Manage Server" in m["content"]
    ]
    assert len(replies) == 3
    assert all(m["flags"] & EPHEMERAL and len(m["content"].splitlines()) == 1 for m in replies)

    # Once the server names a role (here @everyone: the twin's only one), the member may remove.
    everyone = twin.info["guildIds"][0]
    role = await twin.interact(
        2, {"name": "corpus", "type": 1, "options": [{"name": "role", "type": 1,
            "options": [{"name": "role", "type": 8, "value": everyone}]}]},
        channelId=channel(twin, "a-general"), userId=user(twin, "admin"),
    )  # fmt: skip
    await twin.response(role)
    doc_id = f"guild:{everyone}/severn.md"
    iid = await corpus(
        twin, "a-general", "remove", who="member", permissions=NO_PERMISSIONS, document=doc_id
    )
    await twin.response(iid)
    await final_reply(twin, "a-general", lambda m: "Removed **Tidal power" in m["content"])
    await twin.response(await corpus(twin, "a-general", "history"))
    history = await final_reply(twin, "a-general", lambda m: m["embeds"] and "history" in (
        m["embeds"][0].get("title") or ""))  # fmt: skip
    lines = history["embeds"][0]["description"].splitlines()
    assert f"<@{user(twin, 'member')}> removed **Tidal power" in lines[0]
    assert any(f"<@{user(twin, 'admin')}> added **Tidal power" in line for line in lines)


async def test_add_to_corpus_takes_a_messages_links_and_refuses_a_private_one(twin, readings):
    link = readings.replace("127.0.0.1", SITE) + "/fens.html"
    private = f"{readings}/fens.html"  # the same page, by its loopback address: never fetched
    posted = await twin.call(
        "POST",
        "/messages",
        {"content": f"a read: {link}, and {private}.", "channelId": channel(twin, "a-general")},
    )
    menu = await twin.interact(
        2, {"name": "Add to corpus", "type": 3, "target_id": posted["id"]},
        channelId=channel(twin, "a-general"), userId=user(twin, "admin"),
    )  # fmt: skip
    assert (await twin.response(menu))["type"] == 5
    # The reply is edited item by item: wait for the last item's line, not the first's.
    added = await final_reply(twin, "a-general", lambda m: "Could not add" in m["content"])
    first, second = added["content"].splitlines()
    assert first.startswith("Added **Draining the Fens**") and "/brief topic:" in first
    assert second.startswith(f"Could not add <{private}>: Refused:")
    assert "only public addresses" in second
