"""Lines that recur on several pages of one site in the corpus: that site's furniture.

The indexer sees the whole corpus, so a footer, a sign-up box or a standing disclaimer that one
site prints on every page shows up as the same line on several of its pages, whatever its
wording. Pages are grouped by the site they declare (the host of the first URL in their
header) or, failing that, by their folder. A page that shares most of its lines with another
(the same article saved twice, a wire story run by two outlets) is a copy, not evidence of
furniture, and is left out of the count. Bylines and datelines recur on purpose and are never
furniture here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from index.cleaning.lines import is_byline, is_date_line, is_published_marker
from index.cleaning.markup import strip_markup

# A line shorter than this makes no passage anyway; keying on it would only cost memory.
MIN_WORDS = 4
# A line on at least this many pages of a site, and on at least this share of them, is furniture.
MIN_PAGES = 2
MIN_SHARE = 0.5
# A page sharing more than this share of its lines with the rest of its site is a copy.
COPY_SHARE = 0.5
# How far into a page its declared URL may sit (front matter, scraper header, canonical link).
HEADER_CHARS = 4000

_DECLARED_URL = re.compile(r"https?://([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_SPACES = re.compile(r"\s+")
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})


def line_key(text: str) -> str:
    """A line as compared across pages: plain text, case-folded, spaces collapsed."""
    return _SPACES.sub(" ", text).strip().casefold()


def page_lines(raw: str) -> set[str]:
    """The keys of a page's lines that could be furniture (long enough, not a byline/dateline)."""
    keys: set[str] = set()
    for line in raw.splitlines():
        text = strip_markup(line)
        if len(text.split()) < MIN_WORDS:
            continue
        if is_byline(text) or is_date_line(text) or is_published_marker(text):
            continue
        keys.add(line_key(text))
    return keys


def site_of(path: Path, raw: str) -> str:
    """The group a page belongs to: the host it declares, else its folder."""
    match = _DECLARED_URL.search(raw[:HEADER_CHARS])
    if match:
        host = (urlparse(match.group(0)).hostname or "").removeprefix("www.")
        if host:
            return host
    return str(path.parent.resolve())


@dataclass
class SiteRepetition:
    """The furniture lines of each site, found by counting lines across its pages."""

    furniture: dict[str, frozenset[str]] = field(default_factory=dict)
    site_by_page: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pages(cls, pages: Iterable[tuple[Path, str]]) -> SiteRepetition:
        """Count the lines of ``(path, raw text)`` pages, site by site."""
        by_site: dict[str, dict[str, set[str]]] = defaultdict(dict)
        site_by_page: dict[str, str] = {}
        for path, raw in pages:
            site = site_of(path, raw)
            by_site[site][str(path)] = page_lines(raw)
            site_by_page[str(path)] = site
        furniture = {
            site: found
            for site, pages_of_site in by_site.items()
            if len(pages_of_site) >= MIN_PAGES and (found := _furniture_of(pages_of_site))
        }
        return cls(furniture=furniture, site_by_page=site_by_page)

    def lines_for(self, path: Path | str) -> frozenset[str]:
        """The furniture lines of the site ``path`` belongs to (empty when none is known)."""
        site = self.site_by_page.get(str(path))
        return self.furniture.get(site, frozenset()) if site else frozenset()


def _furniture_of(pages: dict[str, set[str]]) -> frozenset[str]:
    counts = _line_counts(pages.values())
    # Copies share most of their lines with another page: they say nothing about furniture.
    originals = [
        lines
        for lines in pages.values()
        if not lines or sum(1 for key in lines if counts[key] > 1) <= COPY_SHARE * len(lines)
    ]
    if len(originals) < MIN_PAGES:
        return frozenset()
    counts = _line_counts(originals)
    needed = max(MIN_PAGES, MIN_SHARE * len(originals))
    return frozenset(key for key, count in counts.items() if count >= needed)


def _line_counts(pages: Iterable[set[str]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for lines in pages:
        for key in lines:
            counts[key] += 1
    return counts
