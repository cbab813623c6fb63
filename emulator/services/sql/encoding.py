"""SQL values on the wire, written by hand for the same reason as tds.py: a SqlType's TYPE_INFO, the
COLMETADATA token, RETURNVALUE tokens, and a converting encoder per type (``column_encoder``) that turns
the values SQLite holds — the stored forms of sqltypes.py — into TDS values ([MS-TDS] 2.2.5.5). Whole
result sets are encoded by rows.py, which uses these encoders where its fast paths do not apply.

Every type goes as SQL Server sends it: money as MONEYN, datetime/smalldatetime as DATETIMN (days since
1900, 1/300 s or minutes), datetimeoffset with its offset (the date and time in UTC, 2.2.5.5.1.8),
char/varchar in code page 1252 with the collation, text/ntext/image with a text pointer, xml as XML.
"""

from __future__ import annotations

import codecs
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from . import datetimes, decimals
from .conversions import CODE_PAGE, client_value
from .sqltypes import SqlType
from .tds import (
    COLLATION,
    PLP_NULL,
    T_BIGBINARY,
    T_BIGCHAR,
    T_BIGVARBINARY,
    T_BIGVARCHAR,
    T_BIT,
    T_BITN,
    T_DATEN,
    T_DATETIM4,
    T_DATETIME,
    T_DATETIME2N,
    T_DATETIMEOFFSETN,
    T_DATETIMN,
    T_DECIMALN,
    T_FLT4,
    T_FLT8,
    T_FLTN,
    T_GUID,
    T_IMAGE,
    T_INT1,
    T_INT2,
    T_INT4,
    T_INT8,
    T_INTN,
    T_MONEY,
    T_MONEY4,
    T_MONEYN,
    T_NCHAR,
    T_NTEXT,
    T_NVARCHAR,
    T_TEXT,
    T_TIMEN,
    T_XML,
    TOKEN_COLMETADATA,
    TOKEN_RETURNVALUE,
    b_varchar,
)

_U16, _U32, _U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
_F32, _F64 = struct.Struct("<f"), struct.Struct("<d")
_MONEY8, _MONEY4 = struct.Struct("<iI"), struct.Struct("<i")
_DATETIME8, _DATETIME4 = struct.Struct("<iI"), struct.Struct("<HH")
INT_SIZES = {"tinyint": 1, "smallint": 2, "int": 4, "bigint": 8}
_INT_PACK = {1: struct.Struct("<B"), 2: struct.Struct("<h"), 4: struct.Struct("<i"), 8: struct.Struct("<q")}
# text/ntext/image: a text pointer and timestamp (SQL Server's are opaque; clients only skip them)
_TEXT_POINTER = b"\x10" + b"\xaa" * 16 + b"\x00" * 8
_STRING_TYPES = {"char": T_BIGCHAR, "varchar": T_BIGVARCHAR, "nchar": T_NCHAR, "nvarchar": T_NVARCHAR,
                 "binary": T_BIGBINARY, "varbinary": T_BIGVARBINARY}
_LARGE_TYPES = {"text": T_TEXT, "ntext": T_NTEXT, "image": T_IMAGE}

# A NOT NULL column of these types goes as SQL Server sends it: a fixed-length type, each value without
# a length byte ([MS-TDS] 2.2.5.4.1, FIXEDLENTYPE); the nullable form is INTN/BITN/FLTN/MONEYN/DATETIMN
FIXED_TYPES = {"tinyint": T_INT1, "smallint": T_INT2, "int": T_INT4, "bigint": T_INT8, "bit": T_BIT,
               "float": T_FLT8, "real": T_FLT4, "money": T_MONEY, "smallmoney": T_MONEY4,
               "datetime": T_DATETIME, "smalldatetime": T_DATETIM4}
ENCODING_ERRORS = (TypeError, ValueError, LookupError, AttributeError, OverflowError, struct.error, ArithmeticError)


def fixed_length(sql_type: SqlType) -> bool:
    return not sql_type.nullable and sql_type.name in FIXED_TYPES


def decimal_size(precision: int) -> int:
    return 5 if precision <= 9 else 9 if precision <= 19 else 13 if precision <= 28 else 17


