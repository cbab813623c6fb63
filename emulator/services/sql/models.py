"""Azure SQL state: the logical server, its databases (one SQLite file each, in ``<data dir>/sql/``, or in
a temporary folder for ``--in-memory``), the sessions logged in to them, and the declared world's tables.

A database's SQLite file holds the user tables and the catalog (catalog.py: the declared T-SQL type of
every column, principals, role members, permissions, and the catalog views over them). Every connection
of a database has the T-SQL built-ins SQLite lacks (builtins.py) and the functions that answer for the
session running a statement (SUSER_SNAME, @@SPID, OBJECT_ID …). Statements are run by engine.py.

Isolation, as Azure SQL Database runs it (READ_COMMITTED_SNAPSHOT on): all writes go through one SQLite
connection per database; a session that writes inside a transaction owns the database's writer slot until it
commits or rolls back, and other writers wait (then get error 1222). Readers never wait: while another
session holds an open write transaction, a reader reads through a second, read-only connection, which
SQLite's WAL shows only committed rows (``Database.connection_for_read``). Tests: test_sql_isolation.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import sqlite3
import tempfile
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import builtins, catalog, errors, sessionfunctions
from .ddl import create_table, timestamp
from .options import SessionOptions
from .results import RowStream
from .sqltypes import NVARCHAR_4000, SqlType, sql_type
from .temporary import TEMPDB, SessionSchema, TempScope, TempTable
from .translate import Translation, translate

if TYPE_CHECKING:
    from emulator.core.context import EmulatorContext
    from emulator.core.tokens import Principal

SQL_AUDIENCES = ("https://database.windows.net/", "https://database.windows.net")
MASTER = "master"
_SPIDS = itertools.count(51)


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
    login_name: str  # SUSER_SNAME(), SYSTEM_USER (see SqlServer.login_name)
    user_name: str
    is_admin: bool
    spid: int = field(default_factory=lambda: next(_SPIDS))
    variables: dict[str, Any] = field(default_factory=dict)
    variable_types: dict[str, SqlType] = field(default_factory=dict)  # declared: DECLARE, sp_executesql
    last_identity: int | None = None
    rowcount: int = 0
    tran_count: int = 0
    host_name: str = ""
    app_name: str = ""
    options: SessionOptions = field(default_factory=SessionOptions)
    login_options: SessionOptions = field(default_factory=SessionOptions)  # what a connection reset restores
    last_error: int = 0       # @@ERROR
    nest_level: int = 0       # @@NESTLEVEL: procedures running
    procedure_id: int = 0     # @@PROCID
    descriptor: bytes = b"\x00" * 8
    ddl_in_transaction: bool = False
    prepared: dict[int, Prepared] = field(default_factory=dict)
    next_handle: int = 1
    streaming: bool = False  # the statement being run is the request's last: its rows may be sent as read
    # what the catalog views show this session, worked out once per state of the database's security
    visibility: dict[tuple[int, int, int], catalog.Visibility] = field(default_factory=dict)
    temp_scope: TempScope = field(init=False)  # the session's #tables
    savepoints: list[tuple[str, str]] = field(default_factory=list)  # SAVE TRANSACTION: (name, SQLite's)

    def __post_init__(self) -> None:
        self.temp_scope = TempScope(self.spid)

    @property
    def schema(self) -> SessionSchema:
        """The tables this session's statements may name: the database's and its #tables."""
        return SessionSchema(self.database, self.temp_scope)

    @property
    def in_transaction(self) -> bool:
        return self.tran_count > 0

    @property
    def nocount(self) -> bool:
        return self.options.nocount

    @nocount.setter
    def nocount(self, value: bool) -> None:
        self.options.nocount = value


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
        self.translations: dict[str, Translation] = {}
        self._schema: dict[str, dict[str, str]] | None = None
        self._columns: dict[str, list[tuple[str, SqlType]]] | None = None
        self._not_null: dict[str, frozenset[str]] | None = None
        self._identities: dict[str, frozenset[str]] | None = None
        self._primary_keys: dict[str, frozenset[str]] | None = None
        # results being sent while read (weak: a stream dropped by a closed session just goes away)
        self.streams: weakref.WeakSet[RowStream] = weakref.WeakSet()
        self.global_temp: dict[str, TempTable] = {}  # ##tables, by lower-case name (temporary.py)
        self.orphans: list[str] = []  # tempdb tables of ended sessions, to drop when the writer slot is free
        self._remove_files(self.tempdb_path)  # #tables do not outlive the emulator
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
    @property
    def tempdb_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".tempdb.sqlite3")

    @staticmethod
    def _remove_files(path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    def _open(self, read_only: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.execute(f"ATTACH DATABASE ? AS {TEMPDB}", (str(self.tempdb_path),))  # #tables (temporary.py)
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        else:
            conn.execute(f"PRAGMA {TEMPDB}.journal_mode=WAL")
            conn.execute(f"PRAGMA {TEMPDB}.synchronous=OFF")
            conn.execute("PRAGMA journal_mode=WAL")  # readers see committed data beside an open write
            # WAL + NORMAL: no flush to disk at each commit, still safe; a scratch database never flushes
            conn.execute(f"PRAGMA synchronous={'OFF' if self.server.in_memory else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(catalog.META)
            conn.executescript(catalog.catalog_views_script(self.name))
            if conn.execute("SELECT COUNT(*) FROM __emulator_principals").fetchone()[0] == 0:
                catalog.seed_principals(conn, timestamp())
        self._register_functions(conn)
        return conn

    def _close_connections(self) -> None:
        self._conn.close()
        if self._committed is not None:
            self._committed.close()
            self._committed = None

    def _register_functions(self, conn: sqlite3.Connection) -> None:
        sessionfunctions.register(conn, lambda: self.current, self.name, self.server.name, self.server.version_string)
        # REPLICATE(text, n): sqlglot writes it as REPEAT, which SQLite does not have
        conn.create_function("repeat", 2, lambda text, times: None if text is None or times is None
                             else str(text) * max(int(times), 0))
        conn.create_function("concat", -1, lambda *a: "".join("" if v is None else str(v) for v in a))
        self._register_tsql_functions(conn)

    def _register_tsql_functions(self, conn: sqlite3.Connection) -> None:
        """T-SQL built-ins SQLite lacks (builtins.py), and the metadata ones, which
        metadata functions answer for the session running the statement, from the emulator's own
        tables, read through ``conn`` (the connection running the statement, never settled: a result
        may be half-read on it)."""
        builtins.register(conn)

        def session() -> SessionState | None:
            return self.current

        # every user's default schema is dbo; the fixed schemas have the ids of their owners
        conn.create_function("schema_name", -1, lambda *a: "dbo" if not a else catalog.SCHEMAS.get(a[0]))
        conn.create_function("schema_id", -1, lambda *a: 1 if not a else catalog.SCHEMA_IDS.get(str(a[0]).lower()))

        def principal_id(*arguments: Any) -> int | None:
            name = arguments[0] if arguments else (s.user_name if (s := session()) else None)
            return catalog.principal_id(conn, name)

        conn.create_function("user_id", -1, principal_id)
        conn.create_function("database_principal_id", -1, principal_id)
        conn.create_function("db_id", -1, lambda *a: self.server.database_id(str(a[0]) if a and a[0] is not None
                                                                               else self.name) if len(a) < 2 else None)
        conn.create_function("serverproperty", 1, self.server.server_property)
        conn.create_function("databasepropertyex", 2, self.server.database_property)
        def object_id(*arguments: Any) -> int | None:
            state = session()
            if state is None:
                return None
            name = str(arguments[0]) if arguments and arguments[0] is not None else ""
            if "#" in name:  # OBJECT_ID('tempdb..#orders'): the session's #table
                written = name[name.index("#"):].strip("[]")
                found = SessionSchema(self, state.temp_scope).find(written)
                return found.object_id if found is not None else None
            return catalog.object_id(conn, state, self.name, *arguments)

        conn.create_function("object_id", -1, object_id)
        conn.create_function("is_rolemember", -1, lambda *a: catalog.is_role_member(conn, s, *a)
                             if (s := session()) else None)
        conn.create_function("is_member", 1, lambda role: catalog.is_role_member(conn, s, role)
                             if (s := session()) else None)
        conn.create_function("has_perms_by_name", -1, lambda *a: catalog.has_perms_by_name(conn, s, self.name, *a)
                             if (s := session()) else None)

        def visible() -> catalog.Visibility:
            state = session()
            return self.visibility(state, conn) if state is not None else catalog.EVERYTHING_VISIBLE

        # the catalog views' filters (_CATALOG_VIEWS): what the session running the statement may see
        conn.create_function("__visible_table", 1, lambda name: visible().table(name))
        conn.create_function("__visible_principal", 2, lambda pid, kind: visible().principal(pid, kind))
        conn.create_function("__visible_membership", 1, lambda member: visible().membership(member))

    # -- the catalog, for the session running a statement ------------------------------------------
    def capabilities(self, state: SessionState) -> frozenset[str]:
        with self.lock:
            return catalog.capabilities(self.conn, state)

    def allows(self, state: SessionState, permission: str, table: str) -> bool:
        with self.lock:
            return catalog.allows(self.conn, state, permission, table)

    def visibility(self, state: SessionState, conn: sqlite3.Connection) -> catalog.Visibility:
        """What the catalog views show the session, worked out once per state of the database's tables
        and security."""
        key = (id(conn), self.schema_version, self.security_version)
        found = state.visibility.get(key)
        if found is None:
            found = catalog.visibility(conn, state)
            state.visibility.clear()  # only the latest state of the database is worth keeping
            state.visibility[key] = found
        return found

    def principal(self, name: str) -> tuple[int, str, str] | None:
        with self.lock:
            return catalog.principal(self.conn, name)

    def user_for_sid(self, sid: bytes) -> tuple[int, str] | None:
        with self.lock:
            return catalog.user_for_sid(self.conn, sid)

    def security_changed(self) -> None:
        """Users, role members or permissions changed: what sessions may see is worked out again."""
        self.security_version += 1

    def fingerprint(self) -> tuple[int, ...]:
        """What SQLite itself says has changed: rows written through the one writing connection (tables, temp tables,
        principals and permissions alike) and both schema cookies, with the ##table and orphan counts and whether
        a transaction is open. Equal fingerprints: nothing was written in between."""
        with self.lock:
            conn = self._conn
            return (conn.total_changes, conn.execute("PRAGMA main.schema_version").fetchone()[0],
                    conn.execute(f"PRAGMA {TEMPDB}.schema_version").fetchone()[0], len(self.global_temp),
                    len(self.orphans), int(conn.in_transaction), int(self.writer is not None), len(self.streams))

    def reset(self) -> None:
        """Back to an empty database (metadata and fixed principals only)."""
        with self.lock:
            self._settle()
            self._close_connections()
            self._remove_files(self.path)
            self._remove_files(self.tempdb_path)
            self.global_temp.clear()
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
        self.translations.clear()
        self._schema = None
        self._columns = None
        self._not_null = None
        self._identities = None
        self._primary_keys = None

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
                found.setdefault(table.lower(), []).append((name, sql_type(declared) or NVARCHAR_4000))
            self._columns = found
        return self._columns

    def not_null(self) -> dict[str, frozenset[str]]:
        """The NOT NULL columns (lower-case names) of every user table, keyed by lower-case table name."""
        if self._not_null is None:
            found: dict[str, set[str]] = {}
            with self.lock:
                rows = self.conn.execute(
                    "SELECT table_name, name FROM __emulator_columns WHERE nullable = 0").fetchall()
            for table, name in rows:
                found.setdefault(table.lower(), set()).add(name.lower())
            self._not_null = {table: frozenset(names) for table, names in found.items()}
        return self._not_null

    def primary_keys(self) -> dict[str, frozenset[str]]:
        """The PRIMARY KEY columns (lower-case names) of every user table that has one, keyed by lower-case name."""
        if self._primary_keys is None:
            with self.lock:
                rows = self.conn.execute(
                    "SELECT m.name, p.name FROM main.sqlite_master AS m, pragma_table_info(m.name) AS p "
                    "WHERE m.type = 'table' AND substr(m.name, 1, 2) <> '__' AND p.pk > 0").fetchall()
            keys: dict[str, set[str]] = {}
            for table, column in rows:
                keys.setdefault(table.lower(), set()).add(column.lower())
            self._primary_keys = {table: frozenset(columns) for table, columns in keys.items()}
        return self._primary_keys

    def identities(self) -> dict[str, frozenset[str]]:
        """The IDENTITY columns (lower-case names) of every user table, keyed by lower-case table name."""
        if self._identities is None:
            with self.lock:
                rows = self.conn.execute(
                    "SELECT table_name, name FROM __emulator_columns WHERE is_identity = 1").fetchall()
            self._identities = {table.lower(): frozenset({name.lower()}) for table, name in rows}
        return self._identities

    def table_name(self, name: str) -> str | None:
        """The table's name as created, or None."""
        with self.lock:
            row = self.conn.execute("SELECT name FROM __emulator_tables WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def schema(self) -> dict[str, dict[str, str]]:
        if self._schema is None:
            schema = {name: dict(cols) for name, cols in catalog.CATALOG_TYPES.items()}
            with self.lock:
                rows = self.conn.execute("SELECT table_name, name, declared FROM __emulator_columns").fetchall()
            for table, name, declared in rows:
                schema.setdefault(table.lower(), {})[name.lower()] = declared
            self._schema = schema
        return self._schema


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
        self._pristine: list[tuple[int, ...]] | None = None  # the fingerprints an untouched reset left (reset)
        if self.in_memory:
            # A new scratch folder holds what a reset makes (metadata, fixed principals; declared tables to come):
            # the seed's reset that follows at start finds the server untouched and keeps these files.
            self._tables_pending = True
            self._pristine = self._fingerprints()

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
            if self._pristine is not None and self._tables_pending and self._fingerprints() == self._pristine:
                return  # nothing written since the last reset, no session opened: it would make the same files
            for database in self.databases.values():
                database.reset()
            self._tables_pending = True
            if not self.in_memory:
                self._create_declared_tables()
            # A test suite resets before and after each test; most never open a SQL session. Recreating the files
            # is most of a reset's time, so the next reset compares with this and skips an untouched server.
            self._pristine = self._fingerprints() if self._tables_pending else None

    def _fingerprints(self) -> list[tuple[int, ...]]:
        return [database.fingerprint() for database in self.databases.values()]

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
        login_name = self.login_name(claims)
        if object_id.lower() == self.admin_object_id.lower():
            return SessionState(database, object_id, login_name, "dbo", True)
        # the contained user whose SID is the token's client (application) id: a user made for an identity
        # that was deleted and made again (a new client id) no longer matches
        try:
            sid = uuid.UUID(str(claims.get("appid") or claims.get("azp") or "")).bytes_le
        except ValueError:
            raise errors.login_failed() from None
        user = database.user_for_sid(sid)
        if user is None:
            raise errors.login_failed()
        return SessionState(database, object_id, login_name, user[1], False)

    def login_name(self, claims: dict[str, Any]) -> str:
        """The login's name (SUSER_SNAME(), SYSTEM_USER). For a managed identity Azure SQL reports
        ``<client id>@<tenant id>``, not the identity's display name (MicrosoftDocs/sql-docs issue 9584,
        "SYSTEM_USER - Returns guids in format of <ClientId>@<TenantId> for managed identity logins";
        also amachanic/sp_whoisactive issue 55). Other principals: the display name, as before."""
        client_id, tenant_id = claims.get("appid") or claims.get("azp"), claims.get("tid")
        if claims.get("xms_mirid") and client_id and tenant_id:  # only a managed identity's token has it
            return f"{client_id}@{tenant_id}"
        object_id = str(claims.get("oid", ""))
        principal: Principal | None = self.context.directory.by_object_id(object_id) if object_id else None
        return principal.display_name if principal else str(client_id or object_id)


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
    ddl = f"CREATE TABLE dbo.[{name}] ({spec['columns']})"
    translation = translate(database, ddl)
    create_table(database, translation)
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
        added = (start + dt.timedelta(seconds=rng.randrange(span))).isoformat(sep=" ", timespec="microseconds") + "0"
        sku = str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()
        rows.append((name, category, price, in_stock, added, sku))
    return rows
