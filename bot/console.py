"""Console mode: the bot's commands at a local prompt, rendered from the same `briefings/`."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from briefings.brief import make_brief
from briefings.corpus import corpus_overview
from briefings.digest import DigestSnapshot
from briefings.digest_build import build_digest
from briefings.render import brief_text, corpus_text, digest_text, sources_text
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
  /digest [--preview] [--topic T]
      what is new since this session's last digest, set against the running themes
      (the first covers the last 7 days; --preview does not count as the last digest)
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


@dataclass
class Session:
    """What one console session keeps, as a subscribed channel does: the last digest."""

    snapshot: DigestSnapshot | None = None


def _digest(library: Library, argv: list[str], session: Session) -> str:
    preview = "--preview" in argv
    rest = [a for a in argv if a != "--preview"]
    topic = None
    if rest[:1] == ["--topic"] and len(rest) > 1:
        topic, rest = " ".join(rest[1:]), []
    if rest:
        return "usage: /digest [--preview] [--topic TOPIC]"
    if session.snapshot is not None and session.snapshot.topic != topic:
        session.snapshot = None  # another topic is another channel's digest
    digest = build_digest(library, session.snapshot, topic=topic)
    if not preview:
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
        return f"error: {exc}"


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
