"""A session's SET options, the @@ functions that read them, and what a connection reset restores.

Defaults are the ones a connection gets at login: the ODBC drivers' (LOGIN7 OptionFlags2 fODBC, [MS-TDS]
2.2.6.4: ANSI_NULLS, ANSI_PADDING, ANSI_WARNINGS, QUOTED_IDENTIFIER, ANSI_NULL_DFLT_ON and
CONCAT_NULL_YIELDS_NULL on, TEXTSIZE 2147483647), so @@OPTIONS is 5432 as SQL Server answers an ODBC
or .NET client; a client without fODBC (pytds) starts from the same options but TEXTSIZE 4096, and sets
its own with SET statements, as such clients do. @@OPTIONS is the bit mask of "SET options"
(Microsoft Learn, "@@OPTIONS": 1 DISABLE_DEF_CNST_CHK … 16384 XACT_ABORT).

What the emulator does with them: NOCOUNT (row counts), ANSI_WARNINGS (a too long string is cut
instead of refused), DATEFORMAT and LANGUAGE (how strings are read as dates), DATEFIRST (DATEPART
weekday and week), TRANSACTION ISOLATION LEVEL, LOCK_TIMEOUT (how long a writer waits); the others are
kept and reported. Options the emulator cannot honour are refused by name (40517), never ignored
silently when they would change results: IMPLICIT_TRANSACTIONS ON, ROWCOUNT other than 0, FMTONLY,
NOEXEC, PARSEONLY, SHOWPLAN_*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from . import errors
from .conversions import Options as ConversionOptions

# @@OPTIONS bits, by option (Microsoft Learn, "@@OPTIONS (Transact-SQL)")
OPTION_BITS = {"disable_def_cnst_chk": 1, "implicit_transactions": 2, "cursor_close_on_commit": 4,
               "ansi_warnings": 8, "ansi_padding": 16, "ansi_nulls": 32, "arithabort": 64, "arithignore": 128,
               "quoted_identifier": 256, "nocount": 512, "ansi_null_dflt_on": 1024, "ansi_null_dflt_off": 2048,
               "concat_null_yields_null": 4096, "numeric_roundabort": 8192, "xact_abort": 16384}
# SET ANSI_DEFAULTS ON sets these (and OFF clears them)
_ANSI_DEFAULTS = ("ansi_nulls", "ansi_null_dflt_on", "ansi_padding", "ansi_warnings", "cursor_close_on_commit",
                  "implicit_transactions", "quoted_identifier")
# options SET accepts and keeps, whatever their value, beyond the @@OPTIONS ones
_KEPT_FLAGS = {"statistics_io", "statistics_time", "statistics_xml", "statistics_profile", "forceplan",
               "nocount", "xact_abort", "identity_insert", "remote_proc_transactions"}
_REFUSED_FLAGS = {"fmtonly": "SET FMTONLY", "noexec": "SET NOEXEC", "parseonly": "SET PARSEONLY",
                  "showplan_all": "SET SHOWPLAN_ALL", "showplan_text": "SET SHOWPLAN_TEXT",
                  "showplan_xml": "SET SHOWPLAN_XML", "offsets": "SET OFFSETS"}
# languages the emulator knows: name -> (@@LANGID, DATEFORMAT, DATEFIRST) (sys.syslanguages)
LANGUAGES = {"us_english": (0, "mdy", 7), "english": (0, "mdy", 7), "british": (23, "dmy", 1)}
# SQL Server's other languages (sys.syslanguages), refused by name rather than called unknown
_OTHER_LANGUAGES = {"deutsch", "german", "français", "french", "日本語", "japanese", "dansk", "danish", "español",
                    "spanish", "italiano", "italian", "nederlands", "dutch", "norsk", "norwegian", "português",
                    "portuguese", "suomi", "finnish", "svenska", "swedish", "čeština", "czech", "magyar", "hungarian",
                    "polski", "polish", "română", "romanian", "hrvatski", "croatian", "slovenčina", "slovak",
                    "slovenski", "slovenian", "ελληνικά", "greek", "български", "bulgarian", "русский", "russian",
                    "türkçe", "turkish", "eesti", "estonian", "latviešu", "latvian", "lietuvių", "lithuanian",
                    "português (brasil)", "brazilian", "繁體中文", "traditional chinese", "한국어", "korean",
                    "简体中文", "simplified chinese", "arabic", "ไทย", "thai", "bokmål"}
_ISOLATION_LEVELS = ("READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SNAPSHOT", "SERIALIZABLE")


@dataclass
class SessionOptions:
    ansi_nulls: bool = True
    ansi_padding: bool = True
    ansi_warnings: bool = True
    arithabort: bool = False
    arithignore: bool = False
    quoted_identifier: bool = True
    concat_null_yields_null: bool = True
    numeric_roundabort: bool = False
    xact_abort: bool = False
    nocount: bool = False
    implicit_transactions: bool = False
    cursor_close_on_commit: bool = False
    ansi_null_dflt_on: bool = True
    ansi_null_dflt_off: bool = False
    disable_def_cnst_chk: bool = False
    datefirst: int = 7
    dateformat: str = "mdy"
    language: str = "us_english"
    textsize: int = 2147483647
    lock_timeout: int = -1
    isolation_level: str = "READ COMMITTED"
    deadlock_priority: int = 0
    identity_insert: str = ""  # SET IDENTITY_INSERT <table> ON: that table (one per session at a time)

    @property
    def options(self) -> int:
        """@@OPTIONS."""
        return sum(bit for name, bit in OPTION_BITS.items() if getattr(self, name))

    @property
    def langid(self) -> int:
        return LANGUAGES.get(self.language.lower(), (0, "", 7))[0]

    def conversion(self) -> ConversionOptions:
        return ConversionOptions(ansi_warnings=self.ansi_warnings, dateformat=self.dateformat)

    def copy(self) -> SessionOptions:
        return replace(self)


def at_login(odbc: bool) -> SessionOptions:
    """The options a new connection starts with (see the module docstring)."""
    return SessionOptions() if odbc else SessionOptions(textsize=4096)


_FLAG_NAMES = {f.name for f in fields(SessionOptions) if f.type == "bool"} | _KEPT_FLAGS | set(_REFUSED_FLAGS)
_SET = re.compile(r"^SET\s+(.+?)\s*$", re.I | re.S)
_ON_OFF = re.compile(r"^(.+?)\s+(ON|OFF)$", re.I | re.S)


def apply_set(options: SessionOptions, text: str) -> None:  # noqa: C901 - one case per SET option
    """Run a SET statement (not SET @variable) on the options; raises SQL Server's error for a bad one."""
    found = _SET.match(text)
    if not found:
        raise errors.syntax_error("SET")
    body = " ".join(found.group(1).split())
    upper = body.upper()
    switch = _ON_OFF.match(body)
    if switch and not upper.startswith(("TRANSACTION", "IDENTITY_INSERT", "LANGUAGE", "DATEFORMAT")):
        value = switch.group(2).upper() == "ON"
        names = [n.strip().lower() for n in switch.group(1).split(",")]
        for name in names:
            if name == "ansi_defaults":
                for option in _ANSI_DEFAULTS:
                    setattr(options, option, value)
                if value:
                    options.cursor_close_on_commit = False
                    options.implicit_transactions = False
                continue
            if name.startswith("statistics "):  # SET STATISTICS IO / TIME / XML / PROFILE: a valid option
                raise errors.unsupported(f"SET {name.upper()}")
            if name not in _FLAG_NAMES:
                raise errors.not_recognized_option(name.upper(), "SET")
            if name in _REFUSED_FLAGS and value:
                raise errors.unsupported(f"{_REFUSED_FLAGS[name]} ON")
            if name == "implicit_transactions" and value:
                raise errors.unsupported("SET IMPLICIT_TRANSACTIONS ON")
            if name == "ansi_null_dflt_on" and value:
                options.ansi_null_dflt_off = False
            if name == "ansi_null_dflt_off" and value:
                options.ansi_null_dflt_on = False
            if hasattr(options, name):
                setattr(options, name, value)
        return
    word, _, rest = body.partition(" ")
    name = word.lower()
    argument = rest.strip()
    if name == "datefirst":
        number = _number(argument, "DATEFIRST")
        if not 1 <= number <= 7:
            raise errors.set_out_of_range("DATEFIRST", number)
        options.datefirst = number
    elif name == "dateformat":
        order = argument.strip("'\"").lower()
        if order not in ("mdy", "dmy", "ymd", "ydm", "myd", "dym"):
            raise errors.invalid_dateformat(order)
        options.dateformat = order
    elif name == "language":
        language = argument.strip("'\"[]").lower().removeprefix("n'").rstrip("'")
        if language not in LANGUAGES:
            if language in _OTHER_LANGUAGES:
                raise errors.unsupported(f"SET LANGUAGE {argument} (the emulator knows us_english and british)")
            raise errors.unknown_language(argument.strip("'\"[]"))
        _, options.dateformat, options.datefirst = LANGUAGES[language]
        options.language = "us_english" if language == "english" else language
    elif name == "textsize":
        number = _number(argument, "TEXTSIZE")
        options.textsize = 4096 if number == 0 else 2147483647 if number < 0 else number
    elif name == "lock_timeout":
        options.lock_timeout = _number(argument, "LOCK_TIMEOUT")
    elif name == "rowcount":
        if _number(argument, "ROWCOUNT") != 0:
            raise errors.unsupported("SET ROWCOUNT other than 0 (use TOP)")
    elif name == "transaction":
        level = " ".join(argument.upper().split()).removeprefix("ISOLATION LEVEL ").strip()
        if level not in _ISOLATION_LEVELS:
            raise errors.syntax_error(level.split()[0] if level else "LEVEL")
        options.isolation_level = level
    elif name == "deadlock_priority":
        options.deadlock_priority = {"LOW": -5, "NORMAL": 0, "HIGH": 5}.get(argument.upper(), 0) \
            if not argument.lstrip("-").isdigit() else int(argument)
    elif name == "identity_insert":
        if not _ON_OFF.match(argument):
            raise errors.syntax_error("IDENTITY_INSERT")
    elif name in ("context_info", "query_governor_cost_limit", "cursor_type"):
        raise errors.unsupported(f"SET {name.upper()}")
    elif name in _FLAG_NAMES or name == "ansi_defaults":
        raise errors.syntax_error(argument.split()[0] if argument else name.upper())
    else:
        raise errors.not_recognized_option(word.upper(), "SET")


def _number(text: str, option: str) -> int:
    value = text.strip()
    if not value.lstrip("-").isdigit():
        raise errors.syntax_error(value or option)
    return int(value)
