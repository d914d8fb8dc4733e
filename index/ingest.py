"""Files → ``Document``s: folder discovery, text/markdown/HTML pages and JSONL corpora."""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import charset_normalizer
import numpy as np

from index.cleaning import clean_page, normalise_date
from index.cleaning.repetition import TEXT_SUFFIXES, SiteRepetition
from index.errors import IngestError
from index.limits import DEFAULT_LIMITS, MB, Limits
from index.models import Document
from index.pdf import is_pdf, read_pdf_file

__all__ = ["DEFAULT_LIMITS", "SUFFIXES", "Limits", "check_size", "clean_page", "discover_files",
           "read_file"]  # fmt: skip

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"})
HTML_SUFFIXES = frozenset({".html", ".htm"})

Embed = Callable[[list[str]], np.ndarray]
Warn = Callable[[str], None]

# Byte-order marks that settle a file's encoding; UTF-32's come first as they extend UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
# The legacy encodings a file that is not UTF-8 is matched against: the common Windows, ISO
# and East Asian code pages, not the long tail (Mac Roman, HP Roman-8, ...) that Western text
# is often misread as.
_LEGACY_ENCODINGS = [
    "cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r",
    "koi8_u", "iso8859_5", "cp1253", "iso8859_7", "cp1254", "iso8859_9", "cp1255", "iso8859_8",
    "cp1256", "cp1257", "cp1258", "cp874", "cp932", "euc_jp", "gb18030", "big5", "cp949",
]  # fmt: skip
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte under "surrogateescape"
_UTF8_MULTIBYTE = re.compile("[^\x00-\x7f\udc80-\udcff]")


def _megabytes(size: int) -> str:
    return f"{size / MB:,.0f} MB" if size >= 10 * MB else f"{size / MB:,.1f} MB"


def check_size(path: Path, size: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """``IngestError`` when a file of ``size`` bytes is over its limit (checked before reading)."""
    jsonl = path.suffix.lower() == ".jsonl"
    limit = limits.max_jsonl_mb if jsonl else limits.max_file_mb
    if size > limit * MB:
        what = "JSONL " if jsonl else ""
        raise IngestError(
            f"{path.name}: {_megabytes(size)}, over the {limit:g} MB {what}file limit"
        )


# An inline image (``src="data:image/png;base64,..."``) is bytes, not text: dropped before the
# page is measured or parsed, so a page carrying a huge one costs what its text costs.
_DATA_URI = re.compile(r"""(["'(])\s*data:[^"')]{256,}""", re.IGNORECASE)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)([^>]*)>|<!--")
_RAW_TEXT_TAGS = frozenset({"script", "style", "textarea"})  # their text holds no elements
# Elements that never hold others, or that HTML closes implicitly when a sibling opens (an
# unclosed <p> or <li> is not nesting): not counted as depth.
_FLAT_TAGS = frozenset(
    "area base br col embed hr img input link meta source track wbr p li dt dd tr td th "
    "option".split()
)


def html_depth(text: str, stop_at: int) -> int:
    """How deeply ``text``'s elements nest, counted up to ``stop_at`` (one tag scan, no parse)."""
    lowered = text.lower()
    open_tags: list[str] = []
    deepest = pos = 0
    while (match := _TAG.search(text, pos)) is not None:
        pos = match.end()
        if match.group(0) == "<!--":
            pos = lowered.find("-->", pos)
        else:
            closing, name, rest = match.group(1), match.group(2).lower(), match.group(3)
            if name in _RAW_TEXT_TAGS and not closing:
                pos = lowered.find(f"</{name}", pos)
            elif name in _FLAT_TAGS or rest.rstrip().endswith("/"):
                continue
            elif not closing:
                open_tags.append(name)
                deepest = max(deepest, len(open_tags))
                if deepest >= stop_at:
                    break
            elif name in open_tags:
                # A close tag closes everything opened inside its element, as a browser does.
                del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name) :]
        if pos < 0:
            break
    return deepest


