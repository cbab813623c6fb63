"""Conversions between SQL Server's types, as SQL Server converts: ``convert`` for CAST/CONVERT and the
implicit conversions of operators, ``assign`` for a value written into a column (INSERT, UPDATE, a
declared variable), which also refuses to cut a string or binary value (2628) unless ANSI_WARNINGS is
OFF, and pads char(n)/nchar(n)/binary(n). Both return the value in the stored form of the target type
(sqltypes.py, decimals.py, datetimes.py), so SQLite only ever holds canonical values.

``source`` is the T-SQL type of the value where the statement tells it (a column, a declared variable,
a typed expression); without it the Python value says what it is. Errors are SQL Server's: 245, 8114,
8115, 220, 241, 242, 8169, 235, 257, 529, 206, 2628. Hand-written: these are SQL Server's rules.
"""

from __future__ import annotations

import functools
import math
import re
import struct
import unicodedata
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import datetimes, decimals, errors
from .errors import SqlError
from .sqltypes import INTEGER_RANGES, SqlType, sql_type

CODE_PAGE = "cp1252"  # SQL_Latin1_General_CP1_CI_AS stores varchar in Windows code page 1252
_F32 = struct.Struct("<f")


@dataclass(frozen=True)
class Options:
    """The session settings conversions depend on."""

    ansi_warnings: bool = True
    dateformat: str = "mdy"


DEFAULT_OPTIONS = Options()


@functools.lru_cache(maxsize=1024)
def declared(text: str) -> SqlType | None:
    """A type from its declaration text (cached: the rewrite passes types to SQL functions as text)."""
    return sql_type(text) if text else None


def source_of(value: Any, source: SqlType | None) -> SqlType:
    """The value's T-SQL type: as declared, else what the Python value is."""
    if source is not None:
        return source
    if isinstance(value, bool):
        return SqlType("bit")
    if isinstance(value, int):
        return SqlType("int") if -(2**31) <= value < 2**31 else SqlType("bigint")
    if isinstance(value, float):
        return SqlType("float")
    if isinstance(value, (bytes, bytearray)):
        return SqlType("varbinary", -1)
    if isinstance(value, Decimal):
        return SqlType("decimal", precision=38, scale=max(0, -value.as_tuple().exponent))  # type: ignore[operator]
    return SqlType("nvarchar", -1)


def shown(declared_type: SqlType) -> str:
    """A type's name in SQL Server's conversion messages."""
    return "numeric" if declared_type.name == "decimal" else declared_type.name


# -- CAST / CONVERT ---------------------------------------------------------------------------------------
def convert(value: Any, target: SqlType, source: SqlType | None = None, options: Options = DEFAULT_OPTIONS,
            explicit: bool = True) -> Any:  # noqa: C901 - one branch per target family
    """``value`` (of type ``source``) converted to ``target``, in the target's stored form. Strings and
    binaries are cut to the target's length silently, as CAST does."""
    if value is None:
        return None
    kind = source_of(value, source)
    if isinstance(value, bytearray):
        value = bytes(value)
    name = target.name
    if name in INTEGER_RANGES:
        return _to_integer(value, kind, target)
    if target.is_exact:
        return _to_exact(value, kind, target)
    if name in ("float", "real"):
        return _to_float(value, kind, target)
    if target.is_string:
        text = to_text(value, kind, target)
        if not target.is_long and _units(text, target) > target.length:
            text = _cut(text, target)
        return _finish_text(text, target)
    if target.is_binary:
        data = _to_binary(value, kind, target, explicit)
        if not target.is_long and len(data) > target.length:
            data = data[:target.length]
        return data.ljust(target.length, b"\x00") if target.name == "binary" else data
    if target.is_date:
        return _to_date(value, kind, target, options, explicit)
    if name == "uniqueidentifier":
        return _to_guid(value, kind)
    if name == "xml":
        return to_text(value, kind, target)
    return value


