"""Files → ``Document``s: folder discovery, text/markdown/HTML pages and JSONL corpora."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.cleaning import clean_page, normalise_date
from index.errors import IngestError
from index.models import Document

__all__ = ["SUFFIXES", "clean_page", "discover_files", "read_file"]

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"})
HTML_SUFFIXES = frozenset({".html", ".htm"})

Embed = Callable[[list[str]], np.ndarray]


def discover_files(paths: Sequence[Path | str]) -> tuple[list[Path], list[str]]:
    """The files to ingest under ``paths``, and a warning for each path that does not exist.

    Folders are walked recursively in sorted order, skipping hidden files and folders and
    keeping only known suffixes; a file named explicitly is taken whatever its suffix.
    """
    files: list[Path] = []
    warnings: list[str] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for given in paths:
        path = Path(given)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path).parts
                if any(part.startswith(".") for part in relative):
                    continue
                if found.is_file() and found.suffix.lower() in SUFFIXES:
                    add(found)
        elif path.is_file():
            add(path)
        else:
            warnings.append(f"{path}: no such file or folder")
    return files, warnings


def read_file(
    path: Path, *, source_id: str | None = None, embed: Embed | None = None
) -> list[Document]:
    """One file → its documents; raises ``IngestError`` naming the file when it has none.

    ``source_id`` defaults to the file name. ``embed`` enables the off-topic line filter for
    scraped pages (JSONL text is kept as given).
    """
    path = Path(path)
    text = _read_text(path)
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path, text)
    source = source_id or path.name
    is_html = path.suffix.lower() in HTML_SUFFIXES or _looks_like_html(text)
    documents = clean_page(text, source_id=source, path=str(path), is_html=is_html, embed=embed)
    if not documents:
        raise IngestError(f"{path.name}: no article text left after cleaning")
    return documents


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read file ({exc.strerror or exc})") from exc
    if b"\x00" in data:
        raise IngestError(f"{path.name}: binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path.name}: not UTF-8 text (undecodable byte at offset {exc.start})"
        ) from exc
    if not text.strip():
        raise IngestError(f"{path.name}: empty file")
    return text


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html"))


def jsonl_objects(
    text: str, name: str, expected: str = "a JSON object"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``NAME line N``, object) for each non-blank line; IngestError naming a bad line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise IngestError(f"{where}: expected {expected}, got {type(record).__name__}")
        yield where, record


def _read_jsonl(path: Path, text: str) -> list[Document]:
    documents = [
        _document_from_record(record, where=where, path=path)
        for where, record in jsonl_objects(text, path.name)
    ]
    if not documents:
        raise IngestError(f"{path.name}: no records")
    return documents


def _document_from_record(record: dict[str, Any], *, where: str, path: Path) -> Document:
    raw_id = record.get("id", record.get("_id"))
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise IngestError(f"{where}: missing 'id' (or '_id')")
    if not isinstance(raw_id, str | int):
        raise IngestError(f"{where}: 'id' must be a string or number")
    doc_id = str(raw_id).strip()
    body = record.get("text")
    if not isinstance(body, str) or not body.strip():
        raise IngestError(f"{where}: missing or empty 'text'")
    published_raw = _optional_str(record, "published", where)
    published = normalise_date(published_raw)
    if published_raw and not published:
        log.warning("%s: unrecognised date %r ignored", where, published_raw)
    return Document(
        doc_id=doc_id,
        source_id=doc_id,
        text=body.strip(),
        title=_optional_str(record, "title", where) or "",
        authors=_authors(record, where),
        published=published,
        url=_optional_str(record, "url", where),
        site=_optional_str(record, "site", where),
        path=str(path),
    )


def _optional_str(record: dict[str, Any], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise IngestError(f"{where}: '{key}' must be a string")
    return value.strip() or None


def _authors(record: dict[str, Any], where: str) -> tuple[str, ...]:
    value = record.get("authors", record.get("author"))
    if value is None:
        return ()
    if isinstance(value, str):
        names = [part for chunk in value.split(";") for part in chunk.split(" & ")]
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        names = value
    else:
        raise IngestError(f"{where}: 'authors' must be a string or a list of strings")
    return tuple(name.strip() for name in names if name.strip())
