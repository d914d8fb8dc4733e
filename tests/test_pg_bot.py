"""The bot's settings for PostgreSQL and sharding, and bot processes sharing one database."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import discord
import pytest
from pydantic import ValidationError

from bot.client import ShardedBriefBot, create_bot
from bot.digest_store_pg import PgDigestStore
from bot.settings import masked_url
from tests.discord_fixtures import test_settings
from tests.helpers import CHANNEL_ID, dispatch, slash
from tests.test_digest_bot import reply, with_permissions

PASSWORD = "s3cret-pa55"

# ------------------------------------------------------------------------------- settings


def test_without_a_database_url_the_index_and_digests_stay_in_their_sqlite_files():
    settings = test_settings(briefbot_db="i.db", scheduler_db="s.db")
    assert (settings.index_location(), settings.digest_location()) == ("i.db", "s.db")
    assert settings.database_url() is None and not settings.sharded


def test_a_database_url_from_the_environment_holds_the_index_and_the_digests(monkeypatch):
    from bot.settings import Settings

    url = f"postgresql://briefbot:{PASSWORD}@db.example:5432/briefbot"
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", url)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.index_location() == settings.digest_location() == url
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    assert settings.database_label() == "postgresql://briefbot:***@db.example:5432/briefbot"


def test_a_database_url_that_is_not_postgres_is_refused():
    with pytest.raises(ValidationError, match="postgresql://"):
        test_settings(briefbot_database_url="mysql://u:p@h/db")


def test_a_password_given_as_a_query_parameter_is_masked_too():
    masked = masked_url(f"postgresql://u@h/db?sslmode=require&password={PASSWORD}")
    assert masked == "postgresql://u@h/db?sslmode=require&password=***"


def test_shard_ids_are_a_comma_separated_list_within_the_shard_count(monkeypatch):
    from bot.settings import Settings

    with pytest.raises(ValidationError, match="SHARD_COUNT"):
        test_settings(shard_ids="0")
    with pytest.raises(ValidationError, match=r"0\.\.1"):
        test_settings(shard_count=2, shard_ids="1,2")
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "0, 1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.shard_count, settings.shard_ids) == (4, (0, 1))


def test_shard_settings_make_an_auto_sharded_bot_running_those_shards(seeds_library):
    bot = create_bot(test_settings(shard_count=2, shard_ids="1"), seeds_library)
    assert isinstance(bot, ShardedBriefBot) and isinstance(bot, discord.AutoShardedClient)
    assert (bot.shard_count, bot.shard_ids) == (2, [1])
    every = create_bot(test_settings(shard_count=3), seeds_library)
    assert (every.shard_count, every.shard_ids) == (3, None)  # all three in this process
    plain = create_bot(test_settings(), seeds_library)
    assert not isinstance(plain, discord.AutoShardedClient)


# -------------------------------------------------------- bot processes on one database


def with_password(url: str) -> str:
    """The test server trusts local connections: a password in the URL is carried, unused."""
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{PASSWORD}@{host}"))


@pytest.mark.postgres
async def test_two_bots_on_one_database_one_schedules_and_it_picks_up_the_others_subscription(
    bot_factory, fake_discord, pg_url, caplog
):
    caplog.set_level(logging.DEBUG)
    url = with_password(pg_url)
    leader = await bot_factory(briefbot_database_url=url)
    follower = await bot_factory(briefbot_database_url=url)
    leading, following = leader.get_cog("Digests"), follower.get_cog("Digests")
    assert isinstance(following.store, PgDigestStore)
    assert leading.scheduler.running and not following.scheduler.running

    fake_discord.requests.clear()
    await dispatch(follower, with_permissions(slash("subscribe", day="fri", time="7:30")))
    assert "Subscribed" in reply(fake_discord)["content"]
    assert "next <t:" in reply(fake_discord)["content"]  # from the trigger: it runs no scheduler
    (sub,) = leading.store.subscriptions()
    assert sub.channel_id == CHANNEL_ID
    assert leading.scheduler.next_run(sub.id) is None  # not yet: the leader's next check ...
    await leading._resync()
    run = leading.scheduler.next_run(sub.id)  # ... brings it in
    assert run is not None and run.weekday() == 4 and (run.hour, run.minute) == (7, 30)

    await leader.close()  # the leader goes: its lock with it
    await following.leadership.stop()
    await following.leadership.start()
    assert following.scheduler.running
    assert following.scheduler.next_run(sub.id) == run  # the job, kept in the shared store
    assert PASSWORD not in caplog.text
