"""ROW tokens for a whole result set, built a column at a time (written by hand; see encoding.py).

The rows are encoded a column at a time, and as much as possible a whole column in one C call
(struct.pack of n values, one unhexlify for n GUIDs, bytearray slice assignment) rather than value
by value, where the values are the stored forms SQLite holds for the column's type (sqltypes.py). A
column becomes "parts": a fixed part gives every row the same number of bytes — (data, stride, lanes):
row i's bytes are ``data[i * stride + lane]`` for each lane, in order (``lanes`` None: all ``stride``
bytes as they are) — and a variable part is a list of bytes, one per row (text, NULL-able values).
All fixed parts of a row are laid side by side in one frame (a bytearray with one stride-W slot per
row, filled lane by lane with strided slice assignments), and the stream is that frame cut only
where a variable part goes in: with no variable column the frame *is* the ROW tokens. Values that
are not the plain stored ones fall back to encoding.py's converting encoders, value by value.
"""

from __future__ import annotations

import binascii
import codecs
import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import replace
from itertools import accumulate, chain, repeat
from operator import itemgetter, methodcaller, sub
from typing import Any

from .encoding import (
    ENCODING_ERRORS,
    INT_SIZES,
    ColumnEncoder,
    column_encoder,
    decimal_size,
    fixed_length,
    time_size,
    without_length,
)
from .sqltypes import SqlType
from .tds import TOKEN_ROW

FixedPart = tuple[bytes, int, tuple[int, ...] | None]
RowPart = FixedPart | list[bytes]

_GUID_LANES = (3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15)  # text order -> bytes_le
_GUID_MARKS = ((8, "-"), (13, "-"), (18, "-"), (23, "-"), (36, "|"))  # in "|".join: each value 36 long
_INT_CODES = {1: "B", 2: "h", 4: "i", 8: "q"}
_BIT_TABLE = bytes([0]) + bytes([1]) * 255  # any non-zero byte -> 1
_ZERO_MOMENT = dt.datetime(1, 1, 1)
_U16 = struct.Struct("<H")
_NO_POINT = methodcaller("replace", ".", "")
_CP1252 = codecs.getencoder("cp1252")


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


def encode_rows(encoders: Sequence[ColumnEncoder], rows: Sequence[Sequence[Any]]) -> bytes:
    """ROW tokens for all rows with the given (converting) encoders, column by column."""
    if not rows:
        return b""
    columns = list(zip(*rows, strict=True))
    encoded = [encoder(column) for encoder, column in zip(encoders, columns, strict=True)]
    return b"".join(chain.from_iterable(zip(repeat(b"\xd1"), *encoded)))


def column_parts(sql_type: SqlType, values: Sequence[Any]) -> list[RowPart]:
    """One column's parts: whole-column where possible, else per value (fast, then converting)."""
    if fixed_length(sql_type):  # the nullable form's parts without the length byte
        if None in values:
            raise ValueError("NULL in a NOT NULL column")
        parts = column_parts(replace(sql_type, nullable=True), values)
        if len(parts) == 1 and isinstance(parts[0], list):
            return [without_length(parts[0])]
        return parts[1:]  # the whole-column forms start with the length byte as a constant part
    try:
        found = _whole_column(sql_type, values)
        if found is not None:
            return found
    except ENCODING_ERRORS:
        pass
    try:
        return [_fast_column(sql_type, values)]
    except ENCODING_ERRORS:
        return [column_encoder(sql_type)(values)]


def _fast_column(sql_type: SqlType, values: Sequence[Any]) -> list[bytes]:
    """Per value, for the plain stored values of a few types with NULLs among them; raises otherwise."""
    name = sql_type.name
    if name in INT_SIZES:
        size = INT_SIZES[name]
        packer = struct.Struct("<B" + _INT_CODES[size]).pack
        return [b"\x00" if v is None else packer(size, v) for v in values]
    if name == "bit":
        table = {None: b"\x00", 0: b"\x01\x00", 1: b"\x01\x01"}
        return [table[v] for v in values]
    if name in ("float", "real"):
        packer = struct.Struct("<Bd" if name == "float" else "<Bf").pack
        width = 8 if name == "float" else 4
        return [b"\x00" if v is None else packer(width, v) for v in values]
    raise TypeError("no fast per-value encoder")


def _constant(byte: int, count: int) -> FixedPart:
    return (bytes([byte]) * count, 1, None)


