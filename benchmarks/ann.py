"""Approximate nearest-neighbour libraries compared on the synthetic sidecar matrix.

``python -m benchmarks.ann [--passages 100000] [--out FILE]``: for each candidate (usearch,
faiss-cpu, voyager; hnswlib ships only as an sdist and needs a compiler) build an HNSW graph
over the benchmark index's float32 sidecar matrix, then time single queries (one thread, as a
bot serves them) at several search depths: p50/p95, recall@10 against the exact float32 scan
after the exact re-score of a 100-row shortlist, with and without a filter that keeps ~10% of
documents. The raw float32 matmul of the same run is the yardstick; the machine's load average
is recorded beside each figure because this host is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.perf import DEFAULT_WORKDIR, DIM, machine_facts
from benchmarks.synthetic import PASSAGES_PER_DOCUMENT, QUERIES, SyntheticCorpus

SHORTLIST = 100
K = 10


def real_like(
    real: np.ndarray, passages: int, seed: int = 0, spread: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """``passages`` unit vectors distributed like real MiniLM passages, and held-out queries.

    Random unit vectors are the worst case of approximate search (in 384 dimensions every point
    is nearly as far from a query as its nearest neighbour), and no real embedding looks like
    that. These vectors start from real passage vectors: each document is a real passage
    vector plus noise drawn with the real vectors' own covariance (``spread`` of it), each of
    its 8 passages the document plus as much again. The queries are 300 real passage vectors
    kept out of the bases. At 100k, spread 0.5 gives the query's 10th/100th neighbour cosines
    of 0.62/0.46, as the real vectors give against their own 37k (0.61/0.46).
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real))
    queries, bases = real[order[:300]], real[order[300:]]
    spread_vals, axes = np.linalg.eigh(np.cov((bases - bases.mean(0)).T))
    shape = (axes * np.sqrt(spread_vals.clip(0))).astype(np.float32)
    docs = -(-passages // PASSAGES_PER_DOCUMENT)
    out = np.empty((docs * PASSAGES_PER_DOCUMENT, real.shape[1]), np.float32)
    step = 8192
    for first in range(0, docs, step):
        n = min(step, docs - first)
        centre = bases[rng.integers(0, len(bases), n)]
        centre = centre + spread * (rng.standard_normal(centre.shape, dtype=np.float32) @ shape.T)
        centre /= np.linalg.norm(centre, axis=1, keepdims=True)
        block = np.repeat(centre, PASSAGES_PER_DOCUMENT, axis=0)
        block += spread * (rng.standard_normal(block.shape, dtype=np.float32) @ shape.T)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        start = first * PASSAGES_PER_DOCUMENT
        out[start : start + len(block)] = block
    return out[:passages], np.ascontiguousarray(queries)


def load_real_like(workdir: Path, passages: int, real_db: Path | None) -> tuple[Any, Any]:
    """``real_like`` vectors cached in ``workdir`` (the real ones read once from ``real_db``)."""
    cached, cached_q = workdir / f"reallike-{passages}.npy", workdir / "reallike-queries.npy"
    if cached.exists() and cached_q.exists():
        return np.load(cached, mmap_mode="r"), np.load(cached_q)
    real_file = workdir / "real_minilm.npy"
    if not real_file.exists():
        import sqlite3

        if real_db is None:
            raise SystemExit("--real-db: a briefbot index built with the real model is needed")
        rows = sqlite3.connect(real_db).execute("SELECT vector FROM vectors")
        np.save(real_file, np.vstack([np.frombuffer(b, np.float32) for (b,) in rows]))
    matrix, queries = real_like(np.load(real_file), passages)
    np.save(cached, matrix)
    np.save(cached_q, queries)
    return np.load(cached, mmap_mode="r"), queries


def ensure_reallike_db(workdir: Path, passages: int, log: Callable[[str], None]) -> Path:
    """The synthetic index of ``passages`` with its vectors replaced by ``real_like`` ones.

    Texts, documents, dates and the tantivy index are the synthetic index's (copied); only
    the vectors table is rewritten (row i in passage-id order gets real-like row i, so the
    8 passages of a document stay one document). Built once and kept in ``workdir``.
    """
    import sqlite3

    from benchmarks.perf import ensure_index

    db = workdir / f"reallike-{passages}.db"
    if db.exists():
        return db
    source = Path(ensure_index(workdir, passages, log)["db"])
    matrix, _ = load_real_like(workdir, passages, None)
    log(f"copying {source} to {db} with real-like vectors ...")
    tmp = db.with_name(db.name + ".tmp")
    shutil.copyfile(source, tmp)
    tantivy = Path(str(source) + ".tantivy")
    if tantivy.is_dir():
        shutil.rmtree(Path(str(db) + ".tantivy"), ignore_errors=True)
        shutil.copytree(tantivy, Path(str(db) + ".tantivy"))
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    ids = [r[0] for r in con.execute("SELECT passage_id FROM vectors ORDER BY passage_id")]
    assert len(ids) == len(matrix)
    for start in range(0, len(ids), 50_000):
        block = np.asarray(matrix[start : start + 50_000], dtype=np.float32)
        con.executemany(
            "UPDATE vectors SET vector = ? WHERE passage_id = ?",
            ((block[i].tobytes(), ids[start + i]) for i in range(len(block))),
        )
    con.commit()
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    os.replace(tmp, db)
    return db


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(samples) * 1000.0, q)), 3)


