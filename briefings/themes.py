"""Theme discovery for digests: cluster items into the themes running across the sources.

Pure functions over texts and their (L2-normalised) embedding vectors. The number of themes is
chosen automatically:

1. Two views of every item are joined: the sentence embedding and a lexical view (TF-IDF reduced
   by LSA). Both are unit vectors scaled by ``sqrt(weight)``, so a dot product in the joined space
   is the weighted mean of the two cosine similarities.
2. Spherical k-means is run for every k in a range; the k whose clustering is best reproduced
   (adjusted Rand index) by perturbed runs wins: k-means on each view alone and on random 80%
   subsamples. Splitting a real theme, or merging two, is arbitrary and changes from run to run.
3. Items are re-assigned to their most similar unit centroid (spherical k-means), clusters whose
   centroids are near-duplicates are merged, and themes are ranked by how many distinct sources
   (``groups``) they span, then by size.
4. Every theme is labelled with distinctive key phrases by class-based TF-IDF.

Everything is seeded and every ordering has an explicit tie-break, so the same input always gives
the same model.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from index.stopwords import TOPIC_STOP_WORDS

log = logging.getLogger(__name__)

#: Weight of the sentence-embedding view in the joined space (the lexical view gets the rest).
EMBEDDING_WEIGHT = 0.5
#: Dimensions of the LSA (lexical) view.
LSA_DIM = 100
#: Upper bound of the automatic k range when the caller gives no ``max_themes``.
DEFAULT_MAX_THEMES = 12
#: Clusters whose unit centroids are at least this similar are one theme.
MERGE_SIMILARITY = 0.9
#: Above this many items, k is chosen on a seeded sample, then refined on all items.
LARGE_N = 6000
#: Clusters smaller than this share of the items (and singletons) are not themes.
MIN_SHARE = 0.01
#: Seeded restarts of spherical k-means per k; the run with the highest total similarity wins.
N_INIT = 4
#: Restarts of each perturbed run (enough that bad local optima rarely pass for instability).
PERTURBED_N_INIT = 2
#: Agreement of a k: ARI between the joined clustering and each single view's, and clusterings
#: of this many subsamples...
STABILITY_ROUNDS = 2
#: ...each holding this share of the items.
STABILITY_SHARE = 0.8
#: How many phrases a theme keeps, and how many of them make its label.
MAX_KEY_PHRASES = 6
LABEL_PHRASES = 3

# Words that carry no topic in news-like prose but are missing from the English stop list.
_BOILERPLATE = frozenset(
    {
        "said",
        "says",
        "say",
        "saying",
        "told",
        "tell",
        "according",
        "added",
        "just",
        "like",
        "mr",
        "mrs",
        "ms",
        "dr",
        "did",
        "does",
        "don",
        "got",
        "going",
        "make",
        "made",
        "want",
        "way",
        "think",
        "know",
        "new",
        "year",
        "years",
        "time",
        "week",
        "day",
        "today",
        "yesterday",
        "people",
        "use",
        "used",
        "lot",
        "good",
        "really",
        "http",
        "https",
        "www",
        "com",
    }
)
STOP_WORDS: frozenset[str] = TOPIC_STOP_WORDS | _BOILERPLATE
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")


@dataclass(frozen=True)
class Theme:
    """One theme: its rank, label and members (indices into the input items)."""

    theme_id: int  # 0..n-1, ordered by rank
    label: str  # 2-4 distinctive key phrases joined by " · "
    key_phrases: tuple[str, ...]
    members: tuple[int, ...]  # most central first


@dataclass(frozen=True)
class ThemeModel:
    """Themes of a set of items; every item is assigned to exactly one theme."""

    themes: tuple[Theme, ...]
    assignment: tuple[int, ...]  # theme_id per input item
    outliers: tuple[int, ...]  # far from every theme (still assigned to their nearest one)


# --------------------------------------------------------------------------------------- phrases


def phrase_tokens(text: str) -> list[str]:
    """Unigrams and adjacent-word bigrams of ``text`` with no stop word or boilerplate in them.

    Bigrams are only formed from words that are next to each other in the text, so removing a stop
    word never glues together words that were apart ("secretary of state" gives no
    "secretary state").
    """
    words = _WORD.findall(text.lower())
    keep = [len(w) > 2 and w not in STOP_WORDS and "'" not in w for w in words]
    out = [w for w, k in zip(words, keep, strict=True) if k]
    out.extend(
        f"{words[i]} {words[i + 1]}" for i in range(len(words) - 1) if keep[i] and keep[i + 1]
    )
    return out


def label_phrases(
    texts_by_theme: Sequence[Sequence[str]], *, max_phrases: int = MAX_KEY_PHRASES
) -> list[tuple[str, ...]]:
    """Distinctive key phrases of each group of texts, by class-based TF-IDF.

    A phrase scores ``df_c * log(1 + A / df)`` where ``df_c`` is how many texts of the theme
    contain it, ``df`` how many texts of all themes do, and ``A`` the mean number of texts per
    theme, so phrases that cover a theme but few others rank first. Phrases found in at most one
    text of a theme are skipped when the theme has several texts; a phrase sharing a word with a
    better one is skipped so the phrases say different things.
    """
    doc_sets = [[set(phrase_tokens(t)) for t in texts] for texts in texts_by_theme]
    df_by_theme = [Counter(p for doc in docs for p in doc) for docs in doc_sets]
    df_all: Counter[str] = Counter()
    for df in df_by_theme:
        df_all.update(df)
    n_docs = sum(len(docs) for docs in doc_sets)
    mean_docs = n_docs / max(1, len(doc_sets))
    result: list[tuple[str, ...]] = []
    for docs, df in zip(doc_sets, df_by_theme, strict=True):
        min_df = 2 if len(docs) >= 3 else 1
        scored = sorted(
            (
                (-(count * math.log(1.0 + mean_docs / df_all[p])), -len(p.split()), p)
                for p, count in df.items()
                if count >= min_df
            ),
        )
        chosen: list[str] = []
        used_words: set[str] = set()
        for _, _, phrase in scored:
            words = {_stem(w) for w in phrase.split()}
            if words & used_words:
                continue
            chosen.append(phrase)
            used_words |= words
            if len(chosen) == max_phrases:
                break
        result.append(tuple(chosen))
    return result


def _stem(word: str) -> str:
    """A crude stem, only to tell "profit" and "profits" apart from different words."""
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _label(phrases: Sequence[str], theme_id: int) -> str:
    if not phrases:
        return f"theme {theme_id + 1}"
    return " · ".join(phrases[:LABEL_PHRASES])


# ------------------------------------------------------------------------------------- clustering


def _lexical_view(texts: Sequence[str], n_items: int, seed: int) -> np.ndarray | None:
    """TF-IDF → LSA → unit rows; None when the texts have too few shared words to help."""
    if n_items < 3:
        return None
    min_df = 2 if n_items >= 10 else 1
    vectorizer = TfidfVectorizer(
        analyzer=phrase_tokens, sublinear_tf=True, min_df=min_df, max_df=0.5, dtype=np.float32
    )
    try:
        tfidf = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: nothing lexical to add
        return None
    dim = min(LSA_DIM, n_items - 1, tfidf.shape[1] - 1)
    if dim < 2:
        return None
    lsa = TruncatedSVD(n_components=dim, random_state=seed, algorithm="randomized")
    reduced = lsa.fit_transform(tfidf).astype(np.float32)
    return _unit_rows(reduced)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def item_views(
    texts: Sequence[str], vectors: np.ndarray, *, seed: int = 0
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The space themes are found in, and the single views it joins (unit rows throughout).

    The joined space puts the embedding and LSA views side by side; without a usable lexical
    view it is the embedding view alone.
    """
    emb = _unit_rows(np.asarray(vectors, dtype=np.float32))
    lexical = _lexical_view(texts, len(texts), seed)
    if lexical is None:
        return emb, [emb]
    joined = np.hstack(
        [math.sqrt(EMBEDDING_WEIGHT) * emb, math.sqrt(1.0 - EMBEDDING_WEIGHT) * lexical]
    )
    return _unit_rows(joined), [emb, lexical]


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding under cosine distance.

    Each next centroid is the best of a few rows drawn with probability proportional to their
    squared distance from the centroids so far: fewer bad starts than plain k-means++.
    """
    tries = 2 + int(math.log(k))
    chosen = [int(rng.integers(len(x)))]
    dist = np.maximum(0.0, 1.0 - x @ x[chosen[0]])
    for _ in range(1, k):
        weights = dist**2
        total = float(weights.sum())
        if total <= 0:
            candidates = np.array([int(np.argmax(dist))])
        else:
            candidates = rng.choice(len(x), size=tries, p=weights / total)
        candidate_dist = np.minimum(dist, np.maximum(0.0, 1.0 - x[candidates] @ x.T))
        best = int(np.argmin((candidate_dist**2).sum(axis=1)))
        chosen.append(int(candidates[best]))
        dist = candidate_dist[best]
    return x[chosen].copy()


def _lloyd(x: np.ndarray, centroids: np.ndarray, max_iter: int = 50) -> tuple[np.ndarray, float]:
    """Spherical k-means iterations from ``centroids``: unit centroids and total similarity."""
    k = len(centroids)
    labels = np.full(len(x), -1)
    for _ in range(max_iter):
        new_labels, sims = _assign(x, centroids)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        onehot = np.zeros((len(x), k), dtype=x.dtype)
        onehot[np.arange(len(x)), labels] = 1.0
        centroids = onehot.T @ x
        for empty in np.flatnonzero(counts == 0):
            # an empty cluster restarts at the row its cluster explains worst
            worst = int(np.argmin(sims))
            centroids[empty] = x[worst]
            sims[worst] = np.inf
        centroids = _unit_rows(centroids)
    _, sims = _assign(x, centroids)
    return centroids, float(sims.sum())


def _spherical_kmeans(x: np.ndarray, k: int, seed: int, n_init: int = N_INIT) -> np.ndarray:
    """Unit centroids of the best of ``n_init`` seeded spherical k-means runs."""
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(n_init):
        centroids, score = _lloyd(x, _kmeans_pp(x, k, rng))
        if best is None or score > best[0] + 1e-6:
            best = (score, centroids)
    assert best is not None
    return best[1]


def _assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest unit centroid of each row (lowest index on ties) and its cosine similarity."""
    sims = x @ centroids.T
    labels = np.argmax(sims, axis=1)
    return labels, sims[np.arange(len(x)), labels]


