"""The corpus as the rest of briefbot sees it: one object to search and look things up."""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, ValuesView
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from index.embedding import Embedder, make_embedder
from index.errors import IndexMissing, InputError, NotFound
from index.lexical import LexicalIndex, make_lexical_index
from index.models import Document, Hit, Passage, SearchFilters
from index.query import (
    MAX_QUERY_TERMS,
    distinctive_terms,
    expansion_terms,
    fts_expression,
    fts_query,
    term_counts,
    top_items,
)
from index.ranking import DEFAULT_CONFIG, SearchConfig, convex_fuse, rocchio, wants_feedback
from index.store import Store, open_store
from index.vectors import VectorIndex, VectorSnapshot, load_vectors, make_vector_index

log = logging.getLogger(__name__)

# Not a limit anyone should meet: a pasted article is a query like any other (the dense arm
# reads what the model reads, the lexical arm its most distinctive terms). Front ends with
# their own limits (Discord's option length) apply them.
MAX_QUERY_CHARS = 100_000
DEFAULT_DB = "briefbot.db"


def default_db_path() -> str:
    """Where the index is: ``BRIEFBOT_DATABASE_URL`` (PostgreSQL), else ``BRIEFBOT_DB``, else
    ``briefbot.db`` in the working directory."""
    return os.environ.get("BRIEFBOT_DATABASE_URL") or os.environ.get("BRIEFBOT_DB") or DEFAULT_DB


MAX_PASSAGE_ID = 2**63 - 1  # SQLite's largest integer


