"""The engine's side of #temp tables (temporary.py holds what they are): CREATE TABLE #t, SELECT … INTO
(a #table or a new table of the database), DROP TABLE #t, and the tables a session leaves behind when it
ends or its connection is reset.

Every write of a database goes through its one SQLite connection, which the session holding the writer slot
may have in an open transaction; a session that ends while another holds the slot cannot drop its
#tables there without putting the drop into that transaction, so it leaves them to be dropped when the slot
is next free (``drop_orphans``). Their names are the ending session's own (its spid, never reused while the
emulator runs), so no other statement can reach them meanwhile."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from . import errors
from .ddl import create_table
from .sqltypes import NVARCHAR_4000
from .temporary import TEMPDB, TempTable
from .translate import Translation, sqlite_error, translate

if TYPE_CHECKING:
    from .models import Database, SessionState


def is_temporary(translation: Translation, table: str | None) -> bool:
    """Does the statement's ``table`` (as the translation names it) stand for a #table?"""
    return bool(table) and (table or "").lower() in translation.temporary


def written(translation: Translation, table: str) -> str:
    return translation.temporary.get(table.lower(), table)


def create(state: SessionState, translation: Translation) -> None:
    """CREATE TABLE #t (the writer slot held): made in tempdb, its shape kept with the session."""
    physical = translation.target or ""
    name = written(translation, physical)
    if state.schema.find(name) is not None:
        raise errors.object_exists(name)
    shape = create_table(state.database, translation, temporary=True)
    table = TempTable(name, physical, shape.columns, shape.not_null, shape.identity, owner=state.spid)
    if table.shared:
        state.database.global_temp[name.lower()] = table
    else:
        state.temp_scope.tables[name.lower()] = table
    state.temp_scope.version += 1
    if state.in_transaction:
        state.ddl_in_transaction = True


def drop(state: SessionState, translation: Translation) -> None:
    """DROP TABLE #t (the writer slot held)."""
    physical = translation.target or ""
    name = written(translation, physical)
    database = state.database
    with database.lock:
        try:
            database.conn.execute(f'DROP TABLE {TEMPDB}."{physical}"')
        except sqlite3.Error as exc:
            raise sqlite_error(exc, database.name, translation) from None
    _forget(state, name)
    if state.in_transaction:
        state.ddl_in_transaction = True


def _forget(state: SessionState, name: str) -> None:
    lowered = name.lower()
    if lowered.startswith("##"):
        state.database.global_temp.pop(lowered, None)
    else:
        state.temp_scope.tables.pop(lowered, None)
    state.temp_scope.version += 1


def select_into(state: SessionState, translation: Translation, bindings: dict[str, Any],
                allowed_to_create: bool) -> int:
    """SELECT … INTO t (the writer slot held): t made with the SELECT's column names and types (as SQL Server
    does: the columns' declared types and nullability, computed columns as typed), then filled. Returns the
    number of rows. A table of the database needs CREATE TABLE permission (``allowed_to_create``); a
    #table does not."""
    database = state.database
    name = translation.into or ""
    temporary = is_temporary(translation, translation.target)
    if temporary:
        if state.schema.find(name) is not None:
            raise errors.object_exists(name)
    else:
        if not allowed_to_create:
            raise errors.create_table_denied(database.name)
        if database.table_name(name) is not None:
            raise errors.object_exists(name)
    with database.lock:
        try:
            cursor = database.conn.execute(f"SELECT * FROM ({translation.sqlite}) LIMIT 0", bindings)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, database.name, translation) from None
        names = [d[0] for d in cursor.description or ()]
    if translation.names is not None and len(translation.names) == len(names):
        names = translation.names
    for ordinal, column in enumerate(names, start=1):
        if not column:
            raise errors.no_column_name(ordinal, name)
    types = translation.types if translation.types and len(translation.types) == len(names) else [None] * len(names)
    definitions = ", ".join(
        f"[{column.replace(']', ']]')}] {(found or NVARCHAR_4000).declaration()}"
        f"{'' if found is None or found.nullable else ' NOT NULL'}" for column, found in zip(names, types, strict=True))
    creation = translate(state.schema, f"CREATE TABLE [{name.replace(']', ']]')}] ({definitions})")
    if temporary:
        create(state, creation)
    else:
        create_table(database, creation)
        if state.in_transaction:
            state.ddl_in_transaction = True
    target = f'{TEMPDB}."{translation.target}"' if temporary else f'"{name}"'
    with database.lock:
        try:
            cursor = database.conn.execute(f"INSERT INTO {target} {translation.sqlite}", bindings)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, database.name, translation) from None
    return max(cursor.rowcount, 0)


def identity_of(state: SessionState, translation: Translation) -> bool:
    """Has the #table an INSERT writes to an IDENTITY column?"""
    found = state.schema.find(written(translation, translation.target or ""))
    return bool(found and found.identity)


def release(state: SessionState) -> None:
    """The session ends, or its connection is reset: its #tables and the ##tables it made are dropped (now, or
    when the writer slot is next free)."""
    database = state.database
    scope = state.temp_scope
    physical = [t.physical for t in scope.tables.values()]
    for key, table in list(database.global_temp.items()):
        if table.owner == state.spid:
            physical.append(table.physical)
            del database.global_temp[key]
    scope.tables.clear()
    scope.version += 1
    if not physical:
        return
    database.orphans.extend(physical)
    if database.writer is None or database.writer is state:
        drop_orphans(database)


def drop_orphans(database: Database) -> None:
    """Drop the #tables of ended sessions (called when no other session holds the writer slot)."""
    if not database.orphans:
        return
    with database.lock:
        if database.conn.in_transaction:
            return  # an open transaction of the session that holds the slot: later
        for physical in database.orphans:
            database.conn.execute(f'DROP TABLE IF EXISTS {TEMPDB}."{physical}"')
        database.orphans.clear()