def _agreement(
    x: np.ndarray, views: list[np.ndarray], reference: np.ndarray, k: int, seed: int
) -> list[float]:
    """How well perturbed k-means runs reproduce ``reference``: mean adjusted Rand index.

    The perturbations are each single view on its own (when there are two) and random
    subsamples of the joined space, every clustering scored on all rows. A k that matches real
    themes is found again by both views and from most subsamples; a k that splits a real theme
    or merges two does so differently in each run. Two views also keep k=2 from winning by
    default: a coarse split that one view sees need not be the split the other view sees.
    """
    scores = []
    if len(views) > 1:
        for view in views:
            labels, _ = _assign(view, _spherical_kmeans(view, k, seed, n_init=PERTURBED_N_INIT))
            scores.append(adjusted_rand_score(reference, labels))
    rng = np.random.default_rng([seed, k])
    size = max(k, round(STABILITY_SHARE * len(x)))
    for r in range(STABILITY_ROUNDS):
        sample = np.sort(rng.choice(len(x), size=size, replace=False))
        centroids = _spherical_kmeans(x[sample], k, seed + 1 + r, n_init=PERTURBED_N_INIT)
        labels, _ = _assign(x, centroids)
        scores.append(adjusted_rand_score(reference, labels))
    return [float(score) for score in scores]


