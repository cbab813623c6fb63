"""Every type the emulator claims, at its limits (max precision, min/max dates, max lengths, NULL, non-BMP text),
written as parameters and read back bit for bit, through pyodbc + ODBC Driver 18 and through mssql-python.
The 100 ns digits the drivers' Python values cannot hold are checked as the server's own text."""

from __future__ import annotations

import base64
import datetime as dt
import math
import os
import pickle
import struct
import subprocess
import sys
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sql_helpers import SqlTarget

NON_BMP = "𝄞😀𠜎"  # outside the Basic Multilingual Plane: two UTF-16 units each
COLUMNS = [
    ("c_bit", "bit", [True, False]),
    ("c_tinyint", "tinyint", [255, 0]),
    ("c_smallint", "smallint", [32767, -32768]),
    ("c_int", "int", [2**31 - 1, -(2**31)]),
    ("c_bigint", "bigint", [2**63 - 1, -(2**63)]),
    ("c_dec38", "decimal(38,0)", [Decimal("9" * 38), Decimal("-" + "9" * 38)]),
    ("c_dec38_38", "decimal(38,38)", [Decimal("0." + "9" * 38), Decimal("-0." + "0" * 37 + "1")]),
    ("c_numeric", "numeric(19,4)", [Decimal("999999999999999.9999"), Decimal("-0.0001")]),
    ("c_money", "money", [Decimal("922337203685477.5807"), Decimal("-922337203685477.5808")]),
    ("c_smallmoney", "smallmoney", [Decimal("214748.3647"), Decimal("-214748.3648")]),
    ("c_float", "float", [1.7976931348623157e308, -2.2250738585072014e-308]),
    ("c_real", "real", [3.4028234663852886e38, -1.1754943508222875e-38]),
    ("c_char", "char(10)", ["abc       ", "          "]),
    ("c_varchar", "varchar(8000)", ["é" * 8000, ""]),
    ("c_varchar_max", "varchar(max)", ["ÿ" * 20000, "x"]),
    ("c_nchar", "nchar(4)", [NON_BMP[:2], "ab  "]),
    ("c_nvarchar", "nvarchar(4000)", [NON_BMP * 666 + "ab", "Ω"]),
    ("c_nvarchar_max", "nvarchar(max)", [NON_BMP * 10000, ""]),
    ("c_binary", "binary(8)", [b"\xff" * 8, b"\x00" * 8]),
    ("c_varbinary", "varbinary(8000)", [bytes(range(256)) * 31 + b"\x00" * 64, b""]),
    ("c_varbinary_max", "varbinary(max)", [bytes(range(256)) * 400, b"\x00"]),
    ("c_date", "date", [dt.date(9999, 12, 31), dt.date(1, 1, 1)]),
    ("c_time", "time(7)", [dt.time(23, 59, 59, 999999), dt.time(0, 0)]),
    ("c_datetime", "datetime", [dt.datetime(9999, 12, 31, 23, 59, 59, 997000), dt.datetime(1753, 1, 1)]),
    ("c_datetime2", "datetime2(7)", [dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1, 1, 1)]),
    ("c_smalldatetime", "smalldatetime", [dt.datetime(2079, 6, 6, 23, 59), dt.datetime(1900, 1, 1)]),
    ("c_guid", "uniqueidentifier", [uuid.UUID(int=2**128 - 1), uuid.UUID(int=0)]),
    ("c_text", "text", ["t" * 9000, ""]),
    ("c_ntext", "ntext", [NON_BMP * 3000, "n"]),
    ("c_image", "image", [b"\x01\x02" * 5000, b"\x00"]),
]
# written as literals (the drivers' Python values hold microseconds): the server's own text, to the last digit
TEXT_CHECKS = [
    ("time(7)", "'23:59:59.9999999'", "23:59:59.9999999"),
    ("datetime2(7)", "'9999-12-31 23:59:59.9999999'", "9999-12-31 23:59:59.9999999"),
    ("datetime2(0)", "'0001-01-01 00:00:00'", "0001-01-01 00:00:00"),
    ("datetimeoffset(7)", "'9999-12-31 23:59:59.9999999 +00:00'", "9999-12-31 23:59:59.9999999 +00:00"),
    ("datetimeoffset(7)", "'0001-01-01 14:00:00.0000000 +14:00'", "0001-01-01 14:00:00.0000000 +14:00"),
    ("datetimeoffset(0)", "'2024-02-29 12:00:00 -14:00'", "2024-02-29 12:00:00 -14:00"),
    ("datetime", "'1753-01-01 00:00:00.003'", "1753-01-01 00:00:00.003"),
    ("decimal(38,10)", "-9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999"),
    ("money", "-922337203685477.5808", "-922337203685477.5808"),
]


