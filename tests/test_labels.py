"""Theme labels: multi-word noun phrases a reader would write, never clauses or subject words."""

from __future__ import annotations

import numpy as np

from briefings.labels import candidate_phrases, theme_phrases, verb_like_words
from briefings.themes import _within_noise

PIPELINE = [
    "The gas pipeline deal was signed after long talks on the gas pipeline price.",
    "Engineers say the gas pipeline will carry fuel across the border by winter.",
    "Russia would respond to the gas pipeline delay with new export terms.",
    "China and Russia argue about the gas pipeline route and its cost.",
]
PATROLS = [
    "Bombers flew joint air patrols over the sea, and Japan said Japan respond quickly.",
    "The joint air patrols were the fourth this year, according to officials.",
    "How would Japan respond to joint air patrols near its islands, analysts asked.",
    "China and Russia staged joint air patrols again; Tokyo will respond with protests.",
]


def test_candidates_are_runs_of_content_words_without_a_finite_verb():
    keys = {key for key, _ in candidate_phrases("The transfer window drew to a close.")}
    assert "transfer window" in keys
    assert "transfer window drew" not in keys


def test_a_word_the_corpus_uses_after_a_modal_is_a_verb_and_ends_no_label():
    assert "respond" in verb_like_words(PATROLS)
    labels = theme_phrases([PIPELINE, PATROLS])
    assert all(not phrase.lower().endswith("respond") for theme in labels for phrase in theme)
    assert "joint air patrols" in [phrase.lower() for phrase in labels[1]]


def test_a_noun_the_corpus_also_puts_after_the_stays_a_label_word():
    texts = [
        "The balance of power shifted; the power of the navy grew, and the power of money too.",
        "They want to power ahead, but the balance of power is fragile.",
    ]
    assert "power" not in verb_like_words(texts)
    keys = {key for key, _ in candidate_phrases(texts[0])}
    assert "balance of power" in keys


def test_labels_are_multi_word_distinct_and_never_only_the_corpus_subject():
    labels = theme_phrases([PIPELINE, PATROLS])
    phrases = [phrase.lower() for theme in labels for phrase in theme]
    assert all(len(phrase.split()) >= 2 for phrase in phrases)
    assert len(phrases) == len(set(phrases))
    assert "china russia" not in phrases


def test_a_k_that_loses_to_the_best_under_every_perturbation_is_not_within_noise():
    # The single views agree less than the subsamples at every k: a wide spread of scores
    # that says nothing about k. Under each perturbation the smaller k falls short.
    best = np.array([0.87, 0.59, 0.97, 0.96])
    smaller = np.array([0.86, 0.52, 0.97, 0.94])
    assert not _within_noise(smaller, best)


def test_a_k_that_wins_some_perturbations_and_loses_others_is_within_noise():
    best = np.array([0.88, 0.77, 0.78, 0.73])
    other = np.array([0.88, 0.69, 0.72, 0.97])
    assert _within_noise(other, best)
