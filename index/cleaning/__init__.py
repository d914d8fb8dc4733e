"""Scraped page → clean articles: markup stripped, boilerplate dropped, metadata lifted out.

The rules are general shapes of site chrome (newsletter prompts, share buttons, bylines,
datelines, headline feeds, author bios, tables of contents), never strings of one site.
A page may hold several articles ("Continue Reading" blocks); each becomes a ``Document``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from index.cleaning.articles import (
    Article,
    PageMeta,
    complete_meta,
    merge_meta,
    read_header,
    settle_articles,
    split_at_markers,
    split_names_by_bios,
    title_from_lines,
)
from index.cleaning.dates import find_date, normalise_date
from index.cleaning.furniture import (
    drop_chrome,
    drop_feeds,
    drop_tables_of_contents,
    drop_trailer,
    keep_body_region,
)
from index.cleaning.html import extract_html
from index.cleaning.lines import LONG_PARAGRAPH_WORDS, Para
from index.cleaning.markup import strip_markup
from index.cleaning.metadata import read_declared
from index.cleaning.paragraphs import split_paragraphs, unwrap
from index.cleaning.repetition import line_key
from index.cleaning.strays import Embed, drop_stray_lines
from index.models import Document

__all__ = ["clean_page", "find_date", "normalise_date", "strip_markup"]


@dataclass
class _Page:
    """A page's text once read: the body text, what it declares, and trafilatura's floor."""

    text: str
    meta: PageMeta
    fallback_title: str = ""
    extracted: str = ""  # HTML only: trafilatura's text, kept whole if the rules would empty it


def clean_page(
    raw: str,
    *,
    source_id: str,
    path: str | None = None,
    is_html: bool = False,
    embed: Embed | None = None,
    site_furniture: frozenset[str] = frozenset(),
) -> list[Document]:
    """A scraped page → its articles as clean ``Document``s (``[]`` when nothing is left).

    ``embed`` (texts → unit vectors) enables dropping short off-topic lines; without it
    only the rule-based cleaning runs. ``site_furniture`` holds the lines (as ``line_key``
    gives them) that recur across this site's pages in the corpus. HTML goes through
    trafilatura first.
    """
    page = _read_page(raw, is_html=is_html)
    if page is None:
        return []
    # Chrome stays in view until the body is found: a run of it marks where the article ends.
    paras = split_paragraphs(page.text)
    if site_furniture:
        paras = [p for p in paras if line_key(p.text) not in site_furniture]
    articles = _settled_articles([_clean_segment(s) for s in split_at_markers(paras)], page.meta)
    documents: list[Document] = []
    for number, article in enumerate(articles, start=1):
        document = _document(article, page, number, len(documents), source_id, path, embed)
        if document is not None:
            documents.append(document)
    if not documents and page.extracted:
        # What trafilatura reads is the floor: never lose a page to the furniture rules.
        documents.append(_whole_extraction(page, source_id, path))
    return documents


def _read_page(raw: str, *, is_html: bool) -> _Page | None:
    if is_html:
        text, meta = extract_html(raw)
        return _Page(text=text, meta=meta, extracted=text) if text else None
    meta, text = read_declared(raw)  # front matter, scraper headers: never passages
    text = unwrap(text)
    return _Page(text=text, meta=meta, fallback_title=title_from_lines(text.split("\n")))


def _clean_segment(segment: list[Para]) -> Article:
    """One article's lines: its header read, its body found, its furniture dropped."""
    meta, body = read_header(segment)
    body = drop_chrome(drop_tables_of_contents(drop_feeds(keep_body_region(body))))
    body, bio_names = drop_trailer(body, meta.authors)
    if meta.byline_names and bio_names and len(meta.authors) <= 1:
        split = split_names_by_bios(meta.byline_names, bio_names)
        if split:
            meta.authors = tuple(split)
    return Article(meta=meta, paras=body)


def _settled_articles(articles: list[Article], page_meta: PageMeta) -> list[Article]:
    """The page's articles as a reader counts them, each cut to its body."""
    kept = [a for a in articles if any(p.words >= LONG_PARAGRAPH_WORDS for p in a.paras)]
    if not kept:
        kept = [a for a in articles if a.paras][:1]
    kept = settle_articles(kept, page_meta)  # copies dropped, digests split into items
    # Segments joined into one article: its body edges are found again over the whole.
    return [Article(meta=a.meta, paras=keep_body_region(a.paras)) for a in kept]


def _document(
    article: Article,
    page: _Page,
    number: int,
    made: int,
    source_id: str,
    path: str | None,
    embed: Embed | None,
) -> Document | None:
    """The ``number``-th article of a page as a ``Document`` (``None`` when nothing is left)."""
    body = article.paras
    if embed is not None:
        body = drop_stray_lines(body, embed)
    meta = article.meta
    if number == 1:
        meta = merge_meta(article.meta, page.meta)
        complete_meta(meta, page.text, page.fallback_title)
    if meta.title and body and body[0].text.casefold() == meta.title.casefold():
        body = body[1:]  # extractors often repeat the title as the first line
    text = "\n\n".join(p.text for p in body).strip()
    if not text:
        return None
    url = meta.url or (page.meta.url if number == 1 else None)
    return Document(
        doc_id=source_id if not made else f"{source_id}#{made + 1}",
        source_id=source_id,
        text=text,
        title=meta.title,
        authors=meta.authors,
        published=meta.published,
        url=url,
        site=meta.site or page.meta.site or _host(url),
        path=path,
    )


def _whole_extraction(page: _Page, source_id: str, path: str | None) -> Document:
    paragraphs = (" ".join(line.split()) for line in page.extracted.split("\n"))
    meta = page.meta
    return Document(
        doc_id=source_id,
        source_id=source_id,
        text="\n\n".join(p for p in paragraphs if p),
        title=meta.title,
        authors=meta.authors,
        published=meta.published,
        url=meta.url,
        site=meta.site or _host(meta.url),
        path=path,
    )


def _host(url: str | None) -> str | None:
    return (urlparse(url).hostname or None) if url else None
