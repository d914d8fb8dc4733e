"""The relatedness check: short standalone lines far off the article's topic are dropped."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import numpy as np

from index.cleaning.lines import Para

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]

# Stray-line filter: candidates are single sentences shorter than this.
STRAY_MAX_WORDS = 30
STRAY_REFERENCE_PARAGRAPHS = 8  # long paragraphs that stand for the article's topic
# A standalone line is off-topic when its cosine to the article centroid falls below both a
# fraction of the median cosine of the article's long paragraphs and that median minus some MADs
# (relative, so it adapts to the model and to how tight the article is).
STRAY_RELATIVE_FLOOR = 0.5
STRAY_MAD_FACTOR = 4.0


def is_stray_candidate(para: Para) -> bool:
    text = para.text
    if para.words >= STRAY_MAX_WORDS or para.heading or not text.endswith((".", "!")):
        return False
    inner = text[:-1]
    return re.search(r"[.!?][\"”’)]?\s+[A-Z]", inner) is None


def drop_stray_lines(paras: list[Para], embed: Embed) -> list[Para]:
    """Drop short standalone sentences far off the topic of the article's long paragraphs."""
    long_idx = [i for i, p in enumerate(paras) if p.words >= STRAY_MAX_WORDS]
    cand_idx = [i for i, p in enumerate(paras) if is_stray_candidate(p)]
    if len(long_idx) < 3 or not cand_idx:
        return paras
    if len(long_idx) > STRAY_REFERENCE_PARAGRAPHS:
        # An evenly spread sample fixes the article's topic as well as all of it, for less encoding.
        picks = np.linspace(0, len(long_idx) - 1, STRAY_REFERENCE_PARAGRAPHS).round().astype(int)
        long_idx = [long_idx[i] for i in sorted(set(picks.tolist()))]
    vectors = np.asarray(embed([paras[i].text for i in long_idx + cand_idx]), dtype=np.float32)
    long_vecs, cand_vecs = vectors[: len(long_idx)], vectors[len(long_idx) :]
    total = long_vecs.sum(axis=0)
    centroid = total / (np.linalg.norm(total) or 1.0)
    # each long paragraph against the centroid of the others: how on-topic prose scores here
    reference = []
    for row in long_vecs:
        others = total - row
        reference.append(float(row @ others) / float(np.linalg.norm(others) or 1.0))
    median = float(np.median(reference))
    mad = float(np.median(np.abs(np.asarray(reference) - median))) or 1e-3
    threshold = min(median * STRAY_RELATIVE_FLOOR, median - STRAY_MAD_FACTOR * mad)
    drop = set()
    for index, vec in zip(cand_idx, cand_vecs, strict=True):
        score = float(vec @ centroid)
        if score < threshold:
            log.debug(
                "dropping stray line (cos %.3f < %.3f): %.60s", score, threshold, paras[index].text
            )
            drop.add(index)
    return [p for i, p in enumerate(paras) if i not in drop]
