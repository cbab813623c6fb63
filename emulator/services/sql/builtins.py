"""T-SQL built-in functions SQLite lacks, registered on every SQLite connection of the emulator.

sqlglot turns many T-SQL functions into SQLite approximations that give other answers (DATEADD on
DATE() drops the time, TRY_CAST becomes CAST and gives 0, DATEDIFF divides day counts, FORMAT has no
SQLite twin at all). The translator (models.py) rewrites those calls to the functions here, so they
follow SQL Server's documented semantics. Hand-written because neither SQLite nor sqlglot has them;
each works on the values SQLite stores (dates as ISO text).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sqlite3
import threading
import uuid
from decimal import Decimal
from typing import Any

from . import encoding, errors
from .errors import SqlError
from .sqltypes import SqlType, sql_type

_FUNCTION_ERRORS = threading.local()
WINDOW_FUNCTIONS = hasattr(sqlite3.Connection, "create_window_function")  # Python 3.11+


def _raise(error: SqlError) -> None:
    """Raise a SQL Server error from inside a SQLite function: SQLite only reports "user-defined
    function raised exception", so the error waits here for ``_sqlite_error`` to pick it up."""
    _FUNCTION_ERRORS.error = error
    raise error


def pending_function_error() -> SqlError | None:
    error: SqlError | None = getattr(_FUNCTION_ERRORS, "error", None)
    _FUNCTION_ERRORS.error = None
    return error


DATEPARTS = {
    "year": "year", "yy": "year", "yyyy": "year", "quarter": "quarter", "qq": "quarter", "q": "quarter",
    "month": "month", "mm": "month", "m": "month", "dayofyear": "dayofyear", "dy": "dayofyear", "y": "dayofyear",
    "day": "day", "dd": "day", "d": "day", "week": "week", "wk": "week", "ww": "week", "weekday": "weekday",
    "dw": "weekday", "w": "weekday", "hour": "hour", "hh": "hour", "minute": "minute", "mi": "minute",
    "n": "minute", "second": "second", "ss": "second", "s": "second", "millisecond": "millisecond",
    "ms": "millisecond", "microsecond": "microsecond", "mcs": "microsecond", "nanosecond": "nanosecond",
    "ns": "nanosecond", "iso_week": "iso_week", "isowk": "iso_week", "isoww": "iso_week", "tzoffset": "tzoffset",
    "tz": "tzoffset",
}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]  # Python's order


def datepart_name(text: str, function: str) -> str:
    """The canonical datepart for a name or abbreviation as written (``dd`` → ``day``)."""
    part = DATEPARTS.get(text.strip().strip("'\"[]").lower())
    if part is None:
        _raise(SqlError(155, f"'{text}' is not a recognized {function} option.", state=1, severity=15))
    return str(part)


