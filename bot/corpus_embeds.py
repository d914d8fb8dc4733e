"""A server's corpus as Discord messages: one document's details, the add/remove history."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.embeds import (
    CORPUS_COLOUR,
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    clip,
    safe_url,
)
from briefings.corpus import CorpusEntry
from index.collections import Added
from index.models import SHARED
from index.store import CollectionEvent

HISTORY_LINES = 25
SUGGESTION_CHARS = 60


def suggested_topic(title: str) -> str:
    """A topic to try first on a new reading: its title, cut at a word boundary."""
    words, shown = title.split(), ""
    for word in words:
        if len(shown) + len(word) + 1 > SUGGESTION_CHARS:
            break
        shown = f"{shown} {word}".strip()
    return shown or title[:SUGGESTION_CHARS]


def added_message(added: Added, *, added_now: bool = True) -> str:
    """The last word of an add: what it became, how big, and a brief to try."""
    doc = added.documents[0]
    title = clip(added.title, 200)
    if not added_now or added.already:
        return f"Already in the corpus as **{title}** (`{doc.doc_id}`)."
    more = f" and {len(added.documents) - 1} more document(s)" if len(added.documents) > 1 else ""
    return (
        f"Added **{title}**{more} to this server's corpus: {added.passages} passages. "
        f"Try `/brief topic:{suggested_topic(added.title)}`"
    )


def _when(iso: str) -> str:
    """A stored UTC time as Discord's own timestamp (each reader sees their zone)."""
    try:
        return f"<t:{int(datetime.fromisoformat(iso).timestamp())}:f>"
    except ValueError:
        return iso


def history_embed(events: list[CollectionEvent]) -> discord.Embed:
    """The latest adds and removes, newest first: who, when, what."""
    embed = discord.Embed(title="This server's corpus: history", colour=CORPUS_COLOUR)
    if not events:
        embed.description = "Nothing has been added or removed yet."
        return embed
    lines = []
    for event in events[:HISTORY_LINES]:
        who = f"<@{event.user_id}>" if event.user_id else "someone"
        verb = "added" if event.action == "add" else "removed"
        what = clip(event.title, 120)
        ids = f" (`{event.doc_ids[0]}`)" if event.doc_ids else ""
        lines.append(f"{_when(event.at)} {who} {verb} **{what}**{ids}")
    embed.description = clip("\n".join(lines), DESCRIPTION_LIMIT)
    return embed


def info_embed(entry: CorpusEntry, added: CollectionEvent | None) -> discord.Embed:
    """One document: its metadata, its size, whose it is and who added it."""
    embed = discord.Embed(title=clip(entry.title, TITLE_LIMIT), colour=CORPUS_COLOUR)
    url = safe_url(entry.url)
    if url:
        embed.url = url
    embed.add_field(name="Authors", value=clip(", ".join(entry.authors) or "unknown", 1024))
    embed.add_field(name="Published", value=entry.published or "undated")
    embed.add_field(name="Passages", value=str(entry.passages))
    if entry.site:
        embed.add_field(name="Site", value=clip(entry.site, FIELD_VALUE_LIMIT))
    whose = "the shared collection" if entry.collection == SHARED else "this server"
    embed.add_field(name="Collection", value=whose)
    if added is not None:
        who = f"<@{added.user_id}>" if added.user_id else "someone"
        embed.add_field(name="Added", value=f"by {who}, {_when(added.at)}")
    embed.set_footer(text=clip(f"{entry.doc_id} · {entry.source_id}", 2048))
    return embed
