"""Dates and times as SQL Server defines them: the string formats it reads, each type's range and rounding,
and the one fixed-width text form each type is stored in (so that text order is time order).

A value is a ``Moment``: a day (proleptic Gregorian ordinal), the time of day in 100 ns ticks (SQL
Server's finest unit, scale 7) and, for datetimeoffset, the offset in minutes (the day and time are
then the local ones, as SQL Server shows them). Python's datetime holds microseconds only, so the
emulator does not keep values in it.

Stored forms: date 'YYYY-MM-DD'; time(n) 'hh:mm:ss[.n digits]'; datetime2(n) 'YYYY-MM-DD hh:mm:ss[.n
digits]'; datetime 'YYYY-MM-DD hh:mm:ss.fff' (rounded to 1/300 s, shown as SQL Server shows it: .000,
.003, .007); smalldatetime 'YYYY-MM-DD hh:mm:00'; datetimeoffset(n) datetime2(n)'s form + ' +hh:mm'.

Strings are read as SQL Server reads them ("Date and time types", "datetime": supported string literal
formats): ISO 8601 ('2024-03-04T10:00:00.123', '20240304'), numeric formats in the session's DATEFORMAT
order with '/', '-' or '.' and two- or four-digit years (two-digit years by the cutoff 2049), unpadded
parts ('2011-12-4 10:04:23'), month names ('Apr 15 1996', '15 April 1996'), times with AM/PM, a
colon before datetime's milliseconds ('10:00:00:123'), and offsets ('Z', '+05:30'). Hand-written:
no library reads SQL Server's formats.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

TICKS_PER_SECOND = 10_000_000
TICKS_PER_DAY = 86400 * TICKS_PER_SECOND
FIRST_DAY = dt.date(1, 1, 1).toordinal()
LAST_DAY = dt.date(9999, 12, 31).toordinal()
DAY_1900 = dt.date(1900, 1, 1).toordinal()
DATETIME_FIRST = dt.date(1753, 1, 1).toordinal()
SMALLDATETIME_LAST = dt.date(2079, 6, 6).toordinal()
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
_MONTH_NUMBERS = {**{name: index + 1 for index, name in enumerate(MONTHS)},
                  **{name[:3]: index + 1 for index, name in enumerate(MONTHS)}, "sept": 9}


class BadDate(ValueError):
    """A string that is no date of the type (SQL Server: 241), or a date outside its range (242 for
    datetime and smalldatetime, 241 for the others); ``out_of_range`` tells which."""

    def __init__(self, out_of_range: bool = False) -> None:
        super().__init__("out of range" if out_of_range else "not a date")
        self.out_of_range = out_of_range


@dataclass(frozen=True)
class Moment:
    day: int            # date.toordinal()
    ticks: int = 0      # 100 ns since midnight
    offset: int | None = None  # minutes east of UTC (datetimeoffset only)

    @property
    def date(self) -> dt.date:
        return dt.date.fromordinal(self.day)

    def utc(self) -> tuple[int, int]:
        """(day, ticks) in UTC: for ordering and the wire (datetimeoffset is sent in UTC)."""
        total = self.day * TICKS_PER_DAY + self.ticks - (self.offset or 0) * 60 * TICKS_PER_SECOND
        return divmod(total, TICKS_PER_DAY)

    def to_datetime(self) -> dt.datetime:
        """As a Python datetime (microseconds: the last tick digit is dropped), naive local time."""
        seconds, rest = divmod(self.ticks, TICKS_PER_SECOND)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return dt.datetime.combine(self.date, dt.time(hour, minute, second, rest // 10))

    @classmethod
    def from_datetime(cls, value: dt.datetime | dt.date | dt.time, offset: int | None = None) -> Moment:
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None and offset is None:
                delta = value.utcoffset()
                offset = int(delta.total_seconds() // 60) if delta is not None else 0
            return cls(value.toordinal(), _clock_ticks(value.time()), offset)
        if isinstance(value, dt.date):
            return cls(value.toordinal(), 0, offset)
        return cls(DAY_1900, _clock_ticks(value), offset)


def _clock_ticks(clock: dt.time) -> int:
    return ((clock.hour * 3600 + clock.minute * 60 + clock.second) * 1_000_000 + clock.microsecond) * 10


# -- rounding to a type ------------------------------------------------------------------------------
def rounded(moment: Moment, type_name: str, scale: int = 7) -> Moment:
    """The moment as a value of the type: datetime to 1/300 s, smalldatetime to the minute (29.999 s and
    more round up), time/datetime2/datetimeoffset to ``scale`` digits (half up); a day carried over when
    rounding reaches midnight (time wraps); the range checked (``BadDate(out_of_range=True)``)."""
    day, ticks, offset = moment.day, moment.ticks, moment.offset
    if type_name == "date":
        ticks, offset = 0, None
    elif type_name == "datetime":
        ticks = _round_datetime(ticks)
        offset = None
    elif type_name == "smalldatetime":
        minute = 60 * TICKS_PER_SECOND
        ticks = (ticks // minute + (ticks % minute >= 299_990_000)) * minute  # 29.999 s and more round up
        offset = None
    else:
        unit = 10 ** (7 - scale)
        ticks = (ticks + unit // 2) // unit * unit if unit > 1 else ticks
        if type_name != "datetimeoffset":
            offset = None
    if ticks >= TICKS_PER_DAY:
        ticks -= TICKS_PER_DAY
        if type_name != "time":
            day += 1
    if type_name == "time":
        day = DAY_1900
    _check_range(day, ticks, type_name)
    return Moment(day, ticks, offset)


def _round_datetime(ticks: int) -> int:
    """datetime keeps 1/300 s: the nearest 1/300 (half up), back in 100 ns ticks (exact for display)."""
    three_hundredths = (ticks * 300 + TICKS_PER_SECOND // 2) // TICKS_PER_SECOND
    return three_hundredths * TICKS_PER_SECOND // 300 + (1 if three_hundredths * TICKS_PER_SECOND % 300 else 0)


def datetime_units(ticks: int) -> int:
    """The 1/300 s units of a datetime's (already rounded) time of day: what the wire carries."""
    return (ticks * 300 + TICKS_PER_SECOND // 2) // TICKS_PER_SECOND


def _check_range(day: int, ticks: int, type_name: str) -> None:
    if type_name == "datetime" and not DATETIME_FIRST <= day <= LAST_DAY:
        raise BadDate(out_of_range=True)
    if type_name == "smalldatetime" and not DAY_1900 <= day <= SMALLDATETIME_LAST:
        raise BadDate(out_of_range=True)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadDate(out_of_range=True)


# -- stored text ----------------------------------------------------------------------------------------
def _clock_text(ticks: int, digits: int) -> str:
    seconds, rest = divmod(ticks, TICKS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    text = f"{hour:02d}:{minute:02d}:{second:02d}"
    if digits:
        text += "." + f"{rest:07d}"[:digits]
    return text


def _offset_text(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def stored(moment: Moment, type_name: str, scale: int = 7) -> str:
    """The stored text of a moment already rounded to the type (see the module docstring)."""
    if type_name == "time":
        return _clock_text(moment.ticks, scale)
    day = dt.date.fromordinal(moment.day).isoformat()
    if type_name == "date":
        return day
    if type_name == "datetime":
        units = datetime_units(moment.ticks)
        seconds, part = divmod(units, 300)
        milliseconds = (part * 10 + 1) // 3  # 1/300 s shown in ms: .000 .003 .007 …
        return f"{day} {_clock_text(seconds * TICKS_PER_SECOND, 0)}.{milliseconds:03d}"
    if type_name == "smalldatetime":
        return f"{day} {_clock_text(moment.ticks, 0)}"
    text = f"{day} {_clock_text(moment.ticks, scale)}"
    if type_name == "datetimeoffset":
        text += " " + _offset_text(moment.offset or 0)
    return text


_STORED = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?)?"
                     r"(?:\s*(Z|[+-]\d\d:\d\d))?$")
_STORED_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?$")


def read_stored(text: str) -> Moment | None:
    """A stored (canonical) text back as a moment; None for anything else (then ``parse`` reads it)."""
    found = _STORED.match(text)
    if found is not None:
        year, month, day, hour, minute, second, fraction, zone = found.groups()
        try:
            ordinal = dt.date(int(year), int(month), int(day)).toordinal()
        except ValueError:
            return None
        ticks = 0
        if hour is not None:
            if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
                return None
            ticks = (int(hour) * 3600 + int(minute) * 60 + int(second)) * TICKS_PER_SECOND + int(
                (fraction or "").ljust(7, "0"))
        return Moment(ordinal, ticks, _zone_minutes(zone) if zone else None)
    found = _STORED_TIME.match(text)
    if found is not None:
        hour, minute, second, fraction = found.groups()
        if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
            return None
        return Moment(DAY_1900, (int(hour) * 3600 + int(minute) * 60 + int(second)) * TICKS_PER_SECOND
                      + int((fraction or "").ljust(7, "0")))
    return None


def _zone_minutes(zone: str) -> int:
    if zone.upper() == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = zone[1:].split(":")
    return sign * (int(hours) * 60 + int(minutes))


# -- reading strings as SQL Server does --------------------------------------------------------------
_ZONE = re.compile(r"\s*(Z|[+-]\d{1,2}:\d{2})$", re.I)
_TIME = re.compile(r"(?:^|(?<=[\sT]))(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:([.:])(\d+))?)?\s*([AP]M)?$|"
                   r"(?:^|(?<=\s))(\d{1,2})\s*([AP]M)$", re.I)
_ISO_T = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(.+)$", re.I)
_UNSEPARATED = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_FIRST = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,4})([-/.])(\d{1,2})\2(\d{1,4})$")
_WORDS = re.compile(r"[A-Za-z]+|\d+")


