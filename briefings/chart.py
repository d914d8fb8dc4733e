"""The digest charts, as PNG bytes: themes × sources and themes × weeks heat-maps."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from briefings.digest import Digest

MAX_SOURCES = 12  # the sources with most passages; the rest are summed into "others"


def _heat_map(
    counts: np.ndarray, rows: Sequence[str], columns: Sequence[str], title: str, cmap: str
) -> bytes:
    """One annotated heat-map (no pyplot: safe to call from worker threads)."""
    rows = [textwrap.shorten(r, 40, placeholder="…") for r in rows] or ["(none)"]
    if counts.size == 0:
        counts = np.zeros((len(rows), max(1, len(columns))), dtype=np.int64)
    width = 2.5 + 0.7 * counts.shape[1]
    height = 1.6 + 0.45 * counts.shape[0]
    figure = Figure(figsize=(max(5.0, width), max(2.5, height)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap=cmap, aspect="auto", vmin=0)
    axes.set_xticks(range(counts.shape[1]), list(columns) or [""], rotation=40, ha="right",
                    fontsize=8)  # fmt: skip
    axes.set_yticks(range(counts.shape[0]), rows, fontsize=8)
    peak = counts.max() if counts.size else 0
    for (r, c), value in np.ndenumerate(counts):
        if value:
            colour = "white" if value > peak / 2 else "black"
            axes.text(c, r, str(value), ha="center", va="center", fontsize=7, color=colour)
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def theme_source_chart(digest: Digest) -> bytes:
    """Passages per theme and source (the period's themes first, then the running ones)."""
    themes = digest.charted
    counts = np.array(digest.coverage, dtype=np.int64).reshape(len(themes), -1)
    names = list(digest.source_names)
    if counts.shape[1] > MAX_SOURCES:
        others = counts[:, MAX_SOURCES - 1 :].sum(axis=1, keepdims=True)
        counts = np.hstack([counts[:, : MAX_SOURCES - 1], others])
        names = [*names[: MAX_SOURCES - 1], "others"]
    about = f" on “{digest.topic}”" if digest.topic else ""
    return _heat_map(
        counts, [t.label for t in themes], names, f"Passages per theme and source{about}", "Blues"
    )


def theme_week_chart(digest: Digest) -> bytes:
    """Passages each theme gained per digest period: how the themes grew over recent weeks."""
    themes = digest.charted
    counts = np.array(digest.growth, dtype=np.int64).reshape(len(themes), -1)
    about = f" on “{digest.topic}”" if digest.topic else ""
    return _heat_map(
        counts, [t.label for t in themes], digest.weeks,
        f"New passages per theme and week{about}", "Greens",
    )  # fmt: skip
