"""Building a digest, in four steps: the scope, the themes, the quotes, the assembly.

1. :func:`collect_scope` — the passages the digest is about (all, or those on its topic), their
   documents' sources and dates, and each document's mean vector (part of it is removed before
   clustering, so themes run across documents instead of following them).
2. :func:`map_themes` — themes for every passage: the previous digest's themes, with new passages
   placed at their nearest centroid, while that fits; themes found afresh (on a seeded sample
   above ``CLUSTER_SAMPLE`` passages, the rest placed at the nearest centroid) when there is no
   earlier model, the scope grew by a quarter, or the new passages fit the known themes badly.
3. :func:`pick_quotes` — per theme the period touched, self-contained quotes from the period's
   documents, one source each, never a passage the channel was shown (a reminder, marked, only
   when the theme has nothing else), and "other voices" from sources the quotes did not give.
4. :func:`assemble` — counts, change kinds, ranking, the two charts' data and the snapshot.
"""

from __future__ import annotations

import json
import logging
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy import sparse

from briefings.brief import check_topic, relevance_floor
from briefings.digest import (
    HISTORY_PERIODS,
    ChangeKind,
    Digest,
    DigestQuote,
    DigestSnapshot,
    DigestTheme,
    Period,
    PeriodDocument,
    PeriodGrowth,
    SnapshotTheme,
)
from briefings.digest_changes import match_themes, period_documents
from briefings.labels import label_of, theme_phrases
from briefings.quotes import Quote, excerpt, standalone_excerpt
from briefings.themes import discover_themes
from index.errors import IndexMissing, NothingRelevant
from index.library import Library
from index.models import Passage

log = logging.getLogger(__name__)

MAX_THEMES = 6  # themes of the period shown with quotes; the rest are counted
MAX_RUNNING = 8  # running themes with nothing new, one line each
QUOTES_PER_THEME = 3
OTHER_VOICES = 2
CANDIDATES = 40  # the period's most central passages per theme read for quotes
LABEL_TEXTS = 300  # most central member texts per theme read for labels
CLUSTER_SAMPLE = 4000  # above this many passages, themes are found on a seeded sample
MIN_THEMES = 4  # fewer only for a handful of documents
DOCUMENT_CENTRING = 0.5  # share of each document's mean vector removed before clustering
RECLUSTER_GROWTH = 0.25  # the scope grew (or shrank) by this share since the last clustering
POOR_FIT_SHARE = 0.5  # ...or this share of new passages sits far from every known theme
NEW_THEME_SHARE = 0.5  # an unmatched theme mostly of the period's passages is new
CHUNK = 65_536  # rows per block when a whole large index is scanned
SEED = 0


# ------------------------------------------------------------------------------ 1. the scope


