"""Computed columns go on the wire with the types SQL Server infers for them (the COLMETADATA a driver
reads), and division by zero is SQL Server's error 8134, never NULL. Checked on the wire with the raw
TDS client and through pyodbc + ODBC Driver 18's description and values."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pyodbc
import pytest
from raw_tds import connect as raw_connect
from sql_helpers import SqlTarget, sql_error

# (expression, wire type id, size, scale) — INTN 0x26, FLTN 0x6D, BIGVARCHAR 0xA7, NVARCHAR 0xE7, GUID 0x24,
# DATETIMN 0x6F, DATETIME2N 0x2A, IMAGE 0x22, BITN 0x68, DECIMALN 0x6A, BIGVARBINARY 0xA5, MONEYN 0x6E
COMPUTED = [
    ("CAST(200 AS TINYINT)", 0x26, 1, 0),
    ("CAST(1 AS SMALLINT) + CAST(1 AS TINYINT)", 0x26, 2, 0),
    ("CAST(1 AS TINYINT) + 1", 0x26, 4, 0),
    ("CAST(1.5 AS REAL)", 0x6D, 4, 0),
    ("CAST(1.5 AS REAL) * CAST(2 AS REAL)", 0x6D, 4, 0),
    ("CAST(1.5 AS REAL) * 2.0", 0x6D, 8, 0),
    ("'abc'", 0xA7, 3, 0),
    ("'abc' + 'de'", 0xA7, 5, 0),
    ("N'abc'", 0xE7, 6, 0),
    ("'abc' + N'de'", 0xE7, 10, 0),
    ("UPPER('abc')", 0xA7, 3, 0),
    ("NEWID()", 0x24, 16, 0),
    ("GETDATE()", 0x6F, 8, 0),
    ("SYSDATETIME()", 0x2A, 0, 7),
    ("CAST('3F2504E0-4F89-11D3-9A0C-0305E82C3301' AS UNIQUEIDENTIFIER)", 0x24, 16, 0),
    ("CAST(0x1234 AS IMAGE)", 0x22, 0x7FFFFFFF, 0),
    ("CAST(1 AS BIT)", 0x68, 1, 0),
    ("COUNT_BIG(*)", 0x26, 8, 0),
    ("ISNULL(CAST(NULL AS SMALLINT), 2)", 0x26, 2, 0),
    ("CASE WHEN 1 = 1 THEN 1 ELSE 2.5 END", 0x6A, 9, 1),  # int and decimal(2,1): decimal(11,1)
    ("COALESCE(CAST(NULL AS TINYINT), CAST(7 AS BIGINT))", 0x26, 8, 0),
    ("0x0102", 0xA5, 2, 0),
    ("CAST(5 AS MONEY) * 2", 0x6E, 8, 0),
    ("LEN('abc')", 0x26, 4, 0),
]


def test_computed_columns_have_sql_servers_types(target: SqlTarget) -> None:
    query = "SELECT " + ", ".join(f"{expression} AS c{index}" for index, (expression, *_) in enumerate(COMPUTED))
    with raw_connect(target.port, target.ca, target.admin_token()) as raw:
        reply = raw.batch(query)
    assert reply.errors == []
    found = [(c.type_id, c.size, c.scale) for c in reply.columns]
    expected = [(type_id, size, scale) for _, type_id, size, scale in COMPUTED]
    assert [(expression, f) for (expression, *_), f in zip(COMPUTED, found, strict=True)] == \
        [(expression, e) for (expression, *_), e in zip(COMPUTED, expected, strict=True)]
    values = reply.rows[0]
    assert values[0] == 200 and values[6] == b"abc" and values[8] == "abc"
    assert values[14] == uuid.UUID("3F2504E0-4F89-11D3-9A0C-0305E82C3301").bytes_le
    assert values[15] == b"\x12\x34"


def test_table_columns_of_every_type_keep_their_type(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Kinds (T TINYINT, S SMALLINT, R REAL, V VARCHAR(10), C CHAR(3), "
                           "N NVARCHAR(10), B BINARY(2), M MONEY, SD SMALLDATETIME, G UNIQUEIDENTIFIER)")
        connection.execute("INSERT INTO Kinds VALUES (255, -32768, 1.5, 'v', 'c', N'n', 0x01, 1.25, "
                           "'2024-01-01 10:00', NEWID())")
        cursor = connection.execute("SELECT T, S, R, V, C, N, B, M, SD, G FROM Kinds")
        row = cursor.fetchone()
        kinds = [(d[1], d[3]) for d in cursor.description]
    assert list(row)[:9] == [255, -32768, 1.5, "v", "c  ", "n", b"\x01\x00", Decimal("1.2500"),
                             dt.datetime(2024, 1, 1, 10, 0)]
    assert isinstance(row[9], str) and len(row[9]) == 36
    assert kinds[0][0] is int and kinds[2][0] is float


def test_tinyint_arithmetic_overflows_as_tinyint(target: SqlTarget) -> None:
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute("SELECT CAST(200 AS TINYINT) + CAST(100 AS TINYINT)").fetchall()
    message = sql_error(caught.value)
    assert "(220)" in message and "Arithmetic overflow error for data type tinyint, value = 300." in message


@pytest.mark.parametrize("expression", ["1 / 0", "1 % 0", "1.0 / 0", "CAST(1 AS FLOAT) / 0", "@x / @zero",
                                        "Price / 0", "Price % 0", "ProductID / (ProductID - ProductID)"])
def test_division_by_zero_is_8134(target: SqlTarget, expression: str) -> None:
    query = f"DECLARE @x INT = 5, @zero INT = 0; SELECT {expression} FROM Products WHERE ProductID = 1"
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute(query).fetchall()
    assert "(8134)" in sql_error(caught.value) and "Divide by zero error encountered." in sql_error(caught.value)

