"""Digests: the themes running across the corpus, backed by verbatim quotes, and what changed.

A digest is plain data: themes ranked by how many sources they span, each with representative
quotes from different sources, a contrasting pair from different voices where there is one, and
"since the last digest" changes computed against a JSON-able :class:`DigestSnapshot` that the
caller stores (the bot keeps one per channel).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from briefings.brief import check_topic, relevance_floor
from briefings.quotes import Quote
from briefings.themes import ThemeModel, discover_themes, representatives
from index.errors import IndexMissing, NothingRelevant
from index.library import Library
from index.models import Document, Passage

MAX_THEMES = 6  # themes shown in a digest; the rest are counted
QUOTES_PER_THEME = 3
MAX_QUOTE_CHARS = 320  # a quote is cut at a sentence boundary inside its passage to fit
CONTRAST_PER_VOICE = 4  # central members per voice searched for a contrasting pair
MATCH_JACCARD = 0.3  # passage overlap for "the same theme" across two digests
GREW_BY = 0.2  # relative size change that counts as growing or fading
SNAPSHOT_VERSION = 1

_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)")


@dataclass(frozen=True)
class SnapshotTheme:
    """What a later digest needs to know about one theme of an earlier one."""

    label: str
    passages: tuple[int, ...]
    documents: int
    sources: int


@dataclass(frozen=True)
class DigestSnapshot:
    """The state a digest described, stored to say what changed by the next one."""

    created_at: str
    documents: tuple[str, ...]
    themes: tuple[SnapshotTheme, ...]
    topic: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "created_at": self.created_at,
            "topic": self.topic,
            "documents": list(self.documents),
            "themes": [
                {
                    "label": t.label,
                    "passages": list(t.passages),
                    "documents": t.documents,
                    "sources": t.sources,
                }
                for t in self.themes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestSnapshot:
        return cls(
            created_at=str(data["created_at"]),
            documents=tuple(data["documents"]),
            themes=tuple(
                SnapshotTheme(
                    str(t["label"]),
                    tuple(int(p) for p in t["passages"]),
                    int(t["documents"]),
                    int(t["sources"]),
                )
                for t in data["themes"]
            ),
            topic=data.get("topic"),
        )


@dataclass(frozen=True)
class Contrast:
    """Two quotes on one theme from different voices (authors or sites), side by side."""

    left: Quote
    right: Quote


@dataclass(frozen=True)
class DigestTheme:
    """One theme of a digest."""

    label: str
    key_phrases: tuple[str, ...]
    size: int  # passages
    documents: int
    sources: tuple[str, ...]  # source ids, most passages first
    quotes: tuple[Quote, ...]
    contrast: Contrast | None
    change: str  # "appeared", "grew", "faded", "steady" or "" (no earlier digest)


@dataclass(frozen=True)
class ThemeChange:
    """A theme that appeared, grew or faded since the previous digest."""

    label: str
    change: str  # "appeared" | "grew" | "faded"
    before: int  # passages in the previous digest (0 when it appeared)
    after: int  # passages now (0 when it is gone)


@dataclass(frozen=True)
class NewDocument:
    doc_id: str
    source_id: str
    title: str


@dataclass(frozen=True)
class Digest:
    """Everything a digest shows, as plain data."""

    created_at: str
    topic: str | None
    documents: int
    sources: int
    passages: int
    outliers: int  # passages far from every theme (still counted in their nearest one)
    themes: tuple[DigestTheme, ...]
    more_themes: int  # themes found but not shown
    new_documents: tuple[NewDocument, ...]
    changes: tuple[ThemeChange, ...]
    first: bool  # no earlier digest to compare with
    source_ids: tuple[str, ...]  # chart columns, most passages first
    source_names: tuple[str, ...]  # a short name per source id
    coverage: tuple[tuple[int, ...], ...]  # passages per (shown theme, source)
    snapshot: DigestSnapshot = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The shape `briefbot digest --json` prints."""
        return {
            "created_at": self.created_at,
            "topic": self.topic,
            "documents": self.documents,
            "sources": self.sources,
            "themes": [
                {
                    "label": t.label,
                    "key_phrases": list(t.key_phrases),
                    "size": t.size,
                    "documents": t.documents,
                    "sources": list(t.sources),
                    "change": t.change,
                    "quotes": [_quote_json(q) for q in t.quotes],
                    "contrast": (
                        [_quote_json(t.contrast.left), _quote_json(t.contrast.right)]
                        if t.contrast
                        else []
                    ),
                }
                for t in self.themes
            ],
            "new_documents": [d.doc_id for d in self.new_documents],
            "changes": [
                {"label": c.label, "change": c.change, "before": c.before, "after": c.after}
                for c in self.changes
            ],
        }


