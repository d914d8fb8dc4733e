"""Calendar dates in page text: find one, normalise it to ISO."""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
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
            month = MONTHS[groups["mon2"].lower()]
            year, day = int(groups["y2"]), int(groups["d2"])
        else:
            month = MONTHS[groups["mon3"].lower()]
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
