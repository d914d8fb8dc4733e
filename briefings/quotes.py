"""A verbatim quote with its citation: the unit every view is made of."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from index.models import Document, Hit, Passage


@dataclass(frozen=True)
class Quote:
    """``text`` is exactly ``document.text[start:end]``; the rest says where it is from."""

    passage_id: int
    text: str
    start: int
    end: int
    doc_id: str
    source_id: str
    title: str
    authors: tuple[str, ...]
    published: str | None
    url: str | None
    site: str | None
    score: float = 0.0
    similarity: float = 0.0

    @property
    def label(self) -> str:
        return f"P{self.passage_id}"

    @property
    def byline(self) -> str:
        """ "Title — Author, Author · Site · 2023-06-16", leaving out what is unknown."""
        parts = [self.title or self.source_id]
        if self.authors:
            parts[0] += " — " + ", ".join(self.authors)
        parts.extend(p for p in (self.site, self.published) if p)
        return " · ".join(parts)

    @classmethod
    def of(
        cls, passage: Passage, document: Document, score: float = 0.0, similarity: float = 0.0
    ) -> Quote:
        return cls(
            passage_id=passage.passage_id,
            text=passage.text,
            start=passage.start,
            end=passage.end,
            doc_id=document.doc_id,
            source_id=document.source_id,
            title=document.display_title,
            authors=document.authors,
            published=document.published,
            url=document.url,
            site=document.site,
            score=score,
            similarity=similarity,
        )

    @classmethod
    def from_hit(cls, hit: Hit) -> Quote:
        return cls.of(hit.passage, hit.document, hit.score, hit.similarity)

    def to_json(self) -> dict[str, Any]:
        """The one JSON shape of a quote (digests, briefs' machine output)."""
        return {
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "source_id": self.source_id,
            "quote": self.text,
            "start": self.start,
            "end": self.end,
            "title": self.title,
            "authors": list(self.authors),
            "published": self.published,
            "url": self.url,
            "site": self.site,
        }


# ------------------------------------------------------------------------ standalone quotes

MAX_QUOTE_CHARS = 320  # a quote is cut at a sentence boundary inside its passage to fit
MIN_QUOTE_CHARS = 80  # a shorter lone sentence takes the next one with it, when it fits
MIN_SENTENCE_WORDS = 5

_SENTENCE = re.compile(r"\S.*?(?:[.!?][\"'”’)\]]*(?=\s|$)|$)", re.DOTALL)
# Openers that lean on the sentence before: connectives and pronouns with no antecedent here.
LEANING_OPENERS = frozenset(
    """so but and or nor yet also then thus hence therefore however still instead meanwhile
    moreover furthermore besides nonetheless nevertheless otherwise likewise similarly
    consequently accordingly indeed anyway again plus this that these those it its he she
    they them his her hers their theirs him such here there's which who whom whose where
    when while though although because since as if unless whereas""".split()
)
_POINTING_BACK = frozenset({"this", "these", "those"})
# Finite verbs and auxiliaries common in news prose: one of them (or a past form) makes a clause.
FINITE_VERBS = frozenset(
    """is are was were be been being am has have had having will would can could shall should
    may might must do does did says said say tells told adds added wants wanted needs needed
    sees saw seems seemed remains remained became becomes makes made gives gave takes took
    shows showed knows knew thinks thought believes believed calls called plans planned met
    went came got held led left put set sent spent built won lost ran rose fell grew began
    broke brought bought chose drew drove fought found flew heard hit kept meant paid sat sold
    spoke stood struck taught threw wrote understood""".split()
)
# Words after which a word in -s is a plural noun rather than a verb ("the talks", "two sides").
_NOUN_CONTEXT = frozenset(
    """the a an of in on at for with to from by and or its their his her our your my many some
    few two three four five several these those all both other such new""".split()
)
_WORDS = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, trailing spaces excluded."""
    return [(m.start(), m.start() + len(m.group().rstrip())) for m in _SENTENCE.finditer(text)]


def stands_alone(sentence: str) -> bool:
    """A sentence that makes sense without the one before it.

    It opens with a capital (or a quote mark, or a digit), not with a connective or a pronoun
    that points back ("So", "But", "This", "He"), has a few words and a finite verb, and ends
    like a sentence.
    """
    words = _WORDS.findall(sentence)
    if len(words) < MIN_SENTENCE_WORDS:
        return False
    head = sentence.lstrip("\"'“‘([ ")
    if not head or not (head[0].isupper() or head[0].isdigit()):
        return False
    first = re.sub(r"['’]s$", "", words[0].lower())
    if first in LEANING_OPENERS or {w.lower() for w in words[1:3]} & _POINTING_BACK:
        return False  # "Each of these themes ...": which themes?
    if not sentence.rstrip("\"'”’)] ").endswith((".", "!", "?")):
        return False
    lowered = [w.lower() for w in words]
    for before, word in pairwise(lowered):
        if word in FINITE_VERBS or (word.endswith("ed") and len(word) > 4):
            return True
        plural_or_verb = word.endswith("s") and not word.endswith("ss") and len(word) > 3
        if plural_or_verb and before not in _NOUN_CONTEXT:
            return True
    return False


def standalone_excerpt(passage: Passage, max_chars: int = MAX_QUOTE_CHARS) -> Passage | None:
    """The passage's best self-contained span of whole sentences, or None when it has none.

    The span opens with a sentence that stands alone and runs on over the following sentences
    while it fits ``max_chars``; a lone short sentence ("X is easy to fathom.") is only taken
    with the sentence after it. The result is still a verbatim span of the document.
    """
    spans = sentence_spans(passage.text)
    best: tuple[int, int] | None = None
    for i, (start, end) in enumerate(spans):
        if not stands_alone(passage.text[start:end]) or end - start > max_chars:
            continue
        stop = end
        for _next_start, next_end in spans[i + 1 :]:
            if next_end - start > max_chars:
                break
            stop = next_end
        if stop - start < MIN_QUOTE_CHARS and len(_WORDS.findall(passage.text[start:stop])) < 12:
            continue
        if best is None or stop - start > best[1] - best[0]:
            best = (start, stop)
        if stop == spans[-1][1]:
            break  # runs to the end: nothing later can be longer
    if best is None:
        return None
    start, end = best
    return Passage(
        passage.passage_id, passage.doc_id, passage.start + start, passage.start + end,
        passage.text[start:end],
    )  # fmt: skip


def excerpt(passage: Passage, max_chars: int = MAX_QUOTE_CHARS) -> Passage:
    """The passage, or its leading whole sentences when it is longer than ``max_chars``.

    The result is still a verbatim span of the document (offsets adjusted), so a quote cut to
    fit Discord never says something its source did not.
    """
    if len(passage.text) <= max_chars:
        return passage
    cut = 0
    for _start, end in sentence_spans(passage.text):
        if end > max_chars:
            break
        cut = end
    if cut == 0:  # one long sentence: cut at a word boundary instead
        cut = passage.text.rfind(" ", 0, max_chars)
        cut = cut if cut > 0 else max_chars
    text = passage.text[:cut].rstrip()
    return Passage(
        passage.passage_id, passage.doc_id, passage.start, passage.start + len(text), text
    )
