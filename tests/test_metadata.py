"""Metadata a page declares (front matter, scraper headers, JSON) and how many articles it holds."""

from __future__ import annotations

import pytest

from index.cleaning import clean_page
from index.cleaning.articles import strip_title_suffix
from index.cleaning.dates import find_date
from index.cleaning.metadata import read_declared

BODY = (
    "Harbour officials in {place} said the new crane contract would shorten waiting times for "
    "container ships over the coming winter, although dock unions asked for guarantees on "
    "shift lengths and safety inspections before the machines arrive."
)


def body(*places: str) -> str:
    return "\n\n".join(BODY.format(place=place) for place in places)


# ----------------------------------------------------------------------------- declared blocks


def test_yaml_front_matter_gives_title_url_and_authors_and_never_reaches_the_text() -> None:
    page = "\n".join(
        [
            "---",
            'title: "Cranes Arrive at the Northern Quay"',
            "url: https://news.example.org/cranes-arrive",
            "fetched_at: 2025-09-13T14:40:15-04:00",
            "authors:",
            "  - Ada Lovelace",
            "  - Alan Turing",
            "---",
            "",
            body("Aberdeen", "Dundee"),
        ]
    )
    (doc,) = clean_page(page, source_id="front.md")
    assert doc.title == "Cranes Arrive at the Northern Quay"
    assert doc.url == "https://news.example.org/cranes-arrive"
    assert doc.authors == ("Ada Lovelace", "Alan Turing")
    assert doc.published is None  # the fetch time is not the publication date
    assert "fetched_at" not in doc.text
    assert "news.example.org" not in doc.text


def test_toml_front_matter_gives_title_date_and_author() -> None:
    page = "\n".join(
        [
            "+++",
            'title = "Ferry Timetable Changes"',
            "date = 2023-12-22T09:00:00Z",
            'author = "Grace Hopper"',
            "+++",
            body("Oban"),
        ]
    )
    (doc,) = clean_page(page, source_id="front.md")
    assert (doc.title, doc.published, doc.authors) == (
        "Ferry Timetable Changes",
        "2023-12-22",
        ("Grace Hopper",),
    )
    assert "+++" not in doc.text


def test_scraper_header_lines_give_title_url_and_publication_time() -> None:
    page = "\n\n".join(
        [
            "Title: Lighthouse Keepers Return",
            "URL Source: https://coast.example.com/keepers",
            "Published Time: 2021-12-02T10:26:00Z",
            "Markdown Content:",
            body("Wick", "Thurso"),
        ]
    )
    (doc,) = clean_page(page, source_id="reader.md")
    assert (doc.title, doc.url, doc.published) == (
        "Lighthouse Keepers Return",
        "https://coast.example.com/keepers",
        "2021-12-02",
    )
    assert "Markdown Content" not in doc.text
    assert "URL Source" not in doc.text


def test_information_list_gives_link_date_author_and_source_and_is_dropped() -> None:
    page = "\n".join(
        [
            "# Tidal Barrier Approved",
            "",
            "## Information:",
            "+ Source: The Coast Herald",
            "+ Link: [article](https://herald.example.net/tidal-barrier/)",
            "+ Date: September 24, 2021",
            "+ Author: Mary Somerville",
            "",
            "## Article:",
            body("Hull", "Grimsby"),
        ]
    )
    (doc,) = clean_page(page, source_id="osint.md")
    assert doc.title == "Tidal Barrier Approved"
    assert doc.url == "https://herald.example.net/tidal-barrier/"
    assert doc.published == "2021-09-24"
    assert doc.authors == ("Mary Somerville",)
    assert doc.site == "The Coast Herald"
    assert "Information" not in doc.text
    assert "Article:" not in doc.text
    assert doc.text.startswith("Harbour officials in Hull")


def test_bold_key_list_without_heading_is_read_at_the_top_of_the_page() -> None:
    page = "\n".join(
        [
            "- **URL**: https://port.example.org/dredging",
            "- **Published**: 22 Dec 2023",
            "",
            body("Leith"),
        ]
    )
    meta, text = read_declared(page)
    assert (meta.url, meta.published) == ("https://port.example.org/dredging", "2023-12-22")
    assert text.strip() == body("Leith")


