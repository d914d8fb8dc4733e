"""The digest commands and deliveries with real discord.py objects against the aiohttp fake."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from bot.client import INVITE_PERMISSIONS
from bot.digest_store import FAILED, Claim, Subscription
from bot.scheduling import marker_for
from briefings.digest_build import build_digest
from index.store import is_postgres_url
from tests.helpers import (
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    InstantAsyncio,
    assert_message_within_limits,
    autocomplete,
    dispatch,
    slash,
)

ROLE_ID = 700000000000000099
PERIOD = "2024-03-25T09:00+01:00"
ALL = discord.Permissions.all()


@pytest.fixture(scope="module")
def seed_digest(seeds_library):
    from bot.cogs.digests import Digests

    digest = build_digest(seeds_library)
    return Digests.charts_of(digest)


@pytest.fixture
async def digest_bot(bot_factory, fake_discord, index_location, seed_digest):
    """The bot with its digest store and job store in SQLite, then in PostgreSQL."""
    if is_postgres_url(index_location):
        made = await bot_factory(briefbot_database_url=index_location)
    else:
        made = await bot_factory(scheduler_db=index_location)
    cog = made.get_cog("Digests")
    cog.make_digest = lambda *_args: seed_digest  # one real build per module is enough
    fake_discord.requests.clear()
    return made


def with_permissions(payload: dict, *, user: discord.Permissions = ALL, app=ALL) -> dict:
    payload["member"]["permissions"] = str(user.value)
    payload["app_permissions"] = str(app.value)
    return payload


def reply(fake) -> dict[str, Any]:
    calls = [r.json for r in fake.requests if r.path.endswith("/callback")]
    assert len(calls) == 1, fake.requests
    return calls[0]["data"]


def serve_channel(fake, failures: list[int] | None = None) -> list[dict]:
    """Teach the fake to post and list channel messages; ``failures`` are statuses to answer."""
    original, posted = fake.answer, []

    def answer(method: str, path: str, body: Any):
        parts = path.strip("/").split("/")
        if parts[0] == "channels" and parts[-1] == "messages":
            if method == "POST":
                if failures:
                    status = failures.pop(0)
                    if status == 429:
                        return 429, {"message": "slow down", "retry_after": 0.25, "global": False}
                    return status, {"message": "nope", "code": 10003 if status == 404 else 50013}
                message = fake.message(body or {}, channel_id=parts[1])
                posted.append(message)
                return 200, message
            if method == "GET":
                return 200, list(reversed(posted))
        return original(method, path, body)

    fake.answer = answer
    return posted


def subscribe_direct(bot, **kw) -> Subscription:
    cog = bot.get_cog("Digests")
    sub, _ = cog.store.subscribe(guild_id=GUILD_ID, channel_id=CHANNEL_ID,
                                 now="2024-03-18T00:00:00+00:00", **kw)  # fmt: skip
    cog.scheduler.sync(sub)
    return sub


# ------------------------------------------------------------------------------ commands


@pytest.mark.parametrize("command", ["subscribe", "unsubscribe"])
async def test_changing_subscriptions_without_manage_channels_is_refused_in_one_line(
    digest_bot, fake_discord, command
):
    subscribe_direct(digest_bot)
    user = discord.Permissions(send_messages=True, view_channel=True)
    await dispatch(digest_bot, with_permissions(slash(command), user=user))
    data = reply(fake_discord)
    assert data["content"] == "You need the **Manage Channels** permission to do that here."
    assert data["flags"] & EPHEMERAL
    (kept,) = digest_bot.get_cog("Digests").store.subscriptions()
    assert kept.cadence == "weekly"  # neither replaced nor removed


async def test_subscribe_checks_the_bot_can_post_before_accepting(digest_bot, fake_discord):
    app = discord.Permissions(view_channel=True, send_messages=True, read_message_history=True)
    await dispatch(digest_bot, with_permissions(slash("subscribe"), app=app))
    data = reply(fake_discord)
    assert data["content"] == (
        "I can't do that in this channel: I need the **Embed Links** and **Attach Files** "
        "permission."
    )
    assert data["flags"] & EPHEMERAL
    assert digest_bot.get_cog("Digests").store.subscriptions() == []


async def test_a_bot_invited_with_the_invite_link_may_subscribe_a_channel(digest_bot, fake_discord):
    await dispatch(digest_bot, with_permissions(slash("subscribe"), app=INVITE_PERMISSIONS))
    assert reply(fake_discord)["content"].startswith("Subscribed")


async def test_posting_a_digest_for_everyone_takes_manage_channels_and_posts_nothing_without(
    digest_bot, fake_discord
):
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    user = discord.Permissions(send_messages=True, view_channel=True)
    await dispatch(digest_bot, with_permissions(slash("digest"), user=user))
    data = reply(fake_discord)
    assert "**Manage Channels**" in data["content"] and data["flags"] & EPHEMERAL
    assert not fake_discord.find("POST", "/webhooks/")
    assert cog.store.last_snapshot(sub.id) is None


async def test_subscribe_stores_schedules_and_resubscribing_updates(digest_bot, fake_discord):
    cog = digest_bot.get_cog("Digests")
    await dispatch(digest_bot, with_permissions(
        slash("subscribe", day="fri", time="7:30", timezone="europe/berlin", topic="Japan")
    ))  # fmt: skip
    assert "Subscribed" in reply(fake_discord)["content"]
    (sub,) = cog.store.subscriptions()
    assert (sub.day, sub.time, sub.timezone, sub.topic) == (
        "fri",
        "07:30",
        "Europe/Berlin",
        "Japan",
    )
    first_run = cog.scheduler.next_run(sub.id)
    assert first_run.weekday() == 4 and (first_run.hour, first_run.minute) == (7, 30)

    fake_discord.requests.clear()
    await dispatch(digest_bot, with_permissions(slash("subscribe", cadence="daily")))
    assert "Updated" in reply(fake_discord)["content"]
    (again,) = cog.store.subscriptions()
    assert again.id == sub.id and again.cadence == "daily" and again.timezone == "UTC"


async def test_subscribe_rejects_an_unknown_time_zone(digest_bot, fake_discord):
    await dispatch(digest_bot, with_permissions(slash("subscribe", timezone="Mars/Olympus")))
    assert "not a time zone" in reply(fake_discord)["content"]


async def test_time_zone_autocomplete_offers_iana_names(digest_bot, fake_discord):
    await dispatch(digest_bot, autocomplete("subscribe", "timezone", "europe/ber"))
    choices = reply(fake_discord)["choices"]
    assert choices[0]["value"] == "Europe/Berlin"


async def test_subscriptions_lists_next_runs_and_unsubscribe_removes_the_job(
    digest_bot, fake_discord
):
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    await dispatch(digest_bot, slash("subscriptions"))
    text = reply(fake_discord)["embeds"][0]["description"]
    assert f"<#{CHANNEL_ID}>" in text and "next <t:" in text
    fake_discord.requests.clear()
    await dispatch(digest_bot, with_permissions(slash("unsubscribe")))
    assert "Unsubscribed" in reply(fake_discord)["content"]
    assert cog.scheduler.next_run(sub.id) is None and cog.store.subscriptions() == []


async def test_digest_preview_is_ephemeral_and_not_remembered(digest_bot, fake_discord):
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    await dispatch(digest_bot, slash("digest", preview=True))
    sent = [r for r in fake_discord.requests if r.method == "POST" and "/webhooks/" in r.path]
    assert sent and sent[-1].json["flags"] & EPHEMERAL
    assert_message_within_limits(sent[-1].json)
    assert cog.store.last_snapshot(sub.id) is None


# ----------------------------------------------------------------------------- deliveries


async def test_scheduled_digest_posts_embeds_both_charts_and_only_the_opted_in_role(
    digest_bot, fake_discord
):
    posted = serve_channel(fake_discord)
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot, mention_role_id=ROLE_ID)
    assert await cog.runner.deliver(sub, PERIOD) == "sent"
    (request,) = fake_discord.find("POST", f"/channels/{CHANNEL_ID}/messages")
    body = request.json
    assert_message_within_limits(body)
    files = [a["filename"] for a in body["attachments"]]
    assert files == ["digest-chart.png", "digest-weeks.png"]
    assert body["embeds"][-2]["image"]["url"] == "attachment://digest-chart.png"
    assert body["embeds"][-1]["image"]["url"] == "attachment://digest-weeks.png"
    assert marker_for(PERIOD) in body["embeds"][0]["footer"]["text"]
    assert body["content"] == f"<@&{ROLE_ID}>"
    assert body["allowed_mentions"]["parse"] == []
    assert body["allowed_mentions"]["roles"] == [ROLE_ID]
    assert not body["allowed_mentions"].get("users")
    assert cog.store.ledger_state(sub.id, PERIOD) is Claim.DONE
    assert cog.store.ledger_entry(sub.id, PERIOD).message_id == int(posted[0]["id"])
    assert cog.store.last_snapshot(sub.id) is not None


async def test_uncertain_period_finds_its_earlier_post_in_the_channel(digest_bot, fake_discord):
    serve_channel(fake_discord)
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    assert await cog.runner.deliver(sub, PERIOD) == "sent"
    cog.store.mark_sending(sub.id, PERIOD.replace("25", "26"), None)  # pretend: a crash
    cog.store.mark_failed(sub.id, PERIOD, "lost the answer")  # the post went out, though
    assert await cog.runner.deliver(sub, PERIOD) == "found"
    assert len(fake_discord.find("POST", "/messages")) == 1


async def test_deleted_channel_pauses_the_subscription_with_a_log_line(
    digest_bot, fake_discord, caplog
):
    serve_channel(fake_discord, failures=[404])
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    with caplog.at_level(logging.WARNING, logger="bot.scheduling"):
        assert await cog.runner.deliver(sub, PERIOD) == "paused"
    assert "paused digests for channel" in caplog.text
    assert cog.store.subscription(sub.id).paused
    assert cog.scheduler.next_run(sub.id) is None


async def test_missing_permission_pauses_too(digest_bot, fake_discord):
    serve_channel(fake_discord, failures=[403])
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    assert await cog.runner.deliver(sub, PERIOD) == "paused"
    assert "permission" in cog.store.subscription(sub.id).paused_reason


@pytest.fixture
def discord_clock(monkeypatch) -> InstantAsyncio:
    """discord.py's own 429/5xx waits, taken without waiting (its retry logic runs unchanged)."""
    clock = InstantAsyncio()
    monkeypatch.setattr(discord.http, "asyncio", clock)
    return clock


