"""Who may do what in a database, as SQL Server documents it: the fixed database roles, who may change
role membership and grant permissions, the emulator's own tables and SQLite's functions out of every
user's reach (DDL included), and catalog views that show only what the caller may see.

Facts (Microsoft Learn, sql-docs): ALTER ROLE — changing the membership of a *fixed* database role needs
db_owner; CREATE/DROP USER need ALTER ANY USER (db_accessadmin, db_owner); db_securityadmin "can
modify role membership for custom roles only and manage permissions"; GRANT needs the permission WITH
GRANT OPTION or CONTROL (db_owner); nobody may grant to dbo or to themselves (4624); sys.database_principals
shows a user their own name, the system users and the fixed roles, other users only with ALTER ANY USER;
sys.database_role_members shows a user's own memberships, all of them to db_securityadmin; other
catalog views show the securables the caller holds some permission on."""

from __future__ import annotations

from collections.abc import Iterator

import pyodbc
import pytest
from sql_helpers import SqlTarget, create_identity, error_number, sql_error, token_for

ROLE_MEMBERS = ("SELECT r.name, m.name FROM sys.database_role_members rm "
                "JOIN sys.database_principals r ON r.principal_id = rm.role_principal_id "
                "JOIN sys.database_principals m ON m.principal_id = rm.member_principal_id ORDER BY 1, 2")


