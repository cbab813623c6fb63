"""T-SQL built-in functions SQLite lacks or answers differently, registered on every SQLite connection of the
emulator (the translator, rewrite.py and operators.py, writes calls of them).

Dates work on datetimes.Moment (100 ns, as SQL Server keeps them) and return each type's stored form:
DATEADD keeps the time and clamps to the month's end, DATEDIFF counts boundaries crossed. Integer
arithmetic overflows, and division by zero is an error, as in SQL Server (SQLite gives a float or NULL).
String functions compare as the default collation does (case-insensitive: REPLACE, CHARINDEX, LIKE with
T-SQL's [a-z] patterns), UPPER/LOWER beyond ASCII, LEN without trailing blanks. Hand-written because
neither SQLite nor sqlglot has these semantics.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import datetimes, decimals, errors
from .conversions import declared
from .datetimes import TICKS_PER_SECOND, Moment
from .errors import SqlError, raise_in_function
from .formatting import tsql_format

WINDOW_FUNCTIONS = hasattr(sqlite3.Connection, "create_window_function")  # Python 3.11+

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
_MONTHS = [name.capitalize() for name in datetimes.MONTHS]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]  # Python's order
_TICKS = {"hour": 3600 * TICKS_PER_SECOND, "minute": 60 * TICKS_PER_SECOND, "second": TICKS_PER_SECOND,
          "millisecond": 10_000, "microsecond": 10, "nanosecond": 1}


def datepart_name(text: str, function: str) -> str:
    """The canonical datepart for a name or abbreviation as written (``dd`` → ``day``)."""
    part = DATEPARTS.get(text.strip().strip("'\"[]").lower())
    if part is None:
        raise_in_function(SqlError(155, f"'{text}' is not a recognized {function} option.", state=1, severity=15))
    return str(part)


def _moment(value: Any) -> Moment | None:
    """A stored date/time value (or a string SQL Server would read as datetime) as a moment; None for NULL."""
    if value is None:
        return None
    if isinstance(value, str):
        found = datetimes.read_stored(value.strip())
        if found is not None:
            return found
        try:
            return datetimes.parse(value, "datetime2")
        except datetimes.BadDate:
            raise_in_function(errors.date_conversion_failed())
    if isinstance(value, (int, float)):
        return datetimes.from_number(float(value), "datetime")
    raise_in_function(errors.date_conversion_failed())
    raise AssertionError("unreachable")


def _stored(moment: Moment, declaration: str) -> str:
    found = declared(declaration)
    name, scale = (found.name, found.scale) if found is not None else ("datetime2", 7)
    try:
        return datetimes.stored(datetimes.rounded(moment, name, scale), name, scale)
    except datetimes.BadDate:
        raise_in_function(errors.arithmetic_overflow("expression", name))
        raise


def _add_months(moment: Moment, months: int) -> Moment:
    day = moment.date
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise_in_function(SqlError(517, "Adding a value to a 'datetime' column caused an overflow.", state=1))
    last = (dt.date(year + (month == 11), (month + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
    return Moment(dt.date(year, month + 1, min(day.day, last)).toordinal(), moment.ticks, moment.offset)


def tsql_dateadd(part: str, number: Any, value: Any, declaration: str) -> str | None:
    """DATEADD: the other parts of the value are kept; adding months clamps to the month's last day."""
    moment = _moment(value)
    if moment is None or number is None:
        return None
    unit = datepart_name(part, "dateadd")
    amount = int(float(number))  # SQL Server cuts a fractional number
    found = declared(declaration)
    if found is not None and found.name == "date" and unit in _TICKS:
        raise_in_function(SqlError(9810, f"The datepart {unit} is not supported by date function dateadd for data "
                                   "type date.", state=1))
    if unit in ("year", "quarter", "month"):
        moment = _add_months(moment, amount * {"year": 12, "quarter": 3, "month": 1}[unit])
    elif unit in ("dayofyear", "day", "weekday", "week"):
        moment = Moment(moment.day + amount * (7 if unit == "week" else 1), moment.ticks, moment.offset)
    elif unit in _TICKS:
        total = moment.ticks + amount * _TICKS[unit]
        days, ticks = divmod(total, datetimes.TICKS_PER_DAY)
        moment = Moment(moment.day + days, ticks, moment.offset)
    else:
        raise_in_function(SqlError(9810, f"The datepart {unit} is not supported by date function dateadd.", state=1))
    if not datetimes.FIRST_DAY <= moment.day <= datetimes.LAST_DAY:
        raise_in_function(SqlError(517, "Adding a value to a 'datetime' column caused an overflow.", state=1))
    return _stored(moment, declaration)