def parse(text: str, type_name: str = "datetime2", dateformat: str = "mdy") -> Moment:
    """A string as a value of the date/time type ``type_name`` reads it (not yet rounded: see
    ``rounded``). Raises ``BadDate``."""
    value = text.strip()
    if not value:
        return Moment(DAY_1900)  # '' converts to 1900-01-01 00:00, as in SQL Server
    offset = None
    zone = _ZONE.search(value)
    if zone and (zone.group(1).upper() == "Z" or ":" in value[:zone.start()]):  # an offset after a time
        if type_name in ("datetime", "smalldatetime"):
            raise BadDate()
        offset = 0 if zone.group(1).upper() == "Z" else _zone_minutes(_pad_zone(zone.group(1)))
        if abs(offset) > 14 * 60:
            raise BadDate()
        value = value[:zone.start()].strip()
    iso = _ISO_T.match(value)
    if iso:
        year, month, day, clock = iso.groups()
        ticks = _parse_clock(clock, type_name)
        if ticks is None:
            raise BadDate()
        return Moment(_ordinal(int(year), int(month), int(day), type_name), ticks, offset)
    clock_match = _TIME.search(value)
    ticks = 0
    if clock_match:
        parsed = _parse_clock(clock_match.group(0).strip(), type_name)
        if parsed is None:
            raise BadDate()
        ticks = parsed
        value = value[:clock_match.start()].strip()
    if not value:
        return Moment(DAY_1900, ticks, offset)
    if type_name == "time":
        raise BadDate()
    return Moment(_parse_day(value, type_name, dateformat), ticks, offset)