def _quote_json(q: Quote) -> dict[str, Any]:
    return {
        "passage_id": q.passage_id,
        "doc_id": q.doc_id,
        "source_id": q.source_id,
        "quote": q.text,
        "start": q.start,
        "end": q.end,
        "title": q.title,
        "authors": list(q.authors),
        "site": q.site,
    }


# ------------------------------------------------------------------------------------ quotes


def excerpt(passage: Passage, max_chars: int = MAX_QUOTE_CHARS) -> Passage:
    """The passage, or its leading whole sentences when it is longer than ``max_chars``.

    The result is still a verbatim span of the document (offsets adjusted), so a quote cut to
    fit Discord never says something its source did not.
    """
    if len(passage.text) <= max_chars:
        return passage
    cut = 0
    for match in _SENTENCE_END.finditer(passage.text):
        if match.end() > max_chars:
            break
        cut = match.end()
    if cut == 0:  # one long sentence: cut at a word boundary instead
        cut = passage.text.rfind(" ", 0, max_chars)
        cut = cut if cut > 0 else max_chars
    text = passage.text[:cut].rstrip()
    end = passage.start + len(text)
    return Passage(passage.passage_id, passage.doc_id, passage.start, end, text)


def voice(document: Document) -> str:
    """Who is speaking: the site, else the authors, else the source file."""
    if document.site:
        return document.site.lower()
    if document.authors:
        return ", ".join(sorted(a.lower() for a in document.authors))
    return document.source_id


def source_name(document: Document) -> str:
    """A short human name for a document's source."""
    name = document.site or (document.authors[0] if document.authors else "") or document.title
    return textwrap.shorten(name or document.source_id, 28, placeholder="…")


# ----------------------------------------------------------------------------------- changes


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def compare_themes(
    previous: Sequence[SnapshotTheme], current: Sequence[SnapshotTheme]
) -> tuple[list[str], list[ThemeChange]]:
    """The change of each current theme, and every change worth telling, vs. ``previous``.

    Themes are matched by the passages they hold (greedy, best overlap first), so a theme whose
    label shifted a little is still the same theme.
    """
    pairs = sorted(
        (
            (-_jaccard(set(p.passages), set(c.passages)), pi, ci)
            for pi, p in enumerate(previous)
            for ci, c in enumerate(current)
        ),
    )
    match: dict[int, int] = {}
    used_previous: set[int] = set()
    for negative, pi, ci in pairs:
        if -negative < MATCH_JACCARD:
            break
        if ci in match or pi in used_previous:
            continue
        match[ci] = pi
        used_previous.add(pi)
    statuses: list[str] = []
    changes: list[ThemeChange] = []
    for ci, theme in enumerate(current):
        after = len(theme.passages)
        if ci not in match:
            statuses.append("appeared")
            changes.append(ThemeChange(theme.label, "appeared", 0, after))
            continue
        before = len(previous[match[ci]].passages)
        if after >= before * (1 + GREW_BY) and after - before >= 2:
            status = "grew"
        elif after <= before * (1 - GREW_BY) and before - after >= 2:
            status = "faded"
        else:
            status = "steady"
        statuses.append(status)
        if status != "steady":
            changes.append(ThemeChange(theme.label, status, before, after))
    for pi, old in enumerate(previous):
        if pi not in used_previous:
            changes.append(ThemeChange(old.label, "faded", len(old.passages), 0))
    return statuses, changes


