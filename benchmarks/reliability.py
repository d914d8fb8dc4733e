"""Reliability, measured (issue 16): kill -9 during indexing, hostile files, fuzzed input.

``python -m benchmarks.reliability [--kills N] [--jsonl-mb MB] [--embedder fake|minilm]`` writes
``benchmarks/results/reliability.json`` with the machine's facts:

- **kill loop**: ``briefbot index`` over a corpus that grows every round (text, HTML and PDF
  files, one changed text file, a big JSONL) is SIGKILLed at a random moment, N times; after
  every kill the index must open, pass ``PRAGMA integrity_check`` and hold no half-written
  file (every passage with its vector and exact offsets). A last run without a kill must give
  exactly what a clean rebuild of the same corpus gives: documents, passages, offsets, vectors.
- **hostile files**: each file of ``benchmarks.hostile`` at full size, indexed beside a good
  file in its own process: wall time, peak RSS, the skip message, whether the good file was
  indexed.
- **fuzz**: ``tests/test_fuzz.py`` and ``tests/test_fuzz_corpus_add.py`` (``/corpus add``
  links and file names) with ``BRIEFBOT_FUZZ_EXAMPLES`` cases per input.
- **load**: bursts of 50 concurrent ``/brief`` (and 20 autocomplete) interactions from distinct
  users against ``briefbot run`` on the local Discord (``benchmarks.discord_load``), bot and
  twin on this machine's cores: acknowledgement, answer and autocomplete p50/p95 as the twin
  saw them, the same spans inside the bot, and both processes' CPU seconds
  (``load`` with the fake embedder, ``load_minilm`` with ``--embedder minilm``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import hostile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "reliability.json"
FUZZ_EXAMPLES = 1000
FUZZ_TESTS = ("tests/test_fuzz.py", "tests/test_fuzz_corpus_add.py")
LOAD_TARGETS = {
    "concurrent": 50,
    "ack_p95_ms": 500,
    "answer_p95_ms": 2000,
    "lost": 0,
    "measured_before_on_main": "ack p50 1.7 s / p95 2.5 s, answers p95 2.7 s (issue 16)",
}


def cli_env(embedder: str) -> dict[str, str]:
    env = {**os.environ, "BRIEFBOT_EMBEDDER": embedder, "PYTHONPATH": str(ROOT)}
    env.pop("DISCORD_TOKEN", None)
    return env


def index_command(db: Path, *paths: Path) -> list[str]:
    return [sys.executable, "-m", "bot", "index", "--db", str(db), *map(str, paths)]


# -- the index's state, checked after every kill and compared with a clean rebuild -------------


def check_index(db: Path) -> list[str]:
    """What is wrong with the index at ``db`` as the next reader opens it (empty: nothing)."""
    from index.store import Store

    problems = []
    store = Store(db)  # opens as a reader would: migrations, model check, WAL recovery
    try:
        integrity = store.db.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:3]}")
        checks = {
            "passages without a vector": "SELECT count(*) FROM passages "
            "WHERE passage_id NOT IN (SELECT passage_id FROM vectors)",
            "vectors without a passage": "SELECT count(*) FROM vectors "
            "WHERE passage_id NOT IN (SELECT passage_id FROM passages)",
            "passages without a document": "SELECT count(*) FROM passages "
            "WHERE doc_id NOT IN (SELECT doc_id FROM documents)",
            "passages not exactly text[start:end]": "SELECT count(*) FROM passages p "
            'JOIN documents d USING (doc_id) WHERE substr(d.text, p.start + 1, p."end" - p.start)'
            " != p.text",
            "full-text rows unlike passages": "SELECT abs((SELECT count(*) FROM passages) - "
            "(SELECT count(*) FROM passages_fts))",
        }
        for name, sql in checks.items():
            count = store.db.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{name}: {count}")
    finally:
        store.close()
    return problems


def index_digest(db: Path) -> dict[str, str | int]:
    """A fingerprint of what a reader sees: files, documents, passages with offsets, vectors."""
    queries = {
        "files": "SELECT path, sha256, size FROM files ORDER BY path",
        "documents": "SELECT doc_id, source_id, path, title, authors, published, url, site, "
        "text, content_hash FROM documents ORDER BY doc_id",
        "passages": 'SELECT p.doc_id, p.ord, p.start, p."end", p.text, v.vector FROM passages p '
        "JOIN vectors v USING (passage_id) ORDER BY p.doc_id, p.ord",
    }
    out: dict[str, str | int] = {}
    with sqlite3.connect(db) as conn:
        for name, sql in queries.items():
            digest = hashlib.sha256()
            rows = 0
            for row in conn.execute(sql):
                digest.update(repr(row).encode())
                rows += 1
            out[name] = digest.hexdigest()
            out[f"{name}_rows"] = rows
    return out


# -- kill loop ------------------------------------------------------------------------------


@dataclass
class KillLoop:
    """What a kill loop did and found."""

    embedder: str
    kills_asked: int
    jsonl_mb: float
    kills: int = 0
    runs_that_finished_first: int = 0
    problems: list[str] = field(default_factory=list)
    delays_s: list[float] = field(default_factory=list)
    documents_after_each_round: list[int] = field(default_factory=list)
    files_in_corpus: int = 0
    final_documents: int = 0
    final_passages: int = 0
    equals_clean_rebuild: bool | None = None
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.equals_clean_rebuild)


def _grow(corpus: Path, round_: int, rng: random.Random) -> None:
    """One round's new readings (text, HTML, PDF) and a change to an earlier text file."""
    (corpus / f"note-{round_:03d}.txt").write_text(hostile.article_text(100 + round_), "utf-8")
    (corpus / f"page-{round_:03d}.html").write_text(hostile.article_html(200 + round_), "utf-8")
    hostile.many_pages_pdf(corpus / f"paper-{round_:03d}.pdf", rng.randint(1, 4), seed=300 + round_)
    earlier = sorted(corpus.glob("note-*.txt"))
    if len(earlier) > 1:
        changed = rng.choice(earlier[:-1])
        with changed.open("a", encoding="utf-8") as f:
            f.write("\n" + " ".join(hostile.sentences(2, 400 + round_)) + "\n")


