"""HTML pages: main text through trafilatura, metadata from what the page declares."""

from __future__ import annotations

import html
import re
from typing import Any

from index.cleaning.articles import PageMeta, names_of, strip_title_suffix
from index.cleaning.dates import normalise_date
from index.cleaning.metadata import fill_from_fields, script_json_fields

# <meta> names (name=, property= or itemprop=) by the field they declare, most telling first.
_META_TITLE = ("og:title", "twitter:title", "headline", "dc.title", "parsely-title")
_META_AUTHOR = (
    "author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "byl",
)
_META_DATE = (
    "article:published_time",
    "datepublished",
    "og:published_time",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date",
    "pubdate",
    "publish-date",
    "date",
)
_META_SITE = ("og:site_name", "application-name", "publisher")
_META_URL = ("og:url", "twitter:url")


def extract_html(raw: str) -> tuple[str, PageMeta]:
    """Main text and metadata of an HTML page via trafilatura."""
    import trafilatura

    def extract(*, favor_precision: bool) -> dict[str, Any]:
        result = trafilatura.bare_extraction(
            raw,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params={"original_date": True, "extensive_search": True},
            favor_precision=favor_precision,
        )
        if not result:
            return {}
        return result if isinstance(result, dict) else result.as_dict()

    # Precision first (less furniture); a page it reads as empty gets trafilatura's default.
    data = extract(favor_precision=True)
    if not (data.get("text") or "").strip():
        data = extract(favor_precision=False)
    if not data:
        return "", PageMeta()
    text = (data.get("text") or "").strip()
    meta = declared_html_meta(raw, data)
    # trafilatura puts one paragraph per line: keep them apart as paragraphs
    return text.replace("\n", "\n\n"), meta


def declared_html_meta(raw: str, extracted: dict[str, Any]) -> PageMeta:
    """An HTML page's metadata: JSON-LD and data objects, <meta> tags, then trafilatura's."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(raw)
    except (ValueError, lxml.etree.ParserError):
        tree = None
    metas: dict[str, str] = {}
    scripts: list[str] = []
    page_title = ""
    headings: list[str] = []
    canonical = None
    if tree is not None:
        for element in tree.iter("meta"):
            key = (
                element.get("property") or element.get("name") or element.get("itemprop") or ""
            ).casefold()
            value = element.get("content") or element.get("value") or ""
            if key and value.strip() and key not in metas:
                metas[key] = html.unescape(value.strip())
        scripts = [s.text or "" for s in tree.iter("script")]
        title_element = next(tree.iter("title"), None)
        if title_element is not None:
            page_title = " ".join(title_element.text_content().split())
        headings = [" ".join(h.text_content().split()) for h in tree.iter("h1")]
        link = next(
            (e for e in tree.iter("link") if (e.get("rel") or "").casefold() == "canonical"), None
        )
        canonical = link.get("href") if link is not None else None

    meta = PageMeta()
    fill_from_fields(meta, script_json_fields(scripts))
    declared_title = next((metas[k] for k in _META_TITLE if k in metas), "")
    meta.title = headline(
        [h for h in headings if h],
        [t for t in (page_title, declared_title) if t],
        meta.title or declared_title or (extracted.get("title") or "").strip() or page_title,
    )
    if not meta.authors:
        declared = [metas[k] for k in _META_AUTHOR if k in metas]
        author = next((a for a in declared if "://" not in a and not a.startswith("@")), "")
        meta.authors = tuple(names_of(extracted.get("author") or author))
    if meta.published is None:
        declared_date = next((metas[k] for k in _META_DATE if k in metas), None)
        meta.published = normalise_date(declared_date) or normalise_date(extracted.get("date"))
    meta.site = (
        meta.site
        or next((metas[k] for k in _META_SITE if k in metas), None)
        or (extracted.get("sitename") or "").strip()
        or None
    )
    meta.url = (
        meta.url
        or (canonical if canonical and canonical.startswith("http") else None)
        or next((metas[k] for k in _META_URL if k in metas), None)
        or (extracted.get("url") or "").strip()
        or None
    )
    sites = [s for s in (meta.site, meta.url, extracted.get("hostname")) if s]
    meta.title = strip_title_suffix(meta.title, sites=sites, authors=meta.authors, lines=headings)
    return meta


def headline(headings: list[str], titles: list[str], fallback: str) -> str:
    """The h1 that the page's <title> (or og:title) also names; else the declared title."""
    folded = [re.sub(r"\s+", " ", t).casefold() for t in titles]
    for heading in headings:
        key = heading.casefold()
        if len(key.split()) >= 2 and any(key in title for title in folded):
            return heading
    return fallback
