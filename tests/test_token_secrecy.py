"""The bot token never reaches a log line: the start-up, login, gateway and command paths of
the real bot at DEBUG, and ``briefbot run`` itself, against a local Discord with a token of its
own. (``tests/token_scan.py`` scans every record of the whole run as well.)"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time

import aiohttp
import pytest

from tests import token_scan
from tests.conftest import ROOT
from tests.discord_fixtures import Twin, bot_on_twin, start_twin

TOKEN = "MTIzNDU2Nzg5.never-log-me.Xq7r9Zk2"  # shaped like a real one


def record_text(record: logging.LogRecord) -> str:
    """A record as a handler would write it, exception and stack included."""
    return logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)


def test_the_session_scan_catches_a_record_that_holds_a_token() -> None:
    token_scan.watch(TOKEN)
    before = len(token_scan.found)
    record = logging.LogRecord("bot.client", logging.INFO, __file__, 1, "token %s", (TOKEN,), None)
    token_scan.scan(record)
    [(_, logger, message)] = token_scan.found[before:]
    del token_scan.found[before:]  # a record made by hand for this test, never logged
    assert logger == "bot.client" and message == "token <TOKEN>"


@pytest.fixture(scope="module")
def twin_with_token():
    token_scan.watch(TOKEN)
    with start_twin({"botToken": TOKEN}) as info:
        assert info["botToken"] == TOKEN
        yield info


@pytest.mark.discord
async def test_the_bot_logs_no_token_at_debug_from_login_to_answers(
    twin_with_token, seeds_library, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)  # every logger, discord.py's gateway and HTTP included
    async with (
        bot_on_twin(twin_with_token, seeds_library, tmp_path / "scheduler.db"),
        aiohttp.ClientSession() as session,
    ):
        twin = Twin(twin_with_token, session)
        answered = await twin.response(await twin.slash("brief", topic="russia china"))
        assert answered["acknowledged"]
        await twin.response(await twin.slash("sources", passage="P999999"))  # an error path
    assert any(r.name.startswith("discord.gateway") for r in caplog.records)
    leaked = [record_text(r) for r in caplog.records if TOKEN in record_text(r)]
    assert not leaked


def _read_until(proc: subprocess.Popen[str], needle: str, within: float) -> str:
    """stderr of ``proc`` until a line contains ``needle`` (or it exits, or time is up)."""
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not select.select([proc.stderr], [], [], 0.2)[0]:
            if proc.poll() is not None:
                break
            continue
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            break
    return "".join(seen)


@pytest.mark.discord
def test_briefbot_run_never_prints_the_token(twin_with_token, seeds_db, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRIEFBOT_EMBEDDER": "fake",
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": twin_with_token["rest"],
        "DISCORD_GATEWAY_URL": twin_with_token["gateway"],
        "SCHEDULER_DB": str(tmp_path / "scheduler.db"),
        "CORPUS_DATA_DIR": str(tmp_path / "data"),
        "GUILD_READY_TIMEOUT": "0.1",
    }
    command = [sys.executable, "-m", "bot", "-v", "run", "--db", str(seeds_db)]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, text=True, stderr=subprocess.PIPE)
    try:
        stderr = _read_until(proc, "online as", within=60)
        assert "online as" in stderr, stderr
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    wrong = subprocess.run(
        command, env={**env, "DISCORD_TOKEN": "not-the-token"}, cwd=tmp_path, text=True,
        capture_output=True, timeout=60,
    )  # fmt: skip
    # The twin takes any token over REST and refuses a wrong one at the gateway (4004).
    assert wrong.returncode == 2, wrong.stderr
    assert "Discord rejected DISCORD_TOKEN" in wrong.stderr and "Traceback" not in wrong.stderr
    for text in (stderr + (rest or ""), wrong.stderr, wrong.stdout):
        assert TOKEN not in text
    assert "not-the-token" not in wrong.stderr + wrong.stdout


def test_the_settings_never_show_the_token() -> None:
    from bot.settings import Settings

    settings = Settings(_env_file=None, discord_token=TOKEN)  # type: ignore[call-arg]
    for text in (repr(settings), str(settings), settings.model_dump_json(), f"{settings!r}"):
        assert TOKEN not in text
