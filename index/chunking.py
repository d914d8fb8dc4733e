"""Split document text into passages of one to three sentences, with exact offsets."""

from __future__ import annotations

import re
from collections.abc import Iterator

from index.models import Span

MAX_WORDS = 120  # a passage never exceeds this many words
TARGET_WORDS = 70  # sentences are added while the passage stays under this
MAX_SENTENCES = 3
MIN_WORDS = 6  # shorter paragraphs (headings, captions) make no passage of their own

_PARAGRAPH = re.compile(r"[^\n]+")
# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before a space.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "no",
        "fig",
        "al",
        "gen",
        "col",
        "lt",
        "sgt",
        "rep",
        "sen",
        "gov",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "approx",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_WORD = re.compile(r"\S+")


def _is_false_boundary(text: str, end: int, nxt: int) -> bool:
    """True when the period at ``end`` belongs to an abbreviation or initial, not a sentence."""
    if text[end] != ".":
        return False
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:end].lower().lstrip("(\"'“‘")
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
        return True
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):  # U.S, e.g
        return True
    # A sentence starts with a capital, digit or opening quote; anything else continues.
    return nxt < len(text) and text[nxt].islower()


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as spans (whitespace trimmed)."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if _is_false_boundary(text, match.start(), match.end()):
            continue
        stop = match.end()
        while stop > cursor and text[stop - 1].isspace():
            stop -= 1
        if stop > cursor:
            spans.append(Span(cursor, stop))
        cursor = match.end()
    stop = end
    while stop > cursor and text[stop - 1].isspace():
        stop -= 1
    while cursor < stop and text[cursor].isspace():
        cursor += 1
    if stop > cursor:
        spans.append(Span(cursor, stop))
    return spans


def _words(text: str, span: Span) -> int:
    return len(_WORD.findall(text, span.start, span.end))


def _split_long(text: str, span: Span) -> Iterator[Span]:
    """Cut a sentence longer than MAX_WORDS at word boundaries, preferring after punctuation."""
    words = list(_WORD.finditer(text, span.start, span.end))
    i = 0
    while i < len(words):
        j = min(i + MAX_WORDS, len(words))
        if j < len(words):
            # Prefer cutting after a clause mark in the second half of the window.
            for cut in range(j, i + MAX_WORDS // 2, -1):
                if words[cut - 1].group()[-1] in ",;:—–)":
                    j = cut
                    break
        yield Span(words[i].start(), words[j - 1].end())
        i = j


def _is_heading(text: str, span: Span, words: int) -> bool:
    if words < MIN_WORDS:
        return True
    return words <= 12 and text[span.end - 1] not in '.!?"”’)'


def chunk_text(text: str) -> list[Span]:
    """Passages of ``text``: 1–3 sentences, ≤ MAX_WORDS words, never crossing a line break."""
    passages: list[Span] = []
    for para in _PARAGRAPH.finditer(text):
        sentences = sentence_spans(text, para.start(), para.end())
        if not sentences:
            continue
        whole = Span(sentences[0].start, sentences[-1].end)
        para_words = _words(text, whole)
        if _is_heading(text, whole, para_words):
            continue
        pieces: list[Span] = []
        for sentence in sentences:
            if _words(text, sentence) > MAX_WORDS:
                pieces.extend(_split_long(text, sentence))
            else:
                pieces.append(sentence)
        group: list[Span] = []
        group_words = 0
        for piece in pieces:
            n = _words(text, piece)
            if group and (group_words + n > TARGET_WORDS or len(group) == MAX_SENTENCES):
                passages.append(Span(group[0].start, group[-1].end))
                group, group_words = [], 0
            group.append(piece)
            group_words += n
        if group:
            # A short tail joins the previous passage of this paragraph when it still fits.
            prev = passages[-1] if passages else None
            tail = Span(group[0].start, group[-1].end)
            if (
                prev is not None
                and prev.end <= para.end()
                and prev.start >= para.start()
                and group_words < MIN_WORDS * 2
                and _words(text, prev) + group_words <= MAX_WORDS
                and len(sentence_spans(text, prev.start, prev.end)) + len(group) <= MAX_SENTENCES
            ):
                passages[-1] = Span(prev.start, tail.end)
            else:
                passages.append(tail)
    if not passages:
        # A document of headings and fragments only still gets passages, so it can be found.
        for para in _PARAGRAPH.finditer(text):
            sentences = sentence_spans(text, para.start(), para.end())
            if sentences:
                passages.extend(_split_long(text, Span(sentences[0].start, sentences[-1].end)))
    return passages
