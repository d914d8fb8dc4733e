"""Plain frozen records shared by every layer."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

# The operator's collection: the folders given to `briefbot index` / `start`, seen by every
# server unless the operator says otherwise. A server's own collection is ``guild:<id>``.
SHARED = "shared"


def guild_collection(guild_id: int) -> str:
    """The collection of one Discord server."""
    return f"guild:{int(guild_id)}"


@dataclass(frozen=True)
class Document:
    """One article: cleaned text plus the metadata the page carried."""

    doc_id: str
    source_id: str
    text: str
    title: str = ""
    authors: tuple[str, ...] = ()
    published: str | None = None  # ISO date, YYYY-MM-DD
    url: str | None = None
    site: str | None = None
    path: str | None = None  # the file it came from, when it came from a file
    page_starts: tuple[int, ...] = ()  # PDFs: offset in ``text`` where each page's text begins
    collection: str = SHARED  # whose reading list it is on (see ``SHARED``)

    @property
    def display_title(self) -> str:
        """The title; for a page without one, its opening words and its source (never blank)."""
        if self.title:
            return self.title
        opening = opening_words(self.text)
        return f"“{opening}” ({self.source_id})" if opening else self.source_id

    def page_of(self, offset: int) -> int | None:
        """The page (1-based) that the character at ``offset`` is on; None without pages."""
        if not self.page_starts:
            return None
        return max(bisect_right(self.page_starts, offset), 1)


def opening_words(text: str, limit: int = 70) -> str:
    """The first words of ``text``, cut at a word boundary within ``limit`` characters (…)."""
    words = text.split()
    shown = ""
    for word in words:
        if len(shown) + len(word) + 1 > limit:
            return shown.rstrip(",;:") + "…"
        shown = f"{shown} {word}" if shown else word
    return shown


@dataclass(frozen=True)
class Passage:
    """A span of a document: always ``document.text[start:end] == text``."""

    passage_id: int
    doc_id: str
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        """The id users see and type, e.g. ``P42``."""
        return f"P{self.passage_id}"


@dataclass(frozen=True)
class Span:
    """A passage before it has an id: offsets into its document's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """A passage found by search, with its document and how it scored."""

    passage: Passage
    document: Document
    score: float
    lexical_rank: int | None = None
    dense_rank: int | None = None
    similarity: float = 0.0  # cosine of query and passage vectors


@dataclass(frozen=True)
class SearchFilters:
    """Narrowing applied before ranking."""

    source: str | None = None  # a site, author, document id/title or source id
    since: str | None = None  # ISO date: documents published on or after it
    doc_ids: frozenset[str] = field(default_factory=frozenset)
    collections: frozenset[str] | None = None  # only these collections (None: every one)
