"""Discord at the process boundary: a recording aiohttp fake, and the discord-digital-twin.

- ``fake_discord``: a local aiohttp server mounted as ``discord.http.Route.BASE`` that answers what
  the bot's REST calls need and records every request, for fast tests on exact requests.
- ``twin_info`` / ``twin``: the npm twin (tests/discord_twin), a whole local Discord with a gateway,
  for the end-to-end tests marked ``discord``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import select
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
import yarl
from aiohttp import web

TWIN_DIR = Path(__file__).resolve().parent / "discord_twin"

APPLICATION_ID = 900000000000000001
BOT_USER = {
    "id": str(APPLICATION_ID),
    "username": "briefbot",
    "discriminator": "0",
    "global_name": "briefbot",
    "avatar": None,
    "bot": True,
}

# What every message object carries that these tests never vary.
MESSAGE_FIELDS: dict[str, Any] = {
    "timestamp": "2024-01-01T00:00:00+00:00",
    "edited_timestamp": None,
    "tts": False,
    "mention_everyone": False,
    "mentions": [],
    "mention_roles": [],
    "attachments": [],
    "pinned": False,
}


# ------------------------------------------------------------- the recording fake --
@dataclass
class Request:
    """One request the bot sent."""

    method: str
    path: str  # below /api/v10, e.g. /interactions/1/tok/callback
    query: dict[str, str]
    json: Any


@dataclass
class FakeDiscord:
    """Answers the REST calls the bot makes; ``requests`` holds them in order."""

    base: str = ""
    requests: list[Request] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(800000000000000001))
    interaction_types: dict[str, int] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)  # messages the bot created

    def next_id(self) -> str:
        return str(next(self._ids))

    def find(self, method: str, path_part: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def message(self, body: dict[str, Any], channel_id: str = "1") -> dict[str, Any]:
        return {
            "id": self.next_id(),
            "channel_id": channel_id,
            "type": 0,
            "author": BOT_USER,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "flags": body.get("flags", 0),
            **MESSAGE_FIELDS,
            "application_id": str(APPLICATION_ID),
        }

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/users/@me"):
            return 200, BOT_USER
        if (method, path) == ("GET", "/oauth2/applications/@me"):
            return 200, {
                "id": str(APPLICATION_ID),
                "name": "briefbot",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": {**BOT_USER, "id": "1", "username": "owner", "bot": False},
                "team": None,
            }
        if method == "PUT" and parts[-1] == "commands":
            commands = []
            for command in body:
                command = {"description": "", **command, "id": self.next_id(), "version": "1"}
                command["application_id"] = str(APPLICATION_ID)
                commands.append(command)
            return 200, commands
        if parts[0] == "interactions" and parts[-1] == "callback":
            return 200, self._callback(parts[1], body)
        if parts[0] == "webhooks":
            if method == "POST":
                self.sent.append(self.message(body))
                return 200, self.sent[-1]
            if method == "PATCH":
                return 200, self.message(body)
            if method == "DELETE":
                return 204, None
            if method == "GET":
                return 200, self.message({})
        return 404, {"message": f"fake Discord: no route for {method} {path}", "code": 0}

    def _callback(self, interaction_id: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = body["type"]
        data = body.get("data") or {}
        interaction: dict[str, Any] = {
            "id": interaction_id,
            "type": self.interaction_types.get(interaction_id, 2),
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(data.get("flags", 0) & 64),
        }
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 7):
            message = self.message(data)
            interaction["response_message_id"] = message["id"]
            resource["message"] = message
        return {"interaction": interaction, "resource": resource}

    async def handle(self, request: web.Request) -> web.Response:
        body: Any = None
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
            elif request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if getattr(part, "name", None) == "payload_json":
                        body = json.loads(await part.text())  # type: ignore[union-attr]
        path = request.path.removeprefix("/api/v10")
        self.requests.append(Request(request.method, path, dict(request.query), body))
        status, payload = self.answer(request.method, path, body)
        if payload is None:
            return web.Response(status=status)
        headers = {"Content-Type": "application/json"}  # discord.py parses JSON only for this
        if status == 429:
            headers["Via"] = "1.1 google"  # a 429 without Via is Cloudflare's: never retried
        return web.Response(status=status, body=json.dumps(payload).encode(), headers=headers)


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A recording fake Discord on 127.0.0.1, mounted as discord.py's REST base."""
    fake = FakeDiscord()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base = f"http://127.0.0.1:{port}/api/v10"
    saved = discord.http.Route.BASE
    discord.http.Route.BASE = fake.base
    try:
        yield fake
    finally:
        discord.http.Route.BASE = saved
        await runner.cleanup()


# ----------------------------------------------------------------------- the twin --
def _missing(tool: str) -> None:
    """Without Node the twin cannot run: a failure that says what to install, never a skip."""
    pytest.fail(
        f"{tool} is not installed, so the Discord twin cannot run: install Node 20 and run "
        "scripts/setup.sh (or deselect these tests with -m 'not discord')"
    )


def _install_twin() -> None:
    if (TWIN_DIR / "node_modules").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        _missing("npm")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TWIN_DIR, check=True, timeout=600)


@pytest.fixture(scope="session")
def twin_info() -> Iterator[dict[str, Any]]:
    """Start the twin (node twin.mjs) once per test run; yield its info dict."""
    with start_twin() as info:
        yield info