def _moment(value: Any) -> dt.datetime | None:
    """A stored date/time value (ISO text, as SQLite holds it) as a datetime; None for NULL."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= 16 and ":" in value and "-" not in value:
        return dt.datetime.combine(dt.date(1900, 1, 1), encoding.to_time(value))  # a time alone
    try:
        return encoding.parse_datetime(value)
    except (ValueError, TypeError, OverflowError):
        _raise(SqlError(241, "Conversion failed when converting date and/or time from character string.",
                        state=1, severity=16))
        raise  # unreachable: _raise raises


def _stored(moment: dt.datetime, kind: str) -> str:
    """A datetime as SQLite stores values of that T-SQL type."""
    if kind == "date":
        return moment.date().isoformat()
    if kind == "time":
        return moment.time().isoformat(timespec="microseconds")
    if kind == "datetime":
        return moment.isoformat(sep=" ", timespec="milliseconds")
    return moment.isoformat(sep=" ", timespec="microseconds")


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        _raise(SqlError(517, "Adding a value to a 'datetime' column caused an overflow.", state=1, severity=16))
    last = (dt.date(year + (month == 11), (month + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last))


def tsql_dateadd(part: str, number: Any, value: Any, kind: str) -> str | None:
    """DATEADD: the other parts of the value are kept; adding months clamps to the month's last day."""
    moment = _moment(value)
    if moment is None or number is None:
        return None
    unit = datepart_name(part, "dateadd")
    amount = int(float(number))  # SQL Server truncates a fractional number
    if kind == "date" and unit in ("hour", "minute", "second", "millisecond", "microsecond", "nanosecond"):
        _raise(SqlError(9810, f"The datepart {unit} is not supported by date function dateadd for data type "
                        "date.", state=1, severity=16))
    try:
        if unit in ("year", "quarter", "month"):
            moment = _add_months(moment, amount * {"year": 12, "quarter": 3, "month": 1}[unit])
        else:
            step = {"dayofyear": dt.timedelta(days=1), "day": dt.timedelta(days=1), "weekday": dt.timedelta(days=1),
                    "week": dt.timedelta(weeks=1), "hour": dt.timedelta(hours=1), "minute": dt.timedelta(minutes=1),
                    "second": dt.timedelta(seconds=1), "millisecond": dt.timedelta(milliseconds=1),
                    "microsecond": dt.timedelta(microseconds=1), "nanosecond": dt.timedelta(0)}.get(unit)
            if step is None:
                _raise(SqlError(9810, f"The datepart {unit} is not supported by date function dateadd.", state=1))
            assert step is not None
            moment = moment + step * amount
    except OverflowError:
        _raise(SqlError(517, "Adding a value to a 'datetime' column caused an overflow.", state=1, severity=16))
    return _stored(moment, kind)


def _ticks(moment: dt.datetime, unit: str) -> int:
    """The number of ``unit`` boundaries from 0001-01-01 to the moment (DATEDIFF counts crossed boundaries)."""
    days = moment.toordinal()
    if unit == "year":
        return moment.year
    if unit == "quarter":
        return moment.year * 4 + (moment.month - 1) // 3
    if unit == "month":
        return moment.year * 12 + moment.month - 1
    if unit in ("day", "dayofyear", "weekday"):
        return days
    if unit == "week":  # weeks start on Sunday for DATEDIFF, whatever DATEFIRST says; 0001-01-01 is a Monday
        return days // 7
    seconds = days * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second
    if unit == "hour":
        return seconds // 3600
    if unit == "minute":
        return seconds // 60
    if unit == "second":
        return seconds
    if unit == "millisecond":
        return seconds * 1000 + moment.microsecond // 1000
    if unit == "microsecond":
        return seconds * 1_000_000 + moment.microsecond
    if unit == "nanosecond":
        return (seconds * 1_000_000 + moment.microsecond) * 1000
    _raise(SqlError(9810, f"The datepart {unit} is not supported by date function datediff.", state=1))
    return 0


def tsql_datediff(part: str, start: Any, end: Any, big: int) -> int | None:
    """DATEDIFF / DATEDIFF_BIG: how many datepart boundaries lie between the two values."""
    unit = datepart_name(part, "datediff")
    first, second = _moment(start), _moment(end)
    if first is None or second is None:
        return None
    result = _ticks(second, unit) - _ticks(first, unit)
    if not big and not -(2**31) <= result < 2**31:
        _raise(SqlError(535, "The datediff function resulted in an overflow. The number of dateparts separating "
                        "two date/time instances is too large. Try to use datediff with a less precise datepart.",
                        state=0, severity=16))
    return result


def tsql_datepart(part: str, value: Any) -> int | None:
    """DATEPART (and YEAR, MONTH, DAY) with SQL Server's defaults: DATEFIRST 7 (weeks start on Sunday)."""
    unit = datepart_name(part, "datepart")
    moment = _moment(value)
    if moment is None:
        return None
    if unit == "year":
        return moment.year
    if unit == "quarter":
        return (moment.month - 1) // 3 + 1
    if unit == "month":
        return moment.month
    if unit == "dayofyear":
        return moment.timetuple().tm_yday
    if unit == "day":
        return moment.day
    if unit == "weekday":
        return (moment.weekday() + 1) % 7 + 1  # Sunday = 1 … Saturday = 7
    if unit == "week":
        first = dt.date(moment.year, 1, 1)
        offset = (first.weekday() + 1) % 7  # days from the Sunday starting week 1 to 1 January
        return (moment.timetuple().tm_yday - 1 + offset) // 7 + 1
    if unit == "iso_week":
        return moment.isocalendar()[1]
    if unit == "hour":
        return moment.hour
    if unit == "minute":
        return moment.minute
    if unit == "second":
        return moment.second
    if unit == "millisecond":
        return moment.microsecond // 1000
    if unit == "microsecond":
        return moment.microsecond
    if unit == "nanosecond":
        return moment.microsecond * 1000
    return 0  # tzoffset: stored values are UTC


