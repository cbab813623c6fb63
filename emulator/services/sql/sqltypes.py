"""SQL types as the emulator sends them (``SqlType``: a T-SQL type name and its facets), read from the
type names T-SQL and sqlglot write (``sql_type``), stored as a SQLite affinity (``affinity``), or worked
out from the values of a computed column (``infer_type``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SqlType:
    """A T-SQL type as the emulator sends it: ``name`` is the T-SQL spelling, the rest its facets."""

    name: str              # int, bigint, smallint, tinyint, bit, float, real, decimal, nvarchar, ...
    length: int = 0        # characters for nvarchar, bytes for varbinary; -1 = max
    precision: int = 0
    scale: int = 0
    # False only for a result column read straight from a NOT NULL column (sent as SQL Server sends it:
    # INT4 rather than INTN …); not part of the type's identity
    nullable: bool = field(default=True, compare=False)

    def declaration(self) -> str:
        if self.name in ("nvarchar", "varbinary"):
            return f"{self.name}({'max' if self.length < 0 else self.length})"
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.name in ("datetime2", "time"):
            return f"{self.name}({self.scale})"
        return self.name


INT = SqlType("int")
BIGINT = SqlType("bigint")
BIT = SqlType("bit")
FLOAT = SqlType("float")
NVARCHAR_4000 = SqlType("nvarchar", 4000)
NVARCHAR_MAX = SqlType("nvarchar", -1)
VARBINARY_8000 = SqlType("varbinary", 8000)
VARBINARY_MAX = SqlType("varbinary", -1)
DATETIME2 = SqlType("datetime2", scale=7)
GUID = SqlType("uniqueidentifier")
NUMERIC_38_0 = SqlType("decimal", precision=38, scale=0)


TYPE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*(?:\(\s*([^)]*)\))?\s*$")
_ALIASES = {
    "integer": "int", "int": "int", "bigint": "bigint", "smallint": "smallint", "tinyint": "tinyint",
    "utinyint": "tinyint", "bit": "bit", "boolean": "bit", "float": "float", "double": "float",
    "double precision": "float", "real": "real", "decimal": "decimal", "numeric": "decimal", "dec": "decimal",
    "money": "money", "smallmoney": "smallmoney", "nvarchar": "nvarchar", "varchar": "nvarchar",
    "nchar": "nvarchar", "char": "nvarchar", "text": "nvarchar", "ntext": "nvarchar", "xml": "nvarchar",
    "sysname": "nvarchar", "string": "nvarchar", "varbinary": "varbinary", "binary": "varbinary",
    "image": "varbinary", "blob": "varbinary", "datetime2": "datetime2", "datetime": "datetime",
    "smalldatetime": "datetime", "timestamp": "datetime2", "timestampntz": "datetime2",
    "datetimeoffset": "datetime2", "date": "date", "time": "time", "uniqueidentifier": "uniqueidentifier",
    "uuid": "uniqueidentifier", "rowversion": "varbinary",
}
_UNBOUNDED_TEXT = {"text", "ntext", "xml"}


def sql_type(declared: str) -> SqlType | None:
    """The wire type for a declared T-SQL (or sqlglot) type name, e.g. ``DECIMAL(10, 2)``."""
    found = TYPE_RE.match(declared)
    if not found:
        return None
    raw = found.group(1).strip().lower()
    name = _ALIASES.get(raw)
    args = [a.strip().lower() for a in (found.group(2) or "").split(",") if a.strip()]
    if name is None:
        return None
    if name in ("int", "bigint", "smallint", "tinyint", "bit", "uniqueidentifier", "date"):
        return SqlType(name)
    if name == "float":
        return SqlType("real") if args and args[0].isdigit() and int(args[0]) <= 24 else FLOAT
    if name == "real":
        return SqlType("real")
    if name in ("decimal",):
        precision = int(args[0]) if args and args[0].isdigit() else 18
        scale = int(args[1]) if len(args) > 1 and args[1].isdigit() else 0
        return SqlType("decimal", precision=max(1, min(38, precision)), scale=max(0, min(scale, precision)))
    if name == "money":
        return SqlType("decimal", precision=19, scale=4)
    if name == "smallmoney":
        return SqlType("decimal", precision=10, scale=4)
    if name == "nvarchar":
        if raw in _UNBOUNDED_TEXT or (args and args[0] == "max"):
            return NVARCHAR_MAX
        length = int(args[0]) if args and args[0].isdigit() else (1 if raw in ("char", "nchar") and found.group(2)
                                                                  is None else 4000)
        if raw in ("varchar", "nvarchar", "char", "nchar", "sysname") and not args and found.group(2) is None:
            length = 128 if raw == "sysname" else 4000 if raw in ("varchar", "nvarchar") else 1
        return NVARCHAR_MAX if length > 4000 else SqlType("nvarchar", max(1, length))
    if name == "varbinary":
        if raw in ("image", "blob") or (args and args[0] == "max"):
            return VARBINARY_MAX
        length = int(args[0]) if args and args[0].isdigit() else 8000
        return VARBINARY_MAX if length > 8000 else SqlType("varbinary", max(1, length))
    if name == "datetime2":
        scale = int(args[0]) if args and args[0].isdigit() else 7
        return SqlType("datetime2", scale=min(7, scale))
    if name == "datetime":
        return SqlType("datetime2", scale=3)
    if name == "time":
        scale = int(args[0]) if args and args[0].isdigit() else 7
        return SqlType("time", scale=min(7, scale))
    return None


def affinity(declared: SqlType) -> str:
    """The SQLite column type that stores values of a T-SQL type."""
    name = declared.name
    if name in ("int", "bigint", "smallint", "tinyint", "bit"):
        return "INTEGER"
    if name == "decimal":
        return "NUMERIC"
    if name in ("float", "real"):
        return "REAL"
    if name == "varbinary":
        return "BLOB"
    return "TEXT"


def infer_type(values: Sequence[Any]) -> SqlType:
    """A wire type for a computed column, from the values SQLite returned."""
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
