"""Raw page text → paragraphs: one per line, lines broken mid-sentence joined back."""

from __future__ import annotations

import re

from index.cleaning.lines import Para, ends_sentence, is_chrome, is_published_marker
from index.cleaning.markup import HEADING_RE, strip_markup

# Blocks glued together by a scraper that dropped the page's separators ("...of 2023HomeNews",
# "...the sector.BYD said"): a sentence end or a lower-case letter runs straight into a capital.
_SENTENCE_GLUE = re.compile(r"(?<=[a-z0-9%][.!?])(?=[\"“‘]?[A-Z])|(?<=[a-z][.!?][\"”’])(?=[A-Z])")
_CASE_HUMP = re.compile(
    r"(?<=[a-z0-9’'”)])(?=[A-Z][a-z]|[‘“\"][A-Z])"  # "...2023Home", "exodus‘A quiet"
    r"|(?<=[a-z])(?=[A-Z]{2,}\b)"  # "...ElbaumMUNICH —", "ShermanBBC"
    r"|(?<=[A-Z]{3})(?=[A-Z][a-z]+\s)"  # "...8:30 AM UTCBy Name"
)
# A line is treated as glued when it holds at least this much glue evidence (a sentence glue
# or a lower-case word run into a capital counts twice); ordinary prose has none, names like
# "McDonald" or "YouTube" at most one each.
GLUE_EVIDENCE = 4
# A case hump after a capitalised piece this short, or after one lower-case letter, stays
# ("Mc|Donald", "You|Tube", "i|Phone"): those are names, not glued blocks.
NAME_PIECE_LETTERS = 3
ACRONYM_GLUE_LETTERS = 5


def _humps(line: str) -> list[tuple[int, int]]:
    """Glued block edges: (position, evidence) where a word runs straight into a capital.

    A lower-case word running into a capital ("exodus‘The", "agoWidespread") is strong
    evidence: brand names in CamelCase start with a capital. A capitalised piece is weaker.
    """
    cuts = []
    for match in _CASE_HUMP.finditer(line):
        start = match.start()
        word_start = max(line.rfind(" ", 0, start), line.rfind("\u00a0", 0, start)) + 1
        piece = line[word_start:start].lstrip("“‘\"'(")
        capitalised = piece[:1].isupper() and not piece.isupper()
        short_name = len(piece) <= NAME_PIECE_LETTERS and capitalised
        # before an acronym only a longer word is a block's end ("ShermanBBC", not "ChatGPT")
        acronym = line[start + 1 : start + 2].isupper()
        if len(piece) <= 1 or short_name or (acronym and len(piece) < ACRONYM_GLUE_LETTERS):
            continue
        cuts.append((start, 2 if piece.islower() and not acronym else 1))
    return cuts


# A zero-width character right before a capital is where one block of the page ended.
_INVISIBLE_SEPARATOR = re.compile("[\u200b\u2060\ufeff](?=[A-Z])")


def deglue(line: str) -> list[str]:
    """A line whose blocks were glued together → its blocks; any other line unchanged."""
    if _INVISIBLE_SEPARATOR.search(line):
        return [p for part in _INVISIBLE_SEPARATOR.split(line) for p in deglue(part)]
    sentence_cuts = [m.start() for m in _SENTENCE_GLUE.finditer(line)]
    humps = _humps(line)
    if 2 * len(sentence_cuts) + sum(weight for _, weight in humps) < GLUE_EVIDENCE:
        return [line]
    cuts = sorted(set(sentence_cuts) | {position for position, _ in humps})
    pieces = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
    return [piece for piece in pieces if piece.strip()]


# Hard-wrapped text (a scraper that re-filled the page to a fixed width): most lines run close to
# one width and many start in lower case, mid-sentence. Such lines are joined back into blocks.
WRAP_MIN_LINES = 8
WRAP_WIDTH_RANGE = (30, 120)  # the fill width, as the 90th percentile of line lengths
WRAP_FULL_SHARE = 0.7  # lines at least WRAP_FULL_FRACTION of that width
WRAP_FULL_FRACTION = 0.6
WRAP_LOWER_START_SHARE = 0.25  # lines that open in lower case: continuations


def is_hard_wrapped(lines: list[str]) -> bool:
    """True when ``lines`` were filled to a fixed width, breaking sentences anywhere."""
    filled = [line.rstrip() for line in lines if line.strip()]
    if len(filled) < WRAP_MIN_LINES:
        return False
    lengths = sorted(len(line) for line in filled)
    width = lengths[int(0.9 * (len(lengths) - 1))]
    if not WRAP_WIDTH_RANGE[0] <= width <= WRAP_WIDTH_RANGE[1] or lengths[-1] > 1.2 * width:
        return False
    full = sum(1 for n in lengths if n >= WRAP_FULL_FRACTION * width) / len(lengths)
    lower = sum(1 for line in filled if line.lstrip()[:1].islower()) / len(filled)
    return full >= WRAP_FULL_SHARE and lower >= WRAP_LOWER_START_SHARE


def unwrap(raw: str) -> str:
    """Hard-wrapped text with its fill undone (blank lines still part blocks); else ``raw``."""
    lines = raw.split("\n")
    if not is_hard_wrapped(lines):
        return raw
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line.strip())
        elif blocks[-1]:
            blocks.append([])
    return "\n\n".join(" ".join(block) for block in blocks if block)


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
