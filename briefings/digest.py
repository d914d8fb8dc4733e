"""Digests as plain data: what a week's digest shows, and what a channel keeps between digests.

A digest covers a period (since the channel's previous digest; the last seven days for a first
one): the documents added or published in it, the running themes they join or the new themes
they start, quotes from those documents, and one short line per running theme with nothing new.
The :class:`DigestSnapshot` a digest returns is what the channel keeps: the documents it knew,
its themes (with their centroids, so the next digest can place new passages incrementally), every
passage it has quoted, and the growth of each theme per digest for the themes × weeks chart.

The build lives in :mod:`briefings.digest_build`, change detection in
:mod:`briefings.digest_changes`, text rendering in :mod:`briefings.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from briefings.quotes import Quote

SNAPSHOT_VERSION = 2
FIRST_PERIOD_DAYS = 7  # a first digest covers the last week
HISTORY_PERIODS = 8  # digests kept for the themes × weeks chart


class ChangeKind(StrEnum):
    """How a theme stands in a digest's period."""

    NEW = "new"  # started by the period's documents
    JOINED = "joined"  # a running theme the period's documents joined
    QUIET = "quiet"  # a running theme with nothing new


@dataclass(frozen=True)
class SnapshotTheme:
    """What a later digest needs to know about one theme of an earlier one."""

    key: int  # stable across digests while the theme is recognised
    label: str
    centroid: tuple[float, ...]  # unit vector in the digest's clustering space
    passages: int
    documents: int
    sources: int
    key_phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeriodGrowth:
    """Passages each theme gained in one digest's period (for the themes × weeks chart)."""

    until: str  # ISO time the digest was made
    added: tuple[tuple[int, int], ...]  # (theme key, passages)