def _unscaled(values: Sequence[Any], scale: int) -> list[int]:
    """Canonical exact texts as integers times 10**scale (every value must have exactly ``scale`` digits
    after its point, else ValueError and the converting encoder takes over)."""
    if scale:
        if any(v[-scale - 1] != "." for v in values):  # TypeError for a non-text value
            raise ValueError("not canonical")
        return list(map(int, map(_NO_POINT, values)))
    if any("." in v for v in values):
        raise ValueError("not canonical")
    return list(map(int, values))


def _whole_column(sql_type: SqlType, values: Sequence[Any]) -> list[RowPart] | None:  # noqa: C901
    """The column's parts built a whole column at a time; None (or an exception) where the values are
    not the plain stored ones for the type, and the per-value encoders take over."""
    name = sql_type.name
    count = len(values)
    if name in ("nvarchar", "nchar", "varchar", "char") and sql_type.length >= 0:
        encode = codecs.utf_16_le_encode if name in ("nvarchar", "nchar") else _CP1252  # cp1252: strict
        if None in values:
            encoded = [b"" if v is None else encode(v)[0] for v in values]
            lengths = [0xFFFF if v is None else len(e) for v, e in zip(values, encoded, strict=True)]
            longest = max((n for n in lengths if n != 0xFFFF), default=0)
        else:
            encoded = list(map(itemgetter(0), map(encode, values)))
            lengths = list(map(len, encoded))
            longest = max(lengths)
        if longest > sql_type.length * (2 if name in ("nvarchar", "nchar") else 1):
            raise ValueError("longer than the column")
        return [(struct.pack(f"<{count}H", *lengths), 2, None), encoded]
    if None in values:
        return None
    if name in INT_SIZES:
        size = INT_SIZES[name]
        return [_constant(size, count), (struct.pack(f"<{count}{_INT_CODES[size]}", *values), size, None)]
    if name == "bit":
        return [_constant(1, count), (bytes(values).translate(_BIT_TABLE), 1, None)]
    if name in ("float", "real"):
        size = 8 if name == "float" else 4
        return [_constant(size, count), (struct.pack(f"<{count}{'d' if size == 8 else 'f'}", *values), size, None)]
    if name == "decimal" and sql_type.precision <= 19:
        size = decimal_size(sql_type.precision)
        unscaled = _unscaled(values, sql_type.scale)
        if min(unscaled) >= 0:
            signs = b"\x01" * count
        else:
            signs = bytes(map((0).__le__, unscaled))
            unscaled = list(map(abs, unscaled))
        if max(unscaled) >= 10**sql_type.precision:
            raise ValueError("more digits than the column's precision")
        data = struct.pack(f"<{count}{'I' if size == 5 else 'Q'}", *unscaled)
        return [_constant(size, count), (signs, 1, None), (data, size - 1, None)]
    if name == "money":
        unscaled = _unscaled(values, 4)
        data = struct.pack(f"<{count}q", *unscaled)
        return [_constant(8, count), (data, 8, (4, 5, 6, 7, 0, 1, 2, 3))]  # high half first, as MONEY is sent
    if name == "date":
        if any(len(v) != 10 for v in values):  # TypeError for a non-text value
            return None
        deltas = map(sub, map(dt.datetime.fromisoformat, values), repeat(_ZERO_MOMENT))
        data = struct.pack(f"<{count}I", *[d.days for d in deltas])
        return [_constant(3, count), (data, 4, (0, 1, 2))]
    if name == "datetime2":
        return _datetime2_column(sql_type.scale, values)
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


def _datetime2_column(scale: int, values: Sequence[Any]) -> list[RowPart] | None:
    """datetime2(n) from its stored form 'YYYY-MM-DD hh:mm:ss[.n digits]': the whole seconds through the
    C parser, the fraction's digits as an integer (exact to 100 ns, which datetime cannot hold)."""
    width = 19 + (scale + 1 if scale else 0)
    count = len(values)
    if any(len(v) != width for v in values):  # TypeError for a non-text value
        return None
    deltas = list(map(sub, map(dt.datetime.fromisoformat, map(itemgetter(slice(0, 19)), values)),
                      repeat(_ZERO_MOMENT)))
    size = time_size(scale)
    shift = 8 * size
    factor = 10**scale
    if scale:
        fractions = list(map(int, map(itemgetter(slice(20, width)), values)))
        packed = [(d.days << shift) | (d.seconds * factor + f) for d, f in zip(deltas, fractions, strict=True)]
    else:
        packed = [(d.days << shift) | d.seconds for d in deltas]
    data = struct.pack(f"<{count}Q", *packed)
    return [_constant(size + 3, count), (data, 8, tuple(range(size + 3)))]


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
