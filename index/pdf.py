"""PDF → one clean ``Document``: body text in reading order, page furniture dropped.

PDFium (through pypdfium2) gives every character with its box. Characters make lines, lines make
blocks, and blocks are put in reading order: a column is read whole before the column to its
right. Furniture goes by general rules: a line repeated at the top or bottom of many pages is a
running head or footer, a line that is only a number is a page or line number, copyright and
"Downloaded from" lines are dropped. A paragraph's lines are joined with spaces, hyphenation at
line ends is undone, and a sentence cut by a column or page break is joined across it.
``Document.page_starts`` records where each page's text begins.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import pairwise
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from index.cleaning import find_date
from index.errors import IngestError
from index.models import Document

__all__ = ["is_pdf", "read_pdf", "read_pdf_file"]

log = logging.getLogger(__name__)

_MAGIC = b"%PDF-"
_SOFT_HYPHEN = "\u00ad"  # marks a hyphen PDFium found at a line end, resolved when lines join
_PDFIUM_HYPHENS = (2, 0xFFFE)  # the codes PDFium gives such a hyphen (per character, in bulk)
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD
_MIN_TEXT_CHARS = 40  # fewer letters than this in a whole file: a scan without a text layer
_WORD_GAP = 0.25  # a gap wider than this many ems between characters is a space
_COLUMN_GAP = 2.0  # ... and wider than this, a gap between columns or table cells
_EDGE_ZONE = 0.12  # share of the page height at the top and bottom where running heads sit
_EDGE_LINES = 3  # ... or that many lines from either edge
_REPEATED_PAGES = 3  # a line at the same edge of this many pages (2 in a short file) is a head
_MAX_ORDERED_BLOCKS = 150  # pages with more blocks (tables) are read top to bottom instead
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)

_PAGE_NUMBER = re.compile(
    r"[(\[]?(?:page|p\.)?\s*(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:/|of)\s*\d{1,4})?\s*[.)\]]?",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^\s*(?:©|\(c\)\s*\d{4}|copyright\b)|\ball rights reserved\b", re.I)
_DOWNLOADED = re.compile(
    r"^\s*(?:this (?:content|article) (?:was )?)?downloaded (?:from|by)\b", re.I
)
_CREDITS = re.compile(
    r"^\s*(?:photo|image|picture|cover|illustration)s?\s*(?:credits?|courtesy)?\s*:", re.I
)
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|https?://|www\.|\+\d[\d ()-]{7,}")
_ABOUT = re.compile(r"^about\s+\w", re.IGNORECASE)
_EMAIL_LABEL = re.compile(r"^\s*\W?\s*e-?mail(?: address(?:es)?)?\s*:", re.IGNORECASE)
_LEADERS = re.compile(r"(?:\.\s?){4,}\s*\S{1,6}\s*$")  # "Results ........ 12": contents, index
_BULLET = re.compile(r"[•▪‣◦●■□◆–*]\s")  # a list item starts a paragraph of its own
_LINE_NUMBER = re.compile(r"^(\d{1,4})\s+(?=\S)")
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
_URL = re.compile(r"https?://\S+$")
_JUNK_TITLE = re.compile(
    r"^(?:microsoft \w+ - |untitled\b)|\.(?:docx?|pdf|indd|tex|dvi|rtf|odt|pptx?|xlsx?|qxd)$",
    re.IGNORECASE,
)
# Words of headings that look like names in title case ("Executive Summary").
_HEADING_WORDS = frozenset(
    "abstract acknowledgements appendix background briefing chapter conclusion conclusions "
    "contents discussion executive figure findings foreword introduction key methods overview "
    "preface references report results section summary table".split()
)
_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|der|da|di|le|la)){1,3}")


@dataclass
class _Line:
    """Characters on one baseline, with their box (PDF units, y upwards) and font size."""

    text: str
    x0: float
    x1: float
    bottom: float
    top: float
    size: float
    page: int  # 0-based


@dataclass
class _Block:
    """Lines that sit together: one paragraph, or several of the same column and font size."""

    lines: list[_Line]

    @property
    def x0(self) -> float:
        return min(line.x0 for line in self.lines)

    @property
    def x1(self) -> float:
        return max(line.x1 for line in self.lines)

    @property
    def top(self) -> float:
        return max(line.top for line in self.lines)

    @property
    def bottom(self) -> float:
        return min(line.bottom for line in self.lines)

    @property
    def size(self) -> float:
        return statistics.median(line.size for line in self.lines)


@dataclass
class _Paragraph:
    """Lines read as one paragraph; it may run over a column or page break."""

    lines: list[_Line]
    size: float
    body: bool = False  # set in the size most of the document's text is set in

    def ends_sentence(self) -> bool:
        return bool(_SENTENCE_END.search(self.lines[-1].text.rstrip(_SOFT_HYPHEN)))

    def words(self) -> int:
        return sum(len(line.text.split()) for line in self.lines)


@dataclass
class _Layout:
    """Everything read from the file before it becomes a ``Document``."""

    pages: list[list[_Paragraph]]
    metadata: dict[str, str]
    body_size: float
    url: str | None = None
    vocabulary: set[str] = field(default_factory=set)


def is_pdf(path: Path) -> bool:
    """True for a ``.pdf`` file, or a file whose bytes start like a PDF's whatever its name."""
    if path.suffix.lower() == ".pdf":
        return True
    try:
        with path.open("rb") as file:
            return file.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False  # the text reader reports what is wrong with the file


