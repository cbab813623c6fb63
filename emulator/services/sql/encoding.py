"""SQL values on the wire, written by hand for the same reason as tds.py: a SqlType's TYPE_INFO, the
COLMETADATA token, ROW tokens for a whole result (a column at a time, see ``encode_columns``) and
RETURNVALUE tokens, from the values SQLite stores (ISO text for dates, text or float for decimals …)."""

from __future__ import annotations

import binascii
import codecs
import datetime as dt
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import accumulate, chain, repeat
from operator import itemgetter, mul, sub
from typing import Any

from .sqltypes import SqlType
from .tds import (
    COLLATION,
    PLP_NULL,
    T_BIGVARBINARY,
    T_BIT,
    T_BITN,
    T_DATEN,
    T_DATETIME2N,
    T_DECIMALN,
    T_FLT4,
    T_FLT8,
    T_FLTN,
    T_GUID,
    T_INT1,
    T_INT2,
    T_INT4,
    T_INT8,
    T_INTN,
    T_NVARCHAR,
    T_TIMEN,
    TOKEN_COLMETADATA,
    TOKEN_RETURNVALUE,
    TOKEN_ROW,
    b_varchar,
)

_DATE_ZERO = dt.date(1, 1, 1).toordinal()
_U16, _U32, _U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
_I32, _I64 = struct.Struct("<i"), struct.Struct("<q")
_F32, _F64 = struct.Struct("<f"), struct.Struct("<d")

_INT_SIZES = {"tinyint": 1, "smallint": 2, "int": 4, "bigint": 8}
_INT_PACK = {1: struct.Struct("<B"), 2: struct.Struct("<h"), 4: _I32, 8: _I64}


# A NOT NULL column of these types goes as SQL Server sends it: a fixed-length type, each value without
# a length byte ([MS-TDS] 2.2.5.4.1, FIXEDLENTYPE); the nullable form is INTN/BITN/FLTN
_FIXED_TYPES = {"tinyint": T_INT1, "smallint": T_INT2, "int": T_INT4, "bigint": T_INT8, "bit": T_BIT,
                "float": T_FLT8, "real": T_FLT4}


def fixed_length(sql_type: SqlType) -> bool:
    return not sql_type.nullable and sql_type.name in _FIXED_TYPES


def type_info(sql_type: SqlType) -> bytes:
    """TYPE_INFO for COLMETADATA / RETURNVALUE."""
    name = sql_type.name
    if fixed_length(sql_type):
        return bytes([_FIXED_TYPES[name]])
    if name in _INT_SIZES:
        return bytes([T_INTN, _INT_SIZES[name]])
    if name == "bit":
        return bytes([T_BITN, 1])
    if name == "float":
        return bytes([T_FLTN, 8])
    if name == "real":
        return bytes([T_FLTN, 4])
    if name == "decimal":
        return bytes([T_DECIMALN, _decimal_size(sql_type.precision), sql_type.precision, sql_type.scale])
    if name == "nvarchar":
        size = 0xFFFF if sql_type.length < 0 else sql_type.length * 2
        return bytes([T_NVARCHAR]) + _U16.pack(size) + COLLATION
    if name == "varbinary":
        size = 0xFFFF if sql_type.length < 0 else sql_type.length
        return bytes([T_BIGVARBINARY]) + _U16.pack(size)
    if name == "datetime2":
        return bytes([T_DATETIME2N, sql_type.scale])
    if name == "date":
        return bytes([T_DATEN])
    if name == "time":
        return bytes([T_TIMEN, sql_type.scale])
    if name == "uniqueidentifier":
        return bytes([T_GUID, 16])
    raise ValueError(f"no TDS encoding for {name}")


def _decimal_size(precision: int) -> int:
    if precision <= 9:
        return 5
    if precision <= 19:
        return 9
    if precision <= 28:
        return 13
    return 17


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