@dataclass
class Scope:
    """The passages a digest is about: rows of the library's vector snapshot, and documents."""

    matrix: np.ndarray  # the snapshot's matrix (memory-mapped for large indexes)
    rows: np.ndarray  # snapshot rows in scope
    passage_ids: np.ndarray  # per position in scope
    doc_of: np.ndarray  # per position: index into ``doc_ids``
    doc_ids: list[str]
    sources: list[str]  # per document
    voices: list[str]  # per document: site, else authors, else source
    source_names: dict[str, str]  # per source id: a short human name
    titles: list[str]
    published: dict[str, str | None]
    indexed_at: dict[str, str]
    shift: np.ndarray  # per document: the share of its mean vector removed before clustering
    all_documents: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def vectors(self, positions: np.ndarray | slice) -> np.ndarray:
        """Document-centred unit vectors of scope positions."""
        rows = self.rows[positions]
        out = np.asarray(self.matrix[rows], dtype=np.float32) - self.shift[self.doc_of[positions]]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    def raw(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(self.matrix[self.rows[positions]], dtype=np.float32)

    def texts(self, library: Library, positions: Sequence[int] | np.ndarray) -> list[str]:
        ids = [int(self.passage_ids[p]) for p in positions]
        found = library.store.passages(ids)
        return [found[i].text if i in found else "" for i in ids]


def voice_of(site: str | None, authors: Sequence[str], source_id: str) -> str:
    """Who is speaking: the site, else the authors, else the source."""
    if site:
        return site.lower()
    if authors:
        return ", ".join(sorted(a.lower() for a in authors))
    return source_id


def short_name(site: str | None, authors: Sequence[str], title: str, source_id: str) -> str:
    """A short human name for a source."""
    name = site or (authors[0] if authors else "") or title
    return textwrap.shorten(name or source_id, 28, placeholder="…")


def collect_scope(library: Library, topic: str | None = None) -> Scope:
    """Step 1: the passages in scope (on ``topic`` when given) and what their documents say."""
    state = library.require_passages()
    snap = state.snapshot
    rows = np.arange(len(snap.ids))
    if topic:
        query = library.embedder.encode_queries([topic])[0]
        floor = relevance_floor(library)
        rows = np.concatenate(
            [
                start + np.flatnonzero(snap.matrix[start : start + CHUNK] @ query >= floor)
                for start in range(0, len(snap.ids), CHUNK)
            ]
        ).astype(np.int64)
        if len(rows) == 0:
            raise NothingRelevant(f"nothing in the corpus is about “{topic}”")
    visible = library.visible_ids()  # a server's digest: its collections only
    labels = {
        row[0]: row[1:]
        for row in library.store.document_labels()
        if visible is None or row[0] in visible
    }
    snap_docs = np.asarray(snap.doc_index)[rows]
    known = np.array([d in labels for d in snap.doc_ids], dtype=bool)
    rows, snap_docs = rows[known[snap_docs]], snap_docs[known[snap_docs]]
    if len(rows) == 0:
        raise IndexMissing("the index holds no passages to make a digest of")
    used, doc_of = np.unique(snap_docs, return_inverse=True)
    doc_ids = [snap.doc_ids[int(i)] for i in used]
    sources, voices, titles = [], [], []
    names: dict[str, str] = {}
    published: dict[str, str | None] = {}
    for doc_id in doc_ids:
        source_id, title, site, date, authors_json = labels[doc_id]
        authors = tuple(json.loads(authors_json))
        sources.append(source_id)
        voices.append(voice_of(site, authors, source_id))
        titles.append(title)
        names.setdefault(source_id, short_name(site, authors, title, source_id))
        published[doc_id] = date
    shift = _document_shift(snap.matrix, rows, doc_of.astype(np.int64), len(doc_ids))
    return Scope(
        matrix=snap.matrix,
        rows=rows,
        passage_ids=np.asarray(snap.ids)[rows],
        doc_of=doc_of.astype(np.int64),
        doc_ids=doc_ids,
        sources=sources,
        voices=voices,
        source_names=names,
        titles=titles,
        published=published,
        indexed_at=library.store.document_indexed_at(),
        shift=shift,
        all_documents=tuple(sorted(labels)),
    )


def _document_shift(
    matrix: np.ndarray, rows: np.ndarray, doc_of: np.ndarray, n_docs: int
) -> np.ndarray:
    """``DOCUMENT_CENTRING`` × each document's mean vector (zero for one-passage documents).

    Summed block by block through a sparse one-hot product, so a memory-mapped index of a
    million passages is read once and never copied whole.
    """
    dim = matrix.shape[1]
    sums = np.zeros((n_docs, dim), dtype=np.float32)
    for start in range(0, len(rows), CHUNK):
        block = doc_of[start : start + CHUNK]
        onehot = sparse.csr_matrix(
            (np.ones(len(block), dtype=np.float32), (block, np.arange(len(block)))),
            shape=(n_docs, len(block)),
        )
        sums += onehot @ np.asarray(matrix[rows[start : start + CHUNK]], dtype=np.float32)
    counts = np.bincount(doc_of, minlength=n_docs).astype(np.float32)
    shift = sums / np.maximum(counts, 1.0)[:, None]
    shift[counts < 2] = 0.0
    return (DOCUMENT_CENTRING * shift).astype(np.float32)


# ----------------------------------------------------------------------------- 2. the themes


@dataclass
class ThemeMap:
    """Every passage in scope placed in a theme."""

    keys: list[int]
    labels: list[str]
    key_phrases: list[tuple[str, ...]]
    centroids: np.ndarray  # unit rows, document-centred space
    assignment: np.ndarray  # per scope position: theme index
    similarity: np.ndarray  # per scope position: cosine to its theme's centroid
    matched: set[int]  # theme indices that continue a previous digest's theme
    reclustered: bool
    clustered_passages: int
    next_key: int


def _assign(scope: Scope, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of every position in scope, block by block."""
    assignment = np.empty(len(scope), dtype=np.int64)
    similarity = np.empty(len(scope), dtype=np.float32)
    for start in range(0, len(scope), CHUNK):
        sims = scope.vectors(slice(start, start + CHUNK)) @ centroids.T
        best = np.argmax(sims, axis=1)
        assignment[start : start + len(best)] = best
        similarity[start : start + len(best)] = sims[np.arange(len(best)), best]
    return assignment, similarity


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def recluster_reason(
    scope: Scope, in_period: np.ndarray, previous: DigestSnapshot | None, topic: str | None
) -> tuple[str | None, tuple[np.ndarray, np.ndarray] | None]:
    """Why the themes must be found afresh (None: new passages join the known themes), and the
    placement under the known themes when they are kept."""
    if previous is None or not previous.themes:
        return "no earlier themes", None
    if previous.topic != topic:
        return "another topic", None
    if len(previous.themes[0].centroid) != scope.matrix.shape[1]:
        return "another embedding", None
    before = max(1, previous.clustered_passages)
    if abs(len(scope) - before) >= RECLUSTER_GROWTH * before:
        return f"scope changed from {before} to {len(scope)} passages", None
    centroids = np.asarray([t.centroid for t in previous.themes], dtype=np.float32)
    assignment, similarity = _assign(scope, centroids)
    if in_period.any() and (~in_period).any():
        floor = float(np.percentile(similarity[~in_period], 10))
        poor = float(np.mean(similarity[in_period] < floor))
        if poor > POOR_FIT_SHARE:
            return f"{poor:.0%} of new passages fit no known theme", None
    return None, (assignment, similarity)


def map_themes(
    library: Library,
    scope: Scope,
    in_period: np.ndarray,
    previous: DigestSnapshot | None,
    topic: str | None,
) -> ThemeMap:
    """Step 2: a theme for every passage, incrementally when the known themes still fit."""
    reason, placed = recluster_reason(scope, in_period, previous, topic)
    if placed is not None and previous is not None:
        assignment, similarity = placed
        themes = previous.themes
        log.info("digest: %d passages placed in %d known themes", len(scope), len(themes))
        return ThemeMap(
            keys=[t.key for t in themes],
            labels=[t.label for t in themes],
            key_phrases=[t.key_phrases for t in themes],
            centroids=np.asarray([t.centroid for t in themes], dtype=np.float32),
            assignment=assignment,
            similarity=similarity,
            matched=set(range(len(themes))),
            reclustered=False,
            clustered_passages=previous.clustered_passages,
            next_key=previous.next_key,
        )
    log.info("digest: finding themes afresh (%s)", reason)
    return _recluster(library, scope, in_period, previous)


def _recluster(
    library: Library, scope: Scope, in_period: np.ndarray, previous: DigestSnapshot | None
) -> ThemeMap:
    n = len(scope)
    rng = np.random.default_rng(SEED)
    sample = np.arange(n) if n <= CLUSTER_SAMPLE else np.sort(rng.choice(n, CLUSTER_SAMPLE, False))
    vectors = scope.vectors(sample)
    texts = scope.texts(library, sample)
    groups = [scope.sources[int(scope.doc_of[p])] for p in sample]
    n_documents = len(scope.doc_ids)
    model = discover_themes(
        texts, vectors, groups=groups, min_themes=min(MIN_THEMES, max(2, n_documents // 2))
    )
    centroids = _unit(
        np.vstack([vectors[list(t.members)].mean(axis=0) for t in model.themes])
    ).astype(np.float32)
    if n <= CLUSTER_SAMPLE:
        assignment = np.asarray(model.assignment, dtype=np.int64)
        similarity = np.einsum("ij,ij->i", vectors, centroids[assignment]).astype(np.float32)
    else:
        assignment, similarity = _assign(scope, centroids)
    # Drop themes the full placement left empty, then rank by sources spanned, then size.
    sizes = np.bincount(assignment, minlength=len(centroids))
    src_of_doc = _source_index(scope)
    spans = _span(assignment, src_of_doc[scope.doc_of], len(centroids))
    order = [int(t) for t in np.lexsort((-sizes, -spans)) if sizes[t] > 0]
    remap = np.full(len(centroids), -1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    assignment, centroids = remap[assignment], centroids[order]
    phrases = _label_themes(library, scope, assignment, similarity, len(order))
    matched: dict[int, SnapshotTheme] = {}
    if previous is not None and previous.themes:
        known = ~in_period
        old_centroids = np.asarray([t.centroid for t in previous.themes], dtype=np.float32)
        if old_centroids.shape[1] == centroids.shape[1] and known.any():
            before, _ = _assign(scope, old_centroids)
            matched = match_themes(previous.themes, before[known], assignment[known], len(order))
    next_key = previous.next_key if previous else 0
    keys = []
    for t in range(len(order)):
        if t in matched:
            keys.append(matched[t].key)
        else:
            keys.append(next_key)
            next_key += 1
    return ThemeMap(
        keys=keys,
        labels=[label_of(p, t) for t, p in enumerate(phrases)],
        key_phrases=list(phrases),
        centroids=centroids,
        assignment=assignment,
        similarity=similarity,
        matched=set(matched),
        reclustered=True,
        clustered_passages=n,
        next_key=next_key,
    )


def _source_index(scope: Scope) -> np.ndarray:
    """Per document: the index of its source among the scope's distinct sources."""
    _, index = np.unique(np.asarray(scope.sources, dtype=object).astype(str), return_inverse=True)
    return index.astype(np.int64)


def _span(assignment: np.ndarray, source_of_row: np.ndarray, k: int) -> np.ndarray:
    """Distinct sources per theme."""
    pairs = np.unique(assignment * (int(source_of_row.max(initial=0)) + 1) + source_of_row)
    return np.bincount(pairs // (int(source_of_row.max(initial=0)) + 1), minlength=k)


def _central(assignment: np.ndarray, similarity: np.ndarray, theme: int, limit: int) -> np.ndarray:
    """Up to ``limit`` positions of a theme, most central first (position breaks ties)."""
    members = np.flatnonzero(assignment == theme)
    order = np.lexsort((members, -similarity[members]))
    return members[order[:limit]]


def _label_themes(
    library: Library, scope: Scope, assignment: np.ndarray, similarity: np.ndarray, k: int
) -> list[tuple[str, ...]]:
    """Key phrases of each theme from its most central passages (c-TF-IDF, embedding, MMR)."""
    members = [_central(assignment, similarity, t, LABEL_TEXTS) for t in range(k)]
    texts = [scope.texts(library, m) for m in members]
    centroids = _unit(np.vstack([scope.raw(m).mean(axis=0) for m in members]))

    def embed(phrases: list[str]) -> np.ndarray:
        return _unit(np.asarray(library.embedder.encode_queries(phrases), dtype=np.float32))

    return theme_phrases(texts, centroids=centroids, embed=embed)


# ----------------------------------------------------------------------------- 3. the quotes


@dataclass(frozen=True)
class _Candidate:
    position: int
    passage: Passage
    span: Passage | None  # the self-contained excerpt, when the passage has one
    source: str
    voice: str
    shown: bool


def pick_quotes(
    library: Library,
    scope: Scope,
    themes: ThemeMap,
    theme: int,
    in_period: np.ndarray,
    shown: set[int],
) -> tuple[tuple[DigestQuote, ...], tuple[DigestQuote, ...]]:
    """Step 3: a theme's quotes and other voices, from the period's documents only."""
    members = np.flatnonzero((themes.assignment == theme) & in_period)
    order = members[np.lexsort((members, -themes.similarity[members]))][:CANDIDATES]
    ids = [int(scope.passage_ids[p]) for p in order]
    found = library.store.passages(ids)
    candidates = []
    for position, pid in zip(order, ids, strict=True):
        if pid not in found:
            continue
        doc = int(scope.doc_of[position])
        candidates.append(
            _Candidate(
                int(position), found[pid], standalone_excerpt(found[pid]),
                scope.sources[doc], scope.voices[doc], pid in shown,
            )
        )  # fmt: skip
    fresh = [c for c in candidates if not c.shown]
    chosen: list[_Candidate] = []
    for same_source_ok in (False, True):
        for c in fresh:
            if len(chosen) == QUOTES_PER_THEME:
                break
            if c.span is None or c in chosen:
                continue
            if not same_source_ok and c.source in {x.source for x in chosen}:
                continue
            chosen.append(c)
    if not chosen and fresh:
        chosen = fresh[:1]  # nothing stands alone: the most central passage, cut to fit
    reminder = False
    if not chosen and candidates:
        chosen, reminder = candidates[:1], True
    heard = {c.voice for c in chosen}
    others: list[_Candidate] = []
    for c in fresh:
        if len(others) == OTHER_VOICES:
            break
        if c.span is not None and c not in chosen and c.voice not in heard:
            others.append(c)
            heard.add(c.voice)

    def quote(c: _Candidate) -> DigestQuote:
        document = library.document(c.passage.doc_id)
        return DigestQuote(Quote.of(c.span or excerpt(c.passage), document), reminder=c.shown)

    return tuple(quote(c) for c in chosen), tuple(quote(c) for c in others) if not reminder else ()


# --------------------------------------------------------------------------- 4. the assembly


def assemble(
    library: Library,
    scope: Scope,
    themes: ThemeMap,
    since: str | None,
    period_docs: Sequence[str],
    previous: DigestSnapshot | None,
    *,
    topic: str | None,
    created_at: str,
    max_themes: int = MAX_THEMES,
) -> Digest:
    """Step 4: counts, change kinds, ranking, quotes, both charts' data and the snapshot."""
    k = len(themes.keys)
    doc_position = {d: i for i, d in enumerate(scope.doc_ids)}
    period_flags = np.zeros(len(scope.doc_ids), dtype=bool)
    period_flags[[doc_position[d] for d in period_docs if d in doc_position]] = True
    in_period = period_flags[scope.doc_of]
    assignment = themes.assignment
    sizes = np.bincount(assignment, minlength=k)
    new_sizes = np.bincount(assignment[in_period], minlength=k)
    src_of_doc = _source_index(scope)
    src_rows = src_of_doc[scope.doc_of]
    spans = _span(assignment, src_rows, k)
    new_spans = (
        _span(assignment[in_period], src_rows[in_period], k) if in_period.any() else np.zeros(k)
    )
    doc_pairs = np.unique(assignment * len(scope.doc_ids) + scope.doc_of)
    doc_counts = np.bincount(doc_pairs // len(scope.doc_ids), minlength=k)
    # A period document belongs to the theme most of its passages are in.
    period_pairs, pair_counts = np.unique(
        scope.doc_of[in_period] * k + assignment[in_period], return_counts=True
    )
    home: dict[int, tuple[int, int]] = {}
    for pair, count in sorted(zip(period_pairs.tolist(), pair_counts.tolist(), strict=True)):
        doc, theme = divmod(pair, k)
        if doc not in home or count > home[doc][1]:
            home[doc] = (theme, count)
    new_docs_of: dict[int, list[str]] = {}  # every period document with a passage in the theme
    for pair in sorted(period_pairs.tolist()):
        doc, theme = divmod(pair, k)
        new_docs_of.setdefault(theme, []).append(scope.doc_ids[doc])

    def change(t: int) -> ChangeKind:
        if new_sizes[t] == 0:
            return ChangeKind.QUIET
        if t not in themes.matched and new_sizes[t] >= NEW_THEME_SHARE * sizes[t]:
            return ChangeKind.NEW
        return ChangeKind.JOINED

    active = sorted(
        (t for t in range(k) if new_sizes[t] > 0),
        key=lambda t: (-new_spans[t], -new_sizes[t], -sizes[t], t),
    )
    quiet = sorted((t for t in range(k) if new_sizes[t] == 0), key=lambda t: (-sizes[t], t))
    shown = set(previous.quoted) if previous else set()
    source_ids_all = _source_names(scope, src_of_doc)

    def theme_of(t: int, with_quotes: bool) -> DigestTheme:
        quotes, others = (
            pick_quotes(library, scope, themes, t, in_period, shown) if with_quotes else ((), ())
        )
        members = assignment == t
        per_source = np.bincount(src_rows[members], minlength=int(src_of_doc.max()) + 1)
        order = np.lexsort((np.arange(len(per_source)), -per_source))
        ranked_sources = [source_ids_all[i] for i in order if per_source[i]]
        return DigestTheme(
            key=themes.keys[t],
            label=themes.labels[t],
            key_phrases=themes.key_phrases[t],
            change=change(t),
            size=int(sizes[t]),
            documents=int(doc_counts[t]),
            sources=tuple(ranked_sources),
            new_passages=int(new_sizes[t]),
            new_documents=tuple(new_docs_of.get(t, ())),
            quotes=quotes,
            other_voices=others,
        )

    shown_active = [theme_of(t, True) for t in active[:max_themes]]
    shown_quiet = [theme_of(t, False) for t in quiet[:MAX_RUNNING]]
    charted = [*active[:max_themes], *quiet[:MAX_RUNNING]]
    source_ids, coverage = _coverage(scope, src_of_doc, src_rows, assignment, charted)
    growth_now = PeriodGrowth(
        created_at, tuple((themes.keys[t], int(new_sizes[t])) for t in range(k) if new_sizes[t])
    )
    history = (*(previous.history if previous else ()), growth_now)[-HISTORY_PERIODS:]
    weeks, growth = _growth(history, [themes.keys[t] for t in charted])
    if previous is None and (~in_period).any():
        weeks = ("earlier", *weeks)
        earlier = np.bincount(assignment[~in_period], minlength=k)
        growth = tuple((int(earlier[t]), *row) for t, row in zip(charted, growth, strict=True))
    quoted_now = [q.quote.passage_id for th in shown_active for q in (*th.quotes, *th.other_voices)]
    snapshot = DigestSnapshot(
        created_at=created_at,
        documents=scope.all_documents,
        themes=tuple(
            SnapshotTheme(
                key=themes.keys[t],
                label=themes.labels[t],
                centroid=tuple(float(v) for v in themes.centroids[t]),
                passages=int(sizes[t]),
                documents=int(doc_counts[t]),
                sources=int(spans[t]),
                key_phrases=themes.key_phrases[t],
            )
            for t in range(k)
        ),
        topic=topic,
        quoted=tuple(sorted(shown | set(quoted_now))),
        clustered_passages=themes.clustered_passages,
        next_key=themes.next_key,
        history=history,
    )
    current_keys = set(themes.keys)
    faded = tuple(
        t.label for t in (previous.themes if previous else ()) if t.key not in current_keys
    )
    period = Period(
        since=since,
        until=created_at,
        documents=tuple(
            PeriodDocument(
                doc_id=scope.doc_ids[doc],
                source_id=scope.sources[doc],
                title=scope.titles[doc] or scope.doc_ids[doc],
                theme_key=themes.keys[theme],
            )
            for doc, (theme, _count) in sorted(home.items())
        ),
    )
    return Digest(
        created_at=created_at,
        topic=topic,
        period=period,
        first=previous is None,
        documents=len(scope.doc_ids),
        sources=int(src_of_doc.max()) + 1,
        passages=len(scope),
        themes=tuple(shown_active),
        running=tuple(shown_quiet),
        more_themes=max(0, len(active) - max_themes) + max(0, len(quiet) - MAX_RUNNING),
        faded=faded,
        reclustered=themes.reclustered,
        source_ids=tuple(source_ids),
        source_names=tuple(scope.source_names[s] for s in source_ids),
        coverage=coverage,
        weeks=weeks,
        growth=growth,
        snapshot=snapshot,
    )


def _source_names(scope: Scope, src_of_doc: np.ndarray) -> list[str]:
    names = [""] * (int(src_of_doc.max()) + 1)
    for doc, index in enumerate(src_of_doc):
        names[index] = scope.sources[doc]
    return names


def _coverage(
    scope: Scope,
    src_of_doc: np.ndarray,
    src_rows: np.ndarray,
    assignment: np.ndarray,
    charted: Sequence[int],
) -> tuple[list[str], tuple[tuple[int, ...], ...]]:
    """Chart columns (sources, most passages first) and passages per (charted theme, source)."""
    n_sources = int(src_of_doc.max()) + 1
    ids = _source_names(scope, src_of_doc)
    totals = np.bincount(src_rows, minlength=n_sources)
    columns = [int(i) for i in np.lexsort((np.asarray(ids, dtype=object).astype(str), -totals))]
    rows = []
    for t in charted:
        counts = np.bincount(src_rows[assignment == t], minlength=n_sources)
        rows.append(tuple(int(counts[c]) for c in columns))
    return [ids[c] for c in columns], tuple(rows)


def _growth(
    history: Sequence[PeriodGrowth], keys: Sequence[int]
) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    weeks = tuple(g.until[:10] for g in history)
    added = [dict(g.added) for g in history]
    return weeks, tuple(tuple(a.get(key, 0) for a in added) for key in keys)


# ----------------------------------------------------------------------------------- digest


def build_digest(
    library: Library,
    previous: DigestSnapshot | None = None,
    *,
    topic: str | None = None,
    max_themes: int = MAX_THEMES,
    now: datetime | None = None,
) -> Digest:
    """The digest of the period since ``previous`` (the channel's last digest; None: the first)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    created_at = moment.isoformat(timespec="seconds")
    topic = check_topic(topic) if topic else None
    scope = collect_scope(library, topic)
    since, period_docs = period_documents(
        scope.doc_ids, scope.published, scope.indexed_at, previous, moment
    )
    # A set, not np.isin: on object arrays numpy compares every pair (125k² at 1M passages).
    new_docs = set(period_docs)
    doc_flags = np.fromiter((d in new_docs for d in scope.doc_ids), bool, len(scope.doc_ids))
    in_period = doc_flags[scope.doc_of] if len(period_docs) else np.zeros(len(scope), bool)
    themes = map_themes(library, scope, in_period, previous, topic)
    return assemble(
        library, scope, themes, since, period_docs, previous,
        topic=topic, created_at=created_at, max_themes=max_themes,
    )  # fmt: skip
