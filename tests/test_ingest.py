"""Ingest: files → clean ``Document``s (boilerplate gone, body kept, metadata lifted out)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.cleaning import normalise_date, strip_markup
from index.embedding import Embedder
from index.errors import IngestError, InputError
from index.ingest import clean_page, discover_files, read_file
from index.models import Document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
S000 = "000_3373d263733f1a36.txt"
S001 = "001_264556624daf32ae.txt"
S002 = "002_9c019b2787a446ba.txt"
S003 = "003_03d922fbc487bd24.txt"
S004 = "004_4ee72bb1d8602485.txt"

# Real boilerplate lines (or their distinctive parts) from the seed pages.
BOILERPLATE = [
    "Connect with us",
    "Translate Website",
    "Daily Newsletter",
    "click here",
    "Click the share button",
    "Follow us on",
    "follow us on Instagram",
    "Feel free to repost",
    "Note to readers",
    "Featured image",
    "image credit",
    "image source",
    "The original source of this article",
    "Copyright ©",
    "Comment on Global Research Articles",
    "Become a Member",
    "Articles by",
    "Disclaimer",
    "copyrighted material",
    "For media inquiries",
    "Continue Reading",
    "Comments",
    "No comments",
    "Published",
    "From our partner",
    "Theme:",
    "Region:",
    "Latest",
    "Trending",
    "hours ago",
    "Act Urgently to Preserve Biodiversity",
    "Logistics giant commits to Gothenburg",
    "SHARE",
    "is a senior fellow at",
    "Adjunct Professor",
    "a student majored in History",
    "Contact:",
    "](#)",
    "**",
    "<u>",
    "\\*",
]


@pytest.fixture(scope="module")
def seed_docs() -> dict[str, Document]:
    docs: dict[str, Document] = {}
    for path in sorted(SEEDS.iterdir()):
        for doc in read_file(path):
            docs[doc.doc_id] = doc
    return docs


def paragraphs(doc: Document) -> list[str]:
    return doc.text.split("\n\n")


# ----------------------------------------------------------------------------- seeds


def test_seeds_give_one_document_per_article(seed_docs: dict[str, Document]) -> None:
    assert sorted(seed_docs) == [
        S000,
        S001,
        f"{S001}#2",
        f"{S001}#3",
        f"{S001}#4",
        S002,
        S003,
        S004,
    ]


def test_boilerplate_lines_are_gone_from_every_seed_document(
    seed_docs: dict[str, Document],
) -> None:
    for doc in seed_docs.values():
        for line in BOILERPLATE:
            assert line not in doc.text, f"{line!r} left in {doc.doc_id}"
        for para in paragraphs(doc):
            assert para.strip(" *.") != "", f"separator left in {doc.doc_id}"


BODY_SENTENCES = {
    S000: [
        "The power dynamic in Northeast Asia is undergoing a dramatic change",
        "Japan’s motivations are easy to fathom.",
        "The Russian-Iranian military ties set the precedent.",
    ],
    S001: [
        "Since the Soviet Union was disintegrated in late 1991",
        "Meantime, China is becoming central to the Russian economy’s future",
        "Sino-Russian strategic partnership has moved forward steadily and maturely.",
    ],
    f"{S001}#2": [
        "The situation around the island of Taiwan is raising concerns",
        "During the Ukrainian conflicts of 2013-14, the Obama administration",
        "Uncle Sam will not dare to challenge militarily the Middle Kingdom. Not this time.",
    ],
    f"{S001}#3": [
        "Expanding the modest elements of trust in the Japan-Russia relationship",
        "The territorial dispute with Russia is considered to be very important",
        "Giving up is an option, but not a good one.",
    ],
    f"{S001}#4": [
        "In October, Japan had inaugurated Fumio Kishida as the new prime minister",
        "Compared to his predecessor, Suga Yoshihide, Prime Minister Kishida",
        "will solidify Japan’s credibility and position among Southeast Asians.",
    ],
    S002: [
        "Last month, there was a peculiar event occurring in the skies over the Sea of Japan.",
        "Of course, China and Russia are not formal allies",
        "it will have to change course.",
    ],
    S003: [
        "The initiative by Beijing to propose a virtual meeting between President Xi Jinping",
        'To quote Peskov,\n\n"[The two leaders] will exchange their views',
        "The pact is a foundational document on which the Sino-Russian alliance is anchored.",
    ],
    S004: [
        "The beginning of 2022 saw Russia threaten war in Ukraine",
        "The clear consensus is that Sino-Russian relations have grown much closer",
        "Still, his explanation omits some other factors stirring distrust in each other.",
    ],
}


@pytest.mark.parametrize("doc_id", sorted(BODY_SENTENCES))
def test_body_sentences_from_start_middle_and_end_are_kept(
    seed_docs: dict[str, Document], doc_id: str
) -> None:
    text = seed_docs[doc_id].text
    for sentence in BODY_SENTENCES[doc_id]:
        assert sentence in text


@pytest.mark.parametrize("doc_id", sorted(BODY_SENTENCES))
def test_document_text_starts_and_ends_with_article_body(
    seed_docs: dict[str, Document], doc_id: str
) -> None:
    paras = paragraphs(seed_docs[doc_id])
    first, *_, last = BODY_SENTENCES[doc_id]
    assert paras[0].startswith(first)
    assert paras[-1].endswith(last)


def test_multi_article_page_gives_four_documents_with_their_titles(
    seed_docs: dict[str, Document],
) -> None:
    docs = [d for d in seed_docs.values() if d.source_id == S001]
    assert [d.title for d in docs] == [
        "Sino-Russian strategic partnership moving forward",
        "Shared Territorial Concern, Opposition to US Intervention Prompt Russia’s Support "
        "to China on Taiwan Question",
        "Russia-Japan Relations: Were Abe’s Efforts In Vain?",
        "Kishida and Japan-Indonesia Security Relations: The Prospects",
    ]
    assert [d.doc_id for d in docs] == [S001, f"{S001}#2", f"{S001}#3", f"{S001}#4"]
    # each article holds only its own text
    assert "Lavrov" not in docs[0].text
    assert "Abe’s long period of leadership" not in docs[1].text
    assert "Indonesia" not in docs[2].text


@pytest.mark.parametrize(
    ("doc_id", "title", "authors", "published", "site"),
    [
        (
            S000,
            "Asia-Pacific Is Where China-Russia “No Limits” Partnership Will be Put to Test",
            ("M. K. Bhadrakumar",),
            "2023-06-16",
            "Asia-Pacific Research",
        ),
        (
            S001,
            "Sino-Russian strategic partnership moving forward",
            ("Anna Kolotova", "Zhao Wenbin"),
            None,
            None,
        ),
        (
            S002,
            "Russia and China’s Strategic Marriage of Convenience",
            ("J. Berkshire Miller", "Benoit Hardy-Chartrand"),
            "2019-08-31",
            None,
        ),
        (
            S003,
            "Russia-China Alliance at the Tipping Point",
            ("M. K. Bhadrakumar",),
            "2021-12-15",
            "Global Research",
        ),
        (S004, "", (), None, None),
    ],
)
def test_seed_metadata_is_lifted_from_header_lines(
    seed_docs: dict[str, Document],
    doc_id: str,
    title: str,
    authors: tuple[str, ...],
    published: str | None,
    site: str | None,
) -> None:
    doc = seed_docs[doc_id]
    assert (doc.title, doc.authors, doc.published, doc.site) == (title, authors, published, site)
    assert doc.source_id == doc_id.split("#")[0]
    assert doc.path is not None
    assert Path(doc.path).name == doc.source_id


def test_title_byline_and_dateline_are_not_in_the_body(seed_docs: dict[str, Document]) -> None:
    for doc in seed_docs.values():
        if doc.title:
            assert doc.title not in doc.text
        for line in ("By M. K.", "by J. Berkshire", "Authors:", "31 August 2019", "June 16, 2023"):
            assert line not in doc.text
        assert "Indian Punchline 11 June 2023" not in doc.text
        assert "East Asia" not in paragraphs(doc)


def test_section_headings_stay_in_the_text_as_their_own_paragraphs(
    seed_docs: dict[str, Document],
) -> None:
    paras_004 = paragraphs(seed_docs[S004])
    for heading in (
        "India and the Quad",
        "Sino-Russian Relations",
        "How has the relationship evolved?",
        "Gabuev on Sino-Russian Relations",
    ):
        assert heading in paras_004
    assert "Challenges" in paragraphs(seed_docs[f"{S001}#4"])


def test_paragraph_broken_mid_sentence_is_joined(seed_docs: dict[str, Document]) -> None:
    text = seed_docs[S000].text
    assert "Second, Japan no longer visualises Russia to be a “balancer”" in text
    assert "border regions... (and) driving bilateral relations" in text


def test_markdown_link_targets_are_gone_but_link_text_is_kept(
    seed_docs: dict[str, Document],
) -> None:
    text = seed_docs[S000].text
    assert "Russian foreign ministry summoned the Japanese ambassador on Friday" in text
    assert "Prime Minister Fumio Kishida should be ready" in text
    assert "(#)" not in text
    assert "which the two countries signed on November 23?" in seed_docs[S003].text


@pytest.mark.parametrize(
    ("markup", "plain"),
    [
        ("see [the report](https://example.org/a_(b)) now", "see the report now"),
        ("**bold** and *italic* and __strong__", "bold and italic and strong"),
        ("<u>underlined</u> <a href='x'>link</a>", "underlined link"),
        ("## **A Title**", "A Title"),
        (r"\*\*\* and crg\_globalresearch", "*** and crg_globalresearch"),
        ("![a chart](img.png) Caption text", "Caption text"),
        ("Tom &amp; Jerry&nbsp;again", "Tom & Jerry again"),
        ("a < b > c", "a < b > c"),
    ],
)
def test_strip_markup_keeps_text_and_drops_markup(markup: str, plain: str) -> None:
    assert strip_markup(markup) == plain


# ----------------------------------------------------------------------------- general rules


PARA = (
    "Officials in {place} said the new trade agreement would reduce tariffs on machinery and "
    "grain over the next five years, while critics warned that the deal ignored labour rights "
    "and environmental protections that had been promised during the negotiations."
)


def test_table_of_contents_and_trailing_share_block_are_dropped() -> None:
    headings = ["Background of the Talks", "What Changed in May?", "Outlook for Exporters"]
    body: list[str] = []
    for number, heading in enumerate(headings):
        body += [heading, PARA.format(place=f"city {number}"), PARA.format(place="the capital")]
    page = "\n".join([*headings, *body, *headings, "SHARE"])
    (doc,) = clean_page(page, source_id="toc.txt")
    paras = paragraphs(doc)
    assert paras[0] == "Background of the Talks"
    assert paras[-1] == PARA.format(place="the capital")
    for heading in headings:
        assert paras.count(heading) == 1


def test_articles_are_split_at_header_blocks_without_markers() -> None:
    page = "\n\n".join(
        [
            "World",
            "Grain Deal Reached After Long Talks",
            "By Jane Roe",
            "March 3, 2022",
            PARA.format(place="Cairo"),
            PARA.format(place="Giza"),
            "Economy",
            "Machinery Exports Rise Again",
            "Published on 4 March 2022",
            "By John Doe and Ann Lee",
            PARA.format(place="Lima"),
        ]
    )
    first, second = clean_page(page, source_id="two.md")
    assert (first.title, first.authors, first.published) == (
        "Grain Deal Reached After Long Talks",
        ("Jane Roe",),
        "2022-03-03",
    )
    assert (second.doc_id, second.title, second.authors, second.published) == (
        "two.md#2",
        "Machinery Exports Rise Again",
        ("John Doe", "Ann Lee"),
        "2022-03-04",
    )
    assert "Economy" not in first.text
    assert second.text == PARA.format(place="Lima")


def test_headline_feed_and_widgets_after_the_article_are_dropped() -> None:
    page = "\n\n".join(
        [
            PARA.format(place="Oslo"),
            PARA.format(place="Bergen"),
            "Share this: Facebook Twitter",
            "Sign up for our weekly newsletter",
            "Related",
            "Politics3 hours ago",
            "Election results delayed in the north",
            "Counting continued late into the night as officials...",
            "Leave a Reply",
        ]
    )
    (doc,) = clean_page(page, source_id="feed.txt")
    assert paragraphs(doc) == [PARA.format(place="Oslo"), PARA.format(place="Bergen")]


def test_page_of_only_boilerplate_gives_no_documents() -> None:
    page = "Subscribe to our newsletter\n\nFollow us on Twitter\n\n***\n\nCopyright © 2024 Site"
    assert clean_page(page, source_id="chrome.txt") == []


# ----------------------------------------------------------------------------- stray lines


def topic_embed(texts: list[str]) -> np.ndarray:
    """Texts about trade point one way, anything else another: a stand-in for the model."""
    rows = []
    for text in texts:
        on_topic = any(w in text for w in ("trade", "tariff", "Officials"))
        rows.append([1.0, 0.1] if on_topic else [0.1, 1.0])
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_off_topic_standalone_line_is_dropped_only_when_embed_is_given() -> None:
    stray = "The first postage stamp was issued in Britain."
    page = "\n\n".join(
        [
            PARA.format(place="Rome"),
            PARA.format(place="Milan"),
            stray,
            "The trade ministry confirmed the tariff schedule.",
            PARA.format(place="Turin"),
        ]
    )
    (with_model,) = clean_page(page, source_id="p.txt", embed=topic_embed)
    (rules_only,) = clean_page(page, source_id="p.txt")
    assert stray not in with_model.text
    assert "The trade ministry confirmed the tariff schedule." in with_model.text
    assert stray in rules_only.text


# ----------------------------------------------------------------------------- HTML

HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<title>Ports Reopen After Strike | Harbour Times</title>
<meta property="og:title" content="Ports Reopen After Strike">
<meta name="author" content="Maria Gomez">
<meta property="article:published_time" content="2023-05-04T08:00:00Z">
<meta property="og:site_name" content="Harbour Times">
<link rel="canonical" href="https://harbourtimes.example.com/ports-reopen">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>
<article>
<h1>Ports Reopen After Strike</h1>
<p>Dock workers returned to the container terminals on Thursday after a ten-day strike over
wages ended with an agreement that raises pay by six percent over two years.</p>
<p>Shipping companies said the backlog of vessels waiting outside the harbour would take at
least a week to clear, and importers warned of delays for <a href="/x">retail goods</a>.</p>
<p>The union said members had voted by a large majority to accept the offer, which also
includes new limits on overtime and a review of safety rules at night.</p>
</article>
<footer><p>Copyright © 2023 Harbour Times. All rights reserved.</p>
<p>Subscribe to our newsletter</p></footer>
</body></html>"""


