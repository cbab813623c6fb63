"""Operators and aggregates rewritten to SQL Server's semantics (called by rewrite.py for each node, children
first, with the statement's typer):

- + - * / % and unary minus of exact types (decimal, money) become ``__tsql_decimal``/``__tsql_negate``
  with the result's precision and scale: SQLite would compute them in floats;
- integer results are checked for overflow as SQL Server's int/smallint/tinyint/bigint overflow (8115,
  220; SQLite computes in 64 bits, then in floats), integer / and % truncate and refuse 0 (8134; SQLite
  answers NULL), float / refuses 0 too;
- a string + a string is concatenation; a string in arithmetic is converted to the number it meets;
- comparisons follow data type precedence: the lower type is converted to the higher (a string
  constant once, here), exact values are compared by value (``__tsql_compare``) unless SQLite can:
  a decimal column against a constant, through the column's TSQL_DECIMAL collation;
- SUM and AVG of exact values are exact (``__tsql_sum``, ``__tsql_avg_exact``), SUM of integers
  overflows as in SQL Server, AVG of integers is an integer; MIN, MAX and ORDER BY of computed exact
  values order by value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import conversions, datetimes
from .sqltypes import SqlType, higher
from .typer import TYPE_META, Typer

if TYPE_CHECKING:
    from sqlglot import exp


def call(name: str, *arguments: exp.Expression, sql_type: SqlType | None = None) -> exp.Anonymous:
    from sqlglot import exp

    node = exp.Anonymous(this=name, expressions=list(arguments))
    if sql_type is not None:
        node.meta[TYPE_META] = sql_type
    return node


def _text(value: str) -> exp.Expression:
    from sqlglot import exp

    return exp.Literal.string(value)


def _typed(node: exp.Expression, sql_type: SqlType | None) -> exp.Expression:
    if sql_type is not None:
        node.meta[TYPE_META] = sql_type
    return node


def rewrite_operator(node: exp.Expression, typer: Typer) -> exp.Expression | None:  # noqa: C901
    from sqlglot import exp

    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
        return _arithmetic(node, typer)
    if isinstance(node, exp.Neg):
        return _negate(node, typer)
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return _comparison(node, typer)
    if isinstance(node, exp.Between):
        return _between(node, typer)
    if isinstance(node, exp.In):
        return _in_list(node, typer)
    if isinstance(node, exp.Sum):
        return _sum(node, typer)
    if isinstance(node, exp.Avg):
        return _average(node, typer)
    if isinstance(node, (exp.Min, exp.Max)):
        return _ordered_by_value(node, typer)
    if isinstance(node, exp.Ordered):
        return _ordered_by_value(node, typer)
    if isinstance(node, exp.Abs):
        found = typer.type_of(node.this)
        if found is not None and found.is_exact:
            return call("__tsql_abs", node.this, exp.Literal.number(found.scale), sql_type=found)
        return None
    if isinstance(node, (exp.Ceil, exp.Floor)):
        found = typer.type_of(node.this)
        if found is not None and found.is_exact:
            name = "__tsql_ceiling" if isinstance(node, exp.Ceil) else "__tsql_floor"
            return call(name, node.this, sql_type=typer.type_of(node))
        return None
    if isinstance(node, exp.Sign):
        found = typer.type_of(node.this)
        if found is not None and found.is_exact:
            return call("__tsql_sign", node.this, exp.Literal.number(found.scale), sql_type=found)
        return None
    return None


# -- arithmetic -------------------------------------------------------------------------------------------
_OPERATORS = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Mod": "%"}


def _arithmetic(node: exp.Expression, typer: Typer) -> exp.Expression | None:  # noqa: C901
    from sqlglot import exp

    left, right = node.left, node.right
    left_type, right_type = typer.type_of(left), typer.type_of(right)
    operator = _OPERATORS[type(node).__name__]
    if operator == "+" and left_type is not None and right_type is not None and (
            left_type.is_string and right_type.is_string):
        return _typed(exp.DPipe(this=left, expression=right, safe=True), typer.type_of(node))
    result = typer.type_of(node)
    if result is None:
        if operator == "/":
            return call("__tsql_divide_any", left, right)
        if operator == "%":
            return call("__tsql_mod_any", left, right)
        return None
    if result.is_date:
        number, moment = (right, left) if left_type is not None and left_type.is_date else (left, right)
        if operator == "-" and number is right:
            number = exp.Neg(this=number)
        return call("__tsql_dateadd", _text("day"), number, moment, _text(result.declaration()), sql_type=result)
    if result.is_exact:
        return call("__tsql_decimal", _text(operator), left, right, exp.Literal.number(result.precision),
                    exp.Literal.number(result.scale), _text(result.name), sql_type=result)
    left = _as_number(left, left_type, result)
    right = _as_number(right, right_type, result)
    if result.name in ("float", "real"):
        if operator == "/":
            return call("__tsql_float_divide", left, right, sql_type=result)
        _set_operands(node, left, right)
        return None
    if result.is_integer:
        if operator == "/":
            return call("__tsql_int_divide", left, right, _text(result.name), sql_type=result)
        if operator == "%":
            return call("__tsql_int_mod", left, right, sql_type=result)
        _set_operands(node, left, right)
        parent = node.parent
        if isinstance(parent, (exp.Add, exp.Sub, exp.Mul)) and (typer.type_of(parent) or result).is_integer:
            # a chain (a + b + c …) is checked once, at its end: SQLite adds in 64 bits, so the sum that
            # matters is the last, and one check per term would nest as deep as the chain is long
            return None
        return call("__tsql_int_check", node.copy(), _text(result.name), sql_type=result)
    return None


def _set_operands(node: exp.Binary, left: exp.Expression, right: exp.Expression) -> None:
    """Put the converted operands back into the operator node (only those that changed)."""
    if left is not node.left:
        node.set("this", left)
    if right is not node.right:
        node.set("expression", right)


def _as_number(node: exp.Expression, found: SqlType | None, result: SqlType) -> exp.Expression:
    """A string operand converted to the result's number type (SQL Server converts '5' + 1 to 6 and
    refuses 'abc' + 1); other operands as they are."""
    if found is None or not found.is_string:
        return node
    if found.is_string and result.is_number:
        return call("__tsql_convert", node, _text(result.declaration()), _text(found.declaration()),
                    _null(), _one(), sql_type=result)
    return node


def _null() -> exp.Expression:
    from sqlglot import exp

    return exp.Null()


def _one() -> exp.Expression:
    from sqlglot import exp

    return exp.Literal.number(1)


def _negate(node: exp.Neg, typer: Typer) -> exp.Expression | None:
    from sqlglot import exp

    found = typer.type_of(node.this)
    if found is None or not found.is_exact:
        return None
    inner = node.this
    if isinstance(inner, exp.Literal) and inner.is_string:  # a decimal constant: negated here
        text = inner.this[1:] if inner.this.startswith("-") else "-" + inner.this
        literal = exp.Literal.string(text)
        literal.meta[TYPE_META] = found
        return literal
    return call("__tsql_negate", inner, exp.Literal.number(found.scale), sql_type=found)


# -- comparisons ------------------------------------------------------------------------------------------
def _is_constant(node: exp.Expression) -> bool:
    from sqlglot import exp

    return isinstance(node, (exp.Literal, exp.Parameter, exp.Placeholder, exp.Null)) or (
        isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal))


def _is_column(node: exp.Expression) -> bool:
    from sqlglot import exp

    return isinstance(node, exp.Column) and not isinstance(node.this, exp.Star)


def _comparison(node: exp.Expression, typer: Typer) -> exp.Expression | None:  # noqa: C901
    from sqlglot import exp

    left, right = node.left, node.right
    left_type, right_type = typer.type_of(left), typer.type_of(right)
    target = higher(left_type, right_type)
    if target is None or left_type is None or right_type is None:
        return None
    if target.is_exact:
        if _native_exact(left, left_type, right, right_type):
            return None
        return type(node)(this=call("__tsql_compare", left, right), expression=exp.Literal.number(0))
    if target.name in ("float", "real"):
        return None  # SQLite compares exact text with a float as numbers (numeric affinity)
    if target.is_date or target.name == "uniqueidentifier":
        if left_type == right_type and target.name != "datetimeoffset":
            return None  # one stored form: text order is value order
        new_left = left if left_type == target else _converted(left, left_type, target)
        new_right = right if right_type == target else _converted(right, right_type, target)
        if target.name == "datetimeoffset" and not (_is_column(left) and _is_constant(right) or
                                                    _is_column(right) and _is_constant(left)):
            return type(node)(this=call("__tsql_compare_instant", new_left, new_right),
                              expression=exp.Literal.number(0))
        if new_left is left and new_right is right:
            return None
        return type(node)(this=new_left, expression=new_right)
    if target.is_integer and (left_type.is_string or right_type.is_string):
        return None  # SQLite converts the text to a number against an integer column or value
    if left_type.is_string and right_type.is_string and not (_is_column(left) or _is_column(right)):
        # Azure SQL's collation is case-insensitive: 'abc' = 'ABC'. A column brings its own (NOCASE, or padded for
        # char) to SQLite's comparison; two values without one would be compared byte by byte.
        return type(node)(this=exp.Collate(this=left, expression=exp.var("NOCASE")), expression=right)
    return None


def _in_list(node: exp.In, typer: Typer) -> exp.Expression | None:
    """x IN ('a', 'b') with a string x that is no column (a variable, a function's result): compared
    case-insensitively, as by = (a column brings its own collation to SQLite's IN)."""
    from sqlglot import exp

    found = typer.type_of(node.this)
    values = node.expressions
    if found is None or not found.is_string or _is_column(node.this) or not values:
        return None
    if not all((typer.type_of(value) or found).is_string for value in values):
        return None
    node.set("this", exp.Collate(this=node.this, expression=exp.var("NOCASE")))
    return None


def _native_exact(left: exp.Expression, left_type: SqlType, right: exp.Expression, right_type: SqlType) -> bool:
    """Can SQLite compare these by value itself? A decimal column (its TSQL_DECIMAL collation) against a
    constant or another decimal column; a number column against a constant (numeric affinity)."""
    for column, column_type, other, other_type in ((left, left_type, right, right_type),
                                                   (right, right_type, left, left_type)):
        if not _is_column(column):
            continue
        if column_type.is_exact and (_is_constant(other) or (_is_column(other) and other_type.is_exact)):
            return True
        if column_type.is_number and not column_type.is_exact and _is_constant(other):
            return True
    return False


def _converted(node: exp.Expression, found: SqlType, target: SqlType) -> exp.Expression:
    """An operand converted to the comparison's type: a string constant now (its error at once, as SQL
    Server's constant folding gives it), anything else by ``__tsql_convert`` when it runs."""
    from sqlglot import exp

    if isinstance(node, exp.Literal) and node.is_string and not (
            target.is_date and not datetimes.reads_the_same_in_every_dateformat(node.this, target.name)):
        value = conversions.convert(node.this, target, found)
        literal = exp.Literal.string(str(value))
        literal.meta[TYPE_META] = target
        return literal
    return call("__tsql_convert", node, _text(target.declaration()), _text(found.declaration()), _null(), _one(),
                sql_type=target)


def _between(node: exp.Between, typer: Typer) -> exp.Expression | None:
    from sqlglot import exp

    found = typer.type_of(node.this)
    if found is None or not found.is_exact or _is_column(node.this):
        return None
    low = exp.GTE(this=call("__tsql_compare", node.this, node.args["low"]), expression=exp.Literal.number(0))
    high = exp.LTE(this=call("__tsql_compare", node.this.copy(), node.args["high"]), expression=exp.Literal.number(0))
    return exp.Paren(this=exp.And(this=low, expression=high))


# -- aggregates and ordering ---------------------------------------------------------------------------------
def _sum(node: exp.Sum, typer: Typer) -> exp.Expression | None:
    from sqlglot import exp

    found = typer.type_of(node.this)
    result = typer.type_of(node)
    if found is None or result is None or isinstance(node.this, exp.Distinct):
        return None
    if found.is_exact:
        return call("__tsql_sum", node.this, exp.Literal.number(result.scale), _text(result.name), sql_type=result)
    if result.is_integer and not isinstance(node.parent, exp.Window):
        return call("__tsql_int_check", node, _text(result.name), sql_type=result)
    return None


def _average(node: exp.Avg, typer: Typer) -> exp.Expression | None:
    from sqlglot import exp

    found = typer.type_of(node.this)
    result = typer.type_of(node)
    if found is None or result is None or isinstance(node.this, exp.Distinct):
        return None
    if isinstance(node.parent, exp.Window):
        node.parent.meta[TYPE_META] = result  # the result column is the window expression
    if found.is_exact:
        return call("__tsql_avg_exact", node.this, exp.Literal.number(result.scale), _text(result.name),
                    sql_type=result)
    if found.is_integer:
        return call("__tsql_avg", node.this, _text("int"), exp.Literal.number(0), sql_type=result)
    return None


def _ordered_by_value(node: exp.Expression, typer: Typer) -> exp.Expression | None:
    """MIN/MAX/ORDER BY of a computed exact (or datetimeoffset) value: by value, through the collation a
    column of that type has (a column already has it)."""
    from sqlglot import exp

    inner = node.this
    if isinstance(inner, exp.Collate) or _is_column(inner) or isinstance(inner, exp.Literal):
        return None
    found = typer.type_of(inner)
    if found is None:
        return None
    collation = "TSQL_DECIMAL" if found.is_exact else "TSQL_DATETIMEOFFSET" if found.name == "datetimeoffset" \
        else None
    if collation is None:
        return None
    node.set("this", _typed(exp.Collate(this=inner, expression=exp.var(collation)), found))
    return node

