"""The README's command × permission table, tried row by row through discord.py's own dispatch.

Each row is run as a member with no permissions, as a member whose only standing is the
server's corpus role, and as a member with only the permission the row names: refused (one
ephemeral line naming the permission, nothing changed) or allowed (the change is made), as the
table says. The table is read from the README, so it cannot drift from the code; every command
the bot registers is either in it or among those the README says change nothing.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from tests.conftest import ROOT, SEEDS
from tests.discord_fixtures import FakeDiscord, test_settings
from tests.helpers import (
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    dispatch,
    interaction_payload,
    message_command,
    message_payload,
    serving,
    slash,
)

README = ROOT / "README.md"
HEADING = "### Who may change what"
EDITORS = 710000000000000001  # the server's corpus role
OTHERS = 710000000000000002  # a role /corpus role is asked to set
COLLECTION = f"guild:{GUILD_ID}"
READING = (
    "---\ntitle: Tidal power in the Severn estuary\n---\n\n"
    "The Severn estuary has the second highest tidal range in the world. "
    "A barrage across it could supply five percent of the country's electricity.\n"
)
DOC_ID = f"{COLLECTION}/severn.md"
# The permissions the table names, as Discord shows them → discord.py's flag.
PERMISSIONS = {"Manage Server": "manage_guild", "Manage Channels": "manage_channels"}


# --------------------------------------------------------------------------- the table --
@dataclass(frozen=True)
class Row:
    command: str  # "/corpus add", "Add to corpus", "/digest"
    needs: str  # "Manage Server"
    role_may: bool  # the corpus role is enough too


def _command_name(cell: str) -> str:
    """'`/digest` (not a preview)' → '/digest'; '"Add to corpus"' → 'Add to corpus'."""
    found = re.match(r'\s*(?:`([^`]+)`|"([^"]+)")', cell)
    assert found, f"no command in table cell {cell!r}"
    return found.group(1) or found.group(2)


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    assert HEADING in text, f"the README has no {HEADING!r} section"
    return text.split(HEADING, 1)[1].split("\n#", 1)[0]


def permission_table() -> list[Row]:
    """The README's rows: command, the permission it needs, whether the corpus role will do."""
    lines = [ln for ln in _section().splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["command", "what it changes", "needs", "or the corpus role"], header
    rows = []
    for line in lines[2:]:
        command, _changes, needs, role = (c.strip() for c in line.strip("|").split("|"))
        assert needs in PERMISSIONS, f"{needs!r} is not a permission this test knows"
        assert role in ("yes", "no"), role
        rows.append(Row(_command_name(command), needs, role == "yes"))
    return rows


def read_only_commands() -> set[str]:
    """The commands the README says change nothing (its paragraph after the table)."""
    paragraph = _section().split("Everything else changes nothing", 1)[1].split("\n\n", 1)[0]
    return {
        " ".join(name.split()).split(" preview:", 1)[0]
        for pair in re.findall(r'`(/[^`]+)`|"([^"]+)"', paragraph)
        for name in pair
        if name
    }


ROWS = permission_table()


# ------------------------------------------------------------------------- the bot --
@pytest_asyncio.fixture
async def cdn() -> AsyncIterator[str]:
    """Serves the reading an attachment points at, as Discord's CDN would."""
    async with serving("/severn.md", READING) as base:
        yield base


@pytest.fixture(scope="module")
def seed_digest(seeds_library: Any) -> Any:
    from bot.cogs.digests import Digests
    from briefings.digest_build import build_digest

    return Digests.charts_of(build_digest(seeds_library))


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, seeds_db: Path, tmp_path: Path, seed_digest: Any):
    """A logged-in bot over its own copy of the seeds index (changes stay in this test)."""
    from bot.client import create_bot
    from index.embedding import FakeEmbedder
    from index.library import Library

    db = tmp_path / "index.db"
    with sqlite3.connect(seeds_db) as source, sqlite3.connect(db) as copy:
        source.backup(copy)
    settings = test_settings(
        scheduler_db=str(tmp_path / "scheduler.db"),
        corpus_data_dir=str(tmp_path / "data"),
        briefbot_corpus=str(SEEDS),
    )
    made = create_bot(settings, Library.open(db, FakeEmbedder()))
    await made.login("fake-bot-token")
    made.get_cog("Digests").make_digest = lambda *_args: seed_digest  # one build per module
    fake_discord.requests.clear()
    yield made
    await made.close()


# ---------------------------------------------------- each row: setup, payload, change --
def _attachment(cdn: str) -> dict[str, Any]:
    url = f"{cdn}/severn.md"
    return {"id": "42", "filename": "severn.md", "size": len(READING), "url": url,
            "proxy_url": url}  # fmt: skip


def _corpus(sub: str, options: list[dict[str, Any]], resolved: dict | None = None) -> dict:
    data: dict[str, Any] = {"id": "1", "name": "corpus", "type": 1,
                            "options": [{"name": sub, "type": 1, "options": options}]}  # fmt: skip
    if resolved:
        data["resolved"] = resolved
    return interaction_payload(2, data)


def _role(role_id: int) -> dict[str, Any]:
    return {"id": str(role_id), "name": f"role{role_id}", "permissions": "0", "position": 1,
            "color": 0, "hoist": False, "managed": False, "mentionable": False}  # fmt: skip


def _has_reading(bot: Any) -> bool:
    return DOC_ID in {d.doc_id for d in bot.library_for(GUILD_ID).documents()}