def test_html_page_is_extracted_with_trafilatura_metadata(tmp_path: Path) -> None:
    path = tmp_path / "ports.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    (doc,) = read_file(path)
    assert doc.doc_id == doc.source_id == "ports.html"
    assert doc.title == "Ports Reopen After Strike"
    assert doc.authors == ("Maria Gomez",)
    assert doc.published == "2023-05-04"
    assert doc.site == "Harbour Times"
    assert doc.url == "https://harbourtimes.example.com/ports-reopen"
    assert "Dock workers returned to the container terminals on Thursday" in doc.text
    assert "importers warned of delays for retail goods." in doc.text
    for chrome in ("Home", "Copyright", "Subscribe", "<p>", "Ports Reopen After Strike"):
        assert chrome not in doc.text
    assert len(paragraphs(doc)) == 3


# ----------------------------------------------------------------------------- JSONL


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_records_become_documents_with_their_fields(tmp_path: Path) -> None:
    records = [
        {
            "id": "a1",
            "text": "  First   text.\n\nSecond paragraph kept verbatim.  ",
            "title": "Alpha",
            "url": "https://example.org/a1",
            "author": "Ann Lee",
            "published": "June 16, 2023",
            "site": "Example News",
        },
        {
            "_id": 7,
            "text": "Only text.",
            "authors": ["B. One", "C. Two"],
            "published": "2021-12-15",
        },
        {"id": "c3", "text": "x", "authors": "D. Three; E. Four", "published": "someday"},
    ]
    path = write_jsonl(tmp_path / "corpus.jsonl", [json.dumps(r) for r in records] + [""])
    first, second, third = read_file(path)
    assert first == Document(
        doc_id="a1",
        source_id="a1",
        text="First   text.\n\nSecond paragraph kept verbatim.",
        title="Alpha",
        authors=("Ann Lee",),
        published="2023-06-16",
        url="https://example.org/a1",
        site="Example News",
        path=str(path),
    )
    assert (second.doc_id, second.source_id, second.authors, second.published) == (
        "7",
        "7",
        ("B. One", "C. Two"),
        "2021-12-15",
    )
    assert (third.authors, third.published, third.title) == (("D. Three", "E. Four"), None, "")


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"id": "x", "text": "ok"', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"text": "no id"}', "missing 'id'"),
        ('{"id": "x"}', "'text'"),
        ('{"id": "x", "text": "t", "authors": 3}', "'authors'"),
    ],
)
def test_malformed_jsonl_line_is_reported_with_its_line_number(
    tmp_path: Path, bad_line: str, message: str
) -> None:
    good = json.dumps({"id": "ok", "text": "fine"})
    path = write_jsonl(tmp_path / "corpus.jsonl", [good, "", good, bad_line, good])
    with pytest.raises(IngestError, match=rf"corpus\.jsonl line 4: .*{message}"):
        read_file(path)