def _check_html(name: str, text: str, limits: Limits) -> str:
    """The page without its inline images, or ``IngestError`` when it is over an HTML limit."""
    text = _DATA_URI.sub(r"\1", text)
    size = len(text.encode("utf-8", errors="surrogateescape"))
    if size > limits.max_html_mb * MB:
        raise IngestError(
            f"{name}: {_megabytes(size)} of HTML, over the {limits.max_html_mb:g} MB HTML limit"
        )
    depth = html_depth(text, stop_at=limits.max_html_depth + 1)
    if depth > limits.max_html_depth:
        raise IngestError(
            f"{name}: HTML nested more than {limits.max_html_depth} elements deep "
            "(the parser's limit; the text under them would be lost)"
        )
    return text


def _log_warning(message: str) -> None:
    log.warning("%s", message)


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
    path: Path,
    *,
    source_id: str | None = None,
    embed: Embed | None = None,
    warn: Warn | None = None,
    site_furniture: frozenset[str] = frozenset(),
    limits: Limits = DEFAULT_LIMITS,
) -> list[Document]:
    """One file → its documents; raises ``IngestError`` naming the file when it has none.

    ``source_id`` defaults to the file name. ``embed`` enables the off-topic line filter for
    scraped pages (JSONL text is kept as given). ``warn`` receives one message per caveat of a
    file that is still read (a guessed encoding, a skipped JSONL line); by default it is logged.
    ``site_furniture``: lines that recur across the pages of this file's site (see
    ``index.cleaning.repetition``). A file over one of ``limits`` is an ``IngestError``.
    """
    warn = warn or _log_warning
    path = Path(path)
    try:
        check_size(path, path.stat().st_size, limits)
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read file ({exc.strerror or exc})") from exc
    if is_pdf(path):
        return read_pdf_file(path, source_id=source_id, max_pages=limits.max_pdf_pages)
    text = _read_text(path, warn)
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path, text, warn)
    source = source_id or path.name
    is_html = path.suffix.lower() in HTML_SUFFIXES or _looks_like_html(text)
    if is_html:
        text = _check_html(path.name, text, limits)
    documents = clean_page(
        text,
        source_id=source,
        path=str(path),
        is_html=is_html,
        embed=embed,
        site_furniture=site_furniture,
    )
    if not documents:
        raise IngestError(f"{path.name}: no article text left after cleaning")
    return documents


def site_repetition(files: Sequence[Path], limits: Limits = DEFAULT_LIMITS) -> SiteRepetition:
    """The lines each site repeats across its text pages among ``files`` (unreadable: skipped)."""
    pages: list[tuple[Path, str]] = []
    for path in files:
        if path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        try:
            check_size(path, path.stat().st_size, limits)
            text = _read_text(path, lambda _message: None)
        except (IngestError, OSError):
            continue  # reported when the file itself is read
        if not _looks_like_html(text):
            pages.append((path, text))
    return SiteRepetition.from_pages(pages)


def _read_text(path: Path, warn: Warn) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read file ({exc.strerror or exc})") from exc
    text = _decode(data, path.name, warn)
    if not text.strip():
        raise IngestError(f"{path.name}: empty file")
    return text


