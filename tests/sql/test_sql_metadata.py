"""Result metadata as SQL Server sends it: fixed-length types (INT4, BIT, FLT8 …) and no nullable flag for
NOT NULL columns; ``SELECT @p`` typed by the parameter's declared type; ``0x`` an empty binary; an unknown
[bracketed] name an unknown column, not a string; error 208 quoting the object's name as written."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import raw_tds
from raw_tds import RawTds, nvarchar_param, param, rpc_payload
from sql_clients import CLIENTS, Client, connected, refused, rows
from sql_helpers import SqlTarget

SP_EXECUTESQL = 10
INT1, BIT, INT2, INT4, FLT8, INT8 = 0x30, 0x32, 0x34, 0x38, 0x3E, 0x7F
INTN, BITN, FLTN, GUID, DECIMALN, DATETIME2N, BIGVARBINARY, NVARCHAR = 0x26, 0x68, 0x6D, 0x24, 0x6A, 0x2A, 0xA5, 0xE7

TABLE = ("CREATE TABLE dbo.Shapes (Id INT IDENTITY(1,1) PRIMARY KEY, Tiny TINYINT NOT NULL, Small SMALLINT NOT NULL, "
         "Big BIGINT NOT NULL, Ratio FLOAT NOT NULL, Flag BIT NOT NULL, Code NVARCHAR(10) NOT NULL, Maybe INT NULL, "
         "Unsaid INT)")
ROW = "INSERT INTO dbo.Shapes (Tiny, Small, Big, Ratio, Flag, Code) VALUES (7, -2, 5000000000, 1.5, 1, N'a')"


@pytest.fixture
def raw(target: SqlTarget) -> Iterator[RawTds]:
    target.run_admin(TABLE, ROW)
    client = raw_tds.connect(target.port, target.ca, target.admin_token())
    yield client
    client.close()


@pytest.fixture(params=CLIENTS, ids=lambda c: c.name)
def client(request: pytest.FixtureRequest) -> Client:
    return request.param  # type: ignore[no-any-return]


def _shape(reply: raw_tds.Reply) -> list[tuple[str, int, bool]]:
    return [(column.name, column.type_id, column.nullable) for column in reply.columns]


# -- NOT NULL columns --------------------------------------------------------------------------------------
def test_not_null_columns_are_sent_with_fixed_types_and_not_nullable(raw: RawTds) -> None:
    reply = raw.batch("SELECT * FROM dbo.Shapes")
    assert not reply.errors, reply.errors
    assert _shape(reply) == [("Id", INT4, False), ("Tiny", INT1, False), ("Small", INT2, False), ("Big", INT8, False),
                             ("Ratio", FLT8, False), ("Flag", BIT, False), ("Code", NVARCHAR, False),
                             ("Maybe", INTN, True), ("Unsaid", INTN, True)]
    values = reply.rows[0]
    assert values[:4] == [1, 7, -2, 5_000_000_000] and struct.unpack("<d", values[4]) == (1.5,)
    assert values[5:] == [True, "a", None, None]


def test_a_named_not_null_column_keeps_its_fixed_type_under_an_alias(raw: RawTds) -> None:
    reply = raw.batch("SELECT s.Small AS S, Maybe, Tiny + 1 AS Computed FROM dbo.Shapes AS s")
    assert _shape(reply) == [("S", INT2, False), ("Maybe", INTN, True), ("Computed", INTN, True)]
    assert reply.rows == [[-2, None, 8]]


def test_columns_an_outer_join_or_an_aggregate_can_make_null_stay_nullable(raw: RawTds) -> None:
    joined = raw.batch("SELECT a.Tiny, b.Tiny AS Other FROM dbo.Shapes a LEFT JOIN dbo.Shapes b ON 1 = 0")
    assert _shape(joined) == [("Tiny", INT1, False), ("Other", INTN, True)]
    assert joined.rows == [[7, None]]
    nothing = raw.batch("SELECT MAX(Small) AS M FROM dbo.Shapes WHERE 1 = 0")
    assert _shape(nothing) == [("M", INTN, True)] and nothing.rows == [[None]]
    union = raw.batch("SELECT Tiny FROM dbo.Shapes UNION ALL SELECT NULL")
    assert [c.nullable for c in union.columns] == [True] and sorted(union.rows, key=str) == [[7], [None]]


def test_drivers_see_not_null_columns_as_not_nullable(client: Client, target: SqlTarget) -> None:
    target.run_admin(TABLE, ROW)
    with connected(client, target, target.admin_token()) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT Id, Small, Flag, Ratio, Maybe FROM dbo.Shapes")
        found = [tuple(row) for row in cursor.fetchall()]
        nullable = [column[6] for column in cursor.description]
    assert found == [(1, -2, True, 1.5, None)]
    if client.name != "pytds":  # pytds's description says nothing about nulls (always None)
        assert nullable == [False, False, False, False, True]


def test_the_catalog_knows_which_columns_take_null(target: SqlTarget) -> None:
    """An explicit NULL is a nullable column (sqlglot reads it as a "not null" constraint that allows null)."""
    target.run_admin(TABLE)
    with target.admin() as connection:
        found = connection.execute("SELECT COLUMN_NAME, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS "
                                   "WHERE TABLE_NAME = 'Shapes' ORDER BY ORDINAL_POSITION").fetchall()
    assert [tuple(row) for row in found] == [("Id", "NO"), ("Tiny", "NO"), ("Small", "NO"), ("Big", "NO"),
                                            ("Ratio", "NO"), ("Flag", "NO"), ("Code", "NO"), ("Maybe", "YES"),
                                            ("Unsaid", "YES")]


def test_null_into_a_text_primary_key_is_515(target: SqlTarget) -> None:
    """A primary key column is NOT NULL in SQL Server; SQLite lets a NULL into a non-integer key."""
    target.run_admin("CREATE TABLE dbo.Keyed (Code NVARCHAR(10) PRIMARY KEY, Note NVARCHAR(10))")
    with target.admin() as connection:
        with pytest.raises(Exception, match=r"Cannot insert the value NULL into column 'Code'.*\(515\)"):
            connection.execute("INSERT INTO dbo.Keyed VALUES (NULL, N'x')")
        assert connection.execute("SELECT COUNT(*) FROM dbo.Keyed").fetchone()[0] == 0


# -- SELECT @p ---------------------------------------------------------------------------------------------
def _decimal(unscaled: int) -> bytes:
    return bytes([5, 1]) + struct.pack("<i", unscaled)


def _datetime2(moment: dt.datetime) -> bytes:
    ticks = (moment - moment.replace(hour=0, minute=0, second=0, microsecond=0)) // dt.timedelta(microseconds=1) * 10
    days = moment.date().toordinal() - dt.date(1, 1, 1).toordinal()
    return bytes([8]) + ticks.to_bytes(5, "little") + days.to_bytes(3, "little")


MOMENT = dt.datetime(2024, 2, 29, 13, 45, 30, 123456)
SKU = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")
# declaration: (TYPE_INFO, value as sent, the column's (type id, length, scale) expected back)
DECLARED = {
    "decimal(10,2)": (b"\x6a\x05\x0a\x02", _decimal(1250), (DECIMALN, 9, 2)),
    "datetime2(7)": (b"\x2a\x07", _datetime2(MOMENT), (DATETIME2N, 0, 7)),
    "uniqueidentifier": (b"\x24\x10", b"\x10" + SKU.bytes_le, (GUID, 16, 0)),
    "bit": (b"\x68\x01", b"\x01\x01", (BITN, 1, 0)),
}


@pytest.mark.parametrize("declared", sorted(DECLARED))
def test_select_of_a_parameter_is_typed_by_its_declaration(raw: RawTds, declared: str) -> None:
    type_info, value, expected = DECLARED[declared]
    call = nvarchar_param("", "SELECT @p AS v") + nvarchar_param("", f"@p {declared}") + param("@p", type_info, value)
    reply = raw.request(raw_tds.RPC, rpc_payload(SP_EXECUTESQL, call))
    assert not reply.errors, reply.errors
    (column,) = reply.columns
    assert (column.type_id, column.size, column.scale) == expected and column.nullable


def test_select_of_a_declared_variable_is_typed_by_its_declaration(raw: RawTds) -> None:
    reply = raw.batch("DECLARE @d decimal(10,2) = 12.5, @b bit = 1, @g uniqueidentifier = NEWID(); SELECT @d, @b, @g")
    assert not reply.errors, reply.errors
    assert [(c.type_id, c.size, c.scale) for c in reply.columns] == [(DECIMALN, 9, 2), (BITN, 1, 0), (GUID, 16, 0)]


@pytest.mark.parametrize("value", [Decimal("12.50"), MOMENT, True], ids=["decimal", "datetime", "bit"])
def test_drivers_get_a_selected_parameter_back_as_its_type(client: Client, target: SqlTarget, value: Any) -> None:
    with connected(client, target, target.admin_token()) as connection:
        ((found,),) = rows(connection, f"SELECT {client.marker} AS v", value)
    assert (type(found), found) == (type(value), value)


def test_drivers_get_a_selected_uuid_back_as_a_uniqueidentifier(client: Client, target: SqlTarget) -> None:
    with connected(client, target, target.admin_token()) as connection:
        ((found,),) = rows(connection, f"SELECT {client.marker} AS v", SKU)
    # pyodbc and mssql-python hand a uniqueidentifier to Python as text unless told otherwise; pytds as UUID
    assert uuid.UUID(str(found)) == SKU and not isinstance(found, bytes)
    if client.name == "pytds":
        assert isinstance(found, uuid.UUID)


# -- literals and names ------------------------------------------------------------------------------------
def test_0x_is_an_empty_binary(client: Client, target: SqlTarget) -> None:
    with connected(client, target, target.admin_token()) as connection:
        assert rows(connection, "SELECT 0x AS e, 0x0A AS f, DATALENGTH(0x) AS n") == [(b"", b"\n", 0)]


def test_0x_on_the_wire_is_varbinary(raw: RawTds) -> None:
    reply = raw.batch("SELECT 0x AS e")
    assert [c.type_id for c in reply.columns] == [BIGVARBINARY] and reply.rows == [[b""]]


@pytest.mark.parametrize("query", ["SELECT [NoSuchColumn] FROM dbo.Products", 'SELECT "NoSuchColumn" FROM dbo.Products',
                                   "SELECT [NoSuchColumn]"])
def test_an_unknown_bracketed_name_is_207_not_a_string(client: Client, target: SqlTarget, query: str) -> None:
    with connected(client, target, target.admin_token()) as connection:
        client.check(refused(lambda: rows(connection, query)), 207, "Invalid column name 'NoSuchColumn'.")


@pytest.mark.parametrize(("written", "quoted"), [
    ("dbo.NoSuchTable", "dbo.NoSuchTable"), ("NoSuchTable", "NoSuchTable"), ("[dbo].[No Such]", "dbo.No Such"),
    ("workbookdb.dbo.NoSuchTable", "workbookdb.dbo.NoSuchTable"), ("sales.Orders", "sales.Orders"),
    ("dbo.NoSuchTable AS t", "dbo.NoSuchTable")])
def test_208_quotes_the_name_as_written(client: Client, target: SqlTarget, written: str, quoted: str) -> None:
    with connected(client, target, target.admin_token()) as connection:
        client.check(refused(lambda: rows(connection, f"SELECT * FROM {written}")), 208,
                     f"Invalid object name '{quoted}'.")


def test_208_for_an_insert_quotes_the_schema_too(target: SqlTarget) -> None:
    with target.admin() as connection, pytest.raises(Exception, match=r"Invalid object name 'dbo\.Nowhere'\. \(208\)"):
        connection.execute("INSERT INTO dbo.Nowhere (a) VALUES (1)")
