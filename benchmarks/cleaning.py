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
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.perf import machine_facts
from bot.cli import export_record
from index import ingest
from index.chunking import chunk_text
from index.embedding import make_embedder
from index.errors import BriefbotError
from index.models import Document
from index.pipeline import Indexer
from index.store import Store

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "cleaning.json"
_SUMMARY = re.compile(r"(\w[\w-]*)=([\d./]+)")


Reader = Callable[[Path], list[Document]]


def _record(doc: Document) -> dict[str, object]:
    spans = [{"start": s.start, "end": s.end} for s in chunk_text(doc.text)]
    return export_record(doc, spans)


def product_reader(files: list[Path], *, fake: bool = False) -> Reader:
    """Files read exactly as ``briefbot index`` reads them (relatedness check included)."""
    indexer = Indexer(Store(":memory:"), make_embedder("fake" if fake else None))
    repetition = ingest.site_repetition(files)

    def read(path: Path) -> list[Document]:
        return ingest.read_file(
            path, embed=indexer._embed_for_cleaning, site_furniture=repetition.lines_for(path)
        )

    return read


def trafilatura_reader(*, favor_precision: bool) -> Reader:
    """An HTML page as trafilatura alone reads it: its text as one document, paragraphs kept."""
    import trafilatura

    def read(path: Path) -> list[Document]:
        text = trafilatura.extract(
            path.read_text(encoding="utf-8", errors="replace"),
            include_comments=False,
            include_tables=True,
            favor_precision=favor_precision,
        )
        body = "\n\n".join(line.strip() for line in (text or "").splitlines() if line.strip())
        return [Document(doc_id=path.name, source_id=path.name, text=body)] if body else []

    return read


def export(files: list[Path], out: Path, read: Reader) -> tuple[int, float, int]:
    """Write ``briefbot export --json`` lines for ``files``: (documents, seconds, passages)."""
    started = time.perf_counter()
    count = passages = 0
    with out.open("w", encoding="utf-8") as sink:
        for path in files:
            try:
                documents = read(path)
            except BriefbotError as exc:
                print(f"skipped: {exc}", file=sys.stderr)
                continue
            for doc in documents:
                record = _record(doc)
                passages += len(record["passages"])  # type: ignore[arg-type]
                count += 1
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    return count, time.perf_counter() - started, passages


def export_folder(folder: Path, out: Path, *, fake: bool = False) -> tuple[int, float, int]:
    """Read ``folder`` as the indexer does and write export lines: (docs, seconds, passages)."""
    files, _ = ingest.discover_files([folder])
    return export(files, out, product_reader(files, fake=fake))


def html_comparison(folder: Path, gold: Path, tmp: Path) -> dict[str, dict[str, object]]:
    """The HTML pages of ``folder`` read by trafilatura alone and by briefbot, scored alike.

    F1 here is over gold phrases: recall of body phrases, precision as 1 - furniture leakage.
    """
    files = [p for p in ingest.discover_files([folder])[0] if p.suffix.lower() in {".html", ".htm"}]
    names = {p.name for p in files}
    entries = [e for e in json.loads(gold.read_text(encoding="utf-8")) if e["file"] in names]
    html_gold = tmp / "html_gold.json"
    html_gold.write_text(json.dumps(entries), encoding="utf-8")
    readers = {
        "trafilatura_default": trafilatura_reader(favor_precision=False),
        "trafilatura_precision": trafilatura_reader(favor_precision=True),
        "briefbot": product_reader(files),
    }
    results: dict[str, dict[str, object]] = {}
    for name, read in readers.items():
        out = tmp / f"html_{name}.jsonl"
        export(files, out, read)
        summary = score(out, html_gold)
        recall, leak = float(summary.get("recall", 0)), float(summary.get("leak", 1))
        precision = 1.0 - leak
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        results[name] = {"pages": len(files), "recall": recall, "leak": leak, "f1": round(f1, 3)}
    return results


def index_speed(folder: Path) -> dict[str, float]:
    """Passages per second of a full ``briefbot index`` of ``folder`` (real model, fresh store)."""
    with tempfile.TemporaryDirectory() as tmp:
        embedder = make_embedder(None)
        embedder.encode_passages(["warm up the model"], batch_size=1)
        indexer = Indexer(Store(Path(tmp) / "speed.db"), embedder)
        started = time.perf_counter()
        report = indexer.run([folder])
        seconds = time.perf_counter() - started
    return {
        "passages": report.passages_encoded,
        "seconds": round(seconds, 2),
        "passages_per_s": round(report.passages_encoded / seconds, 1),
    }


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


