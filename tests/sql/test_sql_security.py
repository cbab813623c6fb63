"""Contained users for Entra principals, roles and permissions: what the tutorial's admin does."""

from __future__ import annotations

import pyodbc
import pytest
import requests
from sql_helpers import DATABASE, SqlTarget, sql_error

DENIED_SELECT = ("The SELECT permission was denied on the object 'Products', database 'workbookdb', "
                 "schema 'dbo'.")
DENIED_INSERT = ("The INSERT permission was denied on the object 'Products', database 'workbookdb', "
                 "schema 'dbo'.")
INSERT_ROW = ("INSERT INTO dbo.Products (Name, Category, Price, InStock, AddedOn, Sku) "
              "VALUES (N'Test Kettle', N'Kitchen', 9.99, 1, SYSUTCDATETIME(), NEWID())")


def _grant_reader(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")


def test_tutorial_grant_lets_the_vm_read(target: SqlTarget) -> None:
    _grant_reader(target)
    with target.vm() as connection:
        rows = connection.execute("SELECT * FROM Products").fetchall()
        who = connection.execute("SELECT SUSER_SNAME(), USER_NAME()").fetchone()
    assert len(rows) == 300
    assert tuple(who) == (target.vm_login, target.vm_name)  # the login, then the database user


def test_user_without_db_datareader_gets_229(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    with target.vm() as connection:
        assert connection.execute("SELECT 1 AS one").fetchone()[0] == 1  # no table: no permission needed
        with pytest.raises(pyodbc.Error) as caught:
            connection.execute("SELECT TOP 1 * FROM dbo.Products").fetchall()
    assert "229" in sql_error(caught.value)
    assert DENIED_SELECT in sql_error(caught.value)


def test_insert_refused_until_db_datawriter(target: SqlTarget) -> None:
    _grant_reader(target)
    with target.vm() as connection:
        with pytest.raises(pyodbc.Error) as caught:
            connection.execute(INSERT_ROW)
        assert DENIED_INSERT in sql_error(caught.value)
        target.run_admin(f"ALTER ROLE db_datawriter ADD MEMBER [{target.vm_name}]")
        assert connection.execute(INSERT_ROW).rowcount == 1
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 301


def test_drop_member_and_drop_user_take_access_away(target: SqlTarget) -> None:
    _grant_reader(target)
    target.run_admin(f"ALTER ROLE db_datareader DROP MEMBER [{target.vm_name}]")
    with target.vm() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute("SELECT * FROM Products").fetchall()
    assert DENIED_SELECT in sql_error(caught.value)
    target.run_admin(f"DROP USER [{target.vm_name}]")
    with pytest.raises(pyodbc.Error) as refused:
        target.vm()
    assert "18456" in sql_error(refused.value)


def test_sp_addrolemember_is_the_old_spelling(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"EXEC sp_addrolemember 'db_datareader', '{target.vm_name}'")
    with target.vm() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300


def test_grant_select_on_one_table(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"GRANT SELECT ON OBJECT::dbo.Products TO [{target.vm_name}]")
    with target.vm() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300
    target.run_admin(f"REVOKE SELECT ON dbo.Products FROM [{target.vm_name}]")
    with target.vm() as connection, pytest.raises(pyodbc.Error):
        connection.execute("SELECT COUNT(*) FROM Products").fetchone()


def test_unknown_principal_is_33130(target: SqlTarget) -> None:
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute("CREATE USER [no-such-identity] FROM EXTERNAL PROVIDER")
    assert "Principal 'no-such-identity' could not be found" in sql_error(caught.value)


def test_duplicate_display_name_is_33131_and_object_id_is_the_way_out(target: SqlTarget) -> None:
    """A user-assigned identity named like the VM makes the VM's display name ambiguous."""
    profile = target.profile
    arm_token = target.admin_token("https://management.azure.com/")
    identity = (f"{profile.endpoints['arm']}/subscriptions/{profile.subscription_id}/resourceGroups/"
                f"{profile.resource_group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                f"{target.vm_name}")
    created = requests.put(identity, params={"api-version": "2023-01-31"}, json={"location": profile.location},
                           headers={"Authorization": f"Bearer {arm_token}"}, verify=target.ca, timeout=10)
    assert created.status_code in (200, 201), created.text
    with target.admin() as connection:
        with pytest.raises(pyodbc.Error) as caught:
            connection.execute(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
        assert "33131" in sql_error(caught.value) and "duplicate display name" in sql_error(caught.value)
        vm_object_id = target.emulator.context.world.vm_system_identity.object_id
        connection.execute(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = "
                           f"'{vm_object_id}'")
        connection.execute(f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")
    with target.vm() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300


def test_create_user_twice_is_15023(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    assert "15023" in sql_error(caught.value)


def test_a_reader_cannot_manage_users(target: SqlTarget) -> None:
    _grant_reader(target)
    with target.vm() as connection:
        with pytest.raises(pyodbc.Error) as caught:
            connection.execute("CREATE USER [workbook-admin] FROM EXTERNAL PROVIDER")
        assert "User does not have permission to perform this action." in sql_error(caught.value)
        with pytest.raises(pyodbc.Error) as altered:
            connection.execute(f"ALTER ROLE db_owner ADD MEMBER [{target.vm_name}]")
        assert "Cannot alter the role 'db_owner'" in sql_error(altered.value)
        with pytest.raises(pyodbc.Error) as created:
            connection.execute("CREATE TABLE t (a INT)")
        assert f"CREATE TABLE permission denied in database '{DATABASE}'." in sql_error(created.value)


def test_catalog_views_show_users_roles_and_tables(target: SqlTarget) -> None:
    _grant_reader(target)
    with target.admin() as connection:
        principals = connection.execute(
            "SELECT name, type_desc, authentication_type_desc FROM sys.database_principals "
            "WHERE type = 'E'").fetchall()
        members = connection.execute(
            "SELECT r.name, m.name FROM sys.database_role_members rm "
            "JOIN sys.database_principals r ON r.principal_id = rm.role_principal_id "
            "JOIN sys.database_principals m ON m.principal_id = rm.member_principal_id").fetchall()
        tables = connection.execute("SELECT name FROM sys.tables").fetchall()
        schema = connection.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES").fetchall()
    assert [tuple(r) for r in principals] == [(target.vm_name, "EXTERNAL_USER", "EXTERNAL")]
    assert [tuple(r) for r in members] == [("db_datareader", target.vm_name)]
    assert [tuple(r) for r in tables] == [("Products",)]
    assert [tuple(r) for r in schema] == [("dbo", "Products", "BASE TABLE")]


def test_reset_restores_the_declared_world(target: SqlTarget) -> None:
    _grant_reader(target)
    target.run_admin("DELETE FROM Products WHERE ProductID > 10")
    target.emulator.reset()
    with pytest.raises(pyodbc.Error):
        target.vm()
    with target.admin() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300