def _subscribed(bot: Any) -> bool:
    return bot.get_cog("Digests").store.subscription_for_channel(CHANNEL_ID) is not None


def _public_digest_posted(fake: FakeDiscord) -> bool:
    posts = [r.json for r in fake.find("POST", "/webhooks/")]
    return any(p.get("embeds") and not p.get("flags", 0) & EPHEMERAL for p in posts)


async def _as_admin(bot: Any, payload: dict[str, Any]) -> None:
    payload["member"]["permissions"] = str(discord.Permissions.all().value)
    await dispatch(bot, payload)


@dataclass(frozen=True)
class Case:
    """How to try one row: what must exist first, the interaction, and whether it changed."""

    setup: Callable[[Any, str], Awaitable[None]]
    payload: Callable[[str], dict[str, Any]]
    changed: Callable[[Any, FakeDiscord], bool]


async def _nothing(_bot: Any, _cdn: str) -> None:
    return None


async def _add_the_reading(bot: Any, cdn: str) -> None:
    att = _attachment(cdn)
    add = _corpus(
        "add", [{"name": "file", "type": 11, "value": "42"}], {"attachments": {"42": att}}
    )
    await _as_admin(bot, add)
    assert _has_reading(bot)


async def _subscribe(bot: Any, _cdn: str) -> None:
    await _as_admin(bot, slash("subscribe"))
    assert _subscribed(bot)


def _add_from_message(cdn: str) -> dict[str, Any]:
    message = message_payload("a reading for the group")
    message["attachments"] = [_attachment(cdn)]
    return message_command("Add to corpus", message)


CASES: dict[str, Case] = {
    "/corpus add": Case(
        _nothing,
        lambda cdn: _corpus(
            "add",
            [{"name": "file", "type": 11, "value": "42"}],
            {"attachments": {"42": _attachment(cdn)}},
        ),
        lambda bot, _fake: _has_reading(bot),
    ),
    "Add to corpus": Case(_nothing, _add_from_message, lambda bot, _fake: _has_reading(bot)),
    "/corpus remove": Case(
        _add_the_reading,
        lambda _cdn: _corpus("remove", [{"name": "document", "type": 3, "value": DOC_ID}]),
        lambda bot, _fake: not _has_reading(bot),
    ),
    "/corpus role": Case(
        _nothing,
        lambda _cdn: _corpus(
            "role",
            [{"name": "role", "type": 8, "value": str(OTHERS)}],
            {"roles": {str(OTHERS): _role(OTHERS)}},
        ),
        lambda bot, _fake: bot.library.store.editor_role(COLLECTION) == OTHERS,
    ),
    "/subscribe": Case(_nothing, lambda _cdn: slash("subscribe"), lambda bot, _f: _subscribed(bot)),
    "/unsubscribe": Case(
        _subscribe, lambda _cdn: slash("unsubscribe"), lambda bot, _f: not _subscribed(bot)
    ),
    "/digest": Case(
        _subscribe, lambda _cdn: slash("digest"), lambda _bot, fake: _public_digest_posted(fake)
    ),
}

MEMBERS = ("no permissions", "only the corpus role", "only the permission")


def _refusal(fake: FakeDiscord) -> str | None:
    """The one ephemeral line the member got, when the bot answered with nothing else."""
    sent = [r.json for r in fake.requests if r.method in ("POST", "PATCH") and r.json]
    bodies = [s.get("data", s) for s in sent]
    lines = [b.get("content") for b in bodies if b.get("flags", 0) & EPHEMERAL]
    others = [b for b in bodies if not b.get("flags", 0) & EPHEMERAL and b != {"type": 5}]
    return lines[0] if len(lines) == 1 and not others else None


# ---------------------------------------------------------------------------- tests --
async def test_the_table_covers_every_command_the_bot_registers_and_only_those(bot: Any) -> None:
    names = {
        f"/{command.qualified_name}"
        for command in bot.tree.walk_commands()
        if isinstance(command, discord.app_commands.Command)
    }
    for kind in (discord.AppCommandType.message, discord.AppCommandType.user):
        names.update(menu.name for menu in bot.tree.get_commands(type=kind))
    tabled = {row.command for row in ROWS}
    assert tabled == set(CASES), "each table row needs a case here, and each case a row"
    assert names - tabled - read_only_commands() == set(), "say in the README who may use it"
    assert (tabled | read_only_commands()) - names == set(), "the README names a command gone"


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.command)
async def test_each_state_changing_command_needs_what_the_readme_says(
    bot: Any, fake_discord: FakeDiscord, cdn: str, row: Row, member: str
) -> None:
    case = CASES[row.command]
    await case.setup(bot, cdn)
    bot.library.store.set_editor_role(COLLECTION, EDITORS)  # the server has a corpus role
    fake_discord.requests.clear()

    payload = case.payload(cdn)
    granted = discord.Permissions.none()
    if member == "only the permission":
        granted = discord.Permissions(**{PERMISSIONS[row.needs]: True})
    payload["member"]["permissions"] = str(granted.value)
    payload["member"]["roles"] = [str(EDITORS)] if member == "only the corpus role" else []
    await dispatch(bot, payload)

    allowed = member == "only the permission" or (member == "only the corpus role" and row.role_may)
    if allowed:
        assert case.changed(bot, fake_discord), f"{row.command} refused a member with {member}"
    else:
        assert not case.changed(bot, fake_discord), f"{row.command} let {member} through"
        refusal = _refusal(fake_discord)
        assert refusal is not None, fake_discord.requests
        assert f"**{row.needs}**" in refusal
