"""The `briefbot` command line: index, brief, sources, docs, export, search, console, run."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from index.errors import BriefbotError, InputError
from index.models import SHARED, Document

if TYPE_CHECKING:
    from briefings.brief import Brief
    from briefings.sources import SourceView
    from index.library import Library

log = logging.getLogger("briefbot")

DEFAULT_CORPUS = "seeds"
SNAPSHOT_FILE = "last-digest.json"  # in `digest --out DIR`: what the channel saw, and quoted


def _db(args: argparse.Namespace) -> str:
    from index.library import default_db_path

    return args.db or default_db_path()


def _library(args: argparse.Namespace):
    """The index, seen from the ``--collection``s given (every collection when none is)."""
    from index.library import Library

    library = Library.open(_db(args))
    collections = getattr(args, "collection", None)
    return library.within(collections) if collections else library


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def cmd_index(args: argparse.Namespace) -> int:
    from bot.settings import load_settings
    from index.embedding import make_embedder
    from index.pipeline import Indexer
    from index.store import open_store

    store = open_store(_db(args))
    indexer = Indexer(store, make_embedder(), limits=load_settings().ingest_limits())
    try:
        report = indexer.run(
            args.paths,
            prune=args.prune,
            rebuild=args.rebuild,
            collection=getattr(args, "collection", SHARED),  # `start` indexes the shared one
        )
    except KeyboardInterrupt:
        print("interrupted: files finished so far are indexed; the rest are as they were",
              file=sys.stderr)  # fmt: skip
        return 130
    for path, reason in report.skipped:
        print(f"warning: skipped {path}: {reason}" if path else f"warning: {reason}",
              file=sys.stderr)  # fmt: skip
    for path, note in report.warnings:
        print(f"warning: {path}: {note}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    docs, passages = store.counts()
    print(f"index {store.path}: {docs} documents, {passages} passages", file=sys.stderr)
    if not report.ok:
        print("error: nothing could be indexed", file=sys.stderr)
        return 1
    return 0


def cmd_brief(args: argparse.Namespace) -> int:
    from briefings.brief import make_brief
    from briefings.render import brief_text

    brief = make_brief(
        _library(args), " ".join(args.topic), k=args.k, source=args.source, since=args.since
    )
    if args.json:
        _print_json(brief_record(brief))
    else:
        print(brief_text(brief))
    return 0


def brief_record(brief: Brief) -> dict[str, object]:
    """``briefbot brief --json``: each quote in the shape search and digest use (``quote``)."""
    return {
        "topic": brief.topic,
        "source": brief.source,
        "since": brief.since,
        "quotes": [{**q.to_json(), "score": round(q.score, 6)} for q in brief.quotes],
    }


def sources_view(library: Library, args: argparse.Namespace, stdin: TextIO) -> SourceView:
    """What ``sources`` shows: a passage by id, or the one ``--text`` comes from (``-``: stdin)."""
    from briefings.sources import passage_sources, sources_for_text

    if (args.passage_id is None) == (args.text is None):
        raise InputError("name a passage (P42) or give --text TEXT (--text - reads stdin)")
    if args.text is not None:
        return sources_for_text(library, stdin.read() if args.text == "-" else args.text)
    return passage_sources(library, args.passage_id)


def cmd_sources(args: argparse.Namespace) -> int:
    from briefings.render import quote_text, sources_text

    view = sources_view(_library(args), args, sys.stdin)
    if args.json:
        _print_json(asdict(view))
    else:
        print(sources_text(view))
        if view.related:
            print("\nRelated passages in other documents (same subject, not the same claim):")
            for other in view.related:
                print(quote_text(other))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from briefings.corpus import corpus_overview
    from briefings.render import corpus_text

    overview = corpus_overview(_library(args))
    if args.json:
        for entry in overview.entries:
            _print_json(asdict(entry))
    else:
        print(corpus_text(overview))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from index.store import open_store

    store = open_store(_db(args), create=False)
    for doc in store.documents():
        passages = store.passages_of(doc.doc_id)
        spans = [{"passage_id": p.passage_id, "start": p.start, "end": p.end} for p in passages]
        _print_json(export_record(doc, spans))
    return 0


def export_record(doc: Document, passages: list[dict[str, int]]) -> dict[str, object]:
    """One line of ``briefbot export --json``: a document and its passages' offsets."""
    return {
        "doc_id": doc.doc_id,
        "source_id": doc.source_id,
        "title": doc.title,
        "authors": list(doc.authors),
        "published": doc.published,
        "url": doc.url,
        "site": doc.site,
        "text": doc.text,
        "passages": passages,
    }


