"""Cleaning quality on the scraped-pages and PDF dev sets, through the product's own reader.

Each page goes through ``ingest`` exactly as ``briefbot index`` reads it (cleaning with the real
model's relatedness check, then chunking into passages), is written as ``briefbot export --json``
lines, and is scored by the data set's own ``score.py``. Writes JSON.

    python -m benchmarks.cleaning [--pages DIR] [--pdfs DIR] [--out FILE] [--fake]

The data sets are evaluation-only and never copied into the project: point at them.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.perf import machine_facts
from index import ingest
from index.chunking import chunk_text
from index.embedding import make_embedder
from index.errors import BriefbotError
from index.pipeline import Indexer
from index.store import Store

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "cleaning.json"
_SUMMARY = re.compile(r"(\w[\w-]*)=([\d./]+)")


def export_folder(folder: Path, out: Path, *, fake: bool = False) -> tuple[int, float, int]:
    """Read ``folder`` as the indexer does and write export lines: (docs, seconds, passages)."""
    embedder = make_embedder("fake" if fake else None)
    with tempfile.TemporaryDirectory() as tmp:
        indexer = Indexer(Store(Path(tmp) / "scratch.db"), embedder)
        files, _ = ingest.discover_files([folder])
        repetition = ingest.site_repetition(files)
        started = time.perf_counter()
        count = passages = 0
        with out.open("w", encoding="utf-8") as sink:
            for path in files:
                try:
                    documents = ingest.read_file(
                        path,
                        embed=indexer._embed_for_cleaning,
                        site_furniture=repetition.lines_for(path),
                    )
                except BriefbotError as exc:
                    print(f"skipped: {exc}", file=sys.stderr)
                    continue
                for doc in documents:
                    spans = chunk_text(doc.text)
                    passages += len(spans)
                    count += 1
                    record = {
                        "doc_id": doc.doc_id,
                        "source_id": doc.source_id,
                        "title": doc.title,
                        "authors": list(doc.authors),
                        "published": doc.published,
                        "url": doc.url,
                        "site": doc.site,
                        "text": doc.text,
                        "passages": [{"start": s.start, "end": s.end} for s in spans],
                    }
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
        return count, time.perf_counter() - started, passages


def score(export: Path, gold: Path, *extra: str, verbose: bool = False) -> dict[str, str]:
    """Run the data set's score.py on ``export``; its summary line as a dict."""
    scorer = BENCH / "scraped-pages-dev" / "score.py"
    result = subprocess.run(
        [sys.executable, str(scorer), str(export), "--gold", str(gold), *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if verbose:
        print(result.stdout)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return dict(_SUMMARY.findall(summary))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=BENCH / "scraped-pages-dev")
    parser.add_argument("--pdfs", type=Path, default=BENCH / "pdf-dev")
    parser.add_argument("--seeds", type=Path, default=Path(__file__).resolve().parents[1] / "seeds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fake", action="store_true", help="hashing embedder (no model)")
    parser.add_argument("--only", choices=["pages", "pdfs"], help="score one set, write nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="print per-page scores")
    args = parser.parse_args(argv)

    sets = {
        "pages": (args.pages, args.pages / "gold.json", ()),
        "pdfs": (args.pdfs, args.pdfs / "gold.json", ("--min-recall=0.95", "--max-leak=0.05")),
    }
    results: dict[str, object] = {
        "machine": machine_facts(),
        "python": platform.python_version(),
        "embedder": "fake" if args.fake else "all-MiniLM-L6-v2",
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (folder, gold, extra) in sets.items():
            if args.only and name != args.only:
                continue
            if not gold.exists():
                print(f"{name}: no gold at {gold}, skipped", file=sys.stderr)
                continue
            export = Path(tmp) / f"{name}.jsonl"
            docs, seconds, passages = export_folder(folder, export, fake=args.fake)
            summary = score(export, gold, *extra, verbose=args.verbose)
            results[name] = {
                "documents": docs,
                "passages": passages,
                "seconds": round(seconds, 2),
                **summary,
            }
            print(name, json.dumps(results[name]))
    if not args.only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
