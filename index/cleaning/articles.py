"""Where articles start and end on a page, and what their header blocks say."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlparse

from index.cleaning.dates import MONTH_NAMES, MONTHS, find_date
from index.cleaning.lines import (
    BYLINE,
    FEED_ITEM,
    LABEL_LINE,
    LONG_PARAGRAPH_WORDS,
    NAME_TOKEN,
    PUBLISHED_LINE,
    SPLIT_MARKER,
    URL_LINE,
    Para,
    is_body,
    is_byline,
    is_chrome,
    is_date_line,
    is_organisation,
    is_published_marker,
    is_title_candidate,
    names_from_byline,
)
from index.cleaning.markup import linked_names_after_by, strip_markup

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
                named = [unglued(n) for n in names_from_byline(meta.byline_names)]
                people = [n for n in named if not is_organisation(n)]
                meta.authors = tuple(people or named)
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
        if not meta.authors and title_at is not None and _is_lone_name(zone, index, title_at):
            meta.authors = (text,)
            continue
        kept.append(para)
    return meta, kept + paras[zone_end:]


# How far below the headline a byline without "By" may stand (a credit or standfirst between).
LONE_NAME_REACH = 3


def _is_lone_name(zone: list[Para], index: int, title_at: int) -> bool:
    """A line that is only a person's name, just under the headline and right above the date."""
    text = zone[index].text
    tokens = text.split()
    if not 2 <= len(tokens) <= 4 or not 0 < index - title_at <= LONE_NAME_REACH:
        return False
    if not all(NAME_TOKEN.match(token) for token in tokens) or is_organisation(text):
        return False
    below = zone[index + 1].text if index + 1 < len(zone) else ""
    return bool(below) and (is_date_line(below) or FEED_ITEM.search(below) is not None)


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


# ----------------------------------------------------------------------------- declared names


def unglued(name: str) -> str:
    """A name without the block glued onto it ("Sam SmithPaper News" → "Sam Smith")."""
    return _GLUED_TAIL.sub("", name).strip() or name


