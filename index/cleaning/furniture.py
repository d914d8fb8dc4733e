"""Passes that drop site furniture: feeds, chrome lines, tables of contents, trailers."""

from __future__ import annotations

import re
from collections.abc import Sequence

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
            skip = 2  # its headline and teaser follow
            continue
        if skip and (not is_body(para) or para.text.endswith(("...", "…"))):
            skip -= 1
            continue
        skip = 0
        kept.append(para)
    return kept


def drop_chrome(paras: list[Para]) -> list[Para]:
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
        if is_chrome(para.text):
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
