"""Passages: 1–3 sentences, bounded length, exact offsets, never across a line break."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import MAX_WORDS, chunk_text, sentence_spans

WORDS = st.sampled_from(
    "China Russia partnership U.S. Dr. Moscow Beijing treaty “no limits” strategic 2023 e.g. "
    "alliance Japan's J. Xi".split()
)
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORDS, min_size=1, max_size=40),
    st.sampled_from([".", "!", "?", ".”", "", "..."]),
)
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=8).map(" ".join)
TEXT = st.lists(PARAGRAPH, min_size=0, max_size=6).flatmap(
    lambda paras: st.sampled_from(["\n", "\n\n", "\n \n"]).map(lambda sep: sep.join(paras))
)


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_every_passage_is_an_exact_bounded_slice_within_one_line(text: str) -> None:
    spans = chunk_text(text)
    previous_end = 0
    for span in spans:
        passage = text[span.start : span.end]
        assert passage == passage.strip() and passage
        assert "\n" not in passage
        assert len(passage.split()) <= MAX_WORDS
        assert span.start >= previous_end
        previous_end = span.end


@given(TEXT)
@settings(max_examples=200, deadline=None)
def test_sentences_cover_the_text_in_order(text: str) -> None:
    spans = sentence_spans(text)
    joined = " ".join(text[s.start : s.end] for s in spans)
    assert joined.split() == text.split()


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = "Dr. Smith met J. Berkshire Miller in the U.S. last year. Then he left."
    sentences = [text[s.start : s.end] for s in sentence_spans(text)]
    assert sentences == [
        "Dr. Smith met J. Berkshire Miller in the U.S. last year.",
        "Then he left.",
    ]


def test_headings_and_captions_make_no_passage_but_stay_in_the_text() -> None:
    text = "India and the Quad\nIndia sees a bipolar great power rivalry taking shape in Asia."
    spans = chunk_text(text)
    assert [text[s.start : s.end] for s in spans] == [
        "India sees a bipolar great power rivalry taking shape in Asia."
    ]


def test_a_long_sentence_is_cut_below_the_word_limit() -> None:
    text = ", ".join(f"clause number {i} of a sentence that never ends" for i in range(60)) + "."
    spans = chunk_text(text)
    assert len(spans) > 1
    assert all(len(text[s.start : s.end].split()) <= MAX_WORDS for s in spans)
