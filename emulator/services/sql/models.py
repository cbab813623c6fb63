"""Azure SQL state and rules: databases in SQLite, contained users and roles, T-SQL → SQLite.

Each database is one SQLite file in ``<data dir>/sql/`` (or ``:memory:``), holding the user tables
plus the emulator's own metadata: the declared T-SQL type of every column (SQLite keeps only an
affinity, so results are typed from here), database principals, role members and permissions. The
catalog views (``sys.tables``, ``sys.database_principals``, ``INFORMATION_SCHEMA.TABLES`` …) are
SQLite views over that metadata.

T-SQL is translated with sqlglot; what sqlglot leaves (N-strings, ``dbo.``, ``OUTPUT INSERTED``,
``@@VERSION``, the catalog views, the security statements) is handled here, and so are the T-SQL
built-ins whose SQLite forms answer differently (DATEADD, DATEDIFF, TRY_CAST, FORMAT, decimal
arithmetic and AVG …): they become calls of Python functions registered on every SQLite connection,
typed by SQL Server's rules. ``IF … ELSE`` and ``BEGIN … END`` are run by the engine. Security statements
(``CREATE USER … FROM EXTERNAL PROVIDER``, ``ALTER ROLE … ADD MEMBER``, ``DROP USER``, ``GRANT``)
are interpreted by the emulator itself against the tenant's directory.

Isolation, as Azure SQL Database runs it (READ_COMMITTED_SNAPSHOT on): all writes go through one SQLite
connection per database; a session that writes inside a transaction owns the database's writer slot until it
commits or rolls back, and other writers wait (then get error 1222). Readers never wait: while another
session holds an open write transaction, a reader reads through a second, read-only connection, which
SQLite's WAL shows only committed rows (``Database.connection_for_read``). Tests: test_sql_isolation.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import random
import re
import sqlite3
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import builtins, errors, tds
from .builtins import pending_function_error
from .dialect import emulator_dialect, load_sqlglot, quoted_tokens, tsql_dialect
from .errors import SqlError
from .rewrite import DML_TOP, TYPE_META, ddl_functions, limit_dml, rewrite_functions, written_function
from .sqltypes import TYPE_RE, sql_type
from .tds import SqlType

if TYPE_CHECKING:
    # sqlglot costs ~75-150 ms to import: it is imported where a statement is first split or translated
    # (or the declared tables created), never at import of this package, so the emulator starts without it.
    from sqlglot import exp

    from emulator.core.context import EmulatorContext
    from emulator.core.tokens import Principal

SQL_AUDIENCES = ("https://database.windows.net/", "https://database.windows.net")
LOCK_TIMEOUT_SECONDS = 10.0
CHUNK_ROWS = 1000  # rows fetched and encoded in the first step of a result sent while it is read
MAX_CHUNK_ROWS = 16000  # … and at most in a later step
MASTER = "master"

FIXED_ROLES = {
    "db_owner": 16384, "db_accessadmin": 16385, "db_securityadmin": 16386, "db_ddladmin": 16387,
    "db_backupoperator": 16389, "db_datareader": 16390, "db_datawriter": 16391,
    "db_denydatareader": 16392, "db_denydatawriter": 16393,
}
_BUILTIN_PRINCIPALS = [(0, "public", "R", "DATABASE_ROLE"), (1, "dbo", "S", "SQL_USER"),
                       (2, "guest", "S", "SQL_USER"), (3, "INFORMATION_SCHEMA", "S", "SQL_USER"),
                       (4, "sys", "S", "SQL_USER")]
FIRST_USER_ID = 5
SPECIAL_USERS = frozenset({"dbo", "guest", "information_schema", "sys"})

# What the fixed database roles may do besides reading and writing data (Microsoft Learn: "Database-level
# roles", "Permissions of fixed database roles", and the Permissions sections of ALTER ROLE, CREATE USER and
# GRANT): db_owner holds CONTROL on the database; db_accessadmin ALTER ANY USER; db_securityadmin ALTER ANY
# ROLE and VIEW DEFINITION and "manages permissions"; db_ddladmin the CREATE/ALTER permissions of DDL (and
# with ALTER ANY SCHEMA sees every table). Changing the membership of a *fixed* role needs db_owner
# (CONTROL), whatever else the caller holds; the Entra admin enters as dbo and holds everything.
CONTROL, ALTER_ANY_USER, ALTER_ANY_ROLE, MANAGE_PERMISSIONS, DDL, VIEW_DEFINITION = (
    "CONTROL", "ALTER ANY USER", "ALTER ANY ROLE", "MANAGE PERMISSIONS", "DDL", "VIEW DEFINITION")
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "db_owner": frozenset({CONTROL, ALTER_ANY_USER, ALTER_ANY_ROLE, MANAGE_PERMISSIONS, DDL, VIEW_DEFINITION}),
    "db_accessadmin": frozenset({ALTER_ANY_USER}),
    "db_securityadmin": frozenset({ALTER_ANY_ROLE, MANAGE_PERMISSIONS, VIEW_DEFINITION}),
    "db_ddladmin": frozenset({DDL, VIEW_DEFINITION}),
}
ALL_CAPABILITIES = ROLE_CAPABILITIES["db_owner"]
DML_PERMISSIONS = ("SELECT", "INSERT", "UPDATE", "DELETE")

def affinity(declared: SqlType) -> str:
    """The SQLite column type that stores values of a T-SQL type."""
    name = declared.name
    if name in ("int", "bigint", "smallint", "tinyint", "bit"):
        return "INTEGER"
    if name == "decimal":
        return "NUMERIC"
    if name in ("float", "real"):
        return "REAL"
    if name == "varbinary":
        return "BLOB"
    return "TEXT"


def infer_type(values: Sequence[Any]) -> SqlType:
    """A wire type for a computed column, from the values SQLite returned."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return tds.INT
    if kinds <= {int}:
        return tds.INT if all(-(2**31) <= v < 2**31 for v in values if v is not None) else tds.BIGINT
    if kinds <= {int, float}:
        return tds.FLOAT
    if kinds <= {bytes}:
        return tds.VARBINARY_MAX if any(len(v) > 8000 for v in values if v is not None) else tds.VARBINARY_8000
    if any(isinstance(v, str) and len(v) > 4000 for v in values):
        return tds.NVARCHAR_MAX
    return tds.NVARCHAR_4000


def storage_value(value: Any) -> Any:
    """A client value (from an RPC parameter) as SQLite stores it."""
    if value is None or isinstance(value, (int, float, str, bytes)):
        return value.decode("latin-1") if isinstance(value, bytearray) else value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    return str(value)


