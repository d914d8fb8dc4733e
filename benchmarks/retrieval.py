"""Retrieval quality, variant by variant: SciFact dev, NFCorpus dev and the seed lookups.

Every figure comes from the product's own path: the corpus is indexed with `Indexer` once per
data set (the store under ``--cache`` is reused, so a second run encodes nothing), query vectors
are cached as numpy files, and each variant is a `SearchConfig` (plus brief options) run through
`Library.search(..., per_document=True)` — what `briefbot search --queries` prints — or through
`make_brief` for the lookups. Results accumulate in ``benchmarks/results/retrieval.json``: a run
adds or replaces the variants it measured and keeps the others.

    python -m benchmarks.retrieval [--datasets lookups,nfcorpus,scifact] [--variants a,b]

The BEIR sets are evaluation-only and never copied into the project; the lookups
(``benchmarks/data/lookups_dev.jsonl``) are our own paraphrases of passages in ``seeds/`` and two
dev pages, each naming its source and a verbatim phrase of the passage it should find.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.perf import machine_facts
from briefings.brief import make_brief
from index.embedding import Embedder, make_embedder
from index.errors import NothingRelevant
from index.library import Library
from index.pipeline import Indexer
from index.ranking import DEFAULT_CONFIG, SearchConfig
from index.store import Store

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench"
LOOKUPS = Path(__file__).resolve().parent / "data" / "lookups_dev.jsonl"
DEV_PAGES = ("m15_therecord.md", "m03_wired.md")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "retrieval.json"
DEFAULT_CACHE = ROOT / ".scratch" / "bench"
VECTOR_CACHE = Path("/tmp/retrieval_cache")


@dataclass(frozen=True)
class Variant:
    """One recipe: search settings and brief settings, with what it changes in words."""

    about: str
    search: dict[str, Any] = field(default_factory=dict)
    brief: dict[str, Any] = field(default_factory=dict)

    def config(self) -> SearchConfig:
        return replace(DEFAULT_CONFIG, **self.search)


def _old_product() -> dict[str, Any]:
    """The settings of the recipe before issue 12, whatever the defaults are now."""
    return {
        "fusion": "zscore",
        "dense_second_weight": 0.0,
        "context_weight": 0.0,
        "prf_docs": 0,
        "dense_prf_docs": 0,
        "document_title_weight": 3.0,
        "document_k": 100,
        "document_dense_weight": 0.5,
        "document_lexical_weight": 0.5,
    }


VARIANTS: dict[str, Variant] = {
    "before": Variant(
        "the recipe before issue 12: z-score mix, best passage, one quote per document first",
        _old_product(),
        {"margin": None},
    ),
    "bm25_only": Variant(
        "lexical arm alone (today's lexical settings)",
        {"dense_weight": 0.0, "document_dense_weight": 0.0},
    ),
    "dense_only": Variant(
        "dense arm alone (today's dense settings)",
        {"lexical_weight": 0.0, "document_lexical_weight": 0.0},
    ),
    "current": Variant("the product's defaults now"),
    "minmax": Variant("min-max instead of z-scores", {**_old_product(), "fusion": "minmax"}),
    "brief_fused": Variant(
        "briefs pick on fused relevance (half cosine, half fused score), strict diversity",
        _old_product(),
        {"margin": None, "fused_relevance": 0.5},
    ),
    "brief_margin": Variant(
        "briefs: cosine relevance, a document repeats when 0.05 better",
        _old_product(),
        {"margin": 0.05, "fused_relevance": 0.0},
    ),
    "brief_fused_margin": Variant(
        "briefs: fused relevance and a 0.05 margin", _old_product(), {"margin": 0.05}
    ),
}
for _w in (0.2, 0.35, 0.5):
    VARIANTS[f"context_{_w}"] = Variant(
        f"window scores: {_w} of each arm from the passage and its neighbours",
        {**_old_product(), "context_weight": _w},
        {"margin": 0.05},
    )
for _w, _dense in ((0.35, 0.6), (0.35, 0.7), (0.25, 0.6)):
    VARIANTS[f"context_{_w}_dense_{_dense}"] = Variant(
        f"window scores at {_w}, passage fusion weighted {_dense} dense",
        {**_old_product(), "context_weight": _w, "dense_weight": _dense,
         "lexical_weight": round(1 - _dense, 2)},
        {"margin": 0.05},
    )  # fmt: skip
VARIANTS["context_0.35_minmax"] = Variant(
    "window scores at 0.35, min-max fusion",
    {**_old_product(), "context_weight": 0.35, "fusion": "minmax"},
    {"margin": 0.05},
)
for _docs, _w, _dense in ((5, 0.3, 0.5), (5, 0.2, 0.5), (5, 0.3, 0.4), (5, 0.3, 0.6),
                          (5, 0.5, 0.5), (0, 0.0, 0.4), (0, 0.0, 0.6)):  # fmt: skip
    VARIANTS[f"minmax_prf_{_docs}_{_w}_dense_{_dense}"] = Variant(
        f"min-max fusion weighted {_dense} dense; feedback from the top {_docs} documents "
        f"(10 terms) at {_w}",
        {**_old_product(), "fusion": "minmax", "prf_docs": _docs, "prf_weight": _w,
         "document_dense_weight": _dense, "document_lexical_weight": round(1 - _dense, 2)},
    )  # fmt: skip
_BEST_NF = {**_old_product(), "fusion": "minmax", "prf_docs": 5, "prf_weight": 0.3,
            "document_dense_weight": 0.4, "document_lexical_weight": 0.6}  # fmt: skip
for _title in (1.0, 2.0, 5.0):
    VARIANTS[f"best_nf_title_{_title}"] = Variant(
        f"min-max 0.4 dense, feedback 5 docs at 0.3; whole-document title weight {_title}",
        {**_BEST_NF, "document_title_weight": _title},
    )
VARIANTS["best_nf_title_2.0_k200"] = Variant(
    "min-max 0.4 dense, feedback 5 docs at 0.3; title weight 2, 200 candidates per arm",
    {**_BEST_NF, "document_title_weight": 2.0, "document_k": 200},
)
VARIANTS["current_dense_0.4"] = Variant(
    "the defaults now, passage fusion weighted 0.4 dense / 0.6 lexical",
    {"dense_weight": 0.4, "lexical_weight": 0.6},
)
VARIANTS["best_nf_k200"] = Variant(
    "min-max 0.4 dense, feedback 5 docs at 0.3; 200 candidates per arm",
    {**_BEST_NF, "document_k": 200},
)
for _w in (0.25, 0.5, 1.0):
    VARIANTS[f"second_{_w}"] = Variant(
        f"document dense score = best passage + {_w} x second best",
        {**_old_product(), "dense_second_weight": _w},
    )
for _docs, _terms, _w in ((3, 10, 0.3), (5, 10, 0.3), (3, 20, 0.5), (10, 10, 0.3)):
    VARIANTS[f"prf_{_docs}x{_terms}_{_w}"] = Variant(
        f"lexical pseudo-relevance feedback: {_terms} terms of the top {_docs} fused documents, "
        f"a second bm25 query added at {_w}",
        {**_old_product(), "prf_docs": _docs, "prf_terms": _terms, "prf_weight": _w},
    )

VARIANTS["no_feedback"] = Variant(
    "the defaults now without dense feedback (the defaults before it)", {"dense_prf_docs": 0}
)
for _docs, _w, _terms in ((5, 0.5, 1000), (3, 0.5, 1000), (5, 1.0, 1000), (5, 0.5, 6),
                          (5, 0.5, 3), (3, 0.5, 4), (5, 1.0, 4), (5, 0.3, 4)):  # fmt: skip
    _when = "every query" if _terms >= 1000 else f"queries of at most {_terms} content words"
    VARIANTS[f"dense_prf_{_docs}_{_w}_max{_terms}"] = Variant(
        f"dense feedback (Rocchio): query + {_w} x mean best-passage vector of the top {_docs} "
        f"documents re-scores the dense candidates, for {_when}",
        {"dense_prf_docs": _docs, "dense_prf_weight": _w, "feedback_max_terms": _terms},
    )
for _docs, _w in ((5, 0.3), (3, 0.3)):
    VARIANTS[f"short_feedback_lexical_{_docs}_{_w}"] = Variant(
        f"the defaults now plus lexical feedback ({_docs} documents, 10 terms, {_w}) for the "
        "same short queries",
        {"prf_docs": _docs, "prf_weight": _w},
    )
VARIANTS["short_feedback_minmax"] = Variant(
    "the defaults now, min-max fusion, lexical feedback 5 documents at 0.3 for short queries",
    {"fusion": "minmax", "prf_docs": 5, "prf_weight": 0.3},
)


# -- data ------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, score = line.split("\t")
        qrels[qid][doc] = int(score)
    return qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """Graded nDCG@k with the grade as the gain (trec_eval, BEIR); binary data gives 0/1."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    grades = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(grades))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    rel = {d for d, v in relevant.items() if v > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def build_store(path: Path, corpus: list[Path], embedder: Embedder) -> tuple[Store, float]:
    """The store at ``path`` brought up to date with ``corpus`` (nothing encoded when it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path)
    started = time.perf_counter()
    Indexer(store, embedder).run(corpus)
    return store, time.perf_counter() - started


def query_vectors(embedder: Embedder, name: str, texts: list[str]) -> np.ndarray:
    """Query vectors, encoded once and cached by the texts' hash."""
    digest = hashlib.sha256(json.dumps([embedder.name, texts]).encode()).hexdigest()[:16]
    path = VECTOR_CACHE / f"{name}-queries-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = embedder.encode_queries(texts)
    VECTOR_CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# -- evaluations -----------------------------------------------------------------------------