def read_pdf_file(
    path: Path, *, source_id: str | None = None, max_pages: int | None = None
) -> list[Document]:
    """``read_pdf`` on a file; ``source_id`` defaults to the file name."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read file ({exc.strerror or exc})") from exc
    return read_pdf(data, source_id=source_id or path.name, path=str(path), max_pages=max_pages)


def read_pdf(
    data: bytes, *, source_id: str, path: str | None = None, max_pages: int | None = None
) -> list[Document]:
    """A PDF's bytes → one ``Document``; ``IngestError`` naming the file when it has no text.

    A PDF of more than ``max_pages`` pages is an ``IngestError`` too, raised before any page
    is read (reading costs ~15-40 ms a page).
    """
    name = Path(path).name if path else source_id
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _PASSWORD_ERROR:
            raise IngestError(f"{name}: encrypted PDF (needs a password), not read") from exc
        raise IngestError(f"{name}: not a readable PDF ({exc})") from exc
    if max_pages is not None and len(pdf) > max_pages:
        pages = len(pdf)
        pdf.close()
        raise IngestError(f"{name}: {pages:,} pages, over the {max_pages:,}-page PDF limit")
    try:
        layout = _read_layout(pdf)
    except pdfium.PdfiumError as exc:
        raise IngestError(f"{name}: a page of this PDF cannot be read ({exc})") from exc
    finally:
        pdf.close()
    letters = sum(
        ch.isalpha() for page in layout.pages for p in page for line in p.lines for ch in line.text
    )
    if letters < _MIN_TEXT_CHARS:
        raise IngestError(f"{name}: PDF has no text layer (a scan?); nothing to index")
    text, page_starts = _assemble(layout)
    first_pages = [p for page in layout.pages[:2] for p in page]
    title = _title(layout, first_pages)
    return [
        Document(
            doc_id=source_id,
            source_id=source_id,
            text=text,
            title=title,
            authors=_authors(layout, first_pages, title),
            published=_published(layout, first_pages),
            url=layout.url,
            path=path,
            page_starts=page_starts,
        )
    ]


# -- characters → lines ------------------------------------------------------------------------


def _page_lines(textpage: pdfium.PdfTextPage, page: int) -> list[_Line]:
    """The page's lines in content-stream order, split where a big gap separates columns."""
    raw = textpage.raw
    box = pdfium_c.FS_RECTF()
    lines: list[_Line] = []
    chars: list[str] = []
    sizes: list[float] = []
    glyphs: list[tuple[str, float, float]] = []  # visible characters of the line, with x extent
    x0 = x1 = bottom = top = 0.0
    last_bottom = last_top = 0.0
    broken = False  # PDFium saw a line break here: only a space if the next character agrees

    def close() -> None:
        text = "".join(chars).strip()
        if text:
            size = statistics.median(sizes)
            if _letter_spaced(text):
                text = _respace(glyphs, size)
            lines.append(_Line(text.translate(_LIGATURES), x0, x1, bottom, top, size, page))
        chars.clear()
        sizes.clear()
        glyphs.clear()

    count = pdfium_c.FPDFText_CountChars(raw)
    # One call for all the characters; PDFium's per-character call if they do not line up.
    page_text = textpage.get_text_range(0, count)
    codes = [ord(ch) for ch in page_text] if len(page_text) == count else None
    for i in range(count):
        code = codes[i] if codes is not None else pdfium_c.FPDFText_GetUnicode(raw, i)
        if code in (10, 13):
            broken = True
            continue
        if code in _PDFIUM_HYPHENS:
            if chars:
                chars.append(_SOFT_HYPHEN)
            continue
        if code == 32 or code == 0xA0:
            if chars and chars[-1] != " ":
                chars.append(" ")
            continue
        if code < 32 or code >= 0xFFFE or 0xD800 <= code <= 0xF8FF:
            continue  # controls, surrogates and private-use glyphs (icons, bullets)
        angle = pdfium_c.FPDFText_GetCharAngle(raw, i)
        if 0.05 < angle < 2 * math.pi - 0.05:
            continue  # rotated text: chart labels, margin notes
        if not pdfium_c.FPDFText_GetLooseCharBox(raw, i, box):
            continue
        left, right, low, high = box.left, box.right, box.bottom, box.top
        size = high - low
        if size <= 0:
            continue
        if chars:
            em = max(size, sizes[-1])
            overlap = min(high, last_top) - max(low, last_bottom)
            gap = left - x1
            if len(glyphs) == 1 and _is_drop_cap(chars[0], sizes[0], size, gap, overlap):
                x1, bottom, top = right, low, high  # the line is the text's, not the cap's
                sizes[0] = size
            elif overlap < 0.5 * min(size, last_top - last_bottom) or not (
                -em < gap <= _COLUMN_GAP * em
            ):
                close()
            elif (broken or gap > _WORD_GAP * em) and chars[-1] not in (" ", _SOFT_HYPHEN):
                chars.append(" ")
        broken = False
        if not chars:
            x0, x1, bottom, top = left, right, low, high
        chars.append(chr(code))
        sizes.append(size)
        glyphs.append((chars[-1], left, right))
        x0, x1 = min(x0, left), max(x1, right)
        bottom, top = min(bottom, low), max(top, high)
        last_bottom, last_top = low, high
    close()
    return lines


