"""Every test family with each of the three real clients: pyodbc + ODBC Driver 18, mssql-python (the
same driver, Microsoft's own Python binding) and pytds (pure-Python TDS, ``access_token_callable``).

The families: login and refused login (bad tokens, a principal with no user), users and roles,
parameters, transactions, several result sets in one batch, a 10,000-row result, a query that is
cancelled (a query timeout sends an attention) and a client that will not encrypt. Typed round trips
per client are in test_sql_queries.py."""

from __future__ import annotations

import re

import pytds
import pytest
from sql_clients import CLIENTS, Client, connected, refused, rows
from sql_helpers import BAD_TOKENS, DATABASE, LOGIN_FAILED, SqlTarget


@pytest.fixture(params=CLIENTS, ids=lambda c: c.name)
def client(request: pytest.FixtureRequest) -> Client:
    return request.param  # type: ignore[no-any-return]


def grant_vm(target: SqlTarget, *roles: str) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     *(f"ALTER ROLE {role} ADD MEMBER [{target.vm_name}]" for role in roles))


# -- login -------------------------------------------------------------------------------------------------
def test_admin_logs_in(client: Client, target: SqlTarget) -> None:
    with connected(client, target, target.admin_token()) as connection:
        assert rows(connection, "SELECT SUSER_SNAME(), DB_NAME()") == [("workbook-admin", DATABASE)]


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_token_is_refused_with_18456(client: Client, target: SqlTarget, kind: str) -> None:
    token = BAD_TOKENS[kind](target)
    client.check(refused(lambda: client.open(target, token, True, None)), 18456, LOGIN_FAILED)


def test_principal_without_a_database_user_is_refused(client: Client, target: SqlTarget) -> None:
    client.check(refused(lambda: client.open(target, target.vm_token(), True, None)), 18456, LOGIN_FAILED)


# -- users and roles ---------------------------------------------------------------------------------------
def test_users_and_roles_refuse_then_allow(client: Client, target: SqlTarget) -> None:
    grant_vm(target)  # a user, no role yet
    with connected(client, target, target.vm_token()) as vm:
        assert rows(vm, "SELECT SUSER_SNAME()") == [(target.vm_login,)]
        client.check(refused(lambda: rows(vm, "SELECT COUNT(*) FROM Products")), 229,
                     "The SELECT permission was denied on the object 'Products'")
    target.run_admin(f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")
    with connected(client, target, target.vm_token()) as vm:
        assert rows(vm, "SELECT COUNT(*) FROM Products") == [(300,)]
        text = refused(lambda: rows(vm, "INSERT INTO Products (Name, Category, Price, InStock, AddedOn, Sku) "
                                        "VALUES (N'x', N'y', 1, 1, SYSUTCDATETIME(), NEWID()); SELECT 1"))
        client.check(text, 229, "The INSERT permission was denied on the object 'Products'")


# -- parameters, transactions, result sets ---------------------------------------------------------------
def test_parameters(client: Client, target: SqlTarget) -> None:
    m = client.marker
    with connected(client, target, target.admin_token()) as connection:
        found = rows(connection, f"SELECT Name FROM Products WHERE ProductID = {m} AND Category = {m}", 1, "Garden")
        echoed = rows(connection, f"SELECT {m}, {m}", "Grüße 東京", 42)
    assert found == [("Classic Hose",)] and echoed == [("Grüße 東京", 42)]


def test_transaction_rollback_then_commit(client: Client, target: SqlTarget) -> None:
    with connected(client, target, target.admin_token(), autocommit=False) as connection:
        cursor = connection.cursor()
        cursor.execute("DELETE FROM Products WHERE Category = 'Garden'")
        assert rows(connection, "SELECT COUNT(*) FROM Products WHERE Category = 'Garden'") == [(0,)]
        connection.rollback()
        (garden,) = rows(connection, "SELECT COUNT(*) FROM Products WHERE Category = 'Garden'")[0]
        assert garden > 0
        connection.cursor().execute("DELETE FROM Products WHERE Category = 'Garden'")
        connection.commit()
    with connected(client, target, target.admin_token()) as other:
        assert rows(other, "SELECT COUNT(*) FROM Products") == [(300 - garden,)]


def test_several_result_sets_in_one_batch(client: Client, target: SqlTarget) -> None:
    with connected(client, target, target.admin_token()) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM Products; SELECT N'second' AS s, 2 AS n; SELECT TOP 2 ProductID "
                       "FROM Products ORDER BY ProductID")
        sets = [[tuple(r) for r in cursor.fetchall()]]
        while cursor.nextset():
            sets.append([tuple(r) for r in cursor.fetchall()])
    assert sets == [[(300,)], [("second", 2)], [(1,), (2,)]]


def test_ten_thousand_rows(client: Client, target: SqlTarget) -> None:
    target.run_admin(
        "CREATE TABLE Digits (D INT NOT NULL)",
        "INSERT INTO Digits (D) VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
        "CREATE TABLE Big (N INT PRIMARY KEY, Label NVARCHAR(40) NOT NULL)",
        "INSERT INTO Big (N, Label) SELECT a.D + 10*b.D + 100*c.D + 1000*e.D, N'rôw' "
        "FROM Digits a, Digits b, Digits c, Digits e")
    with connected(client, target, target.admin_token()) as connection:
        found = rows(connection, "SELECT N, Label FROM Big ORDER BY N")
    assert [r[0] for r in found] == list(range(10_000)) and {r[1] for r in found} == {"rôw"}


# -- cancel and encryption -----------------------------------------------------------------------------------
def test_a_query_timeout_cancels_and_the_connection_serves_on(client: Client, target: SqlTarget) -> None:
    """The client gives up after 1 s and sends an attention; the emulator stops the 20-second WAITFOR,
    acknowledges it, and the same connection runs the next query."""
    with connected(client, target, target.admin_token(), query_timeout=1) as connection:
        text = refused(lambda: rows(connection, "WAITFOR DELAY '00:00:20'; SELECT 1"))
        assert re.search(r"HYT00|timeout|timed out", text, re.I), text
        assert rows(connection, "SELECT COUNT(*) FROM Products") == [(300,)]


def test_a_client_that_will_not_encrypt_is_refused(target: SqlTarget) -> None:
    """pytds without a CA file does not offer TLS at all; the emulator answers that encryption is
    required and closes before any token can be sent. (The ODBC driver always encrypts: with
    ``Encrypt=no`` it is upgraded, see test_sql_login.py.)"""
    with pytest.raises(pytds.Error, match="encryption enabled but it is required by server"):
        pytds.connect(dsn="localhost", port=target.port, database=DATABASE,
                      access_token_callable=target.admin_token, login_timeout=5, autocommit=True)