def _boundaries(moment: Moment, unit: str) -> int:
    """The number of ``unit`` boundaries from 0001-01-01 to the moment (DATEDIFF counts crossed boundaries)."""
    day = moment.date
    if unit == "year":
        return day.year
    if unit == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    if unit == "month":
        return day.year * 12 + day.month - 1
    if unit in ("day", "dayofyear", "weekday"):
        return moment.day
    if unit == "week":  # weeks start on Sunday for DATEDIFF, whatever DATEFIRST says; 0001-01-01 is a Monday
        return moment.day // 7
    ticks = moment.day * datetimes.TICKS_PER_DAY + moment.ticks
    if unit in _TICKS:
        return ticks // _TICKS[unit]
    raise_in_function(SqlError(9810, f"The datepart {unit} is not supported by date function datediff.", state=1))
    return 0


def tsql_datediff(part: str, start: Any, end: Any, big: int) -> int | None:
    """DATEDIFF / DATEDIFF_BIG: how many datepart boundaries lie between the two values."""
    unit = datepart_name(part, "datediff")
    first, second = _moment(start), _moment(end)
    if first is None or second is None:
        return None
    if first.offset is not None:  # datetimeoffset: compared in UTC
        first = Moment(*first.utc())
    if second.offset is not None:
        second = Moment(*second.utc())
    result = _boundaries(second, unit) - _boundaries(first, unit)
    if not big and not -(2**31) <= result < 2**31:
        raise_in_function(SqlError(535, "The datediff function resulted in an overflow. The number of dateparts "
                                   "separating two date/time instances is too large. Try to use datediff with a "
                                   "less precise datepart.", state=0))
    return result


def tsql_datepart(part: str, value: Any, datefirst: int = 7) -> int | None:
    """DATEPART (and YEAR, MONTH, DAY); weekday and week counted from the session's DATEFIRST."""
    unit = datepart_name(part, "datepart")
    moment = _moment(value)
    if moment is None:
        return None
    day = moment.date
    seconds, rest = divmod(moment.ticks, TICKS_PER_SECOND)
    if unit == "year":
        return day.year
    if unit == "quarter":
        return (day.month - 1) // 3 + 1
    if unit == "month":
        return day.month
    if unit == "dayofyear":
        return day.timetuple().tm_yday
    if unit == "day":
        return day.day
    if unit == "weekday":  # ISO weekday 1 (Monday) … 7 (Sunday), counted from DATEFIRST
        return (day.isoweekday() - datefirst) % 7 + 1
    if unit == "week":
        first = dt.date(day.year, 1, 1)
        offset = (first.isoweekday() - datefirst) % 7  # days from the week's first day to 1 January
        return (day.timetuple().tm_yday - 1 + offset) // 7 + 1
    if unit == "iso_week":
        return day.isocalendar()[1]
    if unit == "hour":
        return seconds // 3600
    if unit == "minute":
        return seconds // 60 % 60
    if unit == "second":
        return seconds % 60
    if unit == "millisecond":
        return rest // 10_000
    if unit == "microsecond":
        return rest // 10
    if unit == "nanosecond":
        return rest * 100
    return moment.offset or 0  # tzoffset


def tsql_datename(part: str, value: Any) -> str | None:
    unit = datepart_name(part, "datename")
    moment = _moment(value)
    if moment is None:
        return None
    if unit == "month":
        return _MONTHS[moment.date.month - 1]
    if unit == "weekday":
        return _WEEKDAYS[moment.date.weekday()]
    if unit == "tzoffset":
        offset = moment.offset or 0
        return f"{'-' if offset < 0 else '+'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return str(tsql_datepart(unit, value))


def tsql_eomonth(value: Any, months: Any = 0) -> str | None:
    moment = _moment(value)
    if moment is None or months is None:
        return None
    first = Moment(moment.date.replace(day=1).toordinal())
    following = _add_months(first, int(float(months)) + 1)
    return dt.date.fromordinal(following.day - 1).isoformat()


def now_text(declaration: str) -> str:
    """The current time (UTC, as Azure SQL Database's clock) in the stored form of the clock function's
    type: GETDATE() is datetime (1/300 s), SYSDATETIME() datetime2(7), SYSDATETIMEOFFSET() +00:00."""
    current = dt.datetime.now(dt.timezone.utc)
    found = declared(declaration)
    moment = Moment.from_datetime(current.replace(tzinfo=None), 0 if found and found.name == "datetimeoffset"
                                  else None)
    return _stored(moment, declaration)