def column_encoder(sql_type: SqlType) -> ColumnEncoder:
    name = sql_type.name
    if fixed_length(sql_type):
        nullable = column_encoder(replace(sql_type, nullable=True))
        return lambda values: _without_length(nullable(values))
    if name in _INT_SIZES:
        size = _INT_SIZES[name]
        pack = _INT_PACK[size].pack
        prefix = bytes([size])
        return lambda values: [b"\x00" if v is None else prefix + pack(_to_int(v)) for v in values]
    if name == "bit":
        return lambda values: [b"\x00" if v is None else (b"\x01\x01" if _to_bool(v) else b"\x01\x00")
                               for v in values]
    if name in ("float", "real"):
        fmt = _F64 if name == "float" else _F32
        prefix = bytes([fmt.size])
        pack = fmt.pack
        return lambda values: [b"\x00" if v is None else prefix + pack(float(v)) for v in values]
    if name == "decimal":
        return _decimal_encoder(sql_type)
    if name == "nvarchar":
        if sql_type.length < 0:
            return lambda values: [_plp(None if v is None else _to_text(v).encode("utf-16-le")) for v in values]
        limit = sql_type.length * 2
        return lambda values: [_short_bytes(None if v is None else _to_text(v).encode("utf-16-le"), limit)
                               for v in values]
    if name == "varbinary":
        if sql_type.length < 0:
            return lambda values: [_plp(None if v is None else _to_bytes(v)) for v in values]
        return lambda values: [_short_bytes(None if v is None else _to_bytes(v), sql_type.length)
                               for v in values]
    if name == "datetime2":
        return _datetime2_encoder(sql_type.scale)
    if name == "date":
        return lambda values: [b"\x00" if v is None else b"\x03" + _date_bytes(_to_date(v)) for v in values]
    if name == "time":
        scale = sql_type.scale
        size = _time_size(scale)
        return lambda values: [b"\x00" if v is None else bytes([size]) + _time_bytes(to_time(v), scale)
                               for v in values]
    if name == "uniqueidentifier":
        return lambda values: [b"\x00" if v is None else b"\x10" + _to_uuid(v).bytes_le for v in values]
    raise ValueError(f"no TDS encoding for {name}")


def fast_column_encoder(sql_type: SqlType) -> ColumnEncoder:
    """Like ``column_encoder`` for values of the type SQLite stores for it (int for int, str for
    datetime2 …), in one list comprehension per column; anything unexpected raises, and the caller
    falls back to ``column_encoder``, which converts value by value."""
    name = sql_type.name
    if name in _INT_SIZES:
        size = _INT_SIZES[name]
        packer = struct.Struct("<B" + {1: "B", 2: "h", 4: "i", 8: "q"}[size]).pack
        return lambda values: [b"\x00" if v is None else packer(size, v) for v in values]
    if name == "bit":
        table = {None: b"\x00", 0: b"\x01\x00", 1: b"\x01\x01"}
        return lambda values: [table[v] for v in values]
    if name in ("float", "real"):
        packer = struct.Struct("<Bd" if name == "float" else "<Bf").pack
        width = 8 if name == "float" else 4
        return lambda values: [b"\x00" if v is None else packer(width, v) for v in values]
    if name == "decimal" and sql_type.precision <= 19:
        factor = 10**sql_type.scale
        size = _decimal_size(sql_type.precision)
        packer = struct.Struct("<BBI" if size == 5 else "<BBQ").pack

        def decimals(values: Sequence[Any]) -> list[bytes]:
            out = []
            for v in values:
                if v is None:
                    out.append(b"\x00")
                    continue
                if type(v) is str:  # noqa: E721 - exact text: the precise (slow) path
                    raise TypeError("text decimal")
                unscaled = round(v * factor)
                out.append(packer(size, 1, unscaled) if unscaled >= 0 else packer(size, 0, -unscaled))
            return out

        return decimals
    if name == "nvarchar" and sql_type.length >= 0:
        limit = sql_type.length * 2
        pack_h = _U16.pack
        utf16 = codecs.utf_16_le_encode  # no codec-registry lookup per value (4x faster than str.encode)

        def texts(values: Sequence[Any]) -> list[bytes]:
            encoded = [None if v is None else utf16(v)[0] for v in values]
            if max(map(len, filter(None, encoded)), default=0) > limit:
                raise ValueError("longer than the column")
            return [b"\xff\xff" if e is None else pack_h(len(e)) + e for e in encoded]

        return texts
    if name == "datetime2" and sql_type.scale == 7:
        parse = dt.datetime.fromisoformat
        packer = struct.Struct("<BQ").pack
        zero = dt.datetime(1, 1, 1)

        def moments(values: Sequence[Any]) -> list[bytes]:
            out = []
            for v in values:
                if v is None:
                    out.append(b"\x00")
                    continue
                delta = parse(v) - zero  # TypeError for an aware datetime: the slow path handles offsets
                out.append(packer(8, (delta.days << 40) | (delta.seconds * 1_000_000 + delta.microseconds) * 10))
            return out

        return moments
    if name == "uniqueidentifier":

        def guids(values: Sequence[Any]) -> list[bytes]:
            count = len(values)
            raw = bytes.fromhex("".join(values).replace("-", ""))  # TypeError on None: slow path
            if len(raw) != 16 * count:
                raise ValueError("not GUIDs")
            out = bytearray(17 * count)
            out[0::17] = b"\x10" * count
            for target, source in enumerate((3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15), start=1):
                out[target::17] = raw[source::16]
            blob = bytes(out)
            return [blob[i:i + 17] for i in range(0, 17 * count, 17)]

        return guids
    return column_encoder(sql_type)


