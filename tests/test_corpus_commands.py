"""/corpus add, remove and role through discord.py's own dispatch, against the recording fake.

Each test has its own copy of the seeds index (adds must not leak into other tests' library);
the attachment is served by a local aiohttp server, as Discord's CDN would serve it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from tests.conftest import SEEDS, build_index
from tests.discord_fixtures import test_settings
from tests.helpers import ALICE, EPHEMERAL, GUILD_ID, dispatch, interaction_payload, serving

DEFERRED = 5
READING = (
    "---\ntitle: Tidal power in the Severn estuary\n---\n\n"
    "The Severn estuary has the second highest tidal range in the world. "
    "A barrage across it could supply five percent of the country's electricity.\n\n"
    "Critics of the barrage warn that mudflats feeding migrating birds would be lost.\n"
)
NO_PERMISSIONS = 0
MANAGE_SERVER = 1 << 5
EDITORS = 710000000000000001  # a role id


@pytest_asyncio.fixture
async def cdn() -> AsyncIterator[str]:
    """Serves the reading an attachment points at, as Discord's CDN would."""
    async with serving("/severn.md", READING) as base:
        yield base


@pytest_asyncio.fixture
async def bot(fake_discord, seeds_db, tmp_path, index_location) -> AsyncIterator[Any]:
    """The bot over the seeds' index, on each backend."""
    from bot.client import create_bot
    from index.embedding import FakeEmbedder
    from index.library import Library

    db = index_location
    if db.startswith("postgresql://"):
        build_index(db, [SEEDS], FakeEmbedder())
    else:
        with sqlite3.connect(seeds_db) as source, sqlite3.connect(db) as copy:
            source.backup(copy)
    settings = test_settings(
        scheduler_db=str(tmp_path / "scheduler.db"),
        corpus_data_dir=str(tmp_path / "data"),
        corpus_upload_max_mb=0.01,  # 10 kB: the reading fits, a bigger one does not
        briefbot_corpus=str(SEEDS),
    )
    made = create_bot(settings, Library.open(db, FakeEmbedder()))
    await made.login("fake-bot-token")
    fake_discord.requests.clear()
    yield made
    await made.close()


def corpus(sub: str, *, options: list[dict[str, Any]], **member: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "1",
        "name": "corpus",
        "type": 1,
        "options": [{"name": sub, "type": 1, "options": options}],
    }
    resolved = member.pop("resolved", None)
    if resolved:
        data["resolved"] = resolved
    payload = interaction_payload(2, data, user_id=ALICE)
    granted = int(payload["member"]["permissions"]) | MANAGE_SERVER  # an admin, by default
    payload["member"].update({"permissions": str(granted), **member})
    return payload


def add_file(url: str, filename: str = "severn.md", size: int = len(READING), **member: Any):
    attachment = {"id": "42", "filename": filename, "size": size, "url": url, "proxy_url": url}
    return corpus(
        "add",
        options=[{"name": "file", "type": 11, "value": "42"}],
        resolved={"attachments": {"42": attachment}},
        **member,
    )


def edits(fake) -> list[str]:
    return [
        r.json["content"]
        for r in fake.requests
        if r.method == "PATCH" and r.path.endswith("/messages/@original")
    ]


def ephemeral_lines(fake) -> list[str]:
    sent = [r.json.get("data", r.json) for r in fake.requests if r.method == "POST"]
    return [m["content"] for m in sent if m.get("flags", 0) & EPHEMERAL and m.get("content")]


async def test_an_add_shows_each_stage_in_its_reply_and_ends_with_a_brief_to_try(
    bot, fake_discord, cdn
):
    await dispatch(bot, add_file(f"{cdn}/severn.md"))
    assert fake_discord.requests[0].json == {"type": DEFERRED}
    reading, indexing, done = edits(fake_discord)
    assert reading == "Reading severn.md …"
    assert indexing.startswith("Reading severn.md · indexing ") and indexing.endswith(" passages …")
    passages = int(indexing.split("indexing ")[1].split()[0])
    assert done == (
        f"Added **Tidal power in the Severn estuary** to this server's corpus: {passages} "
        "passages. Try `/brief topic:Tidal power in the Severn estuary`"
    )
    scope = bot.library_for(GUILD_ID)
    assert any(d.title == "Tidal power in the Severn estuary" for d in scope.documents())
    assert not any(
        d.title.startswith("Tidal power") for d in bot.library_for(GUILD_ID + 1).documents()
    )


async def test_too_big_or_unknown_files_are_refused_before_anything_is_downloaded(
    bot, fake_discord, cdn
):
    await dispatch(bot, add_file(f"{cdn}/severn.md", size=50_000))
    await dispatch(bot, add_file(f"{cdn}/severn.md", filename="setup.exe"))
    too_big, unknown = ephemeral_lines(fake_discord)
    assert too_big == "That file (severn.md) is 0.05 MB; the limit here is 0.01 MB"
    assert unknown.startswith("'setup.exe' is not a reading I can take")
    assert not edits(fake_discord)
    assert not (Path(bot.settings.corpus_data_dir) / f"guild-{GUILD_ID}").exists()


async def test_the_servers_role_may_add_and_remove_without_manage_server(bot, fake_discord, cdn):
    member = {"permissions": str(NO_PERMISSIONS), "roles": [str(EDITORS)]}
    await dispatch(bot, add_file(f"{cdn}/severn.md", **member))
    [refused] = ephemeral_lines(fake_discord)
    assert refused == "You need the **Manage Server** permission to do that here."

    role = {"id": str(EDITORS), "name": "editors", "permissions": "0", "position": 1,
            "color": 0, "hoist": False, "managed": False, "mentionable": False}  # fmt: skip
    set_role = corpus("role", options=[{"name": "role", "type": 8, "value": str(EDITORS)}])
    set_role["data"]["resolved"] = {"roles": {str(EDITORS): role}}
    await dispatch(bot, set_role)
    fake_discord.requests.clear()

    await dispatch(bot, add_file(f"{cdn}/severn.md", **member))
    assert edits(fake_discord)[-1].startswith("Added **Tidal power in the Severn estuary**")
    doc_id = f"guild:{GUILD_ID}/severn.md"
    await dispatch(
        bot, corpus("remove", options=[{"name": "document", "type": 3, "value": doc_id}], **member)
    )
    assert doc_id not in {d.doc_id for d in bot.library_for(GUILD_ID).documents()}
    events = bot.library.store.events(f"guild:{GUILD_ID}")
    assert [(e.action, e.user_id) for e in events] == [("remove", ALICE), ("add", ALICE)]


async def test_the_rescan_indexes_each_servers_folder_into_its_own_collection(
    bot, fake_discord, cdn
):
    await dispatch(bot, add_file(f"{cdn}/severn.md"))
    folder = Path(bot.settings.corpus_data_dir) / f"guild-{GUILD_ID}"
    (folder / "fens.md").write_text(  # e.g. restored from a backup while the bot was down
        "---\ntitle: Draining the Fens\n---\n\nDutch engineers drained the Fens with windpumps.\n",
        encoding="utf-8",
    )
    before = bot.library.embedder.calls
    await bot.get_cog("Digests").rescan()
    collections = bot.library.store.document_collections()
    assert collections[f"guild:{GUILD_ID}/severn.md"] == f"guild:{GUILD_ID}"
    assert collections[f"guild:{GUILD_ID}/fens.md"] == f"guild:{GUILD_ID}"
    assert "fens.md" not in collections and "severn.md" not in collections
    assert bot.library.embedder.calls - before <= 2  # only the new file was encoded
