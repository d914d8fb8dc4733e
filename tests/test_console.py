"""Console mode through its real entry point: `python -m bot console` with lines on stdin."""

from __future__ import annotations

import os
import re
import shlex
import sys

import pexpect

from tests.conftest import ROOT, run_cli

PROMPT = "briefbot> "


def console(db, *lines: str):
    return run_cli("console", "--db", str(db), input_="\n".join(lines) + "\n", timeout=60)


def test_console_briefs_then_shows_sources_of_a_printed_id_then_quits(seeds_db, seeds_library):
    env = {**os.environ, "BRIEFBOT_EMBEDDER": "fake", "PYTHONPATH": str(ROOT)}
    env.pop("DISCORD_TOKEN", None)
    child = pexpect.spawn(
        sys.executable, ["-m", "bot", "console", "--db", str(seeds_db)],
        cwd=str(ROOT), env=env, encoding="utf-8", timeout=60, dimensions=(50, 200),
    )  # fmt: skip
    try:
        child.expect_exact(PROMPT)
        child.sendline("/brief sino-russian partnership --k 2")
        child.expect_exact(PROMPT)
        brief = child.before
        assert "Brief: sino-russian partnership" in brief
        label = re.search(r"^\s+(P\d+)", brief, re.MULTILINE).group(1)
        passage = seeds_library.passage(label)
        assert " ".join(passage.text.split())[:60] in " ".join(brief.split())

        child.sendline(f"/sources {label}")
        child.expect_exact(PROMPT)
        assert f"{label} — " in child.before and "In context:" in child.before

        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_console_explains_unknown_commands_and_errors_and_keeps_going(seeds_db):
    result = console(seeds_db, "/frobnicate", "/brief   ", "/sources banana", "/help")
    assert result.returncode == 0, result.stderr
    assert "unknown command '/frobnicate': type /help" in result.stdout
    assert "error: the topic is empty" in result.stdout
    assert "is not a passage id" in result.stdout
    assert "/sources P<id>" in result.stdout  # /help still answered after the errors
    assert "Traceback" not in result.stderr


def test_console_ends_cleanly_at_end_of_input_or_quit(seeds_db):
    result = run_cli("console", "--db", str(seeds_db), input_="", timeout=60)
    assert result.returncode == 0 and "briefbot console" in result.stdout
    result = console(seeds_db, "/quit", "/brief never reached")
    assert result.returncode == 0 and "never reached" not in result.stdout


def test_console_digest_is_the_channels_digest_and_the_next_one_says_nothing_is_new(seeds_db):
    result = console(seeds_db, "/digest --preview", "/digest", "/digest")
    assert result.returncode == 0, result.stderr
    assert "unknown command" not in result.stdout
    assert result.stdout.count("new document(s) in the last 7 days") == 2  # a preview counts not
    assert "nothing new since" in result.stdout


def test_console_takes_the_command_lines_options_and_says_what_is_wrong(seeds_db, seeds_library):
    passage = seeds_library.passage("P3")
    result = console(
        seeds_db,
        "/brief --k many partnership",
        "/brief partnership --since 2023-06 --k 1",
        f"/sources --text {shlex.quote(passage.text[:80])}",
    )
    assert result.returncode == 0, result.stderr
    assert "error: argument --k: invalid int value: 'many'" in result.stdout
    assert "usage: /brief" in result.stdout
    assert "Brief: partnership" in result.stdout
    assert "P3 — " in result.stdout  # the pasted text is traced to its passage, as the CLI does