def test_trailing_url_section_gives_the_url_and_leaves_the_text() -> None:
    page = "\n\n".join(["# Weekly Shipping Notes", body("Cork"), "## URL", "https://e.example/n"])
    (doc,) = clean_page(page, source_id="notes.md")
    assert doc.url == "https://e.example/n"
    assert "URL" not in doc.text
    assert doc.text == body("Cork")


def test_json_ld_blob_gives_headline_authors_and_date_and_is_removed() -> None:
    blob = (
        '{"@context": "https://schema.org", "@type": "NewsArticle", '
        '"headline": "Canal Reopens to Barges", "datePublished": "2022-01-14T16:06:49+00:00", '
        '"author": [{"@type": "Person", "name": "Emmy Noether"}, '
        '{"@type": "Person", "name": "Lise Meitner"}]}'
    )
    page = "\n\n".join([blob, body("Leeds", "Wakefield")])
    (doc,) = clean_page(page, source_id="ld.txt")
    assert (doc.title, doc.authors, doc.published) == (
        "Canal Reopens to Barges",
        ("Emmy Noether", "Lise Meitner"),
        "2022-01-14",
    )
    assert "schema.org" not in doc.text


def test_html_data_object_in_a_script_gives_the_author() -> None:
    page = f"""<!DOCTYPE html><html><head>
<title>Bridge Tolls Scrapped - Valley Post</title>
<meta value="2017-01-19T08:05:40+00:00" name="article:published_time">
<script>var site = window.site || {{}}; site.data = {{"title": "Bridge Tolls Scrapped",
"author": "Rosalind Franklin", "section": "News"}};</script>
</head><body><nav><a href="/">Home</a></nav>
<article><h1>Bridge Tolls Scrapped</h1><p>{BODY.format(place="Perth")}</p>
<p>{BODY.format(place="Stirling")}</p></article></body></html>"""
    (doc,) = clean_page(page, source_id="tolls.html", is_html=True)
    assert doc.title == "Bridge Tolls Scrapped"
    assert doc.authors == ("Rosalind Franklin",)
    assert doc.published == "2017-01-19"


# ----------------------------------------------------------------------------- titles


HEADLINE = "Cranes Arrive at the Quay"


@pytest.mark.parametrize(
    ("title", "sites", "authors", "expected"),
    [
        (f"{HEADLINE} - WSJ", ["https://www.wsj.example/x"], [], HEADLINE),
        (f"{HEADLINE} | Jo Bloggs | The Herald", ["theherald.example"], ["Jo Bloggs"], HEADLINE),
        (f"{HEADLINE} · Harbour Voices", ["Harbour Voices"], [], HEADLINE),
        (
            "Cranes: A Short History - Part Two",
            ["other.example"],
            [],
            "Cranes: A Short History - Part Two",
        ),
    ],
)
def test_site_and_author_suffixes_are_stripped_from_the_title(
    title: str, sites: list[str], authors: list[str], expected: str
) -> None:
    assert strip_title_suffix(title, sites=sites, authors=authors) == expected


def test_title_suffix_goes_when_the_headline_alone_is_seen_again_on_the_page() -> None:
    lines = ["Menu", "Cranes Arrive at the Quay", "By Jo Bloggs"]
    assert strip_title_suffix("Cranes Arrive at the Quay | Opinion", lines=lines) == (
        "Cranes Arrive at the Quay"
    )


def test_text_page_title_is_its_first_line_seen_again_above_the_byline() -> None:
    page = "\n".join(
        [
            "Cranes Arrive at the Northern Quay",
            "Home",
            "News",
            "Cranes Arrive at the Northern Quay",
            "By Jo Bloggs",
            "August 2, 2024",
            body("Aberdeen", "Dundee"),
        ]
    )
    (doc,) = clean_page(page, source_id="soup.txt")
    assert (doc.title, doc.authors, doc.published) == (
        "Cranes Arrive at the Northern Quay",
        ("Jo Bloggs",),
        "2024-08-02",
    )


