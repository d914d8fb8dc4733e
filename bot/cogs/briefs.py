"""/brief, /sources and the "Sources for this quote" message command."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import brief_pages, sources_embeds
from bot.views import NO_MENTIONS, send_pages
from bot.work import in_background
from briefings.brief import check_topic, make_brief, parse_since
from briefings.sources import passage_sources, sources_for_text
from briefings.themes import label_phrases
from index.library import Library, parse_passage_id
from index.models import Document

if TYPE_CHECKING:
    from bot.client import BriefBot

log = logging.getLogger(__name__)

CHOICES = 25  # Discord shows at most 25 autocomplete choices
CHOICE_CHARS = 100  # and each choice's name and value is at most 100 characters
PHRASE_DOCUMENTS = 2000  # key phrases come from this many of the most recent documents
PHRASES_PER_DOCUMENT = 6
VOCABULARY_TTL = 60.0  # seconds before the autocomplete vocabulary is rebuilt


def _cooldown(setting: str):
    """A per-user cooldown whose length comes from the bot's settings."""

    def factory(interaction: discord.Interaction[BriefBot]) -> app_commands.Cooldown | None:
        seconds = float(getattr(interaction.client.settings, setting))
        return app_commands.Cooldown(1, seconds) if seconds > 0 else None

    return factory


def _phrases(title: str) -> list[str]:
    """A title and its parts (split at colons, dashes, pipes): cheap key phrases."""
    parts = [p.strip(" \"'“”‘’") for p in re.split(r"\s*[:|–—]\s*|\s+-\s+", title)]
    return [title, *(p for p in parts if len(p) >= 4 and p != title)]


def corpus_phrases(documents: list[Document], limit: int = PHRASE_DOCUMENTS) -> list[str]:
    """Each document's distinctive multi-word phrases (c-TF-IDF), the most recent documents'."""
    recent = sorted(documents, key=lambda d: (d.published or "", d.doc_id), reverse=True)[:limit]
    paragraphs = [[p for p in d.text.split("\n\n") if p.strip()] for d in recent]
    return [
        phrase
        for phrases in label_phrases(paragraphs, max_phrases=PHRASES_PER_DOCUMENT)
        for phrase in phrases
        if " " in phrase
    ]


def rank_choices(current: str, candidates: Iterable[str], limit: int = CHOICES) -> list[str]:
    """Candidates starting with ``current`` first, then those containing it (case-insensitive)."""
    needle = " ".join(current.split()).lower()
    prefix: list[str] = []
    inside: list[str] = []
    seen: set[str] = set()
    for text in candidates:
        key = text.lower()
        if key in seen:
            continue
        if not needle or key.startswith(needle):
            prefix.append(text)
            seen.add(key)
        elif needle in key:
            inside.append(text)
            seen.add(key)
        if len(prefix) >= limit:
            break
    return (prefix + inside)[:limit]


def _choices(values: list[str]) -> list[app_commands.Choice[str]]:
    out = []
    for value in values:
        short = value if len(value) <= CHOICE_CHARS else value[: CHOICE_CHARS - 1] + "…"
        out.append(app_commands.Choice(name=short, value=short))
    return out


class Vocabulary:
    """Titles, phrases and sources for autocomplete, held in memory (answers in microseconds)."""

    def __init__(self) -> None:
        self.topics: list[str] = []
        self.sources: list[str] = []
        self.built_at = float("-inf")
        self.generation = -1
        self._rebuilding = False

    def build(self, library: Library) -> None:
        generation = library.store.generation()
        if generation == self.generation:  # nothing new: keep what was built
            self.built_at = time.monotonic()
            return
        topics: list[str] = []
        sites: list[str] = []
        authors: list[str] = []
        titles: list[str] = []
        documents = library.documents()
        for doc in documents:
            if doc.title:
                topics.extend(_phrases(doc.title))
                titles.append(doc.title)
            if doc.site:
                sites.append(doc.site)
            authors.extend(doc.authors)
        topics.extend(corpus_phrases(documents))
        self.topics = sorted(set(topics), key=str.lower)
        self.generation = generation
        self.sources = [*sorted(set(sites)), *sorted(set(authors)), *sorted(set(titles))]
        self.built_at = time.monotonic()

    async def refresh_if_stale(self, library: Library) -> None:
        """Rebuild off the event loop when older than the TTL; never makes a caller wait."""
        if self._rebuilding or time.monotonic() - self.built_at < VOCABULARY_TTL:
            return
        self._rebuilding = True

        async def rebuild() -> None:
            try:
                await in_background(self.build, library)
            except Exception:
                log.exception("could not rebuild the autocomplete vocabulary")
            finally:
                self._rebuilding = False

        self._task = asyncio.create_task(rebuild())


