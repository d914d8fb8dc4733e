"""Concurrent /brief interactions on the local Discord: every one acknowledged and answered.

A few at once here; ``python -m benchmarks.reliability --only load`` sends 50 and records how
long they took (timings are not asserted: the twin shares the CPU with the bot).
"""

from __future__ import annotations

import aiohttp
import pytest

from benchmarks.discord_load import TOPICS, autocomplete_body, burst, slash_body
from tests.discord_fixtures import Twin, bot_on_twin

pytestmark = pytest.mark.discord

BRIEFS = 10
AUTOCOMPLETES = 5


async def test_ten_concurrent_briefs_are_all_acknowledged_and_answered_with_quotes(
    twin_info, seeds_library, tmp_path
):
    user = next(iter(twin_info["users"].values()))
    channel = twin_info["channels"]["general"]
    bodies = [("brief", slash_body("brief", user, topic=TOPICS[i])) for i in range(BRIEFS)]
    bodies += [
        ("autocomplete", autocomplete_body("brief", "topic", "rus", user))
        for _ in range(AUTOCOMPLETES)
    ]
    for _, body in bodies:
        body["channelId"] = channel
    async with (
        bot_on_twin(twin_info, seeds_library, tmp_path / "scheduler.db"),
        aiohttp.ClientSession() as session,
    ):
        twin = Twin(twin_info, session)
        before = len(await twin.messages())
        timings = await burst(session, twin_info["control"], bodies, within=60, together=True)
        posted = (await twin.messages())[before:]
        answers = {}
        for t in timings:
            async with session.get(f"{twin_info['control']}/interactions/{t.interaction_id}") as r:
                answers[t.interaction_id] = await r.json()
    assert [t for t in timings if t.ack_ms is None or t.answer_ms is None] == []
    for t in timings:
        kind = answers[t.interaction_id]["type"]
        assert kind == (5 if t.kind == "brief" else 8)  # deferred, then answered; choices
    assert all(answers[t.interaction_id]["data"]["choices"] for t in timings[BRIEFS:])
    briefs = [m for m in posted if m["author"]["id"] == twin_info["botUserId"] and m["embeds"]]
    assert len(briefs) == BRIEFS
    assert all(not (m.get("flags") or 0) & 64 for m in briefs)  # answers, not error lines