@contextlib.contextmanager
def start_twin(
    config: dict[str, Any] | None = None,
    *,
    script: str = "twin.mjs",
    env: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """A twin of its own (``config``: twin.mjs's, e.g. several guilds; ``script``: sharded.mjs
    for a gateway that honours shards, ``env`` its settings); yields its info dict."""
    if shutil.which("node") is None:
        _missing("node")
    _install_twin()
    proc = subprocess.Popen(
        ["node", script, *([json.dumps(config)] if config else [])],
        cwd=TWIN_DIR,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "TWIN_EXIT_ON_STDIN_EOF": "1", **(env or {})},
    )
    try:
        assert proc.stdout is not None
        ready = select.select([proc.stdout], [], [], 30)[0]
        line = proc.stdout.readline() if ready else ""
        if not line:
            pytest.fail("the Discord twin did not start (try `npm ci` in tests/discord_twin)")
        yield json.loads(line)
    finally:
        proc.terminate()
        proc.wait(10)


class Twin:
    """Test-side client of the twin's control API: act as a user, read state back."""

    def __init__(self, info: dict[str, Any], session: aiohttp.ClientSession) -> None:
        self.info, self.http = info, session

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.info["control"] + path, json=body) as r:
            r.raise_for_status()
            return await r.json()

    async def interact(self, type_: int, data: dict[str, Any], **kw: Any) -> str:
        """Send an INTERACTION_CREATE as a user; kw: channelId, userId, messageId."""
        return (await self.call("POST", "/interactions", {"type": type_, "data": data, **kw}))["id"]

    async def slash(self, name: str, **options: Any) -> str:
        kinds = {bool: 5, int: 4, float: 10, str: 3}
        opts = [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]
        return await self.interact(2, {"name": name, "type": 1, "options": opts})

    async def response(self, interaction_id: str, within: float = 10) -> dict[str, Any]:
        """Wait until the bot's callback reached the twin; return type, data, messageId."""
        for _ in range(int(within / 0.05)):
            resp = await self.call("GET", f"/interactions/{interaction_id}")
            if resp["delivered"]:
                await asyncio.sleep(0.05)  # let discord.py finish (e.g. register a View)
                return resp
            await asyncio.sleep(0.05)
        raise TimeoutError(f"bot did not answer interaction {interaction_id}")

    async def messages(self, channel: str = "general") -> list[dict[str, Any]]:
        return await self.call("GET", f"/channels/{self.info['channels'][channel]}/messages")

    async def wait_for_message(
        self, pred: Any, channel: str = "general", within: float = 10
    ) -> dict[str, Any]:
        """Poll until a message (newest first) matches ``pred``; return it."""
        for _ in range(int(within / 0.05)):
            for msg in reversed(await self.messages(channel)):
                if pred(msg):
                    return msg
            await asyncio.sleep(0.05)
        raise TimeoutError("no matching message")


def point_at_twin(info: dict[str, Any]) -> tuple[str, yarl.URL]:
    """Aim discord.py at the twin; returns the previous settings to restore."""
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = info["rest"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(info["gateway"])
    return saved


def restore_discord(saved: tuple[str, yarl.URL]) -> None:
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


# ------------------------------------------------------------------- the bot --
@pytest.fixture(scope="session")
def seeds_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds indexed once with the fake embedder, shared by the bot tests."""
    from index.embedding import FakeEmbedder
    from tests.conftest import SEEDS, build_index

    db = tmp_path_factory.mktemp("bot") / "seeds.db"
    build_index(db, [SEEDS], FakeEmbedder())
    return db


@pytest.fixture(scope="session")
def seeds_library(seeds_db: Path) -> Any:
    from index.embedding import FakeEmbedder
    from index.library import Library

    return Library.open(seeds_db, FakeEmbedder())


def test_settings(**overrides: Any) -> Any:
    """Settings that ignore .env and the environment's cooldowns (tests set what they need)."""
    from bot.settings import Settings

    values: dict[str, Any] = {
        "discord_token": "fake-bot-token",
        "dev_guild_id": None,
        "discord_api_base": None,
        "discord_gateway_url": None,
        "brief_cooldown_seconds": 0,
        "sources_cooldown_seconds": 0,
        "guild_ready_timeout": 0.1,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


@pytest_asyncio.fixture
async def bot_factory(
    fake_discord: FakeDiscord, seeds_library: Any, tmp_path: Path
) -> AsyncIterator[Any]:
    """Build and log in real BriefBots (create_bot) against the recording fake."""
    from bot.client import create_bot

    bots = []

    async def make(**overrides: Any) -> Any:
        overrides.setdefault("scheduler_db", str(tmp_path / "scheduler.db"))  # other cogs' state
        bot = create_bot(test_settings(**overrides), seeds_library)
        await bot.login("fake-bot-token")  # runs setup_hook: cogs, error handler, sync
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.close()


@pytest_asyncio.fixture
async def bot(bot_factory: Any, fake_discord: FakeDiscord) -> Any:
    """A logged-in BriefBot; the fake's request log starts empty after login."""
    made = await bot_factory()
    fake_discord.requests.clear()
    return made


@contextlib.asynccontextmanager
async def bot_on_twin(
    twin_info: dict[str, Any],
    library: Any,
    scheduler_db: Path,
    *,
    reconnect: bool = False,
    **overrides: Any,
) -> AsyncIterator[Any]:
    """The real bot, pointed at the twin by its own settings, online with commands synced
    (``reconnect``: as in production, it reconnects when the gateway drops it)."""
    from bot.client import create_bot, point_at_discord

    settings = test_settings(
        discord_api_base=twin_info["rest"],
        discord_gateway_url=twin_info["gateway"],
        scheduler_db=str(scheduler_db),
        **overrides,
    )
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    point_at_discord(settings)
    bot = create_bot(settings, library)
    await bot.login(twin_info["botToken"])  # setup_hook: cogs, error handler, tree.sync()
    task = asyncio.create_task(bot.connect(reconnect=reconnect))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 15)
        yield bot
    finally:
        await bot.close()
        await task
        restore_discord(saved)
