"""The indexer's file limits: what one hostile file may cost (light: the settings import it)."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000


@dataclass(frozen=True)
class Limits:
    """How big a file the indexer reads; a file over a limit is skipped with a message saying so.

    They bound the time and memory one hostile file can cost (benchmarks/reliability.py
    measures both). ``max_html_depth`` is the HTML parser's own limit: libxml2 stops at 255
    nested elements and the article under them is lost, so such a page is skipped, not emptied.
    """

    max_file_mb: float = 50  # a text, Markdown, HTML or PDF file
    max_jsonl_mb: float = 500  # a JSONL corpus (many documents in one file)
    # An HTML page once its inline data: images are dropped: a 2 MB page takes ~3 s to clean,
    # an 8 MB one over two minutes.
    max_html_mb: float = 2
    max_html_depth: int = 255
    max_pdf_pages: int = 1000


DEFAULT_LIMITS = Limits()