_SPEED_SCRIPT = """
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from index.embedding import make_embedder
from index.pipeline import Indexer
from index.store import Store
embedder = make_embedder(None)
embedder.encode_passages(["warm up the model"], batch_size=1)
embedder.encode_queries(["warm up"])
out = {}
for folder in sys.argv[2:]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = Indexer(Store(Path(tmp) / "speed.db"), embedder).run([folder])
        seconds = time.perf_counter() - started
    out[Path(folder).name] = round(report.passages_encoded / seconds, 1)
print(json.dumps(out))
"""


def speed_against(baseline: Path, folders: list[Path], rounds: int = 4) -> dict[str, object]:
    """Indexing passages/s of this checkout and of ``baseline`` (an older checkout), interleaved.

    Each run is a fresh process on one thread (the ratio is steadier on a shared machine than
    with both cores contended); the median of ``rounds`` runs per checkout is reported.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    here = Path(__file__).resolve().parents[1]
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "now": []}
    for _ in range(rounds):
        for name, root in (("baseline", baseline), ("now", here)):
            result = subprocess.run(
                [sys.executable, "-c", _SPEED_SCRIPT, str(root), *map(str, folders)],
                capture_output=True,
                text=True,
                check=True,
                cwd=root,
                env=env,
            )
            runs[name].append(json.loads(result.stdout.strip().splitlines()[-1]))
    summary: dict[str, object] = {"threads": 1, "rounds": rounds, "baseline": str(baseline)}
    for folder in folders:
        key = folder.name
        before = statistics.median(run[key] for run in runs["baseline"])
        now = statistics.median(run[key] for run in runs["now"])
        summary[key] = {"baseline_per_s": before, "now_per_s": now, "ratio": round(now / before, 3)}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=BENCH / "scraped-pages-dev")
    parser.add_argument("--pdfs", type=Path, default=BENCH / "pdf-dev")
    parser.add_argument("--seeds", type=Path, default=Path(__file__).resolve().parents[1] / "seeds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fake", action="store_true", help="hashing embedder (no model)")
    parser.add_argument("--only", choices=["pages", "pdfs"], help="score one set, write nothing")
    parser.add_argument(
        "--baseline", type=Path, help="an older checkout to compare indexing speed against"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print per-page scores")
    parser.add_argument(
        "--speed-only", action="store_true", help="with --baseline: redo only that comparison"
    )
    args = parser.parse_args(argv)
    if args.speed_only and args.baseline:
        saved = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
        saved["index_speed_vs_baseline"] = speed_against(args.baseline, [args.seeds, args.pages])
        saved["index_speed_vs_baseline"]["load_average_at_start"] = list(os.getloadavg())
        args.out.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
        print("index_speed_vs_baseline", json.dumps(saved["index_speed_vs_baseline"]))
        return 0

    sets = {
        "pages": (args.pages, args.pages / "gold.json", ()),
        "pdfs": (args.pdfs, args.pdfs / "gold.json", ("--min-recall=0.95", "--max-leak=0.05")),
    }
    results: dict[str, object] = {
        "machine": machine_facts(),
        "python": platform.python_version(),
        "embedder": "fake" if args.fake else "all-MiniLM-L6-v2",
        # Other work on the machine slows every timing here; the baseline ratio is what holds.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (folder, gold, extra) in sets.items():
            if args.only and name != args.only:
                continue
            if not gold.exists():
                print(f"{name}: no gold at {gold}, skipped", file=sys.stderr)
                continue
            out = Path(tmp) / f"{name}.jsonl"
            docs, seconds, passages = export_folder(folder, out, fake=args.fake)
            summary = score(out, gold, *extra, verbose=args.verbose)
            results[name] = {
                "documents": docs,
                "passages": passages,
                "seconds": round(seconds, 2),
                **summary,
            }
            print(name, json.dumps(results[name]))
        if not args.only:
            results["html"] = html_comparison(args.pages, args.pages / "gold.json", Path(tmp))
            print("html", json.dumps(results["html"]))
            results["index_speed"] = {
                name: index_speed(folder)
                for name, folder in [
                    ("seeds", args.seeds),
                    *((name, folder) for name, (folder, _, _) in sets.items()),
                ]
            }
            print("index_speed", json.dumps(results["index_speed"]))
            if args.baseline:
                results["index_speed_vs_baseline"] = speed_against(
                    args.baseline, [args.seeds, args.pages]
                )
                print("index_speed_vs_baseline", json.dumps(results["index_speed_vs_baseline"]))
    if not args.only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