# ------------------------------------------------------------------------------------ digest


def _contrast(
    members: Sequence[int],
    vectors: np.ndarray,
    voices: Sequence[str],
    quote_of: Callable[[int], Quote],
) -> Contrast | None:
    """The least similar pair of central members from two different voices, if any.

    Each voice offers its few most central members (``members`` is most central first), so a
    voice with few passages in the theme is still heard.
    """
    pool: list[int] = []
    per_voice: dict[str, int] = {}
    for i in members:
        if per_voice.get(voices[i], 0) < CONTRAST_PER_VOICE:
            per_voice[voices[i]] = per_voice.get(voices[i], 0) + 1
            pool.append(i)
    best: tuple[float, int, int] | None = None
    for a_pos, a in enumerate(pool):
        for b in pool[a_pos + 1 :]:
            if voices[a] == voices[b]:
                continue
            sim = float(vectors[a] @ vectors[b])
            if best is None or sim < best[0] - 1e-9:
                best = (sim, a, b)
    if best is None:
        return None
    return Contrast(quote_of(best[1]), quote_of(best[2]))


MIN_THEMES = 4  # a digest with fewer themes says little; fewer only for a handful of documents
DOCUMENT_CENTRING = 0.5  # share of each document's mean vector removed before clustering


def centre_on_documents(vectors: np.ndarray, doc_ids: Sequence[str]) -> np.ndarray:
    """Vectors with part of their document's mean removed, renormalised.

    Passages are embedded with their document's title, and passages of one article share its
    vocabulary: without this, themes follow documents instead of running across them.
    """
    out = np.array(vectors, dtype=np.float32, copy=True)
    groups: dict[str, list[int]] = {}
    for i, doc_id in enumerate(doc_ids):
        groups.setdefault(doc_id, []).append(i)
    for members in groups.values():
        if len(members) > 1:
            out[members] -= DOCUMENT_CENTRING * out[members].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def build_digest(
    library: Library,
    previous: DigestSnapshot | None = None,
    *,
    topic: str | None = None,
    max_themes: int = MAX_THEMES,
    now: datetime | None = None,
) -> Digest:
    """The digest of the whole corpus (or of the passages about ``topic``) vs. ``previous``."""
    created_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    state = library.require_passages()
    snap = state.snapshot
    rows = np.arange(len(snap.ids))
    if topic:
        topic = check_topic(topic)
        query = library.embedder.encode_queries([topic])[0]
        rows = np.flatnonzero(snap.matrix @ query >= relevance_floor(library))
        if len(rows) == 0:
            raise NothingRelevant(f"nothing in the corpus is about “{topic}”")
    ids = [int(snap.ids[r]) for r in rows]
    passages = library.store.passages(ids)
    keep = [
        i
        for i, pid in enumerate(ids)
        if pid in passages and snap.doc_ids[snap.doc_index[rows[i]]] in state.documents
    ]
    if not keep:
        raise IndexMissing("the index holds no passages to make a digest of")
    ids = [ids[i] for i in keep]
    items = [passages[pid] for pid in ids]
    docs = [state.documents[p.doc_id] for p in items]
    sources = [d.source_id for d in docs]
    voices = [voice(d) for d in docs]
    vectors = centre_on_documents(snap.matrix[rows[keep]], [p.doc_id for p in items])
    texts = [p.text for p in items]  # titles would pull each document into a theme of its own
    n_documents = len({p.doc_id for p in items})
    model: ThemeModel = discover_themes(
        texts, vectors, groups=sources, min_themes=min(MIN_THEMES, max(2, n_documents // 2))
    )

    def quote_of(i: int) -> Quote:
        return Quote.of(excerpt(items[i]), docs[i])

    source_count: dict[str, int] = {}
    for s in sources:
        source_count[s] = source_count.get(s, 0) + 1
    source_ids = tuple(sorted(source_count, key=lambda s: (-source_count[s], s)))
    name_of: dict[str, str] = {}
    for d in docs:
        name_of.setdefault(d.source_id, source_name(d))

    current = [
        SnapshotTheme(
            t.label,
            tuple(sorted(ids[i] for i in t.members)),
            len({items[i].doc_id for i in t.members}),
            len({sources[i] for i in t.members}),
        )
        for t in model.themes
    ]
    all_doc_ids = tuple(sorted(state.documents))
    if previous is not None:
        statuses, changes = compare_themes(previous.themes, current)
        known = set(previous.documents)
        new_docs = [d for d in all_doc_ids if d not in known]
    else:
        statuses, changes = [""] * len(current), []
        new_docs = list(all_doc_ids)

    themes = []
    coverage = []
    for theme in model.themes[:max_themes]:
        reps = representatives(model, theme.theme_id, vectors, sources, k=QUOTES_PER_THEME)
        per_source: dict[str, int] = {}
        for i in theme.members:
            per_source[sources[i]] = per_source.get(sources[i], 0) + 1
        themes.append(
            DigestTheme(
                label=theme.label,
                key_phrases=theme.key_phrases,
                size=len(theme.members),
                documents=current[theme.theme_id].documents,
                sources=tuple(sorted(per_source, key=lambda s: (-per_source[s], s))),
                quotes=tuple(quote_of(i) for i in reps),
                contrast=_contrast(theme.members, vectors, voices, quote_of),
                change=statuses[theme.theme_id],
            )
        )
        coverage.append(tuple(per_source.get(s, 0) for s in source_ids))

    snapshot = DigestSnapshot(created_at, all_doc_ids, tuple(current), topic)
    return Digest(
        created_at=created_at,
        topic=topic,
        documents=len({p.doc_id for p in items}),
        sources=len(source_count),
        passages=len(items),
        outliers=len(model.outliers),
        themes=tuple(themes),
        more_themes=max(0, len(model.themes) - max_themes),
        new_documents=tuple(
            NewDocument(d, state.documents[d].source_id, state.documents[d].display_title)
            for d in new_docs
        ),
        changes=tuple(changes),
        first=previous is None,
        source_ids=source_ids,
        source_names=tuple(name_of[s] for s in source_ids),
        coverage=tuple(coverage),
        snapshot=snapshot,
    )


# ------------------------------------------------------------------------------ plain text


def digest_text(digest: Digest, width: int = 100) -> str:
    """The digest for a terminal: themes, quotes with citations, contrasts and changes."""

    def wrap(text: str, indent: str = "") -> str:
        return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent)

    about = f" on “{digest.topic}”" if digest.topic else ""
    lines = [
        f"Digest{about}: {len(digest.themes) + digest.more_themes} theme(s) across "
        f"{digest.documents} document(s) from {digest.sources} source(s), "
        f"{digest.passages} passage(s)",
        "",
    ]
    for n, theme in enumerate(digest.themes, start=1):
        change = f" [{theme.change}]" if theme.change and theme.change != "steady" else ""
        lines.append(
            f"{n}. {theme.label}{change} — {theme.size} passage(s), "
            f"{theme.documents} document(s), {len(theme.sources)} source(s)"
        )
        for q in theme.quotes:
            lines.append(wrap(f"“{q.text}”", "    "))
            lines.append(wrap(f"— {q.byline} ({q.label})", "      "))
        if theme.contrast:
            lines.append("    In contrast:")
            for q in (theme.contrast.left, theme.contrast.right):
                lines.append(wrap(f"“{q.text}”", "      "))
                lines.append(wrap(f"— {q.byline} ({q.label})", "        "))
        lines.append("")
    if digest.more_themes:
        lines.append(f"… and {digest.more_themes} smaller theme(s).")
    if digest.first:
        lines.append("First digest: nothing earlier to compare with.")
    else:
        lines.append(f"Since the last digest: {len(digest.new_documents)} new document(s).")
        for d in digest.new_documents:
            lines.append(f"  + {d.title or d.doc_id}")
        for c in digest.changes:
            lines.append(f"  {c.change}: {c.label} ({c.before} → {c.after} passages)")
    return "\n".join(lines).rstrip() + "\n"
