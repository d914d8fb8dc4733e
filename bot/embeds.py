"""Briefs, sources and the corpus as Discord embeds, within every Discord limit.

Quote text is never altered silently: when a quote is too long for its slot it is cut with a
visible "…" and a note, and its passage id is always shown so `/sources` can show it whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord

from briefings.brief import Brief
from briefings.corpus import CorpusEntry, CorpusOverview
from briefings.quotes import Quote
from briefings.render import visible
from briefings.sources import SourceView

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000  # all embeds of one message together
CONTENT_LIMIT = 2000
URL_LIMIT = 2048

ELLIPSIS = "…"
QUOTE_CHARS = 3000  # the most of a quote one brief embed shows
QUOTES_PER_PAGE = 5  # also the Sources buttons per page: one button row
CONTEXT_CHARS = 600  # context shown on each side of a passage in /sources
SIMILAR_QUOTE_CHARS = 500
CORPUS_PER_PAGE = 10

BRIEF_COLOUR = discord.Colour(0x2B6CB0)
SOURCES_COLOUR = discord.Colour(0x2F855A)
CORPUS_COLOUR = discord.Colour(0x6B46C1)


@dataclass(frozen=True)
class Page:
    """One message's worth of a paged answer."""

    content: str
    embeds: tuple[discord.Embed, ...]
    passage_ids: tuple[int, ...] = ()  # quotes on this page, for their Sources buttons


