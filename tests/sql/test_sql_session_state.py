"""A session's SET options, kept per session and read back by the @@ functions that report them (@@OPTIONS,
@@DATEFIRST, @@LANGUAGE, @@TEXTSIZE …), HOST_NAME() and APP_NAME() from the login, the login's options
restored by a connection reset, and no message that shows a client one of the emulator's own names."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pyodbc
import pytds
import pytest
from raw_tds import SQL_BATCH, RawTds, sql_batch_payload
from raw_tds import connect as raw_connect
from sql_helpers import DATABASE, SqlTarget, sql_error

# @@OPTIONS of an ODBC connection: ANSI_WARNINGS 8, ANSI_PADDING 16, ANSI_NULLS 32, QUOTED_IDENTIFIER 256,
# ANSI_NULL_DFLT_ON 1024, CONCAT_NULL_YIELDS_NULL 4096
ODBC_OPTIONS = 5432


def _row(connection: Any, query: str) -> tuple[Any, ...]:
    return tuple(connection.execute(query).fetchone())


def test_options_and_the_functions_that_read_them(target: SqlTarget) -> None:
    with target.admin() as connection, target.admin() as other:
        before = _row(connection, "SELECT @@OPTIONS, @@DATEFIRST, @@LANGUAGE, @@LANGID, @@TEXTSIZE, @@LOCK_TIMEOUT, "
                                  "@@MAX_PRECISION")
        connection.execute("SET ANSI_WARNINGS OFF; SET ARITHABORT ON; SET NOCOUNT ON; SET DATEFIRST 1; "
                           "SET LOCK_TIMEOUT 5000; SET TEXTSIZE 65536")
        after = _row(connection, "SELECT @@OPTIONS, @@DATEFIRST, @@TEXTSIZE, @@LOCK_TIMEOUT, "
                                 "DATEPART(weekday, '2024-03-14')")
        untouched = _row(other, "SELECT @@OPTIONS, @@DATEFIRST, DATEPART(weekday, '2024-03-14')")
        connection.execute("SET LANGUAGE british")
        british = _row(connection, "SELECT @@LANGUAGE, @@LANGID, @@DATEFIRST, CAST('1/2/2024' AS DATE)")
    assert before == (ODBC_OPTIONS, 7, "us_english", 0, 2147483647, -1, 38)
    assert after == (ODBC_OPTIONS - 8 + 64 + 512, 1, 65536, 5000, 4)  # Thursday is day 4 from Monday
    assert untouched == (ODBC_OPTIONS, 7, 5)  # another session keeps its own options
    assert british == ("british", 23, 1, dt.date(2024, 2, 1))


def test_host_and_application_names_come_from_the_login(target: SqlTarget) -> None:
    with target.admin() as connection:
        host, application = _row(connection, "SELECT HOST_NAME(), APP_NAME()")
    assert host == socket.gethostname()
    assert application  # what the driver sent in LOGIN7
    token = target.admin_token()
    with pytds.connect(dsn="localhost", port=target.port, database=DATABASE, cafile=target.ca,
                       access_token_callable=lambda: token, login_timeout=5, autocommit=True,
                       appname="workbook-test") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT APP_NAME(), @@OPTIONS")
        assert tuple(cursor.fetchone()) == ("workbook-test", ODBC_OPTIONS)


def test_a_connection_reset_restores_the_login_options(target: SqlTarget) -> None:
    with raw_connect(target.port, target.ca, target.admin_token()) as raw:
        raw.batch("SET LANGUAGE british; SET DATEFIRST 3; SET NOCOUNT ON")
        assert raw.batch("SELECT @@DATEFIRST AS d, @@LANGUAGE AS l").rows == [[3, "british"]]
        reset = raw.request(SQL_BATCH, sql_batch_payload("SELECT @@DATEFIRST AS d, @@LANGUAGE AS l"), status=0x08)
        assert reset.rows == [[7, "us_english"]]


@pytest.mark.parametrize(("statement", "number", "words"), [
    ("SET IMPLICIT_TRANSACTIONS ON", 40517, "SET IMPLICIT_TRANSACTIONS ON"),
    ("SET FMTONLY ON", 40517, "SET FMTONLY ON"),
    ("SET NO_SUCH_OPTION ON", 195, "'NO_SUCH_OPTION' is not a recognized SET option."),
    ("SET DATEFIRST 9", 2742, "SET DATEFIRST 9 is out of range."),
    ("SET DATEFORMAT xyz", 2741, "SET DATEFORMAT date order 'xyz' is invalid."),
    ("SET LANGUAGE klingon", 2740, "SET LANGUAGE failed because 'klingon' is not an official language name"),
])
def test_options_refused_as_sql_server_refuses_them(target: SqlTarget, statement: str, number: int,
                                                    words: str) -> None:
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute(statement)
    assert f"({number})" in sql_error(caught.value) and words in sql_error(caught.value)


HOSTILE = ["SELECT SUM(SUM(Price)) FROM Products", "SELECT AVG(AVG(Price)) FROM Products",
           "SELECT @@NO_SUCH_THING", "SELECT NO_SUCH_FUNCTION(1)",
           "SELECT CAST(1 AS NO_SUCH_TYPE)", "SELECT DATEADD(day, 1)", "SELECT ROUND(1)",
           "SELECT @@OPTIONS + 'x'",
           "SELECT AVG(Price) OVER (ORDER BY MAX(Price)) FROM Products", "SELECT Price FROM Products GROUP BY 1",
           "SELECT * FROM sys.tables WHERE object_id = 'x'", "SELECT CONVERT(INT, 'x', 120)"]


def test_no_message_names_the_emulators_own_functions_or_tables(raw_admin: RawTds) -> None:
    """(A statement that names them itself is told they do not exist, by the name it wrote: see
    test_sql_permissions.py.)"""
    for statement in HOSTILE:
        reply = raw_admin.batch(statement)
        for number, message in reply.errors:
            assert "__" not in message and "tsql" not in message.lower(), (statement, number, message)
        assert raw_admin.batch("SELECT 1 AS n").rows == [[1]]


@pytest.fixture
def raw_admin(target: SqlTarget) -> Any:
    with raw_connect(target.port, target.ca, target.admin_token()) as client:
        yield client