def _decode(data: bytes, name: str, warn: Warn) -> str:
    """The text of a file: UTF-8 or a byte-order mark's encoding, else a legacy one, with a warning.

    Checked before the NUL-byte test for binary files, since UTF-16 and UTF-32 text has NULs.
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"{name}: starts with a {label} byte-order mark but is not {label} text "
                    f"({exc.reason} at byte {exc.start})"
                ) from exc
            if "\x00" in text:
                raise IngestError(f"{name}: binary file (NUL characters), not text")
            return text
    if b"\x00" in data:
        raise IngestError(f"{name}: binary file (NUL bytes), not text")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # A few stray bytes in text whose other non-ASCII characters are valid UTF-8 (which
    # legacy text almost never is by accident) are damage, not another encoding.
    escaped = data.decode("utf-8", errors="surrogateescape")
    bad = len(_ESCAPED_BYTE.findall(escaped))
    if len(_UTF8_MULTIBYTE.findall(escaped)) > bad:
        warn(
            f"{name}: read as UTF-8 with {bad} undecodable byte(s) replaced by U+FFFD "
            f"(the first at byte {first_bad})"
        )
        return data.decode("utf-8", errors="replace")
    encoding = _legacy_encoding(data)
    if encoding is None:
        raise IngestError(
            f"{name}: not text: neither UTF-8 (undecodable byte at offset {first_bad}) "
            "nor a known legacy encoding"
        )
    warn(f"{name}: not UTF-8; read as {encoding} (a best guess from its bytes)")
    return data.decode(encoding, errors="replace")


def _legacy_encoding(data: bytes) -> str | None:
    """The likeliest legacy encoding of ``data`` (cp1252 on a tie); None when it is binary.

    Among the single-byte Latin code pages charset-normalizer often ranks a tie arbitrarily
    (French decoded as cp1250 turns "crème" into "crčme"), so cp1252 wins unless another
    encoding reads as less messy or more like a language. Latin-1 is read as cp1252, its
    superset for printable text: bytes 0x80-0x9F are typographic quotes there, not controls.
    """
    matches = charset_normalizer.from_bytes(data, cp_isolation=_LEGACY_ENCODINGS)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        western = match.encoding == "cp1252" or "cp1252" in match.could_be_from_charset
        if western and match.chaos <= best.chaos and match.coherence >= best.coherence:
            return "cp1252"
    if best.encoding == "latin_1" and _decodes(data, "cp1252"):
        return "cp1252"
    return best.encoding


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html"))


def jsonl_objects(
    text: str, name: str, expected: str = "a JSON object", *, bad_line: Warn | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``NAME line N``, object) for each non-blank line.

    A bad line raises ``IngestError`` naming it, or, given ``bad_line``, is passed there as
    that message and skipped.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            yield where, _json_object(line, where, expected)
        except IngestError as exc:
            if bad_line is None:
                raise
            bad_line(str(exc))


def _json_object(line: str, where: str, expected: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise IngestError(f"{where}: expected {expected}, got {type(record).__name__}")
    return record


def _read_jsonl(path: Path, text: str, warn: Warn) -> list[Document]:
    """The documents of a JSONL corpus: a bad line is skipped with a warning naming it.

    Only a file without one good line is an error; the warnings are given once the file is
    known to be read, so a skipped file reports its problems once, in the error.
    """
    documents: list[Document] = []
    bad: list[str] = []
    notes: list[str] = []
    first_seen: dict[str, str] = {}

    def skip(problem: str) -> None:
        bad.append(problem)
        notes.append(f"{problem}; line skipped")

    for where, record in jsonl_objects(text, path.name, bad_line=skip):
        try:
            doc = _document_from_record(record, where=where, path=path, note=notes.append)
        except IngestError as exc:
            skip(str(exc))
            continue
        if doc.doc_id in first_seen:
            # Two records under one id would share one document row and mix their passages.
            skip(f"{where}: duplicate id {doc.doc_id!r}, first on {first_seen[doc.doc_id]}")
            continue
        first_seen[doc.doc_id] = where
        documents.append(doc)
    if not documents:
        if not bad:
            raise IngestError(f"{path.name}: no records")
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise IngestError(f"{path.name}: no usable records: {'; '.join(bad[:3])}{more}")
    for note in notes:
        warn(note)
    return documents


def _document_from_record(
    record: dict[str, Any], *, where: str, path: Path, note: Warn
) -> Document:
    raw_id = record.get("id", record.get("_id"))
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise IngestError(f"{where}: missing 'id' (or '_id')")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise IngestError(f"{where}: 'id' must be a string or number")
    doc_id = str(raw_id).strip()
    body = record.get("text")
    if not isinstance(body, str) or not body.strip():
        raise IngestError(f"{where}: missing or empty 'text'")
    published_raw = _optional_str(record, "published", where)
    published = normalise_date(published_raw)
    doc = Document(
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
    if published_raw and not published:
        note(f"{where}: unrecognised date {published_raw!r} ignored")
    return doc


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