# -- ROW tokens for a whole result set ---------------------------------------------------------------
# The rows are encoded a column at a time, and as much as possible a whole column in one C call
# (struct.pack of n values, one unhexlify for n GUIDs, bytearray slice assignment) rather than value
# by value, where the values are the plain ones SQLite stores for the column's type. A column becomes
# "parts": a fixed part gives every row the same number of bytes — (data, stride, lanes): row i's
# bytes are ``data[i * stride + lane]`` for each lane, in order (``lanes`` None: all ``stride``
# bytes as they are) — and a variable part is a list of bytes, one per row (text, NULL-able values).
# All fixed parts of a row are laid side by side in one frame (a bytearray with one stride-W slot per
# row, filled lane by lane with strided slice assignments), and the stream is that frame cut only
# where a variable part goes in: with no variable column the frame *is* the ROW tokens.
FixedPart = tuple[bytes, int, tuple[int, ...] | None]
RowPart = FixedPart | list[bytes]

ENCODING_ERRORS = (TypeError, ValueError, KeyError, AttributeError, OverflowError, struct.error)
_GUID_LANES = (3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15)  # text order -> bytes_le
_GUID_MARKS = ((8, "-"), (13, "-"), (18, "-"), (23, "-"), (36, "|"))  # in "|".join: each value 36 long
_INT_CODES = {1: "B", 2: "h", 4: "i", 8: "q"}
_BIT_TABLE = bytes([0]) + bytes([1]) * 255  # any non-zero byte -> 1
_ZERO_MOMENT = dt.datetime(1, 1, 1)


def encode_columns(types: Sequence[SqlType], rows: Sequence[Sequence[Any]]) -> bytes:
    """ROW tokens for all rows: whole-column encoders where the values allow, else the per-value fast
    encoder, else the converting one (which raises what the caller turns into a typing fallback)."""
    if not rows:
        return b""
    count = len(rows)
    parts: list[RowPart] = [(bytes([TOKEN_ROW]) * count, 1, None)]
    for index, sql_type in enumerate(types):
        # not zip(*rows): that allocates one GC-tracked iterator per row (twice the collector's passes)
        parts += column_parts(sql_type, list(map(itemgetter(index), rows)))
    return assemble_rows(count, parts)