def kill_loop(
    workdir: Path,
    *,
    kills: int,
    jsonl_mb: float,
    embedder: str = "fake",
    seed: int = 16,
    log: Callable[[str], None] = lambda _line: None,
) -> KillLoop:
    """``kills`` SIGKILLs of ``briefbot index`` at random moments over a growing corpus."""
    started = time.monotonic()
    result = KillLoop(embedder=embedder, kills_asked=kills, jsonl_mb=jsonl_mb)
    rng = random.Random(seed)
    corpus = workdir / "corpus"
    corpus.mkdir(parents=True)
    db = workdir / "killed.db"
    hostile.big_jsonl(corpus / "big.jsonl", jsonl_mb)
    env = cli_env(embedder)
    typical = 5.0  # seconds a run takes; learnt from runs that finish before their kill
    round_ = 0
    while result.kills < kills and round_ < 3 * kills:
        round_ += 1
        _grow(corpus, round_, rng)
        delay = rng.uniform(0.5, max(1.0, typical))
        proc = subprocess.Popen(
            index_command(db, corpus), env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=workdir,
        )  # fmt: skip
        run_started = time.monotonic()
        try:
            proc.wait(timeout=delay)
            result.runs_that_finished_first += 1
            typical = time.monotonic() - run_started
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            result.kills += 1
            result.delays_s.append(round(delay, 2))
            typical *= 1.3  # kills spread later and later, so that every run makes progress
        if db.exists():
            found = check_index(db)
            result.problems.extend(f"round {round_}: {p}" for p in found)
            with sqlite3.connect(db) as conn:
                documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            result.documents_after_each_round.append(documents)
        log(f"round {round_}: {result.kills} kill(s), delay {delay:.1f}s, typical {typical:.1f}s")
    final = subprocess.run(index_command(db, corpus), env=env, capture_output=True, text=True)
    if final.returncode != 0:
        result.problems.append(f"final run failed: {final.stderr[-500:]}")
    clean = workdir / "clean.db"
    rebuilt = subprocess.run(index_command(clean, corpus), env=env, capture_output=True, text=True)
    if rebuilt.returncode != 0:
        result.problems.append(f"clean rebuild failed: {rebuilt.stderr[-500:]}")
    result.problems.extend(f"final: {p}" for p in check_index(db))
    mine, theirs = index_digest(db), index_digest(clean)
    result.differences = [k for k in mine if mine[k] != theirs[k]]
    result.equals_clean_rebuild = not result.differences
    result.files_in_corpus = len(list(corpus.iterdir()))
    result.final_documents = int(mine["documents_rows"])
    result.final_passages = int(mine["passages_rows"])
    result.seconds = round(time.monotonic() - started, 1)
    return result


# -- hostile files ----------------------------------------------------------------------------

# name → (generator at full size, whether the file should be indexed or skipped)
HOSTILE: dict[str, tuple[Callable[[Path], Path], bool]] = {
    "big.txt (100 MB text)": (lambda d: hostile.big_text(d / "big.txt", 100), False),
    "nested.html (100,000 nested divs)": (
        lambda d: hostile.nested_html(d / "nested.html", 100_000), False),
    "huge.html (30 MB of paragraphs)": (lambda d: hostile.huge_html(d / "huge.html", 30), False),
    "large.html (1.5 MB of paragraphs, under the limit)": (
        lambda d: hostile.huge_html(d / "large.html", 1.5), True),
    "picture.html (a 30 MB data: image)": (
        lambda d: hostile.data_uri_html(d / "picture.html", 30), True),
    "pages.pdf (5,000 pages)": (lambda d: hostile.many_pages_pdf(d / "pages.pdf", 5000), False),
    "xref.pdf (broken cross-reference table)": (
        lambda d: hostile.broken_xref_pdf(d / "xref.pdf"), False),
    "locked.pdf (encrypted)": (lambda d: hostile.encrypted_pdf(d / "locked.pdf"), False),
}  # fmt: skip


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, the child's own peak RSS (MB), its exit status and its stderr."""
    with tempfile.TemporaryFile("w+") as stderr:
        started = time.monotonic()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        return seconds, usage.ru_maxrss / 1024, proc.returncode, stderr.read()