# -- outcomes of statements -------------------------------------------------------------------------
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

    def __init__(self, database: Database, state: SessionState, cursor: sqlite3.Cursor,
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
                raise _sqlite_error(exc, database, self.translation) from None
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


@dataclass
class TransactionEvent:
    kind: int  # tds.ENV_BEGIN_TRAN / ENV_COMMIT_TRAN / ENV_ROLLBACK_TRAN
    descriptor: bytes


Outcome = ResultSet | RowCount | Info | TransactionEvent


@dataclass
class BatchResult:
    outcomes: list[Outcome]
    error: SqlError | None = None


# -- sessions ---------------------------------------------------------------------------------------
_SPIDS = itertools.count(51)


@dataclass(frozen=True)
class Visibility:
    """What one session may see in the catalog views. Microsoft Learn, "Metadata visibility configuration"
    and the Permissions sections of sys.database_principals and sys.database_role_members: a user sees the
    tables it holds some permission on; its own user, the system users and the roles, other users only
    with ALTER ANY USER; its own role memberships, every one only with VIEW DEFINITION on the database
    (db_securityadmin) or CONTROL (db_owner)."""

    tables: frozenset[str] | None  # lower-case names of the visible tables; None: all of them
    users: bool                    # other database users
    memberships: bool              # every role membership, not only the session's own
    own_id: int | None             # the session's own principal id

    def table(self, name: Any) -> int:
        return int(self.tables is None or str(name).lower() in self.tables)

    def principal(self, principal_id: Any, kind: Any) -> int:
        return int(self.users or kind == "R" or principal_id < FIRST_USER_ID or principal_id == self.own_id)

    def membership(self, member_id: Any) -> int:
        return int(self.memberships or member_id == self.own_id)


EVERYTHING_VISIBLE = Visibility(tables=None, users=True, memberships=True, own_id=None)


@dataclass(frozen=True)
class Prepared:
    """What a prepared handle stands for: a statement with its parameter declaration (sp_prepare,
    sp_prepexec), or a procedure called by name (sp_prepexecrpc, what ODBC's {CALL …} prepares)."""

    statement: str = ""
    declaration: str = ""
    procedure: str | None = None


@dataclass(eq=False)
class SessionState:
    database: Database
    object_id: str
    display_name: str
    user_name: str
    is_admin: bool
    spid: int = field(default_factory=lambda: next(_SPIDS))
    variables: dict[str, Any] = field(default_factory=dict)
    last_identity: int | None = None
    rowcount: int = 0
    nocount: bool = False
    tran_count: int = 0
    descriptor: bytes = b"\x00" * 8
    ddl_in_transaction: bool = False
    prepared: dict[int, Prepared] = field(default_factory=dict)
    next_handle: int = 1
    streaming: bool = False  # the statement being run is the request's last: its rows may be sent as read
    # what the catalog views show this session, worked out once per state of the database's security
    visibility: dict[tuple[int, int, int], Visibility] = field(default_factory=dict)

    @property
    def in_transaction(self) -> bool:
        return self.tran_count > 0


@dataclass
class Translation:
    kind: str                          # select, insert, update, delete, create_table, drop_table, ddl, other
    sqlite: str
    target: str | None = None          # written table (canonical name)
    reads: tuple[str, ...] = ()        # tables read (canonical names)
    missing: str | None = None         # first referenced table that does not exist, as written
    names: list[str] | None = None     # result column names, None = take SQLite's
    types: list[SqlType | None] | None = None
    returns_rows: bool = False
    table_definition: exp.Create | None = None
    if_exists: bool = False
    added: list[tuple[str, str]] = field(default_factory=list)  # ALTER TABLE … ADD: (column, T-SQL type)
    source: str = ""                   # the T-SQL text, to name functions in errors as the user wrote them


# -- databases --------------------------------------------------------------------------------------
_META = """
CREATE TABLE IF NOT EXISTS __emulator_tables (
    name TEXT PRIMARY KEY COLLATE NOCASE, object_id INTEGER NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS __emulator_columns (
    table_name TEXT NOT NULL COLLATE NOCASE, ordinal INTEGER NOT NULL, name TEXT NOT NULL, declared TEXT NOT NULL,
    data_type TEXT NOT NULL, max_length INTEGER, precision INTEGER, scale INTEGER, nullable INTEGER NOT NULL,
    is_identity INTEGER NOT NULL, PRIMARY KEY (table_name, ordinal));
CREATE TABLE IF NOT EXISTS __emulator_principals (
    principal_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, type TEXT NOT NULL,
    type_desc TEXT NOT NULL, object_id TEXT COLLATE NOCASE, sid BLOB, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS __emulator_role_members (
    role_id INTEGER NOT NULL, member_id INTEGER NOT NULL, PRIMARY KEY (role_id, member_id));
CREATE TABLE IF NOT EXISTS __emulator_permissions (
    principal_id INTEGER NOT NULL, permission TEXT NOT NULL, object TEXT NOT NULL COLLATE NOCASE,
    state TEXT NOT NULL, PRIMARY KEY (principal_id, permission, object));
"""

# The catalog views, made again at every open (so a data dir from an older emulator gets today's). Each
# shows only what the session running the statement may see (SQL Server's metadata visibility): the
# __visible_* functions answer for ``Database.current`` (see ``Database.visibility``).
_CATALOG_VIEWS = {
    "__sys_tables": """SELECT name, object_id, 1 AS schema_id, 0 AS principal_id, 'U' AS type,
           'USER_TABLE' AS type_desc, created AS create_date, modified AS modify_date
    FROM __emulator_tables WHERE __visible_table(name)""",
    "__sys_objects": """SELECT name, object_id, 1 AS schema_id, 'U' AS type, 'USER_TABLE' AS type_desc,
           created AS create_date, modified AS modify_date FROM __emulator_tables WHERE __visible_table(name)""",
    "__sys_schemas": "SELECT 'dbo' AS name, 1 AS schema_id, 1 AS principal_id",
    "__sys_columns": """SELECT t.object_id AS object_id, c.name AS name, c.ordinal AS column_id,
           c.data_type AS type_name, c.max_length AS max_length, c.precision AS precision, c.scale AS scale,
           c.nullable AS is_nullable,
           c.is_identity AS is_identity
    FROM __emulator_columns c JOIN __emulator_tables t ON t.name = c.table_name WHERE __visible_table(t.name)""",
    "__sys_database_principals": """SELECT name, principal_id, type, type_desc,
           CASE WHEN type = 'R' THEN NULL ELSE 'dbo' END AS default_schema_name,
           created AS create_date, created AS modify_date, sid,
           CASE type WHEN 'E' THEN 'EXTERNAL' WHEN 'X' THEN 'EXTERNAL' WHEN 'R' THEN 'NONE'
                ELSE 'NONE' END AS authentication_type_desc
    FROM __emulator_principals WHERE __visible_principal(principal_id, type)""",
    "__sys_database_role_members": """SELECT role_id AS role_principal_id, member_id AS member_principal_id
    FROM __emulator_role_members WHERE __visible_membership(member_id)""",
    "__information_schema_columns": """SELECT '{db}' AS TABLE_CATALOG, 'dbo' AS TABLE_SCHEMA, table_name AS TABLE_NAME,
           name AS COLUMN_NAME, ordinal AS ORDINAL_POSITION,
           CASE nullable WHEN 1 THEN 'YES' ELSE 'NO' END AS IS_NULLABLE,
           data_type AS DATA_TYPE, max_length AS CHARACTER_MAXIMUM_LENGTH, precision AS NUMERIC_PRECISION,
           scale AS NUMERIC_SCALE
    FROM __emulator_columns WHERE __visible_table(table_name)""",
    "__information_schema_tables": """SELECT '{db}' AS TABLE_CATALOG, 'dbo' AS TABLE_SCHEMA, name AS TABLE_NAME,
           'BASE TABLE' AS TABLE_TYPE FROM __emulator_tables WHERE __visible_table(name)""",
}


def _catalog_views_script(database_name: str) -> str:
    quoted = database_name.replace("'", "''")
    return "".join(f"DROP VIEW IF EXISTS {name}; CREATE VIEW {name} AS {body.replace('{db}', quoted)};\n"
                   for name, body in _CATALOG_VIEWS.items())


_CATALOG_TYPES: dict[str, dict[str, str]] = {
    "__sys_tables": {"name": "NVARCHAR(128)", "object_id": "INT", "schema_id": "INT", "principal_id": "INT",
                     "type": "NVARCHAR(2)", "type_desc": "NVARCHAR(60)", "create_date": "DATETIME",
                     "modify_date": "DATETIME"},
    "__sys_objects": {"name": "NVARCHAR(128)", "object_id": "INT", "schema_id": "INT", "type": "NVARCHAR(2)",
                      "type_desc": "NVARCHAR(60)", "create_date": "DATETIME", "modify_date": "DATETIME"},
    "__sys_schemas": {"name": "NVARCHAR(128)", "schema_id": "INT", "principal_id": "INT"},
    "__sys_columns": {"object_id": "INT", "name": "NVARCHAR(128)", "column_id": "INT",
                      "type_name": "NVARCHAR(128)", "max_length": "SMALLINT", "precision": "TINYINT",
                      "scale": "TINYINT", "is_nullable": "BIT", "is_identity": "BIT"},
    "__sys_database_principals": {"name": "NVARCHAR(128)", "principal_id": "INT", "type": "NVARCHAR(1)",
                                  "type_desc": "NVARCHAR(60)", "default_schema_name": "NVARCHAR(128)",
                                  "create_date": "DATETIME", "modify_date": "DATETIME", "sid": "VARBINARY(85)",
                                  "authentication_type_desc": "NVARCHAR(60)"},
    "__sys_database_role_members": {"role_principal_id": "INT", "member_principal_id": "INT"},
    "__information_schema_columns": {"table_catalog": "NVARCHAR(128)", "table_schema": "NVARCHAR(128)",
                                     "table_name": "NVARCHAR(128)", "column_name": "NVARCHAR(128)",
                                     "ordinal_position": "INT", "is_nullable": "NVARCHAR(3)",
                                     "data_type": "NVARCHAR(128)", "character_maximum_length": "INT",
                                     "numeric_precision": "TINYINT", "numeric_scale": "INT"},
    "__information_schema_tables": {"table_catalog": "NVARCHAR(128)", "table_schema": "NVARCHAR(128)",
                                    "table_name": "NVARCHAR(128)", "table_type": "NVARCHAR(10)"},
}
_SCHEMAS = {1: "dbo", 2: "guest", 3: "INFORMATION_SCHEMA", 4: "sys"}
_SCHEMA_IDS = {name.lower(): schema_id for schema_id, name in _SCHEMAS.items()}
_CATALOG_NAMES = {("sys", "tables"): "__sys_tables", ("sys", "objects"): "__sys_objects",
                  ("sys", "schemas"): "__sys_schemas", ("sys", "columns"): "__sys_columns",
                  ("sys", "database_principals"): "__sys_database_principals",
                  ("sys", "database_role_members"): "__sys_database_role_members",
                  ("information_schema", "tables"): "__information_schema_tables",
                  ("information_schema", "columns"): "__information_schema_columns"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class Database:
    """One database: a SQLite connection, its metadata, its translation cache."""

    def __init__(self, server: SqlServer, name: str, path: Path) -> None:
        self.server = server
        self.name = name
        self.path = path
        self.lock = threading.RLock()
        self.writer: SessionState | None = None
        self.current: SessionState | None = None
        self.schema_version = 0
        self.security_version = 0
        self._translations: dict[str, Translation] = {}
        self._schema: dict[str, dict[str, str]] | None = None
        self._columns: dict[str, list[tuple[str, SqlType]]] | None = None
        # results being sent while read (weak: a stream dropped by a closed session just goes away)
        self.streams: weakref.WeakSet[RowStream] = weakref.WeakSet()
        self._conn = self._open()
        self._committed: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, with every half-read result first read to its end (see ``RowStream``)."""
        self._settle()
        return self._conn

    def connection_for_read(self, state: SessionState) -> sqlite3.Connection:
        """Where a session's SELECT reads. Azure SQL Database runs with READ_COMMITTED_SNAPSHOT on: a
        reader sees the last committed rows, never another session's open transaction, and is not
        blocked by it. All writes go through ``conn``, so while another session holds an open write
        transaction there, this session reads through a second, read-only connection that SQLite (WAL)
        shows only committed data. The writer itself, and everyone when no transaction is open,
        read through ``conn``."""
        writer = self.writer
        if writer is None or writer is state or not self._conn.in_transaction:
            return self.conn
        self._settle()
        if self._committed is None:
            self._committed = self._open(read_only=True)
        return self._committed

    def _settle(self) -> None:
        if self.streams:
            with self.lock:
                for stream in list(self.streams):
                    stream.materialize()

    # -- connection ----------------------------------------------------------------------------
    def _open(self, read_only: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        else:
            conn.execute("PRAGMA journal_mode=WAL")  # readers see committed data beside an open write
            # WAL + NORMAL: no flush to disk at each commit, still safe; a scratch database never flushes
            conn.execute(f"PRAGMA synchronous={'OFF' if self.server.in_memory else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_META)
            conn.executescript(_catalog_views_script(self.name))
            if conn.execute("SELECT COUNT(*) FROM __emulator_principals").fetchone()[0] == 0:
                self._seed_principals(conn)
        self._register_functions(conn)
        return conn

    def _close_connections(self) -> None:
        self._conn.close()
        if self._committed is not None:
            self._committed.close()
            self._committed = None

    def _seed_principals(self, conn: sqlite3.Connection) -> None:
        created = _now()
        rows = [(pid, name, kind, desc, None, None, created) for pid, name, kind, desc in _BUILTIN_PRINCIPALS]
        rows += [(pid, name, "R", "DATABASE_ROLE", None, None, created) for name, pid in FIXED_ROLES.items()]
        conn.executemany("INSERT INTO __emulator_principals VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def _register_functions(self, conn: sqlite3.Connection) -> None:
        def session() -> SessionState | None:
            return self.current

        version = self.server.version_string
        conn.create_function("suser_sname", -1, lambda *a: s.display_name if (s := session()) else None)
        conn.create_function("suser_name", -1, lambda *a: s.display_name if (s := session()) else None)
        conn.create_function("user_name", -1, lambda *a: s.user_name if (s := session()) else None)
        conn.create_function("current_user", 0, lambda: s.user_name if (s := session()) else None)
        conn.create_function("db_name", -1, lambda *a: self.name)
        conn.create_function("scope_identity", 0, lambda: s.last_identity if (s := session()) else None)
        conn.create_function("newid", 0, lambda: str(uuid.uuid4()).upper())
        conn.create_function("uuid", 0, lambda: str(uuid.uuid4()).upper())
        for name in ("sysutcdatetime", "sysdatetime", "getutcdate", "getdate"):
            conn.create_function(name, 0, _now)
        conn.create_function("__global_version", 0, lambda: version)
        conn.create_function("__global_servername", 0, lambda: self.server.name)
        conn.create_function("__global_spid", 0, lambda: s.spid if (s := session()) else 0)
        conn.create_function("__global_rowcount", 0, lambda: s.rowcount if (s := session()) else 0)
        conn.create_function("__global_identity", 0, lambda: s.last_identity if (s := session()) else None)
        conn.create_function("__global_trancount", 0, lambda: s.tran_count if (s := session()) else 0)
        # REPLICATE(text, n): sqlglot writes it as REPEAT, which SQLite does not have
        conn.create_function("repeat", 2, lambda text, times: None if text is None or times is None
                             else str(text) * max(int(times), 0))
        conn.create_function("concat", -1, lambda *a: "".join("" if v is None else str(v) for v in a))
        self._register_tsql_functions(conn)
        conn.create_function("datalength", 1, lambda v: None if v is None else (
            len(v) if isinstance(v, bytes) else len(str(v).encode("utf-16-le"))))

    def _register_tsql_functions(self, conn: sqlite3.Connection) -> None:
        """T-SQL built-ins SQLite lacks (builtins.py), and the metadata ones, which
        metadata functions answer for the session running the statement, from the emulator's own
        tables, read through ``conn`` (the connection running the statement, never settled: a result
        may be half-read on it)."""
        builtins.register(conn)

        def session() -> SessionState | None:
            return self.current

        conn.create_function("original_login", 0, lambda: s.display_name if (s := session()) else None)
        # every user's default schema is dbo; the fixed schemas have the ids of their owners
        conn.create_function("schema_name", -1, lambda *a: "dbo" if not a else _SCHEMAS.get(a[0]))
        conn.create_function("schema_id", -1, lambda *a: 1 if not a else _SCHEMA_IDS.get(str(a[0]).lower()))

        def principal_id(*arguments: Any) -> int | None:
            name = arguments[0] if arguments else (s.user_name if (s := session()) else None)
            row = conn.execute("SELECT principal_id FROM __emulator_principals WHERE name = ?", (name,)).fetchone()
            return int(row[0]) if row else None

        conn.create_function("user_id", -1, principal_id)
        conn.create_function("database_principal_id", -1, principal_id)
        conn.create_function("db_id", -1, lambda *a: self.server.database_id(str(a[0]) if a and a[0] is not None
                                                                               else self.name) if len(a) < 2 else None)
        conn.create_function("serverproperty", 1, self.server.server_property)
        conn.create_function("databasepropertyex", 2, self.server.database_property)
        conn.create_function("object_id", -1, lambda *a: self._object_id(conn, session(), *a))
        conn.create_function("is_rolemember", -1, lambda *a: self._is_role_member(conn, session(), *a))
        conn.create_function("is_member", 1, lambda role: self._is_role_member(conn, session(), role))
        conn.create_function("has_perms_by_name", -1, lambda *a: self._has_perms_by_name(conn, session(), *a))

        def visible() -> Visibility:
            state = session()
            return self.visibility(state, conn) if state is not None else EVERYTHING_VISIBLE

        # the catalog views' filters (_CATALOG_VIEWS): what the session running the statement may see
        conn.create_function("__visible_table", 1, lambda name: visible().table(name))
        conn.create_function("__visible_principal", 2, lambda pid, kind: visible().principal(pid, kind))
        conn.create_function("__visible_membership", 1, lambda member: visible().membership(member))

    # -- metadata functions (OBJECT_ID, IS_ROLEMEMBER, HAS_PERMS_BY_NAME) ------------------------------
    def _object_id(self, conn: sqlite3.Connection, state: SessionState | None, name: Any = None,
                   kind: Any = None) -> int | None:
        if name is None or state is None:
            return None
        parts = [unquote(p.strip()) for p in re.findall(r"\[(?:[^\]]|\]\])*\]|\"[^\"]*\"|[^.]+|(?<=\.)(?=\.)",
                                                          str(name))]
        if not parts or len(parts) > 3:
            return None
        table = parts[-1]
        schema = parts[-2] if len(parts) > 1 else ""
        catalog = parts[-3] if len(parts) > 2 else ""
        if schema.lower() not in ("", "dbo") or catalog.lower() not in ("", self.name.lower()):
            return None
        if kind is not None and str(kind).strip().upper() != "U":
            return None  # the emulator's only objects are user tables
        row = conn.execute("SELECT object_id, name FROM __emulator_tables WHERE name = ?", (table,)).fetchone()
        if row is None:
            return None
        # SQL Server shows an object's id only to those with some permission on it
        if not any(self.allows(state, p, row[1], conn) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")):
            return None
        return int(row[0])

    def _is_role_member(self, conn: sqlite3.Connection, state: SessionState | None, role: Any = None,
                        principal: Any = None) -> int | None:
        if role is None or state is None:
            return None
        found = conn.execute("SELECT principal_id, name FROM __emulator_principals WHERE name = ? AND type = 'R'",
                             (str(role),)).fetchone()
        if found is None:
            return None  # not a database role (a Windows or Entra group is unknown here)
        if found[1].lower() == "public":
            return 1
        user = str(principal) if principal is not None else state.user_name
        if user.lower() == "dbo":  # the Entra admin enters as dbo, the owner of the database
            return 1 if found[1].lower() == "db_owner" else 0
        return 1 if found[1].lower() in self.roles_named(user, conn) else 0

    def _has_perms_by_name(self, conn: sqlite3.Connection, state: SessionState | None, securable: Any = None,
                           kind: Any = None, permission: Any = None, *rest: Any) -> int | None:
        if state is None or permission is None:
            return None
        scope = str(kind).strip().upper() if kind is not None else "SERVER"  # (NULL, NULL, 'VIEW SERVER STATE')
        wanted = " ".join(str(permission).upper().split())
        dml = ("SELECT", "INSERT", "UPDATE", "DELETE")
        owner = state.is_admin or "db_owner" in self.roles_named(state.user_name, conn)
        if scope == "OBJECT":
            if securable is None:
                return None
            parts = [unquote(p.strip()) for p in str(securable).split(".")]
            if len(parts) > 1 and parts[-2].lower() not in ("", "dbo"):
                return None
            row = conn.execute("SELECT name FROM __emulator_tables WHERE name = ?", (parts[-1],)).fetchone()
            if row is None:
                return None
            if wanted in dml:
                return int(self.allows(state, wanted, row[0], conn))
            if wanted == "ANY":
                return int(any(self.allows(state, p, row[0], conn) for p in dml))
            if wanted in ("ALTER", "CONTROL", "REFERENCES", "VIEW DEFINITION", "TAKE OWNERSHIP", "EXECUTE"):
                return int(owner)
            return None
        if scope in ("DATABASE", "SCHEMA"):
            if scope == "DATABASE" and securable is not None and str(securable).lower() != self.name.lower():
                return None
            if scope == "SCHEMA" and str(securable or "").lower() != "dbo":
                return None
            if wanted in dml:
                return int(self.allows(state, wanted, "", conn))
            if wanted in ("CONNECT", "ANY"):
                return 1
            capabilities = self.capabilities(state, conn)
            if wanted in ("CREATE TABLE", "ALTER", "ALTER ANY SCHEMA", "CREATE VIEW", "CREATE PROCEDURE"):
                return int(DDL in capabilities)
            if wanted in ("ALTER ANY USER", "ALTER ANY ROLE", "VIEW DEFINITION"):
                return int(wanted in capabilities)
            return int(owner)
        if scope == "SERVER":
            return int(state.is_admin)  # the Entra admin is the server's admin; database users have none
        return None

    def roles_named(self, user: str, conn: sqlite3.Connection | None = None) -> set[str]:
        rows = (conn or self.conn).execute(
            "SELECT p.name FROM __emulator_role_members m JOIN __emulator_principals p "
            "ON p.principal_id = m.role_id JOIN __emulator_principals u ON u.principal_id = m.member_id "
            "WHERE u.name = ?", (user,)).fetchall()
        return {r[0].lower() for r in rows}

    def allows(self, state: SessionState, permission: str, table: str, conn: sqlite3.Connection | None = None
               ) -> bool:
        """Does the session hold ``permission`` on the table ('' = the database), by role or GRANT/DENY
        (the rule ``Engine._require`` enforces)."""
        if state.is_admin:
            return True
        roles = self.roles_named(state.user_name, conn)
        if "db_owner" in roles:
            return True
        rows = (conn or self.conn).execute(
            "SELECT p.state FROM __emulator_permissions p JOIN __emulator_principals u "
            "ON u.principal_id = p.principal_id WHERE (u.name = ? OR u.name = 'public') "
            "AND p.permission = ? AND (p.object = ? OR p.object = '')",
            (state.user_name, permission, table)).fetchall()
        states = {r[0] for r in rows}
        reader = permission == "SELECT"
        denied = "DENY" in states or ("db_denydatareader" if reader else "db_denydatawriter") in roles
        granted = "GRANT" in states or ("db_datareader" if reader else "db_datawriter") in roles
        return granted and not denied

    def capabilities(self, state: SessionState, conn: sqlite3.Connection | None = None) -> frozenset[str]:
        """What the session may do besides reading and writing data, from its fixed roles
        (``ROLE_CAPABILITIES``); the Entra admin (dbo) may do everything."""
        if state.is_admin:
            return ALL_CAPABILITIES
        found: set[str] = set()
        for role in self.roles_named(state.user_name, conn):
            found |= ROLE_CAPABILITIES.get(role, frozenset())
        return frozenset(found)

    def visibility(self, state: SessionState, conn: sqlite3.Connection) -> Visibility:
        """What the catalog views show the session, worked out once per state of the database's tables
        and security (SQL Server's metadata visibility: the securables it holds some permission on)."""
        key = (id(conn), self.schema_version, self.security_version)
        found = state.visibility.get(key)
        if found is not None:
            return found
        capabilities = self.capabilities(state, conn)
        tables: frozenset[str] | None = None
        if not capabilities & {CONTROL, VIEW_DEFINITION}:
            names = [row[0] for row in conn.execute("SELECT name FROM __emulator_tables")]
            tables = frozenset(name.lower() for name in names
                               if any(self.allows(state, p, name, conn) for p in DML_PERMISSIONS))
        own = conn.execute("SELECT principal_id FROM __emulator_principals WHERE name = ?",
                           (state.user_name,)).fetchone()
        found = Visibility(tables=tables, users=bool(capabilities & {CONTROL, ALTER_ANY_USER}),
                           memberships=bool(capabilities & {CONTROL, VIEW_DEFINITION}),
                           own_id=int(own[0]) if own else None)
        state.visibility.clear()  # only the latest state of the database is worth keeping
        state.visibility[key] = found
        return found

    def security_changed(self) -> None:
        """Users, role members or permissions changed: what sessions may see is worked out again."""
        self.security_version += 1

    def reset(self) -> None:
        """Back to an empty database (metadata and fixed principals only)."""
        with self.lock:
            self._settle()
            self._close_connections()
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            self.writer = None
            self._conn = self._open()
            self.changed()
            self.security_changed()

    def close(self) -> None:
        with self.lock:
            self._settle()
            self._close_connections()

    def changed(self) -> None:
        self.schema_version += 1
        self._translations.clear()
        self._schema = None
        self._columns = None

    # -- metadata --------------------------------------------------------------------------------
    def columns(self) -> dict[str, list[tuple[str, SqlType]]]:
        """Declared columns of every user table, keyed by lower-case table name."""
        if self._columns is None:
            found: dict[str, list[tuple[str, SqlType]]] = {}
            with self.lock:
                rows = self.conn.execute(
                    "SELECT table_name, name, declared FROM __emulator_columns ORDER BY table_name, ordinal"
                ).fetchall()
            for table, name, declared in rows:
                found.setdefault(table.lower(), []).append((name, sql_type(declared) or tds.NVARCHAR_4000))
            self._columns = found
        return self._columns

    def table_name(self, name: str) -> str | None:
        """The table's name as created, or None."""
        with self.lock:
            row = self.conn.execute("SELECT name FROM __emulator_tables WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def schema(self) -> dict[str, dict[str, str]]:
        if self._schema is None:
            schema = {name: dict(cols) for name, cols in _CATALOG_TYPES.items()}
            with self.lock:
                rows = self.conn.execute("SELECT table_name, name, declared FROM __emulator_columns").fetchall()
            for table, name, declared in rows:
                schema.setdefault(table.lower(), {})[name.lower()] = declared
            self._schema = schema
        return self._schema

    # -- principals ------------------------------------------------------------------------------
    def principal(self, name: str) -> tuple[int, str, str] | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT principal_id, name, type FROM __emulator_principals WHERE name = ?", (name,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def user_for_object_id(self, object_id: str) -> tuple[int, str] | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT principal_id, name FROM __emulator_principals WHERE object_id = ? AND type IN ('E', 'X')",
                (object_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def roles_of(self, state: SessionState) -> set[str]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT p.name FROM __emulator_role_members m JOIN __emulator_principals p "
                "ON p.principal_id = m.role_id JOIN __emulator_principals u ON u.principal_id = m.member_id "
                "WHERE u.name = ?", (state.user_name,)).fetchall()
        return {r[0].lower() for r in rows}

    def explicit_permission(self, state: SessionState, permission: str, table: str) -> str | None:
        """'DENY' or 'GRANT' from GRANT/DENY statements for the user (or public), on the table or database."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT p.state FROM __emulator_permissions p JOIN __emulator_principals u "
                "ON u.principal_id = p.principal_id WHERE (u.name = ? OR u.name = 'public') "
                "AND p.permission = ? AND (p.object = ? OR p.object = '')",
                (state.user_name, permission, table)).fetchall()
        states = {r[0] for r in rows}
        return "DENY" if "DENY" in states else "GRANT" if "GRANT" in states else None


# -- the server -------------------------------------------------------------------------------------
class SqlServer:
    """The logical server: its databases, its Entra admin, and login decisions."""

    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        spec = context.world.extra.get("sql", {})
        self.spec = spec
        self.name: str = spec.get("server", "mi-workbook-sql")
        self.version_string = (
            "Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tManaged Identity Workbook emulator (SQLite "
            f"{sqlite3.sqlite_version})\n\tCopyright (C) 2022 Microsoft Corporation\n")
        self.in_memory = context.settings.in_memory
        # In memory means "gone at stop": the files live in a temporary folder then, because reading
        # committed rows beside an open transaction needs a second connection to a WAL file.
        self._scratch = tempfile.TemporaryDirectory(prefix="mi-workbook-sql-", ignore_cleanup_errors=True) \
            if self.in_memory else None
        directory = Path(self._scratch.name) if self._scratch else Path(context.settings.data_dir) / "sql"
        directory.mkdir(parents=True, exist_ok=True)
        names = [MASTER] + [d["name"] for d in spec.get("databases", [])]
        self.databases: dict[str, Database] = {
            n.lower(): Database(self, n, directory / f"{n}.sqlite3") for n in names}
        self.lock = threading.Lock()
        self.closed = False
        self._tables_lock = threading.Lock()
        self._tables_pending = False

    def database_id(self, name: str) -> int | None:
        """DB_ID: master is 1; the user databases follow from 5, as on a server."""
        for index, key in enumerate(self.databases):
            if key == name.lower():
                return 1 if key == MASTER else index + 4
        return None

    def server_property(self, name: Any) -> Any:
        """SERVERPROPERTY, as an Azure SQL Database logical server answers (NULL for unknown names)."""
        version = ".".join(str(v) for v in errors.SERVER_VERSION)
        return {"edition": "SQL Azure", "engineedition": 5, "productversion": version, "productlevel": "RTM",
                "productmajorversion": str(errors.SERVER_VERSION[0]),
                "productminorversion": str(errors.SERVER_VERSION[1]), "productbuild": str(errors.SERVER_VERSION[2]),
                "servername": self.name, "machinename": self.name, "instancename": None,
                "collation": "SQL_Latin1_General_CP1_CI_AS", "isclustered": 0, "isfulltextinstalled": 1,
                "isintegratedsecurityonly": 0, "ishadrenabled": 1, "issingleuser": 0,
                }.get(str(name).strip().lower()) if name is not None else None

    def database_property(self, database: Any, name: Any) -> Any:
        """DATABASEPROPERTYEX for the databases of this server (NULL for unknown ones)."""
        if database is None or name is None or self.database(str(database)) is None:
            return None
        spec = next((d for d in self.spec.get("databases", []) if d["name"].lower() == str(database).lower()), None)
        system = spec is None  # master
        return {"edition": "System" if system else spec.get("edition", "GeneralPurpose"),
                "serviceobjective": "System" if system else spec.get("serviceObjective", "GP_S_Gen5_2"),
                "collation": "SQL_Latin1_General_CP1_CI_AS", "status": "ONLINE", "updateability": "READ_WRITE",
                "useraccess": "MULTI_USER", "recovery": "FULL", "isautoshrink": 0, "isautoclose": 0,
                "maxsizeinbytes": 34359738368,
                }.get(str(name).strip().lower())

    @property
    def admin_object_id(self) -> str:
        return str(self.context.world.admin["objectId"])

    def database(self, name: str) -> Database | None:
        return self.databases.get(name.lower())

    def reset(self) -> None:
        """Recreate every database and its declared tables (seed and ``reset``).

        The declared tables are made through the T-SQL translator (sqlglot), which the emulator does
        not import at start-up: in memory, they are made just before the first session opens (nothing
        can see a database before that); on disk, at once, so that a data dir marked seeded always
        has its tables.
        """
        with self._tables_lock:
            for database in self.databases.values():
                database.reset()
            self._tables_pending = True
            if not self.in_memory:
                self._create_declared_tables()

    def ready(self) -> None:
        """The declared tables exist (made now if ``reset`` left them for later)."""
        if self._tables_pending:
            with self._tables_lock:
                if self._tables_pending:
                    self._create_declared_tables()

    def _create_declared_tables(self) -> None:  # the caller holds _tables_lock
        try:
            for spec in self.spec.get("databases", []):
                database = self.databases[spec["name"].lower()]
                for table in spec.get("tables", []):
                    _create_seed_table(database, table)
        finally:
            self._tables_pending = False

    def close(self) -> None:
        """Close every database (the listener stops); in-memory files go with their folder."""
        self.closed = True
        for database in self.databases.values():
            database.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    # -- login -----------------------------------------------------------------------------------
    def open_session(self, claims: dict[str, Any], database_name: str) -> SessionState:
        """A session for a verified token, or the SqlError SQL Server answers with."""
        self.ready()
        database = self.database(database_name or MASTER)
        if database is None:
            raise errors.cannot_open_database(database_name)
        object_id = str(claims.get("oid", ""))
        principal: Principal | None = self.context.directory.by_object_id(object_id) if object_id else None
        display = principal.display_name if principal else str(claims.get("appid") or object_id)
        if object_id.lower() == self.admin_object_id.lower():
            return SessionState(database, object_id, display, "dbo", True)
        user = database.user_for_object_id(object_id)
        if user is None:
            raise errors.login_failed()
        return SessionState(database, object_id, display, user[1], False)


_SERVERS: dict[int, tuple[Any, SqlServer]] = {}
_SERVERS_LOCK = threading.Lock()


def server_for(context: EmulatorContext) -> SqlServer:
    """The one SqlServer of an emulator (shared by its listener and its seeder)."""
    with _SERVERS_LOCK:
        found = _SERVERS.get(id(context))
        if found is None or found[0] is not context or found[1].closed:
            found = (context, SqlServer(context))
            _SERVERS[id(context)] = found
        return found[1]


def _create_seed_table(database: Database, spec: dict[str, Any]) -> None:
    name = spec["name"]
    admin = SessionState(database, "", "seed", "dbo", True)
    ddl = f"CREATE TABLE dbo.[{name}] ({spec['columns']})"
    translation = translate(database, ddl)
    _create_table(database, admin, translation)
    generate = spec.get("generate")
    if not generate:
        return
    rows = _generated_rows(generate)
    columns = [c for c, _ in database.columns()[name.lower()]][1:]  # the identity column fills itself
    marks = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    with database.lock:
        database.conn.execute("BEGIN")
        database.conn.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', rows)
        database.conn.execute("COMMIT")


def _generated_rows(spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Deterministic product rows: (Name, Category, Price, InStock, AddedOn, Sku)."""
    rng = random.Random(spec["seed"])
    categories: dict[str, list[str]] = spec["categories"]
    adjectives: list[str] = spec["adjectives"]
    low, high = (int(round(v * 100)) for v in spec["priceRange"])
    start, end = (dt.datetime.fromisoformat(v) for v in spec["addedBetween"])
    span = int((end - start).total_seconds())
    rows = []
    for _ in range(int(spec["rows"])):
        category = rng.choice(sorted(categories))
        name = f"{rng.choice(adjectives)} {rng.choice(categories[category])}"
        cents = rng.randint(low, high) // 100 * 100 + 99
        price = str(Decimal(cents).scaleb(-2))
        in_stock = 1 if rng.random() < 0.8 else 0
        added = (start + dt.timedelta(seconds=rng.randrange(span))).isoformat(sep=" ", timespec="microseconds")
        sku = str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()
        rows.append((name, category, price, in_stock, added, sku))
    return rows


# -- T-SQL text handling ----------------------------------------------------------------------------
_STARTERS = {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "DECLARE", "SET", "BEGIN",
             "COMMIT", "ROLLBACK", "WAITFOR", "EXEC", "EXECUTE", "USE", "GRANT", "REVOKE", "DENY", "PRINT",
             "TRUNCATE", "MERGE", "IF", "WHILE", "SAVE", "RAISERROR", "THROW", "RETURN"}
_PERMISSION_WORDS = {"SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE", "EXEC", "ALTER", "CREATE", "CONTROL"}
_SPLIT_CACHE_SIZE = 512   # batch texts whose split is remembered …
_SPLIT_CACHE_TEXT = 8192  # … when no longer than this
# Parentheses nested deeper than this are refused with 191 before sqlglot sees them: its parser is recursive
# and, from the depth of the emulator's call stack, exhausts Python's default stack at about 48 levels.
# SQL Server allows deeper nesting; 32 covers what people write.
MAX_NESTING = 32


def split_batch(text: str) -> list[str]:
    """Statements of a batch: at ';', and where a new statement keyword starts one (T-SQL needs no ';').

    Splitting is pure (the same text always splits the same way), so it is remembered per batch text
    for the short batches that clients repeat; a batch that does not tokenize raises, and is not
    remembered."""
    return list(_split_cached(text) if len(text) <= _SPLIT_CACHE_TEXT else _split_batch(text))


def _split_batch(text: str) -> tuple[str, ...]:
    load_sqlglot()
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = tsql_dialect().tokenize(text)
    except TokenError as exc:
        raise errors.syntax_error(str(exc).split("\n")[0][:40]) from None
    quoted = quoted_tokens()
    semicolon, left, right = TokenType.SEMICOLON, TokenType.L_PAREN, TokenType.R_PAREN
    statements: list[str] = []
    start: int | None = None
    first = ""
    prev = ""
    depth = 0
    seen_select = False
    cases = 0  # open CASE expressions: their ELSE and END belong to them
    end = 0
    after_end = False
    for token in tokens:
        if after_end and token.token_type == TokenType.STRING:
            # sqlglot reads END at the start of a statement as a command and the text after it, up to
            # the next ';', as its string argument: that text is statements of its own (ELSE …)
            statements.extend(_split_batch(token.text))
            after_end = False
            continue
        after_end = False
        word = token.text.upper() if token.token_type not in quoted else ""
        if token.token_type == semicolon and depth == 0:
            if start is not None:
                statements.append(text[start:end + 1])
            start, first, prev, seen_select = None, "", "", False
            continue
        if word == "CASE":
            cases += 1
        elif word == "END" and cases:
            cases -= 1
        elif word in ("ELSE", "END") and depth == 0 and not cases:
            # IF … ELSE … and BEGIN … END: ELSE and END stand alone, for the engine to see the structure
            if start is not None:
                statements.append(text[start:end + 1])
            statements.append(word)
            start, first, prev, seen_select = None, "", "", False
            after_end = word == "END"
            continue
        if token.token_type == left:
            depth += 1
            if depth > MAX_NESTING:
                raise errors.nested_too_deeply()
        elif token.token_type == right:
            depth = max(0, depth - 1)
        if start is not None and depth == 0 and word in _STARTERS and _starts_statement(word, first, prev,
                                                                                         seen_select):
            statements.append(text[start:end + 1])
            start, first, seen_select = None, "", False
        if start is None:
            start, first = token.start, word
        if word == "SELECT" and depth == 0:
            seen_select = True
        prev = word or "?"
        end = token.end
    if start is not None:
        statements.append(text[start:end + 1])
    return tuple(s.strip() for s in statements if s.strip())


_split_cached = functools.lru_cache(maxsize=_SPLIT_CACHE_SIZE)(_split_batch)


def _starts_statement(word: str, first: str, prev: str, seen_select: bool) -> bool:
    if prev in ("UNION", "ALL", "EXCEPT", "INTERSECT", "(", ",", "THEN", "ON", "FOR", "AS"):
        return False
    if first in ("GRANT", "REVOKE", "DENY") and (prev in ("GRANT", "REVOKE", "DENY") or
                                                  word in _PERMISSION_WORDS and prev in ("", "?")):
        return False
    if word == "SELECT":
        return not ((first == "INSERT" and not seen_select) or (first == "CREATE" and prev == "AS")
                    or first == "WITH")
    if word == "SET":
        return first not in ("UPDATE", "MERGE", "ALTER")
    if word == "DROP" or word == "ADD":
        return first != "ALTER"
    if word in ("EXEC", "EXECUTE"):
        return first != "INSERT"
    if word == "IF":  # DROP TABLE IF EXISTS …: part of the DROP, not an IF block
        return not (first == "DROP" and prev in _DROPPABLE)
    return True


_DROPPABLE = {"TABLE", "VIEW", "USER", "PROCEDURE", "PROC", "FUNCTION", "INDEX", "SCHEMA", "ROLE"}


_GLOBALS = re.compile(r"('(?:[^']|'')*')|@@(\w+)")
GLOBAL_VARIABLES = frozenset({"version", "servername", "spid", "rowcount", "identity", "trancount"})
# Names of SQLite's own tables and functions (sqlite_master, pragma_table_info(), sqlite_version() …) and of
# the emulator's (__emulator_principals, __tsql_now() …): no statement may name them.
_RESERVED_PREFIXES = ("__", "sqlite_", "pragma_")
_RESERVED_FUNCTIONS = frozenset({"load_extension"})
_NAME = r"(\[(?:[^\]]|\]\])+\]|\"[^\"]+\"|[^\s;,\[\]()]+)"
_CREATE_USER = re.compile(rf"^CREATE\s+USER\s+{_NAME}\s+FROM\s+EXTERNAL\s+PROVIDER"
                          r"(?:\s+WITH\s+OBJECT_ID\s*=\s*N?'([^']*)')?\s*$", re.I | re.S)
_DROP_USER = re.compile(rf"^DROP\s+USER\s+(IF\s+EXISTS\s+)?{_NAME}\s*$", re.I | re.S)
_ALTER_ROLE = re.compile(rf"^ALTER\s+ROLE\s+{_NAME}\s+(ADD|DROP)\s+MEMBER\s+{_NAME}\s*$", re.I | re.S)
_EXEC = re.compile(rf"^EXEC(?:UTE)?\s+(?:@\w+\s*=\s*)?{_NAME}\s*(.*)$", re.I | re.S)
_GRANT = re.compile(rf"^(GRANT|DENY|REVOKE)\s+(.+?)(?:\s+ON\s+(?:(OBJECT|SCHEMA|DATABASE)\s*::\s*)?{_NAME}"
                    rf"(?:\s*\.\s*{_NAME})?)?\s+(?:TO|FROM)\s+{_NAME}(?:\s+CASCADE)?\s*$", re.I | re.S)
_WAITFOR = re.compile(r"^WAITFOR\s+DELAY\s+N?'([^']*)'\s*$", re.I)
_BEGIN_OTHER = re.compile(r"^BEGIN\s+(?!TRAN\b|TRANSACTION\b)\w+", re.I)
_BEGIN_TRAN = re.compile(r"^BEGIN\s+(?:TRAN|TRANSACTION)(?:\s+\w+)?\s*$", re.I)
_COMMIT = re.compile(r"^COMMIT(?:\s+(?:TRAN|TRANSACTION|WORK))?(?:\s+\w+)?\s*$", re.I)
_ROLLBACK = re.compile(r"^ROLLBACK(?:\s+(?:TRAN|TRANSACTION|WORK))?(?:\s+\w+)?\s*$", re.I)
_SET_NOCOUNT = re.compile(r"^SET\s+NOCOUNT\s+(ON|OFF)\s*$", re.I)
_SET_VARIABLE = re.compile(r"^SET\s+@(\w+)\s*=\s*(.+)$", re.I | re.S)
_SET_OPTION = re.compile(r"^SET\s+[A-Z_]+", re.I)
_DECLARE = re.compile(r"^DECLARE\s+(.+)$", re.I | re.S)
_DECLARATION = re.compile(r"^@(\w+)\s+(?:AS\s+)?(.+?)(?:\s*=\s*(.+))?$", re.I | re.S)
_PRINT = re.compile(r"^PRINT\s+(.+)$", re.I | re.S)
_TRUNCATE = re.compile(rf"^TRUNCATE\s+TABLE\s+{_NAME}(?:\s*\.\s*{_NAME})?\s*$", re.I | re.S)
_FIRST_WORD = re.compile(r"^\s*([A-Za-z_]+)")


def unquote(name: str) -> str:
    if name.startswith("[") and name.endswith("]"):
        return name[1:-1].replace("]]", "]")
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    return name


def split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == separator:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _string_literals(text: str) -> list[str]:
    return [m.replace("''", "'") for m in re.findall(r"N?'((?:[^']|'')*)'", text)]


# -- translation --------------------------------------------------------------------------------------
def translate(database: Database, text: str) -> Translation:
    cached = database._translations.get(text)  # noqa: SLF001 - the database owns the cache, we fill it
    if cached is not None:
        return cached
    translation = _translate(database, text)
    translation.source = text
    if len(database._translations) > 512:  # noqa: SLF001
        database._translations.clear()  # noqa: SLF001
    database._translations[text] = translation  # noqa: SLF001
    return translation


def _translate(database: Database, text: str) -> Translation:  # noqa: C901 - one pass over the tree
    load_sqlglot()
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    prepared = _GLOBALS.sub(_global_variable, text)
    dml_top = DML_TOP.match(prepared)
    if dml_top:  # UPDATE TOP (n) / DELETE TOP (n): sqlglot does not parse them; the rows are limited below
        prepared = dml_top.group(1) + prepared[dml_top.end():]
    try:
        tree = sqlglot.parse_one(prepared, read=emulator_dialect())
    except (ParseError, TokenError) as exc:
        raise errors.syntax_error(_near(exc, text)) from None
    except RecursionError:  # sqlglot parses recursively: a deep enough tree exhausts Python's stack
        raise errors.nested_too_deeply() from None
    if tree is None:
        raise errors.syntax_error(text[:20])
    if isinstance(tree, exp.Command):
        raise errors.unsupported(_keyword(text))
    if isinstance(tree, (exp.Merge,)):
        raise errors.unsupported("MERGE")
    deleted = tree.args.get("tables") if isinstance(tree, exp.Delete) else None
    if deleted and len(deleted) == 1 and not isinstance(tree.this, exp.Table):
        tree.set("this", tree.args["tables"][0])  # DELETE Products WHERE … (T-SQL's FROM is optional)
        tree.set("tables", None)

    _refuse_reserved_names(tree, text)
    columns = database.columns()
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    missing: str | None = None
    referenced: list[str] = []
    for table in list(tree.find_all(exp.Table)):
        if not table.name:
            continue
        identifier = table.this
        if isinstance(identifier, exp.Identifier) and (identifier.args.get("temporary")
                                                       or identifier.args.get("global_")):
            # sqlglot drops the # and SQLite's TEMP tables belong to the connection all sessions share:
            # a #table would be seen by every session, so it is refused rather than shared.
            prefix = "##" if identifier.args.get("global_") else "#"
            raise errors.unsupported(f"temporary table {prefix}{table.name} (use a regular table, or a CTE)")
        schema = table.db.lower()
        key = (schema, table.name.lower())
        if key in _CATALOG_NAMES:
            _refuse_catalog_change(tree, table)
            table.set("this", exp.to_identifier(_CATALOG_NAMES[key]))
            table.set("db", None)
            table.set("catalog", None)
            continue
        if schema not in ("", "dbo") or (table.catalog and table.catalog.lower() != database.name.lower()):
            missing = missing or table.sql("tsql")
        if table.name.lower().startswith("__"):
            missing = missing or table.sql("tsql")
        table.set("db", None)
        table.set("catalog", None)
        if table.name.lower() in ctes:
            continue
        referenced.append(table.name)
        if table.name.lower() not in columns and missing is None and not isinstance(tree, exp.Create):
            missing = table.sql("tsql") if not table.alias else table.name
    for column in tree.find_all(exp.Column):  # [INFORMATION_SCHEMA].[TABLES].[TABLE_NAME], dbo.T.c
        if column.args.get("db") is not None and column.table:
            key = (column.db.lower(), column.table.lower())
            if key in _CATALOG_NAMES:
                column.set("table", exp.to_identifier(_CATALOG_NAMES[key]))
            column.set("db", None)
            column.set("catalog", None)
    for node in list(tree.find_all(exp.National)):
        node.replace(exp.Literal.string(node.this))
    while True:  # T-SQL concatenates strings with +
        node = next((n for n in tree.find_all(exp.Add) if _is_text(n.left) or _is_text(n.right)), None)
        if node is None:
            break
        node.replace(exp.DPipe(this=node.left, expression=node.right))
    if isinstance(tree, (exp.Create, exp.Alter)):
        ddl_functions(tree)
    else:
        rewrite_functions(database, tree)
        if dml_top:
            limit_dml(tree, dml_top)
    returning = tree.args.get("returning")
    if returning is not None:
        for column in returning.find_all(exp.Column):
            if column.table.lower() in ("inserted", "deleted"):
                column.set("table", None)

    translation = Translation(kind="other", sqlite="", missing=missing)
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind", "")).upper()
        if kind == "TABLE":
            translation.kind = "create_table"
            translation.table_definition = tree
            translation.target = tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name
            translation.missing = None
            return translation
        translation.kind = "ddl"
        translation.missing = None
    elif isinstance(tree, exp.Drop):
        translation.kind = "drop_table" if str(tree.args.get("kind", "")).upper() == "TABLE" else "ddl"
        # sqlglot ≥ 30 lists dropped tables under "tables"; older versions put the one table in "this".
        dropped = tree.args.get("tables") or ([tree.this] if isinstance(tree.this, exp.Table) else [])
        if len(dropped) > 1:
            raise errors.unsupported("DROP TABLE of several tables at once")
        translation.target = dropped[0].name if dropped else None
        translation.if_exists = bool(tree.args.get("exists"))
        translation.missing = None
    elif isinstance(tree, exp.Alter):
        translation.kind = "ddl"
        translation.target = tree.this.name if isinstance(tree.this, exp.Table) else None
        if any(not isinstance(action, exp.ColumnDef) for action in tree.args.get("actions", [])):
            raise errors.unsupported("ALTER TABLE")
        for action in tree.args.get("actions", []):
            kind = action.args.get("kind")
            declared_text = kind.sql("tsql") if kind is not None else "NVARCHAR(4000)"
            declared = sql_type(declared_text) or tds.NVARCHAR_4000
            translation.added.append((action.name, declared_text))
            action.set("kind", exp.DataType.build(affinity(declared)))
    elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
        translation.kind = type(tree).__name__.lower()
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        translation.target = target.name if isinstance(target, exp.Table) else None
        others = [t for t in referenced if translation.target is None or t.lower() != translation.target.lower()]
        reads_target = returning is not None or (translation.kind != "insert" and tree.args.get("where"))
        translation.reads = tuple(others + ([translation.target] if reads_target and translation.target else []))
        translation.returns_rows = returning is not None
    elif isinstance(tree, (exp.Select, exp.Union, exp.Subquery, exp.Query)):
        translation.kind = "select"
        translation.reads = tuple(referenced)
        translation.returns_rows = True
        translation.names, translation.types = _describe(database, tree)
    elif isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback, exp.Use, exp.Set, exp.Declare)):
        raise errors.unsupported(_keyword(text))
    else:
        raise errors.unsupported(_keyword(text))

    for constraint in tree.find_all(exp.DefaultColumnConstraint):
        _parenthesize_default(constraint)
    try:
        translation.sqlite = tree.sql(dialect="sqlite")
    except RecursionError:
        raise errors.nested_too_deeply() from None
    except Exception as exc:  # noqa: BLE001 - sqlglot refuses to generate some constructs
        raise errors.unsupported(str(exc).split(".")[0][:60]) from None
    return translation


@functools.cache
def _text_types() -> frozenset[exp.DataType.Type]:
    from sqlglot import exp

    kinds = exp.DataType.Type
    return frozenset({kinds.VARCHAR, kinds.NVARCHAR, kinds.CHAR, kinds.NCHAR, kinds.TEXT})


def _is_text(node: exp.Expression) -> bool:
    """Is this operand a string for sure (a literal, a cast to a character type, a concatenation)?"""
    from sqlglot import exp

    if isinstance(node, exp.Literal):
        return node.is_string
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return node.to.this in _text_types()
    if isinstance(node, exp.DPipe):
        return True
    if isinstance(node, exp.Paren):
        return _is_text(node.this)
    if isinstance(node, exp.Add):
        return _is_text(node.left) or _is_text(node.right)
    return False


def _global_variable(found: re.Match[str]) -> str:
    """@@VERSION and the other global variables the emulator keeps, as calls of its own functions; an
    unknown one is an undeclared variable, as in SQL Server."""
    if found.group(1):
        return found.group(1)
    name = found.group(2).lower()
    if name not in GLOBAL_VARIABLES:
        raise errors.must_declare("@@" + found.group(2))
    return f"__global_{name}()"


def is_reserved(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(_RESERVED_PREFIXES) or lowered in _RESERVED_FUNCTIONS


def written_name(table: exp.Table) -> str:
    """A table's name as the statement wrote it, with its schema, without brackets (as SQL Server quotes it)."""
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def _refuse_reserved_names(tree: exp.Expression, text: str) -> None:
    """No statement names SQLite's or the emulator's own tables and functions, DDL included: a function
    is unknown (195), a table does not exist (208, 3701 for DROP), a new object may not take such a name."""
    from sqlglot import exp

    created = tree.this.this if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema) else tree.this
    for table in tree.find_all(exp.Table):
        if not is_reserved(table.name):
            continue
        name = written_name(table)
        if isinstance(tree, exp.Drop):
            dropped_view = str(tree.args.get("kind", "")).upper() == "VIEW"
            raise errors.cannot_drop_view(name) if dropped_view else errors.cannot_drop_table(name)
        if isinstance(tree, exp.Create) and table is created:
            raise errors.reserved_name(table.name)
        raise errors.invalid_object(name)
    functions = [node for node in tree.find_all(exp.Anonymous) if is_reserved(node.name)]
    if functions:
        # the emulator writes calls of its own functions into statements (@@VERSION becomes __global_version());
        # only a name the user wrote is refused
        load_sqlglot()
        from sqlglot.tokens import TokenType

        written = {token.text.lower() for token in tsql_dialect().tokenize(text)
                   if token.token_type in (TokenType.VAR, TokenType.IDENTIFIER)}
        for node in functions:
            if node.name.lower() in written:  # in FROM, a table-valued function is an object
                raise errors.invalid_object(node.name) if isinstance(node.parent, exp.Table) \
                    else errors.not_builtin_function(node.name)


def _refuse_catalog_change(tree: exp.Expression, table: exp.Table) -> None:
    """The catalog views are read-only: DML on them is 259, DDL on them 3701 (DROP) or 259."""
    from sqlglot import exp

    if isinstance(tree, exp.Drop):
        raise errors.cannot_drop_view(written_name(table))
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    changes_it = isinstance(tree, exp.Alter) or (
        isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() != "VIEW")  # a view may read it
    if changes_it or (isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Create)) and table is target):
        raise errors.system_catalog_update()