def _is_drop_cap(letter: str, letter_size: float, size: float, gap: float, overlap: float) -> bool:
    """True when a line's first letter is set large beside the rest of its word (a drop cap)."""
    return letter.isupper() and letter_size >= 1.8 * size and 0 <= gap < 2 * size and overlap > 0


def _letter_spaced(text: str) -> bool:
    """True for text set with spaces between its letters ("A B S T R A C T")."""
    tokens = text.split()
    return len(tokens) >= 4 and sum(len(t) == 1 for t in tokens) >= 0.6 * len(tokens)


def _respace(glyphs: Sequence[tuple[str, float, float]], size: float) -> str:
    """Letter-spaced text with spaces only where the gap is wider than between its letters."""
    gaps = [b[1] - a[2] for a, b in pairwise(glyphs)]
    if not gaps:
        return "".join(g[0] for g in glyphs)
    usual = statistics.median(gaps)
    text = glyphs[0][0]
    for gap, glyph in zip(gaps, glyphs[1:], strict=True):
        if gap > max(1.6 * usual, usual + 0.15 * size):
            text += " "
        text += glyph[0]
    return text


def _read_layout(pdf: pdfium.PdfDocument) -> _Layout:
    """Every page's paragraphs in reading order, furniture gone, and the file's metadata."""
    heights: list[float] = []
    pages: list[list[_Line]] = []
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            heights.append(page.get_height())
            textpage = page.get_textpage()
            try:
                pages.append(_page_lines(textpage, index))
            finally:
                textpage.close()
        finally:
            page.close()
    metadata = {k: v for k, v in pdf.get_metadata_dict(skip_empty=True).items() if v.strip()}
    vocabulary = {w.lower() for page in pages for line in page for w in _words(line.text)}
    pages, url = _drop_furniture(pages, heights)
    if len(pages) > 1:  # an imprint page: a copyright notice and little else
        pages = [[] if _is_imprint(lines) else lines for lines in pages]
    body_size = _body_size(pages)
    pitch = _line_pitch(pages)
    paragraphs = [_page_paragraphs(lines, pitch, body_size) for lines in pages]
    if len(paragraphs) >= 3 and _is_back_cover(paragraphs[-1]):
        paragraphs[-1] = []
    log.debug("%d pages, body text %.1fpt, line pitch %s", len(pages), body_size, pitch)
    return _Layout(paragraphs, metadata, body_size, url, vocabulary)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_][\w'’-]*", text.replace(_SOFT_HYPHEN, ""))


# -- furniture -----------------------------------------------------------------------------------


def _is_furniture_line(text: str) -> bool:
    """A line no page needs: numbers alone (a page number), a rule, a download stamp, ..."""
    if not any(ch.isalpha() for ch in text):
        return True  # rules, page numbers, a chart's or table's figures
    return bool(
        _PAGE_NUMBER.fullmatch(text)
        or _DOWNLOADED.search(text)
        or _EMAIL_LABEL.search(text)
        or _LEADERS.search(text)
    )


def _is_notice(text: str) -> bool:
    """A line that starts a copyright notice or picture credits."""
    return bool(_COPYRIGHT.search(text) or _CREDITS.search(text))


def _drop_notices(paragraphs: list[_Paragraph]) -> list[_Paragraph]:
    """Without copyright notices and credits: the whole paragraph they start, else the line."""
    kept = []
    for para in paragraphs:
        if _is_notice(para.lines[0].text):
            continue
        para.lines = [line for line in para.lines if not _COPYRIGHT.search(line.text)]
        if para.lines:
            kept.append(para)
    return kept


def _is_imprint(lines: Sequence[_Line]) -> bool:
    words = sum(len(line.text.split()) for line in lines)
    return words < 100 and any(_COPYRIGHT.search(line.text) for line in lines)


def _is_back_cover(paragraphs: Sequence[_Paragraph]) -> bool:
    """A last page of contact details and a blurb: little text, an address or link on it."""
    words = sum(p.words() for p in paragraphs)
    text = " ".join(line.text for p in paragraphs for line in p.lines)
    return (
        0 < words < 150 and all(p.words() <= 60 for p in paragraphs) and bool(_CONTACT.search(text))
    )


def _head_key(text: str) -> str:
    """What stays the same in a running head from page to page (numbers and spacing vary)."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text.lower()))


def _edge_lines(lines: Sequence[_Line], height: float) -> Iterable[tuple[str, _Line]]:
    """The lines near the top and the bottom of a page, tagged with their edge."""
    by_height = sorted(lines, key=lambda line: -line.top)
    for rank, line in enumerate(by_height):
        if rank < _EDGE_LINES or line.bottom >= height * (1 - _EDGE_ZONE):
            yield "top", line
        if rank >= len(by_height) - _EDGE_LINES or line.top <= height * _EDGE_ZONE:
            yield "bottom", line


def _drop_furniture(
    pages: list[list[_Line]], heights: Sequence[float]
) -> tuple[list[list[_Line]], str | None]:
    """Pages without running heads/footers, page and line numbers; and a URL printed in them."""
    pages = [[line for line in lines if not _is_furniture_line(line.text)] for lines in pages]
    small = 1.5 * _body_size(pages)  # heads are set small; a title repeated in large type is not
    pages_with: Counter[tuple[str, str]] = Counter()
    for lines, height in zip(pages, heights, strict=True):
        pages_with.update(
            {
                (edge, _head_key(line.text))
                for edge, line in _edge_lines(lines, height)
                if line.size < small
            }
        )
    needed = _REPEATED_PAGES if len(pages) > 2 * _REPEATED_PAGES else 2
    running = {key for key, count in pages_with.items() if count >= needed}
    url = None
    kept_pages = []
    for lines, height in zip(pages, heights, strict=True):
        heads = {
            id(line)
            for edge, line in _edge_lines(lines, height)
            if (edge, _head_key(line.text)) in running and line.size < small
        }
        for line in lines:
            if id(line) in heads and url is None and _URL.fullmatch(line.text):
                url = line.text if "…" not in line.text else None
        kept_pages.append(_strip_line_numbers([ln for ln in lines if id(ln) not in heads]))
    return kept_pages, url


def _strip_line_numbers(lines: list[_Line]) -> list[_Line]:
    """Remove numbers that count the lines of a page down its margin (manuscripts, bills)."""
    numbered = [(line, _LINE_NUMBER.match(line.text)) for line in lines]
    hits = [(line, int(m.group(1))) for line, m in numbered if m]
    if len(hits) < 5:
        return lines
    margin = Counter(round(line.x0) for line, _ in hits).most_common(1)[0][0]
    column = sorted(
        ((line, n) for line, n in hits if abs(line.x0 - margin) <= 2), key=lambda h: -h[0].top
    )
    rising = sum(b[1] > a[1] for a, b in pairwise(column))
    if len(column) < 5 or rising < 0.8 * (len(column) - 1):
        return lines
    counted = {id(line) for line, _ in column}
    out = []
    for line in lines:
        if id(line) in counted:
            rest = _LINE_NUMBER.sub("", line.text, count=1)
            share = len(rest) / max(len(line.text), 1)
            line = replace(line, text=rest, x0=line.x1 - (line.x1 - line.x0) * share)
        out.append(line)
    return out


def _body_size(pages: Sequence[Sequence[_Line]]) -> float:
    """The font size most of the text is set in (weighted by characters)."""
    sizes: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            sizes[_size_key(line.size)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _line_pitch(pages: Sequence[Sequence[_Line]]) -> dict[float, float]:
    """Per font size, the usual distance between the baselines of consecutive lines."""
    gaps: dict[float, Counter[float]] = {}
    for lines in pages:
        for a, b in pairwise(lines):
            key = _size_key(a.size)
            if key != _size_key(b.size) or not _overlaps(a.x0, a.x1, b.x0, b.x1):
                continue
            step = a.bottom - b.bottom
            if 0.8 * a.size < step < 3 * a.size:
                gaps.setdefault(key, Counter())[round(step * 2) / 2] += 1
    return {size: counts.most_common(1)[0][0] for size, counts in gaps.items()}


# -- lines → blocks → paragraphs, in reading order ------------------------------------------------


def _size_key(size: float) -> float:
    return round(size * 2) / 2


def _same_size(a: float, b: float) -> bool:
    return abs(a - b) <= 0.12 * max(a, b)


def _overlaps(a0: float, a1: float, b0: float, b1: float) -> bool:
    return min(a1, b1) - max(a0, b0) > 0.1 * min(a1 - a0, b1 - b0)


def _follows(block: _Block, line: _Line, pitch: dict[float, float]) -> bool:
    """True when ``line`` continues ``block``: same size and column, the next line down."""
    last = block.lines[-1]
    if not _same_size(last.size, line.size) or not _overlaps(block.x0, block.x1, line.x0, line.x1):
        return False
    step = last.bottom - line.bottom
    usual = pitch.get(_size_key(last.size))
    limit = 1.3 * usual if usual else 1.6 * last.size
    return 0.5 * last.size < step <= max(limit, 1.05 * last.size)


def _blocks(lines: Sequence[_Line], pitch: dict[float, float]) -> list[_Block]:
    blocks: list[_Block] = []
    for line in lines:
        if blocks and _follows(blocks[-1], line, pitch):
            blocks[-1].lines.append(line)
        else:
            blocks.append(_Block([line]))
    return blocks


def _reading_order(blocks: list[_Block]) -> list[_Block]:
    """Blocks in reading order: bands top to bottom, and in a band each column whole, left first.

    A band is a run of blocks with no horizontal strip of white between them. Consecutive bands
    with the same column gutters (two columns with paragraph gaps that happen to line up) read
    as one; a band whose blocks cross the next one's gutter (a title, an abstract across
    the page) stays separate. Columns are ordered recursively, so a column may hold bands too.
    """
    if len(blocks) <= 1:
        return list(blocks)
    if len(blocks) > _MAX_ORDERED_BLOCKS:
        return sorted(blocks, key=lambda b: (-b.top, b.x0))
    order: list[_Block] = []
    for band in _merge_bands(_bands(blocks)):
        columns = _columns(band)
        if len(columns) == 1:
            order.extend(sorted(band, key=lambda b: (-b.top, b.x0)))
        else:
            for column in columns:
                order.extend(_reading_order(column))
    return order


def _bands(blocks: Sequence[_Block]) -> list[list[_Block]]:
    """Blocks grouped by overlapping vertical extent, top band first."""
    bands: list[list[_Block]] = []
    floor = math.inf
    for block in sorted(blocks, key=lambda b: -b.top):
        if bands and block.top > floor:
            bands[-1].append(block)
            floor = min(floor, block.bottom)
        else:
            bands.append([block])
            floor = block.bottom
    return bands


def _gutters(blocks: Sequence[_Block]) -> list[tuple[float, float]]:
    """The vertical strips of white between the blocks' horizontal extents."""
    gaps: list[tuple[float, float]] = []
    reach = -math.inf
    for x0, x1 in sorted((b.x0, b.x1) for b in blocks):
        if reach > -math.inf and x0 > reach:
            gaps.append((reach, x0))
        reach = max(reach, x1)
    return gaps