@dataclass(frozen=True)
class DigestSnapshot:
    """The state a digest described: the channel keeps it to make the next one."""

    created_at: str
    documents: tuple[str, ...]
    themes: tuple[SnapshotTheme, ...]
    topic: str | None = None
    quoted: tuple[int, ...] = ()  # every passage quoted to the channel so far
    clustered_passages: int = 0  # passages in scope when the themes were last clustered
    next_key: int = 0
    history: tuple[PeriodGrowth, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "created_at": self.created_at,
            "topic": self.topic,
            "documents": list(self.documents),
            "quoted": list(self.quoted),
            "clustered_passages": self.clustered_passages,
            "next_key": self.next_key,
            "themes": [
                {
                    "key": t.key,
                    "label": t.label,
                    "key_phrases": list(t.key_phrases),
                    "centroid": [round(v, 5) for v in t.centroid],
                    "passages": t.passages,
                    "documents": t.documents,
                    "sources": t.sources,
                }
                for t in self.themes
            ],
            "history": [
                {"until": g.until, "added": {str(k): n for k, n in g.added}} for g in self.history
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestSnapshot:
        """Read a snapshot; one from before version 2 keeps its documents and quotes only."""
        themes: tuple[SnapshotTheme, ...] = ()
        if int(data.get("version", 1)) >= SNAPSHOT_VERSION:
            themes = tuple(
                SnapshotTheme(
                    key=int(t["key"]),
                    label=str(t["label"]),
                    centroid=tuple(float(v) for v in t["centroid"]),
                    passages=int(t["passages"]),
                    documents=int(t["documents"]),
                    sources=int(t["sources"]),
                    key_phrases=tuple(t.get("key_phrases", ())),
                )
                for t in data["themes"]
            )
        return cls(
            created_at=str(data["created_at"]),
            documents=tuple(data["documents"]),
            themes=themes,
            topic=data.get("topic"),
            quoted=tuple(int(p) for p in data.get("quoted", ())),
            clustered_passages=int(data.get("clustered_passages", 0)),
            next_key=int(data.get("next_key", len(themes))),
            history=tuple(
                PeriodGrowth(
                    str(g["until"]), tuple((int(k), int(n)) for k, n in g["added"].items())
                )
                for g in data.get("history", ())
            ),
        )


@dataclass(frozen=True)
class DigestQuote:
    """A quote in a digest; a reminder is one the channel was shown before."""

    quote: Quote
    reminder: bool = False

    def to_json(self) -> dict[str, Any]:
        return {**self.quote.to_json(), "reminder": self.reminder}


@dataclass(frozen=True)
class DigestTheme:
    """One theme of a digest."""

    key: int
    label: str
    key_phrases: tuple[str, ...]
    change: ChangeKind
    size: int  # passages
    documents: int
    sources: tuple[str, ...]  # source ids, most passages first
    new_passages: int  # from the period's documents
    new_documents: tuple[str, ...]  # the period's documents in this theme
    quotes: tuple[DigestQuote, ...] = ()
    other_voices: tuple[DigestQuote, ...] = ()  # voices the quotes did not give

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "key_phrases": list(self.key_phrases),
            "change": self.change.value,
            "size": self.size,
            "documents": self.documents,
            "sources": list(self.sources),
            "new_passages": self.new_passages,
            "new_documents": list(self.new_documents),
            "quotes": [q.to_json() for q in self.quotes],
            "other_voices": [q.to_json() for q in self.other_voices],
        }


@dataclass(frozen=True)
class PeriodDocument:
    """A document the digest counts as new."""

    doc_id: str
    source_id: str
    title: str
    theme_key: int | None  # the theme most of its passages are in


@dataclass(frozen=True)
class Period:
    """What a digest covers: since the previous digest (None: the first, the last 7 days)."""

    since: str | None
    until: str
    documents: tuple[PeriodDocument, ...]

    @property
    def quiet(self) -> bool:
        return not self.documents


@dataclass(frozen=True)
class Digest:
    """Everything a digest shows, as plain data."""

    created_at: str
    topic: str | None
    period: Period
    first: bool  # no earlier digest for this channel
    documents: int
    sources: int
    passages: int
    themes: tuple[DigestTheme, ...]  # themes the period touched (new or joined), ranked
    running: tuple[DigestTheme, ...]  # running themes with nothing new: one line each
    more_themes: int  # themes found but not shown
    faded: tuple[str, ...]  # labels of the previous digest's themes no longer found
    reclustered: bool  # themes found afresh (else new passages joined known themes)
    source_ids: tuple[str, ...]  # themes × sources chart columns, most passages first
    source_names: tuple[str, ...]  # a short name per source id
    coverage: tuple[tuple[int, ...], ...]  # passages per (charted theme, source)
    weeks: tuple[str, ...]  # themes × weeks chart columns (digest dates), oldest first
    growth: tuple[tuple[int, ...], ...]  # passages gained per (charted theme, week)
    snapshot: DigestSnapshot = field(repr=False)

    @property
    def quiet(self) -> bool:
        """Nothing was added in the period: the digest is one short post."""
        return self.period.quiet

    @property
    def charted(self) -> tuple[DigestTheme, ...]:
        """The chart rows: the period's themes, then the running ones."""
        return self.themes + self.running

    def quotes(self) -> list[DigestQuote]:
        return [q for t in self.themes for q in (*t.quotes, *t.other_voices)]

    def to_json(self) -> dict[str, Any]:
        """The shape `briefbot digest --json` prints."""
        return {
            "created_at": self.created_at,
            "topic": self.topic,
            "first": self.first,
            "period": {
                "since": self.period.since,
                "until": self.period.until,
                "documents": [d.doc_id for d in self.period.documents],
            },
            "documents": self.documents,
            "sources": self.sources,
            "passages": self.passages,
            "themes": [t.to_json() for t in self.themes],
            "running": [t.to_json() for t in self.running],
            "more_themes": self.more_themes,
            "faded": list(self.faded),
            "reclustered": self.reclustered,
            "new_documents": [d.doc_id for d in self.period.documents],
        }
