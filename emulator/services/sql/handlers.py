"""Thin request handlers: a SQL batch, an RPC or a transaction-manager request in, a token stream out.

The rules live in models.py (the engine); this module only maps TDS requests onto it and its
outcomes onto tokens (tds.py): result sets, row counts, messages, transaction changes, errors,
RETURNSTATUS/RETURNVALUE for procedures. Also the driver's own catalog procedures
(``sp_datatype_info_100``, ``sp_describe_undeclared_parameters``), answered plausibly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import encoding, errors, rows, rpc, tds
from .batches import split_top_level
from .conversions import client_value
from .dialect import load_sqlglot
from .engine import Engine
from .errors import SqlError
from .models import Prepared, SessionState, SqlServer
from .procedures import Argument
from .results import Info, Outcome, ProcedureCall, ResultSet, RowCount, TransactionEvent
from .sqltypes import BIGINT, BIT, INT, NVARCHAR_4000, SqlType, infer_type, sql_type

log = logging.getLogger(__name__)

# A response is a list of parts: token bytes, or a result set's tokens made while they are sent.
Part = bytes | Iterator[bytes]
_ENCODING_FAILURES = encoding.ENCODING_ERRORS


@dataclass
class Called:
    """What a procedure gave: its tokens, an error that ended it, its OUTPUT parameters (ordinal,
    parameter, value)."""

    body: list[Part] = field(default_factory=list)
    error: SqlError | None = None
    outputs: list[tuple[int, rpc.RpcParam, Any]] = field(default_factory=list)
    status: int = 0  # RETURN's


Procedure = Callable[[SessionState, Sequence[rpc.RpcParam]], Awaitable[Called]]


class Handlers:
    def __init__(self, server: SqlServer) -> None:
        self.server = server
        self.engine = Engine(server)
        # the procedures a client calls by RPC (by name, or by id for the sp_* the TDS spec numbers)
        self._procedures: dict[str, Procedure] = {
            "sp_executesql": self._executesql, "sp_prepexec": self._prepexec, "sp_prepare": self._prepare,
            "sp_execute": self._execute, "sp_prepexecrpc": self._prepexecrpc, "sp_unprepare": self._unprepare,
            "sp_datatype_info_100": self._datatype_info, "sp_datatype_info": self._datatype_info,
            "sp_describe_undeclared_parameters": self._describe_undeclared,
            "sp_addrolemember": partial(self._role_member, action="ADD"),
            "sp_droprolemember": partial(self._role_member, action="DROP"),
        }

    # -- SQL batch ---------------------------------------------------------------------------------
    async def sql_batch(self, state: SessionState, text: str) -> list[Part]:
        result = await self.engine.run_batch(state, text)
        final = result.error is None
        parts = self._outcomes(state, result.outcomes, tds.TOKEN_DONE, final=final)
        if result.error is not None:
            parts.append(self.error_token(result.error))
            parts.append(tds.done(tds.DONE_ERROR | self._xact(state), tds.CMD_OTHER, 0))
        elif not result.outcomes or not isinstance(result.outcomes[-1], (ResultSet, RowCount, ProcedureCall)):
            parts.append(tds.done(tds.DONE_FINAL | self._xact(state)))
        return parts

    # -- RPC -----------------------------------------------------------------------------------------
    async def rpc(self, state: SessionState, calls: Sequence[rpc.RpcCall]) -> list[Part]:
        parts: list[Part] = []
        for index, call in enumerate(calls):
            more = tds.DONE_MORE if index < len(calls) - 1 else 0
            try:
                parts += await self._call(state, call, more)
            except SqlError as exc:
                parts.append(self.error_token(exc))
                parts.append(tds.done(tds.DONE_ERROR | more | self._xact(state), tds.CMD_EXECUTE, 0,
                                      token=tds.TOKEN_DONEPROC))
        return parts

    async def _call(self, state: SessionState, call: rpc.RpcCall, more: int) -> list[Part]:
        """One procedure call: the procedure's own tokens, then RETURNSTATUS, the OUTPUT parameters as
        RETURNVALUE tokens, and DONEPROC (or its error and a DONEPROC with the error bit)."""
        outcome = await self._procedure(state, call.name or f"#{call.proc_id}", call.params)
        body = outcome.body
        if outcome.error is not None:
            body.append(self.error_token(outcome.error))
            body.append(tds.done(tds.DONE_ERROR | more | self._xact(state), tds.CMD_EXECUTE, 0,
                                 token=tds.TOKEN_DONEPROC))
            return body
        body.append(tds.returnstatus(outcome.status))
        for ordinal, param, value in outcome.outputs:
            declared = param.sql_type or INT
            if declared.name == "int" and isinstance(value, int) and not -(2**31) <= value < 2**31:
                declared = BIGINT
            body.append(encoding.returnvalue(ordinal, param.name, declared, value))
        body.append(tds.done(tds.DONE_FINAL | more | self._xact(state), tds.CMD_EXECUTE, 0,
                             token=tds.TOKEN_DONEPROC))
        return body

    async def _procedure(self, state: SessionState, name: str, params: Sequence[rpc.RpcParam]) -> Called:
        run = self._procedures.get(name.lower().split(".")[-1].strip("[]"))
        if run is None:
            return await self._user_procedure(state, name, params)
        return await run(state, params)

    async def _user_procedure(self, state: SessionState, name: str, params: Sequence[rpc.RpcParam]) -> Called:
        """A procedure made with CREATE PROCEDURE, called by name (its parameters by position or by name)."""
        arguments = [Argument(p.name or None, client_value(p.value, p.sql_type), p.sql_type, p.output)
                     for p in params]
        outcomes: list[Outcome] = []
        try:
            status, outputs = await self.engine.call_procedure(state, name, arguments, outcomes)
        except SqlError as exc:
            return Called(self._outcomes(state, outcomes, tds.TOKEN_DONEINPROC), exc)
        finally:
            state.streaming = False
        called = Called(self._outcomes(state, outcomes, tds.TOKEN_DONEINPROC), status=status)
        called.outputs = [(index, params[index], value) for index, value in sorted(outputs.items())]
        return called

    # -- the procedures a client calls by RPC ---------------------------------------------------------
    async def _executesql(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        return await self._statement(state, _text(params, 0), _text(params, 1), params[2:], 2)

    async def _prepexec(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        handle = self._prepare_handle(state, Prepared(_text(params, 2), _text(params, 1)))
        called = await self._statement(state, _text(params, 2), _text(params, 1), params[3:], 3)
        called.outputs.insert(0, (0, params[0], handle))
        return called

    async def _prepare(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        handle = self._prepare_handle(state, Prepared(_text(params, 2), _text(params, 1)))
        return Called(outputs=[(0, params[0], handle)])

    async def _prepexecrpc(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        """ODBC's ``{CALL proc (?, …)}`` with parameters: prepare a call of ``proc`` and run it."""
        procedure = _text(params, 1)
        handle = self._prepare_handle(state, Prepared(procedure=procedure))
        called = await self._procedure(state, procedure, params[2:])
        called.outputs = [(0, params[0], handle)] + [(o + 2, p, v) for o, p, v in called.outputs]
        return called

    async def _execute(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        handle = params[0].value if params else None
        prepared = state.prepared.get(handle) if isinstance(handle, int) else None
        if prepared is None:
            raise errors.prepared_not_found(int(handle or 0))
        if prepared.procedure is not None:
            called = await self._procedure(state, prepared.procedure, params[1:])
            called.outputs = [(o + 1, p, v) for o, p, v in called.outputs]
            return called
        return await self._statement(state, prepared.statement, prepared.declaration, params[1:], 1)

    async def _unprepare(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        handle = params[0].value if params else None
        state.prepared.pop(handle if isinstance(handle, int) else -1, None)
        return Called()

    async def _datatype_info(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        wanted = params[0].value if params else None
        return Called([self._result(state, _datatype_info(wanted if isinstance(wanted, int) else None),
                                    tds.TOKEN_DONEINPROC)])

    async def _describe_undeclared(self, state: SessionState, params: Sequence[rpc.RpcParam]) -> Called:
        described = _describe_parameters(state, _text(params, 0), _text(params, 1) if len(params) > 1 else "")
        return Called([self._result(state, described, tds.TOKEN_DONEINPROC)])

    async def _role_member(self, state: SessionState, params: Sequence[rpc.RpcParam], action: str) -> Called:
        if len(params) < 2:
            raise errors.procedure_expects("sp_addrolemember" if action == "ADD" else "sp_droprolemember",
                                           "@membername")
        verb = "ALTER ROLE [{}] {} MEMBER [{}]".format(
            str(params[0].value).replace("]", "]]"), action, str(params[1].value).replace("]", "]]"))
        result = await self.engine.run_batch(state, verb)
        return Called(error=result.error)

    # -- helpers --------------------------------------------------------------------------------------
    async def _statement(self, state: SessionState, statement: str, declaration: str,
                         values: Sequence[rpc.RpcParam], offset: int) -> Called:
        """Run a parameterized statement; OUTPUT parameters come back at their ordinal (``offset`` is the
        ordinal of the first value)."""
        bound, declared_outputs = _bind(declaration, values)
        result = await self.engine.run_batch(state, statement, bound, _declared_types(declaration))
        called = Called(self._outcomes(state, result.outcomes, tds.TOKEN_DONEINPROC), result.error)
        for position, param in enumerate(values):
            if param.output:
                key = declared_outputs.get(position) or param.name.lstrip("@")
                called.outputs.append((offset + position, param, state.variables.get(key.lower(), param.value)))
        return called

    @staticmethod
    def _prepare_handle(state: SessionState, prepared: Prepared) -> int:
        handle = state.next_handle
        state.next_handle += 1
        state.prepared[handle] = prepared
        return handle

    # -- transaction manager ---------------------------------------------------------------------------
    def transaction(self, state: SessionState, payload: bytes) -> bytes:
        kind, begin_after = tds.parse_transaction_request(payload)
        parts: list[bytes] = []
        try:
            if kind == tds.TM_BEGIN:
                outcomes = self.engine.begin(state)
            elif kind == tds.TM_COMMIT:
                outcomes = self.engine.commit(state)
            elif kind == tds.TM_ROLLBACK:
                outcomes = self.engine.rollback(state)
            elif kind in (tds.TM_GET_DTC, tds.TM_PROPAGATE, tds.TM_PROMOTE):
                raise errors.unsupported("distributed transactions")
            else:
                raise errors.unsupported("SAVE TRANSACTION")
            if begin_after:
                outcomes += self.engine.begin(state)
            parts += self._outcomes(state, outcomes, tds.TOKEN_DONE)
            parts.append(tds.done(tds.DONE_FINAL | self._xact(state)))
        except SqlError as exc:
            parts.append(self.error_token(exc))
            parts.append(tds.done(tds.DONE_ERROR | self._xact(state)))
        return b"".join(parts)

    # -- encoding ----------------------------------------------------------------------------------------
    def error_token(self, error: SqlError) -> bytes:
        """The error's ERROR (or INFO) token; after it, the ENVCHANGE of the transaction it rolled back (XACT_ABORT)."""
        token = tds.TOKEN_INFO if error.severity <= 10 else tds.TOKEN_ERROR
        message = tds.message(token, error.number, error.state, error.severity, error.message, self.server.name)
        if error.rolled_back is None:
            return message
        return message + tds.env_end_transaction(tds.ENV_ROLLBACK_TRAN, error.rolled_back)

    @staticmethod
    def _xact(state: SessionState) -> int:
        return tds.DONE_INXACT if state.in_transaction else 0

    def _outcomes(self, state: SessionState, outcomes: Sequence[Any], done_token: int,
                  final: bool = False) -> list[Part]:
        """Parts for the outcomes; with ``final`` the last statement's DONE ends the response (no MORE)."""
        parts: list[Part] = []
        for index, outcome in enumerate(outcomes):
            last = final and index == len(outcomes) - 1
            if isinstance(outcome, ResultSet):
                parts.append(self._result_stream(state, outcome, done_token, last=last))
            elif isinstance(outcome, RowCount):
                status = (0 if last else tds.DONE_MORE) | (0 if state.nocount else tds.DONE_COUNT) | self._xact(state)
                parts.append(tds.done(status, outcome.command, outcome.count, token=done_token))
            elif isinstance(outcome, Info):
                parts.append(self.error_token(outcome.error))
                if outcome.error.severity > 10:  # an error the batch goes on after (RAISERROR): its DONE says so
                    parts.append(tds.done(tds.DONE_ERROR | tds.DONE_MORE | self._xact(state), tds.CMD_OTHER, 0,
                                          token=done_token))
            elif isinstance(outcome, TransactionEvent):
                if outcome.kind == tds.ENV_BEGIN_TRAN:
                    parts.append(tds.env_begin_transaction(outcome.descriptor))
                else:
                    parts.append(tds.env_end_transaction(outcome.kind, outcome.descriptor))
            elif isinstance(outcome, ProcedureCall):  # EXEC in a batch: DONEINPROC inside, RETURNSTATUS, DONEPROC
                parts += self._outcomes(state, outcome.outcomes, tds.TOKEN_DONEINPROC)
                parts.append(tds.returnstatus(outcome.status))
                parts.append(tds.done((0 if last else tds.DONE_MORE) | self._xact(state), tds.CMD_EXECUTE, 0,
                                      token=tds.TOKEN_DONEPROC))
        return parts

    def _result(self, state: SessionState, result: ResultSet, done_token: int, last: bool = False) -> bytes:
        return b"".join(self._result_stream(state, result, done_token, last))

    def _result_stream(self, state: SessionState, result: ResultSet, done_token: int,
                       last: bool = False) -> Iterator[bytes]:
        """COLMETADATA with the first rows, the other rows a chunk at a time, then DONE; made while
        the session sends them (and, for a SELECT's rows still in SQLite, while they are read), so a
        large result is on the wire before it is all encoded.

        The columns are typed from the declared types; when the first rows do not fit them (SQLite
        keeps what it was given), from the values instead. A later row that fits neither ends the
        result set with SQL Server's conversion error after the rows already sent, as SQL Server does.
        """
        more = 0 if last else tds.DONE_MORE
        sent = 0
        try:
            chunks = result.chunks()
            first = next(chunks, [])
            columns = list(result.columns)
            try:
                encode = partial(rows.encode_columns, [t for _, t in columns])
                encoded = encode(first)
            except _ENCODING_FAILURES:
                columns = [(name, infer_type([r[i] for r in result.rows])) for i, (name, _) in enumerate(columns)]
                encode = partial(rows.encode_rows, [encoding.column_encoder(t) for _, t in columns])
                encoded = encode(first)
            yield encoding.colmetadata(columns) + encoded
            sent = len(first)
            for chunk in chunks:
                yield encode(chunk)
                sent += len(chunk)
        except _ENCODING_FAILURES as exc:
            yield self._failed(state, errors.conversion_failed(str(exc)), done_token, more, sent)
            return
        except SqlError as exc:
            yield self._failed(state, exc, done_token, more, sent)
            return
        finally:
            result.close()
        status = more | (0 if state.nocount else tds.DONE_COUNT) | self._xact(state)
        yield tds.done(status, result.command, sent, token=done_token)

    def _failed(self, state: SessionState, error: SqlError, done_token: int, more: int, sent: int) -> bytes:
        status = tds.DONE_ERROR | more | (0 if state.nocount or not sent else tds.DONE_COUNT) | self._xact(state)
        return self.error_token(error) + tds.done(status, tds.CMD_SELECT, sent, token=done_token)


def _text(params: Sequence[rpc.RpcParam], index: int) -> str:
    if index >= len(params) or params[index].value is None:
        return ""
    value = params[index].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace") if isinstance(value, bytes) \
        else str(value)


_DECLARED = re.compile(r"^\s*@(\w+)\s+(.+?)(\s+(?:OUTPUT|OUT))?\s*$", re.I | re.S)


def _declared_types(declaration: str) -> dict[str, SqlType]:
    """The parameters' declared types by name ("@p decimal(10,2), @q bit OUTPUT"), those the emulator has."""
    found = {}
    for part in split_top_level(declaration):
        if (declared := _DECLARED.match(part)) and (parameter_type := sql_type(declared.group(2))) is not None:
            found[declared.group(1)] = parameter_type
    return found


def _bind(declaration: str, values: Sequence[rpc.RpcParam]) -> tuple[dict[str, Any], dict[int, str]]:
    """Parameter values by name (positional ones take the declaration's names)."""
    declared = [m.group(1) for part in split_top_level(declaration) if (m := _DECLARED.match(part))]
    bound: dict[str, Any] = {}
    outputs: dict[int, str] = {}
    for position, param in enumerate(values):
        name = param.name.lstrip("@") or (declared[position] if position < len(declared) else f"P{position + 1}")
        bound[name] = param.value
        if param.output:
            outputs[position] = name
    return bound, outputs


# -- the driver's catalog procedures ------------------------------------------------------------------
_SMALLINT = SqlType("smallint")
_SYSNAME = SqlType("nvarchar", 128)

_TYPE_INFO_COLUMNS = [
    ("TYPE_NAME", _SYSNAME), ("DATA_TYPE", _SMALLINT), ("COLUMN_SIZE", INT),
    ("LITERAL_PREFIX", SqlType("nvarchar", 32)), ("LITERAL_SUFFIX", SqlType("nvarchar", 32)),
    ("CREATE_PARAMS", SqlType("nvarchar", 32)), ("NULLABLE", _SMALLINT), ("CASE_SENSITIVE", _SMALLINT),
    ("SEARCHABLE", _SMALLINT), ("UNSIGNED_ATTRIBUTE", _SMALLINT), ("MONEY", _SMALLINT),
    ("AUTO_INCREMENT", _SMALLINT), ("LOCAL_TYPE_NAME", _SYSNAME), ("MINIMUM_SCALE", _SMALLINT),
    ("MAXIMUM_SCALE", _SMALLINT), ("SQL_DATA_TYPE", _SMALLINT), ("SQL_DATETIME_SUB", _SMALLINT),
    ("NUM_PREC_RADIX", INT), ("INTERVAL_PRECISION", _SMALLINT), ("USERTYPE", _SMALLINT),
]
# name, ODBC type, size, prefix, suffix, create params, case sensitive, searchable, unsigned, money, min/max scale,
# SQL data type, datetime sub, radix
_TYPES: list[tuple[Any, ...]] = [
    ("bit", -7, 1, None, None, None, 0, 2, None, 0, 0, 0, -7, None, None),
    ("tinyint", -6, 3, None, None, None, 0, 2, 1, 0, 0, 0, -6, None, 10),
    ("bigint", -5, 19, None, None, None, 0, 2, 0, 0, 0, 0, -5, None, 10),
    ("varbinary", -3, 8000, "0x", None, "max length", 0, 2, None, 0, None, None, -3, None, None),
    ("nvarchar", -9, 4000, "N'", "'", "max length", 0, 3, None, 0, None, None, -9, None, None),
    ("uniqueidentifier", -11, 36, "'", "'", None, 0, 2, None, 0, None, None, -11, None, None),
    ("varchar", 12, 8000, "'", "'", "max length", 0, 3, None, 0, None, None, 12, None, None),
    ("decimal", 3, 38, None, None, "precision,scale", 0, 2, 0, 0, 0, 38, 3, None, 10),
    ("int", 4, 10, None, None, None, 0, 2, 0, 0, 0, 0, 4, None, 10),
    ("smallint", 5, 5, None, None, None, 0, 2, 0, 0, 0, 0, 5, None, 10),
    ("float", 6, 53, None, None, None, 0, 2, 0, 0, None, None, 6, None, 2),
    ("real", 7, 24, None, None, None, 0, 2, 0, 0, None, None, 7, None, 2),
    ("date", 91, 10, "'", "'", None, 0, 3, None, 0, None, None, 9, 1, None),
    ("time", 92, 16, "'", "'", "scale", 0, 3, None, 0, 0, 7, 9, 2, None),
    ("datetime2", 93, 27, "'", "'", "scale", 0, 3, None, 0, 0, 7, 9, 3, None),
    ("datetime", 93, 23, "'", "'", None, 0, 3, None, 0, 3, 3, 9, 3, None),
]


def _datatype_info(wanted: int | None) -> ResultSet:
    rows = []
    for name, odbc, size, prefix, suffix, create, case, searchable, unsigned, money, lo, hi, sql_t, sub, radix in \
            _TYPES:
        if wanted not in (None, 0) and odbc != wanted:
            continue
        rows.append((name, odbc, size, prefix, suffix, create, 1, case, searchable, unsigned, money, 0, name, lo, hi,
                     sql_t, sub, radix, None, 0))
    return ResultSet(list(_TYPE_INFO_COLUMNS), rows)


_DESCRIBE_COLUMNS = [
    ("parameter_ordinal", INT), ("name", _SYSNAME), ("suggested_system_type_id", INT),
    ("suggested_system_type_name", SqlType("nvarchar", 256)), ("suggested_max_length", _SMALLINT),
    ("suggested_precision", SqlType("tinyint")), ("suggested_scale", SqlType("tinyint")),
    ("suggested_user_type_id", INT), ("suggested_user_type_database", _SYSNAME),
    ("suggested_user_type_schema", _SYSNAME), ("suggested_user_type_name", _SYSNAME),
    ("suggested_assembly_qualified_type_name", SqlType("nvarchar", 4000)),
    ("suggested_xml_collection_id", INT), ("suggested_xml_collection_database", _SYSNAME),
    ("suggested_xml_collection_schema", _SYSNAME), ("suggested_xml_collection_name", _SYSNAME),
    ("suggested_is_xml_document", BIT), ("suggested_is_case_sensitive", BIT),
    ("suggested_is_fixed_length_type", BIT), ("suggested_is_input", BIT),
    ("suggested_is_output", BIT), ("formal_parameter_name", _SYSNAME),
    ("suggested_tds_type_id", INT), ("suggested_tds_length", INT),
]
# type name -> (system type id, tds type id, max length, fixed)
_SYSTEM_TYPES = {"int": (56, 38, 4, 1), "bigint": (127, 38, 8, 1), "smallint": (52, 38, 2, 1),
                 "tinyint": (48, 38, 1, 1), "bit": (104, 104, 1, 1), "float": (62, 109, 8, 1),
                 "real": (59, 109, 4, 1), "decimal": (106, 106, 17, 1), "nvarchar": (231, 231, 8000, 0),
                 "varbinary": (165, 165, 8000, 0), "datetime2": (42, 42, 8, 1), "date": (40, 40, 3, 1),
                 "time": (41, 41, 5, 1), "uniqueidentifier": (36, 36, 16, 1)}


def _describe_parameters(state: SessionState, statement: str, declaration: str) -> ResultSet:
    declared = {m.group(1).lower() for part in re.split(r",(?![^(]*\))", declaration)
                if (m := _DECLARED.match(part))}
    names: list[str] = []
    for match in re.finditer(r"('(?:[^']|'')*')|(?<!@)@(\w+)", statement):
        name = match.group(2)
        if name and name.lower() not in declared and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    suggestions = _suggest_types(state, statement)
    rows = []
    for ordinal, name in enumerate(names, start=1):
        chosen = suggestions.get(name.lower(), NVARCHAR_4000)
        system_id, tds_id, length, fixed = _SYSTEM_TYPES.get(chosen.name, _SYSTEM_TYPES["nvarchar"])
        if chosen.name in ("nvarchar", "varbinary"):
            length = -1 if chosen.length < 0 else chosen.length * (2 if chosen.name == "nvarchar" else 1)
        rows.append((ordinal, "@" + name, system_id, chosen.declaration(), length, chosen.precision, chosen.scale,
                     system_id, None, None, None, None, None, None, None, None, 0, 0, fixed, 1, 0, "@" + name,
                     tds_id, length))
    return ResultSet(list(_DESCRIBE_COLUMNS), rows)


def _suggest_types(state: SessionState, statement: str) -> dict[str, SqlType]:
    """Types for parameters compared with, or inserted into, declared columns."""
    load_sqlglot()  # not imported at module level: the emulator starts without sqlglot
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(statement, read="tsql")
    except Exception:  # noqa: BLE001 - no suggestion is fine; the driver then binds nvarchar
        return {}
    if tree is None:
        return {}
    columns = state.database.columns()
    tables = [t.name.lower() for t in tree.find_all(exp.Table)]

    def column_type(column: str) -> SqlType | None:
        for table in tables:
            for name, declared in columns.get(table, []):
                if name.lower() == column.lower():
                    return declared
        return None

    found: dict[str, SqlType] = {}
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        targets = [c.name for c in tree.this.expressions]
        values = tree.expression
        if isinstance(values, exp.Values):
            for row in values.expressions:
                for column, value in zip(targets, row.expressions, strict=False):
                    if isinstance(value, exp.Parameter) and (chosen := column_type(column)) is not None:
                        found[value.name.lower()] = chosen
    for binary in tree.find_all(exp.Binary):
        left, right = binary.left, binary.right
        if isinstance(right, exp.Column) and isinstance(left, exp.Parameter):
            left, right = right, left
        if isinstance(left, exp.Column) and isinstance(right, exp.Parameter):
            chosen = column_type(left.name)
            if chosen is not None:
                found[right.name.lower()] = chosen
    return found


__all__ = ["Handlers", "sql_type"]
