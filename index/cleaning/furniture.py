"""Passes that drop site furniture: feeds, chrome lines, tables of contents, trailers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.cleaning.evidence import LINK_DENSE, reads_as_prose
from index.cleaning.lines import (
    FEED_HEADING,
    FEED_ITEM,
    NAME_LABEL,
    NAME_TOKEN,
    Para,
    bio_name,
    ends_sentence,
    is_bio,
    is_body,
    is_chrome,
    is_title_candidate,
)


def drop_feeds(paras: list[Para]) -> list[Para]:
    """Cut a trailing "Latest"/"Trending" feed and drop "Topic2 hours ago" items with teasers."""
    total = sum(len(p.text) for p in paras) or 1
    seen = 0
    for index, para in enumerate(paras):
        if FEED_HEADING.match(para.text) and seen > total / 2:
            paras = paras[:index]
            break
        seen += len(para.text)
    kept: list[Para] = []
    skip = 0
    for para in paras:
        if FEED_ITEM.search(para.text) and para.words <= 8:
            # a teaser's time stamp: its headline sits above it or below it
            if kept and not is_body(kept[-1]) and not ends_sentence(kept[-1].text):
                kept.pop()
            skip = 2
            continue
        if skip and (not is_body(para) or para.text.endswith(("...", "…"))):
            skip -= 1
            continue
        skip = 0
        kept.append(para)
    return kept


def drop_chrome(paras: list[Para]) -> list[Para]:
    """Drop furniture lines (``is_furniture``), with the wrapped tails of "Articles by:" labels."""
    kept: list[Para] = []
    dropped_label = False
    for para in paras:
        if (
            dropped_label
            and para.joined_to_previous
            and para.words <= 3
            and all(NAME_TOKEN.match(token) for token in para.text.split())
        ):
            continue  # the wrapped tail of an "Articles by: M. K." line
        dropped_label = False
        if is_furniture(para):
            dropped_label = NAME_LABEL.match(para.text) is not None
            continue
        kept.append(para)
    return kept


def drop_tables_of_contents(paras: list[Para]) -> list[Para]:
    """A run of three or more short lines repeating headings found elsewhere is navigation."""
    counts: dict[str, int] = {}
    for para in paras:
        key = para.text.casefold()
        counts[key] = counts.get(key, 0) + 1

    def short(p: Para) -> bool:
        return p.words <= 16 and is_title_candidate(p)

    drop: set[int] = set()
    index = 0
    while index < len(paras):
        end = index
        while end < len(paras) and short(paras[end]):
            end += 1
        if end - index >= 3:
            run = paras[index:end]
            repeated = sum(1 for p in run if counts[p.text.casefold()] > 1)
            if repeated * 2 >= len(run):
                last = run[-1].text.casefold()
                if any(p.text.casefold() == last for p in run[:-1]):
                    end -= 1  # the list's first entry again: the real first section heading
                drop.update(range(index, end))
        index = max(end, index + 1)
    return [p for i, p in enumerate(paras) if i not in drop]


def drop_trailer(paras: list[Para], authors: Sequence[str]) -> tuple[list[Para], list[str]]:
    """Strip bios, attributions and dangling short lines off an article's end."""
    counts: dict[str, int] = {}
    for para in paras:
        counts[para.text.casefold()] = counts.get(para.text.casefold(), 0) + 1
    bio_names: list[str] = []
    end = len(paras)
    while end > 0:
        para = paras[end - 1]
        text = para.text
        if is_bio(text, authors):
            name = bio_name(text)
            if name:
                bio_names.insert(0, name)
        elif not (
            is_chrome(text)
            or (para.words <= 16 and not ends_sentence(text))
            or (text.endswith("?") and para.words <= 16 and counts[text.casefold()] > 1)
            or (re.match(r"^(?:from|via|source|courtesy\s+of)\b", text, re.I) and para.words <= 8)
        ):
            break
        end -= 1
    return paras[:end], bio_names


# Lines beyond the body's last (or before its first) prose line kept when they still read as
# sentences of the article: a closing remark, a short lede.
EDGE_SENTENCES_AFTER = 3
EDGE_SENTENCES_BEFORE = 2
# A short non-sentence line (a heading, a menu item, a caption) costs this much in the region.
SHORT_LINE_COST = 2.0
MENU_LINE_COST = 8.0
SECTION_HEADING_WORDS = 12


# A closing attribution after a dash ("... — Agency’s A. Name") does not stop a sentence being one.
_TRAILING_ATTRIBUTION = re.compile(r"\s+[—–]\s+(?:\S+\s*){1,6}$")
_INNER_SENTENCE_END = re.compile(r"[a-z0-9%)][.!?][\"”’]?\s+[A-Z]")
# A long line holding a sentence end inside reads as prose even when a scrap is glued to its end.
PROSE_WITH_TAIL_WORDS = 20


def _is_prose_line(para: Para) -> bool:
    text = para.text
    if not reads_as_prose(text):
        return False
    if ends_sentence(text) or ends_sentence(_TRAILING_ATTRIBUTION.sub("", text)):
        return True
    return para.words >= PROSE_WITH_TAIL_WORDS and _INNER_SENTENCE_END.search(text) is not None


def is_furniture(para: Para) -> bool:
    """A line to drop wherever it stands: chrome, a notice, or mostly links (a teaser, a menu)."""
    return is_chrome(para.text) or para.link_density >= LINK_DENSE


def line_weight(para: Para) -> float:
    """How much a line argues for being inside the article body (negative: against)."""
    if is_furniture(para):
        return -max(MENU_LINE_COST, float(para.words))
    if _is_prose_line(para):
        return float(para.words)
    return -SHORT_LINE_COST if para.words <= 12 else -1.0


def _is_edge_sentence(para: Para) -> bool:
    return ends_sentence(para.text) and not is_chrome(para.text) and para.link_density < LINK_DENSE


def keep_body_region(paras: list[Para]) -> list[Para]:
    """The article body: the run of lines where prose outweighs furniture (max-sum segment).

    Menus, teaser lists and footers around an article cost more than the odd prose line among
    them earns, so the segment stops at the body's edges; a page with no prose is left alone.
    """
    best, best_span = 0.0, (0, len(paras))
    total, start = 0.0, 0
    for index, para in enumerate(paras):
        if total <= 0:
            total, start = 0.0, index
        total += line_weight(para)
        if total > best:
            best, best_span = total, (start, index + 1)
    if best <= 0:
        return paras
    first, end = best_span
    while end < len(paras) and end - best_span[1] < EDGE_SENTENCES_AFTER:
        if not _is_edge_sentence(paras[end]):
            break
        end += 1
    while first > 0 and best_span[0] - first < EDGE_SENTENCES_BEFORE:
        if not _is_edge_sentence(paras[first - 1]):
            break
        first -= 1
    if first > 0 and _is_section_heading(paras[first - 1]):
        first -= 1  # the body's first section heading
    return paras[first:end]


def _is_section_heading(para: Para) -> bool:
    return (
        para.words <= SECTION_HEADING_WORDS
        and is_title_candidate(para)
        and para.link_density < LINK_DENSE
    )
