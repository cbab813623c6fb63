"""RPC requests (MS-TDS 2.2.6.6): procedure calls and their parameters, decoded and checked as SQL Server
checks them. Hand-written for the same reason as tds.py (no server-side TDS library).

A parameter with an impossible length, precision or value is not decoded into something else: it raises
``BadParameter``, which the handlers answer with SQL Server's own error for it (8007, 8009, 8016, 8017,
8023, 8028), naming the parameter by its ordinal and name as SQL Server does; a message that ends inside
a parameter raises ``tds.Truncated`` (4002). Either way the connection stays usable."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import tds
from .conversions import CODE_PAGE
from .decimals import CONTEXT as EXACT
from .sqltypes import BIGINT, BIT, DATETIME, FLOAT, GUID, INT, MONEY, REAL, SMALLDATETIME, SMALLMONEY, SqlType
from .tds import (
    T_BIGBINARY,
    T_BIGCHAR,
    T_BIGVARBINARY,
    T_BIGVARCHAR,
    T_BINARY,
    T_BIT,
    T_BITN,
    T_CHAR,
    T_DATEN,
    T_DATETIM4,
    T_DATETIME,
    T_DATETIME2N,
    T_DATETIMEOFFSETN,
    T_DATETIMN,
    T_DECIMAL,
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
    T_NULL,
    T_NUMERIC,
    T_NUMERICN,
    T_NVARCHAR,
    T_SSVARIANT,
    T_TEXT,
    T_TIMEN,
    T_TVP,
    T_UDT,
    T_VARBINARY,
    T_VARCHAR,
    T_XML,
    Reader,
)

PROC_IDS = {1: "sp_cursor", 2: "sp_cursoropen", 3: "sp_cursorprepare", 4: "sp_cursorexecute",
            5: "sp_cursorprepexec", 6: "sp_cursorunprepare", 7: "sp_cursorfetch", 8: "sp_cursoroption",
            9: "sp_cursorclose", 10: "sp_executesql", 11: "sp_prepare", 12: "sp_execute",
            13: "sp_prepexec", 14: "sp_prepexecrpc", 15: "sp_unprepare"}
MAX_PARAMETERS = 2100  # SQL Server's limit per request (error 8003)

_FIXED_LENGTH = {T_INT1: 1, T_BIT: 1, T_INT2: 2, T_INT4: 4, T_DATETIM4: 4, T_FLT4: 4, T_MONEY: 8,
                 T_DATETIME: 8, T_FLT8: 8, T_MONEY4: 4, T_INT8: 8, T_NULL: 0}
# lengths a nullable fixed type may have (0 is NULL)
_LENGTHS = {T_INTN: (1, 2, 4, 8), T_BITN: (1,), T_FLTN: (4, 8), T_MONEYN: (4, 8), T_DATETIMN: (4, 8),
            T_GUID: (16,)}
_DECIMAL_SIZES = (5, 9, 13, 17)
_TYPE_NAMES = {T_DATEN: "date", T_TIMEN: "time", T_DATETIME2N: "datetime2", T_DATETIMEOFFSETN: "datetimeoffset",
               T_DATETIME: "datetime", T_DATETIM4: "smalldatetime", T_DECIMALN: "decimal", T_DECIMAL: "decimal",
               T_NUMERICN: "numeric", T_NUMERIC: "numeric", T_NVARCHAR: "nvarchar", T_NCHAR: "nchar",
               T_NTEXT: "ntext", T_XML: "xml", T_GUID: "uniqueidentifier"}
_DATE_ZERO = dt.date(1, 1, 1).toordinal()
_LAST_DAY = dt.date(9999, 12, 31).toordinal() - _DATE_ZERO   # the largest DATEN value
_DATETIME_1900 = dt.datetime(1900, 1, 1)
_DATETIME_DAYS = (-53690, 2958463)                             # datetime: 1753-01-01 … 9999-12-31
_DATETIME_TICKS = 300 * 86400                                  # 1/300 s in a day
_MAX_OFFSET_MINUTES = 14 * 60                                  # datetimeoffset: ±14:00
_F32, _F64, _I32, _I64 = struct.Struct("<f"), struct.Struct("<d"), struct.Struct("<i"), struct.Struct("<q")


class BadParameter(tds.ProtocolError):
    """A parameter SQL Server would refuse: ``problem`` is one of ``length`` (8016), ``precision``
    (8017), ``value`` (8023), ``odd_length`` (8028), ``chunks`` (8007), ``unknown_type`` (8009).
    ``ordinal`` (from 1) and ``name`` are filled in by ``parse_rpc``."""

    def __init__(self, problem: str, type_id: int) -> None:
        super().__init__(f"parameter: {problem} (type 0x{type_id:02X})")
        self.problem = problem
        self.type_id = type_id
        self.type_name = _TYPE_NAMES.get(type_id, f"0x{type_id:02X}")
        self.ordinal = 0
        self.name = ""


class UnsupportedParameter(tds.ProtocolError):
    """A parameter of a kind SQL Server takes and the emulator does not (answered with 40517 naming it)."""

    def __init__(self, feature: str) -> None:
        super().__init__(feature)
        self.feature = feature


class TooManyParameters(tds.ProtocolError):
    """More parameters in one request than SQL Server takes (8003)."""


class InvalidName(tds.ProtocolError):
    """An RPC request that names no procedure (8004)."""


@dataclass
class RpcParam:
    name: str
    output: bool
    sql_type: SqlType | None
    type_declaration: str
    value: Any


@dataclass
class RpcCall:
    name: str | None
    proc_id: int | None
    params: list[RpcParam]


@dataclass
class TypeInfo:
    type_id: int
    size: int = 0           # the length/max length field; 0xFFFF for (max)
    precision: int = 0
    scale: int = 0
    plp: bool = False

    @property
    def sql_type(self) -> SqlType | None:
        return _declared_type(self)

    @property
    def declaration(self) -> str:
        declared = self.sql_type
        return declared.declaration() if declared else "sql_variant"


def parse_rpc(payload: bytes) -> list[RpcCall]:
    reader = Reader(payload)
    tds.skip_all_headers(reader)
    calls: list[RpcCall] = []
    count = 0
    while reader.remaining > 0:
        name_length = reader.u16()
        if name_length == 0xFFFF:
            proc_id: int | None = reader.u16()
            name = PROC_IDS.get(proc_id or 0)
        else:
            proc_id = None
            name = reader.take(name_length * 2).decode("utf-16-le", "replace")
        if not name and proc_id is None:
            raise InvalidName("an RPC without a procedure name")
        reader.u16()  # option flags
        params: list[RpcParam] = []
        while reader.remaining > 0 and reader.data[reader.pos] not in (0xFF, 0x80, 0xFE):
            count += 1
            if count > MAX_PARAMETERS:
                raise TooManyParameters("too many parameters")
            param_name = reader.b_varchar()
            status = reader.u8()
            try:
                parsed = read_type_info(reader)
                value = read_value(reader, parsed)
            except BadParameter as exc:
                exc.ordinal, exc.name = len(params) + 1, param_name
                raise
            params.append(RpcParam(param_name, bool(status & 0x01), parsed.sql_type, parsed.declaration, value))
        calls.append(RpcCall(name, proc_id, params))
        if reader.remaining > 0:
            reader.u8()  # batch separator
    if not calls:
        raise InvalidName("an RPC request without a procedure")
    return calls


def read_type_info(reader: Reader) -> TypeInfo:  # noqa: C901 - one branch per wire type
    type_id = reader.u8()
    if type_id in _FIXED_LENGTH:
        return TypeInfo(type_id, _FIXED_LENGTH[type_id])
    if type_id in _LENGTHS:
        size = reader.u8()
        if size not in _LENGTHS[type_id]:
            raise BadParameter("length", type_id)
        return TypeInfo(type_id, size)
    if type_id in (T_DECIMALN, T_NUMERICN, T_DECIMAL, T_NUMERIC):
        size, precision, scale = reader.u8(), reader.u8(), reader.u8()
        if size not in _DECIMAL_SIZES:
            raise BadParameter("length", type_id)
        if not 1 <= precision <= 38 or scale > precision:
            raise BadParameter("precision", type_id)
        return TypeInfo(type_id, size, precision, scale)
    if type_id == T_DATEN:
        return TypeInfo(type_id, 3)
    if type_id in (T_TIMEN, T_DATETIME2N, T_DATETIMEOFFSETN):
        scale = reader.u8()
        if scale > 7:
            raise BadParameter("precision", type_id)
        return TypeInfo(type_id, 0, 0, scale)
    if type_id in (T_NVARCHAR, T_NCHAR, T_BIGVARCHAR, T_BIGCHAR, T_BIGVARBINARY, T_BIGBINARY):
        size = reader.u16()
        if type_id in (T_NVARCHAR, T_NCHAR, T_BIGVARCHAR, T_BIGCHAR):
            reader.take(5)  # collation
        if size > 8000 and size != 0xFFFF:
            raise BadParameter("length", type_id)
        return TypeInfo(type_id, size, plp=size == 0xFFFF)
    if type_id in (T_CHAR, T_VARCHAR, T_BINARY, T_VARBINARY):
        return TypeInfo(type_id, reader.u8())
    if type_id == T_XML:
        if reader.u8():  # schema present
            reader.b_varchar()
            reader.b_varchar()
            reader.us_varchar()
        return TypeInfo(type_id, 0xFFFF, plp=True)
    if type_id in (T_TEXT, T_NTEXT, T_IMAGE):
        size = reader.u32()
        if type_id != T_IMAGE:
            reader.take(5)
        return TypeInfo(type_id, size)
    if type_id == T_SSVARIANT:
        return TypeInfo(type_id, reader.u32())
    if type_id in (T_TVP, T_UDT):
        raise UnsupportedParameter("table-valued parameters" if type_id == T_TVP else
                                   "CLR user-defined type parameters")
    raise BadParameter("unknown_type", type_id)


def read_value(reader: Reader, info: TypeInfo) -> Any:  # noqa: C901 - one branch per wire type
    t = info.type_id
    if t == T_NULL:
        return None
    if t in _FIXED_LENGTH:
        return _fixed_value(t, reader.take(info.size))
    if info.plp:
        data = _read_plp(reader, t)
        if data is None:
            return None
        if t in (T_NVARCHAR, T_NCHAR, T_XML):
            return _text(data, t)
        return data.decode(CODE_PAGE, "replace") if t in (T_BIGVARCHAR, T_BIGCHAR) else data
    if t in (T_NVARCHAR, T_NCHAR, T_BIGVARCHAR, T_BIGCHAR, T_BIGVARBINARY, T_BIGBINARY):
        length = reader.u16()
        if length == 0xFFFF:
            return None
        if length > info.size:
            raise BadParameter("length", t)
        data = reader.take(length)
        if t in (T_NVARCHAR, T_NCHAR):
            return _text(data, t)
        return data.decode(CODE_PAGE, "replace") if t in (T_BIGVARCHAR, T_BIGCHAR) else data
    if t in (T_TEXT, T_NTEXT, T_IMAGE):  # in an RPC: a 4-byte length (0xFFFFFFFF: NULL), then the data
        length = reader.u32()
        if length == 0xFFFFFFFF:
            return None
        data = reader.take(length)
        return _text(data, t) if t == T_NTEXT else data.decode(CODE_PAGE, "replace") if t == T_TEXT else data
    if t == T_SSVARIANT:
        return _variant(reader, info)
    length = reader.u8()
    if length == 0 and t not in (T_CHAR, T_VARCHAR, T_BINARY, T_VARBINARY):
        return None
    if t in _LENGTHS and length not in _LENGTHS[t] or t in (T_DECIMALN, T_NUMERICN, T_DECIMAL, T_NUMERIC) \
            and not 2 <= length <= info.size or t == T_DATEN and length != 3:
        raise BadParameter("length", t)
    data = reader.take(length)
    if t == T_INTN:
        return int.from_bytes(data, "little", signed=length != 1)
    if t == T_BITN:
        return bool(data[0])
    if t == T_FLTN:
        return (_F32 if length == 4 else _F64).unpack(data)[0]
    if t == T_MONEYN:
        return _fixed_value(T_MONEY4 if length == 4 else T_MONEY, data)
    if t == T_DATETIMN:
        return _fixed_value(T_DATETIM4 if length == 4 else T_DATETIME, data)
    if t == T_GUID:
        return uuid.UUID(bytes_le=data)
    if t in (T_DECIMALN, T_NUMERICN, T_DECIMAL, T_NUMERIC):
        magnitude = int.from_bytes(data[1:], "little")
        if data[0] > 1 or magnitude >= 10**info.precision:
            raise BadParameter("value", t)
        number = Decimal(magnitude).scaleb(-info.scale, context=EXACT)  # exact: the default context has 28 digits
        return number if data[0] else number.copy_negate()
    if t == T_DATEN:
        return _date(int.from_bytes(data, "little"), t)
    if t in (T_TIMEN, T_DATETIME2N, T_DATETIMEOFFSETN):
        return _moment(t, data, info.scale)
    if t in (T_CHAR, T_VARCHAR):
        return data.decode(CODE_PAGE, "replace")
    if t in (T_BINARY, T_VARBINARY):
        return data
    raise BadParameter("unknown_type", t)


def _variant(reader: Reader, info: TypeInfo) -> Any:
    """A sql_variant value ([MS-TDS] 2.2.5.5.4): its base type, that type's properties, then the value."""
    total = reader.u32()
    if total == 0:
        return None
    body = Reader(reader.take(total))
    base = body.u8()
    properties = body.take(body.u8())
    data = body.take(body.remaining)
    if base in _FIXED_LENGTH:
        return _fixed_value(base, data)
    if base in (T_INTN, T_BITN, T_FLTN, T_MONEYN, T_DATETIMN, T_GUID):
        inner = Reader(bytes([len(data)]) + data)
        return read_value(inner, TypeInfo(base, len(data)))
    if base in (T_DECIMALN, T_NUMERICN) and len(properties) == 2:
        precision, scale = properties
        inner = Reader(bytes([len(data)]) + data)
        return read_value(inner, TypeInfo(base, 17, precision, scale))
    if base in (T_DATEN, T_TIMEN, T_DATETIME2N, T_DATETIMEOFFSETN):
        scale = properties[0] if properties else 7
        inner = Reader(bytes([len(data)]) + data)
        return read_value(inner, TypeInfo(base, 0, 0, scale))
    if base in (T_NVARCHAR, T_NCHAR):
        return _text(data, base)
    if base in (T_BIGVARCHAR, T_BIGCHAR):
        return data.decode(CODE_PAGE, "replace")
    if base in (T_BIGVARBINARY, T_BIGBINARY):
        return data
    raise BadParameter("value", T_SSVARIANT)


