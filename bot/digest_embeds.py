"""A digest as one Discord message: a header embed, one embed per theme, the charts attached.

One message keeps a digest's post atomic (the exactly-once ledger counts messages). Quotes are
clipped with a visible "…" to fit Discord's 6000-character budget; their passage ids always show.
A quiet period (nothing added) is the header alone: one short post.
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
    echo,
    embeds_size,
)
from briefings.digest import ChangeKind, Digest, DigestQuote, DigestTheme

CHART_FILENAME = "digest-chart.png"  # themes × sources
WEEKS_CHART_FILENAME = "digest-weeks.png"  # themes × weeks
DIGEST_COLOUR = discord.Colour(0xB7791F)
NEW_DOCUMENTS_SHOWN = 8
RUNNING_SHOWN = 8
QUOTE_BUDGETS = (400, 280, 200, 140, 100, 70)  # tried in turn until the message fits


def _cite(q: DigestQuote, chars: int) -> str:
    quote = q.quote
    mark = "*Reminder:* " if q.reminder else ""
    return f"{mark}> {clip(quote.text, chars)}\n— {clip(quote.byline, 160)} · `{quote.label}`"


def _theme_embed(number: int, theme: DigestTheme, chars: int) -> discord.Embed:
    kind = "new theme" if theme.change is ChangeKind.NEW else "joins a running theme"
    embed = discord.Embed(
        title=clip(f"{number}. {theme.label}", TITLE_LIMIT),
        description=clip(
            f"{kind} · {len(theme.new_documents)} new documents · {theme.new_passages} of "
            f"{theme.size} passages · {len(theme.sources)} sources\n\n"
            + "\n\n".join(_cite(q, chars) for q in theme.quotes),
            DESCRIPTION_LIMIT,
        ),
        colour=DIGEST_COLOUR,
    )
    if theme.other_voices:
        voices = "\n\n".join(_cite(q, chars // 2) for q in theme.other_voices)
        embed.add_field(name="Other voices", value=clip(voices, FIELD_VALUE_LIMIT), inline=False)
    return embed


def _since(digest: Digest) -> str:
    if digest.period.since is None:
        return "in the last 7 days"
    moment = digest.period.since[:19]
    return f"since <t:{_timestamp(moment)}:f>" if _timestamp(moment) else f"since {moment}"


def _timestamp(iso: str) -> int:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return 0
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _header(digest: Digest, marker: str) -> discord.Embed:
    about = f" on “{echo(digest.topic)}”" if digest.topic else ""
    lines: list[str] = []
    if digest.quiet:
        lines.append(f"Nothing new {_since(digest)}: no documents were added.")
    else:
        docs = digest.period.documents
        lines.append(
            f"**{len(docs)} new documents** {_since(digest)}, in **{len(digest.themes)} themes**; "
            f"the corpus holds {digest.documents} documents from {digest.sources} sources."
        )
        for doc in docs[:NEW_DOCUMENTS_SHOWN]:
            lines.append(f"• {clip(doc.title, 120)}")
        if len(docs) > NEW_DOCUMENTS_SHOWN:
            lines.append(f"• … and {len(docs) - NEW_DOCUMENTS_SHOWN} more")
    if digest.running:
        lines.append("")
        lines.append("**Running themes, nothing new:**")
        for theme in digest.running[:RUNNING_SHOWN]:
            lines.append(f"· {clip(theme.label, 80)} ({theme.size} passages, "
                         f"{len(theme.sources)} sources)")  # fmt: skip
    if digest.faded:
        lines.append("Faded: " + clip("; ".join(digest.faded), 300))
    if digest.more_themes:
        lines.append(f"{digest.more_themes} smaller themes are not shown.")
    embed = discord.Embed(
        title=clip(f"Digest{about}", TITLE_LIMIT),
        description=clip("\n".join(lines), 1800),
        colour=DIGEST_COLOUR,
    )
    embed.set_footer(text=clip(f"briefbot {marker}", FOOTER_LIMIT))
    return embed


def digest_embeds(digest: Digest, marker: str, *, chart: bool = True) -> list[discord.Embed]:
    """The digest's embeds, within every per-message limit; ``marker`` goes in the footer.

    With ``chart``, the last theme embed shows the themes × sources chart and one more embed
    the themes × weeks chart (both attached by the caller: :func:`chart_files`).
    """
    room = EMBEDS_PER_MESSAGE - (2 if chart else 1)
    themes = digest.themes[:room]
    for chars in QUOTE_BUDGETS:
        embeds = [_header(digest, marker)]
        embeds += [_theme_embed(n, t, chars) for n, t in enumerate(themes, start=1)]
        if embeds_size(embeds) <= EMBED_TOTAL_LIMIT - 100:
            break
    if chart and not digest.quiet:
        embeds[-1].set_image(url=f"attachment://{CHART_FILENAME}")
        weeks = discord.Embed(title="How the themes grew, week by week", colour=DIGEST_COLOUR)
        weeks.set_image(url=f"attachment://{WEEKS_CHART_FILENAME}")
        embeds.append(weeks)
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