def _choose_k(
    x: np.ndarray, views: list[np.ndarray], k_range: range, seed: int
) -> tuple[int, np.ndarray]:
    """The fewest themes whose agreement is within one standard error of the best k's.

    The one-standard-error rule (on paired differences, see :func:`_within_noise`) keeps a k
    that is only noisily better from adding themes.
    Above ``LARGE_N`` rows, k is chosen on a seeded sample and the winner refined on all rows.
    """
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(x), size=min(len(x), LARGE_N), replace=False))
    xs = x[sample]
    views = [view[sample] for view in views]
    candidates: list[tuple[int, np.ndarray, list[float]]] = []
    for k in k_range:
        centroids = _spherical_kmeans(xs, k, seed)
        labels, _ = _assign(xs, centroids)
        if not 2 <= len(np.unique(labels)) < len(xs):
            continue
        scores = _agreement(xs, views, labels, k, seed)
        log.debug("k=%d agreement=%.4f %s", k, np.mean(scores), np.round(scores, 3))
        candidates.append((k, centroids, scores))
    if not candidates:
        return 1, _unit_rows(xs.mean(axis=0, keepdims=True))
    means = [float(np.mean(scores)) for _, _, scores in candidates]
    best_scores = np.asarray(candidates[int(np.argmax(means))][2])
    k, centroids, _ = next(c for c in candidates if _within_noise(np.asarray(c[2]), best_scores))
    if len(x) > len(xs):
        centroids, _ = _lloyd(x, centroids)
    return k, centroids