def _crosses(blocks: Sequence[_Block], gutters: Sequence[tuple[float, float]]) -> bool:
    """True when a block spans a gutter (nearly) from side to side; a ragged line end reaching
    into it does not count."""
    return any(
        min(b.x1, g1) - max(b.x0, g0) >= 0.9 * (g1 - g0) for b in blocks for g0, g1 in gutters
    )


def _merge_bands(bands: list[list[_Block]]) -> list[list[_Block]]:
    """Join consecutive bands that share their columns."""
    merged: list[list[_Block]] = []
    for band in bands:
        if merged:
            prev = merged[-1]
            prev_gutters, gutters = _gutters(prev), _gutters(band)
            if (
                (prev_gutters or gutters)
                and not _crosses(band, prev_gutters)
                and not _crosses(prev, gutters)
            ):
                prev.extend(band)
                continue
        merged.append(list(band))
    return merged


def _columns(band: Sequence[_Block]) -> list[list[_Block]]:
    """The band's blocks split at its gutters, left column first."""
    gutters = _gutters(band)
    columns: list[list[_Block]] = [[] for _ in range(len(gutters) + 1)]
    for block in band:
        columns[sum(block.x0 >= g1 for _, g1 in gutters)].append(block)
    return [c for c in columns if c]


def _merge_adjacent(blocks: list[_Block], pitch: dict[float, float]) -> list[_Block]:
    """Join blocks that reading order puts next to each other and that continue one another."""
    merged: list[_Block] = []
    for block in blocks:
        if merged and _follows(merged[-1], block.lines[0], pitch):
            merged[-1].lines.extend(block.lines)
        else:
            merged.append(block)
    return merged


