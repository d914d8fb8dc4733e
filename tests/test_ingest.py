"""Ingest: files → clean ``Document``s (boilerplate gone, body kept, metadata lifted out)."""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.cleaning import normalise_date, strip_markup
from index.embedding import Embedder
from index.errors import IngestError, InputError
from index.ingest import clean_page, discover_files, jsonl_objects, read_file
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
        ('{"id": true, "text": "t"}', "'id' must be"),
        ('{"id": "x", "text": "t", "title": 5}', "'title' must be"),
    ],
)
def test_malformed_jsonl_line_is_skipped_with_a_warning_naming_its_line_number(
    tmp_path: Path, bad_line: str, message: str
) -> None:
    good = [json.dumps({"id": f"ok{n}", "text": f"Fine text {n}."}) for n in range(3)]
    path = write_jsonl(tmp_path / "corpus.jsonl", [good[0], "", good[1], bad_line, good[2]])
    warnings: list[str] = []
    documents = read_file(path, warn=warnings.append)
    assert [doc.doc_id for doc in documents] == ["ok0", "ok1", "ok2"]
    (warning,) = warnings
    assert re.fullmatch(rf"corpus\.jsonl line 4: .*{message}.*; line skipped", warning)


# ----------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("blob.txt", b"abc\x00\x01\x02def", "binary"),
        ("noise.txt", bytes(range(0x80, 0x100)) * 8, "not text"),
        ("nul16.txt", codecs.BOM_UTF16_LE + "a\x00b".encode("utf-16-le"), "binary"),
        ("odd16.txt", codecs.BOM_UTF16_LE + b"ab\x00", "not UTF-16"),
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


# ----------------------------------------------------------------------------- encodings


# Typographic quotes and a dash (0x93, 0x94, 0x97, 0x92 in cp1252) and accented letters.
WESTERN = (
    "The minister said \u201cwe will not\u201d \u2014 and didn\u2019t, "
    "at the caf\u00e9 Cr\u00e8me.\n"
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (WESTERN, "cp1252"),
        ("Le caf\u00e9 cr\u00e8me co\u00fbte deux euros \u00e0 la gare de No\u00ebl.\n", "latin-1"),
        ("Die Stra\u00dfe f\u00fchrt \u00fcber die Br\u00fccke nach M\u00fcnchen.\n", "latin-1"),
    ],
)
def test_legacy_western_file_is_read_as_cp1252_with_a_warning_naming_the_encoding(
    tmp_path: Path, text: str, encoding: str
) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    warnings: list[str] = []
    (doc,) = read_file(path, warn=warnings.append)
    assert doc.text == text.strip()
    (warning,) = warnings
    assert warning.startswith("legacy.txt: not UTF-8") and "cp1252" in warning


def test_legacy_cyrillic_file_is_read_in_its_own_code_page(tmp_path: Path) -> None:
    text = (  # "The government of Russia announced an agreement."
        "\u041f\u0440\u0430\u0432\u0438\u0442\u0435\u043b\u044c\u0441\u0442\u0432\u043e "
        "\u0420\u043e\u0441\u0441\u0438\u0438 \u043e\u0431\u044a\u044f\u0432\u0438\u043b\u043e "
        "\u043e \u0441\u043e\u0433\u043b\u0430\u0448\u0435\u043d\u0438\u0438.\n"
    )
    path = tmp_path / "ru.txt"
    path.write_bytes(text.encode("cp1251"))
    warnings: list[str] = []
    (doc,) = read_file(path, warn=warnings.append)
    assert doc.text == text.strip()
    assert "cp1251" in warnings[0]


def test_ascii_file_with_one_windows_apostrophe_reads_it_as_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"The port didn\x92t reopen on Thursday, officials said.\n")
    warnings: list[str] = []
    (doc,) = read_file(path, warn=warnings.append)
    assert doc.text == "The port didn\u2019t reopen on Thursday, officials said."
    assert "cp1252" in warnings[0]


