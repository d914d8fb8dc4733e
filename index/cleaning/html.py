"""HTML pages: main text and metadata through trafilatura."""

from __future__ import annotations

import re

from index.cleaning.articles import PageMeta
from index.cleaning.dates import normalise_date


def extract_html(raw: str) -> tuple[str, PageMeta]:
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
        return "", PageMeta()
    data = result if isinstance(result, dict) else result.as_dict()
    text = (data.get("text") or "").strip()
    authors = tuple(
        name.strip()
        for name in re.split(r";|\s+&\s+|,\s+and\s+", data.get("author") or "")
        if name.strip()
    )
    meta = PageMeta(
        title=(data.get("title") or "").strip(),
        authors=authors,
        published=normalise_date(data.get("date")),
        site=(data.get("sitename") or "").strip() or None,
        url=(data.get("url") or "").strip() or None,
    )
    # trafilatura puts one paragraph per line: keep them apart as paragraphs
    return text.replace("\n", "\n\n"), meta
