"""What one line of a page is: prose, a byline, a dateline, a title, chrome, a bio.

The rules are general shapes of site furniture, never strings of one site; each threshold is
named here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from index.cleaning.dates import find_date
from index.cleaning.evidence import (
    is_machine_text,
    is_placeholder,
    is_reader_notice,
    is_widget,
    link_density,
)

# A paragraph this long is prose: it anchors the article and the topic centroid.
LONG_PARAGRAPH_WORDS = 25


@dataclass
class Para:
    text: str
    raw: str
    heading: bool = False
    joined_to_previous: bool = False  # same block: no blank line before it

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def link_density(self) -> float:
        """Share of the visible text inside links."""
        return link_density(self.raw, self.text)


_SENTENCE_END = (".", "!", "?", '"', "”", "’", "'", ")", "…")


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip("*† ")
    if stripped.endswith(("...", "…")):
        return False
    return stripped.endswith(_SENTENCE_END)


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
NAME_LABEL = re.compile(r"^(?:articles|posts|stories|more)\s+(?:by|from)\s*:", re.IGNORECASE)
# A disclaimer block is long, but says so in its first word.
_DISCLAIMER_START = re.compile(r"^(?:disclaimer|legal\s+notice)\s*:", re.IGNORECASE)
_NAV_WORDS = (
    r"share|shares|tweet|email|e-mail|print|facebook|twitter|x|linkedin|whatsapp|telegram|"
    r"reddit|pinterest|instagram|youtube|comments?|menu|home|search|log\s*in|sign\s*in|"
    r"sign\s*up|subscribe|donate|close|next|previous|prev|back\s+to\s+top|top"
)
_NAV_LINE = re.compile(rf"^(?:(?:{_NAV_WORDS})[\s|•·/,]*)+$", re.IGNORECASE)
_SEPARATOR = re.compile(r"^[\s*\-_=~•·.#|+]+$")
SPLIT_MARKER = re.compile(
    r"^(?:continue\s+reading|read\s+more|read\s+the\s+(?:rest|full\s+(?:article|story))|"
    r"keep\s+reading)\b[\s.:>»→…]*$",
    re.IGNORECASE,
)
FEED_HEADING = re.compile(
    r"^(?:latest|latest\s+(?:news|posts|articles|stories)|trending|trending\s+now|popular|"
    r"most\s+(?:popular|read|viewed|shared)|related|related\s+(?:articles|posts|stories|news)|"
    r"recommended|recommended\s+for\s+you|more\s+stories|more\s+news|read\s+next|"
    r"you\s+(?:may|might)\s+also\s+like|publications|editor'?s\s+picks?|top\s+stories)\s*:?$",
    re.IGNORECASE,
)
FEED_ITEM = re.compile(
    r"\d+\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago$",
    re.IGNORECASE,
)
LABEL_LINE = re.compile(
    r"^(?:theme|themes|region|regions|topics?|tags?|categor(?:y|ies)|section|filed\s+under|"
    r"posted\s+in|keywords?)\s*:",
    re.IGNORECASE,
)
PUBLISHED_LINE = re.compile(
    r"^(?:published|posted|updated|last\s+updated|first\s+published|date)\b(?:\s+on)?\s*:?",
    re.IGNORECASE,
)
BYLINE = re.compile(r"^(?:written\s+by|words\s+by|by|authors?)\s*:?\s+(?P<names>.+)$", re.I)
URL_LINE = re.compile(
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
# A writer's beat, as bios at the foot of articles put it: "A covered ...", "A joined ... in".
_BIO_BEAT = re.compile(
    rf"^\*?\s*(?P<name>{_NAME})\s+(?:covered|covers|has\s+covered|reports\s+on|reported\s+on|"
    r"joined|previously\s+(?:covered|worked|reported|wrote)|writes\s+about|is\s+based\s+in)\b"
)
_CONTACT = re.compile(r"\bcontact\s*:|\b[\w.+-]+(?:@|\[at\])[\w-]+\.[\w.]+\b", re.IGNORECASE)
_DEGREE_START = re.compile(r"^\*?\s*(?:ph\.?\s?d\.?|m\.?a\.?|m\.?sc?\.?|mba|dr\.)\s", re.I)


@lru_cache(maxsize=16384)
def is_chrome(text: str) -> bool:
    """Site boilerplate: prompts, buttons, notices, separators, nav words."""
    words = len(text.split())
    if _SEPARATOR.match(text) or _NAV_LINE.match(text):
        return True
    if _CHROME_NOTICES.search(text) or _DISCLAIMER_START.match(text):
        return words <= 200
    if is_reader_notice(text) or is_credit(text) or is_placeholder(text):
        return True
    if is_machine_text(text) or is_widget(text):
        return True
    if words > 40:  # prompts and chrome openers only count as short lines of their own
        return False
    return bool(_CHROME_START.search(text) or _CHROME_PROMPTS.search(text))


# A picture credit: "Photos by A for B", "Illustration: A", or an agency line "A / B - C".
_CREDIT_CLAUSE = re.compile(
    r"(?:^|[|•·]\s*|\.\s+)(?:(?:photo|photograph|image|picture|illustration|graphic|video|"
    r"photo-illustration|lead\s+image|top\s+image)s?\s*(?:by\b|:|credit\b|courtesy\b)|"
    r"(?:credit|courtesy)\s*:)",
    re.IGNORECASE,
)
_CREDIT_WORD = re.compile(r"^(?:[A-Z][\w.'’&-]*|via|file|for|and|of|the|de|van|von)$")
CREDIT_MAX_WORDS = 40


def is_credit(text: str) -> bool:
    """A photo or illustration credit, alone or after its caption."""
    words = text.split()
    if len(words) > CREDIT_MAX_WORDS:
        return False
    if _CREDIT_CLAUSE.search(text):
        return True
    if " / " not in text or len(words) > 12 or ends_sentence(text):
        return False
    names = [w for w in text.replace(" / ", " ").replace(" - ", " ").split() if w not in "/-–—"]
    return all(_CREDIT_WORD.match(w) for w in names)


def is_date_line(text: str) -> bool:
    """A dateline: a date plus at most a few words (a site or source name)."""
    found = find_date(text)
    if not found:
        return False
    start, end = found[1]
    rest = (text[:start] + " " + text[end:]).strip(" ,|-–—·")
    rest = PUBLISHED_LINE.sub("", rest).strip()
    return len(rest.split()) <= 6


def is_published_marker(text: str) -> bool:
    return bool(PUBLISHED_LINE.match(text)) and len(text.split()) <= 8


NAME_TOKEN = re.compile(
    r"^(?:[A-Z][\w'’.\-]*|de|van|von|der|den|bin|ibn|al|da|di|del|le|la|du|dos)\*?$"
)


def is_byline(text: str) -> bool:
    """``By A. Name`` / ``Authors: A & B`` (names, then maybe a date or site, nothing else)."""
    match = BYLINE.match(text)
    if not match or len(text.split()) > 30:
        return False
    names = names_from_byline(match.group("names"), strict=False)
    return bool(names) and all(
        1 <= len(name.split()) <= 8 and all(NAME_TOKEN.match(t) for t in name.split())
        for name in names
    )


# A bare domain or address ("# example.com" as a scraper's page heading) is never a headline.
_DOMAIN_ONLY = re.compile(r"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?$", re.IGNORECASE)
# Words that name an organisation or a desk, not a person, in a byline ("By A. Name, City News").
ORGANISATION_WORDS = frozenset(
    """news times post press agency agencies media magazine journal herald tribune gazette
    daily weekly staff desk wire service services network radio television tv group institute
    university college foundation council center centre department ministry office newsroom
    editors editorial reporters correspondents bureau associated""".split()
)


def is_organisation(name: str) -> bool:
    """A byline part that names an organisation or desk rather than a person."""
    return any(token.casefold().strip(".,") in ORGANISATION_WORDS for token in name.split())


def is_title_candidate(para: Para) -> bool:
    text = para.text
    return (
        1 <= para.words <= 25
        and not _DOMAIN_ONLY.match(text.strip())
        and not text.rstrip().endswith((".", ":", ";", ","))
        and not is_date_line(text)
        and not is_byline(text)
        and not is_published_marker(text)
        and not LABEL_LINE.match(text)
        and not is_chrome(text)
    )


def is_body(para: Para) -> bool:
    return (
        para.words >= LONG_PARAGRAPH_WORDS
        and not is_chrome(para.text)
        and not is_byline(para.text)
        and not LABEL_LINE.match(para.text)
    )


def is_bio(text: str, author_names: Sequence[str]) -> bool:
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
    if words <= 60 and _BIO_BEAT.match(text):
        return True
    match = _BIO_START.match(text)
    if not match:
        return False
    return words <= 60 and _BIO_ROLE.search(text[match.end() :]) is not None


def bio_name(text: str) -> str | None:
    match = _BIO_START.match(text)
    if not match:
        return None
    name = match.group("name").strip()
    return name if 2 <= len(name.split()) <= 5 else None


def names_from_byline(names: str, *, strict: bool = True) -> list[str]:
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
