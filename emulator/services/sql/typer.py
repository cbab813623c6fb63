"""The SQL Server type of every expression of a statement, by SQL Server's rules: literals ('abc' is
varchar(3), N'abc' nvarchar(3), 12.50 numeric(4,2), 3000000000 numeric(10,0)), columns (the catalog's
declared types, through derived tables and CTEs), variables and parameters (their declarations),
operators ("Data type precedence", and "Precision, scale, and length" for decimal results), CASE,
COALESCE and friends (the highest precedence of their results), and each built-in function's own
result type. sqlglot's annotator knows T-SQL's types only roughly (tinyint becomes int, real becomes
float, DECIMAL loses its scale through SUM), so it is used only to find which table a column comes from.

``TYPE_META``: the rewrite records on a node the type it worked out for what it put there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .sqltypes import (
    BIGINT,
    DATE,
    DATETIME,
    DATETIME2,
    FLOAT,
    GUID,
    INT,
    MONEY,
    NUMERIC_38_0,
    NVARCHAR_4000,
    NVARCHAR_MAX,
    SMALLINT,
    SYSNAME,
    SqlType,
    decimal_type,
    sql_type,
)

if TYPE_CHECKING:
    from sqlglot import exp

TYPE_META = "tsql_type"   # node.meta key: the SQL Server type the rewrite worked out for an expression
UNICODE_META = "tsql_unicode"  # on a string literal that was written N'…'
_INT_PRECISION = {"bit": 1, "tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}
_COLUMN_TAG = "__column"


class SchemaSource(Protocol):
    """The tables a statement is typed against (``models.Database``): declared columns by table, and the
    same as the schema sqlglot's optimizer reads."""

    name: str

    def columns(self) -> dict[str, list[tuple[str, SqlType]]]: ...

    def not_null(self) -> dict[str, frozenset[str]]: ...

    def schema(self) -> dict[str, dict[str, str]]: ...


# result types of built-in functions that do not depend on their arguments
_FIXED_RESULTS: dict[str, SqlType] = {
    "NEWID": GUID, "NEWSEQUENTIALID": GUID, "GETDATE": DATETIME, "GETUTCDATE": DATETIME,
    "CURRENT_TIMESTAMP": DATETIME, "SYSDATETIME": DATETIME2, "SYSUTCDATETIME": DATETIME2,
    "SYSDATETIMEOFFSET": SqlType("datetimeoffset", scale=7), "DATALENGTH": INT, "ISNUMERIC": INT,
    "ISDATE": INT, "DB_NAME": SYSNAME, "SUSER_SNAME": SYSNAME, "SUSER_NAME": SYSNAME, "USER_NAME": SYSNAME,
    "ORIGINAL_LOGIN": SYSNAME, "HOST_NAME": SYSNAME, "APP_NAME": SYSNAME, "SCHEMA_NAME": SYSNAME,
    "OBJECT_NAME": SYSNAME, "OBJECT_ID": INT, "DB_ID": SMALLINT, "SCHEMA_ID": INT, "USER_ID": INT,
    "DATABASE_PRINCIPAL_ID": INT, "IS_ROLEMEMBER": INT, "IS_MEMBER": INT, "HAS_PERMS_BY_NAME": INT,
    "SCOPE_IDENTITY": NUMERIC_38_0, "IDENT_CURRENT": NUMERIC_38_0, "STR": SqlType("varchar", 10),
    "QUOTENAME": SqlType("nvarchar", 258), "CHAR": SqlType("char", 1), "NCHAR": SqlType("nchar", 1),
    "ASCII": INT, "UNICODE": INT, "DATEDIFF": INT, "DATEDIFF_BIG": BIGINT, "DATEPART": INT, "YEAR": INT,
    "MONTH": INT, "DAY": INT, "DATENAME": SqlType("nvarchar", 30), "EOMONTH": DATE,
    "FORMAT": NVARCHAR_4000, "SOUNDEX": SqlType("varchar", 4), "DIFFERENCE": INT, "ERROR_NUMBER": INT,
    "ERROR_MESSAGE": NVARCHAR_4000, "ERROR_SEVERITY": INT, "ERROR_STATE": INT, "XACT_STATE": SMALLINT,
    "ROWCOUNT_BIG": BIGINT,
    "@@ROWCOUNT": INT, "@@TRANCOUNT": INT, "@@SPID": SMALLINT, "@@ERROR": INT, "@@VERSION": SqlType("nvarchar", 300),
    "@@SERVERNAME": SYSNAME, "@@IDENTITY": NUMERIC_38_0, "@@OPTIONS": INT, "@@DATEFIRST": SqlType("tinyint"),
    "@@LANGUAGE": SYSNAME, "@@LANGID": SMALLINT, "@@TEXTSIZE": INT, "@@LOCK_TIMEOUT": INT,
    "@@MAX_PRECISION": SqlType("tinyint"), "@@NESTLEVEL": INT, "@@PROCID": INT, "@@SERVICENAME": SYSNAME,
    "@@MAX_CONNECTIONS": INT, "@@DBTS": SqlType("varbinary", 8), "@@CONNECTIONS": INT, "@@FETCH_STATUS": INT,
    "PI": FLOAT, "RAND": FLOAT, "SQRT": FLOAT, "EXP": FLOAT, "LOG": FLOAT,
    "LOG10": FLOAT, "SIN": FLOAT, "COS": FLOAT, "TAN": FLOAT, "COT": FLOAT, "ASIN": FLOAT, "ACOS": FLOAT,
    "ATAN": FLOAT, "ATN2": FLOAT, "SQUARE": FLOAT, "COUNT": INT, "COUNT_BIG": BIGINT, "GROUPING": SqlType("tinyint"),
    "ROW_NUMBER": BIGINT, "RANK": BIGINT, "DENSE_RANK": BIGINT, "NTILE": BIGINT, "CHECKSUM": INT,
    "BINARY_CHECKSUM": INT, "CHARINDEX": INT, "PATINDEX": INT, "LEN": INT, "DATEFROMPARTS": DATE,
    "OBJECT_SCHEMA_NAME": SYSNAME, "TYPE_NAME": SYSNAME, "COL_NAME": SYSNAME,
}


