"""The statements that change who may do what in a database, interpreted by the emulator itself (SQLite
has no users): CREATE USER … FROM EXTERNAL PROVIDER against the tenant's directory, DROP USER, ALTER ROLE
… ADD/DROP MEMBER, GRANT/DENY/REVOKE — each with the permission SQL Server requires of the caller
(catalog.ROLE_CAPABILITIES) and SQL Server's error when it is missing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import errors
from .batches import unquote
from .catalog import (
    ALTER_ANY_USER,
    CONTROL,
    DML_PERMISSIONS,
    FIRST_USER_ID,
    MANAGE_PERMISSIONS,
    SPECIAL_USERS,
)
from .ddl import timestamp
from .errors import SqlError

if TYPE_CHECKING:
    from emulator.core.directory import Directory

    from .models import SessionState


def _require(state: SessionState, capability: str, error: Callable[[], SqlError]) -> None:
    if capability not in state.database.capabilities(state):
        raise error()


def create_user(state: SessionState, directory: Directory, name: str, object_id: str | None) -> None:
    """CREATE USER … FROM EXTERNAL PROVIDER [WITH OBJECT_ID = …]: a contained user for an Entra principal,
    found by display name (unique in the tenant, else 33131) or object id. Its SID is the principal's
    client (application) id. Needs ALTER ANY USER (db_owner, db_accessadmin)."""
    _require(state, ALTER_ANY_USER, errors.no_permission_for_action)
    database = state.database
    if database.principal(name) is not None:
        raise errors.user_exists(name)
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
    # the SID of a service principal's or managed identity's user is its client (application) id, not its
    # object id (MicrosoftDocs/sql-docs issue 2323: "For a Service Principal / Managed Identity you should use
    # the 'ApplicationId'"); the login matches the token's appid against it
    sid = uuid.UUID(principal.client_id).bytes_le
    if database.user_for_sid(sid) is not None:
        raise errors.user_exists(name)
    with database.lock:
        (next_id,) = database.conn.execute(
            "SELECT MAX(principal_id) + 1 FROM __emulator_principals WHERE principal_id < 16384").fetchone()
        database.conn.execute(
            "INSERT INTO __emulator_principals VALUES (?, ?, 'E', 'EXTERNAL_USER', ?, ?, ?)",
            (max(next_id or FIRST_USER_ID, FIRST_USER_ID), name, principal.object_id, sid, timestamp()))
    database.security_changed()

def create_user_with_sid(state: SessionState, name: str, sid: bytes, kind: str) -> None:
    """CREATE USER [name] WITH SID = 0x…, TYPE = E | X: a contained Entra user whose SID is given, taken as it
    is (Azure SQL does not look it up either): a login matches it when the SID is the token's client id."""
    _require(state, ALTER_ANY_USER, errors.no_permission_for_action)
    if len(sid) != 16:
        raise errors.sid_not_16_bytes()
    database = state.database
    if database.principal(name) is not None or database.user_for_sid(sid) is not None:
        raise errors.user_exists(name)
    type_desc = "EXTERNAL_GROUP" if kind == "X" else "EXTERNAL_USER"
    with database.lock:
        (next_id,) = database.conn.execute(
            "SELECT MAX(principal_id) + 1 FROM __emulator_principals WHERE principal_id < 16384").fetchone()
        database.conn.execute(
            "INSERT INTO __emulator_principals VALUES (?, ?, ?, ?, NULL, ?, ?)",
            (max(next_id or FIRST_USER_ID, FIRST_USER_ID), name, kind, type_desc, sid, timestamp()))
    database.security_changed()


def drop_user(state: SessionState, name: str, if_exists: bool) -> None:
    """DROP USER [IF EXISTS]: the user, its memberships and its permissions. Needs ALTER ANY USER."""
    _require(state, ALTER_ANY_USER, lambda: errors.cannot_drop_user(name))
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

def alter_role(state: SessionState, role: str, action: str, member: str) -> None:
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

def grant(state: SessionState, verb: str, permissions_text: str, scope: str, first: str | None, second: str | None,
          grantee: str) -> None:
    """GRANT/DENY/REVOKE of data permissions on a table (or the whole database). The grantor must be
    able to see the table (15151 otherwise), must manage permissions (db_owner, db_securityadmin: 4613
    otherwise), and may not grant to dbo, the system users or itself (4624)."""
    database = state.database
    permissions = [p.strip().upper() for p in permissions_text.split(",")]
    permissions = ["EXECUTE" if p == "EXEC" else p for p in permissions]
    for permission in permissions:
        if permission not in DML_PERMISSIONS and permission != "EXECUTE":
            raise errors.unsupported(f"{verb} {permission}")
    target = ""
    if first and scope != "SCHEMA" and scope != "DATABASE":
        table = unquote(second) if second else unquote(first).split(".")[-1]
        if "EXECUTE" in permissions:  # EXECUTE is granted on a procedure (procedures.py)
            with database.lock:
                row = database.conn.execute("SELECT name FROM __emulator_procedures WHERE name = ?",
                                            (table,)).fetchone()
            if row is None or any(p != "EXECUTE" for p in permissions):
                raise errors.cannot_find_object(table)
            target = row[0]
        else:
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