def _load(seconds: float) -> list[float]:
    del seconds
    return [round(x, 2) for x in os.getloadavg()]


def _exact_top(matrix: np.ndarray, q: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    scores = matrix @ q
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top])]


def _rescore(matrix: np.ndarray, q: np.ndarray, rows: np.ndarray) -> np.ndarray:
    rows = np.sort(rows[rows >= 0])
    exact = matrix[rows] @ q
    best = np.argsort(-exact)[:K]
    return rows[best]


def _faiss() -> Any:
    import faiss

    return faiss


class Candidate:
    name = ""
    index: Any

    def build(self, matrix: np.ndarray) -> None:
        raise NotImplementedError

    def search(self, q: np.ndarray, ef: int, allowed: np.ndarray | None) -> np.ndarray:
        """Rows of the shortlist (only allowed ones) for query ``q`` at search depth ``ef``."""
        raise NotImplementedError

    def size_mb(self) -> float:
        """The index's own bytes (graph and codes), serialised."""
        raise NotImplementedError


class Usearch(Candidate):
    def size_mb(self) -> float:
        return float(self.index.serialized_length) / 2**20

    def __init__(self, dtype: str, connectivity: int, expansion_add: int) -> None:
        self.dtype, self.m, self.efc = dtype, connectivity, expansion_add
        self.name = f"usearch {dtype} M={connectivity} efC={expansion_add}"

    def build(self, matrix: np.ndarray) -> None:
        from usearch.index import Index

        self.index = Index(
            ndim=matrix.shape[1],
            metric="ip",
            dtype=self.dtype,
            connectivity=self.m,
            expansion_add=self.efc,
        )
        self.index.add(np.arange(len(matrix), dtype=np.uint64), matrix, threads=2)

    def search(self, q: np.ndarray, ef: int, allowed: np.ndarray | None) -> np.ndarray:
        self.index.expansion_search = ef  # settable, though the stubs say read-only
        want = SHORTLIST if allowed is None else min(len(allowed), SHORTLIST * 10)
        found = self.index.search(q, want, threads=1)
        rows = found.keys.astype(np.int64)
        if allowed is not None:
            rows = rows[allowed[rows]]
        return rows


