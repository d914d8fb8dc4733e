"""/corpus: a server's reading list (list, add, remove, info, role, history) and /help.

Each server has its own collection beside the operator's shared one (``bot.library_for``).
Adding and removing need Manage Server or the role a server sets with ``/corpus role``; a
refusal is a check failure, answered in one ephemeral line by the tree's error handler.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.corpus_embeds import added_message, history_embed, info_embed
from bot.embeds import clip, corpus_pages, help_embed
from bot.errors import Refused, user_message
from bot.views import NO_MENTIONS, send_pages
from bot.work import in_background
from briefings.brief import parse_since
from briefings.corpus import corpus_entry, corpus_overview
from index.collections import (
    Added,
    add_reading,
    check_reading_name,
    recover,
    remove_documents,
)
from index.errors import BriefbotError, InputError
from index.fetching import FetchedPage, FetchLimits, fetch_url
from index.models import guild_collection
from index.store import open_store

if TYPE_CHECKING:
    from bot.client import BriefBot

log = logging.getLogger(__name__)

CHOICES = 25
LINK = re.compile(r"https?://[^\s<>]+")
MAX_ITEMS = 5  # attachments and links one "Add to corpus" takes from a message

Fetch = Callable[..., Awaitable[FetchedPage]]


def _collection(interaction: discord.Interaction[Any]) -> str:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return guild_collection(interaction.guild_id)


def _role_ids(user: discord.abc.User) -> set[int]:
    # The member's role ids come with the interaction; Member.roles resolves them through the
    # guild cache, which an interaction's guild may not be in.
    ids = getattr(user, "_roles", None)
    if ids is not None:
        return {int(i) for i in ids}
    return {r.id for r in getattr(user, "roles", ())}


async def may_edit_corpus(interaction: discord.Interaction[BriefBot]) -> bool:
    """Manage Server, or the server's corpus role; otherwise one line saying which is needed."""
    collection = _collection(interaction)
    if interaction.permissions.manage_guild:
        return True
    store = interaction.client.library.store
    role_id = await asyncio.to_thread(store.editor_role, collection)
    if role_id is None:
        raise app_commands.MissingPermissions(["manage_guild"])
    if role_id in _role_ids(interaction.user) or role_id == interaction.guild_id:
        return True  # (the guild's own id is its @everyone role)
    raise Refused(
        f"Adding to or removing from this server's corpus needs the **Manage Server** "
        f"permission or the <@&{role_id}> role."
    )


