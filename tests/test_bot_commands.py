"""The bot's commands with real discord.py objects: interactions built from real payloads go
through discord.py's own dispatch; a local aiohttp fake answers; we assert on the requests."""

from __future__ import annotations

import logging
import sys
import threading

import pytest

from tests.discord_fixtures import APPLICATION_ID
from tests.helpers import (
    ALICE,
    BOB,
    EPHEMERAL,
    GUILD_ID,
    assert_message_within_limits,
    assert_no_mentions,
    autocomplete,
    bot_message,
    button_click,
    dispatch,
    message_command,
    message_payload,
    slash,
    subcommand,
)

DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
MESSAGE = 4  # CHANNEL_MESSAGE_WITH_SOURCE
UPDATE = 7  # UPDATE_MESSAGE
CHOICES = 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT


def callbacks(fake):
    return [r for r in fake.requests if r.path.endswith("/callback")]


def followups(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.startswith("/webhooks/")]


def only_ephemeral_reply(fake) -> str:
    """The one ephemeral message the user got (initial reply or followup); its text."""
    sent = [r.json for r in callbacks(fake) if r.json["type"] == MESSAGE]
    sent += [r.json for r in followups(fake)]
    assert len(sent) == 1, fake.requests
    body = sent[0].get("data", sent[0])
    assert body["flags"] & EPHEMERAL
    assert_no_mentions(body)
    return body["content"]


def document_text(library, passage_label: str) -> tuple[str, str]:
    passage = library.passage(passage_label)
    return passage.text, library.document(passage.doc_id).text


