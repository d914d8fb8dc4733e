"""Raw page text → paragraphs: one per line, lines broken mid-sentence joined back."""

from __future__ import annotations

import re

from index.cleaning.lines import Para, ends_sentence, is_chrome, is_published_marker
from index.cleaning.markup import HEADING_RE, strip_markup


def split_paragraphs(raw: str) -> list[Para]:
    """Every non-empty line is a paragraph; a line broken mid-sentence is joined back."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    raw = re.sub(r"<br\s*/?>", "\n", raw, flags=re.IGNORECASE)
    raw = re.sub(r"</(?:p|div|h[1-6]|li|blockquote)>", "\n\n", raw, flags=re.IGNORECASE)
    paras: list[Para] = []
    blank_before = True
    for line in raw.split("\n"):
        if not line.strip():
            blank_before = True
            continue
        text = strip_markup(line)
        if not text:
            blank_before = False
            continue
        para = Para(
            text=text,
            raw=line,
            heading=bool(HEADING_RE.match(line)),
            joined_to_previous=not blank_before,
        )
        blank_before = False
        previous = paras[-1] if paras else None
        starts_lower = re.match(r"^\(?[a-z]", text) is not None
        if (
            previous is not None
            and starts_lower
            and (previous.words >= 15 or is_published_marker(previous.text))
            and not previous.heading
            and not ends_sentence(previous.text)
            and not previous.text.rstrip().endswith(":")
            and not re.match(r"^(?:www\.|https?:|by\s)", text, re.IGNORECASE)
            and not is_chrome(previous.text)
            and not is_chrome(text)
        ):
            previous.text = f"{previous.text} {text}"
            previous.raw = f"{previous.raw} {line.strip()}"
            continue
        paras.append(para)
    return paras