# ----------------------------------------------------------------------------- bylines


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("By Jo Bloggs and Sam Smith", ("Jo Bloggs", "Sam Smith")),
        ("By\n\n[Jo Bloggs](https://paper.example/author/jo-bloggs)", ("Jo Bloggs",)),
        ("Written byJo Bloggs", ("Jo Bloggs",)),
        ("Photo: Agency\n\nBy Jo Bloggs & Sam SmithPaper NewsMore", ("Jo Bloggs", "Sam Smith")),
    ],
)
def test_byline_forms_below_the_headline_give_the_authors(
    byline: str, authors: tuple[str, ...]
) -> None:
    page = "\n\n".join(
        [
            "---",
            "title: Cranes Arrive at the Northern Quay - Paper",
            "---",
            "Cranes Arrive at the Northern Quay",
            byline,
            "Sep 24, 2021 10:26 AM",
            body("Aberdeen", "Dundee"),
        ]
    ).replace("---\n\n", "---\n", 1)
    (doc,) = clean_page(page, source_id="byline.md")
    assert doc.authors == authors
    assert doc.published == "2021-09-24"
    assert doc.title == "Cranes Arrive at the Northern Quay"


def test_author_linked_to_an_author_page_in_a_bio_is_the_author_when_no_byline() -> None:
    page = "\n\n".join(
        [
            "# Cranes Arrive at the Northern Quay",
            body("Aberdeen", "Dundee"),
            "[Jo Bloggs](/author/jo-bloggs/) is a senior writer covering ports and shipping.",
        ]
    )
    (doc,) = clean_page(page, source_id="bio.md")
    assert doc.authors == ("Jo Bloggs",)


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("December 2, 2021", "2021-12-02"),
        ("2021-12-02T10:26:00Z", "2021-12-02"),
        ("Sep 24, 2021 10:26 AM", "2021-09-24"),
        ("22 Dec 2023", "2023-12-22"),
        ("Sept. 25, 2021, 8:30 AM UTC", "2021-09-25"),
        ("05/23/2025 10:00 AM EDT", "2025-05-23"),
        ("Mon 30 Jun 2025 06.00 EDT", "2025-06-30"),
        ("LivePrintSept. 25, 2021", "2021-09-25"),
    ],
)
def test_dates_in_common_forms_are_read_as_iso(text: str, iso: str) -> None:
    found = find_date(text)
    assert found is not None
    assert found[0] == iso


@pytest.mark.parametrize("text", ["3 hours ago", "Updated yesterday", "the mayor 5, 2020"])
def test_relative_dates_and_lookalikes_are_not_dates(text: str) -> None:
    assert find_date(text) is None


# ----------------------------------------------------------------------------- article count

SECTION = (
    "The {topic} programme began in the spring, when engineers surveyed the old berths and "
    "found that the piles had weathered better than feared, so the budget was moved towards "
    "dredging the channel and widening the turning basin for larger vessels."
)


def test_an_article_repeated_after_the_comments_is_one_document() -> None:
    article = "\n\n".join(["# Cranes Arrive at the Quay", "By Jo Bloggs", body("Ayr", "Troon")])
    page = "\n\n".join([article, "Comments", "Leave a comment", article])
    docs = clean_page(page, source_id="twice.md")
    assert len(docs) == 1
    assert docs[0].authors == ("Jo Bloggs",)


def test_a_headerless_block_after_a_continue_reading_marker_stays_with_its_article() -> None:
    page = "\n\n".join(
        ["# Cranes Arrive at the Quay", "By Jo Bloggs", body("Ayr"), "Read more", body("Troon")]
    )
    (doc,) = clean_page(page, source_id="more.md")
    assert doc.text == body("Ayr", "Troon")