class Corpus(commands.Cog):
    """What the corpus holds, a server's own readings, and how to use the bot."""

    corpus = app_commands.Group(
        name="corpus", description="This server's reading list", guild_only=True
    )

    def __init__(self, bot: BriefBot) -> None:
        self.bot = bot
        self.fetch: Fetch = fetch_url  # tests point it at a local server
        self._locks: dict[str, asyncio.Lock] = {}
        self.add_menu = app_commands.ContextMenu(
            name="Add to corpus", callback=self.add_from_message
        )
        self.add_menu.guild_only = True

    async def cog_load(self) -> None:
        await asyncio.to_thread(recover, self.bot.library.store, self.bot.settings.corpus_data_dir)
        self.bot.tree.add_command(self.add_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.add_menu.name, type=self.add_menu.type)

    # -- reading -------------------------------------------------------------------------

    @corpus.command(name="list", description="The documents the bot quotes from here")
    @app_commands.describe(
        source="only this site, author or document",
        since="only documents published on or after this date (2023, 2023-06, 2023-06-16)",
    )
    async def list_documents(
        self,
        interaction: discord.Interaction[BriefBot],
        source: str | None = None,
        since: str | None = None,
    ) -> None:
        parse_since(since)
        await interaction.response.defer(thinking=True)
        library = self.bot.library_for(interaction.guild_id)
        overview = await in_background(corpus_overview, library, source=source, since=since)
        await send_pages(interaction, corpus_pages(overview))

    @corpus.command(name="info", description="One document: metadata, size, who added it")
    @app_commands.describe(document="the document's id or title")
    async def info(self, interaction: discord.Interaction[BriefBot], document: str) -> None:
        library = self.bot.library_for(interaction.guild_id)
        entry = await asyncio.to_thread(corpus_entry, library, document)
        events = await asyncio.to_thread(library.store.events, entry.collection, 1000)
        added = next((e for e in events if e.action == "add" and entry.doc_id in e.doc_ids), None)
        await interaction.response.send_message(
            embed=info_embed(entry, added), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @corpus.command(name="history", description="Every add and remove in this server's corpus")
    async def history(self, interaction: discord.Interaction[BriefBot]) -> None:
        collection = _collection(interaction)
        events = await asyncio.to_thread(self.bot.library.store.events, collection)
        await interaction.response.send_message(
            embed=history_embed(events), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # -- managing ------------------------------------------------------------------------

    @corpus.command(name="role", description="Let a role add to and remove from the corpus")
    @app_commands.describe(role="the role (leave empty: only Manage Server again)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def role(
        self, interaction: discord.Interaction[BriefBot], role: discord.Role | None = None
    ) -> None:
        collection = _collection(interaction)
        store = self.bot.library.store
        await asyncio.to_thread(store.set_editor_role, collection, role.id if role else None)
        said = (
            f"Members with <@&{role.id}> can now add to and remove from this server's corpus."
            if role
            else "Only members with Manage Server can now add to and remove from the corpus."
        )
        await interaction.response.send_message(said, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @corpus.command(name="add", description="Add a file or a web page to this server's corpus")
    @app_commands.describe(
        file="a .txt, .md, .html, .pdf or .jsonl file", url="a web page or PDF (http/https)"
    )
    @app_commands.check(may_edit_corpus)
    async def add(
        self,
        interaction: discord.Interaction[BriefBot],
        file: discord.Attachment | None = None,
        url: str | None = None,
    ) -> None:
        if (file is None) == (not url):
            raise InputError("give either a file or a url to add, not both")
        if file is not None:
            self._check_attachment(file)
        await interaction.response.defer(thinking=True)
        added = await self._add(interaction, file if file is not None else url or "")
        await interaction.edit_original_response(
            content=added_message(added), allowed_mentions=NO_MENTIONS
        )

    @app_commands.check(may_edit_corpus)
    async def add_from_message(
        self, interaction: discord.Interaction[BriefBot], message: discord.Message
    ) -> None:
        """The message command: a message's attachments and links, each added in turn."""
        items: list[discord.Attachment | str] = [*message.attachments]
        items.extend(dict.fromkeys(m.rstrip(".,;:!?)]>") for m in LINK.findall(message.content)))
        if not items:
            raise InputError("that message has no attachment or link to add")
        for item in items[:MAX_ITEMS]:
            if isinstance(item, discord.Attachment):
                self._check_attachment(item)
        await interaction.response.defer(thinking=True)
        lines: list[str] = []
        for item in items[:MAX_ITEMS]:
            try:
                added = await self._add(interaction, item, done=lines)
            except BriefbotError as exc:  # one bad link does not stop the others
                name = item.filename if isinstance(item, discord.Attachment) else f"<{item}>"
                lines.append(f"Could not add {clip(name, 200)}: {user_message(exc)}")
                continue
            lines.append(added_message(added))
        if all(line.startswith("Could not add") for line in lines):
            await interaction.delete_original_response()
            await interaction.followup.send(
                clip("\n".join(lines), 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.edit_original_response(
            content=clip("\n".join(lines), 2000), allowed_mentions=NO_MENTIONS
        )

    @corpus.command(name="remove", description="Remove a document from this server's corpus")
    @app_commands.describe(document="the document's id or title")
    @app_commands.check(may_edit_corpus)
    async def remove(self, interaction: discord.Interaction[BriefBot], document: str) -> None:
        collection = _collection(interaction)
        library = self.bot.library_for(interaction.guild_id)
        settings = self.bot.settings

        def work() -> list[Any]:
            # The lookup reads every document: in the thread too, not on the event loop.
            doc_id = self._own_document(library, collection, document)
            return remove_documents(
                library.store, settings.corpus_data_dir, collection, [doc_id],
                user_id=interaction.user.id,
            )  # fmt: skip

        async with self._lock(collection):
            removed = await asyncio.to_thread(work)
        await interaction.response.send_message(
            f"Removed **{clip(removed[0].display_title, 200)}** from this server's corpus.",
            allowed_mentions=NO_MENTIONS,
        )

    @info.autocomplete("document")
    async def any_document(
        self, interaction: discord.Interaction[BriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await asyncio.to_thread(self._document_choices, interaction, current, own_only=False)

    @remove.autocomplete("document")
    async def own_document(
        self, interaction: discord.Interaction[BriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await asyncio.to_thread(self._document_choices, interaction, current, own_only=True)

    # -- helpers -------------------------------------------------------------------------

    def _document_choices(
        self, interaction: discord.Interaction[BriefBot], current: str, *, own_only: bool
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower()
        collection = _collection(interaction)
        choices = []
        for doc in self.bot.library_for(interaction.guild_id).documents():
            if own_only and doc.collection != collection:
                continue
            if len(doc.doc_id) > 100:
                continue  # a value Discord cannot carry; the id typed in full still works
            if needle in doc.display_title.lower() or needle in doc.doc_id.lower():
                choices.append(
                    app_commands.Choice(name=clip(doc.display_title, 100), value=doc.doc_id)
                )
            if len(choices) >= CHOICES:
                break
        return choices

    @staticmethod
    def _own_document(library: Any, collection: str, document: str) -> str:
        """The id of this server's document named by id or exact title."""
        wanted = document.strip()
        for doc in library.documents():
            if doc.collection == collection and wanted in (doc.doc_id, doc.title):
                return str(doc.doc_id)
        return wanted  # remove_documents says it is not in this server's corpus

    def _check_attachment(self, file: discord.Attachment) -> None:
        limit = self.bot.settings.corpus_upload_max_mb
        check_reading_name(file.filename)  # before anything is downloaded
        if file.size > limit * 1_000_000:
            raise InputError(
                f"that file ({file.filename}) is {file.size / 1e6:.3g} MB; "
                f"the limit here is {limit:g} MB"
            )

    def _lock(self, collection: str) -> asyncio.Lock:
        return self._locks.setdefault(collection, asyncio.Lock())

    async def _add(
        self,
        interaction: discord.Interaction[BriefBot],
        item: discord.Attachment | str,
        *,
        done: list[str] | None = None,
    ) -> Added:
        """Fetch or download one reading and index it, showing each stage in the reply."""
        collection = _collection(interaction)
        settings = self.bot.settings
        earlier = "\n".join(done or [])

        async def show(stage: str) -> None:
            text = f"{earlier}\n{stage}" if earlier else stage
            await interaction.edit_original_response(
                content=clip(text, 2000), allowed_mentions=NO_MENTIONS
            )

        limit = int(settings.corpus_upload_max_mb * 1_000_000)
        if isinstance(item, discord.Attachment):
            name, url = item.filename, None
            await show(f"Reading {clip(name, 100)} …")
            data = await item.read()
            if len(data) > limit:
                raise InputError(f"{name} is larger than {settings.corpus_upload_max_mb:g} MB")
        else:
            await show(f"Fetching <{clip(item, 200)}> …")
            page = await self.fetch(item, limits=FetchLimits(max_bytes=limit))
            name, url, data = page.filename, page.url, page.body

        loop = asyncio.get_running_loop()
        stages: asyncio.Queue[str] = asyncio.Queue()

        def progress(stage: str) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(stages.put_nowait, stage)

        library = self.bot.library

        def work() -> Added:
            store = open_store(library.store.path)  # its own connection: readers are never held up
            try:
                return add_reading(
                    store,
                    library.embedder,
                    settings.corpus_data_dir,
                    collection,
                    name,
                    data,
                    user_id=interaction.user.id,
                    url=url,
                    progress=progress,
                )
            finally:
                store.close()

        async with self._lock(collection):
            task = asyncio.ensure_future(in_background(work))
            shown = f"Reading {clip(name, 100)}"
            while True:
                next_stage = asyncio.ensure_future(stages.get())
                await asyncio.wait({task, next_stage}, return_when=asyncio.FIRST_COMPLETED)
                if not next_stage.done():
                    next_stage.cancel()
                    break
                stage = next_stage.result()
                if stage != "reading":
                    await show(f"{shown} · {stage} …")
            added = task.result()
        await asyncio.to_thread(library.refresh)
        return added

    # -- help ----------------------------------------------------------------------------

    @app_commands.command(name="help", description="What briefbot can do")
    async def help(self, interaction: discord.Interaction[BriefBot]) -> None:
        await interaction.response.send_message(
            embed=help_embed(), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: BriefBot) -> None:
    await bot.add_cog(Corpus(bot))