def _split_paragraphs(block: _Block, body_size: float) -> list[_Paragraph]:
    """A block's paragraphs: a new one at a first-line indent or after a line ended on purpose."""
    left, right = block.x0, block.x1
    lines = block.lines
    em = block.size

    def indented(k: int) -> bool:
        return lines[k].x0 - left > 0.6 * em

    paragraphs: list[_Paragraph] = []
    start = 0
    for k in range(1, len(lines)):
        prev, line = lines[k - 1], lines[k]
        first_line_indent = (
            indented(k) and not indented(k - 1) and (k + 1 == len(lines) or not indented(k + 1))
        )
        if first_line_indent and lines[k].x1 < right - 2 * em and k + 1 == len(lines):
            first_line_indent = False  # a centred last line, not an indent
        word = line.text.split()[0] if line.text.split() else ""
        em_width = (line.x1 - line.x0) / max(len(line.text), 1)
        # The column's right edge here: the lines just above, or this one after a first line.
        edge = max((ln.x1 for ln in lines[max(0, k - 3) : k - 1]), default=line.x1)
        ended = edge - prev.x1 > (len(word) + 2) * em_width  # the next word would have fit
        if first_line_indent or ended or _BULLET.match(line.text):
            paragraphs.append(_Paragraph(lines[start:k], em))
            start = k
    paragraphs.append(_Paragraph(lines[start:], em))
    for p in paragraphs:
        p.body = _same_size(p.size, body_size)
    return paragraphs