async def test_a_rate_limited_or_flaky_post_goes_out_once_through_discord_py_retries(
    digest_bot, fake_discord, discord_clock
):
    posted = serve_channel(fake_discord, failures=[429, 502])
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    assert await cog.runner.deliver(sub, PERIOD) == "sent"
    assert len(fake_discord.find("POST", f"/channels/{CHANNEL_ID}/messages")) == 3
    assert len(posted) == 1
    assert 0.25 in discord_clock.slept  # the 429's retry_after was honoured
    assert cog.store.ledger_entry(sub.id, PERIOD).message_id == int(posted[0]["id"])


async def test_a_post_discord_keeps_failing_is_left_to_the_ledger_and_retried_once(
    digest_bot, fake_discord, discord_clock
):
    posted = serve_channel(fake_discord, failures=[500] * 5)  # discord.py tries five times
    cog = digest_bot.get_cog("Digests")
    sub = subscribe_direct(digest_bot)
    due = datetime(2024, 3, 25, 8, 1, tzinfo=UTC)  # a minute after the period began
    cog.runner.clock = lambda: due
    assert await cog.runner.deliver(sub, PERIOD) == "failed"
    entry = cog.store.ledger_entry(sub.id, PERIOD)
    assert (entry.status, entry.attempts) == (FAILED, 1) and posted == []
    assert len(fake_discord.find("POST", "/messages")) == 5

    cog.runner.clock = lambda: due + timedelta(minutes=1)
    assert await cog.runner.retry_failed() == []  # the sweep waits out its backoff
    cog.runner.clock = lambda: due + timedelta(minutes=6)
    assert await cog.runner.retry_failed() == [(sub.id, PERIOD, "sent")]
    assert len(posted) == 1 and cog.store.ledger_state(sub.id, PERIOD) is Claim.DONE
    assert await cog.runner.retry_failed() == []