def test_digest_items_closed_by_the_same_link_become_one_document_each() -> None:
    items = [
        f"{BODY.format(place=place)} See [article](https://weekly.example/{place.lower()})."
        for place in ("Ayr", "Troon", "Largs")
    ]
    page = "\n\n".join(
        [
            "# The week in ports",
            "> Mar 7th 2020",
            items[0],
            items[1],
            BODY.format(place="Irvine"),  # an item without a link of its own
            "![](./images/crane.jpg)",
            items[2],
            "## URL",
            "https://weekly.example/the-week-in-ports",
        ]
    )
    docs = clean_page(page, source_id="digest.md")
    assert [d.text.split(" said")[0] for d in docs] == [
        "Harbour officials in Ayr",
        "Harbour officials in Troon",
        "Harbour officials in Irvine",
        "Harbour officials in Largs",
    ]
    for doc in docs:
        assert (doc.title, doc.published) == ("The week in ports", "2020-03-07")
        assert doc.url == "https://weekly.example/the-week-in-ports"
    assert [d.doc_id for d in docs] == ["digest.md", *(f"digest.md#{n}" for n in (2, 3, 4))]


def test_listing_of_numbered_headed_items_becomes_one_document_per_item() -> None:
    topics = ["Dredging", "Cranes", "Ferries", "Tolls", "Pilots"]
    blocks = ["# Five things we learned in March", "By Jo Bloggs", body("Ayr")]
    for number, topic in enumerate(topics, start=1):
        blocks += [f"{number}. {topic} came first this month", SECTION.format(topic=topic)]
    docs = clean_page("\n\n".join(blocks), source_id="listing.md")
    assert len(docs) == 5
    assert docs[0].title == "Five things we learned in March"
    assert [d.title for d in docs[1:]] == [f"{t} came first this month" for t in topics[1:]]
    assert all(d.authors == ("Jo Bloggs",) for d in docs)


def test_an_article_with_subheadings_stays_one_document() -> None:
    topics = ["Dredging", "Cranes", "Ferries", "Tolls"]
    blocks = ["# How the harbour was rebuilt", "By Jo Bloggs", "May 4, 2023", body("Ayr")]
    for topic in topics:
        blocks += [f"## {topic} and the long winter", SECTION.format(topic=topic), body(topic)]
    (doc,) = clean_page("\n\n".join(blocks), source_id="subheads.md")
    assert doc.title == "How the harbour was rebuilt"
    assert "Tolls and the long winter" in doc.text


def test_numbered_sections_of_long_prose_stay_one_document() -> None:
    blocks = ["# How the harbour was rebuilt", "By Jo Bloggs", body("Ayr")]
    for number, topic in enumerate(["Dredging", "Cranes", "Ferries", "Tolls"], start=1):
        blocks += [f"{number}. {topic}", *(SECTION.format(topic=topic) for _ in range(4))]
    assert len(clean_page("\n\n".join(blocks), source_id="long.md")) == 1


def test_numbered_questions_without_prose_under_them_stay_one_document() -> None:
    questions = [f"{n}. Should the {t} budget grow next year?" for n, t in enumerate("abcde", 1)]
    page = "\n\n".join(["# Five questions for the board", body("Ayr"), *questions, body("Troon")])
    assert len(clean_page(page, source_id="questions.md")) == 1


def test_a_headed_teaser_over_a_list_after_the_article_is_no_article_of_its_own() -> None:
    teaser = "\n\n".join(
        [
            "Ferry Fares Frozen for Winter",
            "By Sam Smith",
            "*The Daily Brief (Daily)*Port Notes (Weekly)*Harbour Life (Weekly)*Shipping Times "
            "(Twice a Week)*Tide Tables (Daily)*Crew Call (Monthly)*Dock Talk (Weekly)*Sea Lanes "
            "(Weekly)*River Traffic (Daily)*Cargo Lines (Twice a Month)*Berth Watch (Weekly)",
        ]
    )
    page = "\n\n".join(["# Cranes Arrive at the Quay", "By Jo Bloggs", body("Ayr"), teaser])
    (doc,) = clean_page(page, source_id="teaser.md")
    assert doc.title == "Cranes Arrive at the Quay"
