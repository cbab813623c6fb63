""".NET format strings for T-SQL's FORMAT(value, format [, culture]) in en-US: the standard and custom
numeric formats (N2, C, D3, #,##0.00 …) and date formats (yyyy-MM-dd, MMMM d, yyyy, o …) learners use.
A format the emulator cannot render is refused with an error naming it rather than answered wrong.
Hand-written: no Python library renders .NET format strings.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from . import datetimes, decimals, errors
from .errors import raise_in_function

_MONTHS = [name.capitalize() for name in datetimes.MONTHS]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]  # Python's order


_DATE_TOKENS = re.compile(r"yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|f{1,7}|F{1,7}|tt|t|"
                          r"'[^']*'|\"[^\"]*\"|\\.|.", re.S)
_STANDARD_DATES = {"d": "M/d/yyyy", "D": "dddd, MMMM d, yyyy", "t": "h:mm tt", "T": "h:mm:ss tt",
                   "f": "dddd, MMMM d, yyyy h:mm tt", "F": "dddd, MMMM d, yyyy h:mm:ss tt",
                   "g": "M/d/yyyy h:mm tt", "G": "M/d/yyyy h:mm:ss tt", "s": "yyyy-MM-ddTHH:mm:ss",
                   "u": "yyyy-MM-dd HH:mm:ssZ", "m": "MMMM d", "M": "MMMM d", "y": "MMMM yyyy", "Y": "MMMM yyyy",
                   "o": "yyyy-MM-ddTHH:mm:ss.fffffff", "O": "yyyy-MM-ddTHH:mm:ss.fffffff"}
_CULTURES = {"", "en-us", "en", "invariant"}


def _format_date(moment: dt.datetime, fraction: str, pattern: str) -> str:
    """``fraction``: the seconds' fraction as seven digits (100 ns, which datetime does not hold)."""
    pattern = _STANDARD_DATES.get(pattern, pattern) if len(pattern) == 1 else pattern
    out = []
    hour12 = moment.hour % 12 or 12
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
    number = decimals.to_decimal(value)
    if number is None:
        return None
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
        raise_in_function(errors.unsupported(f"FORMAT with culture '{culture}' (the emulator formats in en-US only)"))
    number = decimals.to_decimal(value) if not isinstance(value, bytes) else None
    if number is not None:  # exact values are stored as text: a number either way
        result = _format_number(number, text)
    else:
        moment = datetimes.read_stored(value.strip()) if isinstance(value, str) else None
        if moment is None:
            return None  # SQL Server: FORMAT of a string is an error; of an unknown value, NULL
        result = _format_date(moment.to_datetime(), f"{moment.ticks % datetimes.TICKS_PER_SECOND:07d}", text)
    if result is None:
        raise_in_function(errors.unsupported(f"FORMAT with format '{text}'"))
    return result