def literal_type(node: exp.Literal) -> SqlType:
    """A constant's type as SQL Server gives it."""
    text = node.this
    if node.is_string:
        length = max(1, len(text))
        return SqlType("nvarchar", length) if node.meta.get(UNICODE_META) else SqlType("varchar", length)
    lowered = text.lower()
    if "e" in lowered:
        return FLOAT
    if "." in text:
        whole, fraction = text.lstrip("+-").split(".", 1)
        scale = len(fraction)
        digits = len(whole.lstrip("0")) + scale
        return decimal_type(min(38, max(1, digits, scale)), min(scale, 38))
    number = int(text)
    if -(2**31) <= number < 2**31:
        return INT
    return decimal_type(min(38, len(text.lstrip("+-"))), 0)


def decimal_facets(found: SqlType, node: exp.Expression | None = None) -> tuple[int, int] | None:
    """(precision, scale) of an operand in decimal arithmetic: integers as their precision (an integer
    constant as its digits, SQL Server's literal rule), money as (19, 4), smallmoney as (10, 4)."""
    from sqlglot import exp

    if found.name == "decimal":
        return found.precision, found.scale
    if found.name in ("money", "smallmoney"):
        return found.precision, 4
    if found.name in _INT_PRECISION:
        inner = node
        while isinstance(inner, (exp.Paren, exp.Neg)):
            inner = inner.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return max(1, len(inner.this.lstrip("+-"))), 0
        return _INT_PRECISION[found.name], 0
    return None


def decimal_result(operator: str, left: tuple[int, int], right: tuple[int, int]) -> SqlType:
    """SQL Server's result precision and scale for ``operator`` (+ - * / %) on two decimals, capped at 38
    ("Precision, scale, and length (Transact-SQL)")."""
    (p1, s1), (p2, s2) = left, right
    if operator in "+-":
        scale = max(s1, s2)
        integral = max(p1 - s1, p2 - s2)
        precision = integral + scale + 1
        if precision > 38:
            scale = max(0, min(scale, 38 - integral))
            precision = 38
        return decimal_type(min(38, precision), scale)
    if operator == "*":
        precision, scale = p1 + p2 + 1, s1 + s2
    elif operator == "/":
        scale = max(6, s1 + p2 + 1)
        precision = p1 - s1 + s2 + scale
    else:  # %
        scale = max(s1, s2)
        precision = min(p1 - s1, p2 - s2) + scale
    if precision > 38:
        integral = precision - scale
        if integral <= 32:
            scale = min(scale, 38 - integral)
        elif scale > 6:
            scale = 6
        precision = 38
    return decimal_type(max(1, precision), scale)