def time_size(scale: int) -> int:
    return 3 if scale <= 2 else 4 if scale <= 4 else 5


def type_info(sql_type: SqlType) -> bytes:  # noqa: C901 - one branch per type
    """TYPE_INFO for COLMETADATA / RETURNVALUE."""
    name = sql_type.name
    if fixed_length(sql_type):
        return bytes([FIXED_TYPES[name]])
    if name in INT_SIZES:
        return bytes([T_INTN, INT_SIZES[name]])
    if name == "bit":
        return bytes([T_BITN, 1])
    if name in ("float", "real"):
        return bytes([T_FLTN, 8 if name == "float" else 4])
    if name in ("money", "smallmoney"):
        return bytes([T_MONEYN, 8 if name == "money" else 4])
    if name == "decimal":
        return bytes([T_DECIMALN, decimal_size(sql_type.precision), sql_type.precision, sql_type.scale])
    if name in _STRING_TYPES:
        unicode = name in ("nchar", "nvarchar")
        size = 0xFFFF if sql_type.length < 0 else sql_type.length * (2 if unicode else 1)
        collation = b"" if name in ("binary", "varbinary") else COLLATION
        return bytes([_STRING_TYPES[name]]) + _U16.pack(size) + collation
    if name in _LARGE_TYPES:
        size = 0x3FFFFFFF if name == "ntext" else 0x7FFFFFFF
        collation = b"" if name == "image" else COLLATION
        return bytes([_LARGE_TYPES[name]]) + _U32.pack(size) + collation + b"\x00"  # TableName: no parts
    if name == "xml":
        return bytes([T_XML, 0])  # no schema
    if name == "datetime2":
        return bytes([T_DATETIME2N, sql_type.scale])
    if name == "datetimeoffset":
        return bytes([T_DATETIMEOFFSETN, sql_type.scale])
    if name == "date":
        return bytes([T_DATEN])
    if name == "time":
        return bytes([T_TIMEN, sql_type.scale])
    if name in ("datetime", "smalldatetime"):
        return bytes([T_DATETIMN, 8 if name == "datetime" else 4])
    if name == "uniqueidentifier":
        return bytes([T_GUID, 16])
    raise ValueError(f"no TDS encoding for {name}")


def colmetadata(columns: Sequence[tuple[str, SqlType]]) -> bytes:
    parts = [bytes([TOKEN_COLMETADATA]), _U16.pack(len(columns))]
    for name, sql_type in columns:
        # UserType 0; Flags: nullable (0x0001) where it may be NULL | updateable unknown (0x0008)
        flags = b"\x09\x00" if sql_type.nullable else b"\x08\x00"
        parts.append(b"\x00\x00\x00\x00" + flags + type_info(sql_type) + b_varchar(name))
    return b"".join(parts)


def no_metadata() -> bytes:
    return bytes([TOKEN_COLMETADATA]) + b"\xff\xff"


# Column encoders: a list of stored values (as SQLite returns them) -> a list of TDS value bytes.
ColumnEncoder = Callable[[Sequence[Any]], list[bytes]]


def column_encoder(sql_type: SqlType) -> ColumnEncoder:  # noqa: C901 - one branch per type
    """The converting encoder: any value SQLite may hold for the type (its stored form, or what an older
    data file or a computed expression holds) to TDS bytes, value by value."""
    name = sql_type.name
    if fixed_length(sql_type):
        nullable = column_encoder(replace(sql_type, nullable=True))
        return lambda values: without_length(nullable(values))
    if name in INT_SIZES:
        size = INT_SIZES[name]
        pack = _INT_PACK[size].pack
        prefix = bytes([size])
        return lambda values: [b"\x00" if v is None else prefix + pack(_to_int(v)) for v in values]
    if name == "bit":
        return lambda values: [b"\x00" if v is None else (b"\x01\x01" if _to_bool(v) else b"\x01\x00")
                               for v in values]
    if name in ("float", "real"):
        fmt = _F64 if name == "float" else _F32
        prefix = bytes([fmt.size])
        return lambda values: [b"\x00" if v is None else prefix + fmt.pack(float(v)) for v in values]
    if name == "decimal":
        return _decimal_encoder(sql_type)
    if name in ("money", "smallmoney"):
        return _money_encoder(name)
    if name in ("char", "varchar", "nchar", "nvarchar", "text", "ntext", "xml"):
        return _text_encoder(sql_type)
    if name in ("binary", "varbinary", "image"):
        return _binary_encoder(sql_type)
    if name in ("date", "time", "datetime2", "datetimeoffset", "datetime", "smalldatetime"):
        encode_one = _moment_encoder(sql_type)
        return lambda values: [b"\x00" if v is None else encode_one(v) for v in values]
    if name == "uniqueidentifier":
        return lambda values: [b"\x00" if v is None else b"\x10" + _to_uuid(v).bytes_le for v in values]
    raise ValueError(f"no TDS encoding for {name}")