def assign(value: Any, target: SqlType, source: SqlType | None, table: str, column: str,
           options: Options = DEFAULT_OPTIONS) -> Any:
    """``value`` written into a column of type ``target``: the implicit conversion, then the length rule —
    a string or binary value longer than the column is SQL Server's 2628 (ANSI_WARNINGS ON), or cut
    (OFF); only trailing blanks are cut without a word either way."""
    if value is None:
        return None
    kind = source_of(value, source)
    if target.is_string and not target.is_long:
        text = to_text(value, kind, target)
        if _units(text, target) > target.length:
            cut = _cut(text, target)
            if text[len(cut):].strip(" ") and options.ansi_warnings:
                raise errors.string_truncated(table, column, cut)
            text = cut
        return _finish_text(text, target)
    if target.is_binary and not target.is_long:
        if kind.is_string:
            raise errors.implicit_conversion(shown(kind), target.name)
        data = _to_binary(value, kind, target, explicit=False)
        if len(data) > target.length:
            if options.ansi_warnings:
                raise errors.string_truncated(table, column, "")
            data = data[:target.length]
        return data.ljust(target.length, b"\x00") if target.name == "binary" else data
    if target.is_binary and kind.is_string:
        raise errors.implicit_conversion(shown(kind), target.name)
    return convert(value, target, kind, options, explicit=False)


# -- numbers -------------------------------------------------------------------------------------------------
def _to_integer(value: Any, kind: SqlType, target: SqlType) -> int:
    name = target.name
    if kind.is_string:
        text = value.strip() if isinstance(value, str) else str(value)
        if name == "bit" and text.upper() in ("TRUE", "FALSE"):
            return int(text.upper() == "TRUE")
        body = text[1:] if text[:1] in "+-" else text
        if not body.isdigit() or not body.isascii():
            raise errors.conversion_failed_value(shown(kind), text, name)
        number = int(text)
    elif kind.is_binary:
        number = int.from_bytes(bytes(value)[-_int_size(name):], "big", signed=name not in ("bit", "tinyint"))
    elif kind.is_date:
        if kind.name not in ("datetime", "smalldatetime"):
            raise errors.explicit_conversion(kind.name, name)
        moment = _moment_of(value, kind)
        number = math.floor(datetimes.to_number(moment) + 0.5)  # CAST(datetime AS int) rounds to the day
    elif kind.name == "uniqueidentifier":
        raise errors.explicit_conversion(kind.name, name)
    else:
        number = _whole(value)
    if name == "bit":
        return 1 if number else 0
    low, high = INTEGER_RANGES[name]
    if not low <= number <= high:
        if kind.is_integer and name in ("tinyint", "smallint"):
            raise errors.overflow_for_type(name, number)
        raise errors.arithmetic_overflow("expression" if kind.is_integer else shown(kind), name)
    return number


