"""Theme discovery: planted topics are found, labelled, ranked and reproducible."""

from __future__ import annotations

import random

import numpy as np
import pytest

from briefings.themes import (
    STOP_WORDS,
    ThemeModel,
    discover_themes,
    label_phrases,
    representatives,
)
from index.embedding import FakeEmbedder

TOPICS = {
    "astronomy": ["telescope", "galaxy", "orbit", "comet", "nebula", "planet", "asteroid"],
    "cooking": ["recipe", "oven", "flour", "butter", "garlic", "simmer", "pastry"],
    "football": ["goalkeeper", "striker", "penalty", "stadium", "referee", "midfield", "league"],
}
FILLER = ["the", "and", "was", "that", "with", "said", "this", "for", "they", "about"]


def planted_texts(per_topic: int = 10, seed: int = 7) -> tuple[list[str], list[str]]:
    """``per_topic`` short texts per topic: topic words mixed with stop-words, plus true labels."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    for _ in range(per_topic):
        for topic, words in TOPICS.items():
            picked = rng.sample(words, 4) + rng.sample(FILLER, 4)
            rng.shuffle(picked)
            texts.append(" ".join(picked))
            labels.append(topic)
    return texts, labels


def embed(texts: list[str]) -> np.ndarray:
    return FakeEmbedder().encode_passages(texts)


@pytest.fixture(scope="module")
def planted() -> tuple[list[str], list[str], np.ndarray]:
    texts, labels = planted_texts()
    return texts, labels, embed(texts)


@pytest.fixture(scope="module")
def planted_model(planted) -> ThemeModel:
    texts, _, vectors = planted
    return discover_themes(texts, vectors)


def test_same_input_twice_gives_identical_model(planted):
    texts, _, vectors = planted
    groups = [f"src{i % 4}" for i in range(len(texts))]
    first = discover_themes(texts, vectors, groups=groups)
    second = discover_themes(list(texts), vectors.copy(), groups=list(groups))
    assert first == second


def test_finds_the_planted_number_of_themes_and_each_theme_is_one_topic(planted, planted_model):
    labels = planted[1]
    model = planted_model
    assert len(model.themes) == len(TOPICS)
    for theme in model.themes:
        assert len({labels[i] for i in theme.members}) == 1


def test_labels_name_their_topic_words_and_no_stop_words(planted, planted_model):
    labels = planted[1]
    model = planted_model
    for theme in model.themes:
        topic = labels[theme.members[0]]
        assert 2 <= len(theme.label.split(" · ")) <= 4
        assert theme.label.startswith(theme.key_phrases[0])
        for phrase in theme.key_phrases:
            words = phrase.split()
            assert all(w in TOPICS[topic] for w in words), (phrase, topic)
            assert not any(w in STOP_WORDS for w in words)


def test_every_item_is_assigned_to_a_theme_that_lists_it(planted, planted_model):
    texts = planted[0]
    model = planted_model
    assert len(model.assignment) == len(texts)
    members = sorted(i for theme in model.themes for i in theme.members)
    assert members == list(range(len(texts)))
    for theme in model.themes:
        assert all(model.assignment[i] == theme.theme_id for i in theme.members)
    assert [t.theme_id for t in model.themes] == list(range(len(model.themes)))


def test_an_off_topic_item_is_reported_as_outlier_but_still_assigned(planted):
    texts, _, vectors = planted
    stray = "quantum entanglement photon superconductor lattice"
    texts = [*texts, stray]
    vectors = embed(texts)
    model = discover_themes(texts, vectors)
    stray_index = len(texts) - 1
    assert stray_index in model.outliers
    assert 0 <= model.assignment[stray_index] < len(model.themes)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_inputs_give_at_most_one_theme(n):
    texts = ["galaxy telescope orbit", "recipe oven flour", "striker penalty league"][:n]
    model = discover_themes(texts, embed(texts) if n else np.zeros((0, 64), np.float32))
    assert len(model.themes) == min(n, 1)
    assert model.assignment == (0,) * n


def test_identical_items_form_one_theme_without_crashing():
    texts = ["galaxy telescope orbit"] * 8
    model = discover_themes(texts, embed(texts))
    assert len(model.themes) == 1
    assert set(model.assignment) == {0}


def test_themes_spanning_more_sources_rank_first(planted):
    texts, labels, vectors = planted
    # cooking (the smallest-spanning topic by construction) is spread over 5 sources,
    # football over 3, astronomy over 1: rank must follow the span, not input order.
    span = {"cooking": 5, "football": 3, "astronomy": 1}
    counters = dict.fromkeys(span, 0)
    groups = []
    for label in labels:
        groups.append(f"{label}-src{counters[label] % span[label]}")
        counters[label] += 1
    model = discover_themes(texts, vectors, groups=groups)
    order = [labels[theme.members[0]] for theme in model.themes]
    assert order == ["cooking", "football", "astronomy"]


def test_without_groups_bigger_themes_rank_first():
    texts, labels = planted_texts()
    keep = [i for i, lab in enumerate(labels) if lab != "cooking" or i % 2 == 0]
    keep = [i for i in keep if labels[i] != "astronomy" or i % 3 != 0]
    texts = [texts[i] for i in keep]
    labels = [labels[i] for i in keep]
    model = discover_themes(texts, embed(texts))
    sizes = [len(t.members) for t in model.themes]
    assert sizes == sorted(sizes, reverse=True)
    assert labels[model.themes[0].members[0]] == "football"


def test_representatives_prefer_different_groups(planted, planted_model):
    texts, _, vectors = planted
    model = planted_model
    theme = model.themes[0]
    # most members share one source; two members come from elsewhere
    groups = ["big-source"] * len(texts)
    groups[theme.members[-1]] = "other-a"
    groups[theme.members[-2]] = "other-b"
    reps = representatives(model, theme.theme_id, vectors, groups, k=3)
    assert len(reps) == 3
    assert len({groups[i] for i in reps}) == 3
    assert set(reps) <= set(theme.members)


def test_representatives_fall_back_to_centrality_when_groups_run_out(planted, planted_model):
    texts, _, vectors = planted
    model = planted_model
    theme = model.themes[0]
    groups = ["one-source"] * len(texts)
    reps = representatives(model, theme.theme_id, vectors, groups, k=4)
    assert len(reps) == len(set(reps)) == 4
    assert reps == representatives(model, theme.theme_id, vectors, None, k=4)


def test_label_phrases_skip_words_common_to_every_theme_and_stop_words():
    phrases = label_phrases(
        [
            ["the market shares the market", "the shares the market bank", "the bank the shares"],
            ["match goal market", "goal match keeper", "keeper goal match"],
        ]
    )
    assert phrases[0][0] in {"shares", "bank", "market shares", "shares market"}
    assert "goal" in phrases[1] or "match" in phrases[1]
    # "the" is the first theme's most frequent word and absent from the other: only the
    # stop-word list keeps it out
    assert all("the" not in p.split() for ps in phrases for p in ps)


def test_mismatched_vectors_are_rejected():
    with pytest.raises(ValueError, match="one vector per text"):
        discover_themes(["a b c", "d e f"], np.zeros((3, 64), np.float32))


@pytest.mark.parametrize("max_themes", [1, 2])
def test_max_themes_caps_the_number_of_themes(planted, max_themes):
    texts, _, vectors = planted
    model = discover_themes(texts, vectors, max_themes=max_themes)
    assert len(model.themes) == max_themes
    assert len(model.assignment) == len(texts)
