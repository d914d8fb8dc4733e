"""A digest as one Discord message: a header embed, one embed per theme, the chart attached.

One message keeps a digest's post atomic (the exactly-once ledger counts messages). Quotes are
clipped with a visible "…" to fit Discord's 6000-character budget; their passage ids always show.
"""

from __future__ import annotations

import discord

from bot.embeds import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    clip,
    embeds_size,
)
from briefings.digest import Digest, DigestTheme
from briefings.quotes import Quote

CHART_FILENAME = "digest-chart.png"
DIGEST_COLOUR = discord.Colour(0xB7791F)
NEW_DOCUMENTS_SHOWN = 8
QUOTE_BUDGETS = (400, 280, 200, 140, 100, 70)  # tried in turn until the message fits


def _cite(quote: Quote, chars: int) -> str:
    byline = clip(quote.byline, 160)
    return f"> {clip(quote.text, chars)}\n— {byline} · `{quote.label}`"


def _theme_embed(number: int, theme: DigestTheme, chars: int) -> discord.Embed:
    change = f" · {theme.change}" if theme.change and theme.change != "steady" else ""
    embed = discord.Embed(
        title=clip(f"{number}. {theme.label}", TITLE_LIMIT),
        description=clip(
            f"{theme.size} passages · {theme.documents} documents · "
            f"{len(theme.sources)} sources{change}\n\n"
            + "\n\n".join(_cite(q, chars) for q in theme.quotes),
            DESCRIPTION_LIMIT,
        ),
        colour=DIGEST_COLOUR,
    )
    if theme.contrast:
        for side, quote in (("One view", theme.contrast.left), ("Another", theme.contrast.right)):
            embed.add_field(
                name=side, value=clip(_cite(quote, chars // 2), FIELD_VALUE_LIMIT), inline=True
            )
    return embed


def _header(digest: Digest, marker: str) -> discord.Embed:
    about = f" on “{digest.topic}”" if digest.topic else ""
    themes = len(digest.themes) + digest.more_themes
    lines = [
        f"**{themes} themes** across **{digest.documents} documents** from "
        f"**{digest.sources} sources**, ranked by how many sources they span."
    ]
    if digest.first:
        lines.append("First digest for this channel: later ones say what changed.")
    else:
        lines.append(f"Since the last digest: **{len(digest.new_documents)} new documents**.")
        for doc in digest.new_documents[:NEW_DOCUMENTS_SHOWN]:
            lines.append(f"• {clip(doc.title or doc.doc_id, 120)}")
        if len(digest.new_documents) > NEW_DOCUMENTS_SHOWN:
            lines.append(f"• … and {len(digest.new_documents) - NEW_DOCUMENTS_SHOWN} more")
        for change in digest.changes[:8]:
            lines.append(f"{change.change}: {clip(change.label, 80)} "
                         f"({change.before} → {change.after} passages)")  # fmt: skip
    if digest.more_themes:
        lines.append(f"{digest.more_themes} smaller themes are not shown.")
    embed = discord.Embed(
        title=clip(f"Digest{about}", TITLE_LIMIT),
        description=clip("\n".join(lines), 1200),
        colour=DIGEST_COLOUR,
    )
    embed.set_footer(text=clip(f"briefbot {marker}", FOOTER_LIMIT))
    return embed


def digest_embeds(digest: Digest, marker: str, *, chart: bool = True) -> list[discord.Embed]:
    """The digest's embeds, within every per-message limit; ``marker`` goes in the footer."""
    themes = digest.themes[: EMBEDS_PER_MESSAGE - 1]
    for chars in QUOTE_BUDGETS:
        embeds = [_header(digest, marker)]
        embeds += [_theme_embed(n, t, chars) for n, t in enumerate(themes, start=1)]
        if embeds_size(embeds) <= EMBED_TOTAL_LIMIT:
            break
    if chart:
        embeds[-1].set_image(url=f"attachment://{CHART_FILENAME}")
    return embeds


def has_marker(message: discord.Message, marker: str) -> bool:
    return any(marker in (embed.footer.text or "") for embed in message.embeds)


def mentions_for(role_id: int | None) -> tuple[str, discord.AllowedMentions]:
    """The content and allowed mentions of a digest: only the opted-in role may be pinged."""
    if role_id is None:
        return "", discord.AllowedMentions.none()
    allowed = discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(id=role_id)], replied_user=False
    )
    return f"<@&{role_id}>", allowed