def tsql_datename(part: str, value: Any) -> str | None:
    unit = datepart_name(part, "datename")
    moment = _moment(value)
    if moment is None:
        return None
    if unit == "month":
        return _MONTHS[moment.month - 1]
    if unit == "weekday":
        return _WEEKDAYS[moment.weekday()]
    if unit == "tzoffset":
        return "+00:00"
    return str(tsql_datepart(unit, value))


def tsql_eomonth(value: Any, months: Any = 0) -> str | None:
    moment = _moment(value)
    if moment is None or months is None:
        return None
    moment = _add_months(moment.replace(day=1), int(float(months)))
    return (_add_months(moment, 1) - dt.timedelta(days=1)).date().isoformat()


def now_text(digits: int) -> str:
    """The current time (UTC, as Azure SQL Database's clock) with ``digits`` fractional digits (3 or 6)."""
    moment = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="milliseconds" if digits == 3 else "microseconds")


def decimal_of(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # SQLite holds decimals as floats: 15 significant digits drop the noise of float sums
        # (16902.329999999998 is 16902.33), which truncating division would otherwise keep
        return Decimal(format(value, ".15g"))
    return Decimal(str(value).strip())


def _number(value: Decimal, scale: int) -> int | float:
    """A decimal result as SQLite holds numbers (int when it has no fraction); the TDS encoder gives it
    its declared scale. Floats carry 15 significant digits exactly, enough for the values learners use."""
    return int(value) if scale == 0 else float(value)


def tsql_divide(left: Any, right: Any, scale: int) -> int | float | None:
    """Decimal division as SQL Server does it: exact, cut (not rounded) to the result's scale. SQLite
    divides the integers it stores decimals as (59.00 is 59) as integers, and floats inexactly."""
    if left is None or right is None:
        return None
    divisor = decimal_of(right)
    if divisor == 0:
        _raise(errors.divide_by_zero())
    quotient = (decimal_of(left) / divisor).quantize(Decimal(1).scaleb(-scale), rounding="ROUND_DOWN")
    return _number(quotient, scale)


def tsql_int_divide(left: Any, right: Any) -> int | None:
    """Integer division: truncated toward zero, and an error (not NULL, as SQLite gives) for zero."""
    if left is None or right is None:
        return None
    if right == 0:
        _raise(errors.divide_by_zero())
    if not isinstance(left, int) or not isinstance(right, int):
        return tsql_divide(left, right, 0)  # type: ignore[return-value]
    quotient = abs(left) // abs(right)
    return quotient if (left >= 0) == (right >= 0) else -quotient


def tsql_round(value: Any, length: Any, function: Any, kind: str) -> int | float | None:
    """ROUND(n, length [, function]): half away from zero, or cut when function is not 0; the result
    keeps n's type (``kind``: int, decimal or float)."""
    if value is None or length is None:
        return None
    digits = int(length)
    mode = "ROUND_DOWN" if function else "ROUND_HALF_UP"
    number = decimal_of(value)
    if digits >= 0:
        rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=mode)
    else:
        rounded = number.scaleb(digits).quantize(Decimal(1), rounding=mode).scaleb(-digits)
    if kind == "float":
        return float(rounded)
    return int(rounded) if kind == "int" or rounded == rounded.to_integral_value() else float(rounded)