def arithmetic_type(operator: str, left: SqlType | None, right: SqlType | None,
                    left_node: exp.Expression | None = None, right_node: exp.Expression | None = None
                    ) -> SqlType | None:
    """The type of ``left <operator> right`` for numbers (None when not both known, or not numbers)."""
    if left is None or right is None:
        return None
    if left.is_string and right.is_number:
        left = right if not right.is_exact else decimal_type(38, 0) if right.name == "decimal" else right
    if right.is_string and left.is_number:
        right = left if not left.is_exact else decimal_type(38, 0) if left.name == "decimal" else left
    if not (left.is_number and right.is_number):
        return None
    names = {left.name, right.name}
    if names & {"float", "real"}:
        return FLOAT if "float" in names or names != {"real"} else SqlType("real", precision=24)
    if "decimal" in names:
        facets_left, facets_right = decimal_facets(left, left_node), decimal_facets(right, right_node)
        if facets_left is None or facets_right is None:
            return None
        return decimal_result(operator, facets_left, facets_right)
    if names & {"money", "smallmoney"}:
        return MONEY if "money" in names or names - {"smallmoney"} else SqlType("smallmoney", precision=10,
                                                                                 scale=4)
    winner = left if left.rank <= right.rank else right
    return INT if winner.name == "bit" else winner


def highest(types: list[SqlType | None]) -> SqlType | None:
    """The result type of CASE, COALESCE, IIF, UNION: the highest precedence; decimals widened to hold
    every branch; strings to the longest."""
    known = [t for t in types if t is not None]
    if not known:
        return None
    winner = min(known, key=lambda t: t.rank)
    if winner.name == "decimal":
        facets = [decimal_facets(t) for t in known if t.is_number and t.name not in ("float", "real")]
        facets = [f for f in facets if f is not None]
        if facets:
            scale = max(s for _, s in facets)
            integral = max(p - s for p, s in facets)
            return decimal_type(min(38, integral + scale), min(scale, 38))
    if winner.is_string or winner.is_binary:
        same = [t for t in known if t.is_string == winner.is_string and t.is_binary == winner.is_binary]
        if any(t.length < 0 for t in same):
            return SqlType(winner.name, -1)
        return SqlType(winner.name, max(t.length for t in same))
    return winner


