"""What changed since a channel's previous digest: the period's documents, and which themes are
the same as before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from briefings.digest import FIRST_PERIOD_DAYS, DigestSnapshot, SnapshotTheme

#: Two themes sharing at least this Jaccard share of the passages both digests knew are one.
SAME_THEME_OVERLAP = 0.3


def period_documents(
    doc_ids: Sequence[str],
    published: Mapping[str, str | None],
    indexed_at: Mapping[str, str],
    previous: DigestSnapshot | None,
    now: datetime,
) -> tuple[str | None, list[str]]:
    """The period's start (None for a first digest) and the documents new in it.

    After a digest, a document is new when that digest did not know it, or when its publication
    date falls after the digest's day (a document dated ahead and indexed early). A first digest
    takes the documents indexed or published in the last seven days.
    """
    if previous is None:
        start = now - timedelta(days=FIRST_PERIOD_DAYS)
        first_day = start.date().isoformat()
        new = [
            d
            for d in doc_ids
            if _after(indexed_at.get(d), start) or (published.get(d) or "") >= first_day
        ]
        return None, new
    since = datetime.fromisoformat(previous.created_at)
    known = set(previous.documents)
    day, today = since.date().isoformat(), now.date().isoformat()
    new = [d for d in doc_ids if d not in known or day < (published.get(d) or "") <= today]
    return previous.created_at, new


def _after(stamp: str | None, start: datetime) -> bool:
    if not stamp:
        return False
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=start.tzinfo)
    return moment >= start


def match_themes(
    previous: Sequence[SnapshotTheme], before: np.ndarray, now: np.ndarray, k: int
) -> dict[int, SnapshotTheme]:
    """Current theme index → the previous theme it continues (greedy, best overlap first).

    ``before`` and ``now`` place the same passages (those the previous digest knew) in the
    previous themes and in the current ones. Themes are matched by the passages they share, not
    by label, so a theme whose label shifted is still the same theme and keeps its key, and a
    theme made of new passages matches nothing: it is new.
    """
    if not len(previous) or not len(before):
        return {}
    pairs = before * k + now
    both = np.bincount(pairs, minlength=len(previous) * k).reshape(len(previous), k)
    sizes_before = both.sum(axis=1, keepdims=True)
    sizes_now = both.sum(axis=0, keepdims=True)
    union = sizes_before + sizes_now - both
    jaccard = np.where(union > 0, both / np.maximum(union, 1), 0.0)
    order = np.dstack(np.unravel_index(np.argsort(-jaccard, axis=None, kind="stable"),
                                       jaccard.shape))[0]  # fmt: skip
    matched: dict[int, SnapshotTheme] = {}
    taken: set[int] = set()
    for old, current in order:
        if jaccard[old, current] < SAME_THEME_OVERLAP:
            break
        if int(current) in matched or int(old) in taken:
            continue
        matched[int(current)] = previous[int(old)]
        taken.add(int(old))
    return matched
