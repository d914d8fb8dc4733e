"""`/corpus` and `briefbot docs`: what the index holds."""

from __future__ import annotations

from dataclasses import dataclass

from briefings.brief import parse_since
from index.errors import InputError
from index.library import Library
from index.models import SHARED, Document


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
    collection: str = SHARED


@dataclass(frozen=True)
class CorpusOverview:
    entries: tuple[CorpusEntry, ...]
    updated_at: str | None

    @property
    def passages(self) -> int:
        return sum(e.passages for e in self.entries)


def _entry(doc: Document, passages: int) -> CorpusEntry:
    return CorpusEntry(
        doc.doc_id,
        doc.source_id,
        doc.display_title,
        doc.authors,
        doc.published,
        doc.site,
        doc.url,
        passages,
        doc.collection,
    )


def corpus_overview(
    library: Library, *, source: str | None = None, since: str | None = None
) -> CorpusOverview:
    """Every document (in the library's scope) with its metadata and passage count, newest
    first; ``source`` keeps a site, author or document, ``since`` documents from a date on."""
    counts = library.store.passage_counts()
    documents = library.documents()
    if source and source.strip():
        matched = library.match_source(source)
        if not matched:
            raise InputError(f"no site, author or document in the corpus matches {source!r}")
        documents = [d for d in documents if d.doc_id in matched]
    since_iso = parse_since(since)
    if since_iso:
        documents = [d for d in documents if (d.published or "") >= since_iso]
    entries = [_entry(d, counts.get(d.doc_id, 0)) for d in documents]
    entries.sort(key=lambda e: (e.published or "", e.doc_id), reverse=True)
    return CorpusOverview(tuple(entries), library.store.updated_at())


def corpus_entry(library: Library, doc_id: str) -> CorpusEntry:
    """One document of the library's scope (NotFound otherwise)."""
    doc = library.document(doc_id)
    return _entry(doc, len(library.store.passages_of(doc.doc_id)))
