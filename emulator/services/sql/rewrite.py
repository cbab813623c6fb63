"""T-SQL function calls rewritten to the emulator's own SQLite functions (builtins.py), with the type
SQL Server would send for each expression (decimal precision and scale, date kinds) worked out on the
way; also TOP … PERCENT and UPDATE/DELETE TOP (n). Hand-written on sqlglot's tree: sqlglot maps these
functions to SQLite forms that give other answers."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Protocol

from . import errors
from .builtins import DATEPARTS, WINDOW_FUNCTIONS
from .dialect import OWN_FUNCTIONS, emulator_dialect
from .errors import SqlError
from .sqltypes import BIGINT, DATETIME2, FLOAT, INT, NVARCHAR_4000, NVARCHAR_MAX, SqlType, sql_type

if TYPE_CHECKING:
    from sqlglot import exp


class SchemaSource(Protocol):
    """The tables a statement is typed against (``models.Database``): declared columns by table, and the
    same as the schema sqlglot's optimizer reads."""

    name: str

    def columns(self) -> dict[str, list[tuple[str, SqlType]]]: ...

    def not_null(self) -> dict[str, frozenset[str]]: ...

    def schema(self) -> dict[str, dict[str, str]]: ...


TYPE_META = "tsql_type"  # node.meta key: the SQL Server type the rewrite worked out for an expression
DML_TOP = re.compile(r"^(\s*(?:UPDATE|DELETE)\s+)TOP\s*\(\s*([^()]+?)\s*\)\s*(PERCENT\b)?\s*", re.I)
_NOW_FUNCTIONS = {"GETDATE": 3, "GETUTCDATE": 3, "SYSDATETIME": 6, "SYSUTCDATETIME": 6}
_DATETIME = SqlType("datetime2", scale=3)  # how the emulator sends datetime
_DATE = SqlType("date")
_INT_NAMES = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19, "bit": 1}


def _call(name: str, *arguments: exp.Expression, sql_type: SqlType | None = None) -> exp.Anonymous:
    from sqlglot import exp

    node = exp.Anonymous(this=name, expressions=list(arguments))
    if sql_type is not None:
        node.meta[TYPE_META] = sql_type
    return node


def ddl_functions(tree: exp.Expression) -> None:
    """Clock functions in column defaults: with their fraction (``__tsql_now``, which every connection
    of the emulator has) in CREATE TABLE; SQLite's CURRENT_TIMESTAMP in ALTER TABLE … ADD, where
    SQLite refuses any default that is not a constant anyway."""
    from sqlglot import exp

    create = isinstance(tree, exp.Create)
    for node in list(tree.find_all(exp.Anonymous, exp.CurrentTimestamp)):
        digits = 3 if isinstance(node, exp.CurrentTimestamp) else _NOW_FUNCTIONS.get(node.name.upper())
        if digits is not None:
            node.replace(_call("__tsql_now", exp.Literal.number(digits)) if create else exp.CurrentTimestamp())
    for user in list(tree.find_all(exp.CurrentUser)):
        user.replace(exp.Anonymous(this="suser_sname", expressions=[]))


@functools.cache
def _rewritten_classes() -> tuple[type, ...]:
    from sqlglot import exp

    return (exp.Anonymous, exp.Div, exp.Mul, exp.Add, exp.Sub, exp.Mod, exp.Avg, exp.Round, exp.TryCast, exp.Cast,
            exp.Convert, exp.CurrentTimestamp, exp.CurrentUser, exp.SessionUser, exp.Column, exp.Limit)


def rewrite_functions(database: SchemaSource, tree: exp.Expression) -> None:
    """Give T-SQL functions and decimal arithmetic SQL Server's meaning (see the functions registered
    in ``models.Database``) and record result types SQL Server would send. One walk
    finds nothing to do in a plain SELECT; the rest runs once per statement text (translations are
    cached)."""
    classes = _rewritten_classes()
    if not any(isinstance(n, classes) and _needs_rewrite(n) for n in tree.walk()):
        return  # the hot path: a plain SELECT of columns
    from sqlglot import exp

    typer = _Typer(database, tree)
    for node in reversed(list(tree.walk())):  # children before their parents
        replacement = _rewrite_node(node, typer)
        if replacement is not None and replacement is not node and node is not tree:
            node.replace(replacement)
    for limit in list(tree.find_all(exp.Limit)):  # last: the count query copies the rewritten SELECT
        if _percent(limit):
            _top_percent(limit)