def names_of(value: object) -> list[str]:
    """Author names from a declared value: one string of names, or a list of them."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        if not isinstance(item, str):
            continue
        text = strip_markup(html.unescape(item))
        text = re.sub(r"^(?:written\s+)?by\s+", "", text, flags=re.IGNORECASE)
        for part in re.split(r"\s*(?:;|,|&|\|)\s*|\s+and\s+", text):
            name = part.strip(" *.")
            if name.isupper() and len(name) > 3:
                name = name.title()  # "KATE DAVIDSON" → "Kate Davidson"
            if name and not name.startswith(("http://", "https://")) and name not in names:
                names.append(name)
    return names


# ----------------------------------------------------------------------------- titles

_TITLE_SEPARATOR = re.compile(r"\s+(?:[|·•»–—]|::|-{1,2})\s+")
_SUFFIX_MAX_WORDS = 5
_HEADLINE_TO_BYLINE_LINES = 4
_SITE_REPEATS = 3  # a site's name recurs in its chrome: a suffix seen this often is the site


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def _names_site(part: str, sites: Sequence[str]) -> bool:
    key = _key(part)
    if not key:
        return False
    for site in sites:
        host = (urlparse(site).hostname or site) if "/" in site else site
        labels = [label for label in host.casefold().split(".") if label not in ("www", "m")]
        candidates = {_key(site), *(_key(label) for label in labels[:-1] or labels)}
        if key in candidates or key.removeprefix("the") in candidates:
            return True
    return False


def strip_title_suffix(
    title: str,
    *,
    sites: Sequence[str] = (),
    authors: Sequence[str] = (),
    lines: Sequence[str] = (),
) -> str:
    """ "Headline | Section | Site" → the headline a reader cites.

    A trailing part goes when it names the site (or its domain) or an author, when it is short
    and the page repeats it as its own chrome, or when the headline alone recurs on the page.
    """
    folded_lines = {line.strip().casefold() for line in lines}
    page = "\n".join(lines).casefold()
    author_keys = {_key(name) for name in authors}
    while True:
        cuts = list(_TITLE_SEPARATOR.finditer(title))
        if not cuts:
            return title
        last = cuts[-1]
        head, tail = title[: last.start()].strip(), title[last.end() :].strip()
        if len(tail.split()) > _SUFFIX_MAX_WORDS or len(head.split()) < 2:
            return title
        tail_is_chrome = (
            _names_site(tail, sites)
            or _key(tail) in author_keys
            or page.count(tail.casefold()) >= _SITE_REPEATS
        )
        if not (tail_is_chrome or head.casefold() in folded_lines):
            return title
        title = head


def title_from_lines(lines: Sequence[str]) -> str:
    """A text page's title: its first line (a <title>) when the page repeats it as a headline.

    A site suffix is dropped; pages whose blocks are glued together give the longest opening
    that recurs later.
    """
    plain = [strip_markup(line) for line in lines]
    plain = [line for line in plain if line]
    if not plain or is_chrome(plain[0]):
        return ""
    first, rest = plain[0], plain[1:]
    if is_title_candidate(Para(text=first, raw=first)):
        again = [i for i, line in enumerate(rest) if line.casefold() == first.casefold()]
        if not again:
            return strip_title_suffix(first, lines=rest) if len(first.split()) >= 3 else ""
        # seen again: the headline when a byline or date follows, else a section heading
        for index in again:
            below = rest[index + 1 : index + 1 + _HEADLINE_TO_BYLINE_LINES]
            if any(is_byline(line) or is_date_line(line) for line in below):
                return first
        return ""
    opening = _recurring_opening(first, "\n".join(plain))
    return opening if is_title_candidate(Para(text=opening, raw=opening)) else ""


def complete_meta(meta: PageMeta, raw: str, fallback_title: str) -> None:
    """The first article's metadata made whole from the page: title, byline, date, suffix."""
    if not meta.title or (len(meta.title.split()) < 3 <= len(fallback_title.split())):
        meta.title = fallback_title  # a one- or two-word "title" is a label, not a headline
    sites = [s for s in (meta.site, meta.url) if s]
    lines = [strip_markup(line) for line in raw.split("\n")]
    meta.title = strip_title_suffix(meta.title, sites=sites, authors=meta.authors, lines=lines)
    scan_page(meta, raw)
    meta.title = strip_title_suffix(meta.title, sites=sites, authors=meta.authors, lines=lines)


def _recurring_opening(first: str, page: str) -> str:
    """The longest run of 4+ words opening ``first`` that the page holds again later."""
    best = ""
    for match in re.finditer(r"(?<=[\w’'\".?!)])(?=\s|[A-Z]|$)", first[:400]):
        prefix = first[: match.end()].strip()
        if len(prefix.split()) < 4:
            continue
        if page.find(prefix, len(prefix)) == -1:
            break
        best = prefix
    return best


# ----------------------------------------------------------------------------- page scan

_AUTHOR_PATH = re.compile(
    r"/(?:authors?|profiles?|staff|users?|people|contributors?|writers?|journalists?|by|"
    r"byline|reporters?|columnists?|experts?)/(?P<slug>[^/?#)]+)/?(?:[?#][^)]*)?$",
    re.IGNORECASE,
)
_LINKED = re.compile(r"\[(?P<text>[^\]\n]{3,60})\]\((?P<url>[^)\s]+)\)")
_NOT_NAME = frozenset(
    [m.casefold() for m in MONTH_NAMES]
    + "monday tuesday wednesday thursday friday saturday sunday published updated posted "
    "the staff news photo photos video image and by for share comments follow".split()
)
# A name token; "McKenna" is one token, "SmithPaper" (a name glued to the next block) is not.
_TOKEN = r"(?:[A-Z][a-z]{0,2}[A-Z][a-z]+|[A-Z][a-z'’\-]+|[A-Z]\.)"
_GLUED_TAIL = re.compile(r"(?<=[a-z]{4})[A-Z].*$")
_PARTICLE = r"(?:de|van|von|der|den|bin|ibn|al|da|di|del|le|la|du|dos)"
_NAME_RE = rf"{_TOKEN}(?:[ \t]+(?:{_TOKEN}|{_PARTICLE})){{0,3}}"
_SCAN_BYLINE = re.compile(
    r"(?:(?:^|(?<=\n))[ \t*]*(?:[Ww]ritten\s*)?[Bb][Yy]|(?:[Ww]ritten\s*[Bb]y|By|BY))"
    r"(?=[\s:]|[A-Z])[\s:]*"
    rf"(?P<names>{_NAME_RE}(?:\s*(?:,|&|;|\band\b)\s*{_NAME_RE})*)"
)
_SCAN_WINDOW = 700