def evaluate_beir(
    library: Library,
    queries: list[tuple[str, str]],
    qrels: dict[str, dict[str, int]],
    vectors: np.ndarray,
) -> dict[str, float]:
    ndcgs, recalls = [], []
    started = time.perf_counter()
    for (qid, text), vector in zip(queries, vectors, strict=True):
        hits = library.search(text, k=100, per_document=True, query_vector=vector)
        ranked = [h.document.source_id for h in hits]
        ndcgs.append(ndcg_at(ranked, qrels[qid]))
        recalls.append(recall_at(ranked, qrels[qid]))
    seconds = time.perf_counter() - started
    return {
        "ndcg_at_10": round(float(np.mean(ndcgs)), 4),
        "recall_at_100": round(float(np.mean(recalls)), 4),
        "ms_per_query": round(1000 * seconds / len(queries), 2),
    }


@dataclass(frozen=True)
class Target:
    """Where a lookup's passage is: a span of a document."""

    doc_id: str
    start: int
    end: int

    def covers(self, doc_id: str, start: int, end: int) -> bool:
        return doc_id == self.doc_id and start < self.end and end > self.start


def resolve_targets(library: Library, lookups: list[dict[str, Any]]) -> dict[str, Target]:
    """Each lookup's span, found by its source and verbatim phrase (never by passage id)."""
    targets: dict[str, Target] = {}
    documents = library.documents()
    for item in lookups:
        for doc in documents:
            if doc.source_id != item["source_id"]:
                continue
            at = doc.text.find(item["phrase"])
            if at >= 0:
                targets[item["id"]] = Target(doc.doc_id, at, at + len(item["phrase"]))
                break
        else:
            raise SystemExit(f"lookup {item['id']}: phrase not found in {item['source_id']}")
    return targets


