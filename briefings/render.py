"""Plain-text renderings for the command line and console mode."""

from __future__ import annotations

import textwrap

from briefings.brief import Brief
from briefings.corpus import CorpusOverview
from briefings.quotes import Quote
from briefings.sources import SourceView

WIDTH = 100


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
            f" from {brief.source}" if brief.source else "",
            f" since {brief.since}" if brief.since else "",
        ]
    )
    header = (
        f"Brief: {brief.topic}{narrowed} — {len(brief.quotes)} quote(s) "
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
