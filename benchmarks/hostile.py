"""Hostile files for the reliability benchmark and tests: sizes are parameters, so tests stay small.

Every generator writes one file and returns its path. PDFs are written by hand (a handful of
objects and an exact cross-reference table), so a PDF of thousands of pages takes milliseconds.
"""

from __future__ import annotations

import base64
import random
from pathlib import Path

_WORDS = (
    "the minister said talks on trade and energy would resume in the spring while analysts "
    "expect the pipeline to carry more gas to northern provinces within five years of signing"
).split()


def sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct news-like sentences (a seeded word salad: no line repeats)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        words = rng.choices(_WORDS, k=rng.randint(12, 24))
        out.append(f"{' '.join(words).capitalize()} in round {seed}-{i}.")
    return out


def article_text(seed: int, paragraphs: int = 4) -> str:
    """A plain-text article with a title line and a few paragraphs of prose."""
    body = sentences(paragraphs * 3, seed)
    paras = [" ".join(body[i : i + 3]) for i in range(0, len(body), 3)]
    return f"Report number {seed} on energy and trade\n\n" + "\n\n".join(paras) + "\n"


def article_html(seed: int, paragraphs: int = 4, extra_body: str = "") -> str:
    body = sentences(paragraphs * 3, seed)
    paras = "".join(f"<p>{' '.join(body[i : i + 3])}</p>\n" for i in range(0, len(body), 3))
    return (
        f"<!doctype html><html><head><title>Dispatch {seed} on energy</title></head><body>"
        f"<article><h1>Dispatch {seed} on energy</h1>\n{paras}{extra_body}</article></body></html>"
    )


def big_text(path: Path, megabytes: float) -> Path:
    """A text file of ``megabytes`` MB of prose."""
    block = article_text(1, paragraphs=40).encode()
    target = int(megabytes * 1_000_000)
    with path.open("wb") as f:
        written = 0
        while written < target:
            f.write(block)
            written += len(block)
    return path


def nested_html(path: Path, depth: int) -> Path:
    """An article wrapped in ``depth`` nested ``<div>``s."""
    inner = article_html(2).split("<body>", 1)[1].rsplit("</body>", 1)[0]
    path.write_text(
        "<!doctype html><html><head><title>Nested</title></head><body>"
        + "<div>" * depth
        + inner
        + "</div>" * depth
        + "</body></html>",
        encoding="utf-8",
    )
    return path


def huge_html(path: Path, megabytes: float) -> Path:
    """An HTML page of ``megabytes`` MB of paragraphs."""
    paragraphs = max(1, int(megabytes * 1_000_000 / 400))
    path.write_text(article_html(3, paragraphs=paragraphs), encoding="utf-8")
    return path


def data_uri_html(path: Path, megabytes: float) -> Path:
    """A short article carrying a ``megabytes`` MB image inline as a ``data:`` URI."""
    raw = random.Random(4).randbytes(int(megabytes * 750_000))  # base64 grows it by 4/3
    image = f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(raw).decode()}">'
    path.write_text(article_html(4, extra_body=image), encoding="utf-8")
    return path


def _pdf_bytes(objects: list[bytes], *, xref: bool = True) -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog) with an exact cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        start,
    )
    return bytes(out)


def _text_stream(lines: list[str]) -> bytes:
    ops = ["BT /F1 11 Tf 72 720 Td 14 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    content = "\n".join(ops).encode("latin-1")
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def many_pages_pdf(path: Path, pages: int, seed: int = 5) -> Path:
    """A PDF of ``pages`` pages sharing one content stream of prose (a small file)."""
    lines = [s[:90] for s in sentences(30, seed)]
    first_page = 5
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        _text_stream(lines),
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    )
    objects += [page] * pages
    path.write_bytes(_pdf_bytes(objects))
    return path


def broken_xref_pdf(path: Path) -> Path:
    """A PDF whose cross-reference table points at the wrong bytes and which ends mid-object."""
    good = bytearray(many_pages_pdf(path, 2).read_bytes())
    xref_at = good.index(b"xref\n")
    good[xref_at:] = b"xref\n0 9\n" + b"0000099999 00000 n \n" * 9 + b"trailer\n<< /Size 9 >>"
    path.write_bytes(bytes(good[: len(good) // 2]) + b"\x00garbage" + bytes(good[xref_at:]))
    return path


def encrypted_pdf(path: Path, password: str = "secret") -> Path:
    """A one-page PDF that needs a password to open (fpdf2's encryption)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, " ".join(sentences(20, 6)))
    pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.output(str(path))
    return path


def big_jsonl(path: Path, megabytes: float, seed: int = 7) -> Path:
    """A JSONL corpus of ``megabytes`` MB: ~2 KB news-like documents with ids and titles."""
    import json

    target = int(megabytes * 1_000_000)
    rng = random.Random(seed)
    written = number = 0
    with path.open("w", encoding="utf-8") as f:
        while written < target:
            words = [" ".join(rng.choices(_WORDS, k=rng.randint(12, 24))) for _ in range(12)]
            text = " ".join(f"{w.capitalize()} in item {number}-{i}." for i, w in enumerate(words))
            record = {"id": f"item-{number}", "title": f"Item {number}", "text": text}
            line = json.dumps(record) + "\n"
            f.write(line)
            written += len(line)
            number += 1
    return path