def _pad_zone(zone: str) -> str:
    sign, rest = zone[0], zone[1:]
    hours, minutes = rest.split(":")
    return f"{sign}{int(hours):02d}:{minutes}"


def _parse_clock(text: str, type_name: str) -> int | None:
    found = _TIME.fullmatch(text.strip())
    if found is None:
        return None
    if found.group(7) is not None:  # '10 AM'
        hour, minute, second, fraction, separator, half = int(found.group(7)), 0, 0, "", ".", found.group(8)
    else:
        hour, minute = int(found.group(1)), int(found.group(2))
        second = int(found.group(3) or 0)
        separator, fraction, half = found.group(4) or ".", found.group(5) or "", found.group(6)
    if half:
        if not 1 <= hour <= 12 and not (hour == 0 and half.upper() == "AM"):
            return None
        hour = hour % 12 + (12 if half.upper() == "PM" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    if separator == ":":  # '10:00:00:123': milliseconds after a colon
        if len(fraction) > 3:
            return None
        fraction_ticks = int(fraction or 0) * 10_000
    else:
        limit = 3 if type_name in ("datetime", "smalldatetime") else 7
        if len(fraction) > limit:
            return None
        fraction_ticks = int(fraction.ljust(7, "0")) if fraction else 0
    return (hour * 3600 + minute * 60 + second) * TICKS_PER_SECOND + fraction_ticks


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        return year + (2000 if year <= 49 else 1900)  # the two-digit year cutoff, 2049
    return year


def _ordinal(year: int, month: int, day: int, type_name: str) -> int:
    try:
        return dt.date(year, month, day).toordinal()
    except ValueError:
        raise BadDate(out_of_range=type_name in ("datetime", "smalldatetime")) from None


def _parse_day(value: str, type_name: str, dateformat: str) -> int:  # noqa: C901 - one case per format
    found = _UNSEPARATED.match(value)
    if found:
        return _ordinal(int(found.group(1)), int(found.group(2)), int(found.group(3)), type_name)
    found = _YEAR_FIRST.match(value)
    if found:
        year, first, second = int(found.group(1)), int(found.group(3)), int(found.group(4))
        if found.group(2) == "-" and type_name in ("date", "datetime2", "datetimeoffset"):
            return _ordinal(year, first, second, type_name)  # ISO: year-month-day whatever DATEFORMAT says
        if dateformat in ("ydm", "dmy", "dym") and type_name in ("datetime", "smalldatetime"):
            return _ordinal(year, second, first, type_name)
        return _ordinal(year, first, second, type_name)
    found = _NUMERIC.match(value)
    if found:
        parts = [found.group(1), found.group(3), found.group(4)]
        order = dateformat if dateformat in ("mdy", "dmy", "ymd", "ydm", "myd", "dym") else "mdy"
        if len(parts[0]) > 2 and order[0] != "y":
            order = "ymd"
        values = dict(zip(order, parts, strict=True))
        if len(values["y"]) == 3 or len(values["m"]) > 2 or len(values["d"]) > 2:
            raise BadDate()
        return _ordinal(_year(values["y"]), int(values["m"]), int(values["d"]), type_name)
    words = _WORDS.findall(value.replace(",", " "))
    months = [w for w in words if w.lower() in _MONTH_NUMBERS]
    if len(months) == 1 and len(words) in (2, 3) and not re.search(r"[^A-Za-z0-9,\s./-]", value):
        month = _MONTH_NUMBERS[months[0].lower()]
        numbers = [w for w in words if w.isdigit()]
        if len(numbers) != len(words) - 1:
            raise BadDate()
        if len(numbers) == 1:  # 'April 1996': the first of the month
            return _ordinal(_year(numbers[0]), month, 1, type_name)
        first, second = numbers
        if len(first) == 4:  # '1996 April 15'
            return _ordinal(int(first), month, int(second), type_name)
        if words[0].isdigit() and len(second) >= 3:  # '15 April 1996'
            return _ordinal(_year(second), month, int(first), type_name)
        if words[0].lower() in _MONTH_NUMBERS:  # 'April 15 1996', 'Apr 15, 96'
            return _ordinal(_year(second), month, int(first), type_name)
        return _ordinal(_year(second), month, int(first), type_name)  # '15 Apr 96'
    raise BadDate()


def from_number(number: float, type_name: str) -> Moment:
    """datetime/smalldatetime from a number: days since 1900-01-01, the fraction a time of day."""
    days = int(number // 1)
    ticks = round((number - days) * TICKS_PER_DAY)
    return Moment(DAY_1900 + days, ticks)


def to_number(moment: Moment) -> float:
    """A datetime as a number of days since 1900-01-01 (CAST(datetime AS float))."""
    return moment.day - DAY_1900 + moment.ticks / TICKS_PER_DAY


# -- text in CONVERT styles -------------------------------------------------------------------------------
_MONTH_ABBREVIATIONS = [name[:3].capitalize() for name in MONTHS]
_DATE_STYLES = {1: "{mm}/{dd}/{year}", 2: "{year}.{mm}.{dd}", 3: "{dd}/{mm}/{year}", 4: "{dd}.{mm}.{year}",
                5: "{dd}-{mm}-{year}", 6: "{dd} {mon} {year}", 7: "{mon} {dd}, {year}", 10: "{mm}-{dd}-{year}",
                11: "{year}/{mm}/{dd}", 12: "{year}{mm}{dd}"}
# SQL Server's "Date and time styles": a layout per style. Styles 1-7 and 10-12 show a two-digit year;
# 101-107 and 110-112 are the same layouts with the century.
STYLE_LAYOUTS = {
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
# the layouts CONVERT(date, text, style) reads (day, month, year order and separator)
STYLE_PATTERNS = {1: "%m/%d/%y", 101: "%m/%d/%Y", 2: "%y.%m.%d", 102: "%Y.%m.%d", 3: "%d/%m/%y", 103: "%d/%m/%Y",
                  4: "%d.%m.%y", 104: "%d.%m.%Y", 5: "%d-%m-%y", 105: "%d-%m-%Y", 10: "%m-%d-%y", 110: "%m-%d-%Y",
                  11: "%y/%m/%d", 111: "%Y/%m/%d", 12: "%y%m%d", 112: "%Y%m%d"}


def text_in_style(moment: Moment, kind: object, style: int | None) -> str:
    """A date/time value as CONVERT(varchar, value, style) writes it; without a style as CAST writes it
    (style 0 for datetime and smalldatetime, the stored form for the others). ``kind`` is the value's
    SqlType. Raises ValueError for a style SQL Server does not have."""
    name = getattr(kind, "name", "datetime2")
    scale = getattr(kind, "scale", 7)
    if style is None:
        if name in ("datetime", "smalldatetime"):
            style = 0
        else:
            return stored(moment, name, scale)
    layout = STYLE_LAYOUTS.get(style)
    if layout is None:
        raise ValueError(style)
    day = dt.date.fromordinal(moment.day)
    seconds, rest = divmod(moment.ticks, TICKS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    if name == "datetime":
        units = datetime_units(moment.ticks) % 300
        fraction = f"{(units * 10 + 1) // 3:03d}"
    else:
        fraction = f"{rest:07d}"[:3 if name == "smalldatetime" else max(scale, 0) or 7]
    text = layout.format(
        y4=f"{day.year:04d}", y2=f"{day.year % 100:02d}", mm=f"{day.month:02d}", dd=f"{day.day:02d}",
        day=day.day, mon=_MONTH_ABBREVIATIONS[day.month - 1], h12=hour % 12 or 12, mi=f"{minute:02d}",
        ss=f"{second:02d}", time=f"{hour:02d}:{minute:02d}:{second:02d}", fraction=fraction,
        iso_fraction=f".{fraction}" if rest else "", half="AM" if hour < 12 else "PM")
    return text


def read_in_style(text: str, style: int, type_name: str) -> Moment:
    """CONVERT(date type, text, style) for the numeric date styles (103 = dd/mm/yyyy …); a time may follow."""
    pattern = STYLE_PATTERNS.get(style)
    if pattern is None:
        return parse(text, type_name)
    head, _, clock = text.strip().partition(" ")
    try:
        day = dt.datetime.strptime(head, pattern).date().toordinal()
    except ValueError:
        raise BadDate() from None
    ticks = _parse_clock(clock, type_name) if clock.strip() else 0
    if ticks is None:
        raise BadDate()
    return Moment(day, ticks)


def reads_the_same_in_every_dateformat(text: str, type_name: str) -> bool:
    """Is this string read the same whatever the session's DATEFORMAT (so it can be converted once, when a
    statement is translated)? ISO 8601 with a T, yyyymmdd, month names, a time alone, and yyyy-mm-dd for
    the types that always read it as ISO (not datetime and smalldatetime)."""
    value = text.strip()
    if _ISO_T.match(value):
        return True
    clock = _TIME.search(value)
    day = value[:clock.start()].strip() if clock else value
    if not day:
        return True
    if _UNSEPARATED.match(day):
        return True
    year_first = _YEAR_FIRST.match(day)
    if year_first:
        return year_first.group(2) == "-" and type_name in ("date", "datetime2", "datetimeoffset")
    return not _NUMERIC.match(day) and any(word.lower() in _MONTH_NUMBERS for word in _WORDS.findall(day))
