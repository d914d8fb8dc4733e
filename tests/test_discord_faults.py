"""Discord misbehaving while the bot answers: rate limits, server errors, resets, expiry.

The recording fake answers the bot's REST calls and fails the ones a test scripts; discord.py's
own retry logic runs unchanged, its waits taken without waiting (``discord_clock``). Each test
asserts what the user sees: an answer, or one short "try again", and never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
import pytest

from tests.discord_fixtures import FakeDiscord
from tests.helpers import InstantAsyncio, dispatch, slash

DEFERRED = 5


@pytest.fixture
def discord_clock(monkeypatch: pytest.MonkeyPatch) -> InstantAsyncio:
    """discord.py's waits (REST and webhook/interaction followups), taken without waiting."""
    import discord.webhook.async_ as webhooks

    clock = InstantAsyncio()
    monkeypatch.setattr(discord.http, "asyncio", clock)
    monkeypatch.setattr(webhooks, "asyncio", clock)
    return clock


Rule = tuple[Callable[[str, str], bool], list[tuple[int, Any]]]


def fail(fake: FakeDiscord, matches: Callable[[str, str], bool], *answers: tuple[int, Any]) -> None:
    """The next requests that ``matches`` (method, path) get ``answers``, one each, in order."""
    rules: list[Rule] = getattr(fake, "_rules", [])
    if not rules:
        real = fake.answer

        def answer(method: str, path: str, body: Any) -> tuple[int, Any]:
            for test, queue in rules:
                if queue and test(method, path):
                    return queue.pop(0)
            return real(method, path, body)

        fake.answer = answer  # type: ignore[method-assign]
        fake._rules = rules  # type: ignore[attr-defined]
    rules.append((matches, list(answers)))


def is_callback(method: str, path: str) -> bool:
    return path.endswith("/callback")


def is_followup(method: str, path: str) -> bool:
    return method == "POST" and path.startswith("/webhooks/")


def answered(fake: FakeDiscord) -> list[dict[str, Any]]:
    """The followups that went through (what the user saw after the bot deferred)."""
    return fake.sent


def brief(topic: str = "sino-russian partnership") -> dict[str, Any]:
    return slash("brief", topic=topic)


async def test_a_brief_rate_limited_on_its_route_is_answered_after_the_wait(
    bot, fake_discord, discord_clock
):
    fail(fake_discord, is_followup, (429, {"message": "slow", "retry_after": 0.4, "global": False}))
    await dispatch(bot, brief())
    assert len(answered(fake_discord)) == 1
    assert answered(fake_discord)[0]["embeds"]
    assert 0.4 in discord_clock.slept  # the route's retry_after was honoured


async def test_a_global_rate_limit_holds_the_answer_until_it_lifts(
    bot, fake_discord, discord_clock
):
    fail(fake_discord, is_followup, (429, {"message": "slow", "retry_after": 1.5, "global": True}))
    await dispatch(bot, brief())
    assert len(answered(fake_discord)) == 1
    assert 1.5 in discord_clock.slept


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_brief_whose_answer_meets_server_errors_is_answered_once(
    bot, fake_discord, discord_clock, status
):
    error = (status, {"message": "Discord is having a moment", "code": 0})
    fail(fake_discord, is_followup, error, error)
    await dispatch(bot, brief())
    assert len(answered(fake_discord)) == 1  # retried by discord.py, posted exactly once
    assert len([r for r in fake_discord.requests if is_followup(r.method, r.path)]) == 3


async def test_an_answer_discord_keeps_refusing_ends_in_a_logged_error_not_a_crash(
    bot, fake_discord, discord_clock, caplog
):
    error = (503, {"message": "down", "code": 0})
    fail(fake_discord, is_followup, *[error] * 10)  # more than discord.py tries
    with caplog.at_level(logging.WARNING):
        await dispatch(bot, brief())
    assert answered(fake_discord) == []
    assert any(r.levelno >= logging.WARNING for r in caplog.records)
    # The bot still serves the next one.
    await dispatch(bot, brief("Power of Siberia"))
    assert len(answered(fake_discord)) == 1


async def test_an_interaction_that_expired_before_the_bot_deferred_is_logged_and_dropped(
    bot, fake_discord, discord_clock, caplog
):
    fail(fake_discord, is_callback, (404, {"message": "Unknown interaction", "code": 10062}))
    with caplog.at_level(logging.INFO):
        await dispatch(bot, brief())
    assert answered(fake_discord) == []  # nothing sent on a dead interaction's token
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    await dispatch(bot, brief("Power of Siberia"))  # and the next one is answered
    assert len(answered(fake_discord)) == 1