async def test_brief_defers_first_then_answers_with_verbatim_quote_embeds(
    bot, fake_discord, seeds_library
):
    await dispatch(bot, slash("brief", topic="russia china partnership", count=3))

    first, *rest = fake_discord.requests
    assert first.path.endswith("/callback") and first.json == {"type": DEFERRED}
    [answer] = [r for r in rest if r.method == "POST"]
    assert answer.path == f"/webhooks/{APPLICATION_ID}/{first.path.split('/')[3]}"
    body = answer.json
    assert_message_within_limits(body)
    assert_no_mentions(body)
    assert not body.get("flags", 0) & EPHEMERAL
    assert "russia china partnership" in body["content"]
    assert len(body["embeds"]) == 3
    for embed in body["embeds"]:
        label = next(f["value"] for f in embed["fields"] if f["name"] == "Passage").strip("`")
        text, doc = document_text(seeds_library, label)
        assert embed["description"] == f"“{text}”"  # verbatim, whole
        assert text in doc
        assert label in embed["footer"]["text"]
        names = [f["name"] for f in embed["fields"]]
        assert names == ["Authors", "Published", "Passage"]
    buttons = [c for row in body["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == [
        f"Sources {e['footer']['text'].split(' ')[0]}" for e in body["embeds"]
    ]


async def test_brief_never_pings_anyone_whatever_the_topic_says(bot, fake_discord):
    await dispatch(bot, slash("brief", topic="@everyone <@123> <@&456> russia china"))
    [answer] = followups(fake_discord)
    assert_no_mentions(answer.json)
    content = answer.json["content"]
    # the topic is shown, but broken so that no client renders it as a ping
    assert "everyone" in content and "@everyone" not in content
    assert "<@123>" not in content and "<@&456>" not in content


@pytest.mark.parametrize(
    ("topic", "says"),
    [("   ", "The topic is empty"), ("war " * 1600, "keep it under 6,000")],
)
async def test_brief_with_an_unusable_topic_answers_ephemerally_without_deferring(
    bot, fake_discord, topic, says
):
    await dispatch(bot, slash("brief", topic=topic))
    [reply] = fake_discord.requests
    assert reply.json["type"] == MESSAGE
    assert says in only_ephemeral_reply(fake_discord)


async def test_nothing_relevant_after_deferring_is_told_only_to_the_asker(bot, fake_discord):
    await dispatch(bot, slash("brief", topic="russia china", since="2099"))
    assert fake_discord.requests[0].json == {"type": DEFERRED}
    # the public "thinking…" placeholder goes away; the explanation is ephemeral
    assert fake_discord.find("DELETE", "/messages/@original")
    assert "nothing in the corpus" in only_ephemeral_reply(fake_discord).lower()


async def test_long_briefs_page_with_buttons_only_the_asker_can_press(bot, fake_discord):
    await dispatch(bot, slash("brief", topic="russia china partnership", count=10))
    [answer] = followups(fake_discord)
    body = answer.json
    assert_message_within_limits(body)
    assert "page 1/2" in body["content"]
    nav = body["components"][-1]["components"]
    assert [b["label"] for b in nav] == ["◀ Previous", "1/2", "Next ▶"]
    assert nav[0]["disabled"] and not nav[2].get("disabled", False)
    next_id = nav[2]["custom_id"]
    sent = bot_message(fake_discord.sent[-1])

    fake_discord.requests.clear()
    await dispatch(bot, button_click(next_id, sent, user_id=BOB))
    assert "belong to whoever asked" in only_ephemeral_reply(fake_discord)

    fake_discord.requests.clear()
    await dispatch(bot, button_click(next_id, sent, user_id=ALICE))
    [turn] = callbacks(fake_discord)
    assert turn.json["type"] == UPDATE
    page2 = turn.json["data"]
    assert_message_within_limits(page2)
    assert_no_mentions(page2)
    assert "page 2/2" in page2["content"]
    assert page2["embeds"][0]["title"].startswith(f"{len(body['embeds']) + 1}. ")


async def test_sources_button_shows_the_passage_provenance_ephemerally(bot, fake_discord):
    await dispatch(bot, slash("brief", topic="russia china partnership", count=2))
    [answer] = followups(fake_discord)
    button = answer.json["components"][0]["components"][0]
    sent = bot_message(fake_discord.sent[-1])

    fake_discord.requests.clear()
    await dispatch(bot, button_click(button["custom_id"], sent, user_id=BOB))  # anyone may
    [defer] = callbacks(fake_discord)
    assert defer.json == {"type": DEFERRED, "data": {"flags": EPHEMERAL}}
    [reply] = followups(fake_discord)
    assert reply.json["flags"] & EPHEMERAL
    assert_message_within_limits(reply.json)
    label = button["label"].removeprefix("Sources ")
    assert label in reply.json["embeds"][0]["footer"]["text"]


async def test_buttons_of_a_brief_from_before_a_restart(bot_factory, fake_discord):
    first = await bot_factory()
    await dispatch(first, slash("brief", topic="russia china partnership", count=10))
    [answer] = followups(fake_discord)
    sources_id = answer.json["components"][0]["components"][0]["custom_id"]
    next_id = answer.json["components"][-1]["components"][2]["custom_id"]
    sent = bot_message(fake_discord.sent[-1])
    await first.close()

    restarted = await bot_factory()
    fake_discord.requests.clear()
    await dispatch(restarted, button_click(sources_id, sent, user_id=BOB))
    [reply] = followups(fake_discord)  # Sources still answers, from the custom id alone
    assert reply.json["flags"] & EPHEMERAL
    assert sources_id.rsplit(":", 1)[1] in reply.json["embeds"][0]["footer"]["text"]

    fake_discord.requests.clear()
    await dispatch(restarted, button_click(next_id, sent, user_id=ALICE))
    assert "expired" in only_ephemeral_reply(fake_discord)  # pages are gone: said, not silent


async def test_sources_shows_document_context_and_lookalikes(bot, fake_discord, seeds_library):
    await dispatch(bot, slash("sources", passage="P3"))
    assert fake_discord.requests[0].json == {"type": DEFERRED}
    [reply] = followups(fake_discord)
    body = reply.json
    assert_message_within_limits(body)
    assert_no_mentions(body)
    main = body["embeds"][0]
    text, _ = document_text(seeds_library, "P3")
    assert f"**“{text}”**" in main["description"]  # highlighted, verbatim, with context
    assert main["description"] != f"**“{text}”**"
    names = [f["name"] for f in main["fields"]]
    assert names[:4] == ["Authors", "Published", "Passage", "Site"]
    assert body["embeds"][1]["title"] == "Other documents that say nearly the same"


@pytest.mark.parametrize(
    ("passage", "deferred", "says"),
    [("banana", False, "is not a passage id"), ("P999999", True, "No passage P999999")],
)
async def test_sources_of_an_unknown_passage_is_a_short_ephemeral_error(
    bot, fake_discord, passage, deferred, says
):
    await dispatch(bot, slash("sources", passage=passage))
    assert (fake_discord.requests[0].json == {"type": DEFERRED}) is deferred
    assert says in only_ephemeral_reply(fake_discord)


async def test_message_command_finds_the_sources_of_a_pasted_quote(
    bot, fake_discord, seeds_library
):
    text, _ = document_text(seeds_library, "P5")
    pasted = message_payload(f"look what I found:\n> {text}\ninteresting, right?")
    await dispatch(bot, message_command("Sources for this quote", pasted))
    [defer] = callbacks(fake_discord)
    assert defer.json == {"type": DEFERRED, "data": {"flags": EPHEMERAL}}
    [reply] = followups(fake_discord)
    assert reply.json["flags"] & EPHEMERAL
    assert "P5 · " in reply.json["embeds"][0]["footer"]["text"]


async def test_message_command_reads_the_bots_own_brief_embeds(bot, fake_discord):
    await dispatch(bot, slash("brief", topic="russia china partnership", count=1))
    [answer] = followups(fake_discord)
    label = answer.json["embeds"][0]["footer"]["text"].split(" ")[0]
    ours = bot_message(fake_discord.sent[-1])
    fake_discord.requests.clear()
    await dispatch(bot, message_command("Sources for this quote", ours))
    [reply] = followups(fake_discord)
    assert reply.json["embeds"][0]["footer"]["text"].startswith(f"{label} · ")


async def test_message_command_on_an_unrelated_message_says_so(bot, fake_discord):
    await dispatch(bot, message_command("Sources for this quote", message_payload("")))
    assert "no text" in only_ephemeral_reply(fake_discord)


async def test_brief_cooldown_is_per_user_and_says_when_to_retry(bot_factory, fake_discord):
    bot = await bot_factory(brief_cooldown_seconds=30)
    fake_discord.requests.clear()
    await dispatch(bot, slash("brief", topic="russia china"))
    await dispatch(bot, slash("brief", topic="russia china", user_id=BOB))
    fake_discord.requests.clear()
    await dispatch(bot, slash("brief", topic="russia china"))
    assert "try again in 30 s" in only_ephemeral_reply(fake_discord)


async def test_unexpected_errors_get_a_generic_reply_and_a_logged_traceback(
    bot, fake_discord, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    # load_extension imports the cog afresh for each bot: patch the module this bot runs
    monkeypatch.setattr(sys.modules["bot.cogs.briefs"], "make_brief", broken)
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await dispatch(bot, slash("brief", topic="secret topic text"))
    reply = only_ephemeral_reply(fake_discord)
    assert "went wrong" in reply and "exploded" not in reply
    [record] = [r for r in caplog.records if r.name == "bot.errors"]
    assert record.exc_info and "database exploded" in str(record.exc_info[1])
    assert "secret topic text" not in caplog.text  # users' text stays out of the log


async def test_topic_autocomplete_offers_titles_without_waiting_for_a_rebuild(bot, fake_discord):
    await dispatch(bot, autocomplete("brief", "topic", "russia"))  # starts the server's build
    vocabulary = bot.get_cog("Briefs").vocabularies[GUILD_ID]
    await vocabulary._task
    fake_discord.requests.clear()
    rebuilding, release, rebuilt = threading.Event(), threading.Event(), threading.Event()

    def slow_build(library):  # a rebuild stuck on a busy index
        rebuilding.set()
        release.wait(5)
        rebuilt.set()

    vocabulary.build = slow_build
    vocabulary.built_at = float("-inf")  # stale: this request starts a rebuild
    try:
        await dispatch(bot, autocomplete("brief", "topic", "russia"))
        [answer] = callbacks(fake_discord)
        assert rebuilding.is_set() and not rebuilt.is_set()  # answered while it is stuck
    finally:
        release.set()
        await vocabulary._task
    assert answer.json["type"] == CHOICES
    choices = answer.json["data"]["choices"]
    assert choices and len(choices) <= 25
    assert all("russia" in c["name"].lower() and len(c["value"]) <= 100 for c in choices)
    assert choices[0]["name"].lower().startswith("russia")  # prefix matches first


async def test_topic_autocomplete_offers_phrases_from_the_articles_not_only_titles(
    bot, fake_discord
):
    await dispatch(bot, autocomplete("brief", "topic", "strategic"))
    [answer] = callbacks(fake_discord)
    names = [c["name"].lower() for c in answer.json["data"]["choices"]]
    titles = {d.title.lower() for d in bot.library.documents()}
    assert any(name not in titles and " " in name for name in names), names


async def test_source_autocomplete_offers_sites_and_authors(bot, fake_discord):
    await dispatch(bot, autocomplete("brief", "source", "bhadra", topic="x"))
    [answer] = callbacks(fake_discord)
    assert {"name": "M. K. Bhadrakumar", "value": "M. K. Bhadrakumar"} in answer.json["data"][
        "choices"
    ]


async def test_corpus_lists_the_documents_within_limits(bot, fake_discord, seeds_library):
    await dispatch(bot, subcommand("corpus", "list"))
    assert fake_discord.requests[0].json == {"type": DEFERRED}
    [reply] = followups(fake_discord)
    assert_message_within_limits(reply.json)
    assert_no_mentions(reply.json)
    [embed] = reply.json["embeds"]
    assert len(embed["fields"]) == len(seeds_library.documents())


async def test_help_is_ephemeral_and_two_lines_per_command(bot, fake_discord):
    await dispatch(bot, slash("help"))
    [reply] = callbacks(fake_discord)
    data = reply.json["data"]
    assert reply.json["type"] == MESSAGE and data["flags"] & EPHEMERAL
    fields = data["embeds"][0]["fields"]
    assert {"/brief", "/sources", "/corpus", "/help"} <= {f["name"].split()[0] for f in fields}
    assert all(len(f["value"].splitlines()) == 2 for f in fields)