def column_parts(sql_type: SqlType, values: Sequence[Any]) -> list[RowPart]:
    """One column's parts: whole-column where possible, else per value (fast, then converting)."""
    if fixed_length(sql_type):  # the nullable form's parts without the length byte
        if None in values:
            raise ValueError("NULL in a NOT NULL column")
        parts = column_parts(replace(sql_type, nullable=True), values)
        if len(parts) == 1 and isinstance(parts[0], list):
            return [_without_length(parts[0])]
        return parts[1:]  # the whole-column forms start with the length byte as a constant part
    try:
        found = _whole_column(sql_type, values)
        if found is not None:
            return found
    except ENCODING_ERRORS:
        pass
    try:
        return [fast_column_encoder(sql_type)(values)]
    except ENCODING_ERRORS:
        return [column_encoder(sql_type)(values)]


def _without_length(values: list[bytes]) -> list[bytes]:
    if b"\x00" in values:  # a NULL (length 0) has no fixed-length form
        raise ValueError("NULL in a NOT NULL column")
    return [value[1:] for value in values]


def _constant(byte: int, count: int) -> FixedPart:
    return (bytes([byte]) * count, 1, None)


def _whole_column(sql_type: SqlType, values: Sequence[Any]) -> list[RowPart] | None:  # noqa: C901
    """The column's parts built a whole column at a time; None (or an exception) where the values are
    not the plain ones for the type, and the per-value encoders take over."""
    name = sql_type.name
    count = len(values)
    if name == "nvarchar" and sql_type.length >= 0:
        utf16 = codecs.utf_16_le_encode
        if None in values:
            encoded = [b"" if v is None else utf16(v)[0] for v in values]
            lengths = [0xFFFF if v is None else len(e) for v, e in zip(values, encoded, strict=True)]
            longest = max((n for n in lengths if n != 0xFFFF), default=0)
        else:
            encoded = list(map(itemgetter(0), map(utf16, values)))
            lengths = list(map(len, encoded))
            longest = max(lengths)
        if longest > sql_type.length * 2:
            raise ValueError("longer than the column")
        return [(struct.pack(f"<{count}H", *lengths), 2, None), encoded]
    if None in values:
        return None
    if name in _INT_SIZES:
        size = _INT_SIZES[name]
        return [_constant(size, count), (struct.pack(f"<{count}{_INT_CODES[size]}", *values), size, None)]
    if name == "bit":
        return [_constant(1, count), (bytes(values).translate(_BIT_TABLE), 1, None)]
    if name in ("float", "real"):
        size = 8 if name == "float" else 4
        return [_constant(size, count), (struct.pack(f"<{count}{'d' if size == 8 else 'f'}", *values), size, None)]
    if name == "decimal" and sql_type.precision <= 19:
        if not set(map(type, values)) <= {int, float}:
            return None  # text decimals take the exact (Decimal) path
        size = _decimal_size(sql_type.precision)
        unscaled = list(map(round, map(mul, values, repeat(10**sql_type.scale))))
        if min(unscaled) >= 0:
            signs = b"\x01" * count
        else:
            signs = bytes(map((0).__le__, unscaled))
            unscaled = list(map(abs, unscaled))
        data = struct.pack(f"<{count}{'I' if size == 5 else 'Q'}", *unscaled)
        return [_constant(size, count), (signs, 1, None), (data, size - 1, None)]
    if name == "datetime2" or name == "date":
        deltas = map(sub, map(dt.datetime.fromisoformat, values), repeat(_ZERO_MOMENT))  # aware: TypeError
        if name == "date":
            data = struct.pack(f"<{count}I", *[d.days for d in deltas])
            return [_constant(3, count), (data, 4, (0, 1, 2))]
        scale = sql_type.scale
        size = _time_size(scale)
        shift = 8 * size
        if scale == 7:
            packed = [(d.days << shift) | (d.seconds * 1_000_000 + d.microseconds) * 10 for d in deltas]
        else:
            factor = 10**scale
            packed = [(d.days << shift) | (d.seconds * 1_000_000 + d.microseconds) * factor // 1_000_000
                      for d in deltas]
        data = struct.pack(f"<{count}Q", *packed)
        return [_constant(size + 3, count), (data, 8, tuple(range(size + 3)))]
    if name == "uniqueidentifier":
        text = "|".join(values)  # TypeError unless all text
        if len(text) != 37 * count - 1 or any(text[position::37] != mark * (count - (position == 36))
                                              for position, mark in _GUID_MARKS):
            return None  # not all in the canonical 8-4-4-4-12 form: uuid.UUID parses them one by one
        raw = binascii.unhexlify(text.encode("ascii").translate(None, b"-|"))  # non-hex: ValueError
        if len(raw) != 16 * count:
            return None
        return [_constant(16, count), (raw, 16, _GUID_LANES)]
    return None


