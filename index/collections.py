"""Collections a server manages itself: add a reading (a file's bytes), remove one, recover.

A collection's files live in a folder of the data directory (``guild:42`` → ``DATA/guild-42``),
so the periodic re-scan indexes them again with their collection. A reading is written to a
staging folder first and moved into its collection's folder only once its documents are
committed: a process killed in the middle of an add leaves the collection exactly as it was
(:func:`recover` tidies what the kill left), and the same reading can simply be added again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index import ingest
from index.embedding import Embedder
from index.errors import InputError, NotFound
from index.models import SHARED, Document
from index.pipeline import Indexer, IndexReport
from index.store import Store

log = logging.getLogger(__name__)

# What /corpus add takes (the indexer reads more, e.g. .markdown and .htm: those too).
ADD_SUFFIXES = frozenset({".txt", ".md", ".html", ".pdf", ".jsonl"}) | ingest.SUFFIXES
STAGING = ".staging"
_FOLDER = re.compile(r"^guild-(\d+)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Added:
    """What an add did: the reading's documents, and whether they were there already."""

    documents: tuple[Document, ...]
    passages: int
    already: bool = False

    @property
    def title(self) -> str:
        return self.documents[0].display_title if self.documents else ""


def folder_name(collection: str) -> str:
    """``guild:42`` → ``guild-42`` (a file name on every system)."""
    return collection.replace(":", "-")


def collection_folders(data_dir: str | Path) -> Iterator[tuple[str, Path]]:
    """(collection, folder) of every server collection that has a folder under ``data_dir``."""
    root = Path(data_dir)
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        match = _FOLDER.match(folder.name)
        if match and folder.is_dir():
            yield f"guild:{match.group(1)}", folder


def safe_filename(name: str, suffix: str | None = None) -> str:
    """A plain file name from what a user or a URL called the reading."""
    base = Path(name.replace("\\", "/")).name.strip() or "reading"
    stem, ext = os.path.splitext(base)
    ext = (suffix or ext).lower()
    stem = _UNSAFE.sub("-", stem).strip(" .-")[:80] or "reading"
    return f"{stem}{ext}"


def check_reading_name(filename: str) -> str:
    """The plain name a reading is kept under; InputError when briefbot cannot read its type."""
    name = safe_filename(filename)
    if Path(name).suffix not in ADD_SUFFIXES:
        raise InputError(
            f"{filename!r} is not a reading I can take: "
            "send a .txt, .md, .html, .pdf or .jsonl file"
        )
    return name


def _free_name(folder: Path, name: str, taken: set[str]) -> Path:
    stem, ext = os.path.splitext(name)
    candidate, n = folder / name, 1
    while candidate.exists() or str(candidate.resolve()) in taken:
        n += 1
        candidate = folder / f"{stem}-{n}{ext}"
    return candidate


def add_reading(
    store: Store,
    embedder: Embedder,
    data_dir: str | Path,
    collection: str,
    filename: str,
    data: bytes,
    *,
    user_id: int | None = None,
    url: str | None = None,
    progress: Progress | None = None,
) -> Added:
    """Index one reading into ``collection`` and keep its file; one transaction for the index.

    A reading whose bytes, or whose every document, the collection already holds is not added
    again (``Added.already``). Unreadable input is an ``InputError`` saying why.
    """
    if collection == SHARED:
        raise InputError("the shared collection is the operator's: index it with `briefbot index`")
    report = progress or (lambda _stage: None)
    name = check_reading_name(filename)
    existing = store.file_documents(collection, hashlib.sha256(data).hexdigest())
    if existing:
        return Added(tuple(existing), _passages(store, existing), already=True)
    folder = Path(data_dir) / folder_name(collection)
    staging = Path(data_dir) / STAGING / folder_name(collection)
    folder.mkdir(parents=True, exist_ok=True)
    staging.mkdir(parents=True, exist_ok=True)
    final = _free_name(folder, name, set(store.file_paths(collection)))
    staged = staging / final.name
    staged.write_bytes(data)
    try:
        report("reading")
        indexer = Indexer(store, embedder, early_writes=False)
        run = IndexReport()
        job = indexer.plan_file(staged, stored_as=final, collection=collection, report=run, url=url)
        if job is None or not job.documents:
            reason = run.skipped[0][1] if run.skipped else "no text in it"
            raise InputError(f"I could not read {name}: {reason}")
        same = store.documents_with_texts(collection, [d.text for d, _ in job.documents])
        if len({d.text for d in same}) >= len({d.text for d, _ in job.documents}):
            return Added(tuple(same), _passages(store, same), already=True)
        report(f"indexing {len(job.passages)} passages")
        indexer.write_jobs([job], run)
        os.replace(staged, final)  # the index holds it now: so does the folder
    finally:
        staged.unlink(missing_ok=True)
    documents = tuple(doc for doc, _ in job.documents)
    store.record_event(
        collection,
        "add",
        user_id,
        documents[0].display_title,
        [d.doc_id for d in documents],
        detail=url or filename,
    )
    log.info("added %s to %s: %d documents", final.name, collection, len(documents))
    return Added(documents, len(job.passages))


def _passages(store: Store, documents: list[Document]) -> int:
    counts = store.passage_counts()
    return sum(counts.get(d.doc_id, 0) for d in documents)


def remove_documents(
    store: Store,
    data_dir: str | Path,
    collection: str,
    doc_ids: list[str],
    *,
    user_id: int | None = None,
) -> list[Document]:
    """Remove documents from ``collection`` (a file left with none is deleted too)."""
    documents = [store.document(doc_id) for doc_id in doc_ids]
    found = [d for d in documents if d is not None and d.collection == collection]
    if not found or len(found) != len(doc_ids):
        missing = next(i for i, d in zip(doc_ids, documents, strict=True) if d not in found)
        raise NotFound(f"no document {missing!r} in this server's corpus")
    folder = (Path(data_dir) / folder_name(collection)).resolve()
    for path in store.delete_documents([d.doc_id for d in found]):
        if Path(path).resolve().parent == folder:  # never a file outside the collection's folder
            Path(path).unlink(missing_ok=True)
    store.record_event(
        collection,
        "remove",
        user_id,
        found[0].display_title,
        [d.doc_id for d in found],
        detail=found[0].source_id,
    )
    return found


def recover(store: Store, data_dir: str | Path) -> int:
    """Tidy what a killed add left in the staging folders; returns how many files it handled.

    A staged file whose documents were committed is moved into place; any other is deleted
    (its add never happened).
    """
    handled = 0
    staging_root = Path(data_dir) / STAGING
    if not staging_root.is_dir():
        return 0
    indexed = set(store.file_paths())
    for staged in sorted(p for p in staging_root.glob("*/*") if p.is_file()):
        final = Path(data_dir) / staged.parent.name / staged.name
        if str(final.resolve()) in indexed and not final.exists():
            os.replace(staged, final)
            log.info("recovered %s: its documents were committed before a restart", final)
        else:
            staged.unlink()
            log.info("dropped %s: an add interrupted before it was committed", staged)
        handled += 1
    return handled