def encode_value(sql_type: SqlType, value: Any) -> bytes:
    return column_encoder(sql_type)([value])[0]


def returnvalue(ordinal: int, name: str, sql_type: SqlType, value: Any, status: int = 0x01) -> bytes:
    """An OUTPUT parameter's value (status 0x01), or a user-defined function's return value (0x02)."""
    stored = client_value(value, sql_type) if not isinstance(value, (str, int, float, bytes)) or \
        isinstance(value, bool) else value
    return (bytes([TOKEN_RETURNVALUE]) + _U16.pack(ordinal) + b_varchar(name) + bytes([status])
            + b"\x00\x00\x00\x00\x09\x00" + type_info(sql_type) + encode_value(sql_type, stored))


def without_length(values: list[bytes]) -> list[bytes]:
    if b"\x00" in values:  # a NULL (length 0) has no fixed-length form
        raise ValueError("NULL in a NOT NULL column")
    return [value[1:] for value in values]


# -- per type ------------------------------------------------------------------------------------------
def _to_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(Decimal(value.strip()))
    return int(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return bool(value)


def unscaled(value: Any, scale: int) -> int:
    """An exact value times 10**scale, as the wire carries it (canonical text has the digits already)."""
    if isinstance(value, str):
        text = value.strip()
        point = text.find(".")
        if (point < 0 and scale == 0) or (point >= 0 and len(text) - point - 1 == scale):
            return int(text.replace(".", "", 1))
    if isinstance(value, int):
        return value * 10**scale
    number = value if isinstance(value, Decimal) else decimals.to_decimal(value)
    if number is None:
        raise ValueError(f"not a number: {value!r}")
    return int(number.scaleb(scale, context=decimals.CONTEXT).quantize(Decimal(1), rounding="ROUND_HALF_UP",
                                                                      context=decimals.CONTEXT))


def _decimal_encoder(sql_type: SqlType) -> ColumnEncoder:
    size = decimal_size(sql_type.precision)
    scale = sql_type.scale
    limit = 10**sql_type.precision
    body = size - 1
    prefix_pos, prefix_neg = bytes([size, 1]), bytes([size, 0])

    def encode_one(value: Any) -> bytes:
        number = unscaled(value, scale)
        if abs(number) >= limit:
            raise OverflowError("more digits than the column's precision")
        return prefix_neg + (-number).to_bytes(body, "little") if number < 0 else \
            prefix_pos + number.to_bytes(body, "little")

    return lambda values: [b"\x00" if v is None else encode_one(v) for v in values]


def _money_encoder(name: str) -> ColumnEncoder:
    if name == "money":
        def encode_one(value: Any) -> bytes:
            number = unscaled(value, 4)
            return b"\x08" + _MONEY8.pack(number >> 32, number & 0xFFFFFFFF)
    else:
        def encode_one(value: Any) -> bytes:
            return b"\x04" + _MONEY4.pack(unscaled(value, 4))
    return lambda values: [b"\x00" if v is None else encode_one(v) for v in values]


def _text_bytes(value: Any, unicode: bool) -> bytes:
    text = value if isinstance(value, str) else bytes(value).decode(CODE_PAGE, "replace") if isinstance(
        value, (bytes, bytearray)) else str(value)
    if unicode:
        return codecs.utf_16_le_encode(text, "surrogatepass")[0]
    return text.encode(CODE_PAGE, "replace")


def _text_encoder(sql_type: SqlType) -> ColumnEncoder:
    name = sql_type.name
    unicode = name in ("nchar", "nvarchar", "ntext", "xml")
    if name in ("text", "ntext"):
        return lambda values: [b"\x00" if v is None else _large(_text_bytes(v, unicode)) for v in values]
    if sql_type.length < 0 or name == "xml":
        return lambda values: [plp(None if v is None else _text_bytes(v, unicode)) for v in values]
    limit = sql_type.length * (2 if unicode else 1)
    return lambda values: [short_bytes(None if v is None else _text_bytes(v, unicode), limit) for v in values]


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, int):
        return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return bytes(value)


