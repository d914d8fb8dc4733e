"""Digest time and peak memory at 21k, 100k and 1M passages (synthetic bulk-loaded indexes).

``python -m benchmarks.digest_scale [--sizes 21000,100000,1000000]`` writes
``benchmarks/results/themes_scale.json``. Each size is measured in a fresh process: a first
digest (themes found on a seeded sample of ``CLUSTER_SAMPLE`` passages, every passage then
placed at its nearest centroid), then the next week's digest from its snapshot (known themes
kept, new passages placed incrementally). The indexes are the speed benchmark's synthetic ones
(random unit vectors, template news sentences; see benchmarks/synthetic.py): they measure cost,
not theme quality. Targets: 60 s and 2 GB at 100k, 10 min and 4 GB at 1M.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.perf import DEFAULT_WORKDIR, DIM, ROOT, SYNTHETIC_MODEL, ensure_index, machine_facts
from index.embedding import MINILM_CALIBRATION

RESULTS = Path(__file__).parent / "results" / "themes_scale.json"
TARGETS = {100_000: (60.0, 2048.0), 1_000_000: (600.0, 4096.0)}


class SyntheticPhrases:
    """Hashing embedder under the synthetic index's model name (label phrases only)."""

    name = SYNTHETIC_MODEL
    dim = DIM
    calibration = MINILM_CALIBRATION  # as before: the floor a model without its own had

    def __init__(self) -> None:
        from index.embedding import FakeEmbedder

        self._inner = FakeEmbedder()
        self._projection = np.random.default_rng(0).standard_normal((FakeEmbedder.dim, DIM))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        out = self._inner.encode_queries(texts) @ self._projection
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    encode_passages = encode_queries


def measure(db: str) -> dict[str, object]:
    """In this process: a first digest, then the next week's from its snapshot."""
    from briefings.digest_build import CLUSTER_SAMPLE, build_digest
    from index.library import Library
    from index.store import Store

    started = time.perf_counter()
    library = Library(Store(db, create=False), SyntheticPhrases())  # type: ignore[arg-type]
    state = library.require_passages()
    load_s = time.perf_counter() - started
    now = datetime.now(UTC)
    started = time.perf_counter()
    first = build_digest(library, now=now)
    first_s = time.perf_counter() - started
    rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    second = build_digest(library, first.snapshot, now=now + timedelta(days=7))
    second_s = time.perf_counter() - started
    return {
        "passages": len(state.snapshot.ids),
        "documents": first.documents,
        "index_load_s": round(load_s, 2),
        "first_digest_s": round(first_s, 2),
        "first_reclustered": first.reclustered,
        "themes": len(first.snapshot.themes),
        "next_week_digest_s": round(second_s, 2),
        "next_week_reclustered": second.reclustered,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_after_first": round(rss_first, 1),
        "cluster_sample": CLUSTER_SAMPLE,
        "snapshot_json_bytes": len(json.dumps(first.snapshot.to_json())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="21000,100000,1000000")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    runs = []
    for size in (int(s) for s in args.sizes.split(",")):
        facts = ensure_index(args.workdir, size, lambda m: print(m, file=sys.stderr))
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.digest_scale", "--measure", facts["db"]],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        run = json.loads(done.stdout.strip().splitlines()[-1])
        target = TARGETS.get(size)
        if target:
            run["target_s"], run["target_mb"] = target
            run["meets_target"] = (
                run["first_digest_s"] + run["index_load_s"] <= target[0]
                and run["peak_rss_mb"] <= target[1]
            )
        print(json.dumps(run), file=sys.stderr)
        runs.append(run)
    result = {"benchmark": "digest scale", "runs": runs, "machine": machine_facts()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