def hostile_files(workdir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Each hostile file indexed beside a good one, in its own process: time, memory, outcome."""
    env = cli_env("fake")
    good = workdir / "good.txt"
    good.write_text(hostile.article_text(1), encoding="utf-8")
    baseline_s, baseline_mb, _, _ = run_measured(index_command(workdir / "base.db", good), env)
    out: dict[str, Any] = {
        "baseline (one good file)": {
            "seconds": round(baseline_s, 2),
            "peak_rss_mb": round(baseline_mb),
        }
    }
    for name, (make, indexed) in HOSTILE.items():
        folder = workdir / f"h{len(out)}"
        folder.mkdir()
        path = make(folder)
        db = folder / "i.db"
        seconds, rss, code, stderr = run_measured(index_command(db, path, good), env)
        skip = next((ln for ln in stderr.splitlines() if ln.startswith("warning: skipped")), None)
        try:
            with sqlite3.connect(db) as conn:
                sources = {row[0] for row in conn.execute("SELECT source_id FROM documents")}
        except sqlite3.Error:
            sources = set()  # the run died before it wrote anything: recorded, not fatal
        out[name] = {
            "bytes": path.stat().st_size,
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(rss),
            "exit_status": code,
            "skip_message": skip,
            "stderr_tail": None if code == 0 else stderr[-300:],
            "good_file_indexed": "good.txt" in sources,
            "hostile_file_indexed": path.name in sources,
            "as_expected": ("good.txt" in sources) and ((path.name in sources) == indexed),
        }
        log(f"{name}: {seconds:.1f}s, {rss:.0f} MB, {skip or 'indexed'}")
        path.unlink()
    return out


# -- fuzz -------------------------------------------------------------------------------------


def fuzz(examples: int) -> dict[str, Any]:
    """The fuzz tests at ``examples`` cases per input."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FUZZ_TESTS],
        env={**os.environ, "BRIEFBOT_FUZZ_EXAMPLES": str(examples), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    tail = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
    return {
        "examples_per_input": examples,
        "passed": proc.returncode == 0,
        "summary": tail[0] if tail else proc.stderr[-300:],
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--jsonl-mb", type=float, default=50)
    parser.add_argument("--embedder", default="fake", choices=["fake", "minilm"])
    parser.add_argument("--fuzz-examples", type=int, default=FUZZ_EXAMPLES)
    parser.add_argument("--only", choices=["kills", "hostile", "fuzz", "load"], action="append")
    parser.add_argument("--load-concurrent", type=int, default=50)
    parser.add_argument("--load-rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    from benchmarks.perf import machine_facts

    def say(line: str) -> None:
        print(line, flush=True)

    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = machine_facts()
    results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    only = set(args.only or ["kills", "hostile", "fuzz", "load"])
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        if "kills" in only:
            loop = kill_loop(
                workdir / "kills", kills=args.kills, jsonl_mb=args.jsonl_mb,
                embedder=args.embedder, log=say,
            )  # fmt: skip
            results[f"kill_loop_{args.embedder}"] = {**asdict(loop), "ok": loop.ok}
            RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
            say(f"kill loop: {loop.kills} kills, ok={loop.ok}, {loop.problems[:3]}")
        if "hostile" in only:
            (workdir / "hostile").mkdir()
            results["hostile_files"] = hostile_files(workdir / "hostile", say)
            from index.limits import DEFAULT_LIMITS

            results["limits"] = asdict(DEFAULT_LIMITS)
        if "fuzz" in only:
            results["fuzz"] = fuzz(args.fuzz_examples)
            say(f"fuzz: {results['fuzz']['summary']}")
        if "load" in only:
            from benchmarks.discord_load import load

            measured = load(
                workdir / "load", concurrent=args.load_concurrent, rounds=args.load_rounds,
                embedder=args.embedder, log=say,
            )  # fmt: skip
            key = "load" if args.embedder == "fake" else f"load_{args.embedder}"
            results[key] = {**measured, "machine": machine_facts(), "targets": LOAD_TARGETS}
            for mode in ("released_together", "as_created"):
                say(f"load {mode}: ack {measured[mode]['ack']}, answer {measured[mode]['answer']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    say(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
