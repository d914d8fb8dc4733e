"""No server sees another's readings, whatever is added and removed (hypothesis).

Random sequences of adds and removes across three servers, over a shared collection the servers
see or not (``SHARED_COLLECTION_IN_SERVERS``); after every step each server's view is checked
against a model of what it holds: documents, listing, search, brief, sources of every passage in
the index, the pasted-text lookup and source matching. A server trying to remove another's
document gets "not found" and nothing changes. ``BRIEFBOT_ISOLATION_EXAMPLES`` sets the number
of sequences (the suite runs a few; a reliability run can ask for more).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefings.brief import make_brief
from briefings.corpus import corpus_overview
from briefings.sources import passage_sources, sources_for_text
from index.collections import add_reading, remove_documents
from index.embedding import FakeEmbedder
from index.errors import NotFound, NothingRelevant
from index.library import Library
from index.models import SHARED, guild_collection
from index.pipeline import Indexer
from index.store import open_store

EXAMPLES = int(os.environ.get("BRIEFBOT_ISOLATION_EXAMPLES", "12"))
GUILDS = (1, 2, 3)
TOPICS = (
    ("Tidal power in the Severn", "severn barrage tidal estuary mudflats", "quorvex"),
    ("Draining the Fens", "fens peat windpumps drained marsh", "blenwick"),
    ("Glass making in Venice", "murano glass furnaces lagoon", "trastolm"),
    ("Beekeeping in winter", "hives bees winter cluster honey", "plimdor"),
    ("Salt roads of the Alps", "salt mule passes alpine traders", "vestrangle"),
)
SHARED_TEXT = (
    "Title: Interest rates\n\nThe central bank raised interest rates by half a point to slow "
    "inflation, the zumbriel decision of the year.\n"
)


def reading(index: int) -> bytes:
    """Reading ``index``: its own title, words and one marker word no other reading has."""
    title, words, marker = TOPICS[index]
    return (
        f"---\ntitle: {title}\n---\n\n"
        f"This reading is about {words}. The {marker} account describes {words} in detail.\n\n"
        f"A second paragraph returns to {words.split()[0]} and the {marker} sources.\n"
    ).encode()


@dataclass
class World:
    """The index, and the model of which server holds which documents."""

    library: Library
    data: Path
    shared_visible: bool
    shared_ids: set[str]
    held: dict[int, dict[int, tuple[str, ...]]] = field(default_factory=dict)  # guild → reading

    def scope(self, guild: int) -> set[str]:
        return {guild_collection(guild), *([SHARED] if self.shared_visible else [])}

    def expected(self, guild: int) -> set[str]:
        own = {d for docs in self.held.get(guild, {}).values() for d in docs}
        return own | (self.shared_ids if self.shared_visible else set())


@contextmanager
def world(shared_visible: bool, server: Any = None) -> Iterator[World]:
    """A fresh index (a SQLite file, or a new database on ``server``) holding the shared text."""
    embedder = FakeEmbedder()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        (folder / "shared").mkdir()
        (folder / "shared" / "rates.txt").write_text(SHARED_TEXT, encoding="utf-8")
        location = (
            str(folder / "index.db") if server is None else stack.enter_context(server.database())
        )
        store = open_store(location)
        try:
            Indexer(store, embedder).run([folder / "shared"])
            library = Library(store, embedder)
            shared = {d.doc_id for d in library.documents()}
            yield World(library, folder / "data", shared_visible, shared)
        finally:
            store.close()


def apply(w: World, step: tuple[str, int, int]) -> None:
    """One add, remove, or attempt to remove another server's document; updates the model."""
    action, guild, pick = step
    store, collection = w.library.store, guild_collection(guild)
    held = w.held.setdefault(guild, {})
    if action == "add":
        added = add_reading(
            store, w.library.embedder, w.data, collection, f"r{pick}.md", reading(pick)
        )
        assert added.already == (pick in held)
        held.setdefault(pick, tuple(d.doc_id for d in added.documents))
        assert {d.collection for d in added.documents} == {collection}
    elif action == "remove" and held:
        index = sorted(held)[pick % len(held)]
        remove_documents(store, w.data, collection, list(held.pop(index)))
    elif action == "remove_other":
        others = sorted(
            doc for g, docs in w.held.items() if g != guild for ids in docs.values() for doc in ids
        )
        others += sorted(w.shared_ids)  # nor the operator's shared documents
        victim = others[pick % len(others)]
        with pytest.raises(NotFound):
            remove_documents(store, w.data, collection, [victim])
        assert store.document(victim) is not None
    w.library.refresh()


def check(w: World) -> None:
    """Every server's view holds exactly what the model says, and shows nothing else."""
    store = w.library.store
    every_doc = {d.doc_id: d for d in store.documents()}
    passages = [p for doc_id in every_doc for p in store.passages_of(doc_id)]
    for guild in GUILDS:
        view = w.library.within(w.scope(guild))
        mine = w.expected(guild)
        assert {d.doc_id for d in view.documents()} == mine
        assert {e.doc_id for e in corpus_overview(view).entries} == mine
        for title, words, marker in TOPICS:
            for query in (marker, words, title):
                assert {h.document.doc_id for h in view.search(query, k=20)} <= mine
            try:
                brief = make_brief(view, f"{marker} {words}", k=5)
            except NothingRelevant:
                pass
            else:
                assert {q.doc_id for q in brief.quotes} <= mine
            try:
                found = sources_for_text(view, f"The {marker} account describes {words}")
            except (NothingRelevant, NotFound):
                pass
            else:
                assert found.quote.doc_id in mine
            assert view.match_source(title) <= mine
        for passage in passages:
            if passage.doc_id in mine:
                assert view.passage(passage.label).text == passage.text
                source = passage_sources(view, passage.label)
                shown = {source.quote.doc_id}
                shown |= {q.doc_id for q in (*source.same_elsewhere, *source.related)}
                assert shown <= mine
            else:
                with pytest.raises(NotFound):
                    view.passage(passage.label)
                with pytest.raises(NotFound):
                    passage_sources(view, passage.label)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "remove", "remove_other"]),
        st.sampled_from(GUILDS),
        st.integers(0, len(TOPICS) - 1),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest) -> Any:
    """None for SQLite files, else the session's PostgreSQL (a database per example)."""
    return None if request.param == "sqlite" else request.getfixturevalue("pg_server")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # ``server`` is the same for every example: each makes its own database on it.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS, shared_visible=st.booleans())
def test_no_server_ever_sees_another_servers_readings(
    server: Any, steps: list[tuple[str, int, int]], shared_visible: bool
) -> None:
    with world(shared_visible, server) as w:
        check(w)
        for step in steps:
            apply(w, step)
            check(w)