# ----------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("blob.txt", b"abc\x00\x01\x02def", "binary"),
        ("latin.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"", "empty"),
        ("blank.txt", b"  \n\n \t\n", "empty"),
        ("chrome.txt", b"Subscribe to our newsletter\n\nShare\n\n***\n", "no article text"),
        ("none.jsonl", b"\n\n", "empty"),
    ],
)
def test_unusable_file_raises_ingest_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as caught:
        read_file(path)
    assert name in str(caught.value)
    assert isinstance(caught.value, InputError)


def test_unreadable_file_raises_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"missing\.txt"):
        read_file(tmp_path / "missing.txt")


# ----------------------------------------------------------------------------- discovery


def test_discover_files_walks_folders_sorted_and_skips_hidden_and_unknown(
    tmp_path: Path,
) -> None:
    root = tmp_path / "corpus"
    for relative in (
        "b.txt",
        "a.md",
        "sub/c.html",
        "sub/deeper/d.jsonl",
        "sub/e.htm",
        "f.markdown",
        "image.png",
        ".hidden.txt",
        ".git/g.txt",
        "notes.rst",
    ):
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x", encoding="utf-8")
    odd = tmp_path / "explicit.data"
    odd.write_text("x", encoding="utf-8")

    files, warnings = discover_files([root, str(odd), tmp_path / "nowhere", root / "a.md"])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "corpus/a.md",
        "corpus/b.txt",
        "corpus/f.markdown",
        "corpus/sub/c.html",
        "corpus/sub/deeper/d.jsonl",
        "corpus/sub/e.htm",
        "explicit.data",
    ]
    assert len(warnings) == 1
    assert "nowhere" in warnings[0]


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("June 16, 2023", "2023-06-16"),
        ("31 August 2019", "2019-08-31"),
        ("Global Research, December 15, 2021", "2021-12-15"),
        ("2023-05-04T08:00:00Z", "2023-05-04"),
        ("Sept. 3rd, 2020", "2020-09-03"),
        ("February 30, 2021", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_dates_are_normalised_to_iso(value: str | None, iso: str | None) -> None:
    assert normalise_date(value) == iso


# ----------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def model_embed(real_embedder: Embedder) -> Callable[[list[str]], np.ndarray]:
    """The real model's passage encoder (the session fixture loads it once, on CPU)."""
    return real_embedder.encode_passages


@pytest.mark.slow
def test_real_model_drops_only_the_stray_lines_of_the_seeds(
    seed_docs: dict[str, Document], model_embed: Callable[[list[str]], np.ndarray]
) -> None:
    stray = {
        "Copper coins are minted in Japan for the first time.",
        "The Beatles perform their last concert before paying fans at Candlestick Park in "
        "San Francisco.",
    }
    assert stray <= set(paragraphs(seed_docs[S002]))
    for path in sorted(SEEDS.iterdir()):
        for doc in read_file(path, embed=model_embed):
            rules_only = paragraphs(seed_docs[doc.doc_id])
            expected = [p for p in rules_only if p not in stray]
            assert paragraphs(doc) == expected, doc.doc_id
