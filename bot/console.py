"""Console mode: the bot's commands at a local prompt, rendered from the same `briefings/`."""

from __future__ import annotations

import argparse
import io
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, TextIO

from bot.cli import add_brief_arguments, add_digest_arguments, add_sources_arguments, sources_view
from briefings.brief import make_brief
from briefings.corpus import corpus_overview
from briefings.digest import DigestSnapshot
from briefings.digest_build import build_digest
from briefings.render import brief_text, corpus_text, digest_text, sources_text, visible
from index.errors import BriefbotError, InputError
from index.library import Library

HELP = """Commands:
  /brief TOPIC [--k N] [--source S] [--since DATE]
      verbatim quotes on TOPIC, each with its source and passage id
  /sources P<id>   or   /sources --text TEXT
      where a passage (or a pasted quote) comes from, its context, and who else says the same
  /corpus
      the documents the index holds
  /digest [--preview] [--topic T]
      what is new since this session's last digest, set against the running themes
      (the first covers the last 7 days; --preview does not count as the last digest)
  /help        this text
  /quit        leave (Ctrl-D works too)"""


class LineParser(argparse.ArgumentParser):
    """One console command's options, defined by the CLI; a mistake is answered, never exits."""

    def __init__(self, name: str, *adders: Callable[[argparse.ArgumentParser], None]) -> None:
        super().__init__(prog=f"/{name}", add_help=False)
        for add in adders:
            add(self)

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message}\n{self.format_usage().strip()}")


def _add_preview(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preview", action="store_true", help="does not count as the session's last digest"
    )


BRIEF = LineParser("brief", add_brief_arguments)
SOURCES = LineParser("sources", add_sources_arguments)
DIGEST = LineParser("digest", add_digest_arguments, _add_preview)


def _brief(library: Library, argv: list[str]) -> str:
    args = BRIEF.parse_intermixed_args(argv)
    brief = make_brief(
        library, " ".join(args.topic), k=args.k, source=args.source, since=args.since
    )
    return brief_text(brief)


def _sources(library: Library, argv: list[str]) -> str:
    args = SOURCES.parse_args(argv)
    # ``--text -`` would read the console's own input: the text is on the line instead.
    return sources_text(sources_view(library, args, io.StringIO("")))


@dataclass
class Session:
    """What one console session keeps, as a subscribed channel does: the last digest."""

    snapshot: DigestSnapshot | None = None


def _digest(library: Library, argv: list[str], session: Session) -> str:
    args = DIGEST.parse_args(argv)
    if session.snapshot is not None and session.snapshot.topic != args.topic:
        session.snapshot = None  # another topic is another channel's digest
    digest = build_digest(library, session.snapshot, topic=args.topic)
    if not args.preview:
        session.snapshot = digest.snapshot
    return digest_text(digest).rstrip()


Command = Callable[[Library, list[str], Session], str]
COMMANDS: dict[str, Command] = {
    "brief": lambda library, argv, _session: _brief(library, argv),
    "sources": lambda library, argv, _session: _sources(library, argv),
    "corpus": lambda library, _argv, _session: corpus_text(corpus_overview(library)),
    "digest": _digest,
    "help": lambda _library, _argv, _session: HELP,
}


def handle_line(library: Library, line: str, session: Session | None = None) -> str | None:
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
        return command(library, argv[1:], session if session is not None else Session())
    except BriefbotError as exc:
        return f"error: {visible(str(exc))}"


def run_console(db_path: str, stdin: TextIO, stdout: TextIO) -> int:
    library = Library.open(db_path)
    library.embedder.encode_queries(["warm up"])  # the first answer should not wait for the model
    interactive = stdin.isatty()
    session = Session()
    stdout.write("briefbot console: /brief TOPIC, /sources P<id>, /corpus, /digest, /help, /quit\n")
    while True:
        if interactive:
            stdout.write("briefbot> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            break
        answer = handle_line(library, line, session)
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
