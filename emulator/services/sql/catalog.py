"""The catalog of a database: the emulator's own tables of tables, columns, principals, role members and
permissions (SQLite tables named ``__emulator_*``, out of every statement's reach), the catalog views
built over them (``sys.tables``, ``sys.database_principals``, ``INFORMATION_SCHEMA.COLUMNS`` …, each
filtered by what the caller may see), and the rules that read them: which fixed roles a user is in, what
those roles allow, whether a user holds a permission on a table, and the metadata functions
(OBJECT_ID, IS_ROLEMEMBER, HAS_PERMS_BY_NAME) built on them.

Every function here reads through the SQLite connection it is given (the one running the statement, so
a statement sees its own transaction) and answers for a ``Caller``: the session's user name and whether
it is the Entra admin, who enters as dbo. The statements that change principals, roles and permissions
are in security.py."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

from .batches import unquote


class Caller(Protocol):
    """Who runs a statement, as the catalog needs it (a session's state is one)."""

    @property
    def user_name(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...


FIXED_ROLES = {
    "db_owner": 16384, "db_accessadmin": 16385, "db_securityadmin": 16386, "db_ddladmin": 16387,
    "db_backupoperator": 16389, "db_datareader": 16390, "db_datawriter": 16391,
    "db_denydatareader": 16392, "db_denydatawriter": 16393,
}
BUILTIN_PRINCIPALS = [(0, "public", "R", "DATABASE_ROLE"), (1, "dbo", "S", "SQL_USER"),
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


META = """
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
CREATE TABLE IF NOT EXISTS __emulator_procedures (
    name TEXT PRIMARY KEY COLLATE NOCASE, object_id INTEGER NOT NULL, definition TEXT NOT NULL,
    created TEXT NOT NULL, modified TEXT NOT NULL);
"""


# The catalog views, made again at every open (so a data dir from an older emulator gets today's). Each
# shows only what the session running the statement may see (SQL Server's metadata visibility): the
# __visible_* functions answer for ``Database.current`` (see ``Database.visibility``).
_CATALOG_VIEWS = {
    "__sys_tables": """SELECT name, object_id, 1 AS schema_id, 0 AS principal_id, 'U' AS type,
           'USER_TABLE' AS type_desc, created AS create_date, modified AS modify_date
    FROM __emulator_tables WHERE __visible_table(name)""",
    "__sys_objects": """SELECT name, object_id, 1 AS schema_id, 'U' AS type, 'USER_TABLE' AS type_desc,
           created AS create_date, modified AS modify_date FROM __emulator_tables WHERE __visible_table(name)
    UNION ALL SELECT name, object_id, 1, 'P', 'SQL_STORED_PROCEDURE', created, modified
    FROM __emulator_procedures WHERE __visible_table(name)""",
    "__sys_procedures": """SELECT name, object_id, 1 AS schema_id, 'P' AS type, 'SQL_STORED_PROCEDURE' AS type_desc,
           created AS create_date, modified AS modify_date FROM __emulator_procedures WHERE __visible_table(name)""",
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


def catalog_views_script(database_name: str) -> str:
    quoted = database_name.replace("'", "''")
    return "".join(f"DROP VIEW IF EXISTS {name}; CREATE VIEW {name} AS {body.replace('{db}', quoted)};\n"
                   for name, body in _CATALOG_VIEWS.items())


CATALOG_TYPES: dict[str, dict[str, str]] = {
    "__sys_tables": {"name": "NVARCHAR(128)", "object_id": "INT", "schema_id": "INT", "principal_id": "INT",
                     "type": "NVARCHAR(2)", "type_desc": "NVARCHAR(60)", "create_date": "DATETIME",
                     "modify_date": "DATETIME"},
    "__sys_objects": {"name": "NVARCHAR(128)", "object_id": "INT", "schema_id": "INT", "type": "NVARCHAR(2)",
                      "type_desc": "NVARCHAR(60)", "create_date": "DATETIME", "modify_date": "DATETIME"},
    "__sys_procedures": {"name": "NVARCHAR(128)", "object_id": "INT", "schema_id": "INT", "type": "NVARCHAR(2)",
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


SCHEMAS = {1: "dbo", 2: "guest", 3: "INFORMATION_SCHEMA", 4: "sys"}
SCHEMA_IDS = {name.lower(): schema_id for schema_id, name in SCHEMAS.items()}
CATALOG_NAMES = {("sys", "tables"): "__sys_tables", ("sys", "objects"): "__sys_objects",
                  ("sys", "procedures"): "__sys_procedures",
                  ("sys", "schemas"): "__sys_schemas", ("sys", "columns"): "__sys_columns",
                  ("sys", "database_principals"): "__sys_database_principals",
                  ("sys", "database_role_members"): "__sys_database_role_members",
                  ("information_schema", "tables"): "__information_schema_tables",
                  ("information_schema", "columns"): "__information_schema_columns"}



def seed_principals(conn: sqlite3.Connection, created: str) -> None:
    """The principals every database has: public, dbo, guest, INFORMATION_SCHEMA, sys and the fixed roles."""
    rows = [(pid, name, kind, desc, None, None, created) for pid, name, kind, desc in BUILTIN_PRINCIPALS]
    rows += [(pid, name, "R", "DATABASE_ROLE", None, None, created) for name, pid in FIXED_ROLES.items()]
    conn.executemany("INSERT INTO __emulator_principals VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


# -- principals ------------------------------------------------------------------------------------
def principal(conn: sqlite3.Connection, name: str) -> tuple[int, str, str] | None:
    """(principal id, name as created, type) of a user or role, by name."""
    row = conn.execute("SELECT principal_id, name, type FROM __emulator_principals WHERE name = ?",
                       (name,)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def principal_id(conn: sqlite3.Connection, name: Any) -> int | None:
    row = conn.execute("SELECT principal_id FROM __emulator_principals WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else None


def user_for_sid(conn: sqlite3.Connection, sid: bytes) -> tuple[int, str] | None:
    """(principal id, user name) of the contained user whose SID is ``sid``: for a service principal or
    managed identity, its client (application) id (see security.create_user)."""
    row = conn.execute("SELECT principal_id, name FROM __emulator_principals WHERE sid = ? "
                       "AND type IN ('E', 'X')", (sid,)).fetchone()
    return (row[0], row[1]) if row else None


def roles_of(conn: sqlite3.Connection, user: str) -> set[str]:
    """The (lower-case) names of the roles the user is a member of."""
    rows = conn.execute(
        "SELECT p.name FROM __emulator_role_members m JOIN __emulator_principals p "
        "ON p.principal_id = m.role_id JOIN __emulator_principals u ON u.principal_id = m.member_id "
        "WHERE u.name = ?", (user,)).fetchall()
    return {r[0].lower() for r in rows}


# -- permissions -----------------------------------------------------------------------------------
def capabilities(conn: sqlite3.Connection, caller: Caller) -> frozenset[str]:
    """What the caller may do besides reading and writing data, from its fixed roles
    (``ROLE_CAPABILITIES``); the Entra admin (dbo) may do everything."""
    if caller.is_admin:
        return ALL_CAPABILITIES
    found: set[str] = set()
    for role in roles_of(conn, caller.user_name):
        found |= ROLE_CAPABILITIES.get(role, frozenset())
    return frozenset(found)


def allows(conn: sqlite3.Connection, caller: Caller, permission: str, table: str) -> bool:
    """Does the caller hold ``permission`` (SELECT, INSERT, UPDATE, DELETE) on the table ('' = the whole
    database)? db_owner holds all; otherwise a GRANT to the user or to public, or db_datareader /
    db_datawriter, grants it, and a DENY or db_denydatareader / db_denydatawriter takes it away."""
    if caller.is_admin:
        return True
    roles = roles_of(conn, caller.user_name)
    if "db_owner" in roles:
        return True
    rows = conn.execute(
        "SELECT p.state FROM __emulator_permissions p JOIN __emulator_principals u "
        "ON u.principal_id = p.principal_id WHERE (u.name = ? OR u.name = 'public') "
        "AND p.permission = ? AND (p.object = ? OR p.object = '')",
        (caller.user_name, permission, table)).fetchall()
    states = {r[0] for r in rows}
    if permission == "EXECUTE":  # no fixed database role but db_owner gives it
        return "GRANT" in states and "DENY" not in states
    reader = permission == "SELECT"
    denied = "DENY" in states or ("db_denydatareader" if reader else "db_denydatawriter") in roles
    granted = "GRANT" in states or ("db_datareader" if reader else "db_datawriter") in roles
    return granted and not denied


def visibility(conn: sqlite3.Connection, caller: Caller) -> Visibility:
    """What the catalog views show the caller (SQL Server's metadata visibility)."""
    held = capabilities(conn, caller)
    tables: frozenset[str] | None = None
    if not held & {CONTROL, VIEW_DEFINITION}:
        names = [row[0] for row in conn.execute("SELECT name FROM __emulator_tables")]
        procedures = [row[0] for row in conn.execute("SELECT name FROM __emulator_procedures")]
        tables = frozenset([name.lower() for name in names
                            if any(allows(conn, caller, p, name) for p in DML_PERMISSIONS)]
                           + [name.lower() for name in procedures if allows(conn, caller, "EXECUTE", name)])
    return Visibility(tables=tables, users=bool(held & {CONTROL, ALTER_ANY_USER}),
                      memberships=bool(held & {CONTROL, VIEW_DEFINITION}),
                      own_id=principal_id(conn, caller.user_name))


# -- metadata functions (OBJECT_ID, IS_ROLEMEMBER, HAS_PERMS_BY_NAME) --------------------------------
def object_id(conn: sqlite3.Connection, caller: Caller, database: str, name: Any = None,
              kind: Any = None) -> int | None:
    """OBJECT_ID: the emulator's only objects are user tables; SQL Server shows an object's id only to
    those holding some permission on it."""
    if name is None:
        return None
    parts = [unquote(p.strip()) for p in re.findall(r"\[(?:[^\]]|\]\])*\]|\"[^\"]*\"|[^.]+|(?<=\.)(?=\.)",
                                                      str(name))]
    if not parts or len(parts) > 3:
        return None
    table = parts[-1]
    schema = parts[-2] if len(parts) > 1 else ""
    catalog = parts[-3] if len(parts) > 2 else ""
    if schema.lower() not in ("", "dbo") or catalog.lower() not in ("", database.lower()):
        return None
    wanted = str(kind).strip().upper() if kind is not None else None
    if wanted in (None, "P"):  # a stored procedure: seen by those who may execute it
        row = conn.execute("SELECT object_id, name FROM __emulator_procedures WHERE name = ?", (table,)).fetchone()
        if row is not None:
            return int(row[0]) if allows(conn, caller, "EXECUTE", row[1]) else None
    if wanted not in (None, "U"):
        return None
    row = conn.execute("SELECT object_id, name FROM __emulator_tables WHERE name = ?", (table,)).fetchone()
    if row is None or not any(allows(conn, caller, p, row[1]) for p in DML_PERMISSIONS):
        return None
    return int(row[0])


def is_role_member(conn: sqlite3.Connection, caller: Caller, role: Any = None, member: Any = None) -> int | None:
    if role is None:
        return None
    found = conn.execute("SELECT principal_id, name FROM __emulator_principals WHERE name = ? AND type = 'R'",
                         (str(role),)).fetchone()
    if found is None:
        return None  # not a database role (a Windows or Entra group is unknown here)
    if found[1].lower() == "public":
        return 1
    user = str(member) if member is not None else caller.user_name
    if user.lower() == "dbo":  # the Entra admin enters as dbo, the owner of the database
        return 1 if found[1].lower() == "db_owner" else 0
    return 1 if found[1].lower() in roles_of(conn, user) else 0


def has_perms_by_name(conn: sqlite3.Connection, caller: Caller, database: str, securable: Any = None,  # noqa: C901
                      kind: Any = None, permission: Any = None, *rest: Any) -> int | None:
    """HAS_PERMS_BY_NAME for the permissions the emulator knows, at object, schema, database and server scope."""
    if permission is None:
        return None
    scope = str(kind).strip().upper() if kind is not None else "SERVER"  # (NULL, NULL, 'VIEW SERVER STATE')
    wanted = " ".join(str(permission).upper().split())
    held = capabilities(conn, caller)
    owner = CONTROL in held
    if scope == "OBJECT":
        if securable is None:
            return None
        parts = [unquote(p.strip()) for p in str(securable).split(".")]
        if len(parts) > 1 and parts[-2].lower() not in ("", "dbo"):
            return None
        row = conn.execute("SELECT name FROM __emulator_tables WHERE name = ?", (parts[-1],)).fetchone()
        if row is None:
            return None
        if wanted in DML_PERMISSIONS:
            return int(allows(conn, caller, wanted, row[0]))
        if wanted == "ANY":
            return int(any(allows(conn, caller, p, row[0]) for p in DML_PERMISSIONS))
        if wanted in ("ALTER", "CONTROL", "REFERENCES", "VIEW DEFINITION", "TAKE OWNERSHIP", "EXECUTE"):
            return int(owner)
        return None
    if scope in ("DATABASE", "SCHEMA"):
        if scope == "DATABASE" and securable is not None and str(securable).lower() != database.lower():
            return None
        if scope == "SCHEMA" and str(securable or "").lower() != "dbo":
            return None
        if wanted in DML_PERMISSIONS:
            return int(allows(conn, caller, wanted, ""))
        if wanted in ("CONNECT", "ANY"):
            return 1
        if wanted in ("CREATE TABLE", "ALTER", "ALTER ANY SCHEMA", "CREATE VIEW", "CREATE PROCEDURE"):
            return int(DDL in held)
        if wanted in ("ALTER ANY USER", "ALTER ANY ROLE", "VIEW DEFINITION"):
            return int(wanted in held)
        return int(owner)
    if scope == "SERVER":
        return int(caller.is_admin)  # the Entra admin is the server's admin; database users have none
    return None
