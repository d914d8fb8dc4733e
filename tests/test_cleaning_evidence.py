"""Furniture judged by general evidence, on synthetic pages of sites the cleaner has never seen.

Every page here is made up: its menus, prompts and notices are written in the shapes furniture
takes on real sites (glued blocks, link-dense menus, sign-up boxes, licence lines, credits,
teaser feeds, bios), never copied from one.
"""

from __future__ import annotations

from pathlib import Path

from index.chunking import chunk_text
from index.cleaning import clean_page
from index.cleaning.evidence import (
    is_machine_text,
    is_placeholder,
    is_reader_notice,
    is_widget,
    link_density,
    stop_ratio,
)
from index.cleaning.lines import is_credit
from index.cleaning.paragraphs import deglue, is_hard_wrapped, unwrap
from index.cleaning.repetition import SiteRepetition, line_key
from index.ingest import read_file, site_repetition

BODY = [
    "The regional water board approved a plan on Tuesday to replace the ageing pipes that "
    "serve the valley's three largest towns, after a winter in which repeated bursts left "
    "thousands of households without water for days.",
    "Engineers told the board that the network, most of it laid before 1960, loses nearly a "
    "third of the water it carries, and that patching it would cost more over a decade than "
    "replacing the worst sections now.",
    "The plan will be paid for by a surcharge on bills over the next eight years, which "
    "consumer groups said would fall hardest on pensioners and on families who rent and "
    "cannot fix their own plumbing.",
    "Board members said they would publish a map of the works in the spring, so that residents "
    "know when their streets will be dug up and for how long the water will be shut off.",
]


def passages_of(page: str, **kwargs: object) -> list[str]:
    """The passage texts the index would store for ``page``."""
    texts = []
    for doc in clean_page(page, source_id="page.md", **kwargs):  # type: ignore[arg-type]
        texts += [doc.text[span.start : span.end] for span in chunk_text(doc.text)]
    return texts


def document_text(page: str) -> str:
    return "\n".join(doc.text for doc in clean_page(page, source_id="page.md"))


def test_blocks_glued_together_by_a_scraper_are_split_apart() -> None:
    glued = (
        "Pipes to be replacedHomeValleyTownsWeatherSportOpinion"
        "The board approved the plan on Tuesday.It will cost more than expected."
    )
    pieces = deglue(glued)
    assert "Home" in pieces and "Weather" in pieces and "Opinion" in pieces
    assert "The board approved the plan on Tuesday." in pieces
    assert "It will cost more than expected." in pieces


def test_names_with_inner_capitals_are_not_taken_for_glued_blocks() -> None:
    line = "He posted on YouTube and LinkedIn about McDonald's and the iPhone deal with OpenAI."
    assert deglue(line) == [line]
    line = "Tools like ChatGPT, said a NASA engineer at SpaceX, changed how the iPhone is built."
    assert deglue(line) == [line]


def test_teasers_glued_headline_to_headline_are_split_apart() -> None:
    glued = (
        "Council votes to close the library‘A quiet revolution’ — how the valley rebuilt "
        "its bridgesValley schools reopen after the floodRoad works begin in May"
    )
    pieces = deglue(glued)
    assert "Council votes to close the library" in pieces
    assert "Valley schools reopen after the flood" in pieces


def test_a_byline_glued_between_a_time_and_a_dateline_is_split_out() -> None:
    pieces = deglue(
        "8:30 AM UTCBy Sam Writer and Robin ReporterVALLEYTOWN — The board met.It voted."
    )
    assert "By Sam Writer and Robin Reporter" in pieces


def test_text_refilled_to_a_fixed_width_is_joined_back_into_paragraphs() -> None:
    import textwrap

    page = "\n\n".join(textwrap.fill(para, width=50) for para in BODY)
    assert is_hard_wrapped(page.split("\n"))
    assert unwrap(page).split("\n\n") == BODY
    assert all(para in document_text(page) for para in BODY)


def test_ordinary_pages_are_not_taken_for_hard_wrapped_text() -> None:
    menu = "\n".join(["Home", "World", "Opinion", "Sport", "Weather", "Culture", "Travel", "Live"])
    assert not is_hard_wrapped(menu.split("\n"))
    assert not is_hard_wrapped("\n".join(BODY * 3).split("\n"))