async def test_the_periodic_rescan_makes_new_corpus_files_searchable(fake_discord, tmp_path):
    import shutil

    from bot import scheduling
    from bot.client import create_bot
    from index.embedding import FakeEmbedder
    from index.library import Library
    from index.pipeline import Indexer
    from index.store import Store
    from tests.conftest import SEEDS
    from tests.discord_fixtures import test_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(sorted(SEEDS.iterdir())[0], corpus)
    Indexer(Store(tmp_path / "index.db"), FakeEmbedder()).run([corpus])
    library = Library(Store(tmp_path / "index.db"), FakeEmbedder())
    settings = test_settings(
        briefbot_corpus=str(corpus), scheduler_db=str(tmp_path / "bot.db"), rescan_minutes=30
    )
    bot = create_bot(settings, library)
    await bot.login("fake-bot-token")
    try:
        job = bot.get_cog("Digests").scheduler.scheduler.get_job(scheduling.RESCAN_JOB_ID)
        assert job.trigger.interval.total_seconds() == 30 * 60
        (corpus / "walrus.md").write_text(
            "# Walrus colonies on Svalbard\n\n"
            + "Researchers counted walrus colonies along the Svalbard coast this summer. " * 3,
            encoding="utf-8",
        )
        assert not any(h.document.title.startswith("Walrus") for h in library.search("walrus"))
        await scheduling.run_rescan_job()
        hits = library.search("walrus colonies Svalbard", k=3)
        assert hits and hits[0].document.title == "Walrus colonies on Svalbard"
    finally:
        await bot.close()
