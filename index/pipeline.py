"""`briefbot index`: files → clean documents → passages → vectors → the store, incrementally."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np
from tqdm import tqdm

from index import ingest
from index.chunking import chunk_text
from index.cleaning.repetition import SiteRepetition
from index.embedding import Embedder
from index.errors import BriefbotError
from index.models import SHARED, Document
from index.store import NewPassage, Store

log = logging.getLogger(__name__)

ENCODE_CHUNK = 1024  # passages encoded per call; files are written as soon as theirs are done
CLAIM_ROUND = 16  # files a worker claims at a time when several share the database
EARLY_WRITE = 2048  # a large file's finished documents are stored once this many passages wait


def content_hash(doc: Document) -> str:
    """Changes whenever anything stored about the document changes."""
    fields: list[object] = [
        doc.source_id,
        doc.title,
        list(doc.authors),
        doc.published,
        doc.url,
        doc.site,
        doc.text,
    ]
    if doc.page_starts:  # only PDFs have pages: other documents keep the hashes they had
        fields.append(list(doc.page_starts))
    payload = json.dumps(fields, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def in_collection(doc: Document, collection: str) -> Document:
    """The document as ``collection`` holds it: the shared collection keeps the ids it always
    had (old indexes stay valid); another prefixes them, so the same reading in two collections
    is two documents."""
    if collection == SHARED:
        return doc if doc.collection == SHARED else replace(doc, collection=SHARED)
    return replace(doc, doc_id=f"{collection}/{doc.doc_id}", collection=collection)


def embedding_input(doc: Document, passage_text: str) -> str:
    """What the model sees for a passage: the passage, in the light of its document's title."""
    return f"{doc.title}. {passage_text}" if doc.title else passage_text


@dataclass
class IndexReport:
    """What one run did."""

    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_pruned: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # indexed, with a caveat
    documents_written: int = 0
    passages_encoded: int = 0
    passages_reused: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """False when nothing at all could be indexed."""
        return self.files_indexed + self.files_unchanged > 0 or self.files_seen == 0

    def summary(self) -> str:
        parts = [
            f"{self.files_indexed} file(s) indexed",
            f"{self.files_unchanged} unchanged",
            f"{len(self.skipped)} skipped",
            *([f"{len(self.warnings)} warning(s)"] if self.warnings else []),
            f"{self.documents_written} document(s) written",
            f"{self.passages_encoded} passage(s) encoded",
            f"{self.passages_reused} reused",
        ]
        if self.files_pruned:
            parts.append(f"{self.files_pruned} file(s) pruned")
        return ", ".join(parts) + f" in {self.seconds:.1f}s"


def encoding_bar(total: int, stream: TextIO | None = None) -> tqdm:
    """tqdm's bar (counts, rate, ETA) on a terminal; quiet when the stream is not one."""
    stream = stream if stream is not None else sys.stderr
    return tqdm(
        total=total, desc="encoding", unit=" passages", file=stream, mininterval=0.2,
        disable=total == 0 or not stream.isatty(), dynamic_ncols=True,
    )  # fmt: skip


@dataclass
class _FileJob:
    path: str
    sha256: str
    size: int
    documents: list[tuple[Document, str]]
    passages: list[tuple[str, int, int, int, str]]  # doc_id, ord, start, end, text
    vectors: list[np.ndarray | None]
    to_encode: list[int]  # positions in ``passages`` still without a vector
    written: set[str] = field(default_factory=set)  # documents already stored ahead of the file
    collection: str = SHARED

    def finished_documents(self) -> tuple[list[tuple[Document, str]], list[NewPassage]]:
        """Documents not yet stored whose passages all have vectors, with those passages."""
        ready: dict[str, list[NewPassage]] = {}
        blocked: set[str] = set()
        for (doc_id, ord_, start, end, text), vector in zip(
            self.passages, self.vectors, strict=True
        ):
            if doc_id in self.written:
                continue
            if vector is None:
                blocked.add(doc_id)
            else:
                ready.setdefault(doc_id, []).append(
                    NewPassage(doc_id, ord_, start, end, text, vector)
                )
        documents = [
            (d, h) for d, h in self.documents if d.doc_id in ready and d.doc_id not in blocked
        ]
        passages = [p for d, _ in documents for p in ready[d.doc_id]]
        return documents, passages