def _vm_in_role(target: SqlTarget, *roles: str) -> None:
    statements = [f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER"]
    statements += [f"ALTER ROLE {role} ADD MEMBER [{target.vm_name}]" for role in roles]
    target.run_admin(*statements)


def _refused(connection: pyodbc.Connection, statement: str) -> pyodbc.Error:
    with pytest.raises(pyodbc.Error) as caught:
        connection.execute(statement).fetchall() if statement.lstrip().upper().startswith("SELECT") \
            else connection.execute(statement)
    return caught.value


@pytest.fixture
def second_user(target: SqlTarget) -> Iterator[str]:
    """Another contained user (for a user-assigned identity), so that catalog views have someone to hide."""
    create_identity(target, "ID1")
    target.run_admin("CREATE USER [ID1] FROM EXTERNAL PROVIDER", "ALTER ROLE db_datawriter ADD MEMBER [ID1]")
    yield "ID1"


# -- role membership -----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["db_accessadmin", "db_securityadmin"])
@pytest.mark.parametrize("target_role", ["db_owner", "db_datareader"])
def test_only_db_owner_changes_fixed_role_membership(target: SqlTarget, role: str, target_role: str) -> None:
    _vm_in_role(target, role)
    with target.vm() as connection:
        refused = _refused(connection, f"ALTER ROLE {target_role} ADD MEMBER [{target.vm_name}]")
        assert error_number(refused) == 15151
        assert f"Cannot alter the role '{target_role}', because it does not exist or you do not have permission." \
            in sql_error(refused)
        old_spelling = _refused(connection, f"EXEC sp_addrolemember '{target_role}', '{target.vm_name}'")
        assert error_number(old_spelling) == 15151
    with target.admin() as admin:
        members = [tuple(r) for r in admin.execute(ROLE_MEMBERS).fetchall()]
    assert members == [(role, target.vm_name)]


def test_a_db_owner_member_manages_membership(target: SqlTarget, second_user: str) -> None:
    _vm_in_role(target, "db_owner")
    with target.vm() as connection:
        connection.execute(f"ALTER ROLE db_datareader ADD MEMBER [{second_user}]")
        connection.execute(f"ALTER ROLE db_datawriter DROP MEMBER [{second_user}]")
        members = [tuple(r) for r in connection.execute(ROLE_MEMBERS).fetchall()]
    assert members == [("db_datareader", second_user), ("db_owner", target.vm_name)]


@pytest.mark.parametrize("member", ["dbo", "db_datareader"])
def test_special_principals_cannot_become_members(target: SqlTarget, member: str) -> None:
    with target.admin() as connection:
        refused = _refused(connection, f"ALTER ROLE db_owner ADD MEMBER [{member}]")
    assert error_number(refused) == 15405
    assert f"Cannot use the special principal '{member}'." in sql_error(refused)


# -- users ---------------------------------------------------------------------------------------------
def test_db_accessadmin_creates_users_and_db_securityadmin_does_not(target: SqlTarget) -> None:
    create_identity(target, "ID1")
    _vm_in_role(target, "db_securityadmin")
    with target.vm() as connection:
        refused = _refused(connection, "CREATE USER [ID1] FROM EXTERNAL PROVIDER")
    assert error_number(refused) == 15247
    target.run_admin(f"ALTER ROLE db_securityadmin DROP MEMBER [{target.vm_name}]",
                     f"ALTER ROLE db_accessadmin ADD MEMBER [{target.vm_name}]")
    with target.vm() as connection:
        connection.execute("CREATE USER [ID1] FROM EXTERNAL PROVIDER")
        names = {r[0] for r in connection.execute("SELECT name FROM sys.database_principals WHERE type = 'E'")}
    assert names == {target.vm_name, "ID1"}


# -- GRANT, DENY, REVOKE -------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["db_accessadmin", "db_ddladmin", "db_datareader"])
def test_grant_needs_grant_permission(target: SqlTarget, second_user: str, role: str) -> None:
    _vm_in_role(target, role)
    with target.vm() as connection:
        refused = _refused(connection, f"GRANT SELECT ON dbo.Products TO [{second_user}]")
        to_database = _refused(connection, f"GRANT INSERT TO [{second_user}]")
    if role == "db_accessadmin":  # holds no permission on the table: for it the table does not exist
        assert error_number(refused) == 15151
        assert "Cannot find the object 'Products', because it does not exist or you do not have permission." \
            in sql_error(refused)
    else:
        assert error_number(refused) == 4613 and "Grantor does not have GRANT permission." in sql_error(refused)
    assert error_number(to_database) == 4613
    with target.odbc(token_for(target, second_user)) as other:
        held = other.execute("SELECT HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'SELECT'), "
                             "HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'INSERT')").fetchone()
    assert tuple(held) == (0, 1)  # nothing was granted; db_datawriter as before


@pytest.mark.parametrize("role", ["db_accessadmin", "db_securityadmin", "db_owner"])
def test_nobody_grants_to_themselves(target: SqlTarget, role: str) -> None:
    """The escalation the issue saw: a db_accessadmin or db_securityadmin member granting itself INSERT."""
    _vm_in_role(target, role)
    with target.vm() as connection:
        refused = _refused(connection, f"GRANT INSERT ON dbo.Products TO [{target.vm_name}]")
        if role == "db_accessadmin":
            assert error_number(refused) == 15151  # it cannot see the table at all
        else:
            assert error_number(refused) == 4624
            assert ("Cannot grant, deny, or revoke permissions to sa, dbo, entity owner, information_schema, sys, "
                    "or yourself.") in sql_error(refused)
        if role != "db_owner":
            denied = _refused(connection, "INSERT INTO dbo.Products (Name, Category, Price, InStock, AddedOn, Sku) "
                                          "VALUES (N'x', N'y', 1, 1, SYSUTCDATETIME(), NEWID())")
            assert error_number(denied) == 229


def test_db_securityadmin_manages_permissions_of_others(target: SqlTarget, second_user: str) -> None:
    _vm_in_role(target, "db_securityadmin")
    with target.vm() as connection:
        connection.execute(f"GRANT SELECT ON dbo.Products TO [{second_user}]")
        connection.execute(f"DENY DELETE ON dbo.Products TO [{second_user}]")
        connection.execute(f"REVOKE DELETE ON dbo.Products FROM [{second_user}]")
    with target.odbc(token_for(target, second_user)) as other:
        row = other.execute("SELECT HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'SELECT'), "
                            "HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'DELETE'), COUNT(*) FROM dbo.Products"
                            ).fetchone()
    assert tuple(row) == (1, 1, 300)  # SELECT granted; the DENY was revoked, db_datawriter deletes again


def test_grant_to_dbo_is_4624(target: SqlTarget) -> None:
    with target.admin() as connection:
        refused = _refused(connection, "GRANT SELECT ON dbo.Products TO dbo")
    assert error_number(refused) == 4624


# -- the emulator's internals and SQLite's own functions -----------------------------------------------
INTERNAL_READS = {
    "SELECT * FROM __emulator_principals": (208, "Invalid object name '__emulator_principals'."),
    "SELECT * FROM [__sys_tables]": (208, "Invalid object name '__sys_tables'."),
    "SELECT * FROM sqlite_master": (208, "Invalid object name 'sqlite_master'."),
    "SELECT * FROM main.sqlite_schema": (208, "Invalid object name 'main.sqlite_schema'."),
    "SELECT * FROM pragma_table_info('Products')": (208, "Invalid object name 'pragma_table_info'."),
    "SELECT name FROM pragma_database_list": (208, "Invalid object name 'pragma_database_list'."),
    "SELECT sqlite_version()": (195, "'sqlite_version' is not a recognized built-in function name."),
    "SELECT sqlite_source_id()": (195, "'sqlite_source_id' is not a recognized built-in function name."),
    "SELECT __global_spid()": (195, "'__global_spid' is not a recognized built-in function name."),
    "SELECT __tsql_now(3)": (195, "'__tsql_now' is not a recognized built-in function name."),
    "SELECT load_extension('x')": (195, "'load_extension' is not a recognized built-in function name."),
}


@pytest.mark.parametrize("statement", list(INTERNAL_READS))
def test_internals_are_out_of_reach(target: SqlTarget, statement: str) -> None:
    _vm_in_role(target, "db_owner")
    number, message = INTERNAL_READS[statement]
    with target.vm() as connection:
        refused = _refused(connection, statement)
    assert error_number(refused) == number and message in sql_error(refused), sql_error(refused)


@pytest.mark.parametrize("statement", [
    "CREATE VIEW Leak AS SELECT * FROM __emulator_principals",
    "CREATE VIEW Leak AS SELECT sqlite_version() AS v",
    "CREATE VIEW Leak AS SELECT * FROM pragma_table_info('Products')",
    "CREATE TABLE __emulator_more (a INT)",
    "CREATE TABLE sqlite_more (a INT)",
    "CREATE INDEX Leak ON __emulator_principals (name)",
    "DROP VIEW __sys_tables",
    "DROP VIEW sys.tables",
    "DROP TABLE __emulator_tables",
    "ALTER TABLE __emulator_principals ADD extra INT",
    "DELETE FROM sys.database_principals",
    "UPDATE sys.tables SET name = 'x'",
    "INSERT INTO INFORMATION_SCHEMA.TABLES (TABLE_NAME) VALUES ('x')",
])
def test_ddl_and_writes_cannot_reach_internals(target: SqlTarget, statement: str) -> None:
    """A db_ddladmin (and even db_owner) cannot touch the emulator's tables or catalog views; afterwards the
    catalog still answers everyone."""
    _vm_in_role(target, "db_ddladmin", "db_owner")
    with target.vm() as connection:
        refused = _refused(connection, statement)
        assert error_number(refused) in (208, 195, 259, 3701, 40517), sql_error(refused)
        assert "__sys" not in sql_error(refused).replace("'__sys_tables'", "")
    with target.admin() as admin:
        assert [r[0] for r in admin.execute("SELECT name FROM sys.tables").fetchall()] == ["Products"]
        assert admin.execute("SELECT COUNT(*) FROM sys.database_principals WHERE name = 'dbo'").fetchone()[0] == 1
        views = admin.execute("SELECT COUNT(*) FROM sys.objects WHERE name = 'Leak'").fetchone()[0]
    assert views == 0


# -- catalog views show what the caller may see --------------------------------------------------------
CATALOG_QUERIES = {
    "sys.tables": "SELECT name FROM sys.tables",
    "sys.objects": "SELECT name FROM sys.objects",
    "sys.columns": "SELECT name FROM sys.columns",
    "INFORMATION_SCHEMA.TABLES": "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES",
    "INFORMATION_SCHEMA.COLUMNS": "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS",
}


@pytest.mark.parametrize("view", list(CATALOG_QUERIES))
def test_catalog_shows_no_table_to_a_user_without_permissions(target: SqlTarget, view: str) -> None:
    _vm_in_role(target)
    with target.vm() as connection:
        assert connection.execute(CATALOG_QUERIES[view]).fetchall() == []
    target.run_admin(f"GRANT SELECT ON dbo.Products TO [{target.vm_name}]")
    with target.vm() as connection:
        assert connection.execute(CATALOG_QUERIES[view]).fetchall() != []


@pytest.mark.parametrize("role", ["db_datareader", "db_datawriter", "db_ddladmin", "db_securityadmin"])
def test_roles_that_hold_a_permission_see_the_tables(target: SqlTarget, role: str) -> None:
    _vm_in_role(target, role)
    with target.vm() as connection:
        assert [r[0] for r in connection.execute("SELECT name FROM sys.tables").fetchall()] == ["Products"]


def test_database_principals_hide_other_users(target: SqlTarget, second_user: str) -> None:
    _vm_in_role(target, "db_datareader")
    query = "SELECT name FROM sys.database_principals ORDER BY principal_id"
    with target.vm() as connection:
        seen = [r[0] for r in connection.execute(query).fetchall()]
        memberships = [tuple(r) for r in connection.execute(ROLE_MEMBERS).fetchall()]
    assert target.vm_name in seen and "dbo" in seen and "public" in seen and "db_owner" in seen
    assert second_user not in seen
    assert memberships == [("db_datareader", target.vm_name)]  # its own, not ID1's
    with target.admin() as admin:
        everyone = [r[0] for r in admin.execute(query).fetchall()]
        all_memberships = [tuple(r) for r in admin.execute(ROLE_MEMBERS).fetchall()]
    assert second_user in everyone and set(seen) < set(everyone)
    assert ("db_datawriter", second_user) in all_memberships


def test_accessadmin_sees_users_and_securityadmin_sees_memberships(target: SqlTarget, second_user: str) -> None:
    _vm_in_role(target, "db_accessadmin")
    with target.vm() as connection:
        users = {r[0] for r in connection.execute("SELECT name FROM sys.database_principals WHERE type = 'E'")}
    assert users == {target.vm_name, second_user}
    target.run_admin(f"ALTER ROLE db_accessadmin DROP MEMBER [{target.vm_name}]",
                     f"ALTER ROLE db_securityadmin ADD MEMBER [{target.vm_name}]")
    with target.vm() as connection:
        memberships = {tuple(r) for r in connection.execute(
            "SELECT role_principal_id, member_principal_id FROM sys.database_role_members")}
    assert len(memberships) == 2  # ID1 in db_datawriter, the VM in db_securityadmin