def _needs_rewrite(node: exp.Expression) -> bool:
    from sqlglot import exp

    if isinstance(node, exp.Column):
        return _special_column(node)
    if isinstance(node, exp.Limit):
        return _percent(node)
    if isinstance(node, exp.Anonymous):
        return node.name.upper() in OWN_FUNCTIONS
    return True


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


def _rewrite_node(node: exp.Expression, typer: _Typer) -> exp.Expression | None:  # noqa: C901 - a table of cases
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return _rewrite_call(node, typer)
    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
        return _call("user_name", sql_type=SqlType("nvarchar", 128))
    if isinstance(node, exp.CurrentTimestamp):
        return _call("__tsql_now", exp.Literal.number(3), sql_type=_DATETIME)
    if isinstance(node, exp.Column):
        if _special_column(node):
            name = "suser_sname" if node.name.upper() == "SYSTEM_USER" else "user_name"
            return _call(name, sql_type=SqlType("nvarchar", 128))
        return None
    if isinstance(node, (exp.TryCast, exp.Cast, exp.Convert)):
        return _rewrite_cast(node, typer)
    if isinstance(node, exp.Avg):
        kind, scale, result = typer.average(node.this)
        if kind is None or isinstance(node.this, exp.Distinct) or (
                isinstance(node.parent, exp.Window) and not WINDOW_FUNCTIONS):
            return None  # SQLite's own AVG
        if isinstance(node.parent, exp.Window):
            node.parent.meta[TYPE_META] = result  # the result column is the window expression
        return _call("__tsql_avg", node.this, exp.Literal.string(kind), exp.Literal.number(scale), sql_type=result)
    if isinstance(node, exp.Round):
        argument = typer.type_of(node.this)
        kind = _kind(argument)
        truncate = node.args.get("truncate") or exp.Literal.number(0)
        decimals = node.args.get("decimals") or exp.Literal.number(0)
        return _call("__tsql_round", node.this, decimals, truncate, exp.Literal.string(kind or "auto"),
                     sql_type=argument if kind in ("decimal", "float") else None)
    if isinstance(node, (exp.Div, exp.Mul, exp.Add, exp.Sub, exp.Mod)):
        left, right = typer.type_of(node.left), typer.type_of(node.right)
        result = typer.arithmetic(node)
        if isinstance(node, exp.Div):
            if result is not None and result.name == "decimal":
                return _call("__tsql_divide", node.left, node.right, exp.Literal.number(result.scale), sql_type=result)
            if _kind(left) == "int" and _kind(right) == "int":
                return _call("__tsql_int_divide", node.left, node.right)
            return None
        if result is not None:
            node.meta[TYPE_META] = result
        return None
    return None


def _kind(sql_type: SqlType | None) -> str | None:
    if sql_type is None:
        return None
    if sql_type.name in _INT_NAMES:
        return "int"
    if sql_type.name == "decimal":
        return "decimal"
    if sql_type.name in ("float", "real"):
        return "float"
    return None


