"""Retrieval quality on BEIR SciFact (dev half): BM25-only, dense-only and hybrid, side by side.

Runs the product's own path: `Indexer` over the corpus JSONL, then `Library.search(...,
per_document=True)` — exactly what `briefbot search --queries` prints. Writes JSON.

    python -m benchmarks.scifact [--data DIR] [--db FILE] [--out FILE]

The data set is evaluation-only and never copied into the project: point --data at it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from index.embedding import make_embedder
from index.library import Library
from index.pipeline import Indexer
from index.ranking import DEFAULT_CONFIG
from index.store import Store

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "scifact-dev"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "scifact.json"


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(
        (1.0 if relevant.get(doc, 0) > 0 else 0.0) / math.log2(i + 2)
        for i, doc in enumerate(ranked[:k])
    )
    ideal = sum(
        1.0 / math.log2(i + 2) for i in range(min(k, sum(1 for v in relevant.values() if v > 0)))
    )
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    rel = {d for d, v in relevant.items() if v > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, score = line.split("\t")
        qrels[qid][doc] = int(score)
    return qrels


def evaluate(library: Library, queries: list[tuple[str, str]], qrels, vectors) -> dict:
    ndcgs, recalls = [], []
    started = time.perf_counter()
    for (qid, text), vector in zip(queries, vectors, strict=True):
        hits = library.search(text, k=100, per_document=True, query_vector=vector)
        ranked = [h.document.doc_id for h in hits]
        ndcgs.append(ndcg_at(ranked, qrels[qid]))
        recalls.append(recall_at(ranked, qrels[qid]))
    seconds = time.perf_counter() - started
    return {
        "ndcg_at_10": round(sum(ndcgs) / len(ndcgs), 4),
        "recall_at_100": round(sum(recalls) / len(recalls), 4),
        "ms_per_query": round(1000 * seconds / len(queries), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--db", type=Path, default=Path(".scratch/scifact-bench.db"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    embedder = make_embedder()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    store = Store(args.db)
    started = time.perf_counter()
    report = Indexer(store, embedder).run([args.data / "corpus.jsonl"])
    index_seconds = time.perf_counter() - started

    queries = []
    for line in (args.data / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        queries.append((str(obj["_id"]), obj["text"]))
    qrels = load_qrels(args.data / "qrels.tsv")
    queries = [q for q in queries if q[0] in qrels]
    vectors = embedder.encode_queries([t for _, t in queries])

    arms = {
        "bm25_only": replace(DEFAULT_CONFIG, dense_weight=0.0),
        "dense_only": replace(DEFAULT_CONFIG, lexical_weight=0.0),
        "hybrid": DEFAULT_CONFIG,
    }
    results: dict[str, object] = {
        "dataset": "scifact-dev (BEIR SciFact test corpus, 150 dev queries)",
        "model": embedder.name,
        "queries": len(queries),
        "documents": store.counts()[0],
        "passages": store.counts()[1],
        "index_seconds": round(index_seconds, 1),
        "passages_encoded": report.passages_encoded,
        "config": dataclasses.asdict(DEFAULT_CONFIG),
    }
    for name, config in arms.items():
        library = Library(store, embedder, config=config)
        results[name] = evaluate(library, queries, qrels, vectors)
        print(name, results[name], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