def _page_paragraphs(
    lines: Sequence[_Line], pitch: dict[float, float], body_size: float
) -> list[_Paragraph]:
    blocks = _merge_adjacent(_reading_order(_blocks(lines, pitch)), pitch)
    blocks = [b for b in blocks if not _is_notice(b.lines[0].text)]
    return _drop_notices([p for block in blocks for p in _split_paragraphs(block, body_size)])


# -- paragraphs → text ---------------------------------------------------------------------------


def _continues(prev: _Paragraph, nxt: _Paragraph, between: Sequence[_Paragraph]) -> bool:
    """True when ``nxt`` carries on the sentence ``prev`` left unfinished."""
    if not (prev.body and nxt.body) or prev.ends_sentence() or prev.words() < 6:
        return False
    # Only footnotes, captions, a table or figure labels may stand between the two halves,
    # on the same page or the next (a page in between would start in the middle of the join).
    if nxt.lines[0].page - prev.lines[-1].page > 1 or any(
        p.body and p.words() > 40 for p in between
    ):
        return False
    first = nxt.lines[0].text.lstrip("“‘\"'([")
    if first[:1].islower():
        return True
    # An upper-case start continues only across a page break, at the very top of the page, and
    # only when the paragraph before ran to the end of its last line.
    page_break = nxt.lines[0].page > prev.lines[-1].page
    return (
        page_break
        and len(prev.lines) > 1
        and prev.lines[-1].x1 >= max(line.x1 for line in prev.lines[:-1]) - 2 * prev.size
        and not any(p.lines[0].page == nxt.lines[0].page and p.body for p in between)
    )


def _flow(pages: Sequence[Sequence[_Paragraph]]) -> list[_Paragraph]:
    """All paragraphs in order, with sentences cut by a column or page break joined again.

    What stood between the two halves (footnotes, captions, a figure's labels) moves out of the
    way: before the joined paragraph if it was on the first half's page, else after it.
    """
    out: list[_Paragraph] = []
    open_at: int | None = None  # index in ``out`` of the last body paragraph
    for page in pages:
        for para in page:
            if open_at is not None and _continues(out[open_at], para, out[open_at + 1 :]):
                head = out[open_at]
                between = out[open_at + 1 :]
                page_of_head = head.lines[-1].page
                before = [p for p in between if p.lines[0].page == page_of_head]
                after = [p for p in between if p.lines[0].page != page_of_head]
                if para.lines[0].page == page_of_head:
                    before, after = [], between
                joined = _Paragraph(head.lines + para.lines, head.size, body=True)
                del out[open_at:]
                out.extend(before)
                open_at = len(out)
                out.append(joined)
                out.extend(after)
                continue
            out.append(para)
            if para.body:
                open_at = len(out) - 1
    return out


