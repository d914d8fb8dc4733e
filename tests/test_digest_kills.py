"""kill -9 of the bot around digest time, a few rounds (the long loop: benchmarks.digest_kills)."""

from __future__ import annotations

import pytest

from benchmarks.digest_kills import digest_kill_loop


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_bots_killed_again_and_again_around_digest_time_post_each_period_once_per_channel(
    tmp_path, backend, request
):
    database = request.getfixturevalue("pg_url") if backend == "postgres" else None
    found = digest_kill_loop(
        tmp_path / "state", kills=6, channels=2, per_period=3, database=database, log=lambda _: None
    )
    assert found["kills"] == 6 and found["periods"] == 2
    assert found["duplicated"] == [] and found["lost"] == [] and found["unexpected"] == []
    assert found["posts"] == found["expected_posts"] == 4