def _whole(value: Any) -> int:
    """A number cut toward zero (floats and decimals to integers, as SQL Server converts)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise errors.arithmetic_overflow("float", "int")
        return int(value)
    number = decimals.to_decimal(value)
    if number is None:
        raise errors.conversion_failed_value("nvarchar", str(value), "int")
    return int(number)


def _int_size(name: str) -> int:
    return {"bit": 1, "tinyint": 1, "smallint": 2, "int": 4, "bigint": 8}[name]


def _to_exact(value: Any, kind: SqlType, target: SqlType) -> str:
    name = target.name
    precision = target.precision or 18
    if kind.is_string:
        text = value.strip() if isinstance(value, str) else str(value)
        if name in ("money", "smallmoney"):
            text = _money_text(text)
        number = decimals.to_decimal(text)
        if number is None:
            if name in ("money", "smallmoney"):
                raise errors.money_syntax()
            raise errors.error_converting(shown(kind), "numeric")
    elif kind.is_date or kind.name == "uniqueidentifier":
        if kind.name not in ("datetime", "smalldatetime"):
            raise errors.explicit_conversion(kind.name, shown(target))
        number = Decimal(repr(datetimes.to_number(_moment_of(value, kind))))
    elif kind.is_binary:
        raise errors.explicit_conversion(kind.name, shown(target))
    else:
        found = decimals.to_decimal(value)
        if found is None:
            raise errors.arithmetic_overflow(shown(kind), shown(target))
        number = found
    source = shown(kind) if not kind.is_integer else "int" if kind.name != "bigint" else "bigint"
    return decimals.store(number, name, precision, target.scale, source)


def _money_text(text: str) -> str:
    """SQL Server reads money from text with a currency sign and thousands separators ('$1,234.56')."""
    body = text.strip()
    negative = body.startswith("-")
    body = body.lstrip("+-").strip()
    if body[:1] in "$€£¥":
        body = body[1:].strip()
    body = body.replace(",", "")
    return ("-" if negative else "") + body


def _to_float(value: Any, kind: SqlType, target: SqlType) -> float:
    if kind.is_string:
        text = value.strip() if isinstance(value, str) else str(value)
        try:
            number = float(text)
        except ValueError:
            raise errors.error_converting(shown(kind), "float") from None
        if not math.isfinite(number) or text.lower().lstrip("+-") in ("inf", "nan", "infinity"):
            raise errors.error_converting(shown(kind), "float")
    elif kind.is_date:
        if kind.name not in ("datetime", "smalldatetime"):
            raise errors.explicit_conversion(kind.name, target.name)
        number = datetimes.to_number(_moment_of(value, kind))
    elif kind.is_binary or kind.name == "uniqueidentifier":
        raise errors.explicit_conversion(kind.name, target.name)
    else:
        number = float(decimals.to_decimal(value) or 0) if isinstance(value, str) else float(value)
    if target.name == "real":
        try:
            return float(_F32.unpack(_F32.pack(number))[0])
        except OverflowError:
            raise errors.arithmetic_overflow(shown(kind), "real") from None
    return number


# -- strings -------------------------------------------------------------------------------------------
def to_text(value: Any, kind: SqlType, target: SqlType | None = None) -> str:  # noqa: C901 - one case per source
    """A value as text, as CAST(value AS varchar) writes it (style 0)."""
    if isinstance(value, str) and (kind.is_string or kind.name == "xml"):
        return value
    if kind.is_binary:
        data = bytes(value) if not isinstance(value, str) else value.encode("utf-8")
        if target is not None and target.is_unicode:
            return data[:len(data) // 2 * 2].decode("utf-16-le", "replace")
        return data.decode(CODE_PAGE, "replace")
    if kind.is_date:
        return datetimes.text_in_style(_moment_of(value, kind), kind, None)
    if kind.name == "uniqueidentifier":
        return str(value).upper()
    if kind.name in ("float", "real"):
        return float_text(float(value), 7 if kind.name == "real" else 6)
    if kind.name in ("money", "smallmoney"):
        number = decimals.to_decimal(value)
        return f"{number.quantize(Decimal('0.01'), rounding='ROUND_HALF_UP'):f}" if number is not None else str(value)
    if kind.is_exact:
        number = decimals.to_decimal(value)
        if number is None:
            return str(value)
        return decimals.canonical(number.quantize(Decimal(1).scaleb(-kind.scale), context=decimals.CONTEXT),
                                  kind.scale)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return float_text(value, 6)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def float_text(number: float, digits: int) -> str:
    """CAST(float AS varchar), style 0: at most six significant digits, scientific when needed, with
    SQL Server's three-digit exponent ('1.23457e+006')."""
    if number == 0:
        return "0"
    text = f"{number:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{exponent[0]}{int(exponent[1:]):03d}"
    return text


