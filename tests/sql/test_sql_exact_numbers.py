"""decimal, numeric, money and smallmoney keep every digit, as in SQL Server: stored, computed, summed,
compared, converted and sent without passing through a float, with SQL Server's precision and scale
rules and its overflow error (8115). Through pyodbc + ODBC Driver 18, and mssql-python for the values
as another driver reads them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import mssql_python
import pyodbc
import pytest
from raw_tds import connect as raw_connect
from sql_helpers import DATABASE, SqlTarget, sql_error

from lib import sql

EXACT_TABLE = ("CREATE TABLE Exact (Id INT IDENTITY(1,1) PRIMARY KEY, Big DECIMAL(17,2), Wide NUMERIC(35,5), "
               "Full DECIMAL(38,0), Tiny DECIMAL(38,38), Cash MONEY, Petty SMALLMONEY)")
# values a 64-bit float cannot hold (it has 15-17 significant digits)
EXACT_VALUES = [
    (Decimal("123456789012345.11"), Decimal("123456789012345678901234567890.12345"),
     Decimal("99999999999999999999999999999999999999"), Decimal("0.12345678901234567890123456789012345678"),
     Decimal("922337203685477.5807"), Decimal("214748.3647")),
    (Decimal("-999999999999999.99"), Decimal("-0.00001"), Decimal("-99999999999999999999999999999999999999"),
     Decimal("-0.00000000000000000000000000000000000001"), Decimal("-922337203685477.5808"),
     Decimal("-214748.3648")),
]


def _rows(connection: Any, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    cursor.execute(query, *parameters) if parameters else cursor.execute(query)
    return [tuple(row) for row in cursor.fetchall()]


def _error(connection: Any, query: str, *parameters: Any) -> str:
    with pytest.raises(pyodbc.Error) as caught:
        _rows(connection, query, *parameters)
    return sql_error(caught.value)


def test_values_beyond_a_float_round_trip_exactly(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute(EXACT_TABLE)
        for values in EXACT_VALUES:  # as parameters (RPC: DECIMALN, MONEYN) …
            connection.execute("INSERT INTO Exact (Big, Wide, [Full], Tiny, Cash, Petty) VALUES (?, ?, ?, ?, ?, ?)",
                               *values)
        # … and as literals in the batch's text
        connection.execute("INSERT INTO Exact (Big, Wide, [Full], Tiny, Cash, Petty) VALUES (123456789012345.11, "
                           "123456789012345678901234567890.12345, 99999999999999999999999999999999999999, "
                           "0.12345678901234567890123456789012345678, 922337203685477.5807, 214748.3647)")
        rows = _rows(connection, "SELECT Big, Wide, [Full], Tiny, Cash, Petty FROM Exact ORDER BY Id")
        literal = _rows(connection, "SELECT 123456789012345.11, 0.1 + 0.2, 12345678901234567890.123 * 1000")
    assert rows == [*EXACT_VALUES, EXACT_VALUES[0]]
    assert literal == [(Decimal("123456789012345.11"), Decimal("0.3"), Decimal("12345678901234567890123.000"))]


def test_mssql_python_reads_the_same_digits(target: SqlTarget) -> None:
    target.run_admin(EXACT_TABLE)
    connection = mssql_python.connect(
        f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert}",
        autocommit=True, attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(target.admin_token())})
    try:
        cursor = connection.cursor()
        for values in EXACT_VALUES:
            cursor.execute("INSERT INTO Exact (Big, Wide, [Full], Tiny, Cash, Petty) VALUES (?, ?, ?, ?, ?, ?)",
                           values)
        cursor.execute("SELECT Big, Wide, [Full], Tiny, Cash, Petty FROM Exact ORDER BY Id")
        rows = [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()
    assert rows == EXACT_VALUES


def test_arithmetic_and_aggregates_are_exact(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Ledger (Id INT IDENTITY(1,1) PRIMARY KEY, Amount DECIMAL(20,2))")
        connection.execute("INSERT INTO Ledger (Amount) VALUES (0.10), (0.20), (123456789012345678.01), (-0.01)")
        total, average, top, bottom = _rows(connection, "SELECT SUM(Amount), AVG(Amount), MAX(Amount), MIN(Amount) "
                                                        "FROM Ledger")[0]
        computed = _rows(connection, "SELECT Amount * 3, Amount / 7, Amount + 0.005, -Amount FROM Ledger "
                                     "WHERE Id = 3")[0]
        description = connection.execute("SELECT SUM(Amount), Amount * 3, Amount / 7, Amount + 0.005 FROM Ledger "
                                          "GROUP BY Amount").description
    assert total == Decimal("123456789012345678.30")
    assert average == Decimal("30864197253086419.575000")  # decimal(38, 6), cut
    assert (top, bottom) == (Decimal("123456789012345678.01"), Decimal("-0.01"))
    # the constants 3 and 7 are numeric(1,0): decimal(20,2) * 3 → (22,2); / 7 → (24,6), cut; + 0.005 (3,3) →
    # (22,3); unary minus keeps (20,2)
    assert computed == (Decimal("370370367037037034.03"), Decimal("17636684144620811.144285"),
                        Decimal("123456789012345678.015"), Decimal("-123456789012345678.01"))
    assert [(d[4], d[5]) for d in description] == [(38, 2), (22, 2), (24, 6), (22, 3)]


def test_comparisons_and_ordering_go_by_value(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Prices (Id INT IDENTITY(1,1) PRIMARY KEY, Price DECIMAL(10,2))")
        connection.execute("INSERT INTO Prices (Price) VALUES (9.50), (10.00), (-2.25), (100.10), (10)")
        ordered = [r[0] for r in _rows(connection, "SELECT Price FROM Prices ORDER BY Price")]
        above = [r[0] for r in _rows(connection, "SELECT Price FROM Prices WHERE Price > 9.999 ORDER BY Price DESC")]
        computed = [r[0] for r in _rows(connection, "SELECT Id FROM Prices WHERE Price * 2 >= 20 ORDER BY Id")]
        grouped = _rows(connection, "SELECT Price, COUNT(*) FROM Prices GROUP BY Price HAVING COUNT(*) > 1")
        parameter = _rows(connection, "SELECT COUNT(*) FROM Prices WHERE Price = ?", Decimal("10"))
        # two values one float cannot tell apart
        connection.execute("CREATE TABLE Near (V DECIMAL(20,2))")
        connection.execute("INSERT INTO Near (V) VALUES (12345678901234567.88), (12345678901234567.89)")
        near = _rows(connection, "SELECT (SELECT COUNT(DISTINCT V) FROM Near), "
                                 "(SELECT COUNT(*) FROM Near WHERE V > 12345678901234567.88)")
    assert near == [(2, 1)]
    assert ordered == [Decimal("-2.25"), Decimal("9.50"), Decimal("10.00"), Decimal("10.00"), Decimal("100.10")]
    assert above == [Decimal("100.10"), Decimal("10.00"), Decimal("10.00")]
    assert computed == [2, 4, 5]
    assert grouped == [(Decimal("10.00"), 2)] and parameter == [(2,)]


def test_values_are_rounded_to_the_scale_and_overflow_is_8115(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Rounded (Id INT IDENTITY(1,1) PRIMARY KEY, Small DECIMAL(5,2), Cash MONEY)")
        connection.execute("INSERT INTO Rounded (Small, Cash) VALUES (1.005, 1.00005), (-1.005, -0.00005)")
        rows = _rows(connection, "SELECT Small, Cash FROM Rounded ORDER BY Id")
        too_big = _error(connection, "INSERT INTO Rounded (Small) VALUES (1000.00)")
        money_too_big = _error(connection, "INSERT INTO Rounded (Cash) VALUES (922337203685478)")
        cast_too_big = _error(connection, "SELECT CAST(123.456 AS DECIMAL(4,2))")
        product_too_big = _error(connection, "SELECT CAST(99999999999999999999999999999999999999 AS DECIMAL(38,0)) "
                                             "* 10")
        (count,) = _rows(connection, "SELECT COUNT(*) FROM Rounded")[0]
    assert rows == [(Decimal("1.01"), Decimal("1.0001")), (Decimal("-1.01"), Decimal("-0.0001"))]  # half away from 0
    assert "(8115)" in too_big and "Arithmetic overflow error converting numeric to data type numeric." in too_big
    assert "(8115)" in money_too_big and "to data type money" in money_too_big
    assert "(8115)" in cast_too_big and "(8115)" in product_too_big
    assert count == 2  # nothing of the refused inserts was written


def test_money_goes_as_money_on_the_wire(target: SqlTarget) -> None:
    with raw_connect(target.port, target.ca, target.admin_token()) as raw:
        reply = raw.batch("SELECT CAST(12.3456 AS MONEY) AS m, CAST(1.5 AS SMALLMONEY) AS s, "
                          "CAST(1.5 AS NUMERIC(20,4)) AS d")
    assert [(c.type_id, c.size) for c in reply.columns] == [(0x6E, 8), (0x6E, 4), (0x6A, 13)]
    assert reply.rows[0][0] == (0).to_bytes(4, "little") + (123456).to_bytes(4, "little")  # high, then low half


def test_declared_parameters_keep_their_type(target: SqlTarget) -> None:
    with target.admin() as connection:
        row = connection.execute("SELECT ? * 2, ? + ?", Decimal("12345678901234567.89"), Decimal("0.1"),
                                 Decimal("0.2")).fetchone()
        variable = connection.execute("DECLARE @d DECIMAL(10,2) = 1.239; SELECT @d, @d * 100").fetchone()
    assert tuple(row) == (Decimal("24691357802469135.78"), Decimal("0.3"))
    assert tuple(variable) == (Decimal("1.24"), Decimal("124.00"))


def test_conversion_of_text_that_is_no_number(target: SqlTarget) -> None:
    with target.admin() as connection:
        message = _error(connection, "SELECT CAST('12a' AS DECIMAL(10,2))")
        assert "(8114)" in message and "Error converting data type varchar to numeric." in message
        assert _rows(connection, "SELECT TRY_CAST('12a' AS DECIMAL(10,2)), CAST(' 12.345 ' AS DECIMAL(10,2))") == [
            (None, Decimal("12.35"))]