def clip(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else cut with a visible ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def clip_start(text: str, limit: int) -> str:
    """Like `clip`, but keeps the end (context just before a passage)."""
    if len(text) <= limit:
        return text
    return ELLIPSIS + text[len(text) - limit + len(ELLIPSIS) :].lstrip()


_MASKED_LINK = re.compile(r"(?<!\\)\[([^\[\]]*)\]\(")  # the innermost, not escaped already
_MENTION = re.compile(r"<([@#])")


def echo(text: str, *, markdown: bool = False) -> str:
    """What a user typed, safe to echo in a message or embed: shown, never obeyed.

    Hidden and control characters become escapes (``briefings.render.visible``); ``@everyone``,
    ``@here``, ``<@id>``, ``<@&id>`` and ``<#id>`` cannot form a mention and ``[x](url)``
    cannot form a masked link. ``markdown``: escape every markdown character too (for text
    set inside the bot's own formatting).
    """
    text = visible(text)
    if markdown:
        text = discord.utils.escape_markdown(text)  # escapes only the first masked link
    text = _MASKED_LINK.sub(r"\[\1\](", text)
    # No "](" survives whole, the "(" escaped too: in "\\](" the backslash is the escaped one
    # and the bracket real, and without a "](" no masked link forms, whatever comes before.
    text = text.replace("](", "]\\(")
    text = discord.utils.escape_mentions(text)
    return _MENTION.sub("<\u200b\\1", text)


def safe_url(url: str | None) -> str | None:
    """A URL Discord accepts on an embed title, or None (it rejects other schemes with 400)."""
    if url and url.startswith(("http://", "https://")) and len(url) <= URL_LIMIT:
        return url
    return None


def embeds_size(embeds: tuple[discord.Embed, ...] | list[discord.Embed]) -> int:
    """Characters Discord counts towards the 6000 per message (discord.py's ``len(embed)``)."""
    return sum(len(e) for e in embeds)


def _quote_body(quote: Quote, limit: int) -> tuple[str, bool]:
    """The quote between quotation marks, cut visibly if longer than ``limit``."""
    if len(quote.text) <= limit:
        return f"“{quote.text}”", False
    return f"“{clip(quote.text, limit)}”", True


def _byline_fields(embed: discord.Embed, quote: Quote) -> None:
    embed.add_field(
        name="Authors", value=clip(", ".join(quote.authors) or "unknown", FIELD_VALUE_LIMIT)
    )
    embed.add_field(name="Published", value=quote.published or "undated")
    embed.add_field(name="Passage", value=f"`{quote.label}`")


def quote_embed(quote: Quote, number: int, *, quote_chars: int = QUOTE_CHARS) -> discord.Embed:
    """One brief result: the verbatim quote, its document (linked), authors, date and id."""
    body, shortened = _quote_body(quote, min(quote_chars, DESCRIPTION_LIMIT - 200))
    if shortened:
        body += f"\n*(quote shortened: `/sources {quote.label}` shows it whole)*"
    embed = discord.Embed(
        title=clip(f"{number}. {quote.title or quote.source_id}", TITLE_LIMIT),
        url=safe_url(quote.url),
        description=body,
        colour=BRIEF_COLOUR,
    )
    _byline_fields(embed, quote)
    where = quote.site or quote.source_id
    embed.set_footer(text=clip(f"{quote.label} · {where}", FOOTER_LIMIT))
    return embed


def brief_header(brief: Brief, page: int, pages: int) -> str:
    narrowed = "".join(
        [
            f" from {brief.source}" if brief.source else "",
            f" since {brief.since}" if brief.since else "",
        ]
    )
    head = (
        f"**Brief: {echo(brief.topic, markdown=True)}**{echo(narrowed, markdown=True)} — "
        f"{len(brief.quotes)} quote(s) from {brief.documents} document(s)"
    )
    tail = f" · page {page}/{pages}" if pages > 1 else ""
    return clip(head, CONTENT_LIMIT - len(tail)) + tail


def _pack(
    embeds: list[discord.Embed], per_page: int
) -> list[list[int]]:  # indices of embeds per page
    pages: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, embed in enumerate(embeds):
        n = len(embed)
        if current and (len(current) >= per_page or size + n > EMBED_TOTAL_LIMIT):
            pages.append(current)
            current, size = [], 0
        current.append(i)
        size += n
    if current:
        pages.append(current)
    return pages


def brief_pages(brief: Brief, *, per_page: int = QUOTES_PER_PAGE) -> list[Page]:
    """The brief as pages of quote embeds, each page one message within Discord's limits."""
    per_page = max(1, min(per_page, EMBEDS_PER_MESSAGE))
    embeds = [quote_embed(q, i) for i, q in enumerate(brief.quotes, start=1)]
    groups = _pack(embeds, per_page)
    return [
        Page(
            content=brief_header(brief, number, len(groups)),
            embeds=tuple(embeds[i] for i in group),
            passage_ids=tuple(brief.quotes[i].passage_id for i in group),
        )
        for number, group in enumerate(groups, start=1)
    ]


def _similar_field(quote: Quote) -> tuple[str, str]:
    link = f"\n<{quote.url}>" if safe_url(quote.url) else ""
    authors = ", ".join(quote.authors) or "unknown"
    meta = f"\n— {quote.label} · {authors} · {quote.published or 'undated'}"
    room = FIELD_VALUE_LIMIT - len(meta) - len(link) - 2
    body, _ = _quote_body(quote, max(50, min(SIMILAR_QUOTE_CHARS, room)))
    return clip(quote.title or quote.source_id, FIELD_NAME_LIMIT), clip(
        body + meta + link, FIELD_VALUE_LIMIT
    )


def sources_embeds(view: SourceView, *, context_chars: int = CONTEXT_CHARS) -> list[discord.Embed]:
    """A passage's provenance: its document, byline, context around it, and look-alikes."""
    q = view.quote
    quote_room = DESCRIPTION_LIMIT - 2 * context_chars - 40
    body, shortened = _quote_body(q, min(QUOTE_CHARS, quote_room))
    parts = []
    if view.before:
        parts.append(clip_start(view.before, context_chars))
    parts.append(f"**{body}**")
    if view.after:
        parts.append(clip(view.after, context_chars))
    description = clip(" ".join(parts), DESCRIPTION_LIMIT)
    main = discord.Embed(
        title=clip(q.title or q.source_id, TITLE_LIMIT),
        url=safe_url(q.url),
        description=description,
        colour=SOURCES_COLOUR,
    )
    _byline_fields(main, q)
    main.add_field(name="Site", value=clip(q.site or "unknown", FIELD_VALUE_LIMIT))
    main.add_field(
        name="Document",
        value=clip(
            f"`{q.doc_id}` · {f'page {view.page} · ' if view.page else ''}characters "
            f"{q.start}–{q.end} · {view.document_passages} passages",
            FIELD_VALUE_LIMIT,
        ),
        inline=False,
    )
    if safe_url(q.url):
        main.add_field(name="Link", value=clip(f"<{q.url}>", FIELD_VALUE_LIMIT), inline=False)
    note = "In bold: the passage; around it, its context in the document."
    if shortened:
        note += f" The passage is shortened here ({len(q.text)} characters in all)."
    main.set_footer(text=clip(f"{q.label} · {note}", FOOTER_LIMIT))
    embeds = [main]

    similar = discord.Embed(title="Other documents that say nearly the same", colour=SOURCES_COLOUR)
    if view.same_elsewhere:
        for other in view.same_elsewhere[:FIELDS_PER_EMBED]:
            name, value = _similar_field(other)
            similar.add_field(name=name, value=value, inline=False)
    else:
        similar.description = "No other document in the corpus says nearly the same."
    embeds.append(similar)
    if view.related:  # near on the subject, but not the same claim
        related = discord.Embed(title="Related passages in other documents", colour=SOURCES_COLOUR)
        for other in view.related[:FIELDS_PER_EMBED]:
            name, value = _similar_field(other)
            related.add_field(name=name, value=value, inline=False)
        embeds.append(related)
    _fit_total(embeds)
    return embeds


def _fit_total(embeds: list[discord.Embed]) -> None:
    """Drop trailing look-alike fields, then cut descriptions, until the message fits."""
    while embeds_size(embeds) > EMBED_TOTAL_LIMIT and len(embeds[-1].fields) > 1:
        embeds[-1].remove_field(len(embeds[-1].fields) - 1)
    excess = embeds_size(embeds) - EMBED_TOTAL_LIMIT
    if excess > 0 and embeds[0].description:
        embeds[0].description = clip(embeds[0].description, len(embeds[0].description) - excess)


def _corpus_field(entry: CorpusEntry) -> tuple[str, str]:
    meta = [
        ", ".join(entry.authors) or "unknown author",
        entry.published or "undated",
        *([entry.site] if entry.site else []),
        f"{entry.passages} passages",
        f"`{entry.doc_id}`",
    ]
    value = " · ".join(meta)
    if safe_url(entry.url):
        value += f"\n<{entry.url}>"
    return clip(entry.title or entry.source_id, FIELD_NAME_LIMIT), clip(value, FIELD_VALUE_LIMIT)


def corpus_pages(overview: CorpusOverview, *, per_page: int = CORPUS_PER_PAGE) -> list[Page]:
    """What the bot knows, as pages of one embed each (documents as fields, none dropped)."""
    per_page = max(1, min(per_page, FIELDS_PER_EMBED))
    title = "The corpus"
    summary = (
        f"{len(overview.entries)} document(s), {overview.passages} passage(s); "
        f"index last changed {overview.updated_at or 'never'}"
    )
    if not overview.entries:
        summary += "\nThe index holds no documents yet."
    budget = EMBED_TOTAL_LIMIT - len(title) - len(summary) - 40  # 40: the page footer
    chunks: list[list[tuple[str, str]]] = [[]]
    size = 0
    for entry in overview.entries:
        name, value = _corpus_field(entry)
        if chunks[-1] and (len(chunks[-1]) >= per_page or size + len(name) + len(value) > budget):
            chunks.append([])
            size = 0
        chunks[-1].append((name, value))
        size += len(name) + len(value)
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        embed = discord.Embed(title=title, description=summary, colour=CORPUS_COLOUR)
        for name, value in chunk:
            embed.add_field(name=name, value=value, inline=False)
        if len(chunks) > 1:
            embed.set_footer(text=f"page {number}/{len(chunks)}")
        pages.append(Page(content="", embeds=(embed,)))
    return pages


HELP = (
    (
        "/brief topic [count] [source] [since]",
        "Verbatim quotes from the corpus on a topic, each with its document, authors, date and "
        "passage id.\n`source` narrows to a site, author or document; `since` to documents from "
        "a date on (2023, 2023-06 or 2023-06-16).",
    ),
    (
        "/sources passage",
        "Where a passage comes from: document, authors, date, link and the text around it.\n"
        "Also lists other documents that say nearly the same thing (e.g. `/sources P42`).",
    ),
    (
        "Apps → Sources for this quote",
        "Right-click (or long-press) any message quoting the corpus, a pasted quote included.\n"
        "Finds the best-matching passage and shows its sources, only to you.",
    ),
    (
        "/corpus list [source] [since]",
        "What the bot knows here: every document with title, authors, date, site and passages.\n"
        "`/corpus info` shows one; `/corpus history` every add and remove, who and when.",
    ),
    (
        "/corpus add file|url",
        "Add a .txt, .md, .html, .pdf or .jsonl file, or a web page, to this server's corpus.\n"
        "Or Apps → Add to corpus on a message; `/corpus remove` takes one out (Manage Server).",
    ),
    ("/help", "This list.\nEvery answer quotes the corpus verbatim; nothing is generated."),
)


def help_embed() -> discord.Embed:
    embed = discord.Embed(
        title="briefbot: research briefings with verbatim, cited quotes", colour=BRIEF_COLOUR
    )
    for name, text in HELP:
        embed.add_field(name=name, value=text, inline=False)
    return embed