class TsqlAverage:
    """AVG as SQL Server computes it: integers give an integer (cut), decimal(p, s) gives
    decimal(38, max(s, 6)) cut to that scale, floats a float. SQLite's AVG always gives a float."""

    def __init__(self) -> None:
        self.total: Decimal | float = Decimal(0)
        self.count = 0
        self.kind = "decimal"
        self.scale = 6

    def step(self, value: Any, kind: str, scale: int) -> None:
        self.kind, self.scale = kind, scale
        if value is None:
            return
        self.count += 1
        if kind == "float":
            self.total = float(self.total) + float(value)
        else:
            self.total = decimal_of(self.total) + decimal_of(value)

    def inverse(self, value: Any, kind: str, scale: int) -> None:  # a row leaves the window frame
        if value is None:
            return
        self.count -= 1
        if kind == "float":
            self.total = float(self.total) - float(value)
        else:
            self.total = decimal_of(self.total) - decimal_of(value)

    def value(self) -> int | float | None:  # the current frame's average
        return self.finalize()

    def finalize(self) -> int | float | None:
        if self.count == 0:
            return None
        if self.kind == "float":
            return float(self.total) / self.count
        quotient = decimal_of(self.total) / self.count
        if self.kind == "int":
            return int(quotient)  # int() cuts toward zero, as SQL Server does
        return _number(quotient.quantize(Decimal(1).scaleb(-self.scale), rounding="ROUND_DOWN"), self.scale)


_INT_RANGES = {"tinyint": (0, 255), "smallint": (-(2**15), 2**15 - 1), "int": (-(2**31), 2**31 - 1),
               "bigint": (-(2**63), 2**63 - 1)}
_INTEGER_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_DECIMAL_TEXT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$")


def tsql_convert(value: Any, target: str, strict: int) -> Any:
    """CAST/CONVERT to a number, date/time or GUID type as SQL Server converts; a value that does not
    convert is NULL for TRY_CAST/TRY_CONVERT and error 245/241/8114 for CAST/CONVERT (SQLite gives 0)."""
    if value is None:
        return None
    declared = sql_type(target)
    name = declared.name if declared else target.lower()
    try:
        result = _convert(value, name, declared)
    except (ValueError, ArithmeticError, TypeError):
        result = _FAILED
    if result is _FAILED:
        if strict:
            shown = value if not isinstance(value, float) else repr(value)
            if name in ("date", "datetime2", "datetime", "time"):
                _raise(SqlError(241, "Conversion failed when converting date and/or time from character string.",
                                state=1, severity=16))
            if isinstance(value, str):
                _raise(SqlError(245, f"Conversion failed when converting the nvarchar value '{shown}' to data "
                                f"type {name}.", state=1, severity=16))
            _raise(SqlError(8115, f"Arithmetic overflow error converting {type(value).__name__} to data type "
                            f"{name}.", state=2, severity=16))
        return None
    return result


_FAILED = object()


def _convert(value: Any, name: str, declared: SqlType | None) -> Any:  # noqa: C901 - one branch per type
    if name in _INT_RANGES or name == "bit":
        if isinstance(value, str):
            text = value.strip()
            if name == "bit" and text.lower() in ("true", "false"):
                return 1 if text.lower() == "true" else 0
            if not _INTEGER_TEXT.match(text):
                return _FAILED
            number = int(text)
        elif isinstance(value, bytes):
            number = int.from_bytes(value, "big")
        else:
            number = int(value)  # floats and decimals are cut toward zero
        if name == "bit":
            return 1 if number else 0
        low, high = _INT_RANGES[name]
        return number if low <= number <= high else _FAILED
    if name == "decimal":
        assert declared is not None
        if isinstance(value, str) and not _DECIMAL_TEXT.match(value):
            return _FAILED
        number = decimal_of(value).quantize(Decimal(1).scaleb(-declared.scale), rounding="ROUND_HALF_UP")
        if abs(number) >= Decimal(10) ** (declared.precision - declared.scale):
            return _FAILED
        return _number(number, declared.scale)
    if name in ("float", "real"):
        return float(value.strip() if isinstance(value, str) else value)
    if name in ("date", "datetime2", "time"):
        if isinstance(value, (int, float)):
            return _FAILED
        moment = encoding.parse_datetime(value) if not (isinstance(value, str) and ":" in value and "-" not in value) \
            else dt.datetime.combine(dt.date(1900, 1, 1), dt.time.fromisoformat(value.strip()))
        kind = "datetime" if declared and declared.name == "datetime2" and declared.scale == 3 else name
        return _stored(moment, kind)
    if name == "uniqueidentifier":
        return str(uuid.UUID(str(value).strip())).upper()
    if name == "nvarchar":
        text = value if isinstance(value, str) else (repr(value) if isinstance(value, float) else str(value))
        return text if declared is None or declared.length < 0 else text[:declared.length]
    return value


