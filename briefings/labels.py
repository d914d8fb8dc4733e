"""Theme labels a reader would write: short noun phrases from the theme's own passages.

Candidates are runs of two to four content words inside a sentence (an inner "of" is kept:
"balance of power"), never ending in an adverb or a past form, shown in their most common
spelling ("Taiwan question", "joint air patrols"). Each theme's candidates are ranked by
class-based TF-IDF (how many of the theme's texts hold the phrase, against how many texts of all
themes do) and, when an embedder is given, by the phrase's similarity to the theme's centroid;
the label's phrases are then picked by maximal marginal relevance (as in KeyBERT and BERTopic's
representation models), distinct across themes (a higher-ranked theme keeps a phrase), and never
made only of the corpus's own subject words (in a corpus about China and Russia, "china russia"
names no theme).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from briefings.quotes import FINITE_VERBS
from index.stopwords import TOPIC_STOP_WORDS

#: Phrases a theme keeps, and how many of them make its label.
MAX_KEY_PHRASES = 5
LABEL_PHRASES = 2
#: Candidates per theme that are embedded and go through MMR.
SHORTLIST = 24
#: MMR trade-off: relevance to the theme against similarity to phrases already picked.
MMR_LAMBDA = 0.7
#: A word in at least this share of all texts (and common in most themes) is a subject word.
SUBJECT_SHARE = 0.2
SUBJECT_THEME_SHARE = 0.6

_EXTRA_STOP = frozenset(
    """said says say saying told tell according added just like mr mrs ms dr did does don got
    going make made want way think know year years time times week weeks day days today
    yesterday people use used lot good really http https www com also many much more most
    would could should may might must will can one two three four five first second last next
    new old told asked including however according per cent percent something anything thing
    things part whether way ways another every even still back well yet since around among
    across within without already often never always says sort kind lot lots let lets get gets
    come comes came take takes took see seen look looks looked put puts set sets""".split()
)
STOP = TOPIC_STOP_WORDS | _EXTRA_STOP
_ADVERB_NOUNS = frozenset("italy july family assembly rally supply ally reply daily".split())
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]|[.,;:!?()\"“”]")
_BREAK = frozenset('.,;:!?()"“”')


def _content(word: str) -> bool:
    low = word.lower()
    return len(low) > 2 and low not in STOP and "'" not in low and "’" not in low


def _bad_end(word: str) -> bool:
    low = word.lower()
    adverb = low.endswith("ly") and low not in _ADVERB_NOUNS
    verb = low in FINITE_VERBS or (low.endswith("ed") and len(low) > 4)
    return adverb or verb or low.endswith("ing")


def candidate_phrases(text: str) -> list[tuple[str, str]]:
    """(key, surface) of the text's 2-4 word noun-phrase candidates; key is lower case."""
    out: list[tuple[str, str]] = []
    run: list[str] = []

    def flush() -> None:
        for size in (2, 3, 4):
            for i in range(len(run) - size + 1):
                words = run[i : i + size]
                if words[0].lower() == "of" or words[-1].lower() == "of":
                    continue
                if sum(w.lower() == "of" for w in words) > 1 or _bad_end(words[-1]):
                    continue
                if any(w.lower() in FINITE_VERBS for w in words):
                    continue  # "transfer window drew": a clause, not a noun phrase
                first = words[0].lower()
                if first.endswith("ly") and first not in _ADVERB_NOUNS:
                    continue
                if first.endswith("ed") and len(first) > 4 and not words[0][0].isupper():
                    continue  # "staged joint air patrols": a verb, not a noun phrase
                surface = " ".join(words)
                out.append((surface.lower(), surface))
        run.clear()

    for token in _TOKEN.findall(text):
        if token in _BREAK:
            flush()
        elif _content(token) or (token.lower() == "of" and run):
            run.append(token)
        else:
            flush()
    flush()
    return out


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(key: str) -> set[str]:
    return {_stem(w) for w in key.split() if w != "of"}


def subject_words(texts_by_theme: Sequence[Sequence[str]]) -> frozenset[str]:
    """Words the whole corpus is about: common in all texts and in most themes alike."""
    every = [t for texts in texts_by_theme for t in texts]
    if not every:
        return frozenset()
    word_sets = [{_stem(w.lower()) for w in _TOKEN.findall(t) if _content(w)} for t in every]
    df = Counter(w for words in word_sets for w in words)
    common = {w for w, n in df.items() if n >= SUBJECT_SHARE * len(every)}
    if len(texts_by_theme) < 2:
        return frozenset(common)
    spread: Counter[str] = Counter()
    start = 0
    for texts in texts_by_theme:
        sets = word_sets[start : start + len(texts)]
        start += len(texts)
        here = Counter(w for words in sets for w in words if w in common)
        spread.update(w for w, n in here.items() if n >= 0.1 * max(1, len(sets)))
    return frozenset(w for w in common if spread[w] >= SUBJECT_THEME_SHARE * len(texts_by_theme))


