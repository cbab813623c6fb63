"""Persistence shared by every service: one SQLite database in the data directory (or in memory).

Resource Manager state is a set of JSON documents keyed by resource id (case-insensitive, as ARM
treats ids). Services that need their own tables create them through :meth:`Store.ensure_table`.
Each write runs in one transaction, so a refused request leaves nothing half-written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .files import HARD_RESET_HINT, DataDirError, ensure_private_dir, make_private

DATABASE_FILE = "state.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY,        -- lower-cased resource id
    id TEXT NOT NULL,            -- resource id as first written
    type TEXT NOT NULL,          -- e.g. Microsoft.Authorization/roleAssignments
    body TEXT NOT NULL           -- the JSON document ARM returns
);
CREATE INDEX IF NOT EXISTS resources_type ON resources(type);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    def __init__(self, directory: Path | None) -> None:
        target = ":memory:" if directory is None else str(directory / DATABASE_FILE)
        if directory is not None:
            ensure_private_dir(directory)
        try:
            # One connection shared by the listeners' threads, serialised by a lock.
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL" if directory is not None else "PRAGMA journal_mode=MEMORY")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataDirError(f"The emulator's state {target} cannot be opened ({exc}); {HARD_RESET_HINT}.") from None
        if directory is not None:
            for suffix in ("", "-wal", "-shm"):
                make_private(directory / (DATABASE_FILE + suffix))
        self._lock = threading.RLock()
        # Counts the changes to resources made through put/delete/clear (the only writers of that table), so
        # that readers may keep what they derived from a list until it changes (RBAC's assignment index).
        self.generation = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """One statement on its own, under the lock; its rows. Atomic by itself (SQLite's autocommit), without
        the two extra round trips of BEGIN and COMMIT."""
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The shared connection for reads: under the lock, without opening a write transaction."""
        with self._lock:
            yield self._db

    def ensure_table(self, ddl: str) -> None:
        with self._lock:
            self._db.executescript(ddl)

    # -- resources -----------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM resources WHERE key = ?", (resource_id.lower(),)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, resource_id: str, resource_type: str, body: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO resources(key, id, type, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET body = excluded.body",
                (resource_id.lower(), resource_id, resource_type, json.dumps(body)),
            )
            self.generation += 1

    def delete(self, resource_id: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM resources WHERE key = ?", (resource_id.lower(),))
            self.generation += 1
        return cursor.rowcount > 0

    def list(self, resource_type: str, under: str = "") -> list[dict[str, Any]]:
        """Resources of a type whose id starts with ``under`` (a scope), in insertion order."""
        prefix = under.lower().rstrip("/")
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM resources WHERE type = ? AND (key = ? OR key LIKE ? ESCAPE '\\') "
                "ORDER BY rowid",
                (resource_type, prefix, _like_prefix(prefix + "/")),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def next_number(self, name: str) -> int:
        """0, then 1, 2 … for each ``name``: a counter kept with the state (and cleared with it on reset).

        Ids the emulator makes up (a re-enabled identity's new principal) come from it, so they are the
        same in every run that takes the same steps from a reset world.
        """
        key = f"counter:{name}"
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (key,)).fetchone()
            number = int(row[0]) + 1 if row else 0
            db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", (key, str(number)))
        return number

    def clear(self) -> None:
        with self._lock:
            tables = [r[0] for r in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            self._db.execute("BEGIN IMMEDIATE")
            for table in tables:
                self._db.execute(f'DELETE FROM "{table}"')
            self._db.execute("COMMIT")
            self.generation += 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