# -- FORMAT: .NET format strings (en-US) -------------------------------------------------------------
_DATE_TOKENS = re.compile(r"yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|f{1,7}|F{1,7}|tt|t|"
                          r"'[^']*'|\"[^\"]*\"|\\.|.", re.S)
_STANDARD_DATES = {"d": "M/d/yyyy", "D": "dddd, MMMM d, yyyy", "t": "h:mm tt", "T": "h:mm:ss tt",
                   "f": "dddd, MMMM d, yyyy h:mm tt", "F": "dddd, MMMM d, yyyy h:mm:ss tt",
                   "g": "M/d/yyyy h:mm tt", "G": "M/d/yyyy h:mm:ss tt", "s": "yyyy-MM-ddTHH:mm:ss",
                   "u": "yyyy-MM-dd HH:mm:ssZ", "m": "MMMM d", "M": "MMMM d", "y": "MMMM yyyy", "Y": "MMMM yyyy",
                   "o": "yyyy-MM-ddTHH:mm:ss.fffffff", "O": "yyyy-MM-ddTHH:mm:ss.fffffff"}
_CULTURES = {"", "en-us", "en", "invariant"}


def _format_date(moment: dt.datetime, pattern: str) -> str:
    pattern = _STANDARD_DATES.get(pattern, pattern) if len(pattern) == 1 else pattern
    out = []
    hour12 = moment.hour % 12 or 12
    fraction = f"{moment.microsecond:06d}0"
    for token in _DATE_TOKENS.findall(pattern):
        if token[0] in "'\"":
            out.append(token[1:-1])
        elif token[0] == "\\":
            out.append(token[1:])
        elif token[0] == "f":
            out.append(fraction[:len(token)])
        elif token[0] == "F":
            out.append(fraction[:len(token)].rstrip("0"))
        else:
            out.append({
                "yyyy": f"{moment.year:04d}", "yy": f"{moment.year % 100:02d}", "MMMM": _MONTHS[moment.month - 1],
                "MMM": _MONTHS[moment.month - 1][:3], "MM": f"{moment.month:02d}", "M": str(moment.month),
                "dddd": _WEEKDAYS[moment.weekday()], "ddd": _WEEKDAYS[moment.weekday()][:3],
                "dd": f"{moment.day:02d}", "d": str(moment.day), "HH": f"{moment.hour:02d}", "H": str(moment.hour),
                "hh": f"{hour12:02d}", "h": str(hour12), "mm": f"{moment.minute:02d}", "m": str(moment.minute),
                "ss": f"{moment.second:02d}", "s": str(moment.second), "tt": "AM" if moment.hour < 12 else "PM",
                "t": "A" if moment.hour < 12 else "P",
            }.get(token, token))
    return "".join(out)


_STANDARD_NUMBER = re.compile(r"^([NnFfDdPpCcGgXx])(\d{0,2})$")
_CUSTOM_NUMBER = re.compile(r"^([^#0,.%]*)([#0,]*)(?:\.([0#]*))?(%?)([^#0,.%]*)$")


def _group(digits: str) -> str:
    return f"{int(digits):,}" if digits else "0"