def evaluate_lookups(
    library: Library, lookups: list[dict[str, Any]], brief_options: dict[str, Any]
) -> dict[str, Any]:
    """Share of lookups whose passage a 3-quote brief shows, and at rank 1 of plain search
    (for the paraphrase, and for the passage's own verbatim phrase)."""
    targets = resolve_targets(library, lookups)
    in_brief, first, own_words, missed = 0, 0, 0, []
    for item in lookups:
        target = targets[item["id"]]
        try:
            brief = make_brief(library, item["query"], k=3, **brief_options)
            quotes = brief.quotes
        except NothingRelevant:
            quotes = ()
        if any(target.covers(q.doc_id, q.start, q.end) for q in quotes):
            in_brief += 1
        else:
            missed.append(item["id"])
        hits = library.search(item["query"], k=1)
        if hits and target.covers(hits[0].document.doc_id, hits[0].passage.start,
                                  hits[0].passage.end):  # fmt: skip
            first += 1
        # The article's own words: its phrase as the query must find the passage first.
        hits = library.search(item["phrase"], k=1)
        if hits and target.covers(hits[0].document.doc_id, hits[0].passage.start,
                                  hits[0].passage.end):  # fmt: skip
            own_words += 1
    n = len(lookups)
    return {
        "lookups": n,
        "brief_top3": round(in_brief / n, 4),
        "search_rank1": round(first / n, 4),
        "own_words_rank1": round(own_words / n, 4),
        "missed_in_brief": missed,
    }


