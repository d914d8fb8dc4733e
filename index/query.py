"""What a query asks the lexical arm: its terms, its most distinctive terms, FTS5 expressions,
and pseudo-relevance feedback terms."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from index.stopwords import ENGLISH_STOP_WORDS

MAX_QUERY_TERMS = 64

K = TypeVar("K", int, str)

STOPWORDS = ENGLISH_STOP_WORDS

_TERM = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """The content words of a query, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for term in _TERM.findall(query.lower()):
        if term not in STOPWORDS and term not in seen:
            seen[term] = None
    return list(seen)[:MAX_QUERY_TERMS]


def term_counts(query: str) -> dict[str, int]:
    """Every content word of a query, lower-cased, with how often it occurs, in order."""
    counts: dict[str, int] = {}
    for term in _TERM.findall(query.lower()):
        if term not in STOPWORDS:
            counts[term] = counts.get(term, 0) + 1
    return counts


def distinctive_terms(
    query: str,
    document_frequency: Callable[[list[str]], Mapping[str, int]],
    documents: int,
    n: int = MAX_QUERY_TERMS,
) -> list[str]:
    """The ``n`` content words of a long query that say most about it (tf x idf), in order.

    A pasted paragraph has hundreds of words; bm25 over all of them is slow and mostly noise,
    so the lexical arm keeps those it repeats and the corpus rarely uses. Terms the corpus
    never uses carry nothing for bm25 and are dropped.
    """
    counts = term_counts(query)
    if len(counts) <= n:
        return list(counts)
    frequencies = document_frequency(list(counts))
    weight = {
        t: (1 + np.log(c)) * np.log((documents + 1) / (frequencies[t] + 0.5))
        for t, c in counts.items()
        if frequencies.get(t, 0) > 0
    }
    keep = {t for t, _ in top_items(weight, n)}
    return [t for t in counts if t in keep]


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression: any content word of the query (OR), each quoted."""
    return fts_expression(query_terms(query))


def fts_expression(terms: Sequence[str]) -> str | None:
    """Terms as an FTS5 MATCH expression (OR), each quoted; None when there are none."""
    if not terms:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


FEEDBACK_CANDIDATES = 40  # terms of the feedback documents whose rarity is looked up


def expansion_terms(
    query: str,
    feedback: Sequence[str],
    document_frequency: Callable[[list[str]], Mapping[str, int]],
    documents: int,
    n: int,
) -> list[str]:
    """The ``n`` terms that best characterise the feedback texts, beyond the query's own.

    RM-style: a term's weight is its mean relative frequency in the feedback texts times its
    inverse document frequency; numbers and one- or two-letter tokens never count.
    """
    own = set(query_terms(query))
    weight: dict[str, float] = {}
    for text in feedback:
        tokens = [
            t for t in _TERM.findall(text.lower())
            if t not in STOPWORDS and len(t) > 2 and not t.isdigit()
        ]  # fmt: skip
        for term in tokens:
            if term not in own:
                weight[term] = weight.get(term, 0.0) + 1.0 / len(tokens)
    candidates = [t for t, _ in top_items(weight, FEEDBACK_CANDIDATES)]
    frequencies = document_frequency(candidates)
    scored = {
        t: weight[t] * np.log((documents + 1) / (frequencies.get(t, 0) + 0.5))
        for t in candidates
        if frequencies.get(t, 0) > 1  # a term only its own document has spreads nothing
    }
    return [t for t, _ in top_items(scored, n)]


def top_items(scores: Mapping[K, float], k: int) -> list[tuple[K, float]]:
    """The k best (item, score), ties broken by item for determinism."""
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