_VERB_MARKERS = frozenset("to will would can could should may might must shall cannot".split())
_NOUN_MARKERS = frozenset(
    "the a an this that these those its their his her our my your no each every".split()
)


def verb_like_words(texts: Sequence[str]) -> frozenset[str]:
    """Lower-case words the corpus uses as bare verbs ("to respond", "will respond").

    A word counts as a verb when it follows a modal once, or "to" twice (a preposition too: "to
    power"), and more than twice as often as it follows a determiner: "Japan respond" is then a
    clause, not a noun phrase, while "the power" keeps "balance of power" a phrase.
    """
    after_verb: defaultdict[str, float] = defaultdict(float)  # a modal counts 1, "to" 0.5
    after_noun: Counter[str] = Counter()
    for text in texts:
        tokens = _TOKEN.findall(text)
        for previous, word in pairwise(tokens):
            if not word[:1].islower():
                continue
            marker = previous.lower()
            if marker in _VERB_MARKERS:
                after_verb[word] += 1 if marker != "to" else 0.5
            elif marker in _NOUN_MARKERS:
                after_noun[word] += 1
    return frozenset(w for w, n in after_verb.items() if n >= 1 and n > 2 * after_noun[w])


def theme_phrases(
    texts_by_theme: Sequence[Sequence[str]],
    *,
    centroids: np.ndarray | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    max_phrases: int = MAX_KEY_PHRASES,
) -> list[tuple[str, ...]]:
    """Each theme's key phrases, best first, distinct across themes (rank order wins).

    ``texts_by_theme`` are the themes' texts, highest-ranked theme first; with ``embed`` (texts →
    unit vectors) and ``centroids`` (one unit row per theme, same space), a phrase's similarity
    to its theme joins its c-TF-IDF score and MMR keeps the picked phrases apart.
    """
    subjects = subject_words(texts_by_theme)
    verbs = verb_like_words([text for texts in texts_by_theme for text in texts])
    per_theme: list[Counter[str]] = []
    surfaces: dict[str, Counter[str]] = {}
    for texts in texts_by_theme:
        df: Counter[str] = Counter()
        for text in texts:
            seen = set()
            for key, surface in candidate_phrases(text):
                surfaces.setdefault(key, Counter())[surface] += 1
                if key not in seen:
                    seen.add(key)
                    df[key] += 1
        per_theme.append(df)
    df_all: Counter[str] = Counter()
    for df in per_theme:
        df_all.update(df)
    mean_texts = sum(len(t) for t in texts_by_theme) / max(1, len(texts_by_theme))
    used: set[str] = set()
    result: list[tuple[str, ...]] = []
    for theme, (texts, df) in enumerate(zip(texts_by_theme, per_theme, strict=True)):
        min_df = 2 if len(texts) >= 4 else 1
        scored = sorted(
            (
                (count * math.log(1.0 + mean_texts / df_all[key]), key)
                for key, count in df.items()
                if count >= min_df
                and key not in used
                and not _words(key) <= subjects
                and key.rsplit(" ", 1)[-1] not in verbs
            ),
            key=lambda pair: (-pair[0], -len(pair[1].split()), pair[1]),
        )[:SHORTLIST]
        chosen = _mmr(scored, theme, centroids, embed, max_phrases)
        used.update(chosen)
        result.append(tuple(surfaces[key].most_common(1)[0][0] for key in chosen))
    return result


def _mmr(
    scored: list[tuple[float, str]],
    theme: int,
    centroids: np.ndarray | None,
    embed: Callable[[list[str]], np.ndarray] | None,
    max_phrases: int,
) -> list[str]:
    """Phrases by maximal marginal relevance; without vectors, by score with no shared words."""
    if not scored:
        return []
    keys = [key for _, key in scored]
    lexical = np.array([score for score, _ in scored], dtype=np.float64)
    relevance = lexical / lexical.max()
    vectors = None
    if embed is not None and centroids is not None:
        vectors = np.asarray(embed(keys), dtype=np.float32)
        similarity = vectors @ centroids[theme]
        spread = float(similarity.max() - similarity.min()) or 1.0
        relevance = 0.5 * relevance + 0.5 * (similarity - similarity.min()) / spread
    chosen: list[int] = []
    words_used: set[str] = set()
    candidates = list(range(len(keys)))
    while candidates and len(chosen) < max_phrases:

        def gain(i: int) -> float:
            if vectors is None or not chosen:
                return float(relevance[i])
            redundancy = float(np.max(vectors[chosen] @ vectors[i]))
            return MMR_LAMBDA * float(relevance[i]) - (1 - MMR_LAMBDA) * redundancy

        best = max(candidates, key=lambda i: (gain(i), -i))
        candidates.remove(best)
        if _words(keys[best]) & words_used:
            continue
        chosen.append(best)
        words_used |= _words(keys[best])
    return [keys[i] for i in chosen]


def label_of(phrases: Sequence[str], number: int) -> str:
    """The label shown for a theme: its first phrases joined by " · "."""
    if not phrases:
        return f"theme {number + 1}"
    return " · ".join(phrases[:LABEL_PHRASES])