def _units(text: str, target: SqlType) -> int:
    """The length SQL Server counts: bytes of code page 1252 for char/varchar (one per character), UTF-16
    code units for nchar/nvarchar (a character outside the BMP counts two)."""
    if target.is_unicode:
        return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)
    return len(text)


def _cut(text: str, target: SqlType) -> str:
    if not target.is_unicode:
        return text[:target.length]
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > target.length:
            return text[:index]
    return text


def _finish_text(text: str, target: SqlType) -> str:
    """A string as the column keeps it: varchar in code page 1252 (characters it lacks become their base
    letter, as Windows' best fit does for accented letters, else '?'); char/nchar padded with blanks."""
    if not target.is_unicode:
        text = to_code_page(text)
    if target.is_fixed_length and len(text) < target.length:
        text = text + " " * (target.length - _units(text, target))
    return text


def to_code_page(text: str) -> str:
    try:
        text.encode(CODE_PAGE)
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for character in text:
        try:
            character.encode(CODE_PAGE)
            out.append(character)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", character)[:1]
            out.append(base if base and base.isascii() and base.isprintable() else "?")
    return "".join(out)


# -- binary, GUIDs, dates -------------------------------------------------------------------------------------
def _to_binary(value: Any, kind: SqlType, target: SqlType, explicit: bool) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if kind.is_string:
        if not explicit:
            raise errors.implicit_conversion(shown(kind), target.name)
        return str(value).encode("utf-16-le" if kind.is_unicode else CODE_PAGE, "replace")
    if kind.name == "uniqueidentifier":
        return uuid.UUID(str(value)).bytes_le
    if kind.is_integer:
        return int(value).to_bytes(_int_size(kind.name), "big", signed=kind.name not in ("bit", "tinyint"))
    raise errors.explicit_conversion(kind.name, target.name)


def _to_guid(value: Any, kind: SqlType) -> str:
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)[:16].ljust(16, b"\x00")
        return str(uuid.UUID(bytes_le=data)).upper()
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if not kind.is_string and kind.name != "uniqueidentifier":
        raise errors.explicit_conversion(kind.name, "uniqueidentifier")
    text = str(value).strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if len(text) != 36 or text.count("-") != 4 or [len(p) for p in text.split("-")] != [8, 4, 4, 4, 12]:
        raise errors.guid_conversion_failed()
    try:
        return str(uuid.UUID(text)).upper()
    except ValueError:
        raise errors.guid_conversion_failed() from None


def _moment_of(value: Any, kind: SqlType, options: Options = DEFAULT_OPTIONS) -> datetimes.Moment:
    """A date/time value (stored text, or a client's datetime) as a moment."""
    if isinstance(value, str):
        found = datetimes.read_stored(value)
        if found is not None:
            return found
        return datetimes.parse(value, kind.name if kind.is_date else "datetime2", options.dateformat)
    import datetime as dt

    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return datetimes.Moment.from_datetime(value)
    raise datetimes.BadDate()