def _near(exc: Exception, text: str) -> str:
    from sqlglot.errors import ParseError

    if isinstance(exc, ParseError) and exc.errors:
        highlight = exc.errors[0].get("highlight") or ""
        if highlight:
            return str(highlight)
    return text.split()[-1] if text.split() else text


def _keyword(text: str) -> str:
    found = _FIRST_WORD.match(text)
    return found.group(1).upper() if found else text[:20]


def _parenthesize_default(constraint: exp.DefaultColumnConstraint) -> None:
    from sqlglot import exp

    value = constraint.this
    if isinstance(value, (exp.Literal, exp.Null, exp.Paren, exp.Boolean)) or (
            isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal)):
        return
    if isinstance(value, exp.Expression):
        constraint.set("this", exp.Paren(this=value.copy()))


def _describe(database: Database, tree: exp.Expression) -> tuple[list[str] | None, list[SqlType | None] | None]:
    """Column names (None when a * is involved) and declared types of a SELECT's result, where known."""
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    names: list[str] | None = None
    selects = tree.selects if isinstance(tree, exp.Query) else []
    if selects and not any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star))
                           for s in selects):
        names = []
        for projection in selects:
            if isinstance(projection, exp.Alias):
                names.append(projection.alias)
            elif isinstance(projection, exp.Column):
                names.append(projection.name)
            else:
                names.append("")
    try:
        typed = annotate_types(
            qualify(tree.copy(), schema=database.schema(), dialect="tsql", quote_identifiers=False,
                    validate_qualify_columns=False, identify=False),
            schema=database.schema(), dialect="tsql")
    except Exception:  # noqa: BLE001 - unknown shapes fall back to typing from the values
        return names, None
    types: list[SqlType | None] = []
    for projection in typed.selects if isinstance(typed, exp.Query) else []:
        declared = projection.type
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        found = None
        if isinstance(inner, exp.Anonymous) and inner.name.lower() in ("scope_identity", "__global_identity"):
            types.append(tds.NUMERIC_38_0)  # SQL Server types identities as numeric(38,0)
            continue
        if inner.meta.get(TYPE_META) is not None:  # typed by rewrite_functions (SQL Server's rules)
            types.append(inner.meta[TYPE_META])
            continue
        if declared is not None and not declared.is_type(exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
            found = sql_type(declared.sql("tsql"))
        if found is not None and not isinstance(inner, exp.Column):
            if found.name == "decimal":
                found = SqlType("decimal", precision=38, scale=found.scale)
            elif found.name in ("int", "smallint", "tinyint"):
                found = None  # computed integers: size from the values (SUM can outgrow int)
            elif found.name == "nvarchar" and found.length >= 0:
                found = None
        types.append(found)
    return names, types


# -- the statement engine ---------------------------------------------------------------------------
class Engine:
    """Runs batches for a session against its database, turning them into outcomes."""

    def __init__(self, server: SqlServer) -> None:
        self.server = server

    async def run_batch(self, state: SessionState, text: str,
                        parameters: dict[str, Any] | None = None) -> BatchResult:
        result = BatchResult([])
        state.variables = {k.lower(): v for k, v in (parameters or {}).items()}  # variables live for a batch
        state.last_identity = None  # SCOPE_IDENTITY() is per scope: a new batch starts with none
        try:
            await self._run_statements(state, split_batch(text), result.outcomes)
        except SqlError as exc:
            result.error = exc
        finally:
            state.streaming = False
        return result

    async def _run_statements(self, state: SessionState, statements: list[str], out: list[Outcome],
                              last: bool = True) -> None:
        """``last``: these statements end the request (the final one's rows may then be sent as read)."""
        if any(s.upper() in ("BEGIN", "ELSE", "END") or _keyword(s) == "IF" for s in statements):
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
        if _keyword(text) == "IF":
            condition = text[2:].strip()
            if not condition or index + 1 >= len(statements):
                raise errors.syntax_error(text[-20:])
            holds = bool(self._condition(state, condition)) if run else False
            index = await self._run_one(state, statements, index + 1, out, run and holds, last)
            if index < len(statements) and statements[index].upper() == "ELSE":
                index = await self._run_one(state, statements, index + 1, out, run and not holds, last)
            return index
        if run:
            state.streaming = last and index == len(statements) - 1  # only the last result may stay half-read
            await self._statement(state, text, out)
        return index + 1

    def _condition(self, state: SessionState, condition: str) -> bool:
        """An IF condition (EXISTS (…), OBJECT_ID(…) IS NULL, @x > 1 …), evaluated by SQLite."""
        return bool(self._evaluate(state, f"CASE WHEN {condition} THEN 1 ELSE 0 END"))

    # -- dispatch ----------------------------------------------------------------------------------
    async def _statement(self, state: SessionState, text: str, out: list[Outcome]) -> None:  # noqa: C901
        word = _keyword(text)
        if word == "CREATE" and re.match(r"^CREATE\s+USER\b", text, re.I):
            found = _CREATE_USER.match(text)
            if not found:
                raise errors.unsupported("CREATE USER without FROM EXTERNAL PROVIDER")
            await self._write(state, lambda: self._create_user(state, unquote(found.group(1)), found.group(2)))
            return
        if word == "DROP" and re.match(r"^DROP\s+USER\b", text, re.I):
            found = _DROP_USER.match(text)
            if not found:
                raise errors.syntax_error("USER")
            await self._write(state, lambda: self._drop_user(state, unquote(found.group(2)), bool(found.group(1))))
            return
        if word == "ALTER" and re.match(r"^ALTER\s+ROLE\b", text, re.I):
            found = _ALTER_ROLE.match(text)
            if not found:
                raise errors.syntax_error("ROLE")
            role, action, member = unquote(found.group(1)), found.group(2).upper(), unquote(found.group(3))
            await self._write(state, lambda: self._alter_role(state, role, action, member))
            return
        if word in ("GRANT", "DENY", "REVOKE"):
            found = _GRANT.match(text)
            if not found:
                raise errors.unsupported(word)
            await self._write(state, lambda: self._grant(state, found))
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
            if not _BEGIN_TRAN.match(text):
                raise errors.unsupported(" ".join(text.split()[:2]).upper())  # BEGIN TRY, BEGIN DISTRIBUTED …
            out.extend(self.begin(state))
            return
        if word == "COMMIT":
            if not _COMMIT.match(text):
                raise errors.syntax_error("COMMIT")
            out.extend(self.commit(state))
            return
        if word == "ROLLBACK":
            if not _ROLLBACK.match(text):
                raise errors.unsupported("ROLLBACK TRANSACTION savepoint")
            out.extend(self.rollback(state))
            return
        if word == "SET":
            if found := _SET_NOCOUNT.match(text):
                state.nocount = found.group(1).upper() == "ON"
            elif found := _SET_VARIABLE.match(text):
                if found.group(1).lower() not in state.variables:
                    raise errors.must_declare("@" + found.group(1))
                state.variables[found.group(1).lower()] = self._evaluate(state, found.group(2))
            elif not _SET_OPTION.match(text):
                raise errors.syntax_error("SET")
            return  # other SET options (ANSI_NULLS, XACT_ABORT, TEXTSIZE, …) change nothing here
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
        if word in ("IF", "WHILE", "MERGE", "SAVE", "RAISERROR", "THROW", "RETURN", "GO"):
            raise errors.unsupported(word)
        await self._sql(state, text, out)

    # -- ordinary SQL through sqlglot + SQLite ---------------------------------------------------------
    async def _sql(self, state: SessionState, text: str, out: list[Outcome], truncate: bool = False) -> None:
        database = state.database
        translation = translate(database, text)
        if translation.missing:
            raise errors.invalid_object(translation.missing)
        kind = translation.kind
        if kind == "create_table":
            self._require_ddl(state, lambda: errors.create_table_denied(database.name))
            await self._write(state, lambda: _create_table(database, state, translation))
            return
        if kind == "drop_table":
            name = translation.target or ""
            existing = database.table_name(name)
            if existing is None:
                if translation.if_exists:
                    return
                raise errors.cannot_drop_table(name)
            self._require_ddl(state, lambda: errors.cannot_drop_table(name))
            await self._write(state, lambda: self._drop_table(state, existing, translation))
            return
        if kind == "ddl":
            self._require_ddl(state, errors.no_permission_for_action)
            await self._write(state, lambda: self._run_ddl(state, translation))
            return
        if truncate:
            self._require_ddl(state, lambda: errors.permission_denied("ALTER", translation.target or "",
                                                                       database.name))
        for table in translation.reads:
            self._require(state, "SELECT", table)
        if kind in ("insert", "update", "delete") and translation.target:
            self._require(state, kind.upper(), translation.target)
            outcome = await self._write(state, lambda: self._execute(state, translation))
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
                    if state.streaming and translation.kind == "select" and _all_declared(translation, description):
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
                    identity = self._identity_column(database, translation.target)
                    if identity:
                        state.last_identity = cursor.lastrowid
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, database, translation) from None
            finally:
                database.current = None
        if translation.kind == "select" or translation.returns_rows:
            state.rowcount = len(rows)
            columns = _result_columns(translation, description, rows)
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

    def _evaluate(self, state: SessionState, expression: str) -> Any:
        translation = translate(state.database, f"SELECT {expression}")
        for table in translation.reads:
            self._require(state, "SELECT", table)
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
            value = self._evaluate(state, initial) if initial else None
            state.variables[name.lower()] = value

    # -- permissions -----------------------------------------------------------------------------------
    def _require(self, state: SessionState, permission: str, table: str) -> None:
        if state.is_admin:
            return
        database = state.database
        roles = database.roles_of(state)
        if "db_owner" in roles:
            return
        explicit = database.explicit_permission(state, permission, table)
        denied_by_role = ("db_denydatareader" in roles if permission == "SELECT" else "db_denydatawriter" in roles)
        granted_by_role = ("db_datareader" in roles if permission == "SELECT" else "db_datawriter" in roles)
        if explicit == "DENY" or denied_by_role or not (granted_by_role or explicit == "GRANT"):
            name = database.table_name(table) or table
            raise errors.permission_denied(permission, name, database.name)

    def _require_ddl(self, state: SessionState, error: Callable[[], SqlError]) -> None:
        self._require_capability(state, DDL, error)

    @staticmethod
    def _require_capability(state: SessionState, capability: str, error: Callable[[], SqlError]) -> None:
        if capability not in state.database.capabilities(state):
            raise error()

    # -- writes and transactions -------------------------------------------------------------------------
    async def _write(self, state: SessionState, action: Any) -> Any:
        database = state.database
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_TIMEOUT_SECONDS
        while database.writer is not None and database.writer is not state:
            if loop.time() > deadline:
                raise errors.lock_timeout()
            await asyncio.sleep(0.005)
        if database.writer is state:
            return action()
        database.writer = state
        if state.in_transaction:
            with database.lock:
                if not database.conn.in_transaction:
                    database.conn.execute("BEGIN")
            return action()  # the writer slot stays with the session until COMMIT/ROLLBACK
        try:
            return action()
        finally:
            database.writer = None

    def begin(self, state: SessionState) -> list[Outcome]:
        state.tran_count += 1
        if state.tran_count > 1:
            return []
        state.descriptor = uuid.uuid4().bytes[:8]
        return [TransactionEvent(tds.ENV_BEGIN_TRAN, state.descriptor)]

    def commit(self, state: SessionState) -> list[Outcome]:
        if state.tran_count == 0:
            raise errors.commit_without_begin()
        state.tran_count -= 1
        if state.tran_count > 0:
            return []
        self._finish(state, "COMMIT")
        return [TransactionEvent(tds.ENV_COMMIT_TRAN, state.descriptor)]

    def rollback(self, state: SessionState) -> list[Outcome]:
        if state.tran_count == 0:
            raise errors.rollback_without_begin()
        state.tran_count = 0
        self._finish(state, "ROLLBACK")
        return [TransactionEvent(tds.ENV_ROLLBACK_TRAN, state.descriptor)]

    def _finish(self, state: SessionState, verb: str) -> None:
        database = state.database
        if database.writer is not state:
            return
        with database.lock:
            if database.conn.in_transaction:
                database.conn.execute(verb)
            database.writer = None
            if verb == "ROLLBACK":  # a GRANT or ALTER ROLE may have been undone
                database.security_changed()
            if state.ddl_in_transaction:
                database.changed()
        state.ddl_in_transaction = False

    def end_session(self, state: SessionState) -> None:
        state.tran_count = 0
        self._finish(state, "ROLLBACK")

    # -- DDL --------------------------------------------------------------------------------------------
    def _drop_table(self, state: SessionState, table: str, translation: Translation) -> None:
        database = state.database
        with database.lock:
            try:
                database.conn.execute(f'DROP TABLE "{table}"')
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, database, translation) from None
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
                raise _sqlite_error(exc, database, translation) from None
            if translation.target and translation.added:
                _record_added_columns(database, translation)
        self._schema_changed(state)

    def _schema_changed(self, state: SessionState) -> None:
        state.database.changed()
        if state.in_transaction:
            state.ddl_in_transaction = True

    # -- users, roles, permissions --------------------------------------------------------------------------
    def _create_user(self, state: SessionState, name: str, object_id: str | None) -> None:
        self._require_capability(state, ALTER_ANY_USER, errors.no_permission_for_action)
        database = state.database
        if database.principal(name) is not None:
            raise errors.user_exists(name)
        directory = self.server.context.directory
        if object_id:
            principal = directory.by_object_id(object_id.strip())
            if principal is None:
                raise errors.invalid_object_id(object_id)
        else:
            matches = directory.by_display_name(name)
            if not matches:
                raise errors.principal_not_found(name)
            if len(matches) > 1:
                raise errors.duplicate_display_name(name)
            principal = matches[0]
        if database.user_for_object_id(principal.object_id) is not None:
            raise errors.user_exists(name)
        with database.lock:
            (next_id,) = database.conn.execute(
                "SELECT MAX(principal_id) + 1 FROM __emulator_principals WHERE principal_id < 16384").fetchone()
            sid = uuid.UUID(principal.client_id).bytes_le if principal.client_id else None
            database.conn.execute(
                "INSERT INTO __emulator_principals VALUES (?, ?, 'E', 'EXTERNAL_USER', ?, ?, ?)",
                (max(next_id or FIRST_USER_ID, FIRST_USER_ID), name, principal.object_id, sid, _now()))
        database.security_changed()

    def _drop_user(self, state: SessionState, name: str, if_exists: bool) -> None:
        self._require_capability(state, ALTER_ANY_USER, lambda: errors.cannot_drop_user(name))
        database = state.database
        found = database.principal(name)
        if found is None or found[2] not in ("E", "X"):
            if if_exists and found is None:
                return
            raise errors.cannot_drop_user(name)
        with database.lock:
            database.conn.execute("DELETE FROM __emulator_role_members WHERE member_id = ?", (found[0],))
            database.conn.execute("DELETE FROM __emulator_permissions WHERE principal_id = ?", (found[0],))
            database.conn.execute("DELETE FROM __emulator_principals WHERE principal_id = ?", (found[0],))
        database.security_changed()

    def _alter_role(self, state: SessionState, role: str, action: str, member: str) -> None:
        """ALTER ROLE … ADD/DROP MEMBER. Every role here is a fixed one (no CREATE ROLE): changing its
        membership needs db_owner (ALTER ROLE, Permissions), and neither dbo, the system users nor a fixed
        role can be a member (15405)."""
        database = state.database
        found_role = database.principal(role)
        if found_role is None or found_role[2] != "R" or found_role[0] == 0 \
                or CONTROL not in database.capabilities(state):
            raise errors.cannot_alter_role(role)
        found_member = database.principal(member)
        if found_member is None:
            raise errors.cannot_add_principal(member) if action == "ADD" else errors.cannot_drop_user(member)
        if found_member[2] == "R" or found_member[1].lower() in SPECIAL_USERS:
            raise errors.cannot_use_special_principal(found_member[1])
        with database.lock:
            if action == "ADD":
                database.conn.execute("INSERT OR IGNORE INTO __emulator_role_members VALUES (?, ?)",
                                      (found_role[0], found_member[0]))
            else:
                database.conn.execute("DELETE FROM __emulator_role_members WHERE role_id = ? AND member_id = ?",
                                      (found_role[0], found_member[0]))
        database.security_changed()

    def _grant(self, state: SessionState, found: re.Match[str]) -> None:
        """GRANT/DENY/REVOKE of data permissions on a table (or the whole database). The grantor must be
        able to see the table (15151 otherwise), must manage permissions (db_owner, db_securityadmin: 4613
        otherwise), and may not grant to dbo, the system users or itself (4624)."""
        database = state.database
        verb = found.group(1).upper()
        permissions = [p.strip().upper() for p in found.group(2).split(",")]
        scope = (found.group(3) or "").upper()
        first, second, grantee = found.group(4), found.group(5), unquote(found.group(6))
        for permission in permissions:
            if permission not in DML_PERMISSIONS:
                raise errors.unsupported(f"{verb} {permission}")
        target = ""
        if first and scope != "SCHEMA" and scope != "DATABASE":
            table = unquote(second) if second else unquote(first).split(".")[-1]
            existing = database.table_name(table)
            with database.lock:
                visible = existing is not None and bool(database.visibility(state, database.conn).table(existing))
            if not visible:
                raise errors.cannot_find_object(table)
            assert existing is not None
            target = existing
        if MANAGE_PERMISSIONS not in database.capabilities(state):
            raise errors.grantor_lacks_permission()
        principal = database.principal(grantee)
        if principal is None:
            raise errors.cannot_find_user(grantee)
        if principal[1].lower() in SPECIAL_USERS or principal[1].lower() == state.user_name.lower():
            raise errors.cannot_grant_to_self()
        with database.lock:
            for permission in permissions:
                database.conn.execute(
                    "DELETE FROM __emulator_permissions WHERE principal_id = ? AND permission = ? AND object = ?",
                    (principal[0], permission, target))
                if verb != "REVOKE":
                    database.conn.execute("INSERT INTO __emulator_permissions VALUES (?, ?, ?, ?)",
                                          (principal[0], permission, target, verb))
        database.security_changed()

    async def _exec(self, state: SessionState, text: str, out: list[Outcome]) -> None:
        found = _EXEC.match(text)
        if not found:
            raise errors.syntax_error("EXEC")
        procedure = unquote(found.group(1)).lower().removeprefix("dbo.").removeprefix("sys.")
        arguments = _string_literals(found.group(2))
        if procedure in ("sp_addrolemember", "sp_droprolemember") and len(arguments) == 2:
            action = "ADD" if procedure == "sp_addrolemember" else "DROP"
            await self._write(state, lambda: self._alter_role(state, arguments[0], action, arguments[1]))
            return
        if procedure == "sp_executesql" and arguments:
            await self._run_statements(state, split_batch(arguments[0]), out, last=state.streaming)
            return
        raise errors.procedure_not_found(unquote(found.group(1)))


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