def assemble_rows(count: int, parts: Sequence[RowPart]) -> bytes:
    """The ROW tokens of ``count`` rows from their parts, in column order (see above)."""
    groups: list[list[FixedPart]] = [[]]
    variables: list[list[bytes]] = []
    for part in parts:
        if isinstance(part, tuple):
            groups[-1].append(part)
        else:
            variables.append(part)
            groups.append([])
    widths = [sum(stride if lanes is None else len(lanes) for _, stride, lanes in group) for group in groups]
    row = sum(widths)
    frame = bytearray(count * row)
    offset = 0
    for group in groups:
        for data, stride, lanes in group:
            if lanes is None and stride == row:
                frame[:] = data
            elif lanes is None and stride == 1:
                frame[offset::row] = data
            else:
                for lane, source in enumerate(range(stride) if lanes is None else lanes):
                    frame[offset + lane::row] = data[source::stride]
            offset += stride if lanes is None else len(lanes)
    if not variables:
        return bytes(frame)
    starts = list(accumulate(widths, initial=0))
    last = len(variables)
    streams: list[Sequence[bytes]] = []
    for index, variable in enumerate(variables, start=1):
        streams.append(variable)
        if index < last:  # the fixed bytes between two variable parts of one row
            streams.append(_cut(frame, starts[index], widths[index], row))
    # the fixed bytes after a row's last variable part run on into the next row's first ones
    wrap = _cut(memoryview(frame)[starts[last]:starts[last] + (count - 1) * row], 0, widths[last] + widths[0], row)
    wrap.append(bytes(frame[(count - 1) * row + starts[last]:]))
    streams.append(wrap)
    return b"".join(chain((frame[:widths[0]],), chain.from_iterable(zip(*streams, strict=True))))


def _cut(buffer: bytes | bytearray | memoryview, offset: int, width: int, row: int) -> list[bytes]:
    """``width`` bytes at ``offset`` of every ``row``-byte slot of the buffer."""
    layout = struct.Struct(f"<{offset}x{width}s{row - offset - width}x")
    return list(map(itemgetter(0), layout.iter_unpack(buffer)))


def encode_rows(encoders: Sequence[ColumnEncoder], rows: Sequence[Sequence[Any]]) -> bytes:
    """ROW tokens for all rows, encoding column by column (much faster than value by value)."""
    if not rows:
        return b""
    columns = list(zip(*rows, strict=True))
    encoded = [encoder(column) for encoder, column in zip(encoders, columns, strict=True)]
    return b"".join(chain.from_iterable(zip(repeat(b"\xd1"), *encoded)))


def encode_value(sql_type: SqlType, value: Any) -> bytes:
    return column_encoder(sql_type)([value])[0]


