"""The SQL functions that answer for the session running a statement, registered on each SQLite connection
of a database: conversions that depend on the session's SET options (``__tsql_convert``, ``__tsql_assign``,
DATEPART's DATEFIRST), who is asking (SUSER_SNAME, HOST_NAME, APP_NAME …) and the @@ functions
(``__global_<name>``, what the translator writes for @@<name>). ``session`` gives the session whose
statement runs on the connection (``Database.current``); the functions run only while one does."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from . import conversions, errors
from .builtins import tsql_datepart
from .errors import SqlError, raise_in_function
from .options import SessionOptions

MAX_CONNECTIONS = 32767  # @@MAX_CONNECTIONS as SQL Server answers it


class Asker(Protocol):
    """What the functions read of the session (``models.SessionState``)."""

    login_name: str
    user_name: str
    spid: int
    rowcount: int
    tran_count: int
    last_identity: int | None
    last_error: int
    nest_level: int
    procedure_id: int
    host_name: str
    app_name: str
    options: SessionOptions


_DEFAULT_OPTIONS = SessionOptions()


def register(conn: sqlite3.Connection, session: Callable[[], Asker | None], database_name: str,
             server_name: str, version: str) -> None:
    def options() -> SessionOptions:
        state = session()
        return state.options if state is not None else _DEFAULT_OPTIONS

    def convert(value: Any, target: str, source: str, style: Any, strict: int) -> Any:
        """CAST/CONVERT/TRY_CAST/TRY_CONVERT (rewrite.py): NULL from a TRY_ when the value does not convert."""
        declared = conversions.declared(target)
        if declared is None:
            return value
        try:
            if style is not None and declared.is_date and isinstance(value, str):
                return conversions.read_date_in_style(value, int(style), declared)
            if style is not None and declared.is_string:
                return conversions.text_in_style(value, conversions.declared(source), declared, int(style))
            return conversions.convert(value, declared, conversions.declared(source), options().conversion())
        except SqlError as exc:
            if strict or exc.number in (529, 206):  # TRY_ still refuses a conversion that is not allowed
                raise_in_function(exc)
            return None
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            if strict:
                raise_in_function(errors.conversion_failed(f"{value!r} to {target}"))
            return None

    def assign(value: Any, target: str, source: str, table: str, column: str) -> Any:
        """A value written into a column (assignments.py)."""
        declared = conversions.declared(target)
        if declared is None:
            return value
        try:
            return conversions.assign(value, declared, conversions.declared(source), table, column,
                                      options().conversion())
        except SqlError as exc:
            raise_in_function(exc)
            raise

    def answer(function: Callable[[Asker], Any], default: Any = None) -> Callable[..., Any]:
        def run(*_arguments: Any) -> Any:
            state = session()
            return function(state) if state is not None else default
        return run

    deterministic = {"deterministic": True}
    conn.create_function("__tsql_convert", 5, convert, **deterministic)
    conn.create_function("__tsql_assign", 5, assign, **deterministic)
    conn.create_function("__tsql_datepart", 2, lambda part, value: tsql_datepart(part, value, options().datefirst),
                         **deterministic)
    conn.create_function("suser_sname", -1, answer(lambda s: s.login_name))
    conn.create_function("suser_name", -1, answer(lambda s: s.login_name))
    conn.create_function("original_login", 0, answer(lambda s: s.login_name))
    conn.create_function("user_name", -1, answer(lambda s: s.user_name))
    conn.create_function("current_user", 0, answer(lambda s: s.user_name))
    conn.create_function("host_name", 0, answer(lambda s: s.host_name))
    conn.create_function("app_name", 0, answer(lambda s: s.app_name))
    conn.create_function("db_name", -1, lambda *a: database_name)
    conn.create_function("scope_identity", 0, answer(lambda s: s.last_identity))
    conn.create_function("rowcount_big", 0, answer(lambda s: s.rowcount, 0))
    # 1 in a transaction, 0 outside one; never -1 (uncommittable): that needs TRY … CATCH, which is refused
    conn.create_function("xact_state", 0, answer(lambda s: 1 if s.tran_count else 0, 0))
    conn.create_function("newid", 0, lambda: str(uuid.uuid4()).upper())
    conn.create_function("uuid", 0, lambda: str(uuid.uuid4()).upper())
    globals_: dict[str, Callable[..., Any]] = {
        "version": lambda: version, "servername": lambda: server_name, "servicename": lambda: "MSSQLSERVER",
        "spid": answer(lambda s: s.spid, 0), "rowcount": answer(lambda s: s.rowcount, 0),
        "identity": answer(lambda s: s.last_identity), "trancount": answer(lambda s: s.tran_count, 0),
        "error": answer(lambda s: s.last_error, 0), "nestlevel": answer(lambda s: s.nest_level, 0),
        "procid": answer(lambda s: s.procedure_id, 0), "options": lambda: options().options,
        "datefirst": lambda: options().datefirst, "language": lambda: options().language,
        "langid": lambda: options().langid, "textsize": lambda: options().textsize,
        "lock_timeout": lambda: options().lock_timeout, "max_precision": lambda: 38,
        "max_connections": lambda: MAX_CONNECTIONS, "connections": answer(lambda s: s.spid, 0),
        "fetch_status": lambda: -1, "microsoftversion": lambda: 0x0C0007D0,
    }
    for name, function in globals_.items():
        conn.create_function(f"__global_{name}", 0, function)