class Briefs(commands.Cog):
    """Quotes on a topic, and where they come from."""

    def __init__(self, bot: BriefBot) -> None:
        self.bot = bot
        # One per server: autocomplete offers only what that server's scope holds.
        self.vocabularies: dict[int | None, Vocabulary] = {}
        self.sources_menu = app_commands.ContextMenu(
            name="Sources for this quote", callback=self.sources_for_message
        )

    async def cog_load(self) -> None:
        # The shared collection's vocabulary, built before going online (also outside servers).
        shared = self.vocabularies[None] = Vocabulary()
        await in_background(shared.build, self.bot.library_for(None))
        self.bot.tree.add_command(self.sources_menu)

    async def vocabulary(self, guild_id: int | None) -> Vocabulary:
        """The server's autocomplete vocabulary, kept fresh off the event loop.

        A server's first request starts its build and is answered meanwhile from the shared
        collection's (which that server sees too), or with nothing when servers do not see it:
        autocomplete has three seconds, never enough to wait for a build.
        """
        library = self.bot.library_for(guild_id)
        vocabulary = self.vocabularies.get(guild_id)
        if vocabulary is None:
            vocabulary = self.vocabularies[guild_id] = Vocabulary()
        await vocabulary.refresh_if_stale(library)
        if vocabulary.generation >= 0:
            return vocabulary
        shared = self.vocabularies.get(None)
        if shared is not None and self.bot.settings.shared_collection_in_servers:
            return shared
        return vocabulary

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.sources_menu.name, type=self.sources_menu.type)

    # -- /brief ----------------------------------------------------------------------------

    @app_commands.command(name="brief", description="Verbatim, cited quotes from the corpus")
    @app_commands.describe(
        topic="what the brief is about, e.g. sino-russian relations",
        count="how many quotes (1-10, default 5)",
        source="only this site, author or document",
        since="only documents published on or after this date (2023, 2023-06, 2023-06-16)",
    )
    @app_commands.checks.dynamic_cooldown(_cooldown("brief_cooldown_seconds"))
    async def brief(
        self,
        interaction: discord.Interaction[BriefBot],
        topic: str,
        count: app_commands.Range[int, 1, 10] = 5,
        source: str | None = None,
        since: str | None = None,
    ) -> None:
        # Cheap checks first, so input errors get an ephemeral reply instead of a public one.
        topic = check_topic(topic)
        parse_since(since)
        await interaction.response.defer(thinking=True)
        brief = await in_background(
            make_brief,
            self.bot.library_for(interaction.guild_id),
            topic,
            k=count,
            source=source or None,
            since=since,
        )
        await send_pages(interaction, brief_pages(brief))

    @brief.autocomplete("topic")
    async def brief_topic_autocomplete(
        self, interaction: discord.Interaction[BriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        vocabulary = await self.vocabulary(interaction.guild_id)
        return _choices(rank_choices(current, vocabulary.topics))

    @brief.autocomplete("source")
    async def brief_source_autocomplete(
        self, interaction: discord.Interaction[BriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        vocabulary = await self.vocabulary(interaction.guild_id)
        return _choices(rank_choices(current, vocabulary.sources))

    # -- /sources --------------------------------------------------------------------------

    @app_commands.command(name="sources", description="Where a passage comes from")
    @app_commands.describe(passage="the passage id shown under a quote, e.g. P42")
    @app_commands.checks.dynamic_cooldown(_cooldown("sources_cooldown_seconds"))
    async def sources(self, interaction: discord.Interaction[BriefBot], passage: str) -> None:
        passage_id = parse_passage_id(passage)
        await interaction.response.defer(thinking=True)
        library = self.bot.library_for(interaction.guild_id)
        view = await in_background(passage_sources, library, passage_id)
        await interaction.followup.send(embeds=sources_embeds(view), allowed_mentions=NO_MENTIONS)

    @app_commands.checks.dynamic_cooldown(_cooldown("sources_cooldown_seconds"))
    async def sources_for_message(
        self, interaction: discord.Interaction[BriefBot], message: discord.Message
    ) -> None:
        """The message command: the best-matching passage for any message's text."""
        text = message_text(message)
        interaction.extras["ephemeral_defer"] = True
        await interaction.response.defer(ephemeral=True, thinking=True)
        library = self.bot.library_for(interaction.guild_id)
        view = await in_background(sources_for_text, library, text)
        await interaction.followup.send(
            embeds=sources_embeds(view), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def message_text(message: discord.Message) -> str:
    """A message's own text plus its embeds' descriptions (the bot's briefs quote there)."""
    parts = [message.content or ""]
    parts.extend(embed.description or "" for embed in message.embeds)
    return "\n".join(p for p in parts if p)


async def setup(bot: BriefBot) -> None:
    await bot.add_cog(Briefs(bot))
