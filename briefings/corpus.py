"""`/corpus` and `briefbot docs`: what the index holds."""

from __future__ import annotations

from dataclasses import dataclass

from index.library import Library


@dataclass(frozen=True)
class CorpusEntry:
    doc_id: str
    source_id: str
    title: str
    authors: tuple[str, ...]
    published: str | None
    site: str | None
    url: str | None
    passages: int


@dataclass(frozen=True)
class CorpusOverview:
    entries: tuple[CorpusEntry, ...]
    updated_at: str | None

    @property
    def passages(self) -> int:
        return sum(e.passages for e in self.entries)


def corpus_overview(library: Library) -> CorpusOverview:
    """Every document with its metadata and passage count, newest first."""
    counts = library.store.passage_counts()
    entries = [
        CorpusEntry(
            d.doc_id,
            d.source_id,
            d.display_title,
            d.authors,
            d.published,
            d.site,
            d.url,
            counts.get(d.doc_id, 0),
        )
        for d in library.documents()
    ]
    entries.sort(key=lambda e: (e.published or "", e.doc_id), reverse=True)
    return CorpusOverview(tuple(entries), library.store.updated_at())
