"""The SQLite helpers both stores use: migrations run whole, writes commit whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from index.errors import IncompatibleIndex
from index.sqlite import connect, migrate, script, transaction, user_version

AUDITED = script(
    """
    CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE audit (note_id INTEGER, what TEXT);
    CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN
        INSERT INTO audit VALUES (new.id, 'added; counted');
        UPDATE audit SET what = what || '!' WHERE note_id = new.id;
    END;
    """
)


def test_a_migration_with_a_trigger_body_holding_semicolons_runs_whole(tmp_path: Path) -> None:
    db = connect(tmp_path / "t.db")

    assert migrate(db, [AUDITED]) == 0

    db.execute("INSERT INTO notes(body) VALUES ('hello')")
    assert db.execute("SELECT note_id, what FROM audit").fetchall() == [(1, "added; counted!")]
    assert user_version(db) == 1


def test_an_interrupted_upgrade_leaves_the_previous_schema(tmp_path: Path) -> None:
    db = connect(tmp_path / "t.db")
    broken = script("ALTER TABLE notes ADD COLUMN tags TEXT; INSERT INTO nowhere VALUES (1);")

    with pytest.raises(sqlite3.OperationalError):
        migrate(db, [AUDITED, broken])

    assert user_version(db) == 0
    assert db.table_names() == []
    fixed = script("ALTER TABLE notes ADD COLUMN tags TEXT")
    migrate(db, [AUDITED, fixed])
    assert user_version(db) == 2
    assert "tags" in db.table("notes").columns_dict


def test_a_database_from_a_newer_briefbot_is_refused(tmp_path: Path) -> None:
    db = connect(tmp_path / "t.db")
    migrate(db, [AUDITED, script("ALTER TABLE notes ADD COLUMN tags TEXT")])

    with pytest.raises(IncompatibleIndex, match="schema version 2"):
        migrate(db, [AUDITED])


def test_an_up_to_date_database_opens_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    migrate(connect(path), [AUDITED])
    writer = connect(path)
    impatient = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None, timeout=0.05))

    with transaction(writer):
        writer.execute("INSERT INTO notes(body) VALUES ('long write')")
        assert migrate(impatient, [AUDITED]) == 1  # read only: no wait for the write lock


def test_a_write_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    db = connect(tmp_path / "t.db")
    migrate(db, [AUDITED])

    with pytest.raises(RuntimeError), transaction(db):
        db.execute("INSERT INTO notes(body) VALUES ('half')")
        raise RuntimeError("interrupted")

    assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == 0