def _format_number(value: Any, pattern: str) -> str | None:
    number = decimal_of(value)
    found = _STANDARD_NUMBER.match(pattern)
    if found:
        letter, width = found.group(1).upper(), found.group(2)
        if letter == "P":
            return None  # en-US percent layout differs between .NET versions ("12.34 %" / "12.34%"): refused
        if letter in ("N", "F", "C"):
            digits = int(width) if width else 2
            rounded = number.quantize(Decimal(1).scaleb(-digits), rounding="ROUND_HALF_UP")
            whole, _, fraction = f"{abs(rounded):f}".partition(".")
            text = (_group(whole) if letter != "F" else whole) + ("." + fraction if digits else "")
            sign = "-" if rounded < 0 else ""
            if letter == "C":
                return f"({'$' + text})" if sign else "$" + text  # en-US currency: negative in brackets
            return sign + text
        if letter == "D":
            if number != number.to_integral_value():
                return None  # .NET refuses D for a value with a fraction; SQL Server returns NULL
            whole = str(abs(int(number))).rjust(int(width) if width else 1, "0")
            return ("-" if number < 0 else "") + whole
        if letter == "X":
            if number != number.to_integral_value():
                return None
            text = format(int(number) & (2**64 - 1) if number < 0 else int(number), "X" if found.group(1) == "X"
                          else "x")
            return text.rjust(int(width) if width else 1, "0")
        return None  # G: .NET's shortest round trip, not worth guessing
    custom = _CUSTOM_NUMBER.match(pattern)
    if not custom or not (custom.group(2) or custom.group(3)):
        return None
    prefix, whole_pattern, fraction_pattern, percent, suffix = custom.groups()
    fraction_pattern = fraction_pattern or ""
    if percent:
        number *= 100
    rounded = number.quantize(Decimal(1).scaleb(-len(fraction_pattern)), rounding="ROUND_HALF_UP")
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    fraction = fraction.ljust(len(fraction_pattern), "0")
    keep = len(fraction_pattern.rstrip("#"))  # '#' drops trailing zeros, '0' keeps them
    fraction = fraction[:keep] + fraction[keep:].rstrip("0")
    zeros = whole_pattern.replace(",", "").count("0")
    whole = whole.lstrip("0").rjust(zeros, "0")
    if "," in whole_pattern and whole:
        whole = f"{int(whole):,}".rjust(zeros + (zeros - 1) // 3, "0") if whole else whole
    text = whole + ("." + fraction if fraction else "")
    return ("-" if rounded < 0 and text.strip("0.,") else "") + prefix + text + percent + suffix


def tsql_format(value: Any, pattern: Any, culture: Any = None) -> str | None:
    """FORMAT(value, format [, culture]) for the .NET formats learners use, in en-US. A format the
    emulator cannot render is refused with an error rather than answered wrong."""
    if value is None or pattern is None:
        return None
    text = str(pattern)
    if culture is not None and str(culture).strip().lower() not in _CULTURES:
        _raise(errors.unsupported(f"FORMAT with culture '{culture}' (the emulator formats in en-US only)"))
    if isinstance(value, str) and _DECIMAL_TEXT.match(value):
        value = decimal_of(value)  # a decimal parameter arrives as text (see storage_value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        result = _format_number(value, text)
    else:
        try:
            moment = encoding.parse_datetime(value)
        except (ValueError, TypeError):
            return None  # SQL Server: FORMAT of a string is an error; of an unknown value, NULL
        result = _format_date(moment, text)
    if result is None:
        _raise(errors.unsupported(f"FORMAT with format '{text}'"))
    return result


def tsql_right(text: Any, count: Any) -> str | None:
    if text is None or count is None:
        return None
    length = int(count)
    if length < 0:
        _raise(SqlError(536, "Invalid length parameter passed to the right function.", state=1, severity=16))
    value = text if isinstance(text, str) else str(text)
    return value[-length:] if length else ""


def tsql_left(text: Any, count: Any) -> str | None:
    if text is None or count is None:
        return None
    length = int(count)
    if length < 0:
        _raise(SqlError(536, "Invalid length parameter passed to the left function.", state=1, severity=16))
    value = text if isinstance(text, str) else str(text)
    return value[:length]


# -- CONVERT styles and conversion to text ------------------------------------------------------------
_MONTH_ABBREVIATIONS = [m[:3] for m in _MONTHS]


_DATE_STYLES = {1: "{mm}/{dd}/{year}", 2: "{year}.{mm}.{dd}", 3: "{dd}/{mm}/{year}", 4: "{dd}.{mm}.{year}",
                5: "{dd}-{mm}-{year}", 6: "{dd} {mon} {year}", 7: "{mon} {dd}, {year}", 10: "{mm}-{dd}-{year}",
                11: "{year}/{mm}/{dd}", 12: "{year}{mm}{dd}"}


# SQL Server's "Date and time styles": a layout per style. Styles 1-7 and 10-12 show a two-digit year;
# 101-107 and 110-112 are the same layouts with the century.
_STYLE_LAYOUTS = {
    **{style: layout.replace("{year}", "{y2}") for style, layout in _DATE_STYLES.items()},
    **{style + 100: layout.replace("{year}", "{y4}") for style, layout in _DATE_STYLES.items()},
    0: "{mon} {day:>2} {y4} {h12:>2}:{mi}{half}", 100: "{mon} {day:>2} {y4} {h12:>2}:{mi}{half}",
    8: "{time}", 108: "{time}", 24: "{time}",
    9: "{mon} {day:>2} {y4} {h12:>2}:{mi}:{ss}:{fraction}{half}",
    109: "{mon} {day:>2} {y4} {h12:>2}:{mi}:{ss}:{fraction}{half}",
    13: "{dd} {mon} {y4} {time}:{fraction}", 113: "{dd} {mon} {y4} {time}:{fraction}",
    14: "{time}:{fraction}", 114: "{time}:{fraction}",
    20: "{y4}-{mm}-{dd} {time}", 120: "{y4}-{mm}-{dd} {time}",
    21: "{y4}-{mm}-{dd} {time}.{fraction}", 25: "{y4}-{mm}-{dd} {time}.{fraction}",
    121: "{y4}-{mm}-{dd} {time}.{fraction}",
    22: "{mm}/{dd}/{y2} {h12:>2}:{mi}:{ss} {half}",
    23: "{y4}-{mm}-{dd}",
    126: "{y4}-{mm}-{dd}T{time}{iso_fraction}", 127: "{y4}-{mm}-{dd}T{time}{iso_fraction}Z",
}


def _style_text(moment: dt.datetime, style: int, kind: str) -> str | None:
    """A date/time as text in a CONVERT style; None for a style SQL Server does not have."""
    layout = _STYLE_LAYOUTS.get(style)
    if layout is None:
        return None
    fraction = f"{moment.microsecond:06d}0"[:3 if kind == "datetime" else 7]
    return layout.format(
        y4=f"{moment.year:04d}", y2=f"{moment.year % 100:02d}", mm=f"{moment.month:02d}", dd=f"{moment.day:02d}",
        day=moment.day, mon=_MONTH_ABBREVIATIONS[moment.month - 1], h12=moment.hour % 12 or 12,
        mi=f"{moment.minute:02d}", ss=f"{moment.second:02d}",
        time=f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}", fraction=fraction,
        iso_fraction=f".{fraction}" if moment.microsecond else "", half="AM" if moment.hour < 12 else "PM")


