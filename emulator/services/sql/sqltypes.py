"""T-SQL type names → the wire types (tds.SqlType) the emulator sends for them."""

from __future__ import annotations

import re

from . import tds
from .tds import SqlType

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
        return SqlType("real") if args and args[0].isdigit() and int(args[0]) <= 24 else tds.FLOAT
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
            return tds.NVARCHAR_MAX
        length = int(args[0]) if args and args[0].isdigit() else (1 if raw in ("char", "nchar") and found.group(2)
                                                                  is None else 4000)
        if raw in ("varchar", "nvarchar", "char", "nchar", "sysname") and not args and found.group(2) is None:
            length = 128 if raw == "sysname" else 4000 if raw in ("varchar", "nvarchar") else 1
        return tds.NVARCHAR_MAX if length > 4000 else SqlType("nvarchar", max(1, length))
    if name == "varbinary":
        if raw in ("image", "blob") or (args and args[0] == "max"):
            return tds.VARBINARY_MAX
        length = int(args[0]) if args and args[0].isdigit() else 8000
        return tds.VARBINARY_MAX if length > 8000 else SqlType("varbinary", max(1, length))
    if name == "datetime2":
        scale = int(args[0]) if args and args[0].isdigit() else 7
        return SqlType("datetime2", scale=min(7, scale))
    if name == "datetime":
        return SqlType("datetime2", scale=3)
    if name == "time":
        scale = int(args[0]) if args and args[0].isdigit() else 7
        return SqlType("time", scale=min(7, scale))
    return None

