"""Dates and times as SQL Server defines them: the string formats it reads (unpadded parts, month names,
ISO 8601, the session's DATEFORMAT), datetime's 1/300 s and smalldatetime's minute rounding and their own
wire types, datetimeoffset keeping its offset, scales 0-7 kept in storage, in CAST/CONVERT and on the
wire. Through pyodbc + ODBC Driver 18, mssql-python where the driver hands values back differently."""

from __future__ import annotations

import datetime as dt
from typing import Any

import mssql_python
import pyodbc
import pytest
from raw_tds import connect as raw_connect
from sql_helpers import DATABASE, SqlTarget, sql_error

from lib import sql


def _rows(connection: Any, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    cursor.execute(query, *parameters) if parameters else cursor.execute(query)
    return [tuple(row) for row in cursor.fetchall()]


def _error(connection: Any, query: str) -> str:
    with pytest.raises(pyodbc.Error) as caught:
        _rows(connection, query)
    return sql_error(caught.value)


def test_string_formats_sql_server_reads(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Events (Id INT IDENTITY(1,1) PRIMARY KEY, At DATETIME, Day DATE, "
                           "Exact DATETIME2)")
        connection.execute("INSERT INTO Events (At, Day, Exact) VALUES ('2011-12-4 10:04:23', '2011-12-4', "
                           "'2011-12-4 10:04:23'), ('Apr 15 1996 10:00PM', '15 April 1996', '19960415 22:00'), "
                           "('2024-03-04T05:06:07.123', '2024/3/4', '2024-03-04T05:06:07.1234567')")
        rows = _rows(connection, "SELECT At, Day, Exact FROM Events ORDER BY Id")
        since = _rows(connection, "SELECT COUNT(*) FROM Events WHERE Exact >= '2011-12-4' AND At < '2024-3-4 5:07'")
        casts = _rows(connection, "SELECT CAST('2011-12-4 10:04:23' AS DATETIME), CAST('1/2/2024' AS DATE)")
        british = _rows(connection, "SET DATEFORMAT dmy; SELECT CAST('1/2/2024' AS DATE)")
    assert rows == [
        (dt.datetime(2011, 12, 4, 10, 4, 23), dt.date(2011, 12, 4), dt.datetime(2011, 12, 4, 10, 4, 23)),
        (dt.datetime(1996, 4, 15, 22, 0), dt.date(1996, 4, 15), dt.datetime(1996, 4, 15, 22, 0)),
        (dt.datetime(2024, 3, 4, 5, 6, 7, 123000), dt.date(2024, 3, 4), dt.datetime(2024, 3, 4, 5, 6, 7, 123456))]
    assert since == [(2,)]
    assert casts == [(dt.datetime(2011, 12, 4, 10, 4, 23), dt.date(2024, 1, 2))]
    assert british == [(dt.date(2024, 2, 1),)]


def test_datetime_keeps_three_hundredths_of_a_second_and_goes_as_datetime(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Clock (Id INT IDENTITY(1,1) PRIMARY KEY, At DATETIME, Small SMALLDATETIME)")
        connection.execute("INSERT INTO Clock (At, Small) VALUES ('2024-01-01 23:59:59.999', "
                           "'2024-01-01 10:00:29.999'), ('2024-01-01 10:00:00.995', '2024-01-01 10:00:29.998'), "
                           "('2024-01-01 10:00:00.991', '2024-06-06 23:59:59')")
        connection.execute("INSERT INTO Clock (At) VALUES (?)", dt.datetime(2024, 1, 1, 10, 0, 0, 2000))
        rows = _rows(connection, "SELECT At, Small FROM Clock ORDER BY Id")
        text = _rows(connection, "SELECT CONVERT(VARCHAR(23), At, 121) FROM Clock ORDER BY Id")
        out_of_range = _error(connection, "SELECT CAST('1752-12-31' AS DATETIME)")
    assert rows == [(dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1, 10, 1)),
                    (dt.datetime(2024, 1, 1, 10, 0, 0, 997000), dt.datetime(2024, 1, 1, 10, 0)),
                    (dt.datetime(2024, 1, 1, 10, 0, 0, 990000), dt.datetime(2024, 6, 7, 0, 0)),
                    (dt.datetime(2024, 1, 1, 10, 0, 0, 3000), None)]
    assert [r[0] for r in text] == ["2024-01-02 00:00:00.000", "2024-01-01 10:00:00.997",
                                    "2024-01-01 10:00:00.990", "2024-01-01 10:00:00.003"]
    assert "(242)" in out_of_range and "out-of-range value" in out_of_range
    with raw_connect(target.port, target.ca, target.admin_token()) as raw:
        reply = raw.batch("SELECT At, Small, CAST(At AS DATETIME2(3)) AS d2 FROM Clock")
    assert [(c.type_id, c.size, c.scale) for c in reply.columns] == [(0x6F, 8, 0), (0x6F, 4, 0), (0x2A, 0, 3)]


def test_datetimeoffset_keeps_its_offset(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Meetings (Id INT IDENTITY(1,1) PRIMARY KEY, At DATETIMEOFFSET)")
        connection.execute("INSERT INTO Meetings (At) VALUES ('2024-03-04 10:00:00.1234567 +05:30'), "
                           "('2024-03-04 05:00:00 +00:00'), ('2024-03-04T01:00:00-08:00')")
        text = _rows(connection, "SELECT CAST(At AS VARCHAR(40)) FROM Meetings ORDER BY At")
        parts = _rows(connection, "SELECT DATEPART(tzoffset, At), DATENAME(tzoffset, At) FROM Meetings "
                                  "WHERE Id = 1")
    # ordered by the instant: 04:30Z, 05:00Z, 09:00Z
    assert [r[0] for r in text] == ["2024-03-04 10:00:00.1234567 +05:30", "2024-03-04 05:00:00.0000000 +00:00",
                                    "2024-03-04 01:00:00.0000000 -08:00"]
    assert parts == [(330, "+05:30")]
    connection = mssql_python.connect(
        f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert}",
        autocommit=True, attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(target.admin_token())})
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT At FROM Meetings WHERE Id = 1")
        (value,) = cursor.fetchone()
    finally:
        connection.close()
    assert value == dt.datetime(2024, 3, 4, 10, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert value.utcoffset() == dt.timedelta(hours=5, minutes=30)


def test_scales_are_kept_in_casts_and_on_the_wire(target: SqlTarget) -> None:
    with target.admin() as connection:
        row = _rows(connection, "DECLARE @t DATETIME2 = '2024-02-29 18:13:37.1234567'; "
                                "SELECT CAST(@t AS VARCHAR(30)), CAST(@t AS DATETIME2(3)), CAST(@t AS DATETIME2(0)), "
                                "CAST(CAST(@t AS TIME(4)) AS VARCHAR(20)), CONVERT(VARCHAR(30), @t, 121), "
                                "CAST(CAST(@t AS DATETIME2(3)) AS VARCHAR(30))")[0]
        description = connection.execute("SELECT CAST(SYSDATETIME() AS DATETIME2(3)), CAST('10:00' AS TIME(2))"
                                         ).description
    assert row == ("2024-02-29 18:13:37.1234567", dt.datetime(2024, 2, 29, 18, 13, 37, 123000),
                   dt.datetime(2024, 2, 29, 18, 13, 37), "18:13:37.1235", "2024-02-29 18:13:37.1234567",
                   "2024-02-29 18:13:37.123")
    assert [d[5] for d in description] == [3, 2]
    with raw_connect(target.port, target.ca, target.admin_token()) as raw:
        reply = raw.batch("SELECT CAST('2024-02-29 18:13:37.1234567' AS DATETIME2(7)) AS a, "
                          "CAST('18:13:37.12' AS TIME(2)) AS b")
    assert [(c.type_id, c.scale) for c in reply.columns] == [(0x2A, 7), (0x29, 2)]
    seven = reply.rows[0][0]
    ticks = int.from_bytes(seven[:5], "little")  # datetime2(7): 100 ns since midnight, exact to the last digit
    assert ticks == (18 * 3600 + 13 * 60 + 37) * 10_000_000 + 1234567