def author_links(raw: str) -> list[str]:
    """Names linked to their author pages (``[A Name](/author/a-name)``), in page order."""
    names: list[str] = []
    for match in _LINKED.finditer(raw):
        path = _AUTHOR_PATH.search(match.group("url"))
        name = strip_markup(match.group("text"))
        if not path or not name:
            continue
        slug = _key(unquote(path.group("slug")))
        matches = bool(slug and _key(name)) and (_key(name) in slug or slug in _key(name))
        if matches and name not in names:
            names.append(name)
    return names


def _byline_names(window: str) -> list[str]:
    for match in _SCAN_BYLINE.finditer(window):
        names = [
            name.strip()
            for name in re.split(r"\s*(?:,|&|;|\band\b)\s*", match.group("names"))
            if name.strip()
        ]
        good = [
            n
            for n in names
            if not any(token.casefold() in _NOT_NAME for token in n.split())
            and (len(n.split()) >= 2 or window[match.end() :].startswith(("\n", " \n")))
        ]
        if good and len(good) == len(names):
            return good
    return []


def _fold(text: str) -> str:
    """Case and typographic quotes folded, one character for one (positions stay put)."""
    return text.translate(_QUOTE_FOLD).lower()


_QUOTE_FOLD = str.maketrans("‘’“”–—", "''\"\"--")
_BYLINE_REACH = 0.7  # a byline found without the headline lies in the page's first part


def scan_page(meta: PageMeta, raw: str) -> None:
    """Fill authors and date still missing from the lines right after the headline.

    The headline is the title seen again on the page with a byline or date right below it;
    without one, the page's first byline stands for it. Authors linked to their author pages
    are the last resort.
    """
    lines = [strip_markup(line) for line in raw.split("\n")]
    flat = "\n".join(line for line in lines if line)
    folded = _fold(flat)
    window = ""
    title = _fold(meta.title)
    found = folded.find(title) if len(title) >= 10 else -1
    while found != -1:
        after = flat[found + len(title) : found + len(title) + _SCAN_WINDOW]
        if _byline_names(after) or find_date(after):
            window = after
            break
        found = folded.find(title, found + len(title))
    if not window:
        byline = _SCAN_BYLINE.search(flat, 0, int(len(flat) * _BYLINE_REACH))
        while byline and not _byline_names(flat[byline.start() : byline.end() + 2]):
            byline = _SCAN_BYLINE.search(flat, byline.end(), int(len(flat) * _BYLINE_REACH))
        if byline:
            window = flat[byline.start() : byline.start() + _SCAN_WINDOW]
    if not meta.authors:
        meta.authors = tuple(_byline_names(window) or author_links(raw)[:1])
    if meta.published is None:
        found_date = find_date(window)
        if found_date:
            meta.published = found_date[0]


# ----------------------------------------------------------------------------- article count

# A later segment whose long paragraphs are mostly already on the page is a copy of one.
REPEAT_SHARE = 0.6
# A digest: items closed by the same link phrase ("See article"), or numbered headed items.
DIGEST_MIN_ITEMS = 3
DIGEST_MIN_SHARE = 0.25  # of the prose paragraphs, closing with the recurring link phrase
LISTING_MIN_ITEMS = 4
LISTING_ITEM_MAX_PARAS = 3
LISTING_ITEM_MAX_WORDS = 250
_CLOSING_LINK = re.compile(
    r"(?P<lead>(?:\b\w+\s+){0,2})\[(?P<text>[^\]]{1,40})\]\([^)]*\)[\s.)*_]*$"
)
_NUMBERED = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\*\*)?(?P<number>\d{1,2})[.)]\s+\S")


