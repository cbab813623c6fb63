"""SQL Server's data types as the emulator keeps and sends them.

``SqlType`` is a T-SQL type with its facets (length, precision, scale), read from the names T-SQL and
sqlglot write (``sql_type``). Each type has one storage form in SQLite (``storage``): an affinity and,
where SQLite's own ordering would be wrong, a collation the emulator registers on every connection:

- exact numerics (decimal, numeric, money, smallmoney) are TEXT in a canonical form with exactly the
  type's scale ('-12.50'), ordered by ``TSQL_DECIMAL`` (numerically). SQLite has no decimal type and
  would read a number literal, or a TEXT value in a NUMERIC column, as a 64-bit float: 123456789012345.11
  would become 123456789012345.12. Text keeps every digit; the collation makes ORDER BY, MIN/MAX,
  GROUP BY, DISTINCT, keys and comparisons with constants numeric; arithmetic on it is rewritten to
  the emulator's exact functions (decimals.py), so no value of these types ever passes through a float;
- dates and times are TEXT in one fixed-width form per type (decimals.py's sibling datetimes.py), so
  that their text order is their time order (datetimeoffset, whose order is its UTC instant, has
  ``TSQL_DATETIMEOFFSET``); uniqueidentifier is upper-case TEXT ordered as SQL Server orders GUIDs
  (``TSQL_GUID``: by the last six bytes first);
- char/nchar are TEXT padded to their length, compared ignoring trailing spaces and case
  (``TSQL_PADDED``); varchar/nvarchar TEXT compared without case (NOCASE, the default collation
  SQL_Latin1_General_CP1_CI_AS is case-insensitive); binary types BLOB; integers and bit INTEGER;
  float and real REAL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

INTEGER_TYPES = ("bit", "tinyint", "smallint", "int", "bigint")
EXACT_TYPES = ("decimal", "money", "smallmoney")
APPROXIMATE_TYPES = ("float", "real")
DATE_TYPES = ("date", "time", "datetime2", "datetime", "smalldatetime", "datetimeoffset")
CHARACTER_TYPES = ("char", "varchar", "text")
UNICODE_TYPES = ("nchar", "nvarchar", "ntext", "xml")
STRING_TYPES = CHARACTER_TYPES + UNICODE_TYPES
BINARY_TYPES = ("binary", "varbinary", "image")
INTEGER_RANGES = {"bit": (0, 1), "tinyint": (0, 255), "smallint": (-(2**15), 2**15 - 1),
                  "int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
# SQL Server's "Data type precedence": when an operator combines two types, the one earlier here wins
PRECEDENCE = ("sql_variant", "xml", "datetimeoffset", "datetime2", "datetime", "smalldatetime", "date", "time",
              "float", "real", "decimal", "money", "smallmoney", "bigint", "int", "smallint", "tinyint", "bit",
              "ntext", "text", "image", "uniqueidentifier", "nvarchar", "nchar", "varchar", "char", "varbinary",
              "binary")
_RANK = {name: index for index, name in enumerate(PRECEDENCE)}
MAX_LENGTH = -1  # (max), text, ntext, image


@dataclass(frozen=True)
class SqlType:
    """A T-SQL type as the emulator sends it: ``name`` is the T-SQL name, the rest its facets."""

    name: str
    length: int = 0        # characters for (n)char/(n)varchar, bytes for (var)binary; -1 = max
    precision: int = 0
    scale: int = 0
    # False only for a result column read straight from a NOT NULL column (sent as SQL Server sends it:
    # INT4 rather than INTN …); not part of the type's identity
    nullable: bool = field(default=True, compare=False)

    def declaration(self) -> str:
        """The type as T-SQL writes it: decimal(10,2), nvarchar(max), datetime2(7) …"""
        if self.name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
            return f"{self.name}({'max' if self.length < 0 else self.length})"
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.name in ("datetime2", "time", "datetimeoffset"):
            return f"{self.name}({self.scale})"
        return self.name

    # -- families ---------------------------------------------------------------------------------
    @property
    def is_integer(self) -> bool:
        return self.name in INTEGER_TYPES

    @property
    def is_exact(self) -> bool:
        """decimal, numeric, money, smallmoney: kept as canonical text."""
        return self.name in EXACT_TYPES

    @property
    def is_number(self) -> bool:
        return self.name in INTEGER_TYPES or self.name in EXACT_TYPES or self.name in APPROXIMATE_TYPES

    @property
    def is_string(self) -> bool:
        return self.name in STRING_TYPES

    @property
    def is_unicode(self) -> bool:
        return self.name in UNICODE_TYPES

    @property
    def is_binary(self) -> bool:
        return self.name in BINARY_TYPES

    @property
    def is_date(self) -> bool:
        return self.name in DATE_TYPES

    @property
    def is_fixed_length(self) -> bool:
        """char(n), nchar(n), binary(n): padded to their length."""
        return self.name in ("char", "nchar", "binary")

    @property
    def is_long(self) -> bool:
        """(max) and the legacy large types: no length limit below 2 GB."""
        return self.length < 0 or self.name in ("text", "ntext", "image", "xml")

    @property
    def rank(self) -> int:
        return _RANK.get(self.name, len(PRECEDENCE))

    def with_nullable(self, nullable: bool = True) -> SqlType:
        return self if self.nullable == nullable else replace(self, nullable=nullable)


TINYINT = SqlType("tinyint")
SMALLINT = SqlType("smallint")
INT = SqlType("int")
BIGINT = SqlType("bigint")
BIT = SqlType("bit")
FLOAT = SqlType("float", precision=53)
REAL = SqlType("real", precision=24)
MONEY = SqlType("money", precision=19, scale=4)
SMALLMONEY = SqlType("smallmoney", precision=10, scale=4)
NVARCHAR_4000 = SqlType("nvarchar", 4000)
NVARCHAR_MAX = SqlType("nvarchar", MAX_LENGTH)
VARCHAR_MAX = SqlType("varchar", MAX_LENGTH)
VARBINARY_8000 = SqlType("varbinary", 8000)
VARBINARY_MAX = SqlType("varbinary", MAX_LENGTH)
DATE = SqlType("date")
DATETIME = SqlType("datetime", precision=23, scale=3)
SMALLDATETIME = SqlType("smalldatetime", precision=16)
DATETIME2 = SqlType("datetime2", scale=7)
GUID = SqlType("uniqueidentifier")
NUMERIC_38_0 = SqlType("decimal", precision=38, scale=0)
SYSNAME = SqlType("nvarchar", 128)


def decimal_type(precision: int, scale: int) -> SqlType:
    return SqlType("decimal", precision=precision, scale=scale)


TYPE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*(?:\(\s*([^)]*)\))?\s*$")
_ALIASES = {
    "integer": "int", "int": "int", "bigint": "bigint", "smallint": "smallint", "tinyint": "tinyint",
    "utinyint": "tinyint", "bit": "bit", "boolean": "bit", "float": "float", "double": "float",
    "double precision": "float", "real": "real", "decimal": "decimal", "numeric": "decimal", "dec": "decimal",
    "money": "money", "smallmoney": "smallmoney", "nvarchar": "nvarchar", "varchar": "varchar",
    "nchar": "nchar", "char": "char", "character": "char", "text": "text", "ntext": "ntext", "xml": "xml",
    "sysname": "nvarchar", "string": "nvarchar", "national char": "nchar", "national character": "nchar",
    "char varying": "varchar", "character varying": "varchar", "national char varying": "nvarchar",
    "national character varying": "nvarchar", "varbinary": "varbinary", "binary": "binary",
    "binary varying": "varbinary", "image": "image", "blob": "varbinary", "datetime2": "datetime2",
    "datetime": "datetime", "smalldatetime": "smalldatetime", "timestamp": "datetime2",
    "timestampntz": "datetime2", "datetimeoffset": "datetimeoffset", "timestamptz": "datetimeoffset",
    "date": "date", "time": "time", "uniqueidentifier": "uniqueidentifier", "uuid": "uniqueidentifier",
    "rowversion": "binary",
}
_FIXED = {"int": INT, "bigint": BIGINT, "smallint": SMALLINT, "tinyint": TINYINT, "bit": BIT, "real": REAL,
          "money": MONEY, "smallmoney": SMALLMONEY, "date": DATE, "datetime": DATETIME,
          "smalldatetime": SMALLDATETIME, "uniqueidentifier": GUID}


def sql_type(declared: str) -> SqlType | None:
    """The type for a declared T-SQL (or sqlglot) type name, e.g. ``DECIMAL(10, 2)``; None for a name
    the emulator does not know. Facets beyond SQL Server's limits are kept as written (``check_type``
    says what SQL Server says about them)."""
    found = TYPE_RE.match(declared)
    if not found:
        return None
    raw = " ".join(found.group(1).lower().split())
    name = _ALIASES.get(raw)
    if name is None:
        return None
    args = [a.strip().lower() for a in (found.group(2) or "").split(",") if a.strip()]
    if raw == "rowversion":
        return SqlType("binary", 8)
    if name in _FIXED:
        return _FIXED[name]
    if name == "float":
        return REAL if args and args[0].isdigit() and int(args[0]) <= 24 else FLOAT
    if name == "decimal":
        precision = int(args[0]) if args and args[0].isdigit() else 18
        scale = int(args[1]) if len(args) > 1 and args[1].isdigit() else 0
        return SqlType("decimal", precision=precision, scale=scale)
    if name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
        if raw == "sysname":
            return SYSNAME
        if args and args[0] == "max":
            return SqlType(name, MAX_LENGTH)
        if args and args[0].isdigit():
            return SqlType(name, int(args[0]))
        # no length: 1 in a declaration (char, varchar …); CAST(x AS varchar) makes it 30 (see the rewrite)
        return SqlType(name, 1)
    if name in ("text", "ntext", "image", "xml"):
        return SqlType(name, MAX_LENGTH)
    if name in ("datetime2", "time", "datetimeoffset"):
        scale = int(args[0]) if args and args[0].isdigit() else 7
        return SqlType(name, scale=scale)
    return None


def check_type(declared: SqlType) -> str | None:
    """What SQL Server says about facets out of range, or None (the caller names the column)."""
    if declared.name == "decimal":
        if not 1 <= declared.precision <= 38:
            return f"precision {declared.precision}"
        if declared.scale > declared.precision:
            return f"scale {declared.scale}"
    if declared.name in ("datetime2", "time", "datetimeoffset") and declared.scale > 7:
        return f"scale {declared.scale}"
    if declared.length == 0 and declared.name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
        return "length 0"
    return None


def max_length(declared: SqlType) -> int:
    """The largest length a (var)char/(var)binary may declare: 8000 bytes; nchar/nvarchar 4000 characters."""
    return 4000 if declared.name in ("nchar", "nvarchar") else 8000


def storage(declared: SqlType) -> tuple[str, str | None]:
    """The SQLite affinity and collation of a column of this type (see the module docstring)."""
    name = declared.name
    if name in INTEGER_TYPES:
        return "INTEGER", None
    if name in EXACT_TYPES:
        return "TEXT", "TSQL_DECIMAL"
    if name in APPROXIMATE_TYPES:
        return "REAL", None
    if name in BINARY_TYPES:
        return "BLOB", None
    if name == "datetimeoffset":
        return "TEXT", "TSQL_DATETIMEOFFSET"
    if name == "uniqueidentifier":
        return "TEXT", "TSQL_GUID"
    if name in ("char", "nchar"):
        return "TEXT", "TSQL_PADDED"
    if name in STRING_TYPES:
        return "TEXT", "NOCASE"
    return "TEXT", None


def affinity(declared: SqlType) -> str:
    return storage(declared)[0]


def higher(left: SqlType | None, right: SqlType | None) -> SqlType | None:
    """The operand type that wins by SQL Server's data type precedence (None when either is unknown)."""
    if left is None or right is None:
        return None
    return left if left.rank <= right.rank else right


def infer_type(values: Sequence[Any]) -> SqlType:
    """A wire type for a result column whose type the statement did not tell, from SQLite's values."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return INT
    if kinds <= {int}:
        return INT if all(-(2**31) <= v < 2**31 for v in values if v is not None) else BIGINT
    if kinds <= {int, float}:
        return FLOAT
    if kinds <= {bytes}:
        return VARBINARY_MAX if any(len(v) > 8000 for v in values if v is not None) else VARBINARY_8000
    if any(isinstance(v, str) and len(v) > 4000 for v in values):
        return NVARCHAR_MAX
    return NVARCHAR_4000