def compare_instant(left: Any, right: Any) -> int | None:
    """Two datetimeoffset values by their UTC instant (-1, 0, 1)."""
    first, second = _moment(left), _moment(right)
    if first is None or second is None:
        return None
    a, b = first.utc(), second.utc()
    return (a > b) - (a < b)


def collate_instant(left: str, right: str) -> int:
    """The TSQL_DATETIMEOFFSET collation: datetimeoffset texts in UTC order."""
    first, second = datetimes.read_stored(left), datetimes.read_stored(right)
    if first is None or second is None:
        return (left > right) - (left < right)
    a, b = first.utc(), second.utc()
    return (a > b) - (a < b)


def collate_guid(left: str, right: str) -> int:
    """The TSQL_GUID collation: SQL Server orders uniqueidentifier by bytes 10-15, then 8-9, 6-7, 4-5, 0-3."""
    def key(text: str) -> tuple[str, ...]:
        upper = text.upper()
        return upper[24:36], upper[19:23], upper[14:18], upper[9:13], upper[0:8]
    a, b = key(left), key(right)
    return (a > b) - (a < b)


def collate_padded(left: str, right: str) -> int:
    """The TSQL_PADDED collation (char/nchar): case-insensitive, trailing blanks ignored, as SQL Server
    compares strings."""
    a, b = left.rstrip(" ").casefold(), right.rstrip(" ").casefold()
    return (a > b) - (a < b)


# -- numbers ---------------------------------------------------------------------------------------------
_INT_LIMITS = {"tinyint": (0, 255), "smallint": (-(2**15), 2**15 - 1), "int": (-(2**31), 2**31 - 1),
               "bigint": (-(2**63), 2**63 - 1), "bit": (-(2**31), 2**31 - 1)}


def int_check(value: Any, type_name: str) -> Any:
    """An integer result within its type, else SQL Server's overflow (220 for tinyint and smallint)."""
    if value is None:
        return None
    if isinstance(value, float):  # SQLite went past 64 bits
        raise_in_function(errors.arithmetic_overflow("expression", type_name))
    low, high = _INT_LIMITS.get(type_name, _INT_LIMITS["int"])
    if not low <= value <= high:
        if type_name in ("tinyint", "smallint"):
            raise_in_function(errors.overflow_for_type(type_name, value))
        raise_in_function(errors.arithmetic_overflow("expression", type_name))
    return value


def _integer(value: Any) -> int:
    if isinstance(value, int):
        return value
    number = decimals.to_decimal(value)
    if number is None:
        raise_in_function(errors.conversion_failed_value("varchar", str(value), "int"))
    return int(number)  # type: ignore[arg-type]


def int_divide(left: Any, right: Any, type_name: str = "int") -> int | None:
    """Integer division: cut toward zero, and an error (not NULL, as SQLite gives) for zero."""
    if left is None or right is None:
        return None
    a, b = _integer(left), _integer(right)
    if b == 0:
        raise_in_function(errors.divide_by_zero())
    quotient = abs(a) // abs(b)
    return int_check(quotient if (a >= 0) == (b >= 0) else -quotient, type_name)


def int_mod(left: Any, right: Any) -> int | None:
    if left is None or right is None:
        return None
    a, b = _integer(left), _integer(right)
    if b == 0:
        raise_in_function(errors.divide_by_zero())
    return int(math.fmod(a, b)) if abs(a) < 2**53 else a - b * int(Decimal(a) / Decimal(b))


def float_divide(left: Any, right: Any) -> float | None:
    if left is None or right is None:
        return None
    divisor = float(right)
    if divisor == 0:
        raise_in_function(errors.divide_by_zero())
    return float(left) / divisor


def divide_any(left: Any, right: Any) -> Any:
    """/ of values whose types the statement does not tell: integers cut, anything else as floats."""
    if left is None or right is None:
        return None
    if isinstance(left, int) and isinstance(right, int):
        return int_divide(left, right, "bigint")
    return float_divide(left, right)


def mod_any(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if isinstance(left, int) and isinstance(right, int):
        return int_mod(left, right)
    if float(right) == 0:
        raise_in_function(errors.divide_by_zero())
    return math.fmod(float(left), float(right))


def tsql_round(value: Any, length: Any, function: Any, declaration: str) -> Any:
    """ROUND(n, length [, function]): half away from zero, or cut when function is not 0; the result keeps
    n's type (an exact value its scale)."""
    if value is None or length is None:
        return None
    digits = int(length)
    mode = "ROUND_DOWN" if function else "ROUND_HALF_UP"
    found = declared(declaration)
    number = decimals.to_decimal(value)
    if number is None:
        raise_in_function(decimals.not_a_number(value))
    assert number is not None
    if digits >= 0:
        rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=mode, context=decimals.CONTEXT)
    else:
        exact = decimals.CONTEXT
        rounded = number.scaleb(digits, context=exact).quantize(Decimal(1), rounding=mode, context=exact).scaleb(
            -digits, context=exact)
    if found is None:
        return int(rounded) if rounded == rounded.to_integral_value() and not isinstance(value, float) \
            else float(rounded)
    if found.name in ("float", "real"):
        return float(rounded)
    if found.is_integer:
        return int_check(int(rounded), found.name)
    try:
        return decimals.store(rounded, found.name, found.precision, found.scale, "expression")
    except SqlError as exc:
        raise_in_function(exc)
        raise