class Indexer:
    """Brings a store up to date with a set of files and folders."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        batch_size: int | None = None,
        progress_stream: TextIO | None = None,
        limits: ingest.Limits = ingest.DEFAULT_LIMITS,
        early_writes: bool = True,
    ) -> None:
        self.store = store
        # Off for one reading added at a time: all of it lands in one transaction or none.
        self.early_writes = early_writes
        self.limits = limits
        self.embedder = embedder
        self.batch_size = batch_size or (256 if getattr(embedder, "device", "cpu") != "cpu" else 32)
        self.progress_stream = progress_stream
        self._vector_cache: dict[str, np.ndarray] = {}
        self._files: list[Path] = []
        self._repetition: SiteRepetition | None = None

    def _embed_for_cleaning(self, texts: list[str]) -> np.ndarray:
        """Vectors for the cleaner's relatedness check, cached for reuse as passage vectors.

        A page has only a handful (a sample of long paragraphs and the short lines in doubt) of
        very different lengths: encoded one by one through the query path, none is padded to the
        longest, which makes the check ~2x cheaper than one padded batch.
        """
        todo = [t for t in dict.fromkeys(texts) if t not in self._vector_cache]
        for text in todo:
            self._vector_cache[text] = self.embedder.encode_queries([text])[0]
        if not texts:
            return np.zeros((0, self.embedder.dim), np.float32)
        return np.vstack([self._vector_cache[t] for t in texts])

    def run(
        self,
        paths: Sequence[str | Path],
        *,
        prune: bool = False,
        rebuild: bool = False,
        collection: str = SHARED,
    ) -> IndexReport:
        """Index ``paths`` into ``collection``; ``prune`` forgets that collection's files that
        are gone (never another collection's)."""
        started = time.monotonic()
        report = IndexReport()
        if rebuild:
            self.store.clear()
        self.store.check_model(self.embedder.name, self.embedder.dim, claim=True)
        files, warnings = ingest.discover_files(list(paths))
        self._files, self._repetition = files, None
        for warning in warnings:
            report.skipped.append(("", warning))
            log.warning("%s", warning)
        report.files_seen = len(files)
        # Workers sharing one database (PostgreSQL) each claim a few files at a time, so a
        # big corpus indexes on N machines; files another worker holds are waited for at the
        # end and left alone if it indexed them. A SQLite index has one writer: one round.
        rounds = CLAIM_ROUND if self.store.shared_writers else max(1, len(files))
        elsewhere: list[Path] = []
        for first in range(0, len(files), rounds):
            elsewhere += self._index_claimed(files[first : first + rounds], report, collection)
        for path in elsewhere:
            self._index_claimed([path], report, collection, wait=True)
        if prune:
            for stored in self.store.file_paths(collection):
                if not Path(stored).exists():
                    gone = self.store.delete_file(stored)
                    report.files_pruned += 1
                    log.info("pruned %s (%d documents): the file is gone", stored, gone)
        report.seconds = time.monotonic() - started
        return report

    def _index_claimed(
        self, files: list[Path], report: IndexReport, collection: str, *, wait: bool = False
    ) -> list[Path]:
        """Index those of ``files`` this worker can claim; returns the ones it could not."""
        claimed, elsewhere, jobs = [], [], []
        try:
            for path in files:
                key = str(path.resolve())
                if not self.store.claim_file(key, wait=wait):
                    elsewhere.append(path)
                    continue
                claimed.append(key)
                job = self._plan(path, report, collection)  # its hash is read after the claim
                if job is not None:
                    jobs.append(job)
            self._encode_and_write(jobs, report)
        finally:
            for key in claimed:
                self.store.release_file(key)
        return elsewhere

    def plan_file(
        self,
        path: Path,
        *,
        stored_as: Path,
        collection: str,
        report: IndexReport,
        url: str | None = None,
    ) -> _FileJob | None:
        """Read one file for ``collection`` as if it lay at ``stored_as`` (a reading staged
        elsewhere until its documents are committed); None when it cannot be read. ``url``,
        where it was fetched from, is its documents' link unless they declare one."""
        self._files, self._repetition = [path], None
        return self._plan(path, report, collection, key=str(stored_as.resolve()), url=url)

    def write_jobs(self, jobs: list[_FileJob], report: IndexReport) -> None:
        """Encode and store planned files (each in its own transaction)."""
        self._encode_and_write(jobs, report)

    def _plan(
        self,
        path: Path,
        report: IndexReport,
        collection: str = SHARED,
        key: str | None = None,
        url: str | None = None,
    ) -> _FileJob | None:
        key = key or str(path.resolve())
        try:
            ingest.check_size(path, path.stat().st_size, self.limits)  # before reading it
            data = path.read_bytes()
        except BriefbotError as exc:
            report.skipped.append((str(path), str(exc)))
            log.warning("skipped %s", exc)
            return None
        except OSError as exc:
            report.skipped.append((str(path), f"cannot read: {exc.strerror or exc}"))
            log.warning("skipped %s: cannot read it (%s)", path, exc)
            return None
        sha = hashlib.sha256(data).hexdigest()
        if self.store.file_hash(key) == sha:
            report.files_unchanged += 1
            return None
        notes: list[str] = []
        try:
            documents = ingest.read_file(
                path,
                embed=self._embed_for_cleaning,
                warn=notes.append,
                site_furniture=self._site_furniture(path),
                limits=self.limits,
            )
        except BriefbotError as exc:
            report.skipped.append((str(path), str(exc)))
            log.warning("skipped %s", exc)
            return None
        for note in notes:
            report.warnings.append((str(path), note))
            log.warning("%s", note)
        documents = [
            in_collection(doc if doc.url or not url else replace(doc, url=url), collection)
            for doc in documents
        ]
        old_hashes = self.store.document_hashes(key)
        hashed = [(doc, content_hash(doc)) for doc in documents]
        changed = [doc for doc, h in hashed if old_hashes.get(doc.doc_id) != h]
        reusable = self.store.existing_passages(doc.doc_id for doc in changed)
        job = _FileJob(key, sha, len(data), hashed, [], [], [], collection=collection)
        for doc in changed:
            for ord_, span in enumerate(chunk_text(doc.text)):
                text = doc.text[span.start : span.end]
                job.passages.append((doc.doc_id, ord_, span.start, span.end, text))
                vector = reusable.get((doc.doc_id, text))
                if vector is None:
                    vector = self._vector_cache.get(embedding_input(doc, text))
                if vector is None:
                    job.to_encode.append(len(job.vectors))
                else:
                    report.passages_reused += 1
                job.vectors.append(vector)
        return job

    def _site_furniture(self, path: Path) -> frozenset[str]:
        """Lines ``path``'s site repeats across its pages (the corpus is read once, when needed)."""
        # The whole corpus is in view: lines a site repeats on its pages are its furniture. A run
        # in which no file changed never reads it.
        if self._repetition is None:
            self._repetition = ingest.site_repetition(self._files, self.limits)
        return self._repetition.lines_for(path)

    def _encode_and_write(self, jobs: list[_FileJob], report: IndexReport) -> None:
        docs_by_id = {doc.doc_id: doc for job in jobs for doc, _ in job.documents}
        queue = [(j, pos) for j, job in enumerate(jobs) for pos in job.to_encode]
        remaining = [len(job.to_encode) for job in jobs]
        with encoding_bar(len(queue), self.progress_stream) as bar:
            self._encode_queue(jobs, queue, remaining, docs_by_id, bar.update, report)

    def _encode_queue(
        self,
        jobs: list[_FileJob],
        queue: list[tuple[int, int]],
        remaining: list[int],
        docs_by_id: dict[str, Document],
        progress: Callable[[int], None],
        report: IndexReport,
    ) -> None:
        written = 0

        def write_ready() -> None:
            # Files are written in order, each as soon as all its passages have vectors.
            nonlocal written
            while written < len(jobs) and remaining[written] == 0:
                self._write(jobs[written], report)
                written += 1

        write_ready()
        for start in range(0, len(queue), ENCODE_CHUNK):
            chunk = queue[start : start + ENCODE_CHUNK]
            texts = []
            for j, pos in chunk:
                doc_id, _, _, _, text = jobs[j].passages[pos]
                texts.append(embedding_input(docs_by_id[doc_id], text))
            vectors = self.embedder.encode_passages(
                texts, batch_size=self.batch_size, progress=progress
            )
            for (j, pos), vector in zip(chunk, vectors, strict=True):
                jobs[j].vectors[pos] = vector
                remaining[j] -= 1
            report.passages_encoded += len(chunk)
            write_ready()
            if written < len(jobs):
                self._write_early(jobs[written])

    def _write_early(self, job: _FileJob) -> None:
        """Store a large file's finished documents now, so an interruption keeps them."""
        if not self.early_writes:
            return
        documents, passages = job.finished_documents()
        if len(passages) >= EARLY_WRITE:
            self.store.write_documents(job.path, documents, passages)
            job.written.update(d.doc_id for d, _ in documents)

    def _write(self, job: _FileJob, report: IndexReport) -> None:
        _, passages = job.finished_documents()
        self.store.replace_file(
            job.path, job.sha256, job.size, job.documents, passages, job.collection
        )
        report.files_indexed += 1
        report.documents_written += len({p.doc_id for p in passages} | job.written)
        log.info(
            "indexed %s: %d documents, %d new passages", job.path, len(job.documents), len(passages)
        )
