"""/subscribe, /unsubscribe, /subscriptions and /digest: theme digests posted on a schedule."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.ext import commands

from bot.digest_embeds import (
    CHART_FILENAME,
    WEEKS_CHART_FILENAME,
    digest_embeds,
    has_marker,
    mentions_for,
)
from bot.digest_store import QuietWeeks, Subscription, open_digest_store
from bot.embeds import echo
from bot.leader import Leadership, leader_lock
from bot.scheduling import (
    DAYS,
    DeliveryBlocked,
    DigestRunner,
    DigestScheduler,
    next_fire_time,
    parse_time,
)
from bot.views import NO_MENTIONS
from briefings.brief import check_topic
from briefings.chart import theme_source_chart, theme_week_chart
from briefings.digest import Digest, DigestSnapshot
from briefings.digest_build import build_digest
from index.errors import InputError

if TYPE_CHECKING:
    from bot.client import BriefBot

log = logging.getLogger(__name__)

HISTORY_LIMIT = 50  # recent messages searched for a period's marker


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def check_time_zone(name: str) -> str:
    """The IANA name as spelled in the database (case-insensitive match); else InputError."""
    wanted = name.strip().lower()
    for zone in time_zones():
        if zone.lower() == wanted:
            return zone
    raise InputError(f"{name!r} is not a time zone: pick an IANA name such as Europe/Berlin")


def in_a_server(interaction: discord.Interaction[BriefBot]) -> bool:
    """Digests belong to server channels (a check: a DM gets discord.py's NoPrivateMessage)."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return True


#: What a digest post carries: the digest and its charts (file name → PNG; none when quiet).
DigestPost = tuple[Digest, dict[str, bytes]]


def chart_files(charts: dict[str, bytes]) -> list[discord.File]:
    return [discord.File(io.BytesIO(png), name) for name, png in charts.items()]


def describe(subscription: Subscription, next_run: datetime | None) -> str:
    when = (
        f"daily at {subscription.time}"
        if subscription.cadence == "daily"
        else f"weekly on {subscription.day.title()} at {subscription.time}"
    )
    parts = [f"<#{subscription.channel_id}>: {when} ({subscription.timezone})"]
    if subscription.topic:
        parts.append(f"topic “{echo(subscription.topic)}”")
    if subscription.mention_role_id:
        parts.append(f"pings <@&{subscription.mention_role_id}>")
    if subscription.skips_quiet_weeks:
        parts.append("skips weeks with nothing new")
    if subscription.paused:
        parts.append(f"**paused**: {subscription.paused_reason}")
    elif next_run is not None:
        parts.append(f"next <t:{int(next_run.timestamp())}:F>")
    return " · ".join(parts)


@contextmanager
def _blocked_when_gone(channel_id: int, refused: str) -> Iterator[None]:
    """A channel that is gone, or that the bot may not use, blocks delivery (it pauses)."""
    try:
        yield
    except discord.NotFound as exc:
        raise DeliveryBlocked(f"channel {channel_id} no longer exists") from exc
    except discord.Forbidden as exc:
        raise DeliveryBlocked(f"{refused} channel {channel_id}") from exc


class DiscordPoster:
    """Posts digests to channels and finds earlier posts by their marker.

    One send per post: discord.py already waits out 429s and retries 500/502/504/524; what still
    fails is the ledger's to retry (:meth:`DigestRunner.retry_failed`), through the marker check.
    """

    def __init__(self, bot: commands.Bot, *, attach_chart: bool = True) -> None:
        self.bot = bot
        self.attach_chart = attach_chart

    def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.bot.get_channel(channel_id)
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self.bot.get_partial_messageable(channel_id)

    async def find_marker(self, subscription: Subscription, marker: str) -> int | None:
        channel = self._channel(subscription.channel_id)
        me = self.bot.user.id if self.bot.user else None
        with _blocked_when_gone(subscription.channel_id, "no permission to read"):
            async for message in channel.history(limit=HISTORY_LIMIT):
                if message.author.id == me and has_marker(message, marker):
                    return message.id
        return None

    async def post(self, subscription: Subscription, payload: Any, marker: str) -> int:
        digest, charts = payload
        content, allowed = mentions_for(subscription.mention_role_id)
        attach = self.attach_chart and bool(charts)
        with _blocked_when_gone(subscription.channel_id, "missing permission to post in"):
            message = await self._channel(subscription.channel_id).send(
                content or None,
                embeds=digest_embeds(digest, marker, chart=attach),
                files=chart_files(charts) if attach else [],
                allowed_mentions=allowed,
            )
        return message.id


class Digests(commands.Cog):
    """Scheduled theme digests, one subscription per channel.

    Every process answers the commands; only the leader among the processes sharing the digest
    store runs the scheduler (``bot/leader.py``), and it picks up the others' changes.
    """

    def __init__(self, bot: BriefBot) -> None:
        self.bot = bot
        self.location = bot.settings.digest_location()
        self.store = open_digest_store(self.location)
        self.poster = DiscordPoster(bot)
        self.runner = DigestRunner(self.store, self.build, self.poster, on_paused=self._paused)
        self.scheduler = self._new_scheduler()
        self.leadership = Leadership(
            leader_lock(self.location),
            on_elected=self._lead,
            on_deposed=self._follow,
            on_tick=self._resync,
        )
        self._startup: asyncio.Task[None] | None = None

    def _new_scheduler(self) -> DigestScheduler:
        return DigestScheduler(
            self.runner,
            self.location,
            rescan=self.rescan,
            rescan_minutes=self.bot.settings.rescan_minutes,
        )

    async def cog_load(self) -> None:
        await self.leadership.start()  # a lone process leads at once

    async def cog_unload(self) -> None:
        await self.leadership.stop()
        self.store.close()

    async def _lead(self) -> None:
        if self.scheduler.running:
            return
        self.scheduler = self._new_scheduler()  # an APScheduler is not started twice
        self.scheduler.start()  # inside the bot's event loop
        self._startup = asyncio.create_task(self._reconcile_when_ready())

    async def _follow(self) -> None:
        if self._startup is not None:
            self._startup.cancel()
            self._startup = None
        self.scheduler.shutdown()

    async def _resync(self) -> None:
        await asyncio.to_thread(self.scheduler.resync)

    def _next_run(self, subscription: Subscription) -> datetime | None:
        if self.scheduler.running:
            return self.scheduler.next_run(subscription.id)
        return None if subscription.paused else next_fire_time(subscription)

    async def _reconcile_when_ready(self) -> None:
        await self.bot.wait_until_ready()
        for subscription_id, period, outcome in await self.runner.reconcile():
            log.info("start-up: digest %s of subscription %d: %s", period, subscription_id,
                     outcome)  # fmt: skip

    def _paused(self, subscription: Subscription) -> None:
        if self.scheduler.running:
            self.scheduler.remove(subscription.id)

    # -- work (in threads) -----------------------------------------------------------------

    def make_digest(
        self,
        subscription: Subscription | None,
        previous: dict[str, Any] | None,
        topic: str | None,
        guild_id: int | None = None,
    ) -> DigestPost:
        """A digest of what the subscription's server (or ``guild_id``) sees."""
        snapshot = DigestSnapshot.from_json(previous) if previous else None
        library = self.bot.library_for(subscription.guild_id if subscription else guild_id)
        return self.charts_of(build_digest(library, snapshot, topic=topic))

    @staticmethod
    def charts_of(digest: Digest) -> DigestPost:
        """The digest with its two charts (none for a quiet period's short post)."""
        if digest.quiet:
            return digest, {}
        charts = {
            CHART_FILENAME: theme_source_chart(digest),
            WEEKS_CHART_FILENAME: theme_week_chart(digest),
        }
        return digest, charts

    def build(
        self, subscription: Subscription, previous: dict[str, Any] | None
    ) -> tuple[DigestPost | None, dict[str, Any] | None]:
        digest, charts = self.make_digest(subscription, previous, subscription.topic)
        if digest.quiet and subscription.skips_quiet_weeks:
            return None, None
        return (digest, charts), digest.snapshot.to_json()

    async def rescan(self) -> None:
        """Index new or changed files of the corpus folders (the shared collection) and of each
        server's folder (its own collection), then reload the library."""
        from index.collections import collection_folders
        from index.pipeline import Indexer
        from index.store import open_store

        library = self.bot.library
        folders = [f for f in self.bot.settings.briefbot_corpus.split(",") if f.strip()]

        def scan() -> str:
            store = open_store(library.store.path)
            try:
                indexer = Indexer(store, library.embedder, limits=self.bot.settings.ingest_limits())
                summaries = [indexer.run(folders).summary()]
                for collection, folder in collection_folders(self.bot.settings.corpus_data_dir):
                    report = indexer.run([folder], collection=collection, prune=True)
                    summaries.append(f"{collection}: {report.summary()}")
            finally:
                store.close()
            library.refresh()
            return "; ".join(summaries)

        log.info("corpus re-scan: %s", await asyncio.to_thread(scan))

    # -- commands --------------------------------------------------------------------------
    # The digest store is SQLite with fsync'd commits, or a database server: every call goes
    # through a thread.
    # Refusals (no Manage Channels, a channel the bot cannot post in, a DM) are raised as
    # discord.py's check errors and answered by the one tree.on_error (bot/errors.py).

    @app_commands.command(name="subscribe", description="Post a theme digest here on a schedule")
    @app_commands.describe(
        cadence="weekly (default) or daily",
        day="day of the week for weekly digests (default Monday)",
        time="time of day, HH:MM (default 09:00)",
        timezone="IANA time zone, e.g. Europe/Berlin (default UTC)",
        topic="only passages about this topic",
        mention_role="the one role a digest may ping",
        quiet_weeks="when nothing was added: post one short line (default) or skip the digest",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.check(in_a_server)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.checks.bot_has_permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
    )
    async def subscribe(
        self,
        interaction: discord.Interaction[BriefBot],
        cadence: Literal["weekly", "daily"] = "weekly",
        day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon",
        time: str = "09:00",
        timezone: str = "UTC",
        topic: str | None = None,
        mention_role: discord.Role | None = None,
        quiet_weeks: Literal["post", "skip"] = "post",
    ) -> None:
        try:
            clock = parse_time(time)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        zone = check_time_zone(timezone)
        topic = check_topic(topic) if topic and topic.strip() else None
        assert day in DAYS and interaction.guild_id is not None
        subscription, created = await asyncio.to_thread(
            self.store.subscribe,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            cadence=cadence,
            day=day,
            time=clock,
            timezone=zone,
            topic=topic,
            mention_role_id=mention_role.id if mention_role else None,
            quiet=QuietWeeks(quiet_weeks),
        )
        if self.scheduler.running:
            self.scheduler.sync(subscription)  # elsewhere the leader picks it up in seconds
        verb = "Subscribed" if created else "Updated the subscription"
        await interaction.response.send_message(
            f"{verb}: {describe(subscription, self._next_run(subscription))}",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @subscribe.autocomplete("timezone")
    async def timezone_choices(
        self, interaction: discord.Interaction[BriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower().replace(" ", "_")
        starts = [z for z in time_zones() if z.lower().startswith(needle)]
        inside = [z for z in time_zones() if needle in z.lower() and z not in starts]
        return [app_commands.Choice(name=z, value=z) for z in (starts + inside)[:25]]

    @app_commands.command(name="unsubscribe", description="Stop this channel's digests")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.check(in_a_server)
    @app_commands.checks.has_permissions(manage_channels=True)
    async def unsubscribe(self, interaction: discord.Interaction[BriefBot]) -> None:
        removed = await asyncio.to_thread(self.store.unsubscribe, interaction.channel_id or 0)
        if removed is not None and self.scheduler.running:
            self.scheduler.remove(removed.id)
        message = (
            "Unsubscribed: no more digests here." if removed else "This channel has no digest."
        )
        await interaction.response.send_message(
            message, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="subscriptions", description="This server's digest subscriptions")
    @app_commands.guild_only()
    @app_commands.check(in_a_server)
    async def subscriptions(self, interaction: discord.Interaction[BriefBot]) -> None:
        subs = await asyncio.to_thread(self.store.subscriptions, interaction.guild_id)
        if not subs:
            text = "No channel here gets digests yet: `/subscribe` in one."
        else:
            text = "\n".join(describe(s, self._next_run(s)) for s in subs)
        embed = discord.Embed(title="Digest subscriptions", description=text[:4000])
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="digest", description="Post a theme digest now, or preview it")
    @app_commands.describe(preview="only you see it, and it does not count as the last digest")
    @app_commands.guild_only()
    @app_commands.check(in_a_server)
    async def digest(
        self, interaction: discord.Interaction[BriefBot], preview: bool = False
    ) -> None:
        if not preview and not interaction.permissions.manage_channels:
            # A post for the whole channel takes what /subscribe takes; a preview takes nothing.
            raise app_commands.MissingPermissions(["manage_channels"])
        subscription = await asyncio.to_thread(
            self.store.subscription_for_channel, interaction.channel_id or 0
        )
        await interaction.response.defer(ephemeral=preview, thinking=True)
        previous = (
            await asyncio.to_thread(self.store.last_snapshot, subscription.id)
            if subscription
            else None
        )
        topic = subscription.topic if subscription else None
        digest, charts = await asyncio.to_thread(
            self.make_digest, subscription, previous, topic, interaction.guild_id
        )
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        marker = f"digest on demand {stamp}"
        attach = self.poster.attach_chart and bool(charts)
        files = chart_files(charts) if attach else []
        await interaction.followup.send(
            embeds=digest_embeds(digest, marker, chart=attach),
            files=files,
            ephemeral=preview,
            allowed_mentions=NO_MENTIONS,
        )
        if subscription is not None and not preview:
            await asyncio.to_thread(
                self.store.save_snapshot, subscription.id, marker, digest.snapshot.to_json()
            )


async def setup(bot: BriefBot) -> None:
    await bot.add_cog(Digests(bot))