def _jsonl_records(path: str, what: str, fields: str) -> Iterator[tuple[str, str, dict]]:
    """(``PATH line N``, id, object) for each non-blank line; InputError naming the bad line."""
    from index.ingest import jsonl_objects

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} from {path}: {exc}") from exc
    for where, obj in jsonl_objects(text, path, f"{fields} JSON"):
        record_id = obj.get("id", obj.get("_id"))
        if record_id is None:
            raise InputError(f'{where}: no "id" or "_id"')
        yield where, str(record_id), obj


def _read_queries(path: str) -> list[tuple[str, str]]:
    queries = []
    for where, qid, obj in _jsonl_records(path, "queries", '{"id", "text"}'):
        if not isinstance(obj.get("text"), str):
            raise InputError(f'{where}: no "text"')
        queries.append((qid, obj["text"]))
    return queries


def cmd_search(args: argparse.Namespace) -> int:
    library = _library(args)
    queries = _read_queries(args.queries)
    vectors = library.embedder.encode_queries([text for _, text in queries])
    for (qid, text), vector in zip(queries, vectors, strict=True):
        try:
            hits = library.search(text, k=args.k, per_document=True, query_vector=vector)
        except InputError as exc:
            log.warning("query %s: %s", qid, exc)
            hits = []
        _print_json(
            {
                "query_id": qid,
                "hits": [
                    {
                        "passage_id": h.passage.passage_id,
                        "doc_id": h.document.doc_id,
                        "source_id": h.document.source_id,
                        "title": h.document.title,
                        "quote": h.passage.text,
                        "start": h.passage.start,
                        "end": h.passage.end,
                        "score": round(h.score, 6),
                    }
                    for h in hits
                ],
            }
        )
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    """A digest as a channel gets it: with --out, DIR keeps what a subscription keeps."""
    from briefings.digest import DigestSnapshot
    from briefings.digest_build import build_digest
    from briefings.render import digest_text

    out = Path(args.out) if args.out else None
    snapshot_file = out / SNAPSHOT_FILE if out else None
    previous = None
    if snapshot_file is not None and snapshot_file.exists():
        try:
            previous = DigestSnapshot.from_json(json.loads(snapshot_file.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"cannot read the previous digest from {snapshot_file}: {exc}"
            ) from exc
    digest = build_digest(_library(args), previous, topic=args.topic)
    if args.json:
        _print_json(digest.to_json())
    else:
        print(digest_text(digest), end="")
    if out is not None:
        from briefings.chart import theme_source_chart, theme_week_chart

        out.mkdir(parents=True, exist_ok=True)
        if not digest.quiet:
            (out / "digest-chart.png").write_bytes(theme_source_chart(digest))
            (out / "digest-weeks.png").write_bytes(theme_week_chart(digest))
            print(f"charts saved to {out}/digest-chart.png and digest-weeks.png", file=sys.stderr)
        # Written last and whole (a temporary file renamed): a crash keeps the previous one.
        assert snapshot_file is not None
        partial = snapshot_file.with_suffix(".json.tmp")
        partial.write_text(json.dumps(digest.snapshot.to_json()), encoding="utf-8")
        partial.replace(snapshot_file)
    return 0


def _read_documents(path: str) -> list[tuple[str, str]]:
    docs = [
        (doc_id, f"{obj.get('title') or ''}\n{obj.get('text') or ''}".strip())
        for _, doc_id, obj in _jsonl_records(path, "documents", '{"id", "title", "text"}')
    ]
    if not docs:
        raise InputError(f"{path} holds no documents")
    return docs


def cmd_themes(args: argparse.Namespace) -> int:
    from briefings.themes import discover_themes
    from index.embedding import make_embedder

    docs = _read_documents(args.input)
    texts = [text for _, text in docs]
    vectors = make_embedder().encode_passages(texts)
    model = discover_themes(texts, vectors)
    for (doc_id, _), theme in zip(docs, model.assignment, strict=True):
        _print_json({"id": doc_id, "theme": theme})
    _print_json({"labels": {str(t.theme_id): t.label for t in model.themes}})
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    return run_console(_db(args), sys.stdin, sys.stdout)


def cmd_run(args: argparse.Namespace) -> int:
    from bot.client import run_bot

    return run_bot(db_path=_db(args), corpus=args.corpus)


def cmd_start(args: argparse.Namespace) -> int:
    """The README's main job: index the corpus, then the bot, the console or a demo."""
    args.paths, args.prune, args.rebuild = [args.corpus], True, False
    if not Path(args.corpus).exists():
        raise InputError(f"corpus folder {args.corpus} does not exist")
    code = cmd_index(args)
    if code:
        return code
    from bot.settings import load_settings

    if load_settings().discord_token is not None:
        return cmd_run(args)
    if sys.stdin.isatty():
        print("No DISCORD_TOKEN set: console mode (type /help).", file=sys.stderr)
        return cmd_console(args)
    print("No DISCORD_TOKEN and no terminal: a one-shot demo.\n", file=sys.stderr)
    from bot.console import run_demo

    return run_demo(_db(args), sys.stdout)


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks.perf import DEFAULT_WORKDIR, bench

    workdir = Path(args.workdir) if args.workdir else DEFAULT_WORKDIR
    return bench(quick=args.quick, as_json=args.json, workdir=workdir)


# The options a command shares with its console twin (bot/console.py parses with these too).


def add_brief_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="*", help="what the brief is about")
    parser.add_argument("--k", type=int, default=5, help="how many quotes (default 5)")
    parser.add_argument("--source", help="only this site, author or document")
    parser.add_argument("--since", help="only documents published on or after this date")