def _within_noise(scores: np.ndarray, best: np.ndarray) -> bool:
    """Whether ``scores`` fall short of ``best`` by no more than one standard error.

    The error is that of the paired differences (the same perturbation under two values of k):
    the perturbations differ in level — one view alone often agrees less than a subsample of
    both — and that spread, the same for every k, is no evidence that two values of k differ.
    """
    if len(scores) != len(best) or len(best) < 2:
        return bool(np.mean(scores) >= np.mean(best) - 1e-9)
    diffs = scores - best
    std_error = float(np.std(diffs, ddof=1) / math.sqrt(len(diffs)))
    return float(np.mean(diffs)) >= -std_error - 1e-9


def _merge_near_duplicates(x: np.ndarray, labels: np.ndarray, min_clusters: int) -> np.ndarray:
    """Merge the most similar pair of clusters while their centroids are near-duplicates."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        if len(ids) <= min_clusters:
            return labels
        centroids = _unit_rows(np.vstack([x[labels == i].mean(axis=0) for i in ids]))
        sims = centroids @ centroids.T
        np.fill_diagonal(sims, -np.inf)
        a, b = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[a, b] < MERGE_SIMILARITY:
            return labels
        labels[labels == ids[max(a, b)]] = ids[min(a, b)]


def _distinct_rows(x: np.ndarray) -> int:
    return len(np.unique(np.round(x, 5), axis=0))


def discover_themes(
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    min_themes: int = 2,
    max_themes: int | None = None,
    seed: int = 0,
) -> ThemeModel:
    """Cluster items into themes, choosing the number of themes automatically.

    ``vectors`` are the items' L2-normalised embeddings (one row per text); ``groups`` the source
    of each item. Themes are ranked by how many distinct groups they span, then by size.
    ``min_themes`` and ``max_themes`` bound the search; the result can still have fewer than
    ``min_themes`` themes when the items cannot fill them: fewer than four items, too few distinct
    items, or clusters too small to be themes (their members are reported as outliers).
    """
    n = len(texts)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != n:
        raise ValueError(f"need one vector per text: {n} texts, vectors of shape {vectors.shape}")
    if groups is not None and len(groups) != n:
        raise ValueError(f"need one group per text: {n} texts, {len(groups)} groups")
    if min_themes < 1 or (max_themes is not None and max_themes < 1):
        raise ValueError(f"bad theme range: min {min_themes}, max {max_themes}")
    if n == 0:
        return ThemeModel(themes=(), assignment=(), outliers=())

    x, views = item_views(texts, vectors, seed=seed)
    upper = max_themes if max_themes is not None else DEFAULT_MAX_THEMES
    # Every theme needs two items on average, and k-means cannot separate identical rows.
    upper = min(upper, n // 2, _distinct_rows(x))
    lower = max(2, min(min_themes, upper))
    dissolved = None
    if n < 4 or upper < lower:
        labels = np.zeros(n, dtype=np.int64)
    else:
        # One BLAS thread: the products here are small (a few thousand rows), and threads that
        # wait on each other made k-means 5-7x slower on a loaded 2-core host (measured).
        with threadpool_limits(limits=1, user_api="blas"):
            k, centroids = _choose_k(x, views, range(lower, upper + 1), seed)
        labels, _ = _assign(x, centroids)
        labels = _merge_near_duplicates(x, labels, min_clusters=max(1, min_themes))
        labels, dissolved = _dissolve_small(x, labels, min_size=max(2, math.ceil(MIN_SHARE * n)))
        log.info("themes: n=%d, best k=%d, kept %d", n, k, len(np.unique(labels)))
    return _build_model(texts, x, labels, groups, dissolved)


def _dissolve_small(
    x: np.ndarray, labels: np.ndarray, min_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Give the members of clusters under ``min_size`` to their nearest bigger cluster.

    Returns the new labels and the re-homed items: they are outliers, not a theme of their own.
    """
    ids, counts = np.unique(labels, return_counts=True)
    keep = ids[counts >= min_size]
    if len(keep) == 0:
        keep = ids[[int(np.argmax(counts))]]
    if len(keep) == len(ids):
        return labels, np.zeros(0, dtype=np.int64)
    centroids = _unit_rows(np.vstack([x[labels == i].mean(axis=0) for i in keep]))
    moved = np.flatnonzero(~np.isin(labels, keep))
    labels = labels.copy()
    labels[moved] = keep[np.argmax(x[moved] @ centroids.T, axis=1)]
    return labels, moved


