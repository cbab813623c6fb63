"""Every test family with each of the three real clients: pyodbc + ODBC Driver 18, mssql-python (the
same driver, Microsoft's own Python binding) and pytds (pure-Python TDS, ``access_token_callable``).

The families: login and refused login (bad tokens, a principal with no user), users and roles,
parameters, transactions, several result sets in one batch, a 10,000-row result, a query that is
cancelled (a query timeout sends an attention) and a client that will not encrypt. Typed round trips
per client are in test_sql_queries.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mssql_python
import pytds
import pytest
from sql_helpers import BAD_TOKENS, DATABASE, LOGIN_FAILED, SqlTarget, sql_error

from lib import sql


@dataclass(frozen=True)
class Client:
    name: str
    open: Callable[[SqlTarget, str, bool, int | None], Any]  # target, token, autocommit, query timeout (s)
    marker: str  # how this client writes a query parameter
    shows_numbers: bool = True  # mssql-python keeps SQL Server's message but not its error number

    def check(self, text: str, number: int, message: str) -> None:
        """SQL Server's error: its message, and its number where the client passes it on."""
        assert message in text, text
        if self.shows_numbers:
            assert re.search(rf"\b{number}\b", text), text


def _pyodbc(target: SqlTarget, token: str, autocommit: bool, query_timeout: int | None) -> Any:
    connection = target.odbc(token, autocommit=autocommit)
    connection.timeout = query_timeout or 0
    return connection


def _mssql_python(target: SqlTarget, token: str, autocommit: bool, query_timeout: int | None) -> Any:
    connection = mssql_python.connect(
        f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert}",
        autocommit=autocommit, attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(token)})
    connection.timeout = query_timeout or 0
    return connection


def _pytds(target: SqlTarget, token: str, autocommit: bool, query_timeout: int | None) -> Any:
    return pytds.connect(dsn="localhost", port=target.port, database=DATABASE, cafile=target.ca,
                         access_token_callable=lambda: token, login_timeout=5, autocommit=autocommit,
                         timeout=query_timeout)


CLIENTS = [Client("pyodbc", _pyodbc, "?"), Client("mssql-python", _mssql_python, "?", shows_numbers=False),
           Client("pytds", _pytds, "%s")]


@pytest.fixture(params=CLIENTS, ids=lambda c: c.name)
def client(request: pytest.FixtureRequest) -> Client:
    return request.param  # type: ignore[no-any-return]


@contextmanager
def connected(client: Client, target: SqlTarget, token: str, *, autocommit: bool = True,
              query_timeout: int | None = None) -> Iterator[Any]:
    connection = client.open(target, token, autocommit, query_timeout)
    try:
        yield connection
    finally:
        connection.close()


def rows(connection: Any, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    cursor.execute(query, parameters) if parameters else cursor.execute(query)
    return [tuple(row) for row in cursor.fetchall()]


def refused(action: Callable[[], Any]) -> str:
    """The error text (with its SQL Server number) of an action that must fail."""
    with pytest.raises(Exception) as caught:  # each client has its own exception classes
        action()
    error = caught.value
    number = getattr(error, "number", None)  # pytds keeps the number apart from the text
    return f"{sql_error(error)} ({number})" if number is not None else sql_error(error)


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
        assert rows(vm, "SELECT SUSER_SNAME()") == [(target.vm_name,)]
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
