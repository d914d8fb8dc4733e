"""Scraped page → clean articles: markup stripped, boilerplate dropped, metadata lifted out.

The rules are general shapes of site chrome (newsletter prompts, share buttons, bylines,
datelines, headline feeds, author bios, tables of contents), never strings of one site.
A page may hold several articles ("Continue Reading" blocks); each becomes a ``Document``.
"""

from __future__ import annotations

import html
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlparse

import numpy as np

from index.models import Document

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]

# A paragraph this long is prose: it anchors the article and the topic centroid.
LONG_PARAGRAPH_WORDS = 25
# Stray-line filter: candidates are single sentences shorter than this.
STRAY_MAX_WORDS = 30
STRAY_REFERENCE_PARAGRAPHS = 8  # long paragraphs that stand for the article's topic
# A standalone line is off-topic when its cosine to the article centroid falls below both a
# fraction of the median cosine of the article's long paragraphs and that median minus some MADs
# (relative, so it adapts to the model and to how tight the article is).
STRAY_RELATIVE_FLOOR = 0.5
STRAY_MAD_FACTOR = 4.0
HEADER_ZONE_PARAGRAPHS = 12


# --------------------------------------------------------------------------- dates


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<mon>[A-Za-z]{3,9})\.?"
_DATE_RE = re.compile(
    r"(?<!\d)(?:"
    r"(?P<y1>\d{4})[-/](?P<m1>\d{1,2})[-/](?P<d1>\d{1,2})(?!\d)"
    rf"|{_MONTH.replace('mon', 'mon2')}\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH.replace('mon', 'mon3')},?\s+"
    r"(?P<y3>\d{4})"
    r")(?!\d)"
)