def _without_about_sections(paragraphs: list[_Paragraph], body_size: float) -> list[_Paragraph]:
    """Drop "About <organisation>" sections in the second half: a press release's boilerplate."""
    total = sum(p.words() for p in paragraphs)
    kept: list[_Paragraph] = []
    seen = 0
    dropping: float | None = None  # the size of the heading whose section is dropped
    for para in paragraphs:
        first = para.lines[0].text
        heading = para.size >= 1.15 * body_size and para.words() <= 8
        if dropping is not None and heading and para.size >= dropping and not _ABOUT.match(first):
            dropping = None
        if dropping is None and heading and _ABOUT.match(first) and seen > total / 2:
            dropping = para.size
        seen += para.words()
        if dropping is None:
            kept.append(para)
    return kept


def _join_lines(lines: Sequence[_Line], vocabulary: set[str]) -> tuple[str, list[int]]:
    """A paragraph's lines as one line of text, hyphenation at line ends undone; and where each
    line's text starts in it."""
    text = ""
    starts: list[int] = []
    hyphen = False  # the text so far ends in a hyphen at a line end
    for line in lines:
        part = " ".join(line.text.replace(_SOFT_HYPHEN, "").split())
        if not part:
            starts.append(len(text))
            continue
        if text:
            if hyphen and text[-2:-1].isalpha():
                left = re.findall(r"[\w'’-]+$", text[:-1])
                right = re.findall(r"^[\w'’]+", part)
                if part[:1].islower() and not _keeps_hyphen(left, right, vocabulary):
                    text = text[:-1]
            else:
                text += " "
        starts.append(len(text))
        text += part
        hyphen = part.endswith("-") or line.text.rstrip().endswith(_SOFT_HYPHEN)
        if hyphen and not part.endswith("-"):
            text += "-"
    return text, starts


def _keeps_hyphen(left: list[str], right: list[str], vocabulary: set[str]) -> bool:
    """A hyphen at a line end is real when the document writes the word hyphenated elsewhere."""
    if not left or not right:
        return False
    joined, hyphenated = (left[0] + right[0]).lower(), f"{left[0]}-{right[0]}".lower()
    return hyphenated in vocabulary and joined not in vocabulary


def _assemble(layout: _Layout) -> tuple[str, tuple[int, ...]]:
    """The document text (one paragraph a line, blank lines between) and each page's offset."""
    parts: list[str] = []
    starts: dict[int, int] = {}
    offset = 0
    for para in _without_about_sections(_flow(layout.pages), layout.body_size):
        text, line_starts = _join_lines(para.lines, layout.vocabulary)
        if not text:
            continue
        if parts:
            offset += 2
        for line, start in zip(para.lines, line_starts, strict=True):
            starts.setdefault(line.page, offset + start)  # may fall inside a joined paragraph
        parts.append(text)
        offset += len(text)
    text = "\n\n".join(parts)
    count = len(layout.pages)
    page_starts = [starts.get(page, -1) for page in range(count)]
    following = len(text)
    for page in reversed(range(count)):  # a page without text starts where the next one does
        if page_starts[page] < 0:
            page_starts[page] = following
        following = page_starts[page]
    for page in range(1, count):
        page_starts[page] = max(page_starts[page], page_starts[page - 1])
    return text, tuple(page_starts)


# -- title, authors, date ------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def _title(layout: _Layout, first_pages: Sequence[_Paragraph]) -> str:
    """The printed title (largest type near the top of page one), or the metadata's when it fits.

    The metadata title is kept only when page one shows it: tools fill it with file names,
    template names or a page's title plus the site name.
    """
    printed = _printed_title(layout)
    meta = re.sub(r"\s+", " ", layout.metadata.get("Title", "")).strip()
    if meta and (_JUNK_TITLE.search(meta) or len(_words(meta)) < 2):
        meta = ""
    if printed and meta:
        p, m = _norm(printed), _norm(meta)
        if p in m or m in p:
            return printed
    if meta:
        page_text = _norm(" ".join(line.text for p in first_pages for line in p.lines))
        if _norm(meta) in page_text:
            return meta
    return printed or meta


