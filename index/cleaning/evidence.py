"""Evidence about a line: how much of it is links, how much reads as prose, whom it addresses.

Site furniture is recognised by what it is, never by the strings of one site: menus are
link-dense runs of short lines with few function words; prompts address the reader ("you",
"your inbox") or speak as the site ("our newsletter", "this site"); notices use the vocabulary of
licences, privacy and advertising. Each threshold is named here.
"""

from __future__ import annotations

import re
from functools import lru_cache

from index.stopwords import ENGLISH_STOP_WORDS

# A line with fewer function words than this share of its words is not running prose.
PROSE_STOP_RATIO = 0.2
# A line whose text is mostly link text is navigation, a teaser or a tag cloud.
LINK_DENSE = 0.5
# Prose worth anchoring an article on: a sentence-shaped line of at least this many words.
PROSE_MIN_WORDS = 12
# Reader notices (prompts, licences, disclaimers) are short: longer lines are left to other rules.
NOTICE_MAX_WORDS = 150
# A line this short is also judged whole (a question and its "Click here." answer).
NOTICE_LINE_WORDS = 40
# A line is a notice when at least this share of its words sit in notice sentences.
NOTICE_SHARE = 0.5
# A line this short holding one notice word ("Privacy Policy", "© 2024 Name") is a notice.
NOTICE_SHORT_WORDS = 12
# A longer notice is dense with that vocabulary: a hit at least every this many words.
NOTICE_WORDS_PER_HIT = 15

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_MD_LINK_TEXT = re.compile(r"!?\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_HTML_LINK_TEXT = re.compile(r"<a\b[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_BARE_URL = re.compile(r"(?:https?://|www\.)\S+")
_TAG = re.compile(r"<[^>]+>")
_QUOTED = re.compile(r"[“\"].{12,}?[”\"]")

# The reader addressed, or the site speaking of itself.
_READER_VOICE = re.compile(
    r"\b(?:you|your|yours|we|our|us)\b|\bthis\s+(?:site|website|page|copy|story|article|post|"
    r"newsletter|podcast|content|series|summary)\b",
    re.IGNORECASE,
)
# A call to action: an imperative or question aimed at the reader, about the site's channels.
_CALL_TO_ACTION = re.compile(
    r"^\W*(?:subscribe|sign\s+(?:up|in)|log\s+in|register|join|download|follow|share|donate|"
    r"support|get|click|tap|read|watch|listen|try|start|learn|see|explore|discover|upgrade|enter|"
    r"receive|want|have\s+a|got\s+a|do\s+you|help\s+us|if\s+you|please|become|give|make\s+a|"
    r"thank\s+you|thanks\s+for|don['’]t\s+miss|never\s+miss|stay|keep\s+up|already\s+a)\b",
    re.IGNORECASE,
)
_CHANNEL = re.compile(
    r"\b(?:newsletters?|inbox|e-?mails?|app|podcasts?|free|today|now|here|daily|weekly|account|"
    r"subscri(?:be|ption|ber)s?|members?(?:hip)?|tips?|sessions?|events?|trial|gift|donat\w+|"
    r"contribut\w+|stories|updates|alerts|notifications|feeds?|coverage|journalism|reporters?|"
    r"securely|anonymous(?:ly)?|link|buttons?)\b",
    re.IGNORECASE,
)
# The channels a site sells: two of them in the site's own voice make a self-description.
_SITE_CHANNEL = re.compile(
    r"\b(?:newsletters?|inbox(?:es)?|subscri(?:be|bed|ption|ptions|ber|bers)|members(?:hip)?|"
    r"accounts?|registration|sign[-\s]?up|log[-\s]?in|e-?mail\s+address|podcasts?|app|"
    r"donat(?:e|ion|ions)|paywall|premium|archives?)\b",
    re.IGNORECASE,
)
_SPONSOR_TAIL = re.compile(
    r"(?:^|[–—-]\s*)(?:sponsored|presented|brought\s+to\s+you|paid\s+for|underwritten)\s+by\s+"
    r"(?:\S+\s*){1,6}$",
    re.IGNORECASE,
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"”’]?\s+(?=[\"“‘]?[A-Z])")
# The vocabulary of site notices, family by family: a hit names its family's group.
_NOTICE = re.compile(
    r"(?P<legal>©|\bcopyright\b|\ball\s+rights\s+reserved\b|\btrademarks?\b|"
    r"\bterms\s+(?:of\s+(?:service|use)|and\s+conditions)\b|\bnon-?commercial\b|"
    r"\blicen[cs]ed?\b|\bcreative\s+commons\b|\breprints?\b|\bpermissions?\b|"
    r"\brepublish\w*\b|\bsubscriber\s+agreement\b|\bdistribution\s+and\s+use\b|"
    r"\bat\s+your\s+own\s+risk\b)"
    r"|(?P<privacy>\bprivacy\s+(?:policy|notice|statement)\b|\bcookies?\b|"
    r"\bpersonal\s+(?:information|data)\b)"
    r"|(?P<ads>\baffiliate\b|\bcommissions?\b|\badvertis\w*\b|\b(?:online\s+)?ads\b|"
    r"\bsponsor(?:ed|s)?\b|\bpaywalls?\b|\bpartner\s+content\b)"
    r"|(?P<machine>\bai-generated\b|\bartificial[-\s]intelligence\s+tool\b|\bin\s+beta\b|"
    r"\binaccurac(?:y|ies)\b)"
    r"|(?P<editorial>\bviews\s+expressed\b|\b(?:own|sole)\s+views?\b|"
    r"\bdo(?:es)?\s+not\s+necessarily\b|\bfunders?\b|\bfunded\s+by\b|"
    r"\bexternal\s+(?:sites?|links?|linking)\b|\bresponsible\s+for\s+the\s+content\b)"
    r"|(?P<moderation>\bmoderat(?:or|ed|ion)\b|\bspam\b)",
    re.IGNORECASE,
)


@lru_cache(maxsize=16384)
def words_of(text: str) -> tuple[str, ...]:
    """The alphabetic words of ``text``, lower-cased."""
    return tuple(word.lower() for word in _WORD.findall(text))


def stop_ratio(text: str) -> float:
    """Share of ``text``'s words that are function words (0 when it has none)."""
    words = words_of(text)
    return sum(1 for word in words if word in ENGLISH_STOP_WORDS) / len(words) if words else 0.0


def link_density(raw: str, text: str) -> float:
    """Share of a line's visible text that sits inside links (markdown, HTML or bare URLs)."""
    if not text or not any(mark in raw for mark in ("[", "<a", "<A", "http", "www.")):
        return 0.0
    linked = sum(len(m.group(1)) for m in _MD_LINK_TEXT.finditer(raw))
    linked += sum(len(_TAG.sub("", m.group(1))) for m in _HTML_LINK_TEXT.finditer(raw))
    linked += sum(len(m.group()) for m in _BARE_URL.finditer(text))
    return min(1.0, linked / len(text))


def reads_as_prose(text: str) -> bool:
    """Running prose: enough words, enough function words among them."""
    words = words_of(text)
    return len(words) >= PROSE_MIN_WORDS and stop_ratio(text) >= PROSE_STOP_RATIO


# Cheap substring tests that every notice or self-description holds one of: prose without any
# of them is never run through the (slow) vocabulary patterns.
_TRIGGERS = tuple(
    """© copyright rights reserved trademark terms commercial licen creative reprint permission
    republish agreement distribution own risk privacy cookie personal affiliate commission
    advertis ads sponsor paywall partner ai-generated intelligence beta inaccura views
    necessarily fund external responsible moderat spam newsletter inbox subscri member account
    registration sign log mail podcast app donat premium archive""".split()
)


def _may_be_notice(lowered: str) -> bool:
    return any(trigger in lowered for trigger in _TRIGGERS)


def _is_notice_sentence(text: str) -> bool:
    """One sentence that prompts the reader or states a site notice."""
    words = len(text.split())
    if _CALL_TO_ACTION.search(text) and _CHANNEL.search(text):
        return True
    if not _may_be_notice(text.lower()):
        return False
    voice = _READER_VOICE.search(text) is not None
    if voice and len({m.group().lower() for m in _SITE_CHANNEL.finditer(text)}) >= 2:
        return True  # the site describing its own newsletters, subscriptions, accounts
    hits = list(_NOTICE.finditer(text))
    if not hits:
        return False
    if text.lstrip().startswith(("©", "Copyright", "copyright")) or words <= NOTICE_SHORT_WORDS:
        return True
    # A longer sentence may be prose about ads or licences: ask for the vocabulary of two
    # families (licence and privacy, ads and funding ...), densely, in the site's or reader's voice.
    families = {match.lastgroup for match in hits}
    dense = len(hits) * NOTICE_WORDS_PER_HIT >= words
    return len(families) >= 2 and dense and voice


@lru_cache(maxsize=16384)
def is_reader_notice(text: str) -> bool:
    """A prompt to the reader or a site notice: a call to action, licence, privacy or ad text.

    Judged sentence by sentence (scrapers glue a sign-up box into one line): the line is a
    notice when most of its words are in notice sentences. A call to action must name one of
    the site's channels (newsletter, inbox, app, tip, donation ...); a notice must use the
    vocabulary of licences, privacy, ads or moderation. Quoted speech is never a notice.
    """
    words = len(text.split())
    if words > NOTICE_MAX_WORDS or _QUOTED.search(text):
        return False
    if words <= NOTICE_LINE_WORDS and _is_notice_sentence(text):
        return True
    sentences = [s for s in _SENTENCE_SPLIT.split(text) if s.strip()]
    flags = [_is_notice_sentence(s) for s in sentences]
    if not any(flags):
        return False
    if _SPONSOR_TAIL.search(sentences[-1]):
        return True  # an advertisement signs off with its sponsor
    # Beside a notice, a sentence addressing the reader belongs to the same promotion box.
    notice_words = sum(
        len(s.split())
        for s, flag in zip(sentences, flags, strict=True)
        if flag or _READER_VOICE.search(s)
    )
    return notice_words >= NOTICE_SHARE * words


# Characters of code and data, not of prose.
_CODE_CHARS = "{}=;<>$|\\"
# A line with this share of code characters (and few function words) is script, style or data.
CODE_CHAR_SHARE = 0.06
_CODE_START = re.compile(
    r"^\s*(?:[{\[]\s*\"|var\s|let\s|const\s|function\b|window\.|document\.|if\s*\(|"
    r"@media\b|@import\b|[.#][\w-]+\s*\{|<!--|//\s|/\*)"
)
_PLACEHOLDER = re.compile(r"\blorem\s+ipsum\b|\bdolor\s+sit\s+amet\b|\bconsectetur\s+adipisc", re.I)
_MEASURE = re.compile(r"^[-+−]?[$€£¥]?\d[\d.,:/]*(?:%|°[CF]?|℃|℉|[kKmMbB]n?|pts?|mph|km/h)?$")
# A short line mostly made of numbers and units is a widget (weather, tickers, scores).
WIDGET_MAX_WORDS = 12
WIDGET_NUMBER_SHARE = 0.5


def is_machine_text(text: str) -> bool:
    """Script, style sheet or data (JSON) that a text dump kept from the page's code."""
    if _CODE_START.match(text):
        return True
    chars = sum(text.count(char) for char in _CODE_CHARS)
    if chars < 4 or chars < CODE_CHAR_SHARE * len(text):
        return False
    return chars >= 2.5 * CODE_CHAR_SHARE * len(text) or stop_ratio(text) < 0.15


def is_placeholder(text: str) -> bool:
    """Filler text of a template ("Lorem ipsum ..."): never anybody's words."""
    return _PLACEHOLDER.search(text) is not None


def is_widget(text: str) -> bool:
    """A short line of numbers and units: a weather box, a ticker, a score line."""
    tokens = text.split()
    if not tokens or len(tokens) > WIDGET_MAX_WORDS:
        return False
    measures = sum(1 for token in tokens if _MEASURE.match(token.strip("()[],;")))
    has_unit = any(mark in text for mark in ("°", "℃", "℉", "%"))
    return measures >= WIDGET_NUMBER_SHARE * len(tokens) and (has_unit or measures >= 3)