def _default_text(moment: dt.datetime, kind: str) -> str:
    """CAST of a date/time to text (style 0 for datetime, ODBC canonical for the others)."""
    if kind == "date":
        return moment.date().isoformat()
    if kind == "time":
        return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}0"
    if kind == "datetime":
        return str(_style_text(moment, 0, kind))
    return f"{moment.isoformat(sep=' ', timespec='microseconds')}0"


_STYLE_PATTERNS = {1: "%m/%d/%y", 101: "%m/%d/%Y", 2: "%y.%m.%d", 102: "%Y.%m.%d", 3: "%d/%m/%y", 103: "%d/%m/%Y",
                   4: "%d.%m.%y", 104: "%d.%m.%Y", 5: "%d-%m-%y", 105: "%d-%m-%Y", 10: "%m-%d-%y", 110: "%m-%d-%Y",
                   11: "%y/%m/%d", 111: "%Y/%m/%d", 12: "%y%m%d", 112: "%Y%m%d"}


def tsql_to_text(value: Any, length: int, style: Any, kind: str) -> str | None:
    """CAST/CONVERT to (n)varchar(n): dates in the style's layout (or CAST's default), decimals with
    their scale (``kind`` ``decimal:<scale>``), cut to the length as SQL Server cuts."""
    if value is None:
        return None
    if kind in ("date", "datetime", "datetime2", "time") and not isinstance(value, (int, float)):
        moment = _moment(value)
        assert moment is not None
        text = _style_text(moment, int(style), kind) if style is not None else _default_text(moment, kind)
        if text is None:
            _raise(SqlError(281, f"{int(style)} is not a valid style number when converting from {kind} to a "
                            "character string.", state=1, severity=16))
            return None
    elif kind.startswith("decimal:") and isinstance(value, (int, float)):
        scale = int(kind.split(":")[1])
        text = f"{decimal_of(value).quantize(Decimal(1).scaleb(-scale), rounding='ROUND_HALF_UP'):f}"
    elif isinstance(value, float):
        text = repr(value).removesuffix(".0") if value.is_integer() and abs(value) < 1e15 else repr(value)
    elif isinstance(value, bytes):
        text = value.decode("latin-1")
    else:
        text = str(value)
    return text if length < 0 else text[:length]