class Faiss(Candidate):
    def size_mb(self) -> float:
        faiss = _faiss()
        return float(faiss.serialize_index(self.index).nbytes) / 2**20

    def __init__(self, kind: str, m: int, ef_construction: int) -> None:
        self.kind, self.m, self.efc = kind, m, ef_construction
        self.name = f"faiss HNSW{kind} M={m} efC={ef_construction}"

    def build(self, matrix: np.ndarray) -> None:
        faiss = _faiss()
        faiss.omp_set_num_threads(2)
        if self.kind == "Flat":
            index = faiss.IndexHNSWFlat(matrix.shape[1], self.m, faiss.METRIC_INNER_PRODUCT)
        else:
            qtype = {"SQ8": faiss.ScalarQuantizer.QT_8bit, "SQfp16": faiss.ScalarQuantizer.QT_fp16}
            index = faiss.IndexHNSWSQ(
                matrix.shape[1], qtype[self.kind], self.m, faiss.METRIC_INNER_PRODUCT
            )
            index.train(matrix[:: max(1, len(matrix) // 50_000)])
        index.hnsw.efConstruction = self.efc
        index.add(matrix)
        self.index = index
        faiss.omp_set_num_threads(1)

    def search(self, q: np.ndarray, ef: int, allowed: np.ndarray | None) -> np.ndarray:
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = ef
        if allowed is not None:
            self._bits = np.packbits(allowed, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(self._bits))
        _, rows = self.index.search(q[None, :], SHORTLIST, params=params)
        return rows[0]


class Voyager(Candidate):
    def size_mb(self) -> float:
        return len(self.index.as_bytes()) / 2**20

    def __init__(self, storage: str, m: int, ef_construction: int) -> None:
        self.storage, self.m, self.efc = storage, m, ef_construction
        self.name = f"voyager {storage} M={m} efC={ef_construction}"

    def build(self, matrix: np.ndarray) -> None:
        import voyager

        self.index = voyager.Index(
            voyager.Space.InnerProduct,
            num_dimensions=matrix.shape[1],
            M=self.m,
            ef_construction=self.efc,
            storage_data_type=getattr(voyager.StorageDataType, self.storage),
        )
        self.index.add_items(np.array(matrix, dtype=np.float32), num_threads=2)

    def search(self, q: np.ndarray, ef: int, allowed: np.ndarray | None) -> np.ndarray:
        want = SHORTLIST if allowed is None else SHORTLIST * 10
        rows, _ = self.index.query(q, k=want, num_threads=1, query_ef=max(ef, want))
        rows = rows.astype(np.int64)
        if allowed is not None:
            rows = rows[allowed[rows]]
        return rows


def _time_raw(matrix: np.ndarray, queries: np.ndarray) -> list[float]:
    for q in queries[:5]:
        np.argpartition(-(matrix @ q), K)
    out = []
    for q in queries:
        start = time.perf_counter()
        np.argpartition(-(matrix @ q), K)[:K]
        out.append(time.perf_counter() - start)
    return out


def trial(
    candidate: Candidate,
    matrix: np.ndarray,
    queries: np.ndarray,
    allowed: np.ndarray,
    efs: list[int],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Build, then p50/p95 and recall@10 per search depth, plain and filtered."""
    before = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    candidate.build(matrix)
    build_s = time.perf_counter() - start
    build_cpu_s = time.process_time() - cpu
    out: dict[str, Any] = {
        "candidate": candidate.name,
        "build_s": round(build_s, 1),
        # The host is shared: CPU seconds over its cores is what an idle 2-core build takes.
        "build_cpu_s": round(build_cpu_s, 1),
        "build_load": _load(build_s),
        "index_rss_mb": round(_rss_mb() - before),
        "index_mb": round(candidate.size_mb(), 1),
        "depths": [],
    }
    log(
        f"{candidate.name}: built in {build_s:.1f} s ({build_cpu_s:.0f} CPU s),"
        f" +{out['index_rss_mb']} MB"
    )
    exact = [set(_exact_top(matrix, q, None).tolist()) for q in queries]
    exact_f = [set(_exact_top(matrix, q, allowed).tolist()) for q in queries]
    for ef in efs:
        row: dict[str, Any] = {"ef": ef}
        for label, mask, truth in (("", None, exact), ("filtered_", allowed, exact_f)):
            for q in queries[:5]:
                candidate.search(q, ef, mask)
            times, recall = [], []
            for q, want in zip(queries, truth, strict=True):
                start = time.perf_counter()
                got = _rescore(matrix, q, candidate.search(q, ef, mask))
                times.append(time.perf_counter() - start)
                if mask is not None:
                    assert mask[got].all()
                recall.append(len(want & set(got.tolist())) / K)
            row[f"{label}p50_ms"] = _ms(times, 50)
            row[f"{label}p95_ms"] = _ms(times, 95)
            row[f"{label}recall_at_10"] = round(float(np.mean(recall)), 4)
        raw = _time_raw(matrix, queries)
        row["raw_matmul_p95_ms"] = _ms(raw, 95)
        row["load_average"] = _load(0)
        log(f"  {row}")
        out["depths"].append(row)
    del candidate.index  # type: ignore[attr-defined]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--only", default="", help="substring of the candidates to run")
    parser.add_argument("--efs", default="64,128,256,512")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--into-perf", action="store_true", help="also store the report as perf.json's ann_trials"
    )
    parser.add_argument("--m", type=int, default=16, help="HNSW links per node")
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--data", choices=("reallike", "random"), default="reallike")
    parser.add_argument("--real-db", type=Path, help="an index with real MiniLM vectors")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.data == "random":
        folder = DEFAULT_WORKDIR / f"synthetic-{args.passages}.db.vectors"
        (gen,) = [p for p in folder.iterdir() if p.name.startswith("g")]
        matrix = np.ascontiguousarray(np.load(gen / "matrix.npy"))
        queries = SyntheticCorpus(len(matrix), DIM).query_vectors(max(args.queries, len(QUERIES)))
    else:
        mapped, queries = load_real_like(DEFAULT_WORKDIR, args.passages, args.real_db)
        matrix = np.ascontiguousarray(mapped)
    queries = queries[: args.queries]
    # ~10% of documents allowed: documents are runs of PASSAGES_PER_DOCUMENT rows.
    docs = np.arange(len(matrix)) // PASSAGES_PER_DOCUMENT
    allowed = np.random.default_rng(7).random(docs.max() + 1) < 0.1
    allowed = allowed[docs]
    m, efc = args.m, args.ef_construction
    # 8-bit storage for all three: float32 graphs would not fit the 1.2 GB at 1M.
    candidates: list[Candidate] = [
        Faiss("SQ8", m, efc),
        Usearch("i8", m, efc),
        Voyager("E4M3", m, efc),
    ]
    facts = machine_facts()
    results = []
    efs = [int(x) for x in args.efs.split(",")]
    for candidate in candidates:
        if args.only and args.only not in candidate.name:
            continue
        results.append(trial(candidate, matrix, queries, allowed, efs, log))
    report = {
        "benchmark": "ann",
        "passages": len(matrix),
        "data": args.data,
        "queries": len(queries),
        "allowed_share": round(float(allowed.mean()), 3),
        "machine": facts,
        "results": results,
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    if args.into_perf:
        from benchmarks.perf import RESULTS

        perf = json.loads(RESULTS.read_text(encoding="utf-8"))
        perf["ann_trials"] = report
        RESULTS.write_text(json.dumps(perf, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
