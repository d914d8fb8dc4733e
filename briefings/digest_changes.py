"""What changed since a channel's previous digest: the period's documents, and which themes are
the same as before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from briefings.digest import FIRST_PERIOD_DAYS, DigestSnapshot, SnapshotTheme

#: Centroids at least this similar are the same theme in two digests.
SAME_THEME_SIMILARITY = 0.8


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
    previous: Sequence[SnapshotTheme], centroids: np.ndarray
) -> dict[int, SnapshotTheme]:
    """Current theme index → the previous theme it continues (greedy, most similar first).

    Themes are matched by where they sit (centroid cosine), not by label, so a theme whose label
    shifted is still the same theme and keeps its key.
    """
    usable = [t for t in previous if len(t.centroid) == centroids.shape[1]]
    if not usable or len(centroids) == 0:
        return {}
    before = np.asarray([t.centroid for t in usable], dtype=np.float32)
    sims = centroids @ before.T
    order = np.dstack(np.unravel_index(np.argsort(-sims, axis=None), sims.shape))[0]
    matched: dict[int, SnapshotTheme] = {}
    taken: set[int] = set()
    for current, old in order:
        if sims[current, old] < SAME_THEME_SIMILARITY:
            break
        if int(current) in matched or int(old) in taken:
            continue
        matched[int(current)] = usable[int(old)]
        taken.add(int(old))
    return matched