def test_a_page_glued_into_one_line_keeps_its_article_and_loses_its_menu() -> None:
    menu = "HomeNewsSportWeatherBusinessCultureTravelVideoLive" * 3
    page = "Pipes to be replaced across the valley" + menu + "".join(BODY) + "RelatedMore news"
    text = document_text(page)
    for para in BODY:
        assert para in text
    assert "Weather" not in text


def test_menus_and_footers_around_the_article_are_cut_at_the_body_edges() -> None:
    menu = [
        f"- [{name}](https://example.org/{name.lower()})" for name in "Home World Opinion".split()
    ]
    footer = [
        "About us",
        "Our mission is to bring readers across the region independent, fact-checked news "
        "about the places where they live, work and raise their families.",
        "Careers",
        "Contact",
    ]
    page = "\n\n".join(
        [*menu, "# Pipes to be replaced", *BODY, "## More from the site", *menu, *footer]
    )
    text = document_text(page)
    assert all(para in text for para in BODY)
    assert "Our mission is to bring readers" not in text


def test_a_short_closing_sentence_of_the_article_is_kept() -> None:
    page = "\n\n".join(["# Pipes to be replaced", *BODY, "The board meets again in May."])
    assert "The board meets again in May." in document_text(page)


def test_sign_up_prompts_and_donation_appeals_never_reach_a_passage() -> None:
    prompts = [
        "Get the morning briefing in your inbox every weekday. Sign up for free today.",
        "Reporting like this takes time and money. If you value it, please support us with a "
        "monthly donation.",
        "Have a tip for our reporters? Get in touch securely through our encrypted channels.",
        "Enter your email address to receive the newsletter. We will never share your details.",
    ]
    page = "\n\n".join(["# Pipes to be replaced", BODY[0], prompts[0], BODY[1], *prompts[1:]])
    passages = " ".join(passages_of(page))
    for prompt in prompts:
        assert prompt.split(".")[0] not in passages
    assert BODY[1][:60] in passages


def test_licence_privacy_and_ai_notices_are_furniture() -> None:
    for notice in [
        "© 2031 Valley Media Group. All rights reserved.",
        "This copy is for your personal, non-commercial use only. Distribution of this material "
        "is governed by our subscriber agreement and by copyright law.",
        "Voice is AI-generated. Inconsistencies may occur.",
        "The views expressed in this article are the writer's own.",
        "Register and stream this free session today – Sponsored by Acme Widgets.",
    ]:
        assert is_reader_notice(notice), notice


def test_prose_that_talks_about_ads_or_addresses_the_reader_is_not_a_notice() -> None:
    for prose in [
        "Had you stood at the end of the parade, you would have seen an advertisement for the "
        "firm on a giant screen, paid for by one of the event's sponsors.",
        "The senator said the bill, sponsored by three members of her party, would ban targeted "
        "advertising to children under thirteen.",
        "“We will subscribe to whatever the court decides,” the mayor told reporters.",
    ]:
        assert not is_reader_notice(prose), prose


def test_a_sign_up_box_glued_into_one_line_is_judged_sentence_by_sentence() -> None:
    box = (
        "Enter your email address to sign up. Privacy notice: newsletters may contain "
        "information about charities and online ads. If you do not have an account, we will "
        "create one for you. You can complete registration at any time."
    )
    assert is_reader_notice(box)


def test_picture_credits_are_furniture_with_their_captions() -> None:
    for credit in [
        "Residents queue for water in the square. | Photos by A. Person for Valley News",
        "Illustration: Jane Artist",
        "Pat Photographer / Wire Agency - Stock Images",
    ]:
        assert is_credit(credit), credit
    assert not is_credit(BODY[0])
    assert not is_credit("Image processing on the new chips is twice as fast as before.")


def test_teaser_headlines_with_time_stamps_are_dropped_whichever_side_the_stamp_is_on() -> None:
    teasers = [
        "Council votes to close the old library after a decade of budget cuts",
        "Valley 6 hours ago",
        "Heatwave warning issued for the weekend as temperatures climb past forty",
        "Region 3 days ago",
    ]
    page = "\n\n".join(["# Pipes to be replaced", *BODY, "Recent stories", *teasers])
    text = document_text(page)
    assert "Council votes" not in text and "Heatwave warning" not in text


