"""Raw page text → paragraphs: one per line, lines broken mid-sentence joined back."""

from __future__ import annotations

import re

from index.cleaning.lines import Para, ends_sentence, is_chrome, is_published_marker
from index.cleaning.markup import HEADING_RE, strip_markup

# Blocks glued together by a scraper that dropped the page's separators ("...of 2023HomeNews",
# "...the sector.BYD said"): a sentence end or a lower-case letter runs straight into a capital.
_SENTENCE_GLUE = re.compile(r"(?<=[a-z0-9%][.!?])(?=[\"“‘]?[A-Z])|(?<=[a-z][.!?][\"”’])(?=[A-Z])")
_CASE_HUMP = re.compile(r"(?<=[a-z0-9’'”)])(?=[‘“\"]?[A-Z][a-z])")
# A line is treated as glued when it holds at least this much glue evidence (a sentence glue
# counts twice); ordinary prose has none, names like "McDonald" or "YouTube" at most one each.
GLUE_EVIDENCE = 4
# A case hump after a capitalised piece this short, or after one lower-case letter, stays
# ("Mc|Donald", "You|Tube", "i|Phone"): those are names, not glued blocks.
NAME_PIECE_LETTERS = 3


def _humps(line: str) -> list[int]:
    """Positions where a lower-case run of a word continues in a capital: glued block edges."""
    cuts = []
    for match in _CASE_HUMP.finditer(line):
        start = match.start()
        word_start = max(line.rfind(" ", 0, start), line.rfind("\u00a0", 0, start)) + 1
        piece = line[word_start:start]
        if len(piece) == 1 or (len(piece) <= NAME_PIECE_LETTERS and piece[:1].isupper()):
            continue
        cuts.append(start)
    return cuts


# A zero-width character right before a capital is where one block of the page ended.
_INVISIBLE_SEPARATOR = re.compile("[\u200b\u2060\ufeff](?=[A-Z])")


def deglue(line: str) -> list[str]:
    """A line whose blocks were glued together → its blocks; any other line unchanged."""
    if _INVISIBLE_SEPARATOR.search(line):
        return [p for part in _INVISIBLE_SEPARATOR.split(line) for p in deglue(part)]
    sentence_cuts = [m.start() for m in _SENTENCE_GLUE.finditer(line)]
    hump_cuts = _humps(line)
    if 2 * len(sentence_cuts) + len(hump_cuts) < GLUE_EVIDENCE:
        return [line]
    cuts = sorted(set(sentence_cuts) | set(hump_cuts))
    pieces = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
    return [piece for piece in pieces if piece.strip()]


def split_paragraphs(raw: str) -> list[Para]:
    """Every non-empty line is a paragraph; a line broken mid-sentence is joined back."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    raw = re.sub(r"<br\s*/?>", "\n", raw, flags=re.IGNORECASE)
    raw = re.sub(r"</(?:p|div|h[1-6]|li|blockquote)>", "\n\n", raw, flags=re.IGNORECASE)
    paras: list[Para] = []
    blank_before = True
    lines = (piece for line in raw.split("\n") for piece in deglue(line))
    for line in lines:
        if not line.strip():
            blank_before = True
            continue
        text = strip_markup(line)
        if not text:
            blank_before = False
            continue
        para = Para(
            text=text,
            raw=line,
            heading=bool(HEADING_RE.match(line)),
            joined_to_previous=not blank_before,
        )
        blank_before = False
        previous = paras[-1] if paras else None
        starts_lower = re.match(r"^\(?[a-z]", text) is not None
        if (
            previous is not None
            and starts_lower
            and (previous.words >= 15 or is_published_marker(previous.text))
            and not previous.heading
            and not ends_sentence(previous.text)
            and not previous.text.rstrip().endswith(":")
            and not re.match(r"^(?:www\.|https?:|by\s)", text, re.IGNORECASE)
            and not is_chrome(previous.text)
            and not is_chrome(text)
        ):
            previous.text = f"{previous.text} {text}"
            previous.raw = f"{previous.raw} {line.strip()}"
            continue
        paras.append(para)
    return paras