def _build_model(
    texts: Sequence[str],
    x: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[str] | None,
    dissolved: np.ndarray | None = None,
) -> ThemeModel:
    cluster_ids = [int(c) for c in np.unique(labels)]
    members_of = {c: np.flatnonzero(labels == c) for c in cluster_ids}
    centroids = {c: _unit_rows(x[m].mean(axis=0, keepdims=True))[0] for c, m in members_of.items()}
    sim_to_own = np.empty(len(x), dtype=np.float32)
    for c, m in members_of.items():
        sim_to_own[m] = x[m] @ centroids[c]

    def rank_key(c: int) -> tuple[int, int, int]:
        m = members_of[c]
        span = len({groups[int(i)] for i in m}) if groups is not None else 0
        return (-span, -len(m), int(m[0]))

    ranked = sorted(cluster_ids, key=rank_key)
    ordered_members = [
        # most central first; index breaks ties so the order is stable
        tuple(int(i) for i in sorted(members_of[c], key=lambda i: (-float(sim_to_own[i]), int(i))))
        for c in ranked
    ]
    phrases = label_phrases([[texts[i] for i in m] for m in ordered_members])
    themes = tuple(
        Theme(theme_id=tid, label=_label(p, tid), key_phrases=p, members=m)
        for tid, (m, p) in enumerate(zip(ordered_members, phrases, strict=True))
    )
    assignment = [0] * len(x)
    for theme in themes:
        for i in theme.members:
            assignment[i] = theme.theme_id
    outliers = set(_far_from_centre(sim_to_own))
    if dissolved is not None:
        outliers.update(int(i) for i in dissolved)
    return ThemeModel(themes=themes, assignment=tuple(assignment), outliers=tuple(sorted(outliers)))


def _far_from_centre(sim_to_own: np.ndarray) -> list[int]:
    """Items below the lower Tukey fence of similarity to their own theme's centroid."""
    if len(sim_to_own) < 4:
        return []
    q1, q3 = np.percentile(sim_to_own, [25, 75])
    fence = q1 - 1.5 * (q3 - q1)
    return [int(i) for i in np.flatnonzero(sim_to_own < fence)]


def representatives(
    model: ThemeModel,
    theme_id: int,
    vectors: np.ndarray,
    groups: Sequence[str] | None = None,
    k: int = 3,
) -> list[int]:
    """Up to ``k`` central members of a theme, taking each from a different group while it can.

    Members are ranked by cosine similarity to the theme's mean embedding; the best member of
    each not-yet-used group is taken first, then the remaining most central members.
    """
    theme = model.themes[theme_id]
    members = np.asarray(theme.members, dtype=np.int64)
    if k <= 0 or len(members) == 0:
        return []
    emb = _unit_rows(np.asarray(vectors, dtype=np.float32)[members])
    centre = _unit_rows(emb.mean(axis=0, keepdims=True))[0]
    sims = emb @ centre
    by_centrality = [int(members[j]) for j in sorted(range(len(members)), key=lambda j: -sims[j])]
    if groups is None:
        return by_centrality[:k]
    chosen: list[int] = []
    seen: set[str] = set()
    for i in by_centrality:
        if groups[i] not in seen:
            chosen.append(i)
            seen.add(groups[i])
            if len(chosen) == k:
                return chosen
    chosen.extend(i for i in by_centrality if i not in chosen)
    return chosen[:k]
