"""Strings and binaries as SQL Server stores them: a value longer than its column is refused with 2628
naming the table, the column and the value as it would have been cut (and nothing is written), unless
ANSI_WARNINGS is OFF, which cuts it; char(n)/nchar(n)/binary(n) are padded; varchar holds code page
1252 and goes on the wire as varchar. Through pyodbc + ODBC Driver 18, and mssql-python for the error
as that driver passes it on."""

from __future__ import annotations

from typing import Any

import mssql_python
import pyodbc
import pytest
from raw_tds import connect as raw_connect
from sql_helpers import DATABASE, SqlTarget, sql_error

from lib import sql

TABLE = ("CREATE TABLE Texts (Id INT IDENTITY(1,1) PRIMARY KEY, Short VARCHAR(5), Wide NVARCHAR(3), "
         "Code CHAR(5), Mark NCHAR(4), Bytes VARBINARY(4), Fixed BINARY(4))")
TRUNCATED = "String or binary data would be truncated in table 'workbookdb.dbo.Texts', column '{}'. Truncated value: "


def _rows(connection: Any, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    cursor.execute(query, *parameters) if parameters else cursor.execute(query)
    return [tuple(row) for row in cursor.fetchall()]


def _refused(connection: Any, statement: str, *parameters: Any) -> str:
    with pytest.raises(pyodbc.Error) as caught:
        connection.execute(statement, *parameters)
    return sql_error(caught.value)


def test_a_string_longer_than_its_column_is_2628_and_nothing_is_written(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute(TABLE)
        literal = _refused(connection, "INSERT INTO Texts (Short) VALUES ('abcdefgh')")
        parameter = _refused(connection, "INSERT INTO Texts (Wide) VALUES (?)", "wxyz")
        binary = _refused(connection, "INSERT INTO Texts (Bytes) VALUES (0x0102030405)")
        connection.execute("INSERT INTO Texts (Short) VALUES ('ok')")
        update = _refused(connection, "UPDATE Texts SET Short = Short + 'abcdef'")
        several = _refused(connection, "INSERT INTO Texts (Short) VALUES ('fine'), ('far too long')")
        rows = _rows(connection, "SELECT Short FROM Texts")
    assert "(2628)" in literal and TRUNCATED.format("Short") + "'abcde'." in literal
    assert "(2628)" in parameter and TRUNCATED.format("Wide") + "'wxy'." in parameter
    assert "(2628)" in binary and TRUNCATED.format("Bytes") in binary
    assert "(2628)" in update and TRUNCATED.format("Short") + "'okabc'." in update
    assert "(2628)" in several
    assert rows == [("ok",)]  # neither the refused rows nor the rows beside them


def test_mssql_python_gets_the_same_refusal(target: SqlTarget) -> None:
    target.run_admin(TABLE)
    connection = mssql_python.connect(
        f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert}",
        autocommit=True, attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(target.admin_token())})
    try:
        with pytest.raises(mssql_python.Error) as caught:
            connection.cursor().execute("INSERT INTO Texts (Short) VALUES (?)", ("abcdefgh",))
    finally:
        connection.close()
    assert TRUNCATED.format("Short") + "'abcde'." in str(caught.value)