def clipped(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters with an ellipsis (for error messages)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_passage_id(value: str | int) -> int:
    """``P42``, ``p42`` or ``42`` → 42; anything else is an InputError."""
    text = str(value).strip()
    if text[:1] in ("P", "p"):
        text = text[1:]
    # ASCII digits only ("²".isdigit() is true) and within SQLite's 64-bit integers.
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or len(digits) > 19 or int(text) > MAX_PASSAGE_ID:
        raise InputError(f"{clipped(value)} is not a passage id: they look like P42")
    return int(text)


# Up to this many documents are held in memory; beyond, they are read from SQLite when needed
# (a year of news is ~10^5 documents and several hundred MB of text).
EAGER_DOCUMENTS = 20_000


class _LazyDocuments(Mapping[str, Document]):
    """Documents by id, read from the store on demand (a bounded cache of recent ones)."""

    def __init__(self, store: Store, cache_size: int = 4096) -> None:
        self._store = store
        self._ids: list[str] | None = None
        self._get = lru_cache(maxsize=cache_size)(store.document)

    def _keys(self) -> list[str]:
        if self._ids is None:
            self._ids = self._store.document_ids()
        return self._ids

    def __getitem__(self, doc_id: str) -> Document:
        doc = self._get(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self._get(doc_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def values(self) -> ValuesView[Document]:  # one query, not one per document
        return {d.doc_id: d for d in self._store.documents()}.values()


@dataclass(frozen=True)
class _Labels:
    """What filters match, one entry per snapshot document position: read once per generation
    from the documents' short fields (no texts)."""

    published: np.ndarray  # ISO dates, '' when unknown: a date filter is one comparison
    text: list[str]  # lower-cased title, site and authors, NUL-separated
    ids: dict[str, set[int]]  # lower-cased doc id and source id → positions

    @classmethod
    def load(cls, store: Store, positions: Mapping[str, int]) -> _Labels:
        published, text = [""] * len(positions), [""] * len(positions)
        ids: dict[str, set[int]] = {}
        for doc_id, source_id, title, site, date, authors in store.document_labels():
            pos = positions.get(doc_id)
            if pos is None:
                continue  # no passages: nothing to show
            published[pos] = date or ""
            # NUL never occurs in a needle, so a match never spans two fields.
            text[pos] = "\0".join([title, site or "", *json.loads(authors)]).lower()
            for key in {doc_id.lower(), source_id.lower()}:
                ids.setdefault(key, set()).add(pos)
        return cls(np.array(published, dtype=str), text, ids)

    def from_source(self, source: str) -> list[int]:
        """Positions of documents whose id or source id is ``source`` (any case), or whose
        title, site or an author contains it."""
        needle = source.strip().lower()
        found = set(self.ids.get(needle, ()))
        found.update(i for i, label in enumerate(self.text) if needle in label)
        return sorted(found)


@dataclass
class _State:
    snapshot: VectorSnapshot
    vectors: VectorIndex
    documents: Mapping[str, Document]
    _labels: _Labels | None = None
    _collections: np.ndarray | None = None
    _scopes: dict[frozenset[str], np.ndarray] = field(default_factory=dict)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Snapshot document id → position."""
        return {d: i for i, d in enumerate(self.snapshot.doc_ids)}

    def labels(self, store: Store) -> _Labels:
        """For filtered searches, loaded on first use."""
        if self._labels is None:
            self._labels = _Labels.load(store, self.positions)
        return self._labels

    def in_collections(self, store: Store, collections: frozenset[str]) -> np.ndarray:
        """One flag per snapshot document position: is it in one of ``collections``?"""
        flags = self._scopes.get(collections)
        if flags is None:
            if self._collections is None:
                found = store.document_collections()
                self._collections = np.array(
                    [found.get(doc_id, "") for doc_id in self.snapshot.doc_ids], dtype=object
                )
            flags = np.zeros(len(self._collections), dtype=bool)
            for name in collections:  # a handful of names: one comparison pass each
                flags |= self._collections == name
            self._scopes[collections] = flags
        return flags


class _Allowed:
    """The documents a filtered search may show: one flag per snapshot document position."""

    def __init__(self, ok: np.ndarray, positions: Mapping[str, int]) -> None:
        self.ok = ok
        self._positions = positions

    def __contains__(self, doc_id: object) -> bool:
        pos = self._positions.get(doc_id) if isinstance(doc_id, str) else None
        return pos is not None and bool(self.ok[pos])

    def __bool__(self) -> bool:
        return bool(self.ok.any())

    def passages(self, snapshot: VectorSnapshot, passage_ids: np.ndarray) -> np.ndarray:
        """One flag per passage id: in the snapshot, and of an allowed document (no SQL: a
        filtered lexical arm checks up to ten times its depth in candidates)."""
        rows, keep = snapshot.rows_of(passage_ids)
        keep[keep] = self.ok[np.asarray(snapshot.doc_index)[rows[keep]]]
        return keep

    def lexical_depth(self, depth: int) -> int:
        """How many lexical candidates to read so that about ``depth`` are allowed: more as
        fewer documents are (at most ten times; all of them: exactly ``depth``)."""
        share = float(self.ok.mean()) if len(self.ok) else 1.0
        if share >= 0.999:
            return depth
        return int(np.ceil(depth * min(10.0, 1.5 / max(share, 1e-9))))


class Library:
    """Search and lookup over one index; sees what a concurrent indexer commits."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        config: SearchConfig = DEFAULT_CONFIG,
        backend: str = "auto",
        lexical_backend: str = "auto",
    ) -> None:
        store.check_model(embedder.name, embedder.dim)
        self.store = store
        self.embedder = embedder
        self.config = config
        self.backend = backend
        self.lexical: LexicalIndex = make_lexical_index(
            store, lexical_backend, (config.title_weight, config.text_weight)
        )
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._df_cache: dict[str, int] = {}
        self._df_generation = -1
        # A scoped view (``within``) sees only these collections and shares its root's state.
        self.scope: frozenset[str] | None = None
        self._root: Library | None = None

    @classmethod
    def open(
        cls, path: str | Path | None = None, embedder: Embedder | None = None, **kwargs: object
    ) -> Library:
        """Open an existing index (IndexMissing when there is none)."""
        store = open_store(path or default_db_path(), create=False)
        return cls(store, embedder or make_embedder(), **kwargs)  # type: ignore[arg-type]

    def within(self, collections: Iterable[str]) -> Library:
        """This library as seen from ``collections`` only: search, lookups and listings all
        leave out every other collection's documents (a passage outside is "not found")."""
        view = copy.copy(self)
        view.scope = frozenset(collections)
        view._root = self._root or self
        return view

    def visible(self, doc: Document) -> bool:
        """Whether ``doc`` is in this library's scope."""
        return self.scope is None or doc.collection in self.scope

    def visible_ids(self) -> set[str] | None:
        """The ids of the documents in scope; None when every document is."""
        if self.scope is None:
            return None
        return {d.doc_id for d in self.refresh().documents.values() if d.collection in self.scope}

    # -- live state ------------------------------------------------------------------------

    def refresh(self) -> _State:
        """The current state, reloaded when the index changed since the last look."""
        if self._root is not None:
            return self._root.refresh()
        with self._lock:
            generation = self.store.generation()
            if self._state is None or self._state.snapshot.generation != generation:
                # Only passages new since the last snapshot are read from SQLite; large indexes
                # are memory-mapped from a sidecar derived from the store (index.vectors).
                previous = None if self._state is None else self._state.snapshot
                snapshot = load_vectors(self.store, self.embedder.dim, previous)
                documents: Mapping[str, Document]
                if self.store.counts()[0] <= EAGER_DOCUMENTS:
                    documents = {d.doc_id: d for d in self.store.documents()}
                else:
                    documents = _LazyDocuments(self.store)
                self._state = _State(snapshot, make_vector_index(snapshot, self.backend), documents)
                log.info(
                    "index generation %d: %d passages, %d documents",
                    snapshot.generation,
                    len(snapshot.ids),
                    len(documents),
                )
            return self._state

    def require_passages(self) -> _State:
        state = self.refresh()
        if len(state.snapshot.ids) == 0:
            raise IndexMissing(
                f"the index at {self.store.label} holds no passages yet: "
                "run `briefbot index PATH...` first"
            )
        return state

    # -- lookups ---------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        found = self.refresh().documents.values()
        return sorted((d for d in found if self.visible(d)), key=lambda d: d.doc_id)

    def document(self, doc_id: str) -> Document:
        doc = self.refresh().documents.get(doc_id)
        if doc is None or not self.visible(doc):
            raise NotFound(f"no document {doc_id!r} in the index")
        return doc

    def passage(self, passage_id: int | str) -> Passage:
        pid = parse_passage_id(passage_id)
        passage = self.store.passage(pid)
        if passage is not None and self.scope is not None:
            try:
                self.document(passage.doc_id)
            except NotFound:
                passage = None  # another server's: exactly as if there were none
        if passage is None:
            raise NotFound(f"no passage P{pid} in the index (it may have been re-indexed)")
        return passage

    def passage_vector(self, passage_id: int) -> np.ndarray:
        state = self.refresh()
        ids = state.snapshot.ids
        row = int(np.searchsorted(ids, passage_id))
        if row < len(ids) and ids[row] == passage_id:
            return state.vectors.row(row)
        vector = self.store.vector(passage_id)
        if vector is None:
            raise NotFound(f"no passage P{passage_id} in the index")
        return vector

    # -- search ----------------------------------------------------------------------------

    @staticmethod
    def check_query(query: str, max_chars: int = MAX_QUERY_CHARS) -> str:
        """The query stripped, or an InputError saying what is wrong with it."""
        text = " ".join(query.split())
        if not text:
            raise InputError("the topic is empty: say what you want a brief about")
        if len(text) > max_chars:
            raise InputError(
                f"the topic is {len(text):,} characters long; keep it under {max_chars:,}"
            )
        return text

    def lexical_query(self, query: str, documents: int) -> str:
        """The query the lexical arm runs: a long one cut to its most distinctive terms."""
        if len(term_counts(query)) <= MAX_QUERY_TERMS:
            return query
        return " ".join(distinctive_terms(query, self._document_frequencies, documents))

    def _document_frequencies(self, terms: list[str]) -> dict[str, int]:
        # Counts over the whole index, whatever the scope: every view shares its root's cache.
        if self._root is not None:
            return self._root._document_frequencies(terms)
        generation = self.store.generation()
        if self._df_generation != generation:
            self._df_cache, self._df_generation = {}, generation
        missing = [t for t in terms if t not in self._df_cache]
        if missing:
            self._df_cache.update(self.store.document_frequencies(missing))
        return {t: self._df_cache.get(t, 0) for t in terms}

    def _collections(self, filters: SearchFilters | None) -> frozenset[str] | None:
        """The collections a search may see: the scope's, narrowed by the filters'."""
        wanted = filters.collections if filters is not None else None
        if self.scope is None:
            return wanted
        return self.scope if wanted is None else self.scope & wanted

    def _allowed_docs(self, state: _State, filters: SearchFilters | None) -> _Allowed | None:
        collections = self._collections(filters)
        if collections is None and (
            filters is None or (not filters.source and not filters.since and not filters.doc_ids)
        ):
            return None
        filters = filters or SearchFilters()
        positions = state.positions

        def flags(rows: Iterable[int]) -> np.ndarray:
            keep = np.zeros(len(positions), dtype=bool)
            keep[list(rows)] = True
            return keep

        ok = np.ones(len(positions), dtype=bool)
        if collections is not None:
            ok &= state.in_collections(self.store, collections)
        if filters.since:
            ok &= state.labels(self.store).published >= filters.since
        if filters.doc_ids:
            ok &= flags(positions[d] for d in filters.doc_ids if d in positions)
        if filters.source:
            ok &= flags(state.labels(self.store).from_source(filters.source))
        return _Allowed(ok, positions)

    def match_source(self, source: str) -> set[str]:
        """Documents whose id or source id is ``source``, or whose title, site or author has it."""
        state = self.refresh()
        found = state.labels(self.store).from_source(source)
        if self.scope is not None:
            ok = state.in_collections(self.store, self.scope)
            found = [i for i in found if ok[i]]
        return {state.snapshot.doc_ids[i] for i in found}

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: SearchFilters | None = None,
        per_document: bool = False,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The best passages for ``query`` (best first); per_document keeps one per document."""
        query = self.check_query(query)
        state = self.require_passages()
        allowed = self._allowed_docs(state, filters)
        if allowed is not None and not allowed:
            return []
        if query_vector is None:
            query_vector = self.embedder.encode_queries([query])[0]
        cfg = self.config
        snap = state.snapshot
        query = self.lexical_query(query, len(snap.doc_ids))

        mask = None
        if allowed is not None:
            mask = allowed.ok[snap.doc_index]
        # Per document, more passages are read so that ~dense_k distinct documents are seen.
        dense: dict[int, float] = {}
        if (cfg.document_dense_weight if per_document else cfg.dense_weight) > 0:
            depth = cfg.document_k * 3 if per_document else cfg.dense_k
            rows, sims = state.vectors.search(query_vector, depth, mask)
            dense = {int(snap.ids[r]): float(sim) for r, sim in zip(rows, sims, strict=True)}

        lexical: dict[int, float] = {}
        if cfg.lexical_weight > 0 and not per_document:
            limit = cfg.lexical_k if allowed is None else allowed.lexical_depth(cfg.lexical_k)
            lexical = dict(self.lexical.search(query, limit))
            if allowed is not None and lexical:
                keep = allowed.passages(snap, np.fromiter(lexical, np.int64, len(lexical)))
                lexical = dict(
                    [item for item, ok in zip(lexical.items(), keep, strict=True) if ok][
                        : cfg.lexical_k
                    ]
                )

        if per_document:
            ranked = self._rank_documents(query, query_vector, dense, allowed, state)
        else:
            if cfg.context_weight > 0:
                lexical, dense = self._with_context(state, query_vector, lexical, dense)
            fused = convex_fuse(
                [(lexical, cfg.lexical_weight), (dense, cfg.dense_weight)], cfg.fusion
            )
            ranked = top_items(fused, len(fused))
        # Texts of the leading candidates only (twice what is shown, in case some were
        # re-indexed meanwhile); the rest are read only if those run out.
        passages = self.store.passages([pid for pid, _ in ranked[: 2 * k]])
        read_all = len(ranked) <= 2 * k
        lexical_rank = {pid: r for r, pid in enumerate(lexical, start=1)}
        dense_rank = {pid: r for r, pid in enumerate(dense, start=1)}
        hits: list[Hit] = []
        # Cosines of the shown passages the dense arm did not score, in one read (a store
        # that keeps vectors elsewhere answers one query, not one per passage).
        unscored = [pid for pid, _ in ranked[: 2 * k] if pid not in dense]
        cosines = {
            pid: c
            for pid, c in zip(unscored, self._cosines(state, unscored, query_vector), strict=True)
            if np.isfinite(c)
        }
        for pid, score in ranked:
            if pid not in passages and not read_all:
                passages.update(self.store.passages([p for p, _ in ranked[2 * k :]]))
                read_all = True
            passage = passages.get(pid)
            if passage is None:  # re-indexed between the two reads: skip, never show stale text
                continue
            document = state.documents.get(passage.doc_id)
            if document is None:
                continue
            similarity = dense.get(pid, cosines.get(pid))
            if similarity is None:
                similarity = float(np.dot(self.passage_vector(pid), query_vector))
            hits.append(
                Hit(
                    passage, document, score, lexical_rank.get(pid), dense_rank.get(pid), similarity
                )
            )
            if len(hits) >= k:
                break
        return hits

    def _with_context(
        self,
        state: _State,
        query_vector: np.ndarray,
        lexical: dict[int, float],
        dense: dict[int, float],
    ) -> tuple[dict[int, float], dict[int, float]]:
        """Each arm's passage scores mixed with those of its window (small-to-big).

        The window is the passage and its neighbours in the same document: the dense arm
        scores the window's mean vector, the lexical arm adds the neighbours' bm25 (0 for a
        neighbour outside the arm's candidates). ``context_weight`` of each score comes from
        the window; a passage is still quoted on its own.
        """
        w = self.config.context_weight
        snap = state.snapshot
        ids, doc_index = snap.ids, snap.doc_index

        def windows(pids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Rows of the passages, and of the neighbours before and after (-1: none)."""
            rows = np.searchsorted(ids, np.asarray(pids, dtype=np.int64))
            around = []
            for step in (-1, 1):
                other = np.clip(rows + step, 0, len(ids) - 1)
                same = (other != rows) & (doc_index[other] == doc_index[rows])
                around.append(np.where(same, other, -1))
            return rows, around[0], around[1]

        windowed_dense: dict[int, float] = {}
        if dense:
            pids = list(dense)
            rows, before, after = windows(pids)
            wanted = np.unique(np.concatenate([rows, before[before >= 0], after[after >= 0]]))
            matrix = self._rows(state, wanted)

            def vectors(which: np.ndarray) -> np.ndarray:
                picked = matrix[np.searchsorted(wanted, np.maximum(which, wanted[0]))]
                return np.where((which >= 0)[:, None], picked, 0.0)

            total = vectors(rows) + vectors(before) + vectors(after)
            norms = np.linalg.norm(total, axis=1)
            norms[norms == 0] = 1.0
            window = (total @ query_vector) / norms
            for pid, own, win in zip(pids, dense.values(), window, strict=True):
                windowed_dense[pid] = (1 - w) * own + w * float(win)
        windowed_lexical: dict[int, float] = {}
        if lexical:
            pids = list(lexical)
            rows, before, after = windows(pids)
            for pid, b, a in zip(pids, before, after, strict=True):
                around = sum(lexical.get(int(ids[r]), 0.0) for r in (b, a) if r >= 0)
                windowed_lexical[pid] = lexical[pid] + w * around
        return windowed_lexical, windowed_dense

    def _cosines(self, state: _State, pids: list[int], query_vector: np.ndarray) -> list[float]:
        """The query's cosine with each passage in ``pids`` (those in the snapshot; a passage
        newer than it is left out of the read and looked up one by one by the caller)."""
        rows, known = state.snapshot.rows_of(np.asarray(pids, dtype=np.int64))
        out = np.full(len(pids), np.nan)
        if known.any():
            out[known] = self._rows(state, rows[known]) @ query_vector
        return [float(c) for c in out]

    @staticmethod
    def _rows(state: _State, rows: np.ndarray) -> np.ndarray:
        """Exact float32 vectors of snapshot rows (one read where the backend allows)."""
        matrix = getattr(state.vectors, "matrix", None)
        if isinstance(matrix, np.ndarray) and matrix.dtype == np.float32:
            return matrix[rows]  # in memory: one gather
        exact = getattr(state.vectors, "exact_rows", None)
        if exact is not None:
            return np.asarray(exact(rows), dtype=np.float32)
        return np.vstack([state.vectors.row(int(r)) for r in rows]).astype(np.float32)

    def _document_dense(
        self, snap: VectorSnapshot, rows: np.ndarray, sims: np.ndarray
    ) -> tuple[dict[str, float], dict[str, int]]:
        """Each document's dense score (its best candidate passage's cosine) and that passage.

        With ``dense_second_weight``, the second-best passage's cosine adds to the score.
        """
        cfg = self.config
        doc_dense: dict[str, float] = {}
        best_passage: dict[str, int] = {}
        second: dict[str, float] = {}
        for i in np.argsort(-sims, kind="stable"):
            row = int(rows[i])
            doc_id = snap.doc_ids[snap.doc_index[row]]
            if doc_id not in doc_dense:
                if len(doc_dense) < cfg.document_k:
                    doc_dense[doc_id], best_passage[doc_id] = float(sims[i]), int(snap.ids[row])
            elif doc_id not in second:
                second[doc_id] = float(sims[i])
        if cfg.dense_second_weight > 0 and len(sims):
            # A document that says it twice is likelier about it than one lucky passage.
            floor = float(sims.min())
            for doc_id in doc_dense:
                doc_dense[doc_id] += cfg.dense_second_weight * second.get(doc_id, floor)
        return doc_dense, best_passage

    def _rank_documents(
        self,
        query: str,
        query_vector: np.ndarray,
        dense: dict[int, float],
        allowed: _Allowed | None,
        state: _State,
    ) -> list[tuple[int, float]]:
        """Documents fused on whole-document bm25 and best-passage cosine, as their passage."""
        cfg = self.config
        snap = state.snapshot
        rows = np.searchsorted(snap.ids, np.fromiter(dense, dtype=np.int64, count=len(dense)))
        doc_dense, best_passage = self._document_dense(
            snap, rows, np.fromiter(dense.values(), float)
        )
        doc_lexical: dict[str, float] = {}
        match = fts_query(query) if cfg.document_lexical_weight > 0 else None
        limit = cfg.document_k if allowed is None else cfg.document_k * 10
        weights = (cfg.document_title_weight, 1.0)

        def lexical_documents(expression: str) -> dict[str, float]:
            found = self.store.document_lexical(expression, limit, weights)
            return dict(
                [(d, s) for d, s in found if allowed is None or d in allowed][: cfg.document_k]
            )

        if match:
            doc_lexical = lexical_documents(match)
        arms = [(doc_lexical, cfg.document_lexical_weight), (doc_dense, cfg.document_dense_weight)]
        fused = convex_fuse(arms, cfg.fusion)
        feedback_ok = wants_feedback(query, cfg)
        if match and feedback_ok and cfg.prf_docs > 0 and fused:
            feedback = [d for d, _ in top_items(fused, cfg.prf_docs)]
            texts = [f"{doc.title}. {doc.text}" for doc in map(self.document, feedback)]
            terms = expansion_terms(
                query, texts, self._document_frequencies, len(snap.doc_ids), cfg.prf_terms
            )
            expansion = fts_expression(terms)
            if expansion:
                extra = lexical_documents(expansion)
                for doc_id, score in extra.items():
                    doc_lexical[doc_id] = doc_lexical.get(doc_id, 0.0) + cfg.prf_weight * score
                fused = convex_fuse(arms, cfg.fusion)
        top_docs: list[str] = []
        if feedback_ok and cfg.dense_prf_docs > 0 and len(rows) and fused:
            top_docs = [d for d, _ in top_items(fused, cfg.dense_prf_docs)]
            missing = [d for d in top_docs if d not in best_passage]
            if missing:
                best_passage.update(self._best_passages(query_vector, missing))
            top_docs = [d for d in top_docs if d in best_passage]
        if top_docs:
            # Rocchio on the embeddings: the dense candidates re-scored by the query moved
            # towards the best passages of the top documents (no second scan of the index).
            feedback_pids = np.array([best_passage[d] for d in top_docs], dtype=np.int64)
            feedback_rows = np.searchsorted(snap.ids, feedback_pids)
            moved = rocchio(query_vector, self._rows(state, feedback_rows), cfg.dense_prf_weight)
            order = np.argsort(rows, kind="stable")
            sims = self._rows(state, rows[order]) @ moved
            unsorted = np.empty_like(sims)
            unsorted[order] = sims
            lexical_best = {d: p for d, p in best_passage.items() if d not in doc_dense}
            doc_dense, best_passage = self._document_dense(snap, rows, unsorted)
            for doc_id, pid in lexical_best.items():
                best_passage.setdefault(doc_id, pid)
            arms[1] = (doc_dense, cfg.document_dense_weight)
            fused = convex_fuse(arms, cfg.fusion)
        ranked = top_items(fused, len(fused))
        # A document only the lexical arm found is shown by its best-matching passage.
        missing = [doc_id for doc_id, _ in ranked if doc_id not in best_passage]
        if missing:
            best_passage.update(self._best_passages(query_vector, missing))
        return [(best_passage[d], score) for d, score in ranked if d in best_passage]

    def _best_passages(self, query_vector: np.ndarray, doc_ids: list[str]) -> dict[str, int]:
        """For each document, its passage nearest to the query (by cosine)."""
        best: dict[str, int] = {}
        for doc_id in doc_ids:
            candidates = self.store.passages_of(doc_id)
            if candidates:
                best[doc_id] = max(
                    candidates,
                    key=lambda p: float(np.dot(self.passage_vector(p.passage_id), query_vector)),
                ).passage_id
        return best

    def neighbours(
        self,
        vector: np.ndarray,
        *,
        k: int = 5,
        exclude_doc: str | None = None,
        min_similarity: float = 0.0,
    ) -> list[Hit]:
        """Passages nearest to ``vector`` (cosine), optionally outside one document."""
        state = self.require_passages()
        snap = state.snapshot
        mask = None
        if exclude_doc is not None and exclude_doc in state.positions:
            mask = snap.doc_index != state.positions[exclude_doc]
        if self.scope is not None:
            in_scope = state.in_collections(self.store, self.scope)[snap.doc_index]
            mask = in_scope if mask is None else mask & in_scope
        rows, sims = state.vectors.search(vector, k * 4, mask)
        ids = [int(snap.ids[r]) for r in rows]
        passages = self.store.passages(ids)
        hits = []
        for pid, sim in zip(ids, sims, strict=True):
            passage = passages.get(pid)
            if passage is None or float(sim) < min_similarity:
                continue
            doc = state.documents.get(passage.doc_id)
            if doc is not None:
                hits.append(Hit(passage, doc, float(sim), None, None, float(sim)))
            if len(hits) >= k:
                break
        return hits
