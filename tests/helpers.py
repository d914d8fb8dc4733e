"""Real Discord payloads for tests, a dispatcher through discord.py's own path, limit checks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import discord

from tests.discord_fixtures import APPLICATION_ID, BOT_USER, MESSAGE_FIELDS

GUILD_ID = 700000000000000001
CHANNEL_ID = 700000000000000002
ALICE = 600000000000000001
BOB = 600000000000000002
EPHEMERAL = 64

_ids = itertools.count(500000000000000001)


def _user(user_id: int) -> dict[str, Any]:
    name = {ALICE: "alice", BOB: "bob"}.get(user_id, f"user{user_id}")
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
    }


def interaction_payload(
    type_: int, data: dict[str, Any], *, user_id: int = ALICE, message: dict | None = None
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload as Discord sends it from a guild text channel."""
    interaction_id = next(_ids)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APPLICATION_ID),
        "type": type_,
        "token": f"token-{interaction_id}",
        "version": 1,
        "guild_id": str(GUILD_ID),
        "channel_id": str(CHANNEL_ID),
        "channel": {
            "id": str(CHANNEL_ID),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        },
        "member": {
            "user": _user(user_id),
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "2248473465835073",
        },
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10485760,
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
        "context": 0,
        "data": data,
    }
    if message is not None:
        payload["message"] = message
    return payload


def slash(name: str, *, user_id: int = ALICE, **options: Any) -> dict[str, Any]:
    kinds = {bool: 5, int: 4, float: 10, str: 3}
    opts = [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]
    return interaction_payload(
        2, {"id": str(next(_ids)), "name": name, "type": 1, "options": opts}, user_id=user_id
    )


def subcommand(
    group: str, name: str, *, user_id: int = ALICE, permissions: int | None = None, **options: Any
) -> dict[str, Any]:
    """``/group name option:value``; ``permissions`` are the member's (default: all of them)."""
    kinds = {bool: 5, int: 4, float: 10, str: 3}
    opts = [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]
    data = {"id": str(next(_ids)), "name": group, "type": 1,
            "options": [{"name": name, "type": 1, "options": opts}]}  # fmt: skip
    payload = interaction_payload(2, data, user_id=user_id)
    if permissions is not None:
        payload["member"]["permissions"] = str(permissions)
    return payload


def autocomplete(name: str, focused: str, value: str, **others: Any) -> dict[str, Any]:
    opts = [{"name": k, "type": 3, "value": v} for k, v in others.items()]
    opts.append({"name": focused, "type": 3, "value": value, "focused": True})
    return interaction_payload(4, {"id": str(next(_ids)), "name": name, "type": 1, "options": opts})


def message_payload(
    content: str = "", *, embeds: list[dict] | None = None, author: dict | None = None
) -> dict[str, Any]:
    return {
        "id": str(next(_ids)),
        "channel_id": str(CHANNEL_ID),
        "guild_id": str(GUILD_ID),
        "type": 0,
        "author": author or _user(BOB),
        "content": content,
        "embeds": embeds or [],
        "components": [],
        "flags": 0,
        **MESSAGE_FIELDS,
    }


def message_command(name: str, message: dict[str, Any]) -> dict[str, Any]:
    data = {
        "id": str(next(_ids)),
        "name": name,
        "type": 3,
        "target_id": message["id"],
        "resolved": {"messages": {message["id"]: message}},
    }
    return interaction_payload(2, data)


def button_click(custom_id: str, message: dict[str, Any], *, user_id: int) -> dict[str, Any]:
    return interaction_payload(
        3, {"custom_id": custom_id, "component_type": 2}, user_id=user_id, message=message
    )


def bot_message(fake_message: dict[str, Any]) -> dict[str, Any]:
    """A message the bot sent (as the fake answered it), as it arrives in a later interaction."""
    return {**fake_message, "author": BOT_USER, "guild_id": str(GUILD_ID)}


async def dispatch(bot: discord.Client, payload: dict[str, Any]) -> None:
    """Feed an INTERACTION_CREATE through discord.py's gateway handler; wait until handled."""
    bot._connection.parse_interaction_create(payload)  # what the gateway calls
    current = asyncio.current_task()
    names = ("CommandTree-invoker", "discord-ui-view-dispatch", "discord-ui-dynamic-item")
    for _ in range(50):
        await asyncio.sleep(0)
        pending = [
            t
            for t in asyncio.all_tasks()
            if t is not current and not t.done() and t.get_name().startswith(names)
        ]
        if not pending:
            return
        await asyncio.gather(*pending, return_exceptions=True)


# ------------------------------------------------------------------------ limits --
def embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards a message's 6000."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    return total


def assert_message_within_limits(body: dict[str, Any]) -> None:
    """Every Discord limit on a message body (content, embeds, components, mentions)."""
    assert len(body.get("content") or "") <= 2000
    embeds = body.get("embeds") or []
    assert len(embeds) <= 10
    for embed in embeds:
        assert len(embed.get("title", "")) <= 256
        assert len(embed.get("description", "")) <= 4096
        assert len(embed.get("fields", [])) <= 25
        for f in embed.get("fields", []):
            assert 0 < len(f["name"]) <= 256
            assert 0 < len(f["value"]) <= 1024
        assert len(embed.get("footer", {}).get("text", "")) <= 2048
        assert len(embed.get("author", {}).get("name", "")) <= 256
        if "url" in embed:
            assert embed["url"].startswith(("http://", "https://"))
    assert sum(embed_length(e) for e in embeds) <= 6000
    rows = body.get("components") or []
    assert len(rows) <= 5
    for row in rows:
        assert len(row["components"]) <= 5
        for component in row["components"]:
            assert len(component.get("label", "")) <= 80
            assert len(component.get("custom_id", "")) <= 100


def assert_no_mentions(body: dict[str, Any]) -> None:
    """allowed_mentions parses nothing and lists nobody."""
    mentions = body["allowed_mentions"]
    assert mentions["parse"] == []
    assert not mentions.get("users") and not mentions.get("roles")


# ------------------------------------------------------------------ the clock --
class InstantAsyncio:
    """``asyncio`` as discord.http sees it, but its sleeps are recorded and return at once."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.slept.append(delay)
        return await asyncio.sleep(0, result)


# -------------------------------------------------------------- a web server --
@contextlib.asynccontextmanager
async def serving(path: str, text: str) -> AsyncIterator[str]:
    """A local web server answering ``path`` with ``text`` (Discord's CDN, a news site): its
    base URL while the block runs."""
    from aiohttp import web

    async def reading(_: web.Request) -> web.Response:
        return web.Response(text=text)

    app = web.Application()
    app.router.add_get(path, reading)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()
