"""The Discord client: loads the index once, loads the cogs, syncs commands, runs."""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands
from pydantic import SecretStr

from bot import errors
from bot.settings import Settings, load_settings
from bot.views import DYNAMIC_ITEMS, Paginator
from index.errors import BriefbotError, IndexMissing
from index.library import Library
from index.models import SHARED, guild_collection
from index.store import is_postgres_url

log = logging.getLogger(__name__)

# Cogs loaded at start-up, in order.
EXTENSIONS: tuple[str, ...] = ("bot.cogs.briefs", "bot.cogs.corpus", "bot.cogs.digests")

# The least the bot needs in a channel: read it, answer with embeds (and charts), see history.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


def intents() -> discord.Intents:
    """No privileged intents: slash commands and context menus need only guild events."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    return wanted


def shard_options(settings: Settings) -> dict[str, Any]:
    """What AutoShardedBot takes from SHARD_COUNT / SHARD_IDS (ids unset: every shard here)."""
    options: dict[str, Any] = {"shard_count": settings.shard_count}
    if settings.shard_ids is not None:
        options["shard_ids"] = list(settings.shard_ids)
    return options


class BriefBot(commands.Bot):
    """briefbot on Discord; cogs reach the corpus through ``bot.library``."""

    def __init__(self, settings: Settings, library: Library | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=settings.guild_ready_timeout,
            **(shard_options(settings) if settings.sharded else {}),
        )
        self.settings = settings
        self._library = library
        # Live paginators by id: a page button whose paginator is gone (timed out, or the bot
        # restarted) says so instead of failing silently.
        self.paginators: weakref.WeakValueDictionary[str, Paginator] = weakref.WeakValueDictionary()

    @property
    def library(self) -> Library:
        """The whole index (every collection): for the operator's work, never a user's answer."""
        if self._library is None:
            raise IndexMissing("the index is still loading")
        return self._library

    def collections_for(self, guild_id: int | None) -> frozenset[str]:
        """What a server sees: its own collection, and the shared one unless turned off."""
        seen = {SHARED} if self.settings.shared_collection_in_servers or guild_id is None else set()
        if guild_id is not None:
            seen.add(guild_collection(guild_id))
        return frozenset(seen)

    def library_for(self, guild_id: int | None) -> Library:
        """The index as one server sees it (outside a server: the shared collection)."""
        return self.library.within(self.collections_for(guild_id))

    async def setup_hook(self) -> None:
        if self._library is None:
            log.info("opening the index at %s", self.settings.database_label())
            location = self.settings.index_location()
            self._library = await asyncio.to_thread(Library.open, location)
        # Load the model before going online so the first /brief does not wait for it.
        await asyncio.to_thread(self._library.embedder.encode_queries, ["warm up"])
        errors.install(self.tree)
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # buttons that outlive their views and restarts
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        if self.application_id is not None:
            log.info("invite briefbot with: %s", invite_url(self.application_id))

    async def sync_commands(self) -> None:
        """Sync to DEV_GUILD_ID when set (instant), else globally (can take up to an hour)."""
        guild_id = self.settings.dev_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally", len(synced))

    async def on_ready(self) -> None:
        user = self.user
        log.info("online as %s (%s) in %d guild(s)", user, user.id if user else "?",
                 len(self.guilds))  # fmt: skip


class ShardedBriefBot(BriefBot, commands.AutoShardedBot):
    """briefbot running some or all of the bot's shards (SHARD_COUNT / SHARD_IDS): each shard is
    one gateway connection, and Discord sends each guild's events to one shard only."""


def create_bot(settings: Settings, library: Library | None = None) -> BriefBot:
    """The bot, configured (sharded when SHARD_COUNT is set); pass ``library`` to skip opening
    the index (tests)."""
    return (ShardedBriefBot if settings.sharded else BriefBot)(settings, library)


def point_at_discord(settings: Settings) -> None:
    """Aim discord.py at another Discord (e.g. a local twin) when the settings say so.

    Both are process-wide class attributes and must be set before login.
    """
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
        log.info("using the Discord API at %s", discord.http.Route.BASE)
    if settings.discord_gateway_url:
        gateway = yarl.URL(settings.discord_gateway_url)
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
        log.info("using the Discord gateway at %s", gateway)


def _fail(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return 2


def run_bot(
    *, db_path: str | None = None, corpus: str | None = None, settings: Settings | None = None
) -> int:
    """`briefbot run`: serve until interrupted; 2 when misconfigured."""
    settings = settings or load_settings()
    secret = settings.discord_token
    if secret is None:
        return _fail(
            "DISCORD_TOKEN is not set: put the bot's token in the environment or in .env "
            "(see .env.example), or try `briefbot console`"
        )
    updates: dict[str, object] = {}
    if db_path and is_postgres_url(db_path):
        updates["briefbot_database_url"] = SecretStr(db_path)
    elif db_path:
        if settings.database_url() is not None:
            return _fail(f"--db names the file {db_path}, but BRIEFBOT_DATABASE_URL is set")
        updates["briefbot_db"] = db_path
    if corpus:
        updates["briefbot_corpus"] = corpus
    settings = settings.model_copy(update=updates)
    location = settings.index_location()
    if not is_postgres_url(location) and not Path(location).exists():
        return _fail(f"no index at {location}: run `briefbot index PATH...` first")
    for name in ("bot", "discord"):
        if logging.getLogger(name).getEffectiveLevel() > logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
    point_at_discord(settings)
    bot = create_bot(settings)

    async def serve() -> None:
        async with bot:
            await bot.start(secret.get_secret_value())

    try:
        asyncio.run(serve())
    except discord.LoginFailure:
        return _fail("Discord rejected DISCORD_TOKEN: check the token in .env")
    except discord.ConnectionClosed as exc:
        if exc.code != 4004:  # 4004: the gateway's "authentication failed"
            raise
        return _fail("Discord rejected DISCORD_TOKEN: check the token in .env")
    except discord.PrivilegedIntentsRequired:
        return _fail("Discord refused an intent the bot asked for")
    except BriefbotError as exc:
        return _fail(str(exc))
    except aiohttp.ClientConnectorError as exc:
        return _fail(f"cannot reach Discord ({exc.host}:{exc.port}): {exc.os_error}")
    except KeyboardInterrupt:
        log.info("stopped")
    return 0
