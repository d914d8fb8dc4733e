"""Theme discovery quality, number of themes not given: NMI / ARI against topic labels.

``python -m benchmarks.themes_quality [DATASET ...] [--embed-only]`` writes
``benchmarks/results/themes_<dataset>.json``. Datasets (read from the shared bench folder at run
time, never copied into the repository):

- ``narrow-news-dev``: 1,199 US-politics articles, 7 topics, 110 outlets (title + text);
- ``bbc``: BBC News, 2,225 articles, 5 topics (title + text);
- ``bbc-short``: the same articles as short texts, the headline and the first sentence.

Vectors are cached in ``.scratch/`` (the real MiniLM model on the CPU takes minutes per set).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from benchmarks.perf import machine_facts
from briefings.themes import discover_themes

BENCH = Path("/work/shared/bench")
RESULTS = Path(__file__).parent / "results"
CACHE = Path(__file__).resolve().parent.parent / ".scratch" / "theme-vectors"
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s|$)", re.DOTALL)


def _long(doc: dict) -> str:
    return f"{doc.get('title') or ''}\n{doc.get('text') or ''}".strip()


def _short(doc: dict) -> str:
    body = " ".join((doc.get("text") or "").split())
    match = _FIRST_SENTENCE.match(body)
    return f"{doc.get('title') or ''}. {match.group(1) if match else body[:200]}"


DATASETS: dict[str, tuple[Path, Callable[[dict], str]]] = {
    "narrow-news-dev": (BENCH / "narrow-news-dev" / "docs.jsonl", _long),
    "bbc": (BENCH / "bbc-news" / "docs.jsonl", _long),
    "bbc-short": (BENCH / "bbc-news" / "docs.jsonl", _short),
}


def load(name: str) -> tuple[list[str], list[str], list[str]]:
    """Texts, topic labels and sources (outlet, where the set has one) of a dataset."""
    path, text_of = DATASETS[name]
    texts, labels, sources = [], [], []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            texts.append(text_of(doc))
            labels.append(str(doc["label"]))
            sources.append(str(doc.get("source") or doc.get("_id")))
    return texts, labels, sources


def vectors_of(name: str, texts: list[str]) -> tuple[np.ndarray, float]:
    """MiniLM vectors (cached) and the seconds spent encoding them (0 from the cache)."""
    cache = CACHE / f"{name}.npy"
    if cache.exists():
        vectors = np.load(cache)
        if len(vectors) == len(texts):
            return vectors, 0.0
    from index.embedding import SentenceTransformerEmbedder

    start = time.perf_counter()
    vectors = SentenceTransformerEmbedder(device="cpu").encode_passages(texts, batch_size=32)
    seconds = time.perf_counter() - start
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors, seconds


def run(name: str, seed: int = 0) -> dict[str, object]:
    texts, labels, sources = load(name)
    vectors, seconds_embed = vectors_of(name, texts)
    start = time.perf_counter()
    model = discover_themes(texts, vectors, groups=sources, seed=seed)
    seconds = time.perf_counter() - start
    result: dict[str, object] = {
        "dataset": name,
        "n_docs": len(texts),
        "n_topics": len(set(labels)),
        "k_given": False,
        "nmi": round(float(normalized_mutual_info_score(labels, model.assignment)), 4),
        "ari": round(float(adjusted_rand_score(labels, model.assignment)), 4),
        "n_themes_found": len(model.themes),
        "n_outliers": len(model.outliers),
        "seconds_cluster": round(seconds, 2),
        "seconds_embed": round(seconds_embed, 2),
        "labels": [theme.label for theme in model.themes],
        "machine": machine_facts(),
    }
    out = RESULTS / f"themes_{name.replace('-dev', '').replace('-', '_')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--embed-only", action="store_true", help="only fill the vector cache")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    for name in args.datasets:
        if args.embed_only:
            texts, _, _ = load(name)
            _, seconds = vectors_of(name, texts)
            print(f"{name}: {len(texts)} vectors ({seconds:.0f} s)")
        else:
            print(json.dumps(run(name, args.seed), ensure_ascii=False))


if __name__ == "__main__":
    main()
