"""`/sources`: where a passage comes from, what surrounds it, and who else says the same."""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefings.quotes import Quote
from index.chunking import sentence_spans
from index.errors import InputError, NothingRelevant
from index.library import Library
from index.models import Document, Passage

CONTEXT_SENTENCES = 2
SAME_ELSEWHERE = 5
# Two passages "say nearly the same thing" above this cosine (MiniLM; the fake is looser).
SAME_THING = {"sentence-transformers/all-MiniLM-L6-v2": 0.55, "fake-hashing-64": 0.5}
# A pasted quote is recognised as a corpus passage above this cosine.
QUOTE_MATCH = {"sentence-transformers/all-MiniLM-L6-v2": 0.6, "fake-hashing-64": 0.6}
MAX_PASTED_CHARS = 4000


@dataclass(frozen=True)
class SourceView:
    """A passage's provenance."""

    quote: Quote
    before: str  # the sentences just before the passage in its document
    after: str  # and just after
    same_elsewhere: tuple[Quote, ...]  # passages in other documents that say nearly the same
    document_passages: int
    page: int | None = None  # the page the passage starts on, for documents with pages (PDFs)


def _context(doc: Document, passage: Passage) -> tuple[str, str]:
    before_spans = sentence_spans(doc.text, 0, passage.start)[-CONTEXT_SENTENCES:]
    after_spans = sentence_spans(doc.text, passage.end)[:CONTEXT_SENTENCES]
    before = doc.text[before_spans[0].start : passage.start].strip() if before_spans else ""
    after = doc.text[passage.end : after_spans[-1].end].strip() if after_spans else ""
    return before, after


def passage_sources(library: Library, passage_id: int | str) -> SourceView:
    """The provenance of one passage, by id (``P42`` or ``42``)."""
    passage = library.passage(passage_id)
    doc = library.document(passage.doc_id)
    before, after = _context(doc, passage)
    vector = library.passage_vector(passage.passage_id)
    floor = SAME_THING.get(library.embedder.name, 0.55)
    similar = library.neighbours(
        vector, k=SAME_ELSEWHERE, exclude_doc=doc.doc_id, min_similarity=floor
    )
    count = len(library.store.passages_of(doc.doc_id))
    return SourceView(
        Quote.of(passage, doc),
        before,
        after,
        tuple(Quote.from_hit(h) for h in similar),
        count,
        page=doc.page_of(passage.start),
    )


_QUOTE_MARKUP = re.compile(r"^\s*>+\s?|[*_`~|]+|[“”\"]", re.MULTILINE)


def _normalise(text: str) -> str:
    return " ".join(_QUOTE_MARKUP.sub(" ", text).split()).lower()


def sources_for_text(library: Library, text: str) -> SourceView:
    """The provenance of the corpus passage that best matches a pasted or quoted text."""
    cleaned = " ".join(_QUOTE_MARKUP.sub(" ", text or "").split())
    if not cleaned:
        raise InputError("that message has no text to look up")
    if len(cleaned) > MAX_PASTED_CHARS:
        cleaned = cleaned[:MAX_PASTED_CHARS]
    needle = _normalise(cleaned)
    hits = library.search(cleaned, k=10)
    # A verbatim quote wins outright; otherwise the nearest passage, if near enough.
    for hit in hits:
        body = _normalise(hit.passage.text)
        if body in needle or (len(needle) >= 40 and needle in body):
            return passage_sources(library, hit.passage.passage_id)
    floor = QUOTE_MATCH.get(library.embedder.name, 0.6)
    best = max(hits, key=lambda h: h.similarity, default=None)
    if best is None or best.similarity < floor:
        raise NothingRelevant("no passage in the corpus matches that text")
    return passage_sources(library, best.passage.passage_id)
