"""Transactions of a session: BEGIN/COMMIT/ROLLBACK (T-SQL statements and the transaction manager
requests alike), SAVE TRANSACTION and ROLLBACK TRANSACTION to a savepoint, and the writer slot.

All writes of a database go through one SQLite connection; a session that writes inside a transaction
owns the database's writer slot until it commits or rolls back, and other writers wait for it
(``LOCK_TIMEOUT``: the session's SET LOCK_TIMEOUT, else 10 s, then SQL Server's 1222). The SQLite
transaction begins lazily, with the session's first write. A savepoint is SQLite's SAVEPOINT (under a
name of the emulator's, 'sp1' …, kept beside the T-SQL name): ROLLBACK TRANSACTION <savepoint> undoes
what followed it and keeps the transaction and @@TRANCOUNT, as in SQL Server; a name that is neither a
savepoint nor the transaction's is 6401."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from . import errors, sessiontables, tds
from .models import SessionState
from .results import Outcome, TransactionEvent

LOCK_TIMEOUT_SECONDS = 10.0  # a writer waits this long for another session's transaction, then gets 1222


class Transactions:
    """The transaction side of the engine (engine.py's Engine is one)."""

    async def write(self, state: SessionState, action: Callable[[], Any]) -> Any:
        """Run ``action`` holding the database's writer slot (waiting for another session's transaction)."""
        database = state.database
        loop = asyncio.get_running_loop()
        wait = state.options.lock_timeout / 1000 if state.options.lock_timeout >= 0 else LOCK_TIMEOUT_SECONDS
        deadline = loop.time() + min(wait, LOCK_TIMEOUT_SECONDS)
        while database.writer is not None and database.writer is not state:
            if loop.time() >= deadline:
                raise errors.lock_timeout()
            await asyncio.sleep(0.005)
        if database.writer is state:
            return action()
        database.writer = state
        sessiontables.drop_orphans(database)  # #tables of sessions that ended while another held the slot
        if state.in_transaction:
            with database.lock:
                if not database.conn.in_transaction:
                    database.conn.execute("BEGIN")
            return action()  # the writer slot stays with the session until COMMIT/ROLLBACK
        try:
            return action()
        finally:
            database.writer = None

    def begin(self, state: SessionState, name: str = "") -> list[Outcome]:
        state.tran_count += 1
        if state.tran_count > 1:
            return []
        state.descriptor = uuid.uuid4().bytes[:8]
        state.transaction_name = name
        state.savepoints.clear()
        return [TransactionEvent(tds.ENV_BEGIN_TRAN, state.descriptor)]

    def commit(self, state: SessionState) -> list[Outcome]:
        if state.tran_count == 0:
            raise errors.commit_without_begin()
        state.tran_count -= 1
        if state.tran_count > 0:
            return []
        self.finish(state, "COMMIT")
        return [TransactionEvent(tds.ENV_COMMIT_TRAN, state.descriptor)]

    def rollback(self, state: SessionState, name: str = "") -> list[Outcome]:
        """ROLLBACK [TRANSACTION [name]]: the whole transaction, or to the savepoint of that name."""
        if state.tran_count == 0:
            raise errors.rollback_without_begin()
        if name:
            savepoint = next((s for s in reversed(state.savepoints) if s[0] == name), None)
            if savepoint is not None:
                self._rollback_to(state, savepoint)
                return []
            if name != state.transaction_name:
                raise errors.no_such_savepoint(name)
        state.tran_count = 0
        self.finish(state, "ROLLBACK")
        return [TransactionEvent(tds.ENV_ROLLBACK_TRAN, state.descriptor)]

    async def save(self, state: SessionState, name: str) -> None:
        """SAVE TRANSACTION name: a savepoint in the open transaction (628 without one)."""
        if not state.in_transaction:
            raise errors.save_without_transaction()
        sqlite_name = f"sp{len(state.savepoints) + 1}"

        def mark() -> None:
            with state.database.lock:
                state.database.conn.execute(f"SAVEPOINT {sqlite_name}")

        await self.write(state, mark)
        state.savepoints.append((name, sqlite_name))

    def _rollback_to(self, state: SessionState, savepoint: tuple[str, str]) -> None:
        database = state.database
        index = state.savepoints.index(savepoint)
        del state.savepoints[index + 1:]  # the savepoint itself stays: it can be rolled back to again
        if database.writer is state:
            with database.lock:
                if database.conn.in_transaction:
                    database.conn.execute(f"ROLLBACK TO {savepoint[1]}")
                database.security_changed()
                database.changed()
        self.forget_lost_temporary(state)

    def finish(self, state: SessionState, verb: str) -> None:
        database = state.database
        state.savepoints.clear()
        if database.writer is not state:
            return
        with database.lock:
            if database.conn.in_transaction:
                database.conn.execute(verb)
            database.writer = None
            sessiontables.drop_orphans(database)
            if verb == "ROLLBACK":  # a GRANT or ALTER ROLE may have been undone
                database.security_changed()
            if state.ddl_in_transaction:
                database.changed()
        state.ddl_in_transaction = False
        if verb == "ROLLBACK":
            self.forget_lost_temporary(state)

    def forget_lost_temporary(self, state: SessionState) -> None:
        """#tables made inside a transaction that was rolled back are gone: forget them too."""
        scope = state.temp_scope
        if not scope.tables:
            return
        with state.database.lock:
            existing = {row[0].lower() for row in state.database.conn.execute(
                "SELECT name FROM tempdb.sqlite_master WHERE type = 'table'")}
        for name, table in list(scope.tables.items()):
            if table.physical.lower() not in existing:
                del scope.tables[name]
                scope.version += 1