class Typer:
    """Types of one statement's expressions (a tree before its rewrite; see ``type_of``)."""

    def __init__(self, database: SchemaSource, tree: exp.Expression,
                 variables: dict[str, SqlType] | None = None) -> None:
        self.database = database
        self.tree = tree
        self.variables = variables or {}
        self._columns: dict[int, SqlType | None] | None = None
        # types already worked out, by node (the node kept beside its type, so its id is not reused): the
        # rewrite types children before parents, and a long a+b+c+… chain is then typed once, not n times deep
        self._known: dict[int, tuple[exp.Expression, SqlType | None]] = {}

    def columns(self) -> dict[int, SqlType | None]:
        if self._columns is None:
            self._columns = column_types(self.database, self.tree, self.variables)
        return self._columns

    def type_of(self, node: exp.Expression | None) -> SqlType | None:
        if node is None:
            return None
        meta = node.meta.get(TYPE_META) if node._meta else None  # noqa: SLF001 - do not create empty meta dicts
        if meta is not None:
            return meta  # type: ignore[no-any-return]
        known = self._known.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        found = self._type(node)
        self._known[id(node)] = (node, found)
        return found

    def _type(self, node: exp.Expression) -> SqlType | None:  # noqa: C901 - one case per kind of node
        from sqlglot import exp

        if isinstance(node, exp.Column):
            return self.columns().get(id(node))
        if isinstance(node, exp.Literal):
            return literal_type(node)
        if isinstance(node, exp.HexString):
            return SqlType("varbinary", max(1, (len(node.this) + 1) // 2))
        if isinstance(node, (exp.Parameter, exp.Placeholder)):
            name = node.name.lower() if node.name else ""
            return self.variables.get(name)
        if isinstance(node, (exp.Paren, exp.Alias)):
            return self.type_of(node.this)
        if isinstance(node, exp.Neg):
            found = self.type_of(node.this)
            return INT if found is not None and found.name in ("bit", "tinyint") else found
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return cast_target(node.to, bool(node.to.expressions))
        if isinstance(node, exp.Convert):
            return cast_target(node.this, bool(node.this.expressions))
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
            return self.operation(node)
        if isinstance(node, exp.DPipe):
            return concatenation(self.type_of(node.left), self.type_of(node.right))
        if isinstance(node, (exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor)):
            return arithmetic_type("+", self.type_of(node.left), self.type_of(node.right))
        if isinstance(node, exp.BitwiseNot):
            return self.type_of(node.this)
        if isinstance(node, (exp.Coalesce,)):
            if node.args.get("is_null") or node.args.get("is_nvl"):  # ISNULL: the first argument's type
                return self.type_of(node.this)
            return highest([self.type_of(node.this)] + [self.type_of(e) for e in node.expressions])
        if isinstance(node, exp.If):
            return highest([self.type_of(node.args.get("true")), self.type_of(node.args.get("false"))])
        if isinstance(node, exp.Case):
            branches = [self.type_of(i.args.get("true")) for i in node.args.get("ifs") or []]
            return highest(branches + [self.type_of(node.args.get("default"))])
        if isinstance(node, exp.Nullif):
            return self.type_of(node.this)
        if isinstance(node, exp.Subquery):
            inner = node.this
            return self.type_of(inner.selects[0]) if isinstance(inner, exp.Select) and inner.selects else None
        if isinstance(node, exp.Window):
            return self.type_of(node.this)
        if isinstance(node, exp.Func):
            return self.function(node)
        return None

    def operation(self, node: exp.Expression) -> SqlType | None:
        from sqlglot import exp

        left, right = self.type_of(node.left), self.type_of(node.right)
        if isinstance(node, exp.Add) and left is not None and right is not None:
            if left.is_string and right.is_string:
                return concatenation(left, right)
            if left.is_date and right.is_number or right.is_date and left.is_number:
                return left if left.is_date else right
        operator = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%"}[type(node)]
        return arithmetic_type(operator, left, right, node.left, node.right)

    def function(self, node: exp.Func) -> SqlType | None:  # noqa: C901 - one case per function
        from sqlglot import exp

        name = node.name.upper() if isinstance(node, exp.Anonymous) else type(node).__name__.upper()
        if isinstance(node, exp.Uuid):
            return GUID
        if isinstance(node, exp.CurrentTimestamp):
            return DATETIME
        if isinstance(node, exp.Count):
            return BIGINT if node.args.get("big") else INT
        if isinstance(node, (exp.Min, exp.Max, exp.Abs, exp.Upper, exp.Lower, exp.Trim, exp.Reverse)):
            return self.type_of(node.this)
        if isinstance(node, exp.Sum):
            found = self.type_of(node.this)
            if found is None:
                return None
            if found.name == "decimal":
                return decimal_type(38, found.scale)
            if found.name in ("tinyint", "smallint", "bit"):
                return INT
            if found.name == "smallmoney":
                return MONEY
            return found if found.is_number else None
        if isinstance(node, exp.Avg):
            found = self.type_of(node.this)
            if found is None:
                return None
            if found.name == "decimal":
                return decimal_type(38, max(found.scale, 6))
            if found.name in ("tinyint", "smallint", "bit"):
                return INT
            if found.name == "smallmoney":
                return MONEY
            return found if found.is_number else None
        if isinstance(node, exp.Round):
            return self.type_of(node.this)
        if isinstance(node, (exp.Ceil, exp.Floor, exp.Sign)):
            found = self.type_of(node.this)
            if found is not None and found.name == "decimal" and not isinstance(node, exp.Sign):
                return decimal_type(found.precision, 0)
            return found
        if isinstance(node, exp.Pow):
            found = self.type_of(node.this)
            if found is not None and found.name == "decimal":
                return decimal_type(38, found.scale)
            return FLOAT if found is None or not found.is_integer else found
        if isinstance(node, exp.Length):
            found = self.type_of(node.this)
            return BIGINT if found is not None and found.is_long else INT
        if isinstance(node, (exp.Substring, exp.Replace, exp.Stuff, exp.Repeat)):
            found = self.type_of(node.this)
            if found is None or not (found.is_string or found.is_binary):
                return SqlType("varchar", 8000) if found is None or found.is_number else found
            if isinstance(node, exp.Substring) or found.is_long:
                if found.name in ("char", "nchar"):  # a part of a char(n) is a varchar(n)
                    return SqlType("nvarchar" if found.is_unicode else "varchar", found.length)
                return found
            return SqlType("nvarchar", 4000) if found.is_unicode else SqlType("varchar", 8000)
        if isinstance(node, exp.Space):
            return SqlType("varchar", 8000)
        if isinstance(node, (exp.Concat, exp.ConcatWs)):
            parts = [self.type_of(e) for e in node.expressions]
            unicode = any(p is not None and p.is_unicode for p in parts)
            return NVARCHAR_4000 if unicode else SqlType("varchar", 8000)
        if isinstance(node, exp.GroupConcat):
            found = self.type_of(node.this)
            return NVARCHAR_MAX if found is not None and found.is_unicode else SqlType("varchar", -1)
        if isinstance(node, (exp.Coalesce,)):
            return self.type_of(node.this)
        if isinstance(node, exp.StrPosition):
            return INT
        if isinstance(node, (exp.Ascii, exp.Unicode)):
            return INT
        if isinstance(node, exp.Chr):
            return SqlType("char", 1)
        if isinstance(node, (exp.Sqrt, exp.Exp, exp.Ln, exp.Log, exp.Pi, exp.Rand)):
            return FLOAT
        if isinstance(node, (exp.Greatest, exp.Least)):
            return highest([self.type_of(node.this)] + [self.type_of(e) for e in node.expressions])
        if isinstance(node, exp.DateFromParts):
            return DATE
        if isinstance(node, exp.Anonymous):
            if name.startswith("__GLOBAL_"):  # @@OPTIONS and friends, as the translator wrote them
                return _FIXED_RESULTS.get("@@" + name.removeprefix("__GLOBAL_"))
            if name in ("LEFT", "RIGHT"):
                found = self.type_of(node.expressions[0]) if node.expressions else None
                if found is not None and found.is_string:
                    return SqlType("nvarchar" if found.is_unicode else "varchar", found.length)
                return SqlType("varchar", 8000)
            if name == "CHOOSE":
                return highest([self.type_of(e) for e in node.expressions[1:]])
            if name in ("ISNULL",):
                return self.type_of(node.expressions[0]) if node.expressions else None
        return _FIXED_RESULTS.get(name)


def concatenation(left: SqlType | None, right: SqlType | None) -> SqlType | None:
    """'a' + N'b': nvarchar if either side is; the lengths added, up to 8000 bytes (4000 characters)."""
    known = [t for t in (left, right) if t is not None]
    if not known:
        return None
    unicode = any(t.is_unicode for t in known)
    if any(t.is_long for t in known) or len(known) < 2:
        return NVARCHAR_MAX if unicode else SqlType("varchar", -1)
    total = sum(t.length for t in known)
    limit = 4000 if unicode else 8000
    return SqlType("nvarchar" if unicode else "varchar", total) if total <= limit else (
        NVARCHAR_MAX if unicode else SqlType("varchar", -1))


def cast_target(target: exp.Expression, has_length: bool) -> SqlType | None:
    """The type CAST/CONVERT gives: the one named; (n)char/(n)varchar/(var)binary without a length are 30
    long there (a declaration without a length is 1)."""
    declared = sql_type(target.sql("tsql"))
    if declared is not None and declared.name in ("char", "varchar", "nchar", "nvarchar", "binary",
                                                  "varbinary") and not has_length:
        return SqlType(declared.name, 30)
    return declared


def column_types(database: SchemaSource, tree: exp.Expression,
                 variables: dict[str, SqlType]) -> dict[int, SqlType | None]:
    """Declared types of the statement's column references (keyed by node id). sqlglot qualifies a copy
    (each column is tagged before the copy so it can be found again after) and its scopes say where each
    column comes from: a table (the catalog's type) or a derived table or CTE (the type of that
    projection, by these rules, recursively)."""
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import Scope, traverse_scope

    columns = list(tree.find_all(exp.Column))
    for index, column in enumerate(columns):
        column.meta[_COLUMN_TAG] = index
    found: dict[int, SqlType | None] = {}
    declared = database.columns()
    try:
        schema = database.schema()
        copy = qualify(tree.copy(), schema=schema, dialect="tsql", quote_identifiers=False,
                       validate_qualify_columns=False, identify=False)
        typer = Typer(database, copy, variables)
        typer._columns = {}  # noqa: SLF001 - filled below, scope by scope (inner scopes first)
        for scope in traverse_scope(copy):
            for column in scope.columns:
                source = scope.sources.get(column.table)
                result: SqlType | None = None
                if isinstance(source, exp.Table):
                    result = next((t for n, t in declared.get(source.name.lower(), [])
                                   if n.lower() == column.name.lower()), None)
                elif isinstance(source, Scope) and isinstance(source.expression, exp.Query):
                    for projection in source.expression.selects:
                        if projection.alias_or_name.lower() == column.name.lower():
                            result = typer.type_of(projection)
                            break
                typer._columns[id(column)] = result  # noqa: SLF001
                tag = column.meta.get(_COLUMN_TAG)
                if tag is not None and result is not None:
                    found[id(columns[tag])] = result
    except Exception:  # noqa: BLE001 - an unusual shape: fall back to the columns' names below
        pass
    tables = [t.name.lower() for t in tree.find_all(exp.Table)]
    for column in columns:
        column.meta.pop(_COLUMN_TAG, None)
        if id(column) in found:
            continue
        for table in ([column.table.lower()] if column.table else []) + tables:
            match = next((t for n, t in declared.get(table, []) if n.lower() == column.name.lower()), None)
            if match is not None:
                found[id(column)] = match
                break
    return found