class TsqlAverage:
    """AVG of integers as SQL Server computes it: an integer, cut toward zero (SQLite's AVG gives a float)."""

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    def step(self, value: Any, kind: str, scale: int) -> None:
        if value is not None:
            self.total += _integer(value)
            self.count += 1

    def inverse(self, value: Any, kind: str, scale: int) -> None:  # a row leaves the window frame
        if value is not None:
            self.total -= _integer(value)
            self.count -= 1

    def value(self) -> int | None:
        return self.finalize()

    def finalize(self) -> int | None:
        if self.count == 0:
            return None
        quotient = abs(self.total) // self.count
        return quotient if self.total >= 0 else -quotient


# -- strings -----------------------------------------------------------------------------------------------
def tsql_len(value: Any) -> int | None:
    """LEN: characters without trailing blanks (UTF-16 units: a character outside the BMP counts two, as
    in SQL Server's non-SC collations); a number as its text."""
    if value is None:
        return None
    text = value if isinstance(value, str) else value.hex() if isinstance(value, bytes) else str(value)
    text = text.rstrip(" ")
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def tsql_datalength(value: Any, declaration: str) -> int | None:
    """DATALENGTH: bytes — one per character of varchar (code page 1252), two per UTF-16 unit of nvarchar."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return len(value)
    found = declared(declaration)
    if found is not None and found.is_string and not found.is_unicode:
        return len(str(value))
    if found is not None and found.is_number:
        return {"bit": 1, "tinyint": 1, "smallint": 2, "int": 4, "bigint": 8, "real": 4, "float": 8, "money": 8,
                "smallmoney": 4}.get(found.name, 5 if found.precision <= 9 else 9 if found.precision <= 19 else
                                     13 if found.precision <= 28 else 17)
    if found is not None and found.is_date:
        return {"date": 3, "datetime": 8, "smalldatetime": 4}.get(found.name, 8)
    return len(str(value).encode("utf-16-le", "surrogatepass"))


def tsql_right(text: Any, count: Any) -> str | None:
    if text is None or count is None:
        return None
    length = int(count)
    if length < 0:
        raise_in_function(SqlError(536, "Invalid length parameter passed to the right function.", state=1))
    value = text if isinstance(text, str) else str(text)
    return value[-length:] if length else ""


def tsql_left(text: Any, count: Any) -> str | None:
    if text is None or count is None:
        return None
    length = int(count)
    if length < 0:
        raise_in_function(SqlError(536, "Invalid length parameter passed to the left function.", state=1))
    value = text if isinstance(text, str) else str(text)
    return value[:length]


def tsql_replace(text: Any, find: Any, replacement: Any) -> str | None:
    """REPLACE under a case-insensitive collation: 'ABC' with 'b' → x is 'AxC'."""
    if text is None or find is None or replacement is None:
        return None
    if find == "":
        return str(text)
    return re.sub(re.escape(str(find)), lambda _: str(replacement), str(text), flags=re.IGNORECASE)


def tsql_instr(text: Any, find: Any) -> int | None:
    """CHARINDEX's core (sqlglot writes it as INSTR(text, find)), case-insensitive."""
    if text is None or find is None:
        return None
    return str(text).casefold().find(str(find).casefold()) + 1


@functools.lru_cache(maxsize=256)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern[str]:
    """A T-SQL LIKE pattern as a regular expression: % _ [abc] [a-z] [^a], an ESCAPE character."""
    out, index = [], 0
    while index < len(pattern):
        character = pattern[index]
        if escape is not None and character == escape and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if character == "%":
            out.append(".*")
        elif character == "_":
            out.append(".")
        elif character == "[":
            end = pattern.find("]", index + 2)
            if end < 0:
                out.append(re.escape(character))
            else:
                body = pattern[index + 1:end]
                negate = body.startswith("^")
                body = body[1:] if negate else body
                out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
                index = end + 1
                continue
        else:
            out.append(re.escape(character))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def tsql_like(pattern: Any, text: Any, escape: Any = None) -> int | None:
    """SQLite's like(pattern, text[, escape]) with T-SQL's pattern language and case-insensitive collation."""
    if pattern is None or text is None:
        return None
    value = text if isinstance(text, str) else str(text)
    return int(_like_pattern(str(pattern), escape).fullmatch(value) is not None)