def _date_from_match(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    try:
        if groups["y1"]:
            year, month, day = int(groups["y1"]), int(groups["m1"]), int(groups["d1"])
        elif groups["y2"]:
            month = _MONTHS[groups["mon2"].lower()]
            year, day = int(groups["y2"]), int(groups["d2"])
        else:
            month = _MONTHS[groups["mon3"].lower()]
            year, day = int(groups["y3"]), int(groups["d3"])
        return date(year, month, day).isoformat()
    except (KeyError, ValueError):
        return None


def find_date(text: str) -> tuple[str, tuple[int, int]] | None:
    """The first parseable calendar date in ``text``: its ISO form and where it stood."""
    for match in _DATE_RE.finditer(text):
        iso = _date_from_match(match)
        if iso:
            return iso, match.span()
    return None


def normalise_date(value: str | None) -> str | None:
    """``value`` as ISO ``YYYY-MM-DD`` when it holds a recognisable date, else ``None``."""
    if not value:
        return None
    found = find_date(value.strip())
    return found[0] if found else None


# --------------------------------------------------------------------------- markup


_ESCAPABLE = "\\`*_{}[]()#+-.!|<>~"
_ESCAPED_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\((?:[^()]|\([^)]*\))*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK_RE = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_STRONG_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_EM_UNDERSCORE_RE = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_STRIKE_RE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_CODE_RE = re.compile(r"`([^`]+)`")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+")
_LIST_MARK_RE = re.compile(r"^(?:[-+•▪◦]\s+|\*\s+(?=\S)|\d{1,2}[.)]\s+(?=[A-Z]))")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _protect(match: re.Match[str]) -> str:
    return chr(0xE000 + ord(match.group(1)))


_PROTECTED_RE = re.compile("[\ue000-\ue07f]")


def _restore(text: str) -> str:
    return _PROTECTED_RE.sub(lambda m: chr(ord(m.group()) - 0xE000), text)


def strip_markup(line: str) -> str:
    """One line of markdown/HTML → plain text, keeping link text and dropping link targets."""
    text = _INVISIBLE_RE.sub("", line).replace("\u00a0", " ").strip()
    text = _ESCAPED_RE.sub(_protect, text)
    text = _HEADING_RE.sub("", text)
    text = re.sub(r"\s+#+\s*$", "", text)
    text = re.sub(r"^(?:>\s?)+", "", text)
    text = _IMAGE_RE.sub("", text)
    text = _LINK_RE.sub(r"\1", text)
    text = _REF_LINK_RE.sub(r"\1", text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    for pattern in (_STRONG_RE, _STRONG_RE):  # twice: bold nested in bold-italic
        text = pattern.sub(r"\2", text)
    text = _EM_STAR_RE.sub(r"\1", text)
    text = _EM_UNDERSCORE_RE.sub(r"\1", text)
    text = _STRIKE_RE.sub(r"\1", text)
    text = _CODE_RE.sub(r"\1", text)
    text = _LIST_MARK_RE.sub("", text.strip())
    text = _restore(text)
    return re.sub(r"\s+", " ", text).strip()


_LINKED_NAME_RE = re.compile(
    r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)|<(?:u|a|b|strong|em|i|span)\b[^>]*>(.*?)</(?:u|a|b|strong|em|i|span)>",
    re.IGNORECASE,
)
_NAME_GLUE_RE = re.compile(r"^(?:\s|,|&|;|\band\b|\*\*|\*)*$", re.IGNORECASE)


def _linked_names_after_by(raw: str) -> list[str]:
    """Names a byline gives as links (``By [A](#) and [B](#)``), in order, or ``[]``."""
    head = re.match(r"^\s*(?:#+\s*)?(?:\*\*)?\s*(?:written\s+)?by\b:?\s*", raw, re.IGNORECASE)
    if not head:
        return []
    names: list[str] = []
    position = head.end()
    for match in _LINKED_NAME_RE.finditer(raw, position):
        if not _NAME_GLUE_RE.match(raw[position : match.start()]):
            break
        name = strip_markup(match.group(1) or match.group(2) or "")
        if name:
            names.append(name)
        position = match.end()
    return names


# --------------------------------------------------------------------------- paragraphs


@dataclass
class _Para:
    text: str
    raw: str
    heading: bool = False
    joined_to_previous: bool = False  # same block: no blank line before it

    @property
    def words(self) -> int:
        return len(self.text.split())


_SENTENCE_END = (".", "!", "?", '"', "”", "’", "'", ")", "…")


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip("*† ")
    if stripped.endswith(("...", "…")):
        return False
    return stripped.endswith(_SENTENCE_END)


def _split_paragraphs(raw: str) -> list[_Para]:
    """Every non-empty line is a paragraph; a line broken mid-sentence is joined back."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    raw = re.sub(r"<br\s*/?>", "\n", raw, flags=re.IGNORECASE)
    raw = re.sub(r"</(?:p|div|h[1-6]|li|blockquote)>", "\n\n", raw, flags=re.IGNORECASE)
    paras: list[_Para] = []
    blank_before = True
    for line in raw.split("\n"):
        if not line.strip():
            blank_before = True
            continue
        text = strip_markup(line)
        if not text:
            blank_before = False
            continue
        para = _Para(
            text=text,
            raw=line,
            heading=bool(_HEADING_RE.match(line)),
            joined_to_previous=not blank_before,
        )
        blank_before = False
        previous = paras[-1] if paras else None
        starts_lower = re.match(r"^\(?[a-z]", text) is not None
        if (
            previous is not None
            and starts_lower
            and (previous.words >= 15 or _is_published_marker(previous.text))
            and not previous.heading
            and not _ends_sentence(previous.text)
            and not previous.text.rstrip().endswith(":")
            and not re.match(r"^(?:www\.|https?:|by\s)", text, re.IGNORECASE)
            and not _is_chrome(previous.text)
            and not _is_chrome(text)
        ):
            previous.text = f"{previous.text} {text}"
            previous.raw = f"{previous.raw} {line.strip()}"
            continue
        paras.append(para)
    return paras


# --------------------------------------------------------------------------- line kinds


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Phrases only site chrome uses: a line holding one is chrome even when long (notices).
_CHROME_NOTICES = _rx(
    r"\btranslate website\b",
    r"\bcan be read in \d+ languages\b",
    r"\b(?:daily|weekly)\s+newsletters?\b",
    r"\b(?:click|tap|hit)\s+(?:on\s+)?the\s+share\s+buttons?\b",
    r"\bcopyrighted\s+material\b",
    r"\bsole\s+responsibility\s+of\s+the\s+author",
    r"\bthe\s+original\s+source\s+of\s+this\s+article\b",
    r"\bgrants?\s+permission\s+to\s+(?:cross-?post|republish|reprint)\b",
)
# Prompts that may also occur in prose: chrome only as a short line of their own.
_CHROME_PROMPTS = _rx(
    r"\bnewsletters?\b",
    r"\bshare\s+buttons?\b",
    r"\bshare\s+(?:it\s+|this\s+)?(?:widely|article|story|post)\b",
    r"\bfollow\s+us\b",
    r"\bsubscribe\s+(?:to\s+our|now|today|here)\b",
    r"\bsign\s+up\s+(?:for|to)\s+(?:our|the)\b",
    r"\bforward\s+this\s+(?:article|story|post)\b",
    r"\bcross-?post\b",
    r"\brepost\b",
    r"\bthis\s+article\s+(?:was\s+)?(?:first|originally)\s+(?:appeared|published)\b",
    r"\ball\s+rights\s+reserved\b",
    r"\bbecome\s+a\s+(?:member|subscriber|patron|supporter)\b",
    r"\bsupport\s+(?:our|independent)\s+journalism\b",
    r"\bcomment\s+on\s+.{0,60}\bfacebook\b",
    r"\b(?:for\s+)?(?:media|press)\s+inquiries\s*:",
    r"^for\s+(?:media|press)\s+inquiries\b",
)
# Chrome recognisable from how a short line starts.
_CHROME_START = _rx(
    r"^(?:note\s+to\s+readers|editor'?s\s+note\s*:\s*this\s+article)\b",
    r"^(?:copyright\s*(?:©|\(c\)|\d{4})|©)",
    r"^(?:featured|header|cover|top|lead|main|hero)\s+(?:image|photo|picture)\b",
    r"^(?:image|photo|picture|illustration)\s*(?:credits?|source|courtesy|by)?\s*:",
    r"^(?:image|photo|picture)\s+(?:credits?|source|courtesy|by)\b",
    r"^(?:articles|posts|stories|more)\s+(?:by|from)\s*:",
    r"^(?:no|\d+)\s+comments?\s*:?\s*$",
    r"^(?:leave|post|add|write)\s+a\s+(?:comment|reply)\b",
    r"^(?:advertisement|sponsored(?:\s+content)?|ad)\s*$",
    r"^(?:listen\s+to\s+this\s+article|reading\s+time|\d+\s+min(?:ute)?s?\s+read)\b",
    r"^(?:related|also\s+read|see\s+also|read\s+also|recommended)\s*:",
    r"^click\s+here\b",
    r"^(?:from|courtesy\s+of)\s+our\s+partners?\b",
    r"^(?:skip\s+to\s+(?:main\s+)?content|connect\s+with\s+us|jump\s+to)\b",
)
_NAME_LABEL = re.compile(r"^(?:articles|posts|stories|more)\s+(?:by|from)\s*:", re.IGNORECASE)
# A disclaimer block is long, but says so in its first word.
_DISCLAIMER_START = re.compile(r"^(?:disclaimer|legal\s+notice)\s*:", re.IGNORECASE)
_NAV_WORDS = (
    r"share|shares|tweet|email|e-mail|print|facebook|twitter|x|linkedin|whatsapp|telegram|"
    r"reddit|pinterest|instagram|youtube|comments?|menu|home|search|log\s*in|sign\s*in|"
    r"sign\s*up|subscribe|donate|close|next|previous|prev|back\s+to\s+top|top"
)
_NAV_LINE = re.compile(rf"^(?:(?:{_NAV_WORDS})[\s|•·/,]*)+$", re.IGNORECASE)
_SEPARATOR = re.compile(r"^[\s*\-_=~•·.#|+]+$")
_SPLIT_MARKER = re.compile(
    r"^(?:continue\s+reading|read\s+more|read\s+the\s+(?:rest|full\s+(?:article|story))|"
    r"keep\s+reading)\b[\s.:>»→…]*$",
    re.IGNORECASE,
)
_FEED_HEADING = re.compile(
    r"^(?:latest|latest\s+(?:news|posts|articles|stories)|trending|trending\s+now|popular|"
    r"most\s+(?:popular|read|viewed|shared)|related|related\s+(?:articles|posts|stories|news)|"
    r"recommended|recommended\s+for\s+you|more\s+stories|more\s+news|read\s+next|"
    r"you\s+(?:may|might)\s+also\s+like|publications|editor'?s\s+picks?|top\s+stories)\s*:?$",
    re.IGNORECASE,
)
_FEED_ITEM = re.compile(
    r"\d+\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago$",
    re.IGNORECASE,
)
_LABEL_LINE = re.compile(
    r"^(?:theme|themes|region|regions|topics?|tags?|categor(?:y|ies)|section|filed\s+under|"
    r"posted\s+in|keywords?)\s*:",
    re.IGNORECASE,
)
_PUBLISHED_LINE = re.compile(
    r"^(?:published|posted|updated|last\s+updated|first\s+published|date)\b(?:\s+on)?\s*:?",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^(?:written\s+by|words\s+by|by|authors?)\s*:?\s+(?P<names>.+)$", re.I)
_URL_LINE = re.compile(
    r"^(?:(?:url|source|link|original(?:ly)?(?:\s+(?:published|posted))?(?:\s+at)?)\s*:\s*)?"
    r"(?P<url>https?://\S+)$",
    re.IGNORECASE,
)
_BIO_ROLE = re.compile(
    r"\b(?:fellow|professor|lecturer|director|researcher|research\s+(?:associate|assistant)|"
    r"student|analyst|editor|journalist|correspondent|author|writer|columnist|scholar|"
    r"ph\.?d|doctoral|postdoctoral|associate|founder|chair(?:man|woman)?|president|"
    r"consultant|diplomat|ambassador|expert|member|contributor|reporter|head\s+of)\b",
    re.IGNORECASE,
)
_NAME = r"(?:[A-Z][\w'’.\-]*\.?)(?:\s+(?:[A-Z][\w'’.\-]*\.?|de|van|von|der|bin|al|da|le))*"
_BIO_START = re.compile(
    rf"^\*?\s*(?P<name>{_NAME})\s*(?:,|\bis\b|\bwas\b|\bhas\s+been\b|\bholds\b|\bserves\b|"
    r"\bteaches\b|\bworks\b|\bwrites\b|\(|\bi\s?s\b)"
)
_CONTACT = re.compile(r"\bcontact\s*:|\b[\w.+-]+(?:@|\[at\])[\w-]+\.[\w.]+\b", re.IGNORECASE)
_DEGREE_START = re.compile(r"^\*?\s*(?:ph\.?\s?d\.?|m\.?a\.?|m\.?sc?\.?|mba|dr\.)\s", re.I)


def _is_chrome(text: str) -> bool:
    """Site boilerplate: prompts, buttons, notices, separators, nav words."""
    words = len(text.split())
    if _SEPARATOR.match(text) or _NAV_LINE.match(text):
        return True
    if _CHROME_NOTICES.search(text) or _DISCLAIMER_START.match(text):
        return words <= 200
    if words > 40:  # prompts and chrome openers only count as short lines of their own
        return False
    return bool(_CHROME_START.search(text) or _CHROME_PROMPTS.search(text))


def _is_date_line(text: str) -> bool:
    """A dateline: a date plus at most a few words (a site or source name)."""
    found = find_date(text)
    if not found:
        return False
    start, end = found[1]
    rest = (text[:start] + " " + text[end:]).strip(" ,|-–—·")
    rest = _PUBLISHED_LINE.sub("", rest).strip()
    return len(rest.split()) <= 6


def _is_published_marker(text: str) -> bool:
    return bool(_PUBLISHED_LINE.match(text)) and len(text.split()) <= 8


_NAME_TOKEN = re.compile(
    r"^(?:[A-Z][\w'’.\-]*|de|van|von|der|den|bin|ibn|al|da|di|del|le|la|du|dos)\*?$"
)


def _is_byline(text: str) -> bool:
    """``By A. Name`` / ``Authors: A & B`` (names, then maybe a date or site, nothing else)."""
    match = _BYLINE.match(text)
    if not match or len(text.split()) > 30:
        return False
    names = _names_from_byline(match.group("names"), strict=False)
    return bool(names) and all(
        1 <= len(name.split()) <= 8 and all(_NAME_TOKEN.match(t) for t in name.split())
        for name in names
    )


def _is_title_candidate(para: _Para) -> bool:
    text = para.text
    return (
        1 <= para.words <= 25
        and not text.rstrip().endswith((".", ":", ";", ","))
        and not _is_date_line(text)
        and not _is_byline(text)
        and not _is_published_marker(text)
        and not _LABEL_LINE.match(text)
        and not _is_chrome(text)
    )


def _is_body(para: _Para) -> bool:
    return (
        para.words >= LONG_PARAGRAPH_WORDS
        and not _is_chrome(para.text)
        and not _is_byline(para.text)
        and not _LABEL_LINE.match(para.text)
    )


def _is_bio(text: str, author_names: Sequence[str]) -> bool:
    """An author's bio or contact line, as found at the end of articles."""
    words = len(text.split())
    if words > 80:
        return False
    bare = text.lstrip("*† ").strip()
    if any(name and bare.startswith(name) for name in author_names) and (
        words <= 30 or _BIO_ROLE.search(text)
    ):
        return True
    if _DEGREE_START.match(text) or (_CONTACT.search(text) and words <= 60):
        return True
    match = _BIO_START.match(text)
    if not match:
        return False
    return words <= 60 and _BIO_ROLE.search(text[match.end() :]) is not None


def _bio_name(text: str) -> str | None:
    match = _BIO_START.match(text)
    if not match:
        return None
    name = match.group("name").strip()
    return name if 2 <= len(name.split()) <= 5 else None


# --------------------------------------------------------------------------- segments


@dataclass
class _Meta:
    title: str = ""
    authors: tuple[str, ...] = ()
    byline_names: str = ""
    published: str | None = None
    site: str | None = None
    url: str | None = None


@dataclass
class _Article:
    meta: _Meta
    paras: list[_Para] = field(default_factory=list)


def _split_at_markers(paras: list[_Para]) -> list[list[_Para]]:
    """Cut the page at "Continue Reading"-style markers and at mid-page header blocks."""
    segments: list[list[_Para]] = [[]]
    for para in paras:
        if _SPLIT_MARKER.match(para.text):
            segments.append([])
            continue
        segments[-1].append(para)
    result: list[list[_Para]] = []
    for segment in segments:
        result.extend(_split_at_headers(segment))
    return [segment for segment in result if segment]


def _split_at_headers(paras: list[_Para]) -> list[list[_Para]]:
    """A byline or "Published" line after body text opens a new article at its title line."""
    cuts: list[int] = []
    seen_body = False
    last_cut = 0
    for index, para in enumerate(paras):
        if _is_body(para):
            seen_body = True
            continue
        is_anchor = _is_byline(para.text) or _is_published_marker(para.text)
        if not (is_anchor and seen_body):
            continue
        title_at = next(
            (
                j
                for j in range(index - 1, max(last_cut, index - 4) - 1, -1)
                if _is_title_candidate(paras[j])
            ),
            None,
        )
        if title_at is None or title_at <= last_cut:
            continue
        start = title_at
        if start - 1 > last_cut and paras[start - 1].words <= 4 and not _is_body(paras[start - 1]):
            start -= 1  # the category line above the title
        cuts.append(start)
        last_cut = start
        seen_body = False
    bounds = [0, *cuts, len(paras)]
    return [paras[a:b] for a, b in itertools.pairwise(bounds)]


def _names_from_byline(names: str, *, strict: bool = True) -> list[str]:
    names = re.split(
        r"\s+(?:[|–—]|-\s)\s*|\b(?:region|theme|topics?|tags?|published|updated)\s*:",
        names,
        maxsplit=1,
        flags=re.IGNORECASE,
    )[0]
    found = find_date(names)
    if found:
        names = names[: found[1][0]]
    parts = re.split(r"\s*(?:,|&|;|\band\b|\bund\b|\bet\b)\s*", names)
    cleaned = [part.strip(" *†‡0-9,:").strip() for part in parts]
    if not strict:
        return [part for part in cleaned if part]
    return [part for part in cleaned if part and part[0].isupper()]


def _site_from_dateline(text: str) -> str | None:
    found = find_date(text)
    if not found:
        return None
    before = text[: found[1][0]].rstrip()
    match = re.search(r"(?:^|\s)(?P<site>[A-Z][\w.\-]*(?:\s+[A-Z][\w.\-]*){0,4})\s*,$", before)
    if not match:
        return None
    site = match.group("site").strip()
    if _PUBLISHED_LINE.match(site) or site.lower() in _MONTHS:
        return None
    return site


def _read_header(paras: list[_Para]) -> tuple[_Meta, list[_Para]]:
    """Lift title/byline/date/site out of the header block; return the paragraphs left."""
    meta = _Meta()
    zone_end = 0
    while zone_end < min(len(paras), HEADER_ZONE_PARAGRAPHS) and not _is_body(paras[zone_end]):
        zone_end += 1
    zone = paras[:zone_end]

    anchor = next(
        (i for i, p in enumerate(zone) if _is_byline(p.text) or _is_published_marker(p.text)),
        None,
    )
    if anchor is None:
        anchor = next(
            (
                i
                for i, p in enumerate(zone)
                if _is_date_line(p.text) and i > 0 and _is_title_candidate(zone[i - 1])
            ),
            None,
        )
    heading_at = next((i for i, p in enumerate(zone) if p.heading and _is_title_candidate(p)), None)
    title_at: int | None = None
    if heading_at is not None and (anchor is None or heading_at < anchor):
        title_at = heading_at
    elif anchor is not None:
        title_at = _title_above(zone, anchor)
    if title_at is not None:
        meta.title = zone[title_at].text

    kept: list[_Para] = []
    for index, para in enumerate(zone):
        text = para.text
        if index == title_at:
            continue
        if _is_byline(text):
            linked = _linked_names_after_by(para.raw)
            names = _BYLINE.match(text)
            meta.byline_names = names.group("names") if names else ""
            if linked:
                meta.authors = tuple(linked)
                rest = _BYLINE.sub(r"\g<names>", text)
                for name in linked:
                    rest = rest.replace(name, " ", 1)
            else:
                meta.authors = tuple(_names_from_byline(meta.byline_names))
                rest = meta.byline_names
            _take_date_and_site(meta, rest)
            continue
        if _is_date_line(text) or _is_published_marker(text):
            _take_date_and_site(meta, text)
            continue
        url = _URL_LINE.match(text)
        if url:
            meta.url = meta.url or url.group("url")
            continue
        if _LABEL_LINE.match(text) or _is_chrome(text):
            continue
        if title_at is not None and index < title_at:
            continue  # nav and category lines above the title
        kept.append(para)
    return meta, kept + paras[zone_end:]


def _title_above(zone: list[_Para], anchor: int) -> int | None:
    """The title among the short lines right above a byline: skip a 1-3 word category."""
    run: list[int] = []
    j = anchor - 1
    while j >= 0 and len(run) < 3:
        if _is_title_candidate(zone[j]):
            run.insert(0, j)
        elif not (_is_date_line(zone[j].text) or _is_chrome(zone[j].text)):
            break
        j -= 1
    if not run:
        return None
    return next((i for i in run if zone[i].words >= 4), run[-1])


def _take_date_and_site(meta: _Meta, text: str) -> None:
    found = find_date(text)
    if found and meta.published is None:
        meta.published = found[0]
        meta.site = meta.site or _site_from_dateline(text)


def _drop_feeds(paras: list[_Para]) -> list[_Para]:
    """Cut a trailing "Latest"/"Trending" feed and drop "Topic2 hours ago" items with teasers."""
    total = sum(len(p.text) for p in paras) or 1
    seen = 0
    for index, para in enumerate(paras):
        if _FEED_HEADING.match(para.text) and seen > total / 2:
            paras = paras[:index]
            break
        seen += len(para.text)
    kept: list[_Para] = []
    skip = 0
    for para in paras:
        if _FEED_ITEM.search(para.text) and para.words <= 8:
            skip = 2  # its headline and teaser follow
            continue
        if skip and (not _is_body(para) or para.text.endswith(("...", "…"))):
            skip -= 1
            continue
        skip = 0
        kept.append(para)
    return kept


def _drop_chrome(paras: list[_Para]) -> list[_Para]:
    kept: list[_Para] = []
    dropped_label = False
    for para in paras:
        if (
            dropped_label
            and para.joined_to_previous
            and para.words <= 3
            and all(_NAME_TOKEN.match(token) for token in para.text.split())
        ):
            continue  # the wrapped tail of an "Articles by: M. K." line
        dropped_label = False
        if _is_chrome(para.text):
            dropped_label = _NAME_LABEL.match(para.text) is not None
            continue
        kept.append(para)
    return kept


def _drop_tables_of_contents(paras: list[_Para]) -> list[_Para]:
    """A run of three or more short lines repeating headings found elsewhere is navigation."""
    counts: dict[str, int] = {}
    for para in paras:
        key = para.text.casefold()
        counts[key] = counts.get(key, 0) + 1

    def short(p: _Para) -> bool:
        return p.words <= 16 and _is_title_candidate(p)

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


def _drop_trailer(paras: list[_Para], authors: Sequence[str]) -> tuple[list[_Para], list[str]]:
    """Strip bios, attributions and dangling short lines off an article's end."""
    counts: dict[str, int] = {}
    for para in paras:
        counts[para.text.casefold()] = counts.get(para.text.casefold(), 0) + 1
    bio_names: list[str] = []
    end = len(paras)
    while end > 0:
        para = paras[end - 1]
        text = para.text
        if _is_bio(text, authors):
            name = _bio_name(text)
            if name:
                bio_names.insert(0, name)
        elif not (
            _is_chrome(text)
            or (para.words <= 16 and not _ends_sentence(text))
            or (text.endswith("?") and para.words <= 16 and counts[text.casefold()] > 1)
            or (re.match(r"^(?:from|via|source|courtesy\s+of)\b", text, re.I) and para.words <= 8)
        ):
            break
        end -= 1
    return paras[:end], bio_names


def _split_names_by_bios(byline: str, bio_names: Sequence[str]) -> list[str] | None:
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


# --------------------------------------------------------------------------- stray lines


def _is_stray_candidate(para: _Para) -> bool:
    text = para.text
    if para.words >= STRAY_MAX_WORDS or para.heading or not text.endswith((".", "!")):
        return False
    inner = text[:-1]
    return re.search(r"[.!?][\"”’)]?\s+[A-Z]", inner) is None


def _drop_stray_lines(paras: list[_Para], embed: Embed) -> list[_Para]:
    """Drop short standalone sentences far off the topic of the article's long paragraphs."""
    long_idx = [i for i, p in enumerate(paras) if p.words >= STRAY_MAX_WORDS]
    cand_idx = [i for i, p in enumerate(paras) if _is_stray_candidate(p)]
    if len(long_idx) < 3 or not cand_idx:
        return paras
    if len(long_idx) > STRAY_REFERENCE_PARAGRAPHS:
        # An evenly spread sample fixes the article's topic as well as all of it, for less encoding.
        picks = np.linspace(0, len(long_idx) - 1, STRAY_REFERENCE_PARAGRAPHS).round().astype(int)
        long_idx = [long_idx[i] for i in sorted(set(picks.tolist()))]
    vectors = np.asarray(embed([paras[i].text for i in long_idx + cand_idx]), dtype=np.float32)
    long_vecs, cand_vecs = vectors[: len(long_idx)], vectors[len(long_idx) :]
    total = long_vecs.sum(axis=0)
    centroid = total / (np.linalg.norm(total) or 1.0)
    # each long paragraph against the centroid of the others: how on-topic prose scores here
    reference = []
    for row in long_vecs:
        others = total - row
        reference.append(float(row @ others) / float(np.linalg.norm(others) or 1.0))
    median = float(np.median(reference))
    mad = float(np.median(np.abs(np.asarray(reference) - median))) or 1e-3
    threshold = min(median * STRAY_RELATIVE_FLOOR, median - STRAY_MAD_FACTOR * mad)
    drop = set()
    for index, vec in zip(cand_idx, cand_vecs, strict=True):
        score = float(vec @ centroid)
        if score < threshold:
            log.debug(
                "dropping stray line (cos %.3f < %.3f): %.60s", score, threshold, paras[index].text
            )
            drop.add(index)
    return [p for i, p in enumerate(paras) if i not in drop]


# --------------------------------------------------------------------------- public


def clean_page(
    raw: str,
    *,
    source_id: str,
    path: str | None = None,
    is_html: bool = False,
    embed: Embed | None = None,
) -> list[Document]:
    """A scraped page → its articles as clean ``Document``s (``[]`` when nothing is left).

    ``embed`` (texts → unit vectors) enables dropping short off-topic lines; without it
    only the rule-based cleaning runs. HTML goes through trafilatura first.
    """
    page_meta = _Meta()
    if is_html:
        raw, page_meta = _extract_html(raw)
        if not raw:
            return []
    paras = _drop_chrome(_split_paragraphs(raw))
    articles: list[_Article] = []
    for segment in _split_at_markers(paras):
        segment = _drop_tables_of_contents(_drop_feeds(segment))
        meta, body = _read_header(segment)
        body = [p for p in body if not _is_chrome(p.text)]
        body, bio_names = _drop_trailer(body, meta.authors)
        if meta.byline_names and bio_names and len(meta.authors) <= 1:
            split = _split_names_by_bios(meta.byline_names, bio_names)
            if split:
                meta.authors = tuple(split)
        articles.append(_Article(meta=meta, paras=body))

    kept = [a for a in articles if any(p.words >= LONG_PARAGRAPH_WORDS for p in a.paras)]
    if not kept:
        kept = [a for a in articles if a.paras][:1]

    documents: list[Document] = []
    for number, article in enumerate(kept, start=1):
        body = article.paras
        if embed is not None:
            body = _drop_stray_lines(body, embed)
        meta = _merge_meta(article.meta, page_meta) if number == 1 else article.meta
        if meta.title and body and body[0].text.casefold() == meta.title.casefold():
            body = body[1:]  # extractors often repeat the title as the first line
        text = "\n\n".join(p.text for p in body).strip()
        if not text:
            continue
        site = meta.site or page_meta.site
        url = meta.url or (page_meta.url if number == 1 else None)
        if not site and url:
            site = urlparse(url).hostname or None
        documents.append(
            Document(
                doc_id=source_id if not documents else f"{source_id}#{len(documents) + 1}",
                source_id=source_id,
                text=text,
                title=meta.title,
                authors=meta.authors,
                published=meta.published,
                url=url,
                site=site,
                path=path,
            )
        )
    return documents


def _merge_meta(found: _Meta, given: _Meta) -> _Meta:
    """Metadata the extractor gave wins over what the text rules found."""
    return replace(
        found,
        title=given.title or found.title,
        authors=given.authors or found.authors,
        published=given.published or found.published,
        site=given.site or found.site,
        url=given.url or found.url,
    )


def _extract_html(raw: str) -> tuple[str, _Meta]:
    """Main text and metadata of an HTML page via trafilatura."""
    import trafilatura

    result = trafilatura.bare_extraction(
        raw,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
    )
    if not result:
        return "", _Meta()
    data = result if isinstance(result, dict) else result.as_dict()
    text = (data.get("text") or "").strip()
    authors = tuple(
        name.strip()
        for name in re.split(r";|\s+&\s+|,\s+and\s+", data.get("author") or "")
        if name.strip()
    )
    meta = _Meta(
        title=(data.get("title") or "").strip(),
        authors=authors,
        published=normalise_date(data.get("date")),
        site=(data.get("sitename") or "").strip() or None,
        url=(data.get("url") or "").strip() or None,
    )
    # trafilatura puts one paragraph per line: keep them apart as paragraphs
    return text.replace("\n", "\n\n"), meta