def test_a_link_dense_teaser_inside_the_body_is_dropped() -> None:
    teaser = (
        "[Council votes to close the old library after a decade of budget cuts, despite "
        "protests](https://example.org/library)Read more"
    )
    page = "\n\n".join(["# Pipes to be replaced", BODY[0], BODY[1], teaser, BODY[2], BODY[3]])
    text = document_text(page)
    assert "Council votes" not in text
    assert BODY[3] in text


def test_link_density_and_function_words_measure_what_they_say() -> None:
    raw = "[Home](https://example.org) [World](https://example.org/world) news"
    assert link_density(raw, "Home World news") > 0.5
    assert stop_ratio(BODY[0]) > 0.3
    assert stop_ratio("Home World Opinion Sport Weather Culture") == 0.0


def test_a_writers_bio_at_the_foot_of_the_article_is_dropped() -> None:
    bio = (
        "Sam Writer covered water and energy for the paper from 2019 to 2024 and previously "
        "reported on local government in the north."
    )
    page = "\n\n".join(["# Pipes to be replaced", "By Sam Writer", *BODY, "Sam Writer", bio])
    assert "covered water and energy" not in document_text(page)


def _site_page(number: int) -> str:
    topic = ["pipes", "schools", "roads"][number]
    return "\n\n".join(
        [
            "---",
            f"url: https://valley.example/news/{topic}",
            "---",
            f"# Council report on {topic}",
            f"The council published its annual report on {topic} this week, and officials said "
            f"the findings on {topic} would shape spending decisions for the coming three years.",
            f"Residents were invited to comment on the {topic} report at public meetings held in "
            "each of the valley's towns over the following month, with transcripts published.",
            "Valley Gazette is an independent newsroom owned by its readers since 1998.",
            "Every story we publish is checked by two editors before it goes live on the site.",
        ]
    )


def test_lines_a_site_repeats_on_its_pages_are_that_sites_furniture(tmp_path: Path) -> None:
    paths = []
    for number in range(3):
        path = tmp_path / f"page{number}.md"
        path.write_text(_site_page(number), encoding="utf-8")
        paths.append(path)
    repetition = site_repetition(paths)
    furniture = repetition.lines_for(paths[0])
    assert line_key(
        "Valley Gazette is an independent newsroom owned by its readers since 1998."
    ) in (furniture)
    for path in paths:
        (doc,) = read_file(path, site_furniture=repetition.lines_for(path))
        assert "independent newsroom" not in doc.text
        assert "checked by two editors" not in doc.text
        assert "annual report" in doc.text


def test_the_same_article_saved_twice_is_not_taken_for_furniture(tmp_path: Path) -> None:
    pages = [(tmp_path / f"copy{n}.md", _site_page(0)) for n in range(2)]
    assert SiteRepetition.from_pages(pages).lines_for(pages[0][0]) == frozenset()


def test_pages_of_different_sites_do_not_share_furniture(tmp_path: Path) -> None:
    first = _site_page(0)
    second = _site_page(1).replace("valley.example", "other.example")
    pages = [(tmp_path / "a.md", first), (tmp_path / "b.md", second)]
    assert SiteRepetition.from_pages(pages).lines_for(tmp_path / "a.md") == frozenset()


def test_bylines_repeated_across_a_sites_pages_still_give_the_author(tmp_path: Path) -> None:
    paths = []
    for number in range(3):
        path = tmp_path / f"page{number}.md"
        page = (
            _site_page(number)
            .replace("# Council", "# Council")
            .replace("\n\nThe council", "\n\nBy Robin Reporter\n\nThe council", 1)
        )
        path.write_text(page, encoding="utf-8")
        paths.append(path)
    repetition = site_repetition(paths)
    (doc,) = read_file(paths[1], site_furniture=repetition.lines_for(paths[1]))
    assert doc.authors == ("Robin Reporter",)