def _binary_encoder(sql_type: SqlType) -> ColumnEncoder:
    if sql_type.name == "image":
        return lambda values: [b"\x00" if v is None else _large(_to_bytes(v)) for v in values]
    if sql_type.length < 0:
        return lambda values: [plp(None if v is None else _to_bytes(v)) for v in values]
    return lambda values: [short_bytes(None if v is None else _to_bytes(v), sql_type.length) for v in values]


def _large(data: bytes) -> bytes:
    """A text/ntext/image value: text pointer, timestamp, then the data with a 4-byte length."""
    return _TEXT_POINTER + _U32.pack(len(data)) + data


def short_bytes(data: bytes | None, limit: int) -> bytes:
    if data is None:
        return b"\xff\xff"
    if len(data) > limit:
        raise ValueError("longer than the column")
    return _U16.pack(len(data)) + data


def plp(data: bytes | None) -> bytes:
    if data is None:
        return _U64.pack(PLP_NULL)
    if not data:
        return _U64.pack(0) + b"\x00\x00\x00\x00"
    return _U64.pack(len(data)) + _U32.pack(len(data)) + data + b"\x00\x00\x00\x00"


def _to_uuid(value: Any) -> uuid.UUID:
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return uuid.UUID(bytes_le=bytes(value))
    if isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def moment_of(value: Any, type_name: str) -> datetimes.Moment:
    """A stored date/time (or a client's datetime, or text) as a moment of the type."""
    if isinstance(value, str):
        found = datetimes.read_stored(value.strip())
        if found is not None:
            return found
        return datetimes.parse(value, type_name)
    import datetime as dt

    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return datetimes.Moment.from_datetime(value)
    if isinstance(value, (int, float)) and type_name in ("datetime", "smalldatetime"):
        return datetimes.from_number(float(value), type_name)
    raise ValueError(f"not a date: {value!r}")


def _moment_encoder(sql_type: SqlType) -> Callable[[Any], bytes]:
    name, scale = sql_type.name, sql_type.scale
    size = time_size(scale)
    unit = 10 ** (7 - scale)

    def clock(ticks: int) -> bytes:
        return (ticks // unit).to_bytes(size, "little")

    def date(day: int) -> bytes:
        return (day - datetimes.FIRST_DAY).to_bytes(3, "little")

    if name == "date":
        return lambda value: b"\x03" + date(moment_of(value, name).day)
    if name == "time":
        return lambda value: bytes([size]) + clock(moment_of(value, name).ticks)
    if name == "datetime2":
        def encode_datetime2(value: Any) -> bytes:
            moment = moment_of(value, name)
            return bytes([size + 3]) + clock(moment.ticks) + date(moment.day)
        return encode_datetime2
    if name == "datetimeoffset":
        def encode_offset(value: Any) -> bytes:
            moment = moment_of(value, name)
            day, ticks = moment.utc()
            return bytes([size + 5]) + clock(ticks) + date(day) + struct.pack("<h", moment.offset or 0)
        return encode_offset
    if name == "datetime":
        def encode_datetime(value: Any) -> bytes:
            moment = moment_of(value, name)
            return b"\x08" + _DATETIME8.pack(moment.day - datetimes.DAY_1900, datetimes.datetime_units(moment.ticks))
        return encode_datetime

    def encode_small(value: Any) -> bytes:
        moment = moment_of(value, name)
        return b"\x04" + _DATETIME4.pack(moment.day - datetimes.DAY_1900, moment.ticks // (60 * 10_000_000))
    return encode_small