def _to_date(value: Any, kind: SqlType, target: SqlType, options: Options, explicit: bool) -> str:
    name = target.name
    try:
        if kind.is_string:
            text = str(value)
            moment = datetimes.read_stored(text.strip())
            if moment is None or (name in ("datetime", "smalldatetime") and _too_fine(text)):
                moment = datetimes.parse(text, name, options.dateformat)
        elif kind.is_date:
            moment = _moment_of(value, kind, options)
            if kind.name == "time" and name in ("date",):
                raise errors.operand_clash(kind.name, name) if not explicit else errors.explicit_conversion(
                    kind.name, name)
            if name == "time" and kind.name == "date":
                raise errors.operand_clash(kind.name, name) if not explicit else errors.explicit_conversion(
                    kind.name, name)
            if kind.name == "datetimeoffset" and name != "datetimeoffset":
                moment = datetimes.Moment(moment.day, moment.ticks)  # the local time, without its offset
            elif name == "datetimeoffset" and kind.name != "datetimeoffset":
                moment = datetimes.Moment(moment.day, moment.ticks, 0)
        elif kind.is_number:
            if name not in ("datetime", "smalldatetime"):
                raise errors.operand_clash(shown(kind), name) if not explicit else errors.explicit_conversion(
                    shown(kind), name)
            number = decimals.to_decimal(value)
            moment = datetimes.from_number(float(number if number is not None else value), name)
        else:
            raise errors.explicit_conversion(kind.name, name) if explicit else errors.operand_clash(kind.name, name)
        result = datetimes.rounded(moment, name, target.scale)
    except datetimes.BadDate as exc:
        if exc.out_of_range and name in ("datetime", "smalldatetime"):
            raise errors.date_out_of_range(shown(kind) if kind.is_string else "varchar", name) from None
        if exc.out_of_range and kind.is_date:
            raise errors.date_out_of_range(kind.name, name) from None
        raise errors.date_conversion_failed() from None
    return datetimes.stored(result, name, target.scale)


_FRACTION = re.compile(r":\d{1,2}\.(\d+)")


def _too_fine(text: str) -> bool:
    """More than three fraction digits: a datetime refuses them in a string (datetime2 takes seven)."""
    found = _FRACTION.search(text)
    return found is not None and len(found.group(1)) > 3


def client_value(value: Any, declared_type: SqlType | None) -> Any:
    """A client's parameter value (what rpc.py decoded: Decimal, datetime, UUID …) in the stored form of
    its declared type, so that SQLite compares and stores it as it does the column values."""
    if value is None:
        return None
    if declared_type is None:
        return convert(value, source_of(value, None), None) if isinstance(value, (Decimal, bool)) else \
            (bytes(value) if isinstance(value, bytearray) else str(value).upper() if isinstance(value, uuid.UUID)
             else value)
    import datetime as dt

    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        moment = datetimes.Moment.from_datetime(value)
        if declared_type.name == "datetimeoffset" and moment.offset is None:
            moment = datetimes.Moment(moment.day, moment.ticks, 0)
        return datetimes.stored(datetimes.rounded(moment, declared_type.name, declared_type.scale),
                                declared_type.name, declared_type.scale) if declared_type.is_date else \
            convert(datetimes.stored(moment, "datetime2", 7), declared_type, SqlType("datetime2", scale=7))
    try:
        return convert(value, declared_type, source_of(value, None))
    except SqlError:  # refused where it is used, with the statement's error
        return format(value, "f") if isinstance(value, Decimal) else str(value) if isinstance(value, uuid.UUID) \
            else value


def read_date_in_style(value: str, style: int, target: SqlType) -> str:
    """CONVERT(date type, text, style): the text read in the style's layout (103 = dd/mm/yyyy …)."""
    try:
        moment = datetimes.read_in_style(value, style, target.name)
        return datetimes.stored(datetimes.rounded(moment, target.name, target.scale), target.name, target.scale)
    except datetimes.BadDate:
        raise errors.date_conversion_failed() from None


def text_in_style(value: Any, source: SqlType | None, target: SqlType, style: int) -> str:
    """CONVERT(varchar, value, style): dates in the style's layout, money with style 1's thousands
    separators or style 2's four decimals; a style means nothing to a string (it is kept as it is)."""
    kind = source_of(value, source)
    if kind.is_date:
        try:
            text = datetimes.text_in_style(_moment_of(value, kind), kind, style)
        except ValueError:
            raise errors.bad_style(style, kind.name) from None
    elif kind.name in ("money", "smallmoney") and style in (1, 2):
        number = decimals.to_decimal(value) or Decimal(0)
        text = f"{number:,.2f}" if style == 1 else f"{number:.4f}"
    else:
        text = to_text(value, kind, target)
    if not target.is_long and _units(text, target) > target.length:
        text = _cut(text, target)
    return _finish_text(text, target)