def add_sources_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("passage_id", nargs="?", help="e.g. P42")
    parser.add_argument("--text", help="a pasted quote or paragraph to find instead ('-': stdin)")


def add_digest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", help="only passages about this topic")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefbot", description="Research briefings with verbatim, cited quotes."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--db", help="index file (default: $BRIEFBOT_DB or briefbot.db)")
        return p

    def scoped(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--collection",
            action="append",
            metavar="NAME",
            help="only this collection: shared, or a server's guild:ID (repeatable; "
            "default: every collection)",
        )

    p = add("index", "index files and folders (.txt .md .html .jsonl), incrementally")
    p.add_argument("paths", nargs="+")
    p.add_argument("--prune", action="store_true", help="drop documents whose files are gone")
    p.add_argument("--rebuild", action="store_true", help="start the index afresh")
    p.add_argument(
        "--collection",
        default=SHARED,
        metavar="NAME",
        help="the collection the files go to (default: shared; a server's is guild:ID); "
        "--prune prunes only within it",
    )
    p.set_defaults(func=cmd_index)

    p = add("brief", "quote the corpus on a topic")
    add_brief_arguments(p)
    p.add_argument("--json", action="store_true")
    scoped(p)
    p.set_defaults(func=cmd_brief)

    p = add("sources", "where a passage comes from, and who else says the same")
    add_sources_arguments(p)
    p.add_argument("--json", action="store_true")
    scoped(p)
    p.set_defaults(func=cmd_sources)

    p = add("docs", "the documents in the index")
    p.add_argument("--json", action="store_true")
    scoped(p)
    p.set_defaults(func=cmd_docs)

    p = add("export", "every document with its text and passage offsets, as JSON lines")
    p.add_argument("--json", action="store_true", help="(the only format)")
    p.set_defaults(func=cmd_export)

    p = add("search", "run a file of queries; one JSON line of hits per query")
    p.add_argument("--queries", required=True, help='JSONL with {"id"|"_id", "text"}')
    p.add_argument("--k", type=int, default=10, help="documents per query (default 10)")
    p.add_argument("--json", action="store_true", help="(the only format)")
    scoped(p)
    p.set_defaults(func=cmd_search)

    p = add("digest", "what is new since the last digest, set against the running themes")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--out",
        help="folder kept like a channel: the last digest's snapshot and every passage quoted "
        "(the next run covers what came since), and the two chart PNGs",
    )
    add_digest_arguments(p)
    scoped(p)
    p.set_defaults(func=cmd_digest)

    p = add("themes", "cluster a JSONL file of documents into themes (one line per document)")
    p.add_argument("--input", required=True, help='JSONL with {"id"|"_id", "title", "text"}')
    p.add_argument("--json", action="store_true", help="(the only format)")
    p.set_defaults(func=cmd_themes)

    p = add("console", "the bot's commands at a local prompt (no Discord needed)")
    p.set_defaults(func=cmd_console)

    p = add("run", "run the Discord bot (needs DISCORD_TOKEN)")
    p.add_argument("--corpus", default=os.environ.get("BRIEFBOT_CORPUS", DEFAULT_CORPUS))
    p.set_defaults(func=cmd_run)

    p = add("start", "index the corpus, then run the bot (token set) or the console")
    p.add_argument("--corpus", default=os.environ.get("BRIEFBOT_CORPUS", DEFAULT_CORPUS))
    p.set_defaults(func=cmd_start)

    help_ = "speed benchmarks: search, ingest, cold start, memory (benchmarks/results/perf.json)"
    p = sub.add_parser("bench", help=help_, description=help_)
    p.add_argument("--quick", action="store_true", help="small sizes only (under a minute)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--workdir", help="where the synthetic indexes are kept between runs")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dotenv import load_dotenv

    # The settings in `.env` (see .env.example) apply to every command, not only the bot's;
    # the environment wins over the file.
    load_dotenv(Path.cwd() / ".env", override=False)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except BriefbotError as exc:
        from briefings.render import visible

        print(f"error: {visible(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
