"""When do two passages "say the same"? The `/sources` rule, measured on labelled pairs.

``benchmarks/data/same_pairs_dev.jsonl`` holds pairs from dev data, each side named by its
data set, document and a verbatim opening phrase, labelled ``same`` when one repeats or
paraphrases the other's claim: 11 claims that several outlets of ``narrow-news-dev`` report in
their own words, and 41 pairs of seed passages that MiniLM puts close (cosine 0.55-0.80 as
stored) but that say different things on the same subject, among them the issue's example.
For each pair the two features of `briefings.sources.claim_similarity` are computed, and every
threshold pair on a grid is scored; the result goes into ``benchmarks/results/retrieval.json``.

    python -m benchmarks.says_same
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.retrieval import BENCH, DEFAULT_CACHE, DEFAULT_OUT
from briefings.sources import SAME_CLAIM_COSINE, SAME_CLAIM_OVERLAP, claim_similarity
from index.embedding import make_embedder
from index.store import Store

PAIRS = Path(__file__).resolve().parent / "data" / "same_pairs_dev.jsonl"
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")


def _texts() -> dict[tuple[str, str], str]:
    """Documents' texts by (data set, id): the seeds as indexed (cleaned), news as given."""
    texts: dict[tuple[str, str], str] = {}
    for doc in Store(DEFAULT_CACHE / "lookups.db").documents():  # benchmarks.retrieval builds it
        key = ("seeds", doc.source_id)
        texts[key] = texts.get(key, "") + "\n" + doc.text
    for line in (BENCH / "narrow-news-dev" / "docs.jsonl").read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        texts[("narrow-news-dev", obj["_id"])] = obj["text"]
    return texts


def _span(text: str, phrase: str, sentences: int) -> str:
    """The ``sentences`` sentences that start at ``phrase`` (a passage is 1-3 sentences)."""
    start = text.index(phrase)
    end = start
    for _ in range(sentences):
        match = _SENTENCE_END.search(text, end + 1)
        if match is None:
            return text[start:].strip()
        end = match.end()
    return text[start:end].strip()


def main() -> int:
    embedder = make_embedder()
    texts = _texts()
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    features, labels = [], []
    for pair in pairs:
        # Seed sides stand for passages (up to three sentences); news sides for one sentence.
        a, b = (
            _span(texts[(s["set"], s["doc"])], s["phrase"], 2 if s["set"] == "seeds" else 1)
            for s in (pair["a"], pair["b"])
        )
        va, vb = embedder.encode_queries([a, b])
        features.append(claim_similarity(a, b, va, vb))
        labels.append(bool(pair["same"]))
    cos = np.array([f[0] for f in features])
    overlap = np.array([f[1] for f in features])
    truth = np.array(labels)
    grid: list[dict[str, Any]] = []
    for t in np.arange(0.5, 0.96, 0.05):
        for o in np.arange(0.0, 0.61, 0.1):
            said = (cos >= t) & (overlap >= o)
            tp = int((said & truth).sum())
            precision = tp / said.sum() if said.sum() else 1.0
            recall = tp / truth.sum()
            grid.append({"cosine": round(float(t), 2), "overlap": round(float(o), 2),
                         "precision": round(float(precision), 3),
                         "recall": round(float(recall), 3)})  # fmt: skip
    chosen = (cos >= SAME_CLAIM_COSINE) & (overlap >= SAME_CLAIM_OVERLAP)
    report = {
        "pairs": len(pairs),
        "same": int(truth.sum()),
        "rule": {"cosine": SAME_CLAIM_COSINE, "overlap": SAME_CLAIM_OVERLAP},
        "rule_precision": round(float((chosen & truth).sum() / max(chosen.sum(), 1)), 3),
        "rule_recall": round(float((chosen & truth).sum() / truth.sum()), 3),
        "old_rule_cosine_0.55_said_same_of_different_pairs": int(((cos >= 0.55) & ~truth).sum()),
        "cosine_same": sorted(round(float(c), 3) for c in cos[truth]),
        "cosine_different": sorted(round(float(c), 3) for c in cos[~truth]),
        "overlap_same": sorted(round(float(c), 3) for c in overlap[truth]),
        "overlap_different": sorted(round(float(c), 3) for c in overlap[~truth]),
        "grid": grid,
    }
    results = json.loads(DEFAULT_OUT.read_text(encoding="utf-8")) if DEFAULT_OUT.exists() else {}
    results["says_same"] = report
    DEFAULT_OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "grid"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
