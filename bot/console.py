"""Console mode: the bot's commands at a local prompt, rendered from the same `briefings/`."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TextIO

from briefings.brief import make_brief
from briefings.corpus import corpus_overview
from briefings.render import brief_text, corpus_text, sources_text
from briefings.sources import passage_sources
from index.errors import BriefbotError
from index.library import Library

HELP = """Commands:
  /brief TOPIC [--k N] [--source S] [--since DATE]
      verbatim quotes on TOPIC, each with its source and passage id
  /sources P<id>
      where a passage comes from, its context, and other documents saying the same
  /corpus
      the documents the index holds
  /help        this text
  /quit        leave (Ctrl-D works too)"""


def _brief(library: Library, argv: list[str]) -> str:
    topic: list[str] = []
    options = {"--k": "5", "--source": None, "--since": None}
    i = 0
    while i < len(argv):
        if argv[i] in options and i + 1 < len(argv):
            options[argv[i]] = argv[i + 1]
            i += 2
        else:
            topic.append(argv[i])
            i += 1
    k_text = options["--k"] or "5"
    if not k_text.isdigit():
        return f"error: --k takes a number, not {k_text!r}"
    brief = make_brief(
        library, " ".join(topic), k=int(k_text), source=options["--source"],
        since=options["--since"],
    )  # fmt: skip
    return brief_text(brief)


def _sources(library: Library, argv: list[str]) -> str:
    if len(argv) != 1:
        return "usage: /sources P<id>   (the id printed under each quote)"
    return sources_text(passage_sources(library, argv[0]))


COMMANDS: dict[str, Callable[[Library, list[str]], str]] = {
    "brief": _brief,
    "sources": _sources,
    "corpus": lambda library, _argv: corpus_text(corpus_overview(library)),
    "help": lambda _library, _argv: HELP,
}


def handle_line(library: Library, line: str) -> str | None:
    """The answer to one console line; None means quit."""
    line = line.strip()
    if not line:
        return ""
    try:
        argv = shlex.split(line)
    except ValueError:
        argv = line.split()
    name = argv[0].lstrip("/").lower()
    if name in ("quit", "exit"):
        return None
    command = COMMANDS.get(name)
    if command is None:
        return f"unknown command {argv[0]!r}: type /help"
    try:
        return command(library, argv[1:])
    except BriefbotError as exc:
        return f"error: {exc}"


def run_console(db_path: str, stdin: TextIO, stdout: TextIO) -> int:
    library = Library.open(db_path)
    library.embedder.encode_queries(["warm up"])  # the first answer should not wait for the model
    interactive = stdin.isatty()
    stdout.write("briefbot console: /brief TOPIC, /sources P<id>, /corpus, /help, /quit\n")
    while True:
        if interactive:
            stdout.write("briefbot> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            break
        answer = handle_line(library, line)
        if answer is None:
            break
        if answer:
            stdout.write(answer + "\n")
    return 0


def run_demo(db_path: str, stdout: TextIO) -> int:
    """Without a terminal or a token: show what briefbot does, once."""
    library = Library.open(db_path)
    for line in ("/corpus", "/brief sino-russian"):
        stdout.write(f"briefbot> {line}\n{handle_line(library, line)}\n\n")
    return 0
