"""Plain-text renderings for the command line and console mode."""

from __future__ import annotations

import textwrap
import unicodedata

from briefings.brief import Brief
from briefings.corpus import CorpusOverview
from briefings.digest import ChangeKind, Digest, DigestQuote, DigestTheme
from briefings.quotes import Quote
from briefings.sources import SourceView

WIDTH = 100

# Characters that move, hide or fake text when printed: controls (Cc), format characters
# (Cf: zero-width spaces and joiners, bidi overrides and isolates, the BOM), line and paragraph
# separators (Zl, Zp), lone surrogates (Cs) and private use (Co).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})


def visible(text: str) -> str:
    """User text as it is safe to echo: hidden and control characters become escapes.

    ``"a\x01b\u202e"`` → ``"a\\x01b\\u202e"``: a terminal or a Discord message shows what was
    typed instead of obeying it. Newlines and tabs are kept.
    """
    if text.isprintable():
        return text
    return "".join(
        ch
        if ch in "\n\t" or unicodedata.category(ch) not in _HIDDEN_CATEGORIES
        else ascii(ch)[1:-1]
        for ch in text
    )


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def quote_text(quote: Quote, number: int | None = None) -> str:
    """A quote, its citation and its id, over a few wrapped lines."""
    head = f"[{number}] " if number is not None else ""
    lines = [_wrap(f"{head}“{quote.text}”", ""), _wrap(f"— {quote.byline}", "    ")]
    ref = f"    {quote.label}"
    if quote.url:
        ref += f" · {quote.url}"
    lines.append(ref)
    return "\n".join(lines)


def brief_text(brief: Brief) -> str:
    narrowed = "".join(
        [
            f" from {visible(brief.source)}" if brief.source else "",
            f" since {brief.since}" if brief.since else "",
        ]
    )
    header = (
        f"Brief: {visible(brief.topic)}{narrowed} — {len(brief.quotes)} quote(s) "
        f"from {brief.documents} document(s)"
    )
    body = "\n\n".join(quote_text(q, i) for i, q in enumerate(brief.quotes, start=1))
    return f"{header}\n\n{body}\n\n`sources P<id>` shows where a quote comes from."


def sources_text(view: SourceView) -> str:
    q = view.quote
    lines = [
        f"{q.label} — {q.title or q.source_id}",
        f"  authors:   {', '.join(q.authors) or 'unknown'}",
        f"  published: {q.published or 'unknown'}",
        f"  site:      {q.site or 'unknown'}",
        f"  link:      {q.url or 'none'}",
        f"  document:  {q.doc_id} ({f'page {view.page}, ' if view.page else ''}"
        f"characters {q.start}–{q.end} of its text, {view.document_passages} passages)",
        "",
        "In context:",
    ]
    if view.before:
        lines.append(_wrap(f"…{view.before}", "  "))
    lines.append(_wrap(f">>> {q.text} <<<", "  "))
    if view.after:
        lines.append(_wrap(f"{view.after}…", "  "))
    lines.append("")
    if view.same_elsewhere:
        lines.append("Other documents that say nearly the same:")
        for other in view.same_elsewhere:
            lines.append(quote_text(other))
    else:
        lines.append("No other document says nearly the same.")
    return "\n".join(lines)


def corpus_text(overview: CorpusOverview) -> str:
    lines = [
        f"{len(overview.entries)} document(s), {overview.passages} passage(s); "
        f"index last changed {overview.updated_at or 'never'}",
        "",
    ]
    for e in overview.entries:
        lines.append(f"{e.title or e.source_id}")
        meta = [", ".join(e.authors) or "unknown author", e.published or "undated"]
        if e.site:
            meta.append(e.site)
        lines.append(f"    {' · '.join(meta)} · {e.passages} passages · {e.doc_id}")
    return "\n".join(lines)


def _digest_quote_lines(q: DigestQuote, indent: str) -> list[str]:
    mark = "(reminder) " if q.reminder else ""
    return [
        _wrap(f"{mark}“{q.quote.text}”", indent),
        _wrap(f"— {q.quote.byline} ({q.quote.label})", indent + "  "),
    ]


def _since(digest: Digest) -> str:
    if digest.period.since is None:
        return "in the last 7 days"
    return f"since {digest.period.since[:16].replace('T', ' ')} UTC"


def running_line(theme: DigestTheme) -> str:
    """One short line for a running theme with nothing new."""
    return (
        f"{theme.label} — {theme.size} passage(s), {theme.documents} document(s), "
        f"{len(theme.sources)} source(s); nothing new"
    )


def digest_text(digest: Digest) -> str:
    """The digest for a terminal: the period's documents and themes, quotes, running themes."""
    about = f" on “{visible(digest.topic)}”" if digest.topic else ""
    period = digest.period
    if digest.quiet:
        lines = [f"Digest{about}: nothing new {_since(digest)} — no documents were added."]
        if digest.running:
            lines.append("Running themes: " + "; ".join(t.label for t in digest.running) + ".")
        return "\n".join(lines) + "\n"
    lines = [
        f"Digest{about}: {len(period.documents)} new document(s) {_since(digest)}, "
        f"in {len(digest.themes)} theme(s); the corpus holds {digest.documents} document(s) "
        f"from {digest.sources} source(s).",
        "",
    ]
    for n, theme in enumerate(digest.themes, start=1):
        kind = "new theme" if theme.change is ChangeKind.NEW else "joins a running theme"
        lines.append(
            f"{n}. {theme.label} [{kind}] — {len(theme.new_documents)} new document(s), "
            f"{theme.new_passages} of {theme.size} passage(s), {len(theme.sources)} source(s)"
        )
        for q in theme.quotes:
            lines.extend(_digest_quote_lines(q, "    "))
        if theme.other_voices:
            lines.append("    Other voices:")
            for q in theme.other_voices:
                lines.extend(_digest_quote_lines(q, "      "))
        lines.append("")
    if digest.running:
        lines.append("Running themes with nothing new:")
        lines.extend(f"  · {running_line(t)}" for t in digest.running)
        lines.append("")
    if digest.more_themes:
        lines.append(f"… and {digest.more_themes} smaller theme(s).")
    if digest.faded:
        lines.append("Faded since the last digest: " + "; ".join(digest.faded) + ".")
    lines.append("New documents:")
    lines.extend(f"  + {d.title}" for d in period.documents[:20])
    if len(period.documents) > 20:
        lines.append(f"  … and {len(period.documents) - 20} more")
    return "\n".join(lines).rstrip() + "\n"