def _rewrite_call(node: exp.Anonymous, typer: _Typer) -> exp.Expression | None:  # noqa: C901 - a table of cases
    from sqlglot import exp

    name = node.name.upper()
    if name not in OWN_FUNCTIONS:
        return None
    if name in _NOW_FUNCTIONS:
        _arguments(node, 0, 0)
        digits = _NOW_FUNCTIONS[name]
        return _call("__tsql_now", exp.Literal.number(digits), sql_type=_DATETIME if digits == 3 else DATETIME2)
    if name in ("SUSER_SNAME", "SUSER_NAME"):
        return _call("suser_sname", *node.expressions, sql_type=SqlType("nvarchar", 128))
    if name == "SCHEMA_NAME":  # sqlglot reads it as CURRENT_SCHEMA, which SQLite answers with 'main'
        return _call("schema_name", *node.expressions, sql_type=SqlType("nvarchar", 128))
    if name == "DATEADD":
        part, number, value = _arguments(node, 3, 3)
        found = typer.type_of(value)
        if found is not None and found.name in ("date", "time", "datetime2"):
            kind, result = ("datetime" if found.name == "datetime2" and found.scale == 3 else found.name), found
        else:
            kind, result = "datetime", _DATETIME  # a string is converted to datetime
        return _call("__tsql_dateadd", _datepart_literal(part, "dateadd"), number, value, exp.Literal.string(kind),
                     sql_type=result)
    if name in ("DATEDIFF", "DATEDIFF_BIG"):
        part, start, end = _arguments(node, 3, 3)
        big = name == "DATEDIFF_BIG"
        return _call("__tsql_datediff", _datepart_literal(part, name.lower()), start, end,
                     exp.Literal.number(int(big)), sql_type=BIGINT if big else INT)
    if name in ("YEAR", "MONTH", "DAY"):
        (value,) = _arguments(node, 1, 1)
        return _call("__tsql_datepart", exp.Literal.string(name.lower()), value, sql_type=INT)
    if name == "DATEPART":
        part, value = _arguments(node, 2, 2)
        return _call("__tsql_datepart", _datepart_literal(part, "datepart"), value, sql_type=INT)
    if name == "DATENAME":
        part, value = _arguments(node, 2, 2)
        return _call("__tsql_datename", _datepart_literal(part, "datename"), value, sql_type=SqlType("nvarchar", 30))
    if name == "EOMONTH":
        arguments = _arguments(node, 1, 2)
        return _call("__tsql_eomonth", *arguments, sql_type=_DATE)
    if name == "FORMAT":
        arguments = _arguments(node, 2, 3)
        return _call("__tsql_format", *arguments, sql_type=NVARCHAR_4000)
    if name in ("LEFT", "RIGHT"):
        text, count = _arguments(node, 2, 2)
        found = typer.type_of(text)
        result = found if found is not None and found.name == "nvarchar" else None
        return _call(f"__tsql_{name.lower()}", text, count, sql_type=result)
    return None


def _rewrite_cast(node: exp.Expression, typer: _Typer) -> exp.Expression | None:
    """TRY_CAST/TRY_CONVERT: NULL when the value does not convert (sqlglot writes a CAST, which gives 0);
    CAST/CONVERT to a number from text: SQL Server's conversion error instead of SQLite's 0; to
    decimal: rounded to the scale, as SQL Server stores it."""
    from sqlglot import exp

    style: exp.Expression | None = None
    if isinstance(node, exp.Convert):
        target, value, safe = node.this, node.expression, bool(node.args.get("safe"))
        style = node.args.get("style")
    else:
        target, value, safe = node.to, node.this, isinstance(node, exp.TryCast) or bool(node.args.get("safe"))
    declared = sql_type(target.sql("tsql"))
    if declared is None:
        return None
    source = typer.type_of(value)
    if declared.name == "nvarchar":  # to text: dates in a style, decimals with their scale, cut to the length
        length = declared.length if target.expressions else 30  # CAST(x AS VARCHAR) is varchar(30)
        kind = "other"
        if source is not None and source.name in ("date", "time", "datetime2"):
            kind = "datetime" if source.name == "datetime2" and source.scale == 3 else source.name
        elif source is not None and source.name == "decimal":
            kind = f"decimal:{source.scale}"
        elif style is not None:
            kind = "datetime"  # a style is for a date; the value is text SQL Server would read as datetime
        return _call("__tsql_to_text", value, exp.Literal.number(length), style or exp.Null(),
                     exp.Literal.string(kind), sql_type=SqlType("nvarchar", length) if length > 0 else NVARCHAR_MAX)
    if style is not None and declared.name in ("date", "datetime2", "time"):
        return _call("__tsql_text_to_date", value, style, exp.Literal.string(target.sql("tsql")),
                     exp.Literal.number(int(not safe)), sql_type=declared)
    if not safe:
        numeric_target = declared.name in _INT_NAMES or declared.name in ("decimal", "float", "real")
        if declared.name in ("date", "datetime2", "time"):  # SQLite would CAST text to a NUMERIC: 2024
            return _call("__tsql_convert", value, exp.Literal.string(target.sql("tsql")), exp.Literal.number(1),
                         sql_type=declared)
        if not numeric_target:
            return None
        if declared.name not in ("decimal", "bit") and _kind(source) is not None:
            return None  # number to number: SQLite's CAST cuts toward zero like SQL Server
    return _call("__tsql_convert", value, exp.Literal.string(target.sql("tsql")), exp.Literal.number(int(not safe)),
                 sql_type=declared)


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
    limit.set("expression", _call("__tsql_top_percent", exp.Subquery(this=count), limit.expression))
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
        amount = _call("__tsql_top_percent", exp.Subquery(this=count), amount)
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


