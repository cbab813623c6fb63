"""T-SQL expressions rewritten so that SQLite computes SQL Server's answers, with the type SQL Server would
send for each (typer.py). Hand-written on sqlglot's tree: sqlglot maps T-SQL to SQLite forms that give
other answers (decimals through floats, DATEADD dropping the time, TRY_CAST giving 0 …).

- constants: a decimal literal becomes its exact text (SQLite would read 12.50 as a float), N'…' keeps
  its nvarchar type, a string compared with a date, number or GUID is converted to it here, once;
- operators (operators.py): exact arithmetic, comparisons by SQL Server's data type precedence,
  integer overflow (8115/220) and division by zero (8134) as errors;
- functions: the emulator's own (builtins.py) where SQLite's differ: dates, CAST/CONVERT, LEN, ROUND …;
- TOP … PERCENT and UPDATE/DELETE TOP (n).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import conversions, datetimes, errors
from .builtins import DATEPARTS, WINDOW_FUNCTIONS
from .dialect import OWN_FUNCTIONS, emulator_dialect
from .errors import SqlError
from .operators import call, rewrite_operator
from .sqltypes import BIGINT, DATETIME, DATETIME2, INT, NVARCHAR_4000, SqlType
from .typer import TYPE_META, UNICODE_META, SchemaSource, Typer, cast_target, literal_type

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["DML_TOP", "TYPE_META", "SchemaSource", "ddl_functions", "limit_dml", "rewrite_functions",
           "written_function", "Typer"]

DML_TOP = re.compile(r"^(\s*(?:UPDATE|DELETE)\s+)TOP\s*\(\s*([^()]+?)\s*\)\s*(PERCENT\b)?\s*", re.I)
# clock functions: (digits of the fraction, type)
_NOW_FUNCTIONS = {"GETDATE": DATETIME, "GETUTCDATE": DATETIME, "SYSDATETIME": DATETIME2, "SYSUTCDATETIME": DATETIME2,
                  "SYSDATETIMEOFFSET": SqlType("datetimeoffset", scale=7)}
_DATE = SqlType("date")


def ddl_functions(tree: exp.Expression) -> None:
    """Clock functions in column defaults: the emulator's (``__tsql_now``, which every connection has) in
    CREATE TABLE; SQLite's CURRENT_TIMESTAMP in ALTER TABLE … ADD, where SQLite refuses any default that
    is not a constant anyway."""
    from sqlglot import exp

    create = isinstance(tree, exp.Create)
    for node in list(tree.find_all(exp.Anonymous, exp.CurrentTimestamp)):
        found = DATETIME if isinstance(node, exp.CurrentTimestamp) else _NOW_FUNCTIONS.get(node.name.upper())
        if found is not None:
            node.replace(_now(found) if create else exp.CurrentTimestamp())
    for user in list(tree.find_all(exp.CurrentUser)):
        user.replace(exp.Anonymous(this="suser_sname", expressions=[]))


def _now(found: SqlType) -> exp.Expression:
    from sqlglot import exp

    return call("__tsql_now", exp.Literal.string(found.declaration()), sql_type=found)


def rewrite_functions(database: SchemaSource, tree: exp.Expression,
                      variables: dict[str, SqlType] | None = None) -> Typer:
    """Give T-SQL's operators, constants and functions SQL Server's meaning and record the result types
    SQL Server would send; returns the typer, which answers for the rewritten tree too. Runs once per
    statement text and parameter types (translations are remembered)."""
    from sqlglot import exp

    typer = Typer(database, tree, variables)
    for node in reversed(list(tree.walk())):  # children before their parents
        replacement = _rewrite_node(node, typer)
        if replacement is not None and replacement is not node and node is not tree:
            node.replace(replacement)
    for limit in list(tree.find_all(exp.Limit)):  # last: the count query copies the rewritten SELECT
        if _percent(limit):
            _top_percent(limit)
    return typer


def _special_column(node: exp.Expression) -> bool:
    from sqlglot import exp

    return (isinstance(node, exp.Column) and not node.table and not node.this.args.get("quoted")
            and node.name.upper() in ("SYSTEM_USER", "USER", "SESSION_USER"))


def _percent(node: exp.Expression) -> bool:
    from sqlglot import exp

    if not isinstance(node, exp.Limit):
        return False
    options = node.args.get("limit_options")
    return bool(options is not None and (options.args.get("percent") or options.args.get("with_ties")))


def _datepart_literal(node: exp.Expression, function: str) -> exp.Expression:
    from sqlglot import exp

    text = node.name if isinstance(node, (exp.Column, exp.Var, exp.Literal)) else node.sql("tsql")
    part = DATEPARTS.get(text.lower())
    if part is None:
        raise SqlError(155, f"'{text}' is not a recognized {function} option.", state=1, severity=15)
    return exp.Literal.string(part)


def _arguments(node: exp.Anonymous, low: int, high: int) -> list[exp.Expression]:
    arguments = list(node.expressions)
    if not low <= len(arguments) <= high:
        name = node.name.upper()
        raise SqlError(174, f"The {name.lower()} function requires {low} argument(s).", state=1, severity=15) \
            if low == high else SqlError(189, f"The {name.lower()} function requires {low} to {high} arguments.",
                                         state=1, severity=15)
    return arguments


def _text(value: str) -> exp.Expression:
    from sqlglot import exp

    return exp.Literal.string(value)


def _rewrite_node(node: exp.Expression, typer: Typer) -> exp.Expression | None:  # noqa: C901 - a table of cases
    from sqlglot import exp

    if isinstance(node, exp.Literal):
        if not node.is_string and "e" not in node.this.lower() and (
                "." in node.this or len(node.this.lstrip("+-")) > 18):
            # exact: SQLite would read a decimal constant, or an integer past 64 bits, as a float
            literal = exp.Literal.string(node.this.lstrip("+"))
            literal.meta[TYPE_META] = literal_type(node)
            return literal
        return None
    if isinstance(node, exp.National):
        literal = exp.Literal.string(node.this)
        literal.meta[UNICODE_META] = True
        literal.meta[TYPE_META] = SqlType("nvarchar", max(1, len(node.this)))
        return literal
    if isinstance(node, exp.Anonymous):
        return _rewrite_call(node, typer)
    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
        return call("user_name", sql_type=SqlType("nvarchar", 128))
    if isinstance(node, exp.CurrentTimestamp):
        return _now(DATETIME)
    if isinstance(node, exp.CurrentTimestampLTZ):
        return _now(_NOW_FUNCTIONS["SYSDATETIMEOFFSET"])
    if isinstance(node, exp.Column):
        if _special_column(node):
            name = "suser_sname" if node.name.upper() == "SYSTEM_USER" else "user_name"
            return call(name, sql_type=SqlType("nvarchar", 128))
        return None
    if isinstance(node, exp.Cast) and isinstance(node.parent, exp.Length) and node.to.is_type(exp.DataType.Type.TEXT):
        return node.this  # sqlglot's own CAST(x AS TEXT) inside LEN: LEN reads its argument as it is
    if isinstance(node, (exp.TryCast, exp.Cast, exp.Convert)):
        return _rewrite_cast(node, typer)
    if isinstance(node, exp.Length):
        return call("__tsql_len", node.this, sql_type=typer.type_of(node))
    if isinstance(node, exp.Round):
        argument = typer.type_of(node.this)
        truncate = node.args.get("truncate") or exp.Literal.number(0)
        decimals = node.args.get("decimals") or exp.Literal.number(0)
        return call("__tsql_round", node.this, decimals, truncate,
                    _text(argument.declaration() if argument is not None else ""), sql_type=argument)
    return rewrite_operator(node, typer)


def _rewrite_call(node: exp.Anonymous, typer: Typer) -> exp.Expression | None:  # noqa: C901 - a table of cases
    from sqlglot import exp

    name = node.name.upper()
    if name == "DATALENGTH":
        (value,) = _arguments(node, 1, 1)
        found = typer.type_of(value)
        return call("__tsql_datalength", value, _text(found.declaration() if found else ""),
                    sql_type=BIGINT if found is not None and found.is_long else INT)
    if name not in OWN_FUNCTIONS:
        return None
    if name == "COUNT_BIG":  # sqlglot reads it as COUNT: the same rows, counted in a bigint
        counted = exp.Count(this=node.expressions[0] if node.expressions else exp.Star())
        counted.meta[TYPE_META] = BIGINT
        return counted
    if name in _NOW_FUNCTIONS:
        _arguments(node, 0, 0)
        return _now(_NOW_FUNCTIONS[name])
    if name in ("SUSER_SNAME", "SUSER_NAME"):
        return call("suser_sname", *node.expressions, sql_type=SqlType("nvarchar", 128))
    if name == "SCHEMA_NAME":  # sqlglot reads it as CURRENT_SCHEMA, which SQLite answers with 'main'
        return call("schema_name", *node.expressions, sql_type=SqlType("nvarchar", 128))
    if name == "DATEADD":
        part, number, value = _arguments(node, 3, 3)
        found = typer.type_of(value)
        result = found if found is not None and found.is_date else DATETIME  # a string is read as datetime
        return call("__tsql_dateadd", _datepart_literal(part, "dateadd"), number, value,
                    _text(result.declaration()), sql_type=result)
    if name in ("DATEDIFF", "DATEDIFF_BIG"):
        part, start, end = _arguments(node, 3, 3)
        big = name == "DATEDIFF_BIG"
        return call("__tsql_datediff", _datepart_literal(part, name.lower()), start, end,
                    exp.Literal.number(int(big)), sql_type=BIGINT if big else INT)
    if name in ("YEAR", "MONTH", "DAY"):
        (value,) = _arguments(node, 1, 1)
        return call("__tsql_datepart", _text(name.lower()), value, sql_type=INT)
    if name == "DATEPART":
        part, value = _arguments(node, 2, 2)
        return call("__tsql_datepart", _datepart_literal(part, "datepart"), value, sql_type=INT)
    if name == "DATENAME":
        part, value = _arguments(node, 2, 2)
        return call("__tsql_datename", _datepart_literal(part, "datename"), value, sql_type=SqlType("nvarchar", 30))
    if name == "EOMONTH":
        arguments = _arguments(node, 1, 2)
        return call("__tsql_eomonth", *arguments, sql_type=_DATE)
    if name == "FORMAT":
        arguments = _arguments(node, 2, 3)
        return call("__tsql_format", *arguments, sql_type=NVARCHAR_4000)
    if name in ("LEFT", "RIGHT"):
        text, count = _arguments(node, 2, 2)
        return call(f"__tsql_{name.lower()}", text, count, sql_type=typer.type_of(node))
    return None


def _declaration(found: SqlType | None) -> exp.Expression:
    return _text(found.declaration() if found is not None else "")


def _rewrite_cast(node: exp.Expression, typer: Typer) -> exp.Expression | None:
    """CAST/CONVERT/TRY_CAST/TRY_CONVERT by SQL Server's conversion rules (conversions.py): the value in
    the target's stored form, NULL from TRY_ when it does not convert. A constant is converted here, once;
    widening one integer type to another is left to SQLite."""
    from sqlglot import exp

    style: exp.Expression | None = None
    if isinstance(node, exp.Convert):
        target, value, safe = node.this, node.expression, bool(node.args.get("safe"))
        style = node.args.get("style")
    else:
        target, value, safe = node.to, node.this, isinstance(node, exp.TryCast) or bool(node.args.get("safe"))
    declared = cast_target(target, bool(target.expressions))
    if declared is None:
        raise errors.unsupported(f"CAST to {target.sql('tsql')}")
    source = typer.type_of(value)
    if style is None and source is not None and source.is_integer and declared.is_integer and \
            declared.rank <= source.rank:
        node_copy = exp.Cast(this=value, to=exp.DataType.build("INTEGER"))
        node_copy.meta[TYPE_META] = declared
        return node_copy
    if style is None and isinstance(value, exp.Literal) and not (
            declared.is_date and value.is_string and
            not datetimes.reads_the_same_in_every_dateformat(value.this, declared.name)):
        try:
            folded = conversions.convert(value.this if value.is_string else _number(value.this), declared, source)
        except (SqlError, ValueError, ArithmeticError):
            folded = None
        if folded is not None:
            return _constant(folded, declared)
    return call("__tsql_convert", value, _declaration(declared), _declaration(source), style or exp.Null(),
                exp.Literal.number(int(not safe)), sql_type=declared)


def _number(text: str) -> int | float | str:
    if "e" in text.lower():
        return float(text)
    return text if "." in text else int(text)


def _constant(value: object, declared: SqlType) -> exp.Expression:
    """A converted constant as a literal SQLite keeps as it is (text, integer, real or blob)."""
    from sqlglot import exp

    if isinstance(value, bytes):
        literal: exp.Expression = exp.HexString(this=value.hex())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        literal = exp.Literal.number(repr(value) if isinstance(value, float) else value)
    else:
        literal = exp.Literal.string(str(value))
    literal.meta[TYPE_META] = declared
    return literal


def _top_percent(limit: exp.Limit) -> None:
    """TOP (n) PERCENT: the first ceiling(count × n / 100) rows of the query (SQLite has no PERCENT)."""
    from sqlglot import exp

    options = limit.args["limit_options"]
    if options.args.get("with_ties"):
        raise errors.unsupported("TOP … WITH TIES")
    select = limit.parent
    if not isinstance(select, exp.Select) or not options.args.get("percent"):
        raise errors.unsupported("TOP … PERCENT")
    inner = select.copy()
    inner.set("limit", None)
    inner.set("order", None)
    count = exp.select(exp.Count(this=exp.Star())).from_(inner.subquery("__top"))
    limit.set("expression", call("__tsql_top_percent", exp.Subquery(this=count), limit.expression))
    limit.set("limit_options", None)


def limit_dml(tree: exp.Expression, found: re.Match[str]) -> None:
    """UPDATE TOP (n) / DELETE TOP (n): n of the qualifying rows (SQLite's UPDATE … LIMIT is not built in)."""
    import sqlglot
    from sqlglot import exp

    if not isinstance(tree, (exp.Update, exp.Delete)) or not isinstance(tree.this, exp.Table):
        raise errors.unsupported("TOP")
    if tree.args.get("from") or tree.args.get("joins") or tree.args.get("using") or tree.args.get("tables"):
        raise errors.unsupported(f"{type(tree).__name__.upper()} TOP … FROM")
    amount = sqlglot.parse_one(found.group(2), read=emulator_dialect())
    target = tree.this.copy()
    target.set("alias", None)
    where = tree.args.get("where")
    rows = exp.select(exp.column("rowid")).from_(target)
    if where is not None:
        rows = rows.where(where.this.copy())
    if found.group(3):  # PERCENT
        count = exp.select(exp.Count(this=exp.Star())).from_(target.copy())
        if where is not None:
            count = count.where(where.this.copy())
        amount = call("__tsql_top_percent", exp.Subquery(this=count), amount)
    rows = rows.limit(amount)
    tree.set("where", exp.Where(this=exp.In(this=exp.column("rowid"), query=exp.Subquery(this=rows))))


def written_function(source: str, name: str) -> str:
    """The name of an unknown function as the user wrote it in ``source``, not as sqlglot renamed it."""
    if not source:
        return name
    try:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(source, read=emulator_dialect())
        for node in tree.find_all(exp.Func):
            rendered = node.sql("sqlite").split("(", 1)[0].strip()
            if rendered.upper() == name.upper() and not isinstance(node, exp.Anonymous):
                written = node.sql("tsql").split("(", 1)[0].strip()
                found = re.search(rf"\b{re.escape(written)}\s*\(", source, re.I)
                return found.group(0).rstrip("( \t\r\n") if found else written
    except Exception:  # noqa: BLE001 - only the error message's wording is at stake
        return name
    found = re.search(rf"\b{re.escape(name)}\s*\(", source, re.I)
    return found.group(0).rstrip("( \t\r\n") if found else name


_ = WINDOW_FUNCTIONS  # re-exported for operators.py's aggregates
