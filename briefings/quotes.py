"""A verbatim quote with its citation: the unit every view is made of."""

from __future__ import annotations

from dataclasses import dataclass

from index.models import Document, Hit, Passage


@dataclass(frozen=True)
class Quote:
    """``text`` is exactly ``document.text[start:end]``; the rest says where it is from."""

    passage_id: int
    text: str
    start: int
    end: int
    doc_id: str
    source_id: str
    title: str
    authors: tuple[str, ...]
    published: str | None
    url: str | None
    site: str | None
    score: float = 0.0
    similarity: float = 0.0

    @property
    def label(self) -> str:
        return f"P{self.passage_id}"

    @property
    def byline(self) -> str:
        """ "Title — Author, Author · Site · 2023-06-16", leaving out what is unknown."""
        parts = [self.title or self.source_id]
        if self.authors:
            parts[0] += " — " + ", ".join(self.authors)
        parts.extend(p for p in (self.site, self.published) if p)
        return " · ".join(parts)

    @classmethod
    def of(
        cls, passage: Passage, document: Document, score: float = 0.0, similarity: float = 0.0
    ) -> Quote:
        return cls(
            passage_id=passage.passage_id,
            text=passage.text,
            start=passage.start,
            end=passage.end,
            doc_id=document.doc_id,
            source_id=document.source_id,
            title=document.display_title,
            authors=document.authors,
            published=document.published,
            url=document.url,
            site=document.site,
            score=score,
            similarity=similarity,
        )

    @classmethod
    def from_hit(cls, hit: Hit) -> Quote:
        return cls.of(hit.passage, hit.document, hit.score, hit.similarity)