def _table() -> str:
    return "CREATE TABLE Limits (id int PRIMARY KEY, " + ", ".join(f"{n} {t}" for n, t, _ in COLUMNS) + ")"


def _same(left: Any, right: Any) -> bool:
    """Equal bit for bit: floats by their IEEE bytes, everything else by value and type."""
    if isinstance(left, float) or isinstance(right, float):
        return isinstance(left, float) and isinstance(right, float) and \
            struct.pack("<d", left) == struct.pack("<d", right) and not math.isnan(left)
    if isinstance(left, (bytes, bytearray)) and isinstance(right, (bytes, bytearray)):
        return bytes(left) == bytes(right)
    return type(left) is type(right) and left == right


# mssql-python runs in a process of its own: its fetch keeps the GIL while it waits on the socket, so with the
# emulator in this process a response larger than the socket's buffers would never be sent (measured: the
# server thread waits for the GIL in its socket write while the driver waits for the rest of the row)
_MSSQL_PYTHON = """
import base64, pickle, sys
import mssql_python
from lib import sql
server, cert, token, statements = pickle.loads(base64.b64decode(sys.stdin.read()))
connection = mssql_python.connect(
    f"Server=tcp:{server};Database=workbookdb;Encrypt=strict;ServerCertificate={cert}", autocommit=True,
    attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(token)})
cursor = connection.cursor()
rows = None
for statement, parameters in statements:
    cursor.execute(statement, parameters) if parameters is not None else cursor.execute(statement)
    if cursor.description:
        rows = [list(row) for row in cursor.fetchall()]
connection.close()
print(base64.b64encode(pickle.dumps(rows)).decode())
"""


