"""`/brief TOPIC`: the best verbatim passages on a topic, from as many sources as possible."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from briefings.quotes import Quote
from index.errors import InputError, NothingRelevant
from index.library import Library
from index.models import Hit, SearchFilters

MAX_TOPIC_CHARS = 6000  # Discord's own limit on a slash command's text option
MAX_QUOTES = 25
CANDIDATES = 60
MMR_LAMBDA = 0.7  # relevance vs. novelty when picking quotes
PER_DOCUMENT_CAP = 1  # one quote per document first; lifted only when too few are relevant
# ... or when the best new document's passage is clearly weaker: a document repeats when its
# next passage beats every other document's by more than this (in MMR score, cosine units).
DIVERSITY_MARGIN: float | None = 0.05
# Relevance for picking quotes: this share from the fused rank score (both arms, rescaled to
# the candidates' cosine range), the rest from the dense cosine alone.
FUSED_RELEVANCE = 0.5


@dataclass(frozen=True)
class Brief:
    """The answer to a brief request."""

    topic: str
    quotes: tuple[Quote, ...]
    source: str | None = None
    since: str | None = None

    @property
    def documents(self) -> int:
        return len({q.doc_id for q in self.quotes})


_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def parse_since(value: str | None) -> str | None:
    """``2023``, ``2023-06`` or ``2023-06-16`` → an ISO date prefix; else InputError."""
    if value is None or not value.strip():
        return None
    match = _DATE.match(value.strip())
    if not match:
        raise InputError(f"'since' must be a date like 2023-06-16, 2023-06 or 2023, not {value!r}")
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        raise InputError(f"{value!r} is not a valid date")
    return f"{year}-{month}-{day}"


def check_topic(topic: str) -> str:
    """The topic with its whitespace folded, or an InputError saying what is wrong."""
    return Library.check_query(topic or "", MAX_TOPIC_CHARS)


def relevance_floor(library: Library) -> float:
    """Cosine below which a passage is not "about" the query: the embedder's own calibration."""
    return library.embedder.calibration.relevance_floor


def make_brief(
    library: Library,
    topic: str,
    *,
    k: int = 5,
    source: str | None = None,
    since: str | None = None,
    margin: float | None = DIVERSITY_MARGIN,
    fused_relevance: float = FUSED_RELEVANCE,
) -> Brief:
    """Up to ``k`` relevant quotes on ``topic``, diverse in source (MMR, per-document cap)."""
    topic = Library.check_query(topic or "")  # front ends apply their own limits first
    if not 1 <= k <= MAX_QUOTES:
        raise InputError(f"ask for between 1 and {MAX_QUOTES} quotes, not {k}")
    since_iso = parse_since(since)
    filters = SearchFilters(source=source.strip() if source else None, since=since_iso)
    if filters.source and not library.match_source(filters.source):
        raise InputError(f"no site, author or document in the corpus matches {source!r}")
    query_vector = library.embedder.encode_queries([topic])[0]
    hits = library.search(topic, k=CANDIDATES, filters=filters, query_vector=query_vector)
    floor = relevance_floor(library)
    hits = [h for h in hits if h.similarity >= floor]
    if not hits:
        where = f" (from {source})" if source else ""
        when = f" since {since_iso}" if since_iso else ""
        raise NothingRelevant(f"nothing in the corpus{where}{when} is about “{topic}”")
    vectors = np.vstack([library.passage_vector(h.passage.passage_id) for h in hits])
    chosen = select_diverse(
        relevance_of(hits, fused_relevance),
        vectors,
        [h.document.doc_id for h in hits],
        k,
        margin=margin,
    )
    return Brief(topic, tuple(Quote.from_hit(hits[i]) for i in chosen), source, since_iso)


def relevance_of(hits: list[Hit], fused_share: float) -> list[float]:
    """Each hit's relevance: its cosine, mixed with its fused score in the same units."""
    similarity = np.array([h.similarity for h in hits], dtype=np.float64)
    if fused_share <= 0 or len(hits) < 2:
        return similarity.tolist()
    fused = np.array([h.score for h in hits], dtype=np.float64)
    spread = fused.max() - fused.min()
    scaled = (
        similarity.min() + (fused - fused.min()) / spread * (similarity.max() - similarity.min())
        if spread > 0
        else similarity
    )
    return ((1 - fused_share) * similarity + fused_share * scaled).tolist()


def select_diverse(
    relevance: list[float],
    vectors: np.ndarray,
    groups: list[str],
    k: int,
    *,
    lam: float = MMR_LAMBDA,
    cap: int = PER_DOCUMENT_CAP,
    margin: float | None = DIVERSITY_MARGIN,
) -> list[int]:
    """Maximal marginal relevance with at most ``cap`` picks per group (relaxed if needed).

    With a ``margin``, a group over its cap may still be picked when its best candidate beats
    the best candidate within the cap by more than ``margin``: diversity never outranks
    relevance by much.
    """
    chosen: list[int] = []
    per_group: dict[str, int] = {}
    for limit in (cap, cap + 1, k):  # later passes lift the cap when too few groups qualify
        while len(chosen) < k:
            best, best_score = -1, -np.inf
            over, over_score = -1, -np.inf  # the best candidate of a group at its cap
            for i, rel in enumerate(relevance):
                if i in chosen:
                    continue
                redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                score = lam * rel - (1 - lam) * redundancy
                if per_group.get(groups[i], 0) >= limit:
                    if score > over_score:
                        over, over_score = i, score
                elif score > best_score:
                    best, best_score = i, score
            if margin is not None and over >= 0 and over_score > best_score + margin:
                best = over
            if best < 0:
                break
            chosen.append(best)
            per_group[groups[best]] = per_group.get(groups[best], 0) + 1
    return chosen