def tsql_text_to_date(value: Any, style: Any, target: str, strict: int) -> str | None:
    """CONVERT(date/datetime, text, style): the text read in the style's layout (103 = dd/mm/yyyy …)."""
    if value is None:
        return None
    declared = sql_type(target)
    name = declared.name if declared else "datetime2"
    kind = "datetime" if declared and declared.name == "datetime2" and declared.scale == 3 else name
    pattern = _STYLE_PATTERNS.get(int(style)) if style is not None else None
    try:
        if pattern is not None and isinstance(value, str):
            moment = dt.datetime.strptime(value.strip().split(" ")[0], pattern)
            rest = value.strip().split(" ", 1)[1:]
            if rest:
                clock = dt.time.fromisoformat(rest[0].strip())
                moment = dt.datetime.combine(moment.date(), clock)
        else:
            moment = encoding.parse_datetime(value)
    except (ValueError, TypeError):
        if strict:
            _raise(SqlError(241, "Conversion failed when converting date and/or time from character string.",
                            state=1, severity=16))
        return None
    return _stored(moment, kind)


def register(conn: sqlite3.Connection) -> None:
    """Register the functions above on one SQLite connection (the translator calls them by these names)."""
    deterministic = {"deterministic": True}
    conn.create_function("__tsql_dateadd", 4, tsql_dateadd, **deterministic)
    conn.create_function("__tsql_datediff", 4, tsql_datediff, **deterministic)
    conn.create_function("__tsql_datepart", 2, tsql_datepart, **deterministic)
    conn.create_function("__tsql_datename", 2, tsql_datename, **deterministic)
    conn.create_function("__tsql_eomonth", -1, tsql_eomonth, **deterministic)
    conn.create_function("__tsql_format", -1, tsql_format, **deterministic)
    conn.create_function("__tsql_left", 2, tsql_left, **deterministic)
    conn.create_function("__tsql_right", 2, tsql_right, **deterministic)
    conn.create_function("__tsql_divide", 3, tsql_divide, **deterministic)
    conn.create_function("__tsql_int_divide", 2, tsql_int_divide, **deterministic)
    conn.create_function("__tsql_round", 4, tsql_round, **deterministic)
    conn.create_function("__tsql_convert", 3, tsql_convert, **deterministic)
    conn.create_function("__tsql_to_text", 4, tsql_to_text, **deterministic)
    conn.create_function("__tsql_text_to_date", 4, tsql_text_to_date, **deterministic)
    conn.create_function("__tsql_top_percent", 2, lambda count, percent: None if count is None or percent
                         is None else math.ceil(decimal_of(count) * decimal_of(percent) / 100), **deterministic)
    conn.create_function("__tsql_now", 1, now_text)
    if WINDOW_FUNCTIONS:  # Python ≥ 3.11: AVG(…) OVER (…) too
        conn.create_window_function("__tsql_avg", 3, TsqlAverage)  # type: ignore[arg-type]
    else:
        conn.create_aggregate("__tsql_avg", 3, TsqlAverage)  # type: ignore[arg-type]