def tsql_isnumeric(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (int, float)):
        return 1
    text = str(value).strip().lstrip("$").replace(",", "")
    try:
        float(text)
    except ValueError:
        return 0
    return int(bool(text) and text.lower() not in ("nan", "inf", "-inf", "infinity"))


def tsql_isdate(value: Any) -> int:
    if value is None or not isinstance(value, str):
        return 0
    try:
        datetimes.rounded(datetimes.parse(value, "datetime"), "datetime")
    except (datetimes.BadDate, ValueError):
        return 0
    return 1


def tsql_ascii(value: Any) -> int | None:
    """ASCII(): the code of the first character in varchar's code page (1252), '?' (63) for one it lacks; NULL for
    an empty string. SQLite has no ascii()."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[0].encode("cp1252", errors="replace")[0] if text else None


def tsql_str(value: Any, length: Any = 10, decimals: Any = 0) -> str | None:
    """STR(float [, length [, decimals]]): the number rounded to ``decimals`` (at most 16), right-justified in
    ``length`` characters; asterisks when its whole part does not fit, as SQL Server does."""
    if value is None or length is None or decimals is None:
        return None
    width, places = int(length), max(0, min(int(decimals), 16))
    if not 0 < width <= 8000:
        return None
    number = Decimal(repr(float(value)))

    def rounded(digits: int) -> str:  # half away from zero, as SQL Server rounds (Python's format rounds to even)
        return str(number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))

    text = rounded(places)
    while len(text) > width and places > 0:  # fewer decimals first, then give up
        places -= 1
        text = rounded(places)
    return "*" * width if len(text) > width else text.rjust(width)


def register(conn: sqlite3.Connection) -> None:
    """Register the functions above on one SQLite connection (the rewrite calls them by these names)."""
    deterministic = {"deterministic": True}
    functions: list[tuple[str, int, Any]] = [
        ("__tsql_dateadd", 4, tsql_dateadd), ("__tsql_datediff", 4, tsql_datediff),
        ("__tsql_datename", 2, tsql_datename), ("__tsql_eomonth", -1, tsql_eomonth),
        ("__tsql_format", -1, tsql_format), ("__tsql_left", 2, tsql_left), ("__tsql_right", 2, tsql_right),
        ("__tsql_int_check", 2, int_check), ("__tsql_int_divide", 3, int_divide), ("__tsql_int_mod", 2, int_mod),
        ("__tsql_float_divide", 2, float_divide), ("__tsql_divide_any", 2, divide_any),
        ("__tsql_mod_any", 2, mod_any), ("__tsql_round", 4, tsql_round), ("__tsql_len", 1, tsql_len),
        ("__tsql_datalength", 2, tsql_datalength), ("__tsql_compare_instant", 2, compare_instant),
        ("replace", 3, tsql_replace), ("instr", 2, tsql_instr), ("like", 2, tsql_like), ("like", 3, tsql_like),
        ("upper", 1, lambda v: None if v is None else str(v).upper()),
        ("lower", 1, lambda v: None if v is None else str(v).lower()),
        ("isnumeric", 1, tsql_isnumeric), ("isdate", 1, tsql_isdate), ("ascii", 1, tsql_ascii),
        ("str", 1, tsql_str), ("str", 2, tsql_str), ("str", 3, tsql_str),
    ]
    for name, arguments, function in functions:
        conn.create_function(name, arguments, function, **deterministic)
    conn.create_function("__tsql_top_percent", 2, lambda count, percent: None if count is None or percent
                         is None else math.ceil(Decimal(count) * Decimal(str(percent)) / 100), **deterministic)
    conn.create_function("__tsql_now", 1, now_text)
    conn.create_collation("TSQL_DATETIMEOFFSET", collate_instant)
    conn.create_collation("TSQL_GUID", collate_guid)
    conn.create_collation("TSQL_PADDED", collate_padded)
    decimals.register(conn, WINDOW_FUNCTIONS)
    if WINDOW_FUNCTIONS:  # Python ≥ 3.11: AVG(…) OVER (…) too
        conn.create_window_function("__tsql_avg", 3, TsqlAverage)  # type: ignore[arg-type]
    else:
        conn.create_aggregate("__tsql_avg", 3, TsqlAverage)  # type: ignore[arg-type]