def returnvalue(ordinal: int, name: str, sql_type: SqlType, value: Any) -> bytes:
    return (bytes([TOKEN_RETURNVALUE]) + _U16.pack(ordinal) + b_varchar(name) + b"\x01"
            + b"\x00\x00\x00\x00\x09\x00" + type_info(sql_type) + encode_value(sql_type, value))


def _short_bytes(data: bytes | None, limit: int) -> bytes:
    if data is None:
        return b"\xff\xff"
    if len(data) > limit:
        data = data[:limit]
    return _U16.pack(len(data)) + data


def _plp(data: bytes | None) -> bytes:
    if data is None:
        return _U64.pack(PLP_NULL)
    if not data:
        return _U64.pack(0) + b"\x00\x00\x00\x00"
    return _U64.pack(len(data)) + _U32.pack(len(data)) + data + b"\x00\x00\x00\x00"


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


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return str(value)


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, int):
        return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return bytes(value)


def _to_uuid(value: Any) -> uuid.UUID:
    if isinstance(value, bytes) and len(value) == 16:
        return uuid.UUID(bytes_le=value)
    return uuid.UUID(str(value))


def parse_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)):
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=value)
    text = str(value).strip()
    if len(text) > 26 and text[19] == "." and text[-1].isdigit():  # 7 fractional digits
        head, _, fraction = text.partition(".")
        text = f"{head}.{fraction[:6]}"
    parsed = dt.datetime.fromisoformat(text)
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed.astimezone(dt.timezone.utc).replace(
        tzinfo=None)


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return parse_datetime(value).date()


def to_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    text = str(value).strip()
    try:
        return dt.time.fromisoformat(text[:15])
    except ValueError:
        return parse_datetime(value).time()


def _time_size(scale: int) -> int:
    return 3 if scale <= 2 else 4 if scale <= 4 else 5


def _time_bytes(moment: dt.time, scale: int) -> bytes:
    ticks = ((moment.hour * 3600 + moment.minute * 60 + moment.second) * 1_000_000 + moment.microsecond)
    ticks = ticks * 10**scale // 1_000_000
    return ticks.to_bytes(_time_size(scale), "little")


def _date_bytes(day: dt.date) -> bytes:
    return (day.toordinal() - _DATE_ZERO).to_bytes(3, "little")


def _datetime2_encoder(scale: int) -> ColumnEncoder:
    size = _time_size(scale)
    prefix = bytes([size + 3])
    factor = 10**scale
    cache: dict[Any, bytes] = {}

    def encode_one(value: Any) -> bytes:
        moment = parse_datetime(value)
        micro = (moment.hour * 3600 + moment.minute * 60 + moment.second) * 1_000_000 + moment.microsecond
        ticks = micro * factor // 1_000_000
        days = moment.toordinal() - _DATE_ZERO
        return prefix + ticks.to_bytes(size, "little") + days.to_bytes(3, "little")

    def encode(values: Sequence[Any]) -> list[bytes]:
        out = []
        for v in values:
            if v is None:
                out.append(b"\x00")
                continue
            hit = cache.get(v)
            if hit is None:
                hit = encode_one(v)
                if len(cache) < 65536:
                    cache[v] = hit
            out.append(hit)
        return out

    return encode


def _decimal_encoder(sql_type: SqlType) -> ColumnEncoder:
    size = _decimal_size(sql_type.precision)
    scale = sql_type.scale
    quantum = Decimal(1).scaleb(-scale)
    factor = 10**scale
    prefix_pos = bytes([size, 1])
    prefix_neg = bytes([size, 0])
    body = size - 1

    def encode_one(value: Any) -> bytes:
        if isinstance(value, int):
            unscaled = value * factor
        else:
            number = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float)
                                                                       else str(value).strip())
            unscaled = int(number.quantize(quantum).scaleb(scale))
        if unscaled < 0:
            return prefix_neg + (-unscaled).to_bytes(body, "little")
        return prefix_pos + unscaled.to_bytes(body, "little")

    return lambda values: [b"\x00" if v is None else encode_one(v) for v in values]


