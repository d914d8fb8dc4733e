"""Briefs, sources and the corpus as embeds: every Discord limit, quotes never cut silently."""

from __future__ import annotations

from bot.embeds import (
    QUOTES_PER_PAGE,
    brief_pages,
    clip,
    corpus_pages,
    help_embed,
    quote_embed,
    sources_embeds,
)
from briefings.brief import Brief
from briefings.corpus import CorpusEntry, CorpusOverview
from briefings.quotes import Quote
from briefings.sources import SourceView
from tests.helpers import assert_message_within_limits


def quote(pid: int = 42, text: str = "Russia and China deepen ties.", **kw) -> Quote:
    values = {
        "passage_id": pid,
        "text": text,
        "start": 0,
        "end": len(text),
        "doc_id": f"doc{pid}",
        "source_id": f"src{pid}",
        "title": "A title",
        "authors": ("Ann Author",),
        "published": "2023-06-16",
        "url": "https://example.org/a",
        "site": "Example",
        **kw,
    }
    return Quote(**values)


def as_body(page) -> dict:
    return {"content": page.content, "embeds": [e.to_dict() for e in page.embeds]}


def test_clip_marks_every_cut_with_an_ellipsis():
    assert clip("short", 10) == "short"
    assert clip("x" * 20, 10) == "x" * 9 + "…"
    assert len(clip("y" * 5000, 4096)) == 4096


def test_quote_embed_links_the_title_and_shows_byline_and_id():
    embed = quote_embed(quote(), 1).to_dict()
    assert embed["title"] == "1. A title" and embed["url"] == "https://example.org/a"
    assert embed["description"] == "“Russia and China deepen ties.”"
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "Authors": "Ann Author",
        "Published": "2023-06-16",
        "Passage": "`P42`",
    }
    assert embed["footer"]["text"].startswith("P42")


def test_a_url_discord_would_reject_is_left_out():
    embed = quote_embed(quote(url="javascript:alert(1)"), 1).to_dict()
    assert "url" not in embed


def test_a_too_long_quote_is_cut_visibly_and_keeps_its_id():
    long_text = "word " * 2000
    embed = quote_embed(quote(text=long_text), 1).to_dict()
    assert "…”" in embed["description"]
    assert "shortened" in embed["description"] and "/sources P42" in embed["description"]
    shown = embed["description"].split("”")[0].removeprefix("“").removesuffix("…")
    assert long_text.startswith(shown)  # a prefix of the quote, never a rewrite
    assert_message_within_limits({"embeds": [embed]})


def test_huge_metadata_stays_within_every_limit():
    q = quote(title="T" * 1000, authors=tuple("A" * 300 for _ in range(10)), site="S" * 3000)
    pages = brief_pages(Brief("topic " * 50, (q,) * 10, source="s" * 300, since="2023-01-01"))
    for page in pages:
        assert_message_within_limits(as_body(page))


def test_many_long_quotes_page_within_the_6000_total():
    quotes = tuple(quote(pid=i, text="z" * 2500) for i in range(10))
    pages = brief_pages(Brief("topic", quotes))
    assert len(pages) > 2
    assert sum(len(p.embeds) for p in pages) == 10
    for number, page in enumerate(pages, start=1):
        assert_message_within_limits(as_body(page))
        assert f"page {number}/{len(pages)}" in page.content
        assert len(page.passage_ids) == len(page.embeds) <= QUOTES_PER_PAGE
    assert [pid for p in pages for pid in p.passage_ids] == list(range(10))


def test_short_briefs_fit_one_page_without_page_numbers():
    [page] = brief_pages(Brief("topic", (quote(1), quote(2))))
    assert "page" not in page.content and page.passage_ids == (1, 2)


def test_sources_embeds_highlight_the_passage_in_its_context():
    view = SourceView(quote(), "Before it.", "After it.", (quote(7, "Same thing."),), 12)
    main, similar = (e.to_dict() for e in sources_embeds(view))
    assert main["description"] == "Before it. **“Russia and China deepen ties.”** After it."
    assert "12 passages" in next(f["value"] for f in main["fields"] if f["name"] == "Document")
    assert "“Same thing.”" in similar["fields"][0]["value"]
    assert "P7" in similar["fields"][0]["value"]


def test_sources_embeds_with_huge_context_and_lookalikes_stay_within_limits():
    others = tuple(quote(i, "o" * 3000, title="T" * 400) for i in range(20))
    view = SourceView(quote(text="q" * 5000), "b" * 9000, "a" * 9000, others, 3)
    embeds = sources_embeds(view)
    assert_message_within_limits({"embeds": [e.to_dict() for e in embeds]})
    description = embeds[0].description
    assert description.startswith("…") and "**“" in description and "…”**" in description
    assert "shortened" in embeds[0].footer.text


def test_sources_without_lookalikes_say_so():
    view = SourceView(quote(), "", "", (), 1)
    assert "No other document" in sources_embeds(view)[1].description


def test_corpus_pages_hold_every_document_within_limits():
    entries = tuple(
        CorpusEntry(f"d{i}", f"s{i}", "T" * 400, ("A" * 500,), None, "S", "https://x.org", 3)
        for i in range(47)
    )
    pages = corpus_pages(CorpusOverview(entries, "2024-01-01T00:00:00+00:00"))
    assert len(pages) >= 5
    assert sum(len(p.embeds[0].fields) for p in pages) == 47
    for page in pages:
        assert_message_within_limits(as_body(page))


def test_an_empty_corpus_is_one_page_saying_so():
    [page] = corpus_pages(CorpusOverview((), None))
    assert "no documents yet" in page.embeds[0].description


def test_help_gives_each_command_two_lines():
    fields = help_embed().to_dict()["fields"]
    assert all(len(f["value"].splitlines()) == 2 for f in fields)
    assert_message_within_limits({"embeds": [help_embed().to_dict()]})
