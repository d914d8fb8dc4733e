"""A pytest plugin: no log record of the whole test run may hold a bot token.

Every ``LogRecord`` created in the run (any logger, at whatever level is enabled where it is
logged) passes through a record factory that looks for the tokens in its message and exception;
at the end the run fails, naming the test and logger of each record that held one (the token
itself shown as ``<TOKEN>``). Tokens: the tests' own (``fake-bot-token``), ``DISCORD_TOKEN`` from
the environment, and whatever a test passes to :func:`watch` (e.g. a twin's token).

Load it with ``pytest_plugins = [..., "tests.token_scan"]`` in the root conftest, or
``-p tests.token_scan``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest

TOKENS: set[str] = {"fake-bot-token"}
found: list[tuple[str, str, str]] = []  # (test, logger, message with the token masked)
_current = ["(outside any test)"]
_installed: list[Any] = []


def watch(token: str) -> None:
    """Scan for ``token`` too, from now on."""
    if token:
        TOKENS.add(token)


def scan(record: logging.LogRecord) -> None:
    """Note ``record`` if its message or exception holds a token."""
    try:
        text = record.getMessage()
    except Exception:  # a record whose arguments do not format: scan its parts
        text = f"{record.msg!s} {record.args!r}"
    if record.exc_info and record.exc_info[1] is not None:
        text = f"{text} {record.exc_info[1]!r}"
    for token in TOKENS:
        if token in text:
            found.append((_current[0], record.name, text.replace(token, "<TOKEN>")[:300]))


def pytest_configure(config: pytest.Config) -> None:
    watch(os.environ.get("DISCORD_TOKEN", "").strip())
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        scan(record)
        return record

    _installed.append(previous)
    logging.setLogRecordFactory(factory)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _installed:
        logging.setLogRecordFactory(_installed.pop())


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _current[0] = nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not found:
        return
    terminalreporter.section("bot token in log records", sep="=", red=True)
    for test, logger, message in found:
        terminalreporter.line(f"{test}: {logger}: {message}")