def test_an_html_page_trafilatura_reads_is_never_lost_to_the_furniture_rules() -> None:
    notices = [
        "We use cookies under this privacy policy to provide our services and to measure how "
        "you use our website; you may withdraw consent under the terms of service.",
        "Your personal information is processed under this privacy policy and the terms of "
        "service, and you may ask us to delete it at any time by writing to our office.",
        "We share personal data with advertising partners only with your consent, and you can "
        "read the list of partners and their own privacy policy on this page at any time.",
    ]
    paragraphs = "".join(f"<p>{text}</p>" for text in notices)
    page = (
        "<html><head><title>Privacy policy</title></head><body><article><h1>Privacy policy</h1>"
        f"{paragraphs}</article></body></html>"
    )
    assert all(is_reader_notice(text) for text in notices)  # each line alone is furniture
    (doc,) = clean_page(page, source_id="privacy.html", is_html=True)
    assert notices[0] in doc.text
    assert doc.title == "Privacy policy"


def test_code_data_widgets_and_placeholder_text_kept_by_a_text_dump_are_furniture() -> None:
    machine = [
        '{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Pipes"}',
        "window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}",
        ".site-header { position: sticky; top: 0; } .nav a { color: #333; }",
    ]
    widgets = ["Valley 12°C H: 14° L: 8°", "INDEX 34,210 +0.5% BONDS 4.1% -0.2%"]
    placeholder = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod."
    assert all(is_machine_text(line) for line in machine)
    assert all(is_widget(line) for line in widgets)
    assert is_placeholder(placeholder)
    prose = [
        BODY[0],
        "Inflation rose to 3.2% in May (from 3.0% in April), the highest level since 2023.",
        "Prices [in euros] rose (sharply) = bad news, analysts said; the index fell.",
    ]
    for line in prose:
        assert not (is_machine_text(line) or is_widget(line) or is_placeholder(line)), line
    page = "\n\n".join(["# Pipes to be replaced", *machine, BODY[0], *widgets, *BODY[1:]])
    page += "\n\n" + placeholder
    text = document_text(page)
    assert all(para in text for para in BODY)
    assert "dataLayer" not in text and "°" not in text and "Lorem" not in text


def test_a_scrapers_domain_heading_is_not_the_title() -> None:
    page = "\n\n".join(["# valleynews.example", "## Pipes to be replaced", "By Jo Bloggs", *BODY])
    (doc,) = clean_page(page, source_id="page.md")
    assert doc.title == "Pipes to be replaced"


def test_an_organisation_after_the_authors_name_in_a_byline_is_not_an_author() -> None:
    page = "\n\n".join(["Pipes to be replaced", "By Jo Bloggs, Valley News", "May 1, 2024", *BODY])
    (doc,) = clean_page(page, source_id="page.txt")
    assert doc.authors == ("Jo Bloggs",)


def test_a_lone_name_between_the_headline_and_the_date_is_the_author() -> None:
    page = "\n".join(["Home", "Pipes to be replaced", "Jo Bloggs", "May 1, 2024", *BODY])
    (doc,) = clean_page(page, source_id="page.txt")
    assert doc.authors == ("Jo Bloggs",)
    assert doc.published == "2024-05-01"
    assert not doc.text.startswith("Jo Bloggs")


def test_a_section_name_above_the_date_is_not_taken_for_an_author() -> None:
    page = "\n".join(["Pipes to be replaced", "World News", "May 1, 2024", *BODY])
    (doc,) = clean_page(page, source_id="page.txt")
    assert doc.authors == ()


def test_the_indexer_drops_a_sites_repeated_lines_from_every_page_it_indexes(
    tmp_path: Path,
) -> None:
    from index.embedding import make_embedder
    from index.pipeline import Indexer
    from index.store import Store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(3):
        (corpus / f"page{number}.md").write_text(_site_page(number), encoding="utf-8")
    store = Store(tmp_path / "index.db")
    report = Indexer(store, make_embedder("fake")).run([corpus])
    assert report.files_indexed == 3
    texts = [doc.text for doc in store.documents()]
    assert len(texts) == 3
    assert all("annual report" in text for text in texts)
    assert not any("independent newsroom" in text for text in texts)