def test_mostly_utf8_file_with_a_stray_byte_keeps_its_utf8_characters(tmp_path: Path) -> None:
    path = tmp_path / "damaged.txt"
    head = "Stra\u00dfe, caf\u00e9, na\u00efve \u2014 \u201cquoted\u201d text in Z\u00fcrich. "
    path.write_bytes(head.encode() + b"One bad \xff byte.\n")
    warnings: list[str] = []
    (doc,) = read_file(path, warn=warnings.append)
    assert doc.text == head + "One bad \ufffd byte."
    (warning,) = warnings
    assert "damaged.txt" in warning and "UTF-8" in warning and "1 undecodable byte" in warning


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_unicode_file_with_a_byte_order_mark_is_read_without_a_warning(
    tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "bom.txt"
    text = WESTERN if encoding[-3:] not in ("-le", "-be") else "\ufeff" + WESTERN
    path.write_bytes(text.encode(encoding))  # the -le/-be codecs write no mark of their own
    warnings: list[str] = []
    (doc,) = read_file(path, warn=warnings.append)
    assert doc.text == WESTERN.strip()
    assert warnings == []


def test_a_warning_is_logged_when_no_collector_is_given(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(WESTERN.encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="index.ingest"):
        read_file(path)
    assert "legacy.txt: not UTF-8; read as cp1252" in caplog.text


# ----------------------------------------------------------------------------- tolerant JSONL


def test_jsonl_in_a_legacy_encoding_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    record = json.dumps({"id": "a", "text": WESTERN}, ensure_ascii=False)
    path.write_bytes(record.encode("cp1252") + b"\n")
    warnings: list[str] = []
    (doc,) = read_file(path, warn=warnings.append)
    assert doc.text == WESTERN.strip()
    assert "cp1252" in warnings[0]


def test_jsonl_without_one_good_line_is_an_error_naming_the_file_and_its_bad_lines(
    tmp_path: Path,
) -> None:
    lines = ['{"id": "1", "text": ', '["x"]', '{"text": "no id"}', '{"id": "4"}', "nonsense"]
    path = write_jsonl(tmp_path / "broken.jsonl", lines)
    warnings: list[str] = []
    with pytest.raises(IngestError) as caught:
        read_file(path, warn=warnings.append)
    message = str(caught.value)
    assert message.startswith("broken.jsonl: no usable records")
    for number in (1, 2, 3):
        assert f"broken.jsonl line {number}:" in message
    assert "(and 2 more)" in message
    assert warnings == []  # the problems are in the error, not repeated as warnings


def test_duplicate_jsonl_id_keeps_the_first_record_and_warns_naming_both_lines(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps({"id": "a", "text": "First record."}),
        json.dumps({"id": "b", "text": "Other record."}),
        json.dumps({"id": "a", "text": "Second record under the same id."}),
    ]
    path = write_jsonl(tmp_path / "dups.jsonl", lines)
    warnings: list[str] = []
    documents = read_file(path, warn=warnings.append)
    assert [(d.doc_id, d.text) for d in documents] == [
        ("a", "First record."),
        ("b", "Other record."),
    ]
    assert warnings == [
        "dups.jsonl line 3: duplicate id 'a', first on dups.jsonl line 1; line skipped"
    ]


def test_unrecognised_jsonl_date_is_a_warning_naming_the_line(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "dates.jsonl", [json.dumps({"id": "a", "text": "T.", "published": "someday"})]
    )
    warnings: list[str] = []
    (doc,) = read_file(path, warn=warnings.append)
    assert doc.published is None
    assert warnings == ["dates.jsonl line 1: unrecognised date 'someday' ignored"]


def test_jsonl_objects_is_strict_unless_given_somewhere_to_report_bad_lines() -> None:
    text = '{"id": "q1"}\n[1]\n{"id": "q3"}\n'
    with pytest.raises(IngestError, match=r"q\.jsonl line 2: expected a JSON object, got list"):
        list(jsonl_objects(text, "q.jsonl"))
    bad: list[str] = []
    kept = [where for where, _ in jsonl_objects(text, "q.jsonl", bad_line=bad.append)]
    assert kept == ["q.jsonl line 1", "q.jsonl line 3"]
    assert bad == ["q.jsonl line 2: expected a JSON object, got list"]