def _run(target: SqlTarget, client: str, statements: list[tuple[str, Any]]) -> list[list[Any]] | None:
    """Run the statements (with their parameters) through the client; the last result's rows."""
    if client == "pyodbc":
        rows = None
        with target.admin() as connection:
            for statement, parameters in statements:
                cursor = connection.execute(statement, parameters) if parameters is not None else \
                    connection.execute(statement)
                if cursor.description:
                    rows = [list(row) for row in cursor.fetchall()]
        return rows
    request = base64.b64encode(pickle.dumps((target.server, target.server_cert, target.admin_token(), statements)))
    done = subprocess.run([sys.executable, "-c", _MSSQL_PYTHON], input=request.decode(), capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0, done.stderr[-2000:]
    return pickle.loads(base64.b64decode(done.stdout.strip()))  # noqa: S301 - our own child's answer


def _written(client: str, name: str, value: Any) -> Any:
    """What the writing driver can send: pyodbc binds a time as ODBC's TIME_STRUCT, without fractions of a
    second; mssql-python refuses a date before 1753 as a parameter (both are the drivers' own limits, the same
    against SQL Server: those values are written by the other driver, or as literals below)."""
    if client == "pyodbc" and isinstance(value, dt.time):
        return value.replace(microsecond=0)
    if client == "mssql-python" and isinstance(value, dt.date) and value.year < 1753:
        return value.replace(year=1753)
    return value


def _read_as(client: str, value: Any) -> Any:
    """pyodbc reads a uniqueidentifier as its text (pyodbc.native_uuid off, its default)."""
    return str(value).upper() if client == "pyodbc" and isinstance(value, uuid.UUID) else value


@pytest.mark.parametrize(("writer", "reader"), [("pyodbc", "pyodbc"), ("pyodbc", "mssql-python"),
                                                ("mssql-python", "mssql-python"), ("mssql-python", "pyodbc")])
def test_every_type_round_trips_at_its_limits(target: SqlTarget, writer: str, reader: str) -> None:
    target.run_admin(_table())
    names = [n for n, _, _ in COLUMNS]
    rows = [[index + 1] + [_written(writer, name, values[index]) for name, _, values in COLUMNS]
            for index in range(2)]
    rows.append([3] + [None] * len(COLUMNS))
    insert = f"INSERT INTO Limits (id, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})"
    _run(target, writer, [(insert, row) for row in rows])
    read = _run(target, reader, [(f"SELECT id, {', '.join(names)} FROM Limits ORDER BY id", None)])
    assert read is not None
    wrong = [(names[column - 1], row[0], repr(row[column])[:60], repr(back[column])[:60])
             for row, back in zip(rows, read, strict=True) for column in range(1, len(row))
             if not (row[column] is None and back[column] is None)
             and not _same(_read_as(reader, row[column]), back[column])]
    assert len(read) == 3 and not wrong, "\n".join(map(str, wrong))


@pytest.mark.parametrize("reader", ["pyodbc", "mssql-python"])
def test_the_limits_drivers_cannot_send_are_read_back(target: SqlTarget, reader: str) -> None:
    target.run_admin("CREATE TABLE Edges (t time(7), d date, d2 datetime2(7))",
                     "INSERT INTO Edges VALUES ('23:59:59.9999999', '0001-01-01', '0001-01-01 00:00:00.0000009')")
    read = _run(target, reader, [("SELECT t, d, d2 FROM Edges", None)])
    assert read is not None
    row = tuple(read[0])
    # the drivers' Python values hold microseconds: 100 ns digits are cut, never rounded up into the next day
    assert row == (dt.time(23, 59, 59, 999999), dt.date(1, 1, 1), dt.datetime(1, 1, 1))


def test_the_100_nanosecond_digits_and_exact_limits_as_text(target: SqlTarget) -> None:
    with target.admin() as connection:
        columns = ", ".join(f"v{i} {declared}" for i, (declared, _, _) in enumerate(TEXT_CHECKS))
        connection.execute(f"CREATE TABLE Digits ({columns})")
        connection.execute(f"INSERT INTO Digits VALUES ({', '.join(literal for _, literal, _ in TEXT_CHECKS)})")
        # CAST writes the stored form with the declared scale; datetime's CAST is style 0, so style 121 for it
        # and money's is two decimals, so style 2 (four) for it
        styles = {"datetime": 121, "money": 2}
        casts = ", ".join(f"CONVERT(varchar(50), v{i}, {styles[declared]})" if declared in styles
                          else f"CAST(v{i} AS varchar(50))" for i, (declared, _, _) in enumerate(TEXT_CHECKS))
        row = tuple(connection.execute(f"SELECT {casts} FROM Digits").fetchone())
    assert row == tuple(text for _, _, text in TEXT_CHECKS), row


def test_non_bmp_text_counts_utf16_units(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Narrow (v nvarchar(4))")
        connection.execute("INSERT INTO Narrow VALUES (?)", NON_BMP[:2])  # 4 UTF-16 units: fits exactly
        lengths = tuple(connection.execute("SELECT LEN(v), DATALENGTH(v), v FROM Narrow").fetchone())
        with pytest.raises(Exception) as caught:
            connection.execute("INSERT INTO Narrow VALUES (?)", NON_BMP)  # 6 units: too long, nothing written
        count = connection.execute("SELECT COUNT(*) FROM Narrow").fetchone()[0]
    assert lengths == (4, 8, NON_BMP[:2])
    assert "(2628)" in str(caught.value) and count == 1
