"""Collections: how long a server waits from `/corpus add` of a PDF to its first brief, and
whether briefs in a server (a large shared collection, a small own one) are as fast as before.

``python -m benchmarks.corpus_add [--passages N] [--pages N] [--fake]`` writes
``benchmarks/results/corpus_add.json``.

1. **Add to first brief**: the seeds are the shared collection; a generated PDF of ``--pages``
   pages of invented prose is added to ``guild:1`` exactly as ``/corpus add`` does
   (``index.collections.add_reading``: staged, read, encoded, one transaction), then the first
   brief on its suggested topic is made in that server's scope. The real model unless
   ``--fake``.
2. **Scoped search**: ``--passages`` synthetic passages (``benchmarks.synthetic``, random unit
   vectors) are the shared collection and 200 more a server's own; the brief's search
   (``Library.search``, 60 candidates, both arms and windows) is timed over the same queries
   unscoped, as today, and scoped to ``{shared, guild:1}``, as a server now runs it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.bulk import bulk_load
from benchmarks.synthetic import QUERIES, SyntheticCorpus
from index.embedding import Embedder, FakeEmbedder, make_embedder
from index.models import SHARED, guild_collection

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "corpus_add.json"
SERVER = guild_collection(1)
ROUNDS = 3  # each query is timed this many times; the median counts
PER_PAGE = 10  # passages of about 60 words: some 600 words a page, as a dense report has


def generated_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` pages of invented prose about tidal power (fpdf2, Helvetica)."""
    from fpdf import FPDF

    corpus = SyntheticCorpus(pages * PER_PAGE, seed=11)
    texts = corpus.passage_texts()
    pdf = FPDF()
    pdf.set_title("Tidal power in the Severn estuary: a study guide")
    pdf.set_author("A. N. Author")
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        if page == 0:
            pdf.set_font("Helvetica", "B", size=16)
            pdf.multi_cell(
                0,
                8,
                "Tidal power in the Severn estuary: a study guide",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_font("Helvetica", size=11)
        for text in texts[page * PER_PAGE : (page + 1) * PER_PAGE]:
            line = text.encode("latin-1", "replace").decode("latin-1")
            pdf.multi_cell(0, 5.5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    return bytes(pdf.output())


def add_to_first_brief(embedder: Embedder, pages: int, workdir: Path) -> dict[str, Any]:
    from bot.corpus_embeds import suggested_topic
    from briefings.brief import make_brief
    from index.collections import add_reading
    from index.library import Library
    from index.pipeline import Indexer
    from index.store import Store

    store = Store(workdir / "add.db")
    Indexer(store, embedder).run([ROOT / "seeds"])
    embedder.encode_queries(["warm up"])  # the bot loads the model before going online
    data = generated_pdf(pages)
    started = time.perf_counter()
    added = add_reading(store, embedder, workdir / "data", SERVER, "severn-guide.pdf", data)
    indexed = time.perf_counter()
    library = Library(store, embedder).within({SHARED, SERVER})
    topic = suggested_topic(added.title)
    brief = make_brief(library, topic, k=5)
    done = time.perf_counter()
    return {
        "pdf_pages": pages,
        "pdf_bytes": len(data),
        "passages": added.passages,
        "add_s": round(indexed - started, 2),
        "first_brief_s": round(done - indexed, 3),
        "add_to_first_brief_s": round(done - started, 2),
        "brief_topic": topic,
        "brief_quotes_from_the_pdf": sum(q.doc_id.startswith(SERVER) for q in brief.quotes),
    }


def scoped_search(passages: int, workdir: Path) -> dict[str, Any]:
    from index.library import Library
    from index.store import Store

    embedder = FakeEmbedder()
    store = Store(workdir / "scale.db")
    store.check_model(embedder.name, embedder.dim, claim=True)
    started = time.perf_counter()
    SyntheticCorpus(passages, embedder.dim).load_into(store)
    own = SyntheticCorpus(200, embedder.dim, seed=21)
    for documents, rows in own.batches():
        bulk_load(
            store,
            [
                (replace(d, doc_id=f"{SERVER}/{d.doc_id}", collection=SERVER), h)
                for d, h in documents
            ],
            [replace(p, doc_id=f"{SERVER}/{p.doc_id}") for p in rows],
        )
    load_s = time.perf_counter() - started
    library = Library(store, embedder)
    library.refresh()
    scoped = library.within({SHARED, SERVER})
    vectors = embedder.encode_queries(list(QUERIES))

    def timed(view: Library) -> list[float]:
        times = []
        for query, vector in zip(QUERIES, vectors, strict=True):
            rounds = []
            for _ in range(ROUNDS):
                t = time.perf_counter()
                view.search(query, k=60, query_vector=vector)
                rounds.append(time.perf_counter() - t)
            times.append(statistics.median(rounds))
        return times

    timed(scoped)  # first use builds the scope's mask (once per index generation)
    unscoped_ms = [t * 1000 for t in timed(library)]
    scoped_ms = [t * 1000 for t in timed(scoped)]
    own_hits = sum(
        h.document.collection == SERVER
        for query, vector in zip(QUERIES, vectors, strict=True)
        for h in scoped.search(query, k=60, query_vector=vector)
    )
    return {
        "shared_passages": passages,
        "own_passages": 200,
        "bulk_load_s": round(load_s, 1),
        "queries": len(QUERIES),
        "search_unscoped_median_ms": round(statistics.median(unscoped_ms), 2),
        "search_scoped_median_ms": round(statistics.median(scoped_ms), 2),
        "search_unscoped_p90_ms": round(sorted(unscoped_ms)[int(0.9 * len(unscoped_ms))], 2),
        "search_scoped_p90_ms": round(sorted(scoped_ms)[int(0.9 * len(scoped_ms))], 2),
        "scoped_hits_from_the_servers_own": own_hits,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000, help="shared passages")
    parser.add_argument("--pages", type=int, default=30, help="pages of the added PDF")
    parser.add_argument("--fake", action="store_true", help="the fake embedder (no model)")
    args = parser.parse_args(argv)
    embedder: Embedder = FakeEmbedder() if args.fake else make_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "embedder": embedder.name,
            "add_to_first_brief": add_to_first_brief(embedder, args.pages, Path(tmp)),
            "scoped_search": scoped_search(args.passages, Path(tmp)),
        }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
