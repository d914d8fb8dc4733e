"""Where articles start and end on a page, and what their header blocks say."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from index.cleaning.dates import MONTHS, find_date
from index.cleaning.lines import (
    BYLINE,
    LABEL_LINE,
    PUBLISHED_LINE,
    SPLIT_MARKER,
    URL_LINE,
    Para,
    is_body,
    is_byline,
    is_chrome,
    is_date_line,
    is_published_marker,
    is_title_candidate,
    names_from_byline,
)
from index.cleaning.markup import linked_names_after_by

HEADER_ZONE_PARAGRAPHS = 12


@dataclass
class PageMeta:
    title: str = ""
    authors: tuple[str, ...] = ()
    byline_names: str = ""
    published: str | None = None
    site: str | None = None
    url: str | None = None


@dataclass
class Article:
    meta: PageMeta
    paras: list[Para] = field(default_factory=list)


def split_at_markers(paras: list[Para]) -> list[list[Para]]:
    """Cut the page at "Continue Reading"-style markers and at mid-page header blocks."""
    segments: list[list[Para]] = [[]]
    for para in paras:
        if SPLIT_MARKER.match(para.text):
            segments.append([])
            continue
        segments[-1].append(para)
    result: list[list[Para]] = []
    for segment in segments:
        result.extend(split_at_headers(segment))
    return [segment for segment in result if segment]


def split_at_headers(paras: list[Para]) -> list[list[Para]]:
    """A byline or "Published" line after body text opens a new article at its title line."""
    cuts: list[int] = []
    seen_body = False
    last_cut = 0
    for index, para in enumerate(paras):
        if is_body(para):
            seen_body = True
            continue
        is_anchor = is_byline(para.text) or is_published_marker(para.text)
        if not (is_anchor and seen_body):
            continue
        title_at = next(
            (
                j
                for j in range(index - 1, max(last_cut, index - 4) - 1, -1)
                if is_title_candidate(paras[j])
            ),
            None,
        )
        if title_at is None or title_at <= last_cut:
            continue
        start = title_at
        if start - 1 > last_cut and paras[start - 1].words <= 4 and not is_body(paras[start - 1]):
            start -= 1  # the category line above the title
        cuts.append(start)
        last_cut = start
        seen_body = False
    bounds = [0, *cuts, len(paras)]
    return [paras[a:b] for a, b in itertools.pairwise(bounds)]


def site_from_dateline(text: str) -> str | None:
    found = find_date(text)
    if not found:
        return None
    before = text[: found[1][0]].rstrip()
    match = re.search(r"(?:^|\s)(?P<site>[A-Z][\w.\-]*(?:\s+[A-Z][\w.\-]*){0,4})\s*,$", before)
    if not match:
        return None
    site = match.group("site").strip()
    if PUBLISHED_LINE.match(site) or site.lower() in MONTHS:
        return None
    return site


def read_header(paras: list[Para]) -> tuple[PageMeta, list[Para]]:
    """Lift title/byline/date/site out of the header block; return the paragraphs left."""
    meta = PageMeta()
    zone_end = 0
    while zone_end < min(len(paras), HEADER_ZONE_PARAGRAPHS) and not is_body(paras[zone_end]):
        zone_end += 1
    zone = paras[:zone_end]

    anchor = next(
        (i for i, p in enumerate(zone) if is_byline(p.text) or is_published_marker(p.text)),
        None,
    )
    if anchor is None:
        anchor = next(
            (
                i
                for i, p in enumerate(zone)
                if is_date_line(p.text) and i > 0 and is_title_candidate(zone[i - 1])
            ),
            None,
        )
    heading_at = next((i for i, p in enumerate(zone) if p.heading and is_title_candidate(p)), None)
    title_at: int | None = None
    if heading_at is not None and (anchor is None or heading_at < anchor):
        title_at = heading_at
    elif anchor is not None:
        title_at = title_above(zone, anchor)
    if title_at is not None:
        meta.title = zone[title_at].text

    kept: list[Para] = []
    for index, para in enumerate(zone):
        text = para.text
        if index == title_at:
            continue
        if is_byline(text):
            linked = linked_names_after_by(para.raw)
            names = BYLINE.match(text)
            meta.byline_names = names.group("names") if names else ""
            if linked:
                meta.authors = tuple(linked)
                rest = BYLINE.sub(r"\g<names>", text)
                for name in linked:
                    rest = rest.replace(name, " ", 1)
            else:
                meta.authors = tuple(names_from_byline(meta.byline_names))
                rest = meta.byline_names
            take_date_and_site(meta, rest)
            continue
        if is_date_line(text) or is_published_marker(text):
            take_date_and_site(meta, text)
            continue
        url = URL_LINE.match(text)
        if url:
            meta.url = meta.url or url.group("url")
            continue
        if LABEL_LINE.match(text) or is_chrome(text):
            continue
        if title_at is not None and index < title_at:
            continue  # nav and category lines above the title
        kept.append(para)
    return meta, kept + paras[zone_end:]


def title_above(zone: list[Para], anchor: int) -> int | None:
    """The title among the short lines right above a byline: skip a 1-3 word category."""
    run: list[int] = []
    j = anchor - 1
    while j >= 0 and len(run) < 3:
        if is_title_candidate(zone[j]):
            run.insert(0, j)
        elif not (is_date_line(zone[j].text) or is_chrome(zone[j].text)):
            break
        j -= 1
    if not run:
        return None
    return next((i for i in run if zone[i].words >= 4), run[-1])


def take_date_and_site(meta: PageMeta, text: str) -> None:
    found = find_date(text)
    if found and meta.published is None:
        meta.published = found[0]
        meta.site = meta.site or site_from_dateline(text)


def split_names_by_bios(byline: str, bio_names: Sequence[str]) -> list[str] | None:
    """Segment a separator-less byline ("A B C D") into the names the bios give."""
    remaining = re.sub(r"\s+", " ", byline).strip(" *")
    names: list[str] = []
    while remaining:
        name = next((n for n in bio_names if remaining.startswith(n)), None)
        if name is None:
            return None
        names.append(name)
        remaining = remaining[len(name) :].strip(" ,&;*")
        remaining = re.sub(r"^and\s+", "", remaining)
    return names or None


def merge_meta(found: PageMeta, given: PageMeta) -> PageMeta:
    """Metadata the extractor gave wins over what the text rules found."""
    return replace(
        found,
        title=given.title or found.title,
        authors=given.authors or found.authors,
        published=given.published or found.published,
        site=given.site or found.site,
        url=given.url or found.url,
    )
