"""Calendar dates in page text: find one, normalise it to ISO."""

from __future__ import annotations

import re
from datetime import date

_MONTH_SPELLINGS = [
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sept", "sep"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
]
MONTHS = {name: number for number, names in enumerate(_MONTH_SPELLINGS, start=1) for name in names}
MONTH_NAMES = [names[0] for names in _MONTH_SPELLINGS]
_SPELLINGS = sorted(MONTHS, key=len, reverse=True)
_ALTERNATION = "|".join(_SPELLINGS)
_CAPITALISED = "|".join(m.capitalize() for m in _SPELLINGS)
# A month name starts a word, or is glued to the word before it ("PrintSept. 25") when
# block text was concatenated without spaces; then it is capitalised.
_MONTH = (
    rf"(?:(?<![A-Za-z])(?i:(?P<mon>{_ALTERNATION}))"
    rf"|(?<=[a-z])(?P<glued>{_CAPITALISED}))"
    r"(?![a-z])\.?"
)
_DATE_RE = re.compile(
    r"(?<!\d)(?:"
    r"(?P<y1>\d{4})[-/.](?P<m1>\d{1,2})[-/.](?P<d1>\d{1,2})(?!\d)"
    r"|(?P<a4>\d{1,2})/(?P<b4>\d{1,2})/(?P<y4>\d{4})"
    rf"|{_MONTH.replace('mon>', 'mon2>').replace('glued>', 'glued2>')}\s*(?P<d2>\d{{1,2}})"
    r"(?:st|nd|rd|th)?,?\s+(?P<y2>\d{4})"
    r"|(?P<d3>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"{_MONTH.replace('mon>', 'mon3>').replace('glued>', 'glued3>')},?\s+(?P<y3>\d{{4}})"
    r")(?!\d)"
)


def _date_from_match(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    try:
        if groups["y1"]:
            year, month, day = int(groups["y1"]), int(groups["m1"]), int(groups["d1"])
        elif groups["y4"]:
            first, second, year = int(groups["a4"]), int(groups["b4"]), int(groups["y4"])
            # US order (month first) unless the first number cannot be a month
            month, day = (first, second) if first <= 12 else (second, first)
        elif groups["y2"]:
            month = MONTHS[(groups["mon2"] or groups["glued2"]).lower()]
            year, day = int(groups["y2"]), int(groups["d2"])
        else:
            month = MONTHS[(groups["mon3"] or groups["glued3"]).lower()]
            year, day = int(groups["y3"]), int(groups["d3"])
        if not 1900 <= year <= 2100:
            return None
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