_PARAMETER = re.compile(r"('(?:[^']|'')*')|@(\w+)")


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
        bindings[name] = storage_value(state.variables[key])
    return bindings


def _all_declared(translation: Translation, description: Sequence[Any]) -> bool:
    """Every result column has a declared type (a result typed from its values needs them all first)."""
    types = translation.types
    return bool(types) and len(types) == len(description) and all(t is not None for t in types)


def _result_columns(translation: Translation, description: Sequence[Any],
                    rows: list[tuple[Any, ...]]) -> list[tuple[str, SqlType]]:
    names = [d[0] for d in description]
    if translation.names is not None and len(translation.names) == len(names):
        names = translation.names
    declared = translation.types if translation.types and len(translation.types) == len(names) else None
    columns = []
    for index, name in enumerate(names):
        chosen = declared[index] if declared else None
        if chosen is None:
            chosen = infer_type([row[index] for row in rows])
        columns.append((name, chosen))
    return columns


def _sqlite_error(exc: sqlite3.Error, database: Database, translation: Translation) -> SqlError:
    text = str(exc)
    table = translation.target or ""
    if text.startswith("no such table:"):
        return errors.invalid_object(text.split(":", 1)[1].strip())
    if text.startswith("no such column:"):
        return errors.invalid_column(text.split(":", 1)[1].strip().split(".")[-1])
    if text.startswith("no such function:"):
        return errors.not_builtin_function(written_function(translation, text.split(":", 1)[1].strip()))
    if "user-defined function raised exception" in text:
        return pending_function_error() or errors.emulator_failure(text)
    if "syntax error" in text:
        near = re.search(r'near "([^"]*)"', text)
        return errors.syntax_error(near.group(1) if near else "")
    if text.startswith("UNIQUE constraint failed") or text.startswith("PRIMARY KEY"):
        return errors.unique_violation(table)
    if text.startswith("NOT NULL constraint failed:"):
        column = text.split(":", 1)[1].strip().split(".")[-1]
        action = {"update": "UPDATE"}.get(translation.kind, "INSERT")
        return errors.null_not_allowed(column, table, database.name, action)
    if "constraint failed" in text:
        return errors.constraint_conflict(text)
    if "already exists" in text:
        return errors.object_exists(table)
    if "datatype mismatch" in text:
        return errors.conversion_failed(text)
    return errors.emulator_failure(text)


