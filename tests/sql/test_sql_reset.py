"""``reset`` and the SQL server: an untouched server is left as it is (the suite resets around every test, and
recreating the database files was most of a reset's time), anything written since the last reset, even by a
session that was already connected, brings the full reset back."""

from __future__ import annotations

import pyodbc
import pytest
from sql_helpers import SqlTarget

from emulator.services.sql.models import server_for


def _files_made(target: SqlTarget) -> list[int]:
    """A count each database moves on when a full reset recreates its files (inodes cannot say: a recreated file
    may get the inode its predecessor freed)."""
    server = server_for(target.emulator.context)
    return [database.security_version for database in server.databases.values()]


def _declared_world_is_back(target: SqlTarget) -> None:
    with target.admin() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300
        assert [r[0] for r in connection.execute("SELECT name FROM sys.tables ORDER BY name")] == ["Products"]


def test_an_untouched_server_is_left_as_it_is(target: SqlTarget) -> None:
    target.emulator.reset()
    made = _files_made(target)
    target.emulator.reset()
    assert _files_made(target) == made
    _declared_world_is_back(target)


def test_a_session_opened_since_brings_the_full_reset_back(target: SqlTarget) -> None:
    target.emulator.reset()
    made = _files_made(target)
    with target.admin() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300
    target.emulator.reset()
    assert _files_made(target) != made


@pytest.mark.parametrize("writes", [
    ("CREATE TABLE Leak (x int)", "INSERT INTO Leak VALUES (1)"),
    ("CREATE TABLE #leak (x int)", "INSERT INTO #leak VALUES (1)"),
    ("CREATE TABLE ##leak (x int)",),
], ids=["table", "temp table", "global temp table"])
def test_writes_by_a_session_connected_before_the_reset_are_undone(target: SqlTarget, writes: tuple[str, ...]) -> None:
    with target.admin() as connection:
        target.emulator.reset()  # the session stays connected, on the new files
        for statement in writes:
            connection.execute(statement)
        connection.commit()
        target.emulator.reset()  # written since the last reset: recreated, not skipped
    _declared_world_is_back(target)
    with target.admin() as connection, pytest.raises(pyodbc.Error):
        connection.execute("SELECT * FROM ##leak").fetchall()