def test_ansi_warnings_off_cuts_instead(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute(TABLE)
        connection.execute("SET ANSI_WARNINGS OFF; INSERT INTO Texts (Short, Bytes) VALUES ('abcdefgh', 0x0102030405)")
        connection.execute("SET ANSI_WARNINGS ON")
        refused = _refused(connection, "INSERT INTO Texts (Short) VALUES ('abcdefgh')")
        rows = _rows(connection, "SELECT Short, Bytes FROM Texts")
    assert rows == [("abcde", b"\x01\x02\x03\x04")]
    assert "(2628)" in refused


def test_trailing_blanks_are_cut_without_a_word(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute(TABLE)
        connection.execute("INSERT INTO Texts (Short) VALUES ('abc      ')")
        assert _rows(connection, "SELECT Short, LEN(Short), DATALENGTH(Short) FROM Texts") == [("abc  ", 3, 5)]


def test_fixed_length_types_are_padded(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute(TABLE)
        connection.execute("INSERT INTO Texts (Code, Mark, Fixed) VALUES ('ab', N'é', 0x0102)")
        row = _rows(connection, "SELECT Code, Mark, Fixed, DATALENGTH(Code), DATALENGTH(Mark) FROM Texts")[0]
        found = _rows(connection, "SELECT COUNT(*) FROM Texts WHERE Code = 'ab' AND Code = 'AB '")
        casts = _rows(connection, "SELECT CAST('x' AS CHAR(3)), CAST(0x01 AS BINARY(3)), CAST('abcdef' AS CHAR(2))")
    assert row == ("ab   ", "é   ", b"\x01\x02\x00\x00", 5, 8)
    assert found == [(1,)]  # char compares without case and trailing blanks
    assert casts == [("x  ", b"\x01\x00\x00", "ab")]  # CAST cuts without an error


def test_unicode_lengths_count_utf16_units(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Emoji (Two NVARCHAR(2))")
        connection.execute("INSERT INTO Emoji (Two) VALUES (?)", "🚀")  # one character, two UTF-16 units
        refused = _refused(connection, "INSERT INTO Emoji (Two) VALUES (?)", "🚀a")
        rows = _rows(connection, "SELECT Two, LEN(Two), DATALENGTH(Two) FROM Emoji")
    assert rows == [("🚀", 2, 4)] and "(2628)" in refused


def test_varchar_holds_code_page_1252_and_goes_as_varchar(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Latin (V VARCHAR(20), N NVARCHAR(20))")
        connection.execute("INSERT INTO Latin (V, N) VALUES (N'Grüße 東京 €', N'Grüße 東京 €')")
        rows = _rows(connection, "SELECT V, N FROM Latin")
    assert rows == [("Grüße ?? €", "Grüße 東京 €")]  # what varchar cannot hold becomes '?'
    with raw_connect(target.port, target.ca, target.admin_token()) as raw:
        reply = raw.batch("SELECT V, N, 'abc' AS lit, N'abc' AS nlit, CAST('x' AS CHAR(3)) AS c FROM Latin")
    assert [(c.type_id, c.size) for c in reply.columns] == [(0xA7, 20), (0xE7, 40), (0xA7, 3), (0xE7, 6), (0xAF, 3)]
    assert reply.rows[0][0] == "Grüße ?? €".encode("cp1252")


def test_plus_adds_when_a_number_meets_a_string_and_joins_two_strings(target: SqlTarget) -> None:
    """T-SQL's + is arithmetic when either operand is a number (the string is converted, by type precedence) and
    concatenation only between strings. 'Item ' + ProductID is the classic 245 that CAST fixes; the emulator used
    to join any string literal with anything, answering '11' for '1' + 1."""
    with target.admin() as connection:
        def one(query: str) -> Any:
            return connection.execute(query).fetchone()[0]

        assert one("SELECT '1' + 1") == 2 and one("SELECT 1 + '1'") == 2
        assert one("SELECT '1' + 1 + 1") == 3  # ('1' + 1) is a number, so the next + adds too
        assert one("SELECT 'x' + 'y' + 'z'") == "xyz"
        assert one("SELECT 'Item ' + CAST(ProductID AS varchar(10)) FROM Products WHERE ProductID = 1") == "Item 1"
        assert one("SELECT Name + ' (' + Category + ')' FROM Products WHERE ProductID = 1").endswith(")")
        assert one("DECLARE @n int = 5; SELECT @n + '2'") == 7
        assert one("SELECT 'a' + NULL") is None
        for query, value, kind in (("SELECT 'Item ' + ProductID FROM Products WHERE ProductID = 1", "Item", "varchar"),
                                   ("SELECT N'abc' + 1", "abc", "nvarchar")):
            with pytest.raises(pyodbc.Error) as refused:
                connection.execute(query).fetchall()
            assert "(245)" in str(refused.value) and f"the {kind} value '{value}" in str(refused.value)
    flat = " + ".join(["'1'"] + ["1"] * 400)  # a long chain stays one flat pass, not a deep recursion
    with target.admin() as connection:
        assert connection.execute(f"SELECT {flat}").fetchone()[0] == 401


def test_two_values_compare_as_the_databases_case_insensitive_collation_does(target: SqlTarget) -> None:
    """Azure SQL's default collation (SQL_Latin1_General_CP1_CI_AS) ignores case. Columns carried it already; two
    values with no column between them (literals, variables, function results) were compared byte by byte."""
    with target.admin() as connection:
        def one(query: str) -> Any:
            return connection.execute(query).fetchone()[0]

        assert one("SELECT CASE WHEN 'abc' = 'ABC' THEN 1 ELSE 0 END") == 1
        assert one("SELECT CASE WHEN 'a' < 'B' THEN 1 ELSE 0 END") == 1  # a binary order would put 'B' first
        assert one("DECLARE @a varchar(5) = 'Yes'; IF @a = 'YES' SELECT 'same' ELSE SELECT 'different'") == "same"
        by_column = one("SELECT COUNT(*) FROM Products WHERE Category = 'garden'")
        assert by_column > 0 and one("SELECT COUNT(*) FROM Products WHERE UPPER(Category) = 'garden'") == by_column
        assert one("SELECT CASE WHEN 'abc' = 'abd' THEN 1 ELSE 0 END") == 0
