"""Files written as ``NAME.tmp<pid>`` and renamed into place: a crash leaves them behind.

Derived data (vector sidecars of ~1.5 GB at a million passages, the tantivy state, int8 codes) is
built under such a name; :func:`remove_abandoned` deletes the ones whose writer is gone. All of it
lives in folders beside the database (:func:`sidecar_path`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.store import Store

log = logging.getLogger(__name__)

_TEMP_NAME = re.compile(r"\.tmp(\d+)(?:\.|$)")


def sidecar_path(db_path: str, suffix: str) -> Path | None:
    """A folder beside the database for data derived from it; None for ``:memory:`` and for a
    database server's URL (PostgreSQL derives nothing: it searches its own indexes)."""
    if db_path == ":memory:" or "://" in db_path:
        return None
    return Path(db_path + suffix)


def cache_root() -> Path:
    """Where data derived from a database server's index is kept on this machine:
    ``BRIEFBOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/briefbot`` (``~/.cache/briefbot``)."""
    configured = os.environ.get("BRIEFBOT_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "briefbot"


def derived_folder(store: Store, suffix: str) -> Path | None:
    """The folder for data derived from ``store``: beside a SQLite file, or for a PostgreSQL
    index, in this machine's cache under the database's instance id (never mistaken for
    another database's, whatever its URL)."""
    if store.backend == "postgres":
        return cache_root() / f"{store.instance_id()}{suffix}"
    return sidecar_path(store.path, suffix)


def generation_folders(root: Path, prefix: str) -> list[tuple[int, Path]]:
    """``<prefix><N>`` folders in ``root`` (one per index generation), newest first."""
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        number = entry.name[len(prefix) :]
        if entry.name.startswith(prefix) and number.isdigit():
            found.append((int(number), entry))
    return sorted(found, reverse=True)


def temp_path(final: Path) -> Path:
    """Where this process writes ``final`` before renaming it (``g7`` → ``g7.tmp<pid>``)."""
    return final.with_name(f"{final.name}.tmp{os.getpid()}")


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's process, alive
        return True
    return True


def remove_abandoned(folder: Path | None) -> int:
    """Delete the temporary files and folders in ``folder`` whose writing process has ended."""
    if folder is None or not folder.is_dir():
        return 0
    removed = 0
    for entry in folder.iterdir():
        match = _TEMP_NAME.search(entry.name)
        if match is None or _running(int(match.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:
            log.info("could not remove %s, left by an interrupted build: %s", entry, exc)
            continue
        log.info("removed %s, left by an interrupted build", entry)
        removed += 1
    return removed
