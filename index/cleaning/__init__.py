"""Scraped page → clean articles: markup stripped, boilerplate dropped, metadata lifted out.

The rules are general shapes of site chrome (newsletter prompts, share buttons, bylines,
datelines, headline feeds, author bios, tables of contents), never strings of one site.
A page may hold several articles ("Continue Reading" blocks); each becomes a ``Document``."""

from __future__ import annotations

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
from index.cleaning.lines import LONG_PARAGRAPH_WORDS
from index.cleaning.markup import strip_markup
from index.cleaning.metadata import read_declared
from index.cleaning.paragraphs import split_paragraphs, unwrap
from index.cleaning.repetition import line_key
from index.cleaning.strays import Embed, drop_stray_lines
from index.models import Document

__all__ = ["clean_page", "find_date", "normalise_date", "strip_markup"]


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
    page_meta = PageMeta()
    fallback_title = ""
    extracted = ""
    if is_html:
        raw, page_meta = extract_html(raw)
        if not raw:
            return []
        extracted = raw
    else:
        page_meta, raw = read_declared(raw)  # front matter, scraper headers: never passages
        raw = unwrap(raw)
        fallback_title = title_from_lines(raw.split("\n"))
    # Chrome stays in view until the body is found: a run of it marks where the article ends.
    paras = split_paragraphs(raw)
    if site_furniture:
        paras = [p for p in paras if line_key(p.text) not in site_furniture]
    articles: list[Article] = []
    for segment in split_at_markers(paras):
        meta, body = read_header(segment)
        body = drop_chrome(drop_tables_of_contents(drop_feeds(keep_body_region(body))))
        body, bio_names = drop_trailer(body, meta.authors)
        if meta.byline_names and bio_names and len(meta.authors) <= 1:
            split = split_names_by_bios(meta.byline_names, bio_names)
            if split:
                meta.authors = tuple(split)
        articles.append(Article(meta=meta, paras=body))

    kept = [a for a in articles if any(p.words >= LONG_PARAGRAPH_WORDS for p in a.paras)]
    if not kept:
        kept = [a for a in articles if a.paras][:1]
    kept = settle_articles(kept, page_meta)  # copies dropped, digests split into items
    # Segments joined into one article: its body edges are found again over the whole.
    kept = [Article(meta=a.meta, paras=keep_body_region(a.paras)) for a in kept]

    documents: list[Document] = []
    for number, article in enumerate(kept, start=1):
        body = article.paras
        if embed is not None:
            body = drop_stray_lines(body, embed)
        meta = article.meta
        if number == 1:
            meta = merge_meta(article.meta, page_meta)
            complete_meta(meta, raw, fallback_title)
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
    if not documents and extracted:
        # What trafilatura reads is the floor: never lose a page to the furniture rules.
        documents.append(_whole_extraction(extracted, page_meta, source_id, path))
    return documents


def _whole_extraction(text: str, meta: PageMeta, source_id: str, path: str | None) -> Document:
    paragraphs = (" ".join(line.split()) for line in text.split("\n"))
    url = meta.url
    return Document(
        doc_id=source_id,
        source_id=source_id,
        text="\n\n".join(p for p in paragraphs if p),
        title=meta.title,
        authors=meta.authors,
        published=meta.published,
        url=url,
        site=meta.site or (urlparse(url).hostname if url else None),
        path=path,
    )
