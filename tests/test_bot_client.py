"""The client: start-up (index, cogs, sync), intents, invite URL, endpoints, `briefbot run`."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlparse

import discord
import yarl

from bot.client import EXTENSIONS, create_bot, invite_url, point_at_discord
from tests.conftest import run_cli
from tests.discord_fixtures import APPLICATION_ID, test_settings

COMMANDS = {"brief", "sources", "corpus", "help", "Sources for this quote"}


def synced(fake) -> dict[str, set[str]]:
    """Where commands were synced, with the names of ours among them (other cogs add more)."""
    return {r.path: {c["name"] for c in r.json} & COMMANDS for r in fake.find("PUT", "/commands")}


async def test_startup_syncs_every_command_globally_without_a_dev_guild(bot_factory, fake_discord):
    bot = await bot_factory()
    assert synced(fake_discord) == {f"/applications/{APPLICATION_ID}/commands": COMMANDS}
    assert set(EXTENSIONS) <= set(bot.extensions)
    assert bot.get_cog("Briefs") is not None and bot.get_cog("Corpus") is not None


async def test_startup_syncs_to_the_dev_guild_when_set(bot_factory, fake_discord):
    await bot_factory(dev_guild_id=1234)
    guild_commands = f"/applications/{APPLICATION_ID}/guilds/1234/commands"
    assert synced(fake_discord) == {guild_commands: COMMANDS}


async def test_startup_opens_the_index_itself_and_logs_the_invite(
    fake_discord, seeds_db, monkeypatch, caplog, tmp_path
):
    monkeypatch.setenv("BRIEFBOT_EMBEDDER", "fake")
    bot = create_bot(test_settings(briefbot_db=str(seeds_db), scheduler_db=str(tmp_path / "s.db")))
    with caplog.at_level(logging.INFO, logger="bot.client"):
        await bot.login("fake-bot-token")
    try:
        assert bot.library.documents()
        assert invite_url(APPLICATION_ID) in caplog.text
        assert "fake-bot-token" not in caplog.text
    finally:
        await bot.close()


def test_the_bot_needs_no_privileged_intents():
    intents = create_bot(test_settings()).intents
    assert not (intents.members or intents.presences or intents.message_content)


def test_invite_asks_for_exactly_what_briefs_and_digests_need():
    query = parse_qs(urlparse(invite_url(APPLICATION_ID)).query)
    assert query["scope"] == ["bot applications.commands"]
    wanted = discord.Permissions(int(query["permissions"][0]))
    # read the channel, answer with embeds and chart files, find earlier digests in its history
    assert wanted == discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
    )


def test_settings_point_discord_py_at_another_discord():
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    try:
        point_at_discord(
            test_settings(
                discord_api_base="http://127.0.0.1:9/api/v10/",
                discord_gateway_url="ws://127.0.0.1:9/gateway",
            )
        )
        assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
        assert (
            yarl.URL("ws://127.0.0.1:9/gateway") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        )
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def test_run_without_a_token_exits_2_with_a_clear_message(tmp_path):
    result = run_cli("run", "--db", str(tmp_path / "x.db"), cwd=tmp_path, env={"DISCORD_TOKEN": ""})
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_an_index_exits_2_before_connecting(tmp_path):
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc\n")  # the token from .env
    result = run_cli("run", "--db", str(tmp_path / "none.db"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no index" in result.stderr and "abc" not in result.stderr
