"""Lexical backends behind one small interface: SQLite FTS5 bm25 (the store itself)."""

from __future__ import annotations

from typing import Protocol

from index.search import fts_query
from index.store import Store


class LexicalIndex(Protocol):
    """bm25-style keyword search over passages (title and text)."""

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(passage_id, score) best first, higher is better; [] when no term matches."""
        ...


class FtsLexical:
    """FTS5 in the store: always consistent with it, slow beyond a few 100k passages."""

    def __init__(self, store: Store, weights: tuple[float, float] = (1.0, 1.0)) -> None:
        self.store = store
        self.weights = weights

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        match = fts_query(query)
        if not match:
            return []
        return self.store.lexical(match, limit, self.weights)


def make_lexical_index(
    store: Store, backend: str = "fts", weights: tuple[float, float] = (1.0, 1.0)
) -> LexicalIndex:
    """The lexical backend named ``backend`` over ``store``."""
    if backend == "fts":
        return FtsLexical(store, weights)
    raise ValueError(f"unknown lexical backend {backend!r}")
