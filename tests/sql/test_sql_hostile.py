"""Hostile input on a logged-in TDS connection: RPC parameters with impossible lengths or values, a batch
nested 50,000 parentheses deep, a request that makes the emulator fail. Each gets SQL Server's error token
(number and text from Microsoft's "Database engine events and errors" tables) and the connection keeps
working: the same connection answers a query afterwards, and so does a real client."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
import raw_tds
from raw_tds import RawTds, nvarchar_param, param, rpc_payload
from sql_helpers import SqlTarget

SP_EXECUTESQL = 10
NVARCHAR_INFO = b"\xe7" + struct.pack("<H", 8000) + b"\x09\x04\xd0\x00\x34"
STREAM = "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. "
INVALID_VALUE = (" Check the source data for invalid values. An example of an invalid value is data of numeric type "
                 "with scale greater than precision.")
INVALID_LENGTH = (" Check the source data for invalid lengths. An example of an invalid length is data of nchar type "
                  "with an odd length in bytes.")


@pytest.fixture
def raw(target: SqlTarget) -> Iterator[RawTds]:
    client = raw_tds.connect(target.port, target.ca, target.admin_token())
    yield client
    client.close()


def _call_with(declaration: str, value: bytes) -> bytes:
    """sp_executesql 'SELECT @p AS v', '@p <declaration>', @p = <value bytes as given>."""
    return rpc_payload(SP_EXECUTESQL, nvarchar_param("", "SELECT @p AS v") + nvarchar_param("", f"@p {declaration}")
                       + value)




def invalid_value(type_name: str) -> str:
    return STREAM + f'Parameter 3 ("@p"): The supplied value is not a valid instance of data type {type_name}.' \
        + INVALID_VALUE


BAD_PARAMETERS = {
    "odd nvarchar byte count": (
        param("@p", NVARCHAR_INFO, struct.pack("<H", 3) + b"abc"), "nvarchar(4000)",
        8028, STREAM + 'Parameter 3 ("@p"): The supplied length is not valid for data type nvarchar.' + INVALID_LENGTH),
    "FLTN length 3": (
        param("@p", b"\x6d\x08", b"\x03\x00\x00\x00"), "float",
        8016, STREAM + 'Parameter 3 ("@p"): Data type 0x6D has an invalid data length or metadata length.'),
    "GUID length 5": (
        param("@p", b"\x24\x10", b"\x05" + b"\x01" * 5), "uniqueidentifier",
        8016, STREAM + 'Parameter 3 ("@p"): Data type 0x24 has an invalid data length or metadata length.'),
    "DATEN out of range": (
        param("@p", b"\x28", b"\x03\xff\xff\xff"), "date",
        8023, invalid_value("date")),
    "DATETIMEOFFSET length 2": (
        param("@p", b"\x2b\x07", b"\x02\x00\x00"), "datetimeoffset(7)",
        8016, STREAM + 'Parameter 3 ("@p"): Data type 0x2B has an invalid data length or metadata length.'),
    "DATETIME day overflow": (
        param("@p", b"\x6f\x08", b"\x08" + struct.pack("<iI", 3_000_000, 0)), "datetime",
        8023, invalid_value("datetime")),
    "fixed DATETIME ticks past midnight": (
        param("@p", b"\x3d", struct.pack("<iI", 0, 300 * 86400)), "datetime",
        8023, invalid_value("datetime")),
    "INTN length 3": (
        param("@p", b"\x26\x04", b"\x03\x01\x02\x03"), "int",
        8016, STREAM + 'Parameter 3 ("@p"): Data type 0x26 has an invalid data length or metadata length.'),
    "DECIMAL precision 50": (
        param("@p", b"\x6a\x11\x32\x02", b"\x05\x01\x01\x00\x00\x00"), "decimal(38,2)",
        8017, STREAM + 'Parameter 3 ("@p"): Data type 0x6A has an invalid precision or scale.'),
    "DECIMAL more digits than its precision": (
        param("@p", b"\x6a\x05\x02\x00", b"\x05\x01" + struct.pack("<I", 1000)), "decimal(2,0)",
        8023, invalid_value("decimal")),
    "TIME scale 9": (
        param("@p", b"\x29\x09", b"\x05\x00\x00\x00\x00\x00"), "time",
        8017, STREAM + 'Parameter 3 ("@p"): Data type 0x29 has an invalid precision or scale.'),
    "nvarchar longer than declared": (
        param("@p", b"\xe7\x04\x00\x09\x04\xd0\x00\x34", struct.pack("<H", 8) + "abcd".encode("utf-16-le")),
        "nvarchar(2)",
        8016, STREAM + 'Parameter 3 ("@p"): Data type 0xE7 has an invalid data length or metadata length.'),
    "PLP nvarchar with an odd total": (
        param("@p", b"\xe7\xff\xff\x09\x04\xd0\x00\x34",
              struct.pack("<QI", 3, 3) + b"abc" + struct.pack("<I", 0)), "nvarchar(max)",
        8028, STREAM + 'Parameter 3 ("@p"): The supplied length is not valid for data type nvarchar.' + INVALID_LENGTH),
    "PLP chunks longer than announced": (
        param("@p", b"\xa5\xff\xff", struct.pack("<QI", 2, 4) + b"abcd" + struct.pack("<I", 0)), "varbinary(max)",
        8007, STREAM + 'Parameter 3 ("@p"): The chunking format is incorrect for a large object parameter of '
                       "type 0xA5."),
    "unknown type": (
        param("@p", b"\x99", b"\x00"), "int",
        8009, STREAM + 'Parameter 3 ("@p"): Data type 0x99 is unknown.'),
    "message ends inside a value": (
        param("@p", b"\x26\x04", b"\x04\x01"), "int",
        4002, "The incoming tabular data stream (TDS) protocol stream is incorrect. The stream ended unexpectedly."),
}


@pytest.mark.parametrize("case", list(BAD_PARAMETERS))
def test_impossible_parameters_get_sql_servers_error(target: SqlTarget, raw: RawTds, case: str) -> None:
    value, declaration, number, message = BAD_PARAMETERS[case]
    answer = raw.request(raw_tds.RPC, _call_with(declaration, value))
    assert answer.errors == [(number, message)]
    assert answer.done and answer.done[-1] & 0x02  # DONE with the error bit
    assert raw.batch("SELECT 41 + 1 AS n").rows == [[42]]  # the same connection still answers


def test_a_batch_nested_50000_parentheses_deep_is_191(raw: RawTds) -> None:
    answer = raw.batch("SELECT " + "(" * 50_000 + "1" + ")" * 50_000)
    assert answer.errors == [(191, "Some part of your SQL statement is nested too deeply. Rewrite the query or "
                                   "break it up into smaller queries.")]
    assert raw.batch("SELECT 1 AS n").rows == [[1]]


def test_a_long_flat_expression_is_answered(raw: RawTds) -> None:
    """A long flat expression (a 500-term sum) is not nesting: answered, not refused."""
    answer = raw.batch("SELECT " + "+".join(["1"] * 500) + " AS n")
    assert answer.errors == [] and answer.rows == [[500]]


def test_nesting_sql_server_accepts_still_works(raw: RawTds) -> None:
    assert raw.batch("SELECT " + "(" * 30 + "7" + ")" * 30 + " AS n").rows == [[7]]


def test_an_emulator_failure_is_an_error_token_not_a_dropped_connection(
        target: SqlTarget, raw: RawTds, monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.services.sql import handlers

    real = handlers.Handlers.sql_batch

    async def failing(self: handlers.Handlers, state: object, text: str) -> object:
        if "boom" in text:
            raise RuntimeError("a bug in the emulator")
        return await real(self, state, text)  # type: ignore[arg-type]

    monkeypatch.setattr(handlers.Handlers, "sql_batch", failing)
    answer = raw.batch("SELECT 'boom'")
    assert [n for n, _ in answer.errors] == [8630] and answer.done[-1] & 0x02
    assert raw.batch("SELECT 5 AS n").rows == [[5]]


def test_a_real_client_is_served_after_hostile_requests(target: SqlTarget, raw: RawTds) -> None:
    for value, declaration, _number, _message in BAD_PARAMETERS.values():
        raw.request(raw_tds.RPC, _call_with(declaration, value))
    with target.admin() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300
