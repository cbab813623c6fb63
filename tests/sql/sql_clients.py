"""The three real clients the SQL tests run with: pyodbc + ODBC Driver 18, mssql-python (the same driver,
Microsoft's own Python binding) and pytds (pure-Python TDS, ``access_token_callable``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mssql_python
import pytds
import pytest
from sql_helpers import DATABASE, SqlTarget, sql_error

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