def _create_table(database: Database, state: SessionState, translation: Translation) -> None:
    from sqlglot import exp

    tree = translation.table_definition
    assert tree is not None and isinstance(tree.this, exp.Schema)
    tree = tree.copy()
    schema = tree.this
    table = schema.this
    name = table.name
    if name.startswith("#"):
        raise errors.unsupported("temporary tables")
    if database.table_name(name) is not None:
        raise errors.object_exists(name)
    table.set("db", None)
    table.set("catalog", None)
    primary_columns: set[str] = set()
    for item in schema.expressions:
        if isinstance(item, (exp.PrimaryKey, exp.Constraint)):
            for key in item.find_all(exp.PrimaryKey):
                primary_columns |= {c.name.lower() for c in key.find_all(exp.Identifier)} | {
                    c.name.lower() for c in key.expressions if hasattr(c, "name")}
    records = []
    ordinal = 0
    for item in list(schema.expressions):
        if not isinstance(item, exp.ColumnDef):
            continue
        ordinal += 1
        kind = item.args.get("kind")
        declared_text = kind.sql("tsql") if kind is not None else "SQL_VARIANT"
        declared = sql_type(declared_text)
        if declared is None:
            raise errors.unsupported(f"column type {declared_text}")
        constraints = item.args.get("constraints") or []
        identity = any(isinstance(c.args.get("kind"), exp.GeneratedAsIdentityColumnConstraint) for c in constraints)
        not_null = any(isinstance(c.args.get("kind"), (exp.NotNullColumnConstraint, exp.PrimaryKeyColumnConstraint))
                       for c in constraints) or item.name.lower() in primary_columns
        for constraint in list(constraints):
            if isinstance(constraint.args.get("kind"), exp.CollateColumnConstraint):
                constraints.remove(constraint)
            if isinstance(constraint.args.get("kind"), exp.DefaultColumnConstraint):
                _parenthesize_default(constraint.args["kind"])
        item.set("kind", exp.DataType.build(affinity(declared)))
        if identity:
            if not declared.name.endswith("int"):
                raise errors.unsupported("IDENTITY on a non-integer column")
            constraints = [c for c in constraints
                           if not isinstance(c.args.get("kind"), exp.GeneratedAsIdentityColumnConstraint)]
            if not any(isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in constraints):
                if primary_columns - {item.name.lower()}:
                    raise errors.unsupported("IDENTITY column outside the primary key")
                constraints.append(exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint()))
            constraints.append(exp.ColumnConstraint(kind=exp.AutoIncrementColumnConstraint()))
        if declared.name == "nvarchar":
            constraints.append(exp.ColumnConstraint(kind=exp.CollateColumnConstraint(this=exp.var("NOCASE"))))
        item.set("constraints", constraints)
        records.append((name, ordinal, item.name, declared_text, declared.name if declared.name != "nvarchar"
                        else _base_name(declared_text), declared.length if declared.name in ("nvarchar", "varbinary")
                        else None, declared.precision or None, declared.scale if declared.name == "decimal" else None,
                        0 if not_null else 1, 1 if identity else 0))
    if identity_pk := [r for r in records if r[9]]:
        keep = []
        for item in schema.expressions:
            keys = list(item.find_all(exp.PrimaryKey)) if isinstance(item, (exp.PrimaryKey, exp.Constraint)) else []
            if keys and primary_columns == {identity_pk[0][2].lower()}:
                continue
            keep.append(item)
        schema.set("expressions", keep)
    sqlite_ddl = tree.sql(dialect="sqlite")
    now = _now()
    with database.lock:
        try:
            database.conn.execute(sqlite_ddl)
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, database, translation) from None
        (object_id,) = database.conn.execute(
            "SELECT COALESCE(MAX(object_id), 245575913) + 16000057 FROM __emulator_tables").fetchone()
        database.conn.execute("INSERT INTO __emulator_tables VALUES (?, ?, ?, ?)", (name, object_id, now, now))
        database.conn.executemany("INSERT INTO __emulator_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", records)
    database.changed()
    if state.in_transaction:
        state.ddl_in_transaction = True


def _base_name(declared_text: str) -> str:
    found = TYPE_RE.match(declared_text)
    return found.group(1).strip().lower() if found else "nvarchar"


def _record_added_columns(database: Database, translation: Translation) -> None:
    table = database.table_name(translation.target or "") or (translation.target or "")
    (ordinal,) = database.conn.execute(
        "SELECT COALESCE(MAX(ordinal), 0) FROM __emulator_columns WHERE table_name = ?", (table,)).fetchone()
    for name, declared_text in translation.added:
        ordinal += 1
        declared = sql_type(declared_text) or tds.NVARCHAR_4000
        database.conn.execute(
            "INSERT INTO __emulator_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0)",
            (table, ordinal, name, declared_text, declared.name,
             declared.length if declared.name in ("nvarchar", "varbinary") else None,
             declared.precision or None, declared.scale if declared.name == "decimal" else None))