def _text(data: bytes, type_id: int) -> str:
    if len(data) % 2:
        raise BadParameter("odd_length", type_id)
    # lone surrogates are valid UCS-2 for SQL Server; SQLite stores UTF-8, so they become U+FFFD
    return data.decode("utf-16-le", "replace")


def _date(days: int, type_id: int) -> dt.date:
    if days > _LAST_DAY:
        raise BadParameter("value", type_id)
    return dt.date.fromordinal(days + _DATE_ZERO)


def _time(ticks: int, scale: int, type_id: int) -> dt.time:
    if ticks >= 86400 * 10**scale:
        raise BadParameter("value", type_id)
    micro = ticks * 1_000_000 // 10**scale
    seconds, micro = divmod(micro, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return dt.time(hour, minute, second, micro)


def _moment(t: int, data: bytes, scale: int) -> Any:
    """TIMEN, DATETIME2N, DATETIMEOFFSETN: the time part has the size its scale gives it."""
    tsize = 3 if scale <= 2 else 4 if scale <= 4 else 5
    expected = tsize + {T_TIMEN: 0, T_DATETIME2N: 3, T_DATETIMEOFFSETN: 5}[t]
    if len(data) != expected:
        raise BadParameter("length", t)
    moment = _time(int.from_bytes(data[:tsize], "little"), scale, t)
    if t == T_TIMEN:
        return moment
    day = _date(int.from_bytes(data[tsize:tsize + 3], "little"), t)
    if t == T_DATETIME2N:
        return dt.datetime.combine(day, moment)
    (offset,) = struct.unpack("<h", data[tsize + 3:])
    if abs(offset) > _MAX_OFFSET_MINUTES:
        raise BadParameter("value", t)
    utc = dt.datetime.combine(day, moment, dt.timezone.utc)
    try:
        return utc.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
    except OverflowError:  # the local time would fall outside years 1 … 9999
        raise BadParameter("value", t) from None


def _fixed_value(t: int, data: bytes) -> Any:
    if t == T_INT1:
        return data[0]
    if t == T_BIT:
        return bool(data[0])
    if t == T_INT2:
        return struct.unpack("<h", data)[0]
    if t == T_INT4:
        return _I32.unpack(data)[0]
    if t == T_INT8:
        return _I64.unpack(data)[0]
    if t == T_FLT4:
        return _F32.unpack(data)[0]
    if t == T_FLT8:
        return _F64.unpack(data)[0]
    if t == T_MONEY:
        high, low = struct.unpack("<iI", data)
        return Decimal((high << 32) + low).scaleb(-4, context=EXACT)
    if t == T_MONEY4:
        return Decimal(_I32.unpack(data)[0]).scaleb(-4, context=EXACT)
    if t == T_DATETIME:
        days, ticks = struct.unpack("<iI", data)
        if not _DATETIME_DAYS[0] <= days <= _DATETIME_DAYS[1] or ticks >= _DATETIME_TICKS:
            raise BadParameter("value", T_DATETIME)
        return _DATETIME_1900 + dt.timedelta(days=days, milliseconds=ticks * 10 / 3)
    if t == T_DATETIM4:
        days, minutes = struct.unpack("<HH", data)
        if minutes >= 1440:
            raise BadParameter("value", T_DATETIM4)
        return _DATETIME_1900 + dt.timedelta(days=days, minutes=minutes)
    return None


def _read_plp(reader: Reader, type_id: int) -> bytes | None:
    """A PLP value: its chunks must add up to the announced length (unless that is 'unknown')."""
    total = reader.u64()
    if total == tds.PLP_NULL:
        return None
    chunks = []
    size = 0
    while True:
        length = reader.u32()
        if length == 0:
            break
        size += length
        if total != tds.PLP_UNKNOWN and size > total:
            raise BadParameter("chunks", type_id)
        chunks.append(reader.take(length))
    if total != tds.PLP_UNKNOWN and size != total:
        raise BadParameter("chunks", type_id)
    return b"".join(chunks)


def _declared_type(info: TypeInfo) -> SqlType | None:  # noqa: C901 - one branch per wire type
    """The T-SQL type a parameter was sent as (its value is converted to this type's stored form)."""
    t = info.type_id
    if t in (T_INTN, T_INT1, T_INT2, T_INT4, T_INT8):
        return {1: SqlType("tinyint"), 2: SqlType("smallint"), 4: INT, 8: BIGINT}.get(info.size, INT)
    if t in (T_BIT, T_BITN):
        return BIT
    if t in (T_FLT4, T_FLT8, T_FLTN):
        return FLOAT if info.size != 4 else REAL
    if t in (T_DECIMALN, T_NUMERICN, T_DECIMAL, T_NUMERIC):
        return SqlType("decimal", precision=info.precision, scale=info.scale)
    if t in (T_MONEY, T_MONEY4, T_MONEYN):
        return SMALLMONEY if info.size == 4 else MONEY
    if t in (T_NVARCHAR, T_NCHAR):
        name = "nchar" if t == T_NCHAR and not info.plp else "nvarchar"
        return SqlType(name, -1 if info.plp else max(1, info.size // 2))
    if t in (T_BIGVARCHAR, T_BIGCHAR, T_CHAR, T_VARCHAR):
        name = "char" if t in (T_BIGCHAR, T_CHAR) and not info.plp else "varchar"
        return SqlType(name, -1 if info.plp else max(1, info.size))
    if t in (T_BIGVARBINARY, T_BIGBINARY, T_BINARY, T_VARBINARY):
        name = "binary" if t in (T_BIGBINARY, T_BINARY) and not info.plp else "varbinary"
        return SqlType(name, -1 if info.plp else max(1, info.size))
    if t in (T_TEXT, T_NTEXT, T_IMAGE, T_XML):
        return SqlType({T_TEXT: "text", T_NTEXT: "ntext", T_IMAGE: "image", T_XML: "xml"}[t], -1)
    if t == T_DATETIME2N:
        return SqlType("datetime2", scale=info.scale)
    if t == T_DATETIMEOFFSETN:
        return SqlType("datetimeoffset", scale=info.scale)
    if t in (T_DATETIME, T_DATETIM4, T_DATETIMN):
        return SMALLDATETIME if info.size == 4 else DATETIME
    if t == T_DATEN:
        return SqlType("date")
    if t == T_TIMEN:
        return SqlType("time", scale=info.scale)
    if t == T_GUID:
        return GUID
    return None