def _printed_title(layout: _Layout) -> str:
    first = next((page for page in layout.pages if page), [])
    sized = [(p, len(_words(" ".join(ln.text for ln in p.lines)))) for p in first[:25]]
    candidates = [p for p, words in sized if words >= 2]
    # One word is a title only when it towers over the rest (not a journal's or series' name).
    single = [p for p, words in sized if words == 1 and len(p.lines[0].text) >= 4]
    if not candidates and not single:
        return ""
    best = max(candidates or single, key=lambda p: p.size)
    lone = max(single, key=lambda p: p.size, default=None)
    if lone is not None and lone.size >= 1.3 * best.size:
        best = lone
    if best.size < 1.15 * layout.body_size or len(best.lines) > 5:
        return ""
    title = " ".join(line.text for line in best.lines)
    at = first.index(best)
    subtitle = first[at + 1] if at + 1 < len(first) else None
    if (
        subtitle is not None
        and len(_words(title)) <= 5
        and not _SENTENCE_END.search(title)
        and 1.3 * layout.body_size <= subtitle.size < best.size
        and len(subtitle.lines) <= 2
        and best.lines[-1].bottom - subtitle.lines[0].top < 0.8 * best.size
        and _reads_as_subtitle(" ".join(line.text for line in subtitle.lines))
    ):
        title = f"{title}: {' '.join(line.text for line in subtitle.lines)}"
    return " ".join(title.replace(_SOFT_HYPHEN, "").split())


def _reads_as_subtitle(text: str) -> bool:
    """A phrase ("Putting risk in context"), not a publisher's name or address under the title."""
    words = text.split()
    return len(words) >= 3 and any(w[:1].islower() for w in words) and not _CONTACT.search(text)


def _authors(layout: _Layout, first_pages: Sequence[_Paragraph], title: str) -> tuple[str, ...]:
    """Names in the byline under the title; else the metadata author when page one shows it."""
    names = _byline_names(first_pages, title)
    if names:
        return tuple(names)
    meta = layout.metadata.get("Author", "")
    page_text = _norm(" ".join(line.text for p in first_pages for line in p.lines))
    found = [
        name.strip()
        for name in re.split(r";|,| and | & ", meta)
        if name.strip() and _norm(name) and _norm(name) in page_text
    ]
    return tuple(found)


def _byline_names(first_pages: Sequence[_Paragraph], title: str) -> list[str]:
    """Person names on the lines just after the title, before the body begins."""
    norm_title = _norm(title)
    texts = [_norm(" ".join(line.text for line in p.lines)) for p in first_pages]
    start = next((k for k, text in enumerate(texts) if text and text in norm_title), None)
    if not norm_title or start is None:
        return []
    names: list[str] = []
    byline_size: float | None = None
    for para in first_pages[start + 1 : start + 16]:
        if para.body and para.words() > 15:
            break
        for line in para.lines:
            found = _names_in(line.text)
            if not found:
                continue
            if byline_size is None:
                byline_size = line.size
            if _same_size(line.size, byline_size):
                names.extend(n for n in found if n not in names)
    return names


def _names_in(text: str) -> list[str]:
    """The names of a byline line ("A. Smith a,b, Jo Bloggs and Ann Lee"), or [] if it is not.

    Affiliation marks after names are ignored, and so are parts with digits beside them (a
    date, a reading time); any other part that is not a name means the line is no byline.
    """
    text = re.sub(r"^\s*by\s+", "", text, flags=re.IGNORECASE)
    names = []
    for part in re.split(r",|;| and | & |[·•⋮|—–]", text):
        tokens = [t for t in part.split() if not re.fullmatch(r"[a-z\d*⇑†‡§¶]{1,2}|\W+", t)]
        if not tokens:
            continue
        candidate = " ".join(tokens)
        if (
            _NAME.fullmatch(candidate)
            and not candidate.isupper()
            and not {t.lower() for t in tokens} & _HEADING_WORDS
        ):
            names.append(candidate)
        elif not any(ch.isdigit() for ch in candidate):
            return []
    return names if len(names) <= 12 else []


def _metadata_date(value: str) -> date | None:
    """A PDF date string (``D:20181011083004-04'00'``) as a date."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", value.strip())
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    except ValueError:
        return None


def _published(layout: _Layout, first_pages: Sequence[_Paragraph]) -> str | None:
    """The latest date printed in the front matter (before the body) or else the file's date.

    Papers print received/accepted/published dates; the file's creation date is when it was
    made or printed, later than the publication, so a printed date not after it is preferred.
    """
    created = _metadata_date(layout.metadata.get("CreationDate", ""))
    printed: list[date] = []
    body_words = 0
    for para in first_pages:
        if para.body:
            body_words += para.words()
        if body_words > 400:
            break
        for line in para.lines:
            found = find_date(line.text)
            if found and len(line.text.split()) <= 12:
                printed.append(date.fromisoformat(found[0]))
    if created is not None:
        printed = [d for d in printed if d <= created]
    if printed:
        return max(printed).isoformat()
    return created.isoformat() if created else None