def has_header(meta: PageMeta) -> bool:
    """Whether a segment opened with a header of its own: a title, byline or date."""
    return bool(meta.title or meta.authors or meta.published)


def settle_articles(articles: list[Article], page: PageMeta) -> list[Article]:
    """The page's articles as a reader counts them.

    A segment without a header of its own, or without one sentence of prose under its header
    (a teaser over a list), is no article: it joins the article before it (or, leading the
    page, the one after). A later copy of an article is dropped. A digest of short
    items becomes one article per item.
    """
    joined: list[Article] = []
    pending: list[Para] = []
    for article in articles:
        if not has_header(article.meta) or (joined and not _has_sentences(article.paras)):
            if joined:
                joined[-1].paras.extend(article.paras)
            else:
                pending.extend(article.paras)
            continue
        if pending:
            article = Article(meta=article.meta, paras=[*pending, *article.paras])
            pending = []
        joined.append(article)
    if pending:
        joined.append(Article(meta=PageMeta(), paras=pending))
    distinct: list[Article] = []
    seen: set[str] = set()
    for article in joined:
        keys = [_para_key(p) for p in article.paras if p.words >= LONG_PARAGRAPH_WORDS]
        if distinct and keys and sum(k in seen for k in keys) >= REPEAT_SHARE * len(keys):
            continue
        seen.update(keys)
        distinct.append(article)
    items: list[Article] = []
    for article in distinct:
        items.extend(split_digest(article, page))
    return items


_SENTENCE_END = re.compile(r"[a-z0-9%)”\"'’][.!?][\"”’)]?(?:\s|$)")


def _has_sentences(paras: list[Para]) -> bool:
    return any(p.words >= 12 and _SENTENCE_END.search(p.text) for p in paras)


def _para_key(para: Para) -> str:
    return re.sub(r"\W+", "", para.text.casefold())


def split_digest(article: Article, page: PageMeta) -> list[Article]:
    """A digest page → one article per item; any other article is returned as it is."""
    starts = _closing_link_items(article.paras)
    titled = False
    if starts is None:
        starts = _numbered_items(article.paras)
        titled = starts is not None
    if starts is None:
        return [article]
    base = merge_meta(article.meta, page)
    items: list[Article] = []
    for number, (start, end) in enumerate(itertools.pairwise([*starts, len(article.paras)])):
        paras = article.paras[start:end] if number else article.paras[:end]
        meta = replace(base)
        if titled and number:
            meta.title = paras[0].text
            paras = paras[1:]
        items.append(Article(meta=meta, paras=paras))
    return items


def _closing_link_items(paras: list[Para]) -> list[int] | None:
    """Each prose paragraph is an item when many close with the same link ("See article")."""
    prose = [i for i, p in enumerate(paras) if p.words >= 12 and not p.heading]
    closings: dict[str, int] = {}
    for i in prose:
        match = _CLOSING_LINK.search(paras[i].raw)
        if match:
            phrase = f"{match.group('lead')} {match.group('text')}".casefold().split()
            key = " ".join(phrase)
            closings[key] = closings.get(key, 0) + 1
    best = max(closings.values(), default=0)
    if best < DIGEST_MIN_ITEMS or best < DIGEST_MIN_SHARE * len(prose):
        return None
    return prose


def _numbered_items(paras: list[Para]) -> list[int] | None:
    """Items headed "1. …", "2. …" (short headings, each over a little prose) of a listing."""
    heads: list[int] = []
    for index, para in enumerate(paras):
        match = _NUMBERED.match(para.raw)
        if match and is_title_candidate(para) and int(match.group("number")) == len(heads) + 1:
            heads.append(index)
    if len(heads) < LISTING_MIN_ITEMS:
        return None
    for start, end in itertools.pairwise([*heads, len(paras)]):
        body = paras[start + 1 : end]
        prose = [p for p in body if p.words >= LONG_PARAGRAPH_WORDS]
        if not prose or len(prose) > LISTING_ITEM_MAX_PARAS:
            return None
        if sum(p.words for p in prose) > LISTING_ITEM_MAX_WORDS:
            return None
    return heads
