"""Hybrid retrieval: FTS5 bm25 and dense cosine, fused into one ranking of passages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_QUERY_TERMS = 64

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
    ]
)

_TERM = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """The content words of a query, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for term in _TERM.findall(query.lower()):
        if term not in STOPWORDS and term not in seen:
            seen[term] = None
    return list(seen)[:MAX_QUERY_TERMS]


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression: any content word of the query (OR), each quoted."""
    terms = query_terms(query)
    if not terms:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


@dataclass(frozen=True)
class SearchConfig:
    """How the two arms are run and fused."""

    lexical_k: int = 100
    dense_k: int = 100
    title_weight: float = 1.0
    text_weight: float = 1.0
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0


DEFAULT_CONFIG = SearchConfig()


def rrf_fuse(
    rankings: Sequence[Sequence[int]], weights: Sequence[float], k: float
) -> dict[int, float]:
    """Weighted reciprocal-rank fusion: sum of w / (k + rank) over the rankings."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def top_items(scores: dict[int, float], k: int) -> list[tuple[int, float]]:
    """The k best (item, score), ties broken by item id for determinism."""
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def dense_scores(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    return matrix @ np.asarray(query, dtype=np.float32)