# -- data sets -------------------------------------------------------------------------------


def _beir(name: str) -> Callable[[Embedder, Path], tuple[Store, Callable[[Variant], dict]]]:
    def setup(embedder: Embedder, cache: Path) -> tuple[Store, Callable[[Variant], dict]]:
        data = BENCH / f"{name}-dev"
        store, _ = build_store(cache / f"{name}.db", [data / "corpus.jsonl"], embedder)
        qrels = load_qrels(data / "qrels.tsv")
        queries = [
            (str(o["_id"]), o["text"]) for o in _read_jsonl(data / "queries.jsonl")
            if str(o["_id"]) in qrels
        ]  # fmt: skip
        vectors = query_vectors(embedder, name, [t for _, t in queries])

        def run(variant: Variant) -> dict:
            library = Library(store, embedder, config=variant.config())
            return evaluate_beir(library, queries, qrels, vectors)

        return store, run

    return setup


class _RememberingEmbedder:
    """The embedder, with each query's vector computed once (briefs encode their topic)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._known: dict[str, np.ndarray] = {}
        self.name, self.dim = embedder.name, embedder.dim

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        for text in texts:
            if text not in self._known:
                self._known[text] = self._embedder.encode_queries([text])[0]
        return np.vstack([self._known[t] for t in texts])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)


def _lookups(embedder: Embedder, cache: Path) -> tuple[Store, Callable[[Variant], dict]]:
    corpus = [ROOT / "seeds", *(BENCH / "scraped-pages-dev" / p for p in DEV_PAGES)]
    store, _ = build_store(cache / "lookups.db", corpus, embedder)
    lookups = _read_jsonl(LOOKUPS)
    remembering = _RememberingEmbedder(embedder)

    def run(variant: Variant) -> dict:
        library = Library(store, remembering, config=variant.config())  # type: ignore[arg-type]
        return evaluate_lookups(library, lookups, variant.brief)

    return store, run


DATASETS = {"lookups": _lookups, "nfcorpus": _beir("nfcorpus"), "scifact": _beir("scifact")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", default="lookups,nfcorpus,scifact")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    embedder = make_embedder()
    results: dict[str, Any] = {}
    if args.out.exists():
        results = json.loads(args.out.read_text(encoding="utf-8"))
    results["machine"] = machine_facts()
    results["model"] = embedder.name
    results["defaults"] = dataclasses.asdict(DEFAULT_CONFIG)
    for name in args.datasets.split(","):
        store, run = DATASETS[name](embedder, args.cache)
        entry = results.setdefault("datasets", {}).setdefault(name, {"variants": {}})
        documents, passages = store.counts()
        entry.update({"documents": documents, "passages": passages})
        for variant_name in args.variants.split(","):
            variant = VARIANTS[variant_name]
            measured = {"about": variant.about, **run(variant)}
            entry["variants"][variant_name] = measured
            print(name, variant_name, json.dumps(measured), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
