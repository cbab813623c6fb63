"""The statement engine: runs a batch for a session, statement by statement (``IF … ELSE`` and
``BEGIN … END`` included), and turns each into outcomes (results.py). Ordinary SQL is translated
(translate.py) and run on the database's SQLite connection after the session's permissions are checked;
the statements SQLite has no meaning for — transactions, variables, PRINT, WAITFOR, EXEC, users, roles and
grants (security.py) — are run by the engine itself. Writers take turns per database (the writer slot);
readers see committed rows (models.Database.connection_for_read)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from . import errors, procedures, security, sessiontables, tds, unsupported
from .batches import keyword, split_batch, split_top_level, string_literals, unquote
from .calls import Calls, Returned
from .catalog import DDL
from .conversions import client_value, convert
from .ddl import column_type, create_table, record_added_columns
from .errors import SqlError
from .models import Database, SessionState, SqlServer
from .options import apply_set
from .results import (
    CHUNK_ROWS,
    BatchResult,
    Info,
    Outcome,
    ResultSet,
    RowCount,
    RowStream,
    all_declared,
    declared_types,
    result_columns,
)
from .sqltypes import SqlType, sql_type
from .transactions import Transactions
from .translate import Translation, sqlite_error, translate

_NAME = r"(\[(?:[^\]]|\]\])+\]|\"[^\"]+\"|[^\s;,\[\]()]+)"
_CREATE_USER = re.compile(rf"^CREATE\s+USER\s+{_NAME}\s+FROM\s+EXTERNAL\s+PROVIDER"
                          r"(?:\s+WITH\s+OBJECT_ID\s*=\s*N?'([^']*)')?\s*$", re.I | re.S)
# the documented way to make an Entra user without asking Microsoft Graph: its SID (a service principal's or
# managed identity's client id, a user's or group's object id) and its type (E: user or application, X: group)
_CREATE_USER_WITH_SID = re.compile(rf"^CREATE\s+USER\s+{_NAME}\s+WITH\s+SID\s*=\s*0x([0-9a-f]*)\s*,\s*TYPE\s*=\s*([EX])"
                                   r"\s*$", re.I | re.S)
_DROP_USER = re.compile(rf"^DROP\s+USER\s+(IF\s+EXISTS\s+)?{_NAME}\s*$", re.I | re.S)
_ALTER_ROLE = re.compile(rf"^ALTER\s+ROLE\s+{_NAME}\s+(ADD|DROP)\s+MEMBER\s+{_NAME}\s*$", re.I | re.S)
_PART = r"(?:\[(?:[^\]]|\]\])+\]|\"[^\"]+\"|[\w@#$]+)"
_EXEC = re.compile(rf"^EXEC(?:UTE)?\s+(?:@(\w+)\s*=\s*)?({_PART}(?:\s*\.\s*{_PART}){{0,2}})(?:\s+(.*))?$", re.I | re.S)
_GRANT = re.compile(rf"^(GRANT|DENY|REVOKE)\s+(.+?)(?:\s+ON\s+(?:(OBJECT|SCHEMA|DATABASE)\s*::\s*)?{_NAME}"
                    rf"(?:\s*\.\s*{_NAME})?)?\s+(?:TO|FROM)\s+{_NAME}(?:\s+CASCADE)?\s*$", re.I | re.S)
_WAITFOR = re.compile(r"^WAITFOR\s+DELAY\s+N?'([^']*)'\s*$", re.I)
_BEGIN_OTHER = re.compile(r"^BEGIN\s+(?!TRAN\b|TRANSACTION\b)\w+", re.I)
_BEGIN_TRAN = re.compile(r"^BEGIN\s+(?:TRAN|TRANSACTION)(?:\s+(\w+))?(?:\s+WITH\s+MARK(?:\s+N?'[^']*')?)?\s*$",
                         re.I)
_COMMIT = re.compile(r"^COMMIT(?:\s+(?:TRAN|TRANSACTION|WORK))?(?:\s+\w+)?\s*$", re.I)
_ROLLBACK = re.compile(r"^ROLLBACK(?:\s+(?:TRAN|TRANSACTION|WORK))?(?:\s+(\w+))?\s*$", re.I)
_SAVE = re.compile(r"^SAVE\s+(?:TRAN|TRANSACTION)\s+(\w+)\s*$", re.I)
_SET_VARIABLE = re.compile(r"^SET\s+@(\w+)\s*=\s*(.+)$", re.I | re.S)
_DECLARE = re.compile(r"^DECLARE\s+(.+)$", re.I | re.S)
_DECLARATION = re.compile(r"^@(\w+)\s+(?:AS\s+)?(.+?)(?:\s*=\s*(.+))?$", re.I | re.S)
_PRINT = re.compile(r"^PRINT\s+(.+)$", re.I | re.S)
_IDENTITY_INSERT = re.compile(rf"^SET\s+IDENTITY_INSERT\s+(?P<table>{_NAME}(?:\s*\.\s*{_NAME}){{0,2}})\s+"
                              r"(?P<switch>ON|OFF)\s*$", re.I | re.S)
_TRUNCATE = re.compile(rf"^TRUNCATE\s+TABLE\s+{_NAME}(?:\s*\.\s*{_NAME})?\s*$", re.I | re.S)


class Engine(Transactions, Calls):
    """Runs batches for a session against its database, turning them into outcomes."""

    def __init__(self, server: SqlServer) -> None:
        self.server = server

    async def run_batch(self, state: SessionState, text: str, parameters: dict[str, Any] | None = None,
                        parameter_types: dict[str, SqlType] | None = None) -> BatchResult:
        result = BatchResult([])
        # variables live for a batch; a parameter's value in the stored form of its declared type
        state.variable_types = {k.lower(): t for k, t in (parameter_types or {}).items()}
        state.variables = {k.lower(): client_value(v, state.variable_types.get(k.lower()))
                           for k, v in (parameters or {}).items()}
        state.last_identity = None  # SCOPE_IDENTITY() is per scope: a new batch starts with none
        try:
            if procedures.is_definition(text):  # CREATE / ALTER PROCEDURE: the whole batch is its definition
                await self.define_procedure(state, text)
            elif kind := unsupported.object_kind(procedures.strip_leading_comments(text)):
                raise errors.unsupported(kind)  # CREATE FUNCTION …: named before its body is read as statements
            else:
                await self._run_statements(state, split_batch(text), result.outcomes)
        except Returned:  # RETURN ends the batch
            pass
        except SqlError as exc:
            result.error = exc
        finally:
            state.streaming = False
        ended = result.outcomes[-1] if result.error is None and result.outcomes else None
        if isinstance(ended, Info) and ended.ended_statement:
            result.error = result.outcomes.pop().error  # the last statement's error ends the batch's answer
        return result

    async def _run_statements(self, state: SessionState, statements: list[str], out: list[Outcome],
                              last: bool = True) -> None:
        """``last``: these statements end the request (the final one's rows may then be sent as read)."""
        if any(s.upper() in ("BEGIN", "ELSE", "END") or keyword(s) == "IF" for s in statements):
            index = 0  # check the IF / BEGIN … END structure first: a malformed batch runs nothing
            while index < len(statements):
                index = await self._run_one(state, statements, index, out, False, last)
        index = 0
        while index < len(statements):
            index = await self._run_one(state, statements, index, out, True, last)

    async def _run_one(self, state: SessionState, statements: list[str], index: int, out: list[Outcome],
                       run: bool, last: bool = True) -> int:
        """Run (or, when ``run`` is false, skip) the statement at ``index`` with what belongs to it:
        ``IF <condition> <statement> [ELSE <statement>]``, where a statement may be ``BEGIN … END``.
        The splitter leaves IF with its condition, BEGIN, ELSE and END as statements of their own.
        Returns the index after it."""
        if index >= len(statements):
            raise errors.syntax_error(statements[-1][-20:] if statements else "")
        text = statements[index]
        upper = text.upper()
        if _BEGIN_OTHER.match(text):  # BEGIN TRY / CATCH / DISTRIBUTED …: named before the structure is judged
            raise errors.unsupported(" ".join(upper.split()[:2]))
        if upper in ("ELSE", "END"):
            raise errors.syntax_error(upper)
        if upper == "BEGIN":
            index += 1
            while index < len(statements) and statements[index].upper() != "END":
                index = await self._run_one(state, statements, index, out, run, last)
            if index >= len(statements):
                raise errors.syntax_error("END")  # BEGIN without its END
            return index + 1
        if keyword(text) == "IF":
            condition = text[2:].strip()
            if not condition or index + 1 >= len(statements):
                raise errors.syntax_error(text[-20:])
            holds = bool(self._condition(state, condition)) if run else False
            if run:
                state.last_error = 0  # the IF is a statement too: @@ERROR was read by its condition, now cleared
            index = await self._run_one(state, statements, index + 1, out, run and holds, last)
            if index < len(statements) and statements[index].upper() == "ELSE":
                index = await self._run_one(state, statements, index + 1, out, run and not holds, last)
            return index
        if run:
            state.streaming = last and index == len(statements) - 1  # only the last result may stay half-read
            await self._statement_in_batch(state, text, out)
        return index + 1

    async def _statement_in_batch(self, state: SessionState, text: str, out: list[Outcome]) -> None:
        """One statement, with what its error ends (errors.STATEMENT_TERMINATING): a statement-terminating error is
        reported where it happened and the batch goes on; any other ends the batch. Under SET XACT_ABORT ON a
        run-time error also rolls the open transaction back. @@ERROR is the statement's error number, or 0."""
        try:
            await self._statement(state, text, out)
        except SqlError as exc:
            xact_abort = state.options.xact_abort
            if errors.aborts_transaction(exc, xact_abort) and state.in_transaction:
                descriptor = state.descriptor
                self.rollback(state)
                exc.rolled_back = descriptor
            if not errors.ends_statement_only(exc, xact_abort):
                raise
            state.last_error = exc.number
            out.append(Info(exc, ended_statement=True))
            return
        if keyword(text) != "RAISERROR":  # RAISERROR sets @@ERROR; every other statement that ran clears it
            state.last_error = 0

    def _identity_insert(self, state: SessionState, written: str, on: bool) -> None:
        """SET IDENTITY_INSERT <table> ON|OFF: explicit values for that table's identity column, one table per
        session at a time (208 for no such table, 8106 without an identity column, 8107 while another is ON)."""
        name = unquote(re.findall(_PART, written)[-1])  # [dbo].[Orders], dbo.Orders, Orders: the table's own name
        if name.startswith("#"):  # the session's #table, or a ##table
            scope = state.database.global_temp if name.startswith("##") else state.temp_scope.tables
            temporary = scope.get(name.lower())
            if temporary is None:
                raise errors.invalid_object(name)
            table, identity = name, temporary.identity
        else:
            found = state.database.table_name(name)
            if found is None:
                raise errors.invalid_object(name)
            table, identity = found, state.database.identities().get(found.lower(), frozenset())
        if not identity:
            raise errors.no_identity_property(table)
        current = state.options.identity_insert
        if on and current and current.lower() != table.lower():
            raise errors.identity_insert_already_on(state.database.name, current, table)
        if on:
            state.options.identity_insert = table
        elif current.lower() == table.lower():
            state.options.identity_insert = ""

    def _condition(self, state: SessionState, condition: str) -> bool:
        """An IF condition (EXISTS (…), OBJECT_ID(…) IS NULL, @x > 1 …), evaluated by SQLite."""
        return bool(self._evaluate(state, f"CASE WHEN {condition} THEN 1 ELSE 0 END"))

    # -- dispatch ----------------------------------------------------------------------------------
    async def _statement(self, state: SessionState, text: str, out: list[Outcome]) -> None:  # noqa: C901
        word = keyword(text)
        feature = unsupported.statement_feature(text, word)
        if feature is None and word in ("CREATE", "ALTER", "DROP") and not procedures.is_definition(text):
            feature = unsupported.object_kind(text)
        if feature is not None:
            raise errors.unsupported(feature)
        if word == "CREATE" and re.match(r"^CREATE\s+USER\b", text, re.I):
            if with_sid := _CREATE_USER_WITH_SID.match(text):
                name, sid, kind = unquote(with_sid.group(1)), bytes.fromhex(with_sid.group(2)), with_sid.group(3)
                await self.write(state, lambda: security.create_user_with_sid(state, name, sid, kind.upper()))
                return
            found = _CREATE_USER.match(text)
            if not found:
                raise errors.unsupported("CREATE USER without FROM EXTERNAL PROVIDER or WITH SID")
            directory = self.server.context.directory
            await self.write(state, lambda: security.create_user(state, directory, unquote(found.group(1)),
                                                                   found.group(2)))
            return
        if word in ("CREATE", "ALTER") and procedures.is_definition(text):
            raise errors.must_be_first_in_batch("CREATE/ALTER PROCEDURE")
        if word == "DROP" and re.match(r"^DROP\s+PROC(?:EDURE)?\b", text, re.I):
            await self.drop_procedure(state, text)
            return
        if word == "RETURN":
            self.return_statement(state, text)
        if word == "RAISERROR":
            self.raiserror(state, text, out)
            return
        if word == "THROW":
            self.throw(state, text)
        if word == "DROP" and re.match(r"^DROP\s+USER\b", text, re.I):
            found = _DROP_USER.match(text)
            if not found:
                raise errors.syntax_error("USER")
            await self.write(state, lambda: security.drop_user(state, unquote(found.group(2)), bool(found.group(1))))
            return
        if word == "ALTER" and re.match(r"^ALTER\s+ROLE\b", text, re.I):
            found = _ALTER_ROLE.match(text)
            if not found:
                raise errors.syntax_error("ROLE")
            role, action, member = unquote(found.group(1)), found.group(2).upper(), unquote(found.group(3))
            await self.write(state, lambda: security.alter_role(state, role, action, member))
            return
        if word in ("GRANT", "DENY", "REVOKE"):
            found = _GRANT.match(text)
            if not found:
                raise errors.unsupported(word)
            verb, permissions, scope = found.group(1).upper(), found.group(2), (found.group(3) or "").upper()
            first, second, grantee = found.group(4), found.group(5), unquote(found.group(6))
            await self.write(state, lambda: security.grant(state, verb, permissions, scope, first, second, grantee))
            return
        if word in ("EXEC", "EXECUTE"):
            await self._exec(state, text, out)
            return
        if word == "WAITFOR":
            found = _WAITFOR.match(text)
            if not found:
                raise errors.unsupported("WAITFOR")
            await asyncio.sleep(_delay_seconds(found.group(1)))
            return
        if word == "BEGIN":
            found = _BEGIN_TRAN.match(text)
            if not found:
                raise errors.unsupported(" ".join(text.split()[:2]).upper())  # BEGIN TRY, BEGIN DISTRIBUTED …
            out.extend(self.begin(state, found.group(1) or ""))
            return
        if word == "COMMIT":
            if not _COMMIT.match(text):
                raise errors.syntax_error("COMMIT")
            out.extend(self.commit(state))
            return
        if word == "ROLLBACK":
            found = _ROLLBACK.match(text)
            if not found:
                raise errors.syntax_error("ROLLBACK")
            out.extend(self.rollback(state, found.group(1) or ""))
            return
        if word == "SAVE":
            found = _SAVE.match(text)
            if not found:
                raise errors.syntax_error("SAVE")
            await self.save(state, found.group(1))
            return
        if word == "SET":
            if found := _SET_VARIABLE.match(text):
                name = found.group(1).lower()
                if name not in state.variables:
                    raise errors.must_declare("@" + found.group(1))
                state.variables[name] = self._assigned(state, name, found.group(2))
            elif found := _IDENTITY_INSERT.match(text):
                self._identity_insert(state, found.group("table"), found.group("switch").upper() == "ON")
            else:
                apply_set(state.options, text)  # SET options: options.py
            return
        if word == "DECLARE":
            self._declare(state, text)
            return
        if word == "USE":
            raise errors.use_not_supported()
        if word == "PRINT":
            found = _PRINT.match(text)
            assert found is not None
            out.append(Info(errors.print_message(str(self._evaluate(state, found.group(1))))))
            return
        if word == "TRUNCATE":
            found = _TRUNCATE.match(text)
            if not found:
                raise errors.syntax_error("TRUNCATE")
            table = unquote(found.group(2)) if found.group(2) else unquote(found.group(1)).split(".")[-1]
            await self._sql(state, f'DELETE FROM [{table}]', out, truncate=True)
            return
        if word in ("IF", "WHILE", "MERGE", "GO"):
            raise errors.unsupported(word)
        await self._sql(state, text, out)

    # -- ordinary SQL through sqlglot + SQLite ---------------------------------------------------------
    async def _sql(self, state: SessionState, text: str, out: list[Outcome], truncate: bool = False) -> None:
        database = state.database
        translation = translate(state.schema, text, state.variable_types)
        if translation.missing:
            raise errors.invalid_object(translation.missing)
        kind = translation.kind
        temporary = sessiontables.is_temporary(translation, translation.target)
        if kind == "create_table" and temporary:  # anyone may make #tables (in SQL Server's tempdb)
            await self.write(state, lambda: sessiontables.create(state, translation))
            return
        if kind == "drop_table" and temporary:
            await self.write(state, lambda: sessiontables.drop(state, translation))
            return
        if kind == "select_into":
            for table in translation.reads:
                self._require(state, "SELECT", table, translation)
            allowed = DDL in database.capabilities(state)
            bindings = _bindings(state, translation.sqlite)
            count = await self.write(state, lambda: sessiontables.select_into(state, translation, bindings, allowed))
            state.rowcount = count
            out.append(RowCount(tds.CMD_INSERT, count))  # rows written: clients report them as affected
            return
        if kind == "create_table":
            self._require_ddl(state, lambda: errors.create_table_denied(database.name))
            await self.write(state, lambda: self._create_table(state, translation))
            return
        if kind == "drop_table":
            name = translation.target or ""
            existing = database.table_name(name)
            if existing is None:
                if translation.if_exists:
                    return
                raise errors.cannot_drop_table(name)
            self._require_ddl(state, lambda: errors.cannot_drop_table(name))
            await self.write(state, lambda: self._drop_table(state, existing, translation))
            return
        if kind == "ddl":
            self._require_ddl(state, errors.no_permission_for_action)
            await self.write(state, lambda: self._run_ddl(state, translation))
            return
        if truncate:
            self._require_ddl(state, lambda: errors.permission_denied("ALTER", translation.target or "",
                                                                       database.name))
        for table in translation.reads:
            self._require(state, "SELECT", table, translation)
        if translation.identity_written is not None:
            target = translation.target or ""
            written = translation.temporary.get(target.lower(), target)  # a #table by the name the statement wrote
            identity_insert = state.options.identity_insert.lower() == written.lower()
            if translation.identity_written and not identity_insert:
                raise errors.identity_insert_off(written)
            if identity_insert and not translation.identity_written:
                raise errors.identity_value_required(written)
        if kind in ("insert", "update", "delete") and translation.target:
            self._require(state, kind.upper(), translation.target, translation)
            outcome = await self.write(state, lambda: self._execute(state, translation))
        else:
            outcome = self._execute(state, translation)
        out.append(outcome)

    def _execute(self, state: SessionState, translation: Translation) -> Outcome:
        database = state.database
        bindings = _bindings(state, translation.sqlite)
        with database.lock:
            database.current = state
            try:
                connection = database.connection_for_read(state) if translation.kind == "select" else database.conn
                cursor = connection.execute(translation.sqlite, bindings)
                rest = None
                if translation.returns_rows:
                    description = cursor.description or ()
                    types = declared_types(translation, state.variable_types)
                    if state.streaming and translation.kind == "select" and all_declared(types, description):
                        rows = cursor.fetchmany(CHUNK_ROWS)
                        if len(rows) == CHUNK_ROWS:
                            rest = RowStream(database, state, cursor, translation, len(rows))
                            database.streams.add(rest)
                    else:
                        rows = cursor.fetchall()
                else:
                    rows, description = [], ()
                count = cursor.rowcount if translation.kind != "select" else len(rows)
                if translation.kind == "insert" and translation.target:
                    identity = sessiontables.identity_of(state, translation) \
                        if sessiontables.is_temporary(translation, translation.target) \
                        else self._identity_column(database, translation.target)
                    if identity:
                        state.last_identity = cursor.lastrowid
            except sqlite3.Error as exc:
                raise sqlite_error(exc, database.name, translation) from None
            finally:
                database.current = None
        if translation.kind == "select" or translation.returns_rows:
            state.rowcount = len(rows)
            columns = result_columns(translation, declared_types(translation, state.variable_types), description,
                                     rows)
            command = tds.CMD_SELECT if translation.kind == "select" else _COMMANDS[translation.kind]
            return ResultSet(columns, rows, command, rest)
        state.rowcount = max(count, 0)
        return RowCount(_COMMANDS.get(translation.kind, tds.CMD_OTHER), max(count, 0))

    @staticmethod
    def _identity_column(database: Database, table: str) -> bool:
        with database.lock:
            row = database.conn.execute(
                "SELECT 1 FROM __emulator_columns WHERE table_name = ? AND is_identity = 1", (table,)).fetchone()
        return row is not None

    def _assigned(self, state: SessionState, name: str, expression: str) -> Any:
        """A variable's new value: the expression's, converted to the variable's declared type."""
        translation = translate(state.schema, f"SELECT {expression}", state.variable_types)
        value = self._evaluate(state, expression, translation)
        declared = state.variable_types.get(name)
        if declared is None:
            return value
        source = translation.types[0] if translation.types else None
        return convert(value, declared, source, state.options.conversion(), explicit=False)

    def _evaluate(self, state: SessionState, expression: str, translation: Translation | None = None) -> Any:
        translation = translation or translate(state.schema, f"SELECT {expression}", state.variable_types)
        for table in translation.reads:
            self._require(state, "SELECT", table, translation)
        outcome = self._execute(state, translation)
        assert isinstance(outcome, ResultSet)
        return outcome.rows[0][0] if outcome.rows else None

    def _declare(self, state: SessionState, text: str) -> None:
        found = _DECLARE.match(text)
        if not found:
            raise errors.syntax_error("DECLARE")
        for part in split_top_level(found.group(1)):
            declaration = _DECLARATION.match(part)
            if not declaration:
                raise errors.syntax_error(part[:30])
            name, declared, initial = declaration.groups()
            if declared.strip().upper().startswith("TABLE"):
                raise errors.unsupported("DECLARE @table TABLE")
            declared_type = sql_type(declared)
            if declared_type is None:
                raise errors.unsupported(f"variables of type {declared.strip()}")
            state.variable_types[name.lower()] = column_type(declared, "@" + name, 1)
            state.variables[name.lower()] = None
            if initial:
                state.variables[name.lower()] = self._assigned(state, name.lower(), initial)

    # -- permissions -----------------------------------------------------------------------------------
    @staticmethod
    def _require(state: SessionState, permission: str, table: str, translation: Translation | None = None) -> None:
        """The session holds ``permission`` on the table (catalog.allows), or SQL Server's 229; a session's
        #tables are its own to use."""
        if translation is not None and sessiontables.is_temporary(translation, table):
            return
        if state.procedure_id:  # in a procedure's body: the owner's rights (dbo owns every table and procedure)
            return
        database = state.database
        if not database.allows(state, permission, table):
            raise errors.permission_denied(permission, database.table_name(table) or table, database.name)

    @staticmethod
    def _require_ddl(state: SessionState, error: Callable[[], SqlError]) -> None:
        if DDL not in state.database.capabilities(state):
            raise error()

    def end_session(self, state: SessionState, keep_temporary: bool = False) -> None:
        """The session ends (or is reset): its transaction is rolled back."""
        state.tran_count = 0
        self.finish(state, "ROLLBACK")
        if not keep_temporary:
            self.reset_session(state)

    def reset_session(self, state: SessionState) -> None:
        """What a connection reset also undoes: the session's #tables are dropped."""
        sessiontables.release(state)

    # -- DDL --------------------------------------------------------------------------------------------
    def _create_table(self, state: SessionState, translation: Translation) -> None:
        create_table(state.database, translation)
        if state.in_transaction:
            state.ddl_in_transaction = True

    def _drop_table(self, state: SessionState, table: str, translation: Translation) -> None:
        database = state.database
        with database.lock:
            try:
                database.conn.execute(f'DROP TABLE "{table}"')
            except sqlite3.Error as exc:
                raise sqlite_error(exc, database.name, translation) from None
            database.conn.execute("DELETE FROM __emulator_tables WHERE name = ?", (table,))
            database.conn.execute("DELETE FROM __emulator_columns WHERE table_name = ?", (table,))
            database.conn.execute("DELETE FROM __emulator_permissions WHERE object = ?", (table,))
        self._schema_changed(state)

    def _run_ddl(self, state: SessionState, translation: Translation) -> None:
        database = state.database
        with database.lock:
            try:
                database.conn.execute(translation.sqlite)
            except sqlite3.Error as exc:
                raise sqlite_error(exc, database.name, translation) from None
            if translation.target and translation.added:
                record_added_columns(database, translation)
        self._schema_changed(state)

    def _schema_changed(self, state: SessionState) -> None:
        state.database.changed()
        if state.in_transaction:
            state.ddl_in_transaction = True

    async def _exec(self, state: SessionState, text: str, out: list[Outcome]) -> None:
        if re.match(r"^EXEC(?:UTE)?\s*\(", text, re.I):
            await self.exec_text(state, text[text.index("("):], out)
            return
        found = _EXEC.match(text)
        if not found:
            raise errors.syntax_error("EXEC")
        status_variable, written, rest = found.group(1), found.group(2), found.group(3) or ""
        parts = [unquote(p.strip()) for p in re.findall(_PART, written)]
        procedure = parts[-1].lower()
        arguments = string_literals(rest)
        if procedure in ("sp_addrolemember", "sp_droprolemember") and len(arguments) == 2:
            action = "ADD" if procedure == "sp_addrolemember" else "DROP"
            await self.write(state, lambda: security.alter_role(state, arguments[0], action, arguments[1]))
            return
        if procedure == "sp_executesql" and rest.strip():
            await self.execute_sql(state, rest, out)
            return
        if procedures.find(state.database, parts[-1]) is not None:
            await self.exec_statement(state, status_variable, ".".join(parts), rest, out)
            return
        procedures.refuse_system_procedure(procedure)
        raise errors.procedure_not_found(".".join(parts))


_COMMANDS = {"insert": tds.CMD_INSERT, "update": tds.CMD_UPDATE, "delete": tds.CMD_DELETE,
             "select": tds.CMD_SELECT}


def _delay_seconds(text: str) -> float:
    parts = text.strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise errors.syntax_error(text) from None
    while len(numbers) < 3:
        numbers.insert(0, 0.0)
    hours, minutes, seconds = numbers[-3:]
    return min(hours * 3600 + minutes * 60 + seconds, 24 * 3600)
_PARAMETER = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`)|@(\w+)")  # not in strings nor names


def _bindings(state: SessionState, sqlite_text: str) -> dict[str, Any]:
    if "@" not in sqlite_text:
        return {}
    bindings: dict[str, Any] = {}
    for match in _PARAMETER.finditer(sqlite_text):
        name = match.group(2)
        if not name or name in bindings:
            continue
        key = name.lower()
        if key not in state.variables:
            raise errors.must_declare("@" + name)
        value = state.variables[key]
        bindings[name] = bytes(value) if isinstance(value, bytearray) else value
    return bindings
