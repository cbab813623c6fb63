"""What statements give back: result sets (``ResultSet``, whose last rows may still be in SQLite, read
while the first are on the wire: ``RowStream``), row counts, messages and transaction events, and the
columns of a result typed from the declared types or, where unknown, from the values."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from . import tds
from .errors import SqlError
from .sqltypes import SqlType, infer_type
from .translate import Translation, sqlite_error


class StreamHost(Protocol):
    """The database a stream reads from (``models.Database``): its lock, the session whose statement
    is running (SQL functions answer for it) and the streams still open on it."""

    name: str
    lock: threading.RLock
    current: Any
    streams: weakref.WeakSet[RowStream]


class Reader(Protocol):
    """The session that ran the SELECT: @@ROWCOUNT is set once every row is read."""

    rowcount: int


CHUNK_ROWS = 1000  # rows fetched and encoded in the first step of a result sent while it is read
MAX_CHUNK_ROWS = 16000  # … and at most in a later step


@dataclass
class ResultSet:
    columns: list[tuple[str, SqlType]]
    rows: list[tuple[Any, ...]]
    command: int = tds.CMD_SELECT
    rest: RowStream | None = None  # rows still in SQLite, read while the first ones are on the wire

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[list[tuple[Any, ...]]]:
        """All the rows, a chunk at a time: those already read, then the rest as it is read. The first
        chunk is ``size`` rows (the first bytes leave early); each next one is twice the last, up to
        ``MAX_CHUNK_ROWS``, so a large result costs few hand-overs between the encoder and the socket
        (each may wait for the GIL when the emulator runs in the client's process)."""
        start = 0
        while start < len(self.rows):
            yield self.rows[start:start + size]
            start += size
            size = min(size * 2, MAX_CHUNK_ROWS)
        while self.rest is not None and (chunk := self.rest.fetch(size)):
            yield chunk
            size = min(size * 2, MAX_CHUNK_ROWS)

    def close(self) -> None:
        if self.rest is not None:
            self.rest.close()


class RowStream:
    """The unread rows of a SELECT, left in SQLite while the rows before them are sent.

    Only the last statement of a request streams, and only while nothing else uses the database:
    the next statement on the same database (any session's) first reads the rest into memory
    (``Database.conn`` does it), so no statement ever runs beside a half-read cursor and each
    result is what SQLite had when it was read, as before. SQL functions evaluated during the later
    reads (``SUSER_SNAME()``…) still see the session that ran the SELECT."""

    def __init__(self, database: StreamHost, state: Reader, cursor: sqlite3.Cursor,
                 translation: Translation, read: int) -> None:
        self.database = database
        self.state = state
        self.translation = translation
        self.read = read  # rows read so far, for @@ROWCOUNT once all are
        self._cursor: sqlite3.Cursor | None = cursor
        self._rows: list[tuple[Any, ...]] = []

    def fetch(self, size: int) -> list[tuple[Any, ...]]:
        if self._cursor is None:
            chunk, self._rows = self._rows[:size], self._rows[size:]
        else:
            chunk = self._read(lambda cursor: cursor.fetchmany(size))
        if not chunk:
            self.close()
        return chunk

    def materialize(self) -> None:
        """Read the rest into memory (someone else needs the database connection)."""
        if self._cursor is not None:
            self._rows = self._read(lambda cursor: cursor.fetchall())
            self._release()

    def close(self) -> None:
        self._release()
        self.state.rowcount = self.read

    def _read(self, action: Callable[[sqlite3.Cursor], list[Any]]) -> list[tuple[Any, ...]]:
        """Rows from the cursor (counted in ``read``), with the SELECT's session as the current one."""
        database = self.database
        assert self._cursor is not None
        with database.lock:
            previous, database.current = database.current, self.state
            try:
                rows = list(action(self._cursor))
                self.read += len(rows)
                return rows
            except sqlite3.Error as exc:
                self._release()
                raise sqlite_error(exc, database.name, self.translation) from None
            finally:
                database.current = previous

    def _release(self) -> None:
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
            self.database.streams.discard(self)
            cursor.close()


@dataclass
class RowCount:
    command: int
    count: int


@dataclass
class Info:
    error: SqlError
    ended_statement: bool = False  # a statement-terminating error (the batch went on), not RAISERROR or PRINT


@dataclass
class TransactionEvent:
    kind: int  # tds.ENV_BEGIN_TRAN / ENV_COMMIT_TRAN / ENV_ROLLBACK_TRAN
    descriptor: bytes


@dataclass
class ProcedureCall:
    """An EXEC of a procedure inside a batch: what its statements gave, then its return status. SQL Server
    answers the statements inside with DONEINPROC, then RETURNSTATUS and DONEPROC ([MS-TDS] 2.2.2.5, 2.2.7.8)."""
    outcomes: list[Outcome]
    status: int


Outcome = ResultSet | RowCount | Info | TransactionEvent | ProcedureCall


@dataclass
class BatchResult:
    outcomes: list[Outcome]
    error: SqlError | None = None


def declared_types(translation: Translation, variable_types: dict[str, SqlType]) -> list[SqlType | None] | None:
    """The result's column types known before its rows: the statement's, and a ``SELECT @p``'s from the
    variable's declaration (as SQL Server types it: decimal(10,2), not what its value looks like)."""
    types = translation.types
    variables = translation.variables
    if not variables or not variable_types or types is None or len(variables) != len(types):
        return types
    return [variable_types.get(variable) if found is None and variable else found
            for found, variable in zip(types, variables, strict=True)]


def all_declared(types: list[SqlType | None] | None, description: Sequence[Any]) -> bool:
    """Every result column has a declared type (a result typed from its values needs them all first)."""
    return bool(types) and len(types) == len(description) and all(t is not None for t in types)


def result_columns(translation: Translation, types: list[SqlType | None] | None, description: Sequence[Any],
                   rows: list[tuple[Any, ...]]) -> list[tuple[str, SqlType]]:
    names = [d[0] for d in description]
    if translation.names is not None and len(translation.names) == len(names):
        names = translation.names
    declared = types if types and len(types) == len(names) else None
    columns = []
    for index, name in enumerate(names):
        chosen = declared[index] if declared else None
        if chosen is None:
            chosen = infer_type([row[index] for row in rows])
        columns.append((name, chosen))
    return columns
