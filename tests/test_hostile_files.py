"""Hostile files cost bounded time and memory: skipped with a message naming the limit, and the
other files of the same run are still indexed (issue 16, item 5; the full sizes, with time and
peak memory, are in benchmarks/reliability.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import hostile
from index.embedding import FakeEmbedder
from index.ingest import html_depth
from index.library import Library
from index.limits import Limits
from index.pipeline import Indexer
from index.store import Store
from tests.conftest import run_cli

SMALL = Limits(max_file_mb=3, max_jsonl_mb=3, max_html_mb=0.5, max_html_depth=255, max_pdf_pages=50)


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory) -> Path:
    corpus = tmp_path_factory.mktemp("hostile")
    (corpus / "good.txt").write_text(hostile.article_text(10), encoding="utf-8")
    (corpus / "good.html").write_text(hostile.article_html(11), encoding="utf-8")
    hostile.many_pages_pdf(corpus / "good.pdf", 3)
    hostile.big_text(corpus / "big.txt", 4)
    hostile.nested_html(corpus / "nested.html", 5000)
    hostile.huge_html(corpus / "huge.html", 1)
    hostile.data_uri_html(corpus / "picture.html", 2)  # 2.7 MB, nearly all of it the image
    hostile.many_pages_pdf(corpus / "pages.pdf", 2000)
    hostile.broken_xref_pdf(corpus / "xref.pdf")
    hostile.encrypted_pdf(corpus / "locked.pdf")
    return corpus


def _index(corpus: Path, db: Path):
    store = Store(db)
    try:
        return Indexer(store, FakeEmbedder(), limits=SMALL).run([corpus])
    finally:
        store.close()


def test_each_hostile_file_is_skipped_with_a_message_naming_its_limit(
    hostile_corpus: Path, tmp_path: Path
) -> None:
    report = _index(hostile_corpus, tmp_path / "i.db")
    reasons = {Path(path).name: reason for path, reason in report.skipped}
    assert reasons.keys() == {"big.txt", "nested.html", "huge.html", "pages.pdf", "xref.pdf",
                              "locked.pdf"}  # fmt: skip
    assert reasons["big.txt"] == "big.txt: 4.0 MB, over the 3 MB file limit"
    assert "over the 0.5 MB HTML limit" in reasons["huge.html"]
    assert "nested more than 255 elements deep" in reasons["nested.html"]
    assert reasons["pages.pdf"] == "pages.pdf: 2,000 pages, over the 50-page PDF limit"
    assert "not a readable PDF" in reasons["xref.pdf"]
    assert "encrypted" in reasons["locked.pdf"]


def test_the_other_files_of_a_run_with_hostile_ones_are_indexed(
    hostile_corpus: Path, tmp_path: Path
) -> None:
    db = tmp_path / "i.db"
    report = _index(hostile_corpus, db)
    assert report.ok and report.files_indexed == 4
    library = Library(Store(db), FakeEmbedder())
    indexed = {doc.source_id for doc in library.store.documents()}
    assert indexed == {"good.txt", "good.html", "good.pdf", "picture.html"}
    # The page with a huge inline image is read for its text; the image bytes are not text.
    picture = next(d for d in library.store.documents() if d.source_id == "picture.html")
    assert "base64" not in picture.text and "round 4-0" in picture.text


def test_the_command_line_reads_the_limits_from_the_settings(
    hostile_corpus: Path, tmp_path: Path
) -> None:
    big = hostile_corpus / "big.txt"
    result = run_cli("index", "--db", str(tmp_path / "i.db"), str(big),
                     str(hostile_corpus / "good.txt"), env={"MAX_FILE_MB": "2"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"warning: skipped {big}: big.txt: 4.0 MB, over the 2 MB file limit" in result.stderr
    assert "1 file(s) indexed" in result.stderr


def test_html_depth_counts_nesting_the_way_a_browser_closes_elements() -> None:
    page = (
        "<html><body><div><p>one<p>two<ul><li>a<li>b</ul><br><img src=x />"
        "<script>if (a<b) { '<div><div><div>' }</script><!-- <div><div> --></div></body></html>"
    )
    assert html_depth(page, stop_at=100) == 4  # html, body, div, ul
    assert html_depth("<div>" * 10 + "</div>" * 10, stop_at=100) == 10
    assert html_depth("<section><div><span>unclosed</section>" * 50, stop_at=100) == 3
