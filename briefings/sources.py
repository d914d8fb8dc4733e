"""`/sources`: where a passage comes from, what surrounds it, and who else says the same."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from briefings.quotes import Quote
from index.chunking import sentence_spans
from index.errors import InputError, NothingRelevant
from index.library import Library
from index.models import Document, Passage
from index.query import term_counts

CONTEXT_SENTENCES = 2
SAME_ELSEWHERE = 5
# "Says the same" needs more than a shared subject: stored vectors carry each document's title
# and on a one-subject corpus every passage is near every other (0.55-0.80 between different
# claims in the seeds). Two passages say the same when their own texts (without titles) are
# close and share most of the shorter one's content words. On 52 labelled dev pairs
# (benchmarks/says_same.py) the share alone separates them: 0.60-1.0 for a claim repeated or
# reworded, at most 0.27 for different claims, whose cosine reached 0.78. The rest of the
# near passages are shown as "related".
SAME_CLAIM_COSINE = 0.5
SAME_CLAIM_OVERLAP = 0.45
RELATED = 5


@dataclass(frozen=True)
class SourceView:
    """A passage's provenance."""

    quote: Quote
    before: str  # the sentences just before the passage in its document
    after: str  # and just after
    same_elsewhere: tuple[Quote, ...]  # passages in other documents that say nearly the same
    document_passages: int
    page: int | None = None  # the page the passage starts on, for documents with pages (PDFs)
    related: tuple[Quote, ...] = ()  # near passages of other documents that say something else


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
    floor = library.embedder.calibration.same_thing
    near = library.neighbours(
        vector, k=SAME_ELSEWHERE + RELATED, exclude_doc=doc.doc_id, min_similarity=floor
    )
    same, related = [], []
    if near:
        own, *others = library.embedder.encode_queries(
            [passage.text, *(h.passage.text for h in near)]
        )
        for hit, other in zip(near, others, strict=True):
            cosine, overlap = claim_similarity(passage.text, hit.passage.text, own, other)
            if cosine >= SAME_CLAIM_COSINE and overlap >= SAME_CLAIM_OVERLAP:
                same.append(Quote.from_hit(hit))
            else:
                related.append(Quote.from_hit(hit))
    count = len(library.store.passages_of(doc.doc_id))
    return SourceView(
        Quote.of(passage, doc),
        before,
        after,
        tuple(same[:SAME_ELSEWHERE]),
        count,
        page=doc.page_of(passage.start),
        related=tuple(related[:RELATED]),
    )


def _content_words(text: str) -> set[str]:
    return {w[:6] for w in term_counts(text) if len(w) > 2}


def claim_similarity(
    a: str, b: str, a_vector: np.ndarray, b_vector: np.ndarray
) -> tuple[float, float]:
    """(cosine of the two texts' own vectors, share of the shorter's content words in the other).

    Words are compared by their first six letters, a crude stem ("sanction", "sanctions").
    """
    words_a, words_b = _content_words(a), _content_words(b)
    shorter = min(len(words_a), len(words_b))
    overlap = len(words_a & words_b) / shorter if shorter else 0.0
    return float(np.dot(a_vector, b_vector)), overlap


_QUOTE_MARKUP = re.compile(r"^\s*>+\s?|[*_`~|]+|[“”\"]", re.MULTILINE)


def _normalise(text: str) -> str:
    return " ".join(_QUOTE_MARKUP.sub(" ", text).split()).lower()


def sources_for_text(library: Library, text: str) -> SourceView:
    """The provenance of the corpus passage that best matches a pasted or quoted text."""
    cleaned = " ".join(_QUOTE_MARKUP.sub(" ", text or "").split())
    if not cleaned:
        raise InputError("that message has no text to look up")
    needle = _normalise(cleaned)
    hits = library.search(cleaned, k=10)
    # A verbatim quote wins outright; otherwise the nearest passage, if near enough.
    for hit in hits:
        body = _normalise(hit.passage.text)
        if body in needle or (len(needle) >= 40 and needle in body):
            return passage_sources(library, hit.passage.passage_id)
    floor = library.embedder.calibration.quote_match
    best = max(hits, key=lambda h: h.similarity, default=None)
    if best is None or best.similarity < floor:
        raise NothingRelevant("no passage in the corpus matches that text")
    return passage_sources(library, best.passage.passage_id)