class _Typer:
    """SQL Server's result types for the expressions of one statement, as far as they are known: column
    types from sqlglot's annotator (columns of tables, subqueries, CTEs), the rest by SQL Server's
    rules ("Precision, scale, and length"), which sqlglot does not implement."""

    def __init__(self, database: SchemaSource, tree: exp.Expression) -> None:
        self.database = database
        self.tree = tree
        self._columns: dict[int, SqlType | None] | None = None
        # arithmetic already typed, by node (the node kept beside its type, so its id is not reused): the
        # rewrite types children before parents, and a long a+b+c+… chain is then typed once, not n times deep
        self._arithmetic: dict[int, tuple[exp.Expression, SqlType | None]] = {}

    def columns(self) -> dict[int, SqlType | None]:
        if self._columns is None:
            self._columns = _column_types(self.database, self.tree)
        return self._columns

    def type_of(self, node: exp.Expression | None) -> SqlType | None:  # noqa: C901 - one case per kind of node
        from sqlglot import exp

        if node is None:
            return None
        known = node.meta.get(TYPE_META) if node._meta else None  # noqa: SLF001 - do not create empty meta dicts
        if known is not None:
            return known  # type: ignore[no-any-return]
        if isinstance(node, exp.Column):
            return self.columns().get(id(node))
        if isinstance(node, exp.Literal):
            if node.is_string:
                return SqlType("nvarchar", max(1, len(node.this)))
            text = node.this
            if "e" in text.lower():
                return FLOAT
            if "." in text:
                return SqlType("decimal", precision=min(38, max(1, len(text.replace(".", "").lstrip("-0")),
                                                                 len(text.split(".")[1]))),
                               scale=len(text.split(".")[1]))
            return INT if -(2**31) <= int(text) < 2**31 else SqlType("decimal", precision=min(38, len(text)))
        if isinstance(node, (exp.Paren, exp.Neg)):
            return self.type_of(node.this)
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return sql_type(node.to.sql("tsql"))
        if isinstance(node, exp.Convert):
            return sql_type(node.this.sql("tsql"))
        if isinstance(node, (exp.Div, exp.Mul, exp.Add, exp.Sub, exp.Mod)):
            return self.arithmetic(node)
        if isinstance(node, (exp.Min, exp.Max, exp.Abs)):
            return self.type_of(node.this)
        if isinstance(node, exp.Sum):
            found = self.type_of(node.this)
            if found is not None and found.name == "decimal":
                return SqlType("decimal", precision=38, scale=found.scale)
            return found if _kind(found) == "float" else None
        if isinstance(node, exp.Count):
            return INT
        if isinstance(node, (exp.Coalesce,)):
            return self.type_of(node.this)
        return None

    def _facets(self, node: exp.Expression, found: SqlType | None) -> tuple[int, int] | None:
        from sqlglot import exp

        if found is None:
            return None
        if found.name == "decimal":
            return found.precision, found.scale
        if found.name in _INT_NAMES:
            inner = node
            while isinstance(inner, (exp.Paren, exp.Neg)):
                inner = inner.this
            if isinstance(inner, exp.Literal) and not inner.is_string:  # an integer constant is decimal(digits, 0)
                return max(1, len(inner.this.lstrip("-"))), 0
            return _INT_NAMES[found.name], 0
        return None

    def arithmetic(self, node: exp.Expression) -> SqlType | None:
        """The type of + - * / % by SQL Server's rules for decimal results; None for other results."""
        known = self._arithmetic.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        found = self._arithmetic_type(node)
        self._arithmetic[id(node)] = (node, found)
        return found

    def _arithmetic_type(self, node: exp.Expression) -> SqlType | None:
        from sqlglot import exp

        left_type, right_type = self.type_of(node.left), self.type_of(node.right)
        kinds = {_kind(left_type), _kind(right_type)}
        if None in kinds:
            return None
        if "float" in kinds:
            return FLOAT
        if "decimal" not in kinds:
            return None  # integers: sized from the values, as before
        left, right = self._facets(node.left, left_type), self._facets(node.right, right_type)
        if left is None or right is None:
            return None
        (p1, s1), (p2, s2) = left, right
        if isinstance(node, (exp.Add, exp.Sub)):
            scale = max(s1, s2)
            precision = max(p1 - s1, p2 - s2) + scale + 1
            if precision > 38:
                scale = max(0, min(scale, 38 - max(p1 - s1, p2 - s2)))
        elif isinstance(node, exp.Mul):
            precision, scale = p1 + p2 + 1, s1 + s2
        elif isinstance(node, exp.Div):
            scale = max(6, s1 + p2 + 1)
            precision = p1 - s1 + s2 + scale
        else:  # Mod
            scale = max(s1, s2)
            precision = min(p1 - s1, p2 - s2) + scale
        if precision > 38 and not isinstance(node, (exp.Add, exp.Sub)):
            integral = precision - scale
            if integral <= 32:
                scale = min(scale, 38 - integral)
            elif scale > 6:
                scale = 6
        return SqlType("decimal", precision=max(1, min(38, precision)), scale=scale)

    def average(self, node: exp.Expression) -> tuple[str | None, int, SqlType | None]:
        found = self.type_of(node)
        kind = _kind(found)
        if kind == "decimal":
            assert found is not None
            scale = max(found.scale, 6)
            return kind, scale, SqlType("decimal", precision=38, scale=scale)
        if kind == "int":
            return kind, 0, BIGINT if found is not None and found.name == "bigint" else INT
        if kind == "float":
            return kind, 0, FLOAT
        return None, 0, None


def _column_types(database: SchemaSource, tree: exp.Expression) -> dict[int, SqlType | None]:
    """Declared types of the statement's column references (keyed by node id), from sqlglot's annotator
    run on a copy: each column is tagged before the copy so its type can be found again after."""
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    columns = list(tree.find_all(exp.Column))
    for index, column in enumerate(columns):
        column.meta["__column"] = index
    found: dict[int, SqlType | None] = {}
    try:
        schema = database.schema()
        typed = annotate_types(qualify(tree.copy(), schema=schema, dialect="tsql", quote_identifiers=False,
                                       validate_qualify_columns=False, identify=False), schema=schema, dialect="tsql")
        for column in typed.find_all(exp.Column):
            index = column.meta.get("__column")
            if index is None or column.type is None or column.type.is_type(exp.DataType.Type.UNKNOWN):
                continue
            found[id(columns[index])] = sql_type(column.type.sql("tsql"))
    except Exception:  # noqa: BLE001 - an unusual shape: fall back to the columns' names below
        pass
    tables = [t.name.lower() for t in tree.find_all(exp.Table)]
    declared = database.columns()
    for column in columns:
        column.meta.pop("__column", None)
        if id(column) in found:
            continue
        for table in ([column.table.lower()] if column.table else []) + tables:
            match = next((t for n, t in declared.get(table, []) if n.lower() == column.name.lower()), None)
            if match is not None:
                found[id(column)] = match
                break
    return found
