"""Exact numerics (decimal/numeric, money, smallmoney) as SQL Server computes them, never through a float.

Why text: SQLite has no decimal type. A number literal or a value in a NUMERIC column becomes a 64-bit
float (15-17 significant digits), so 123456789012345.11 would come back as 123456789012345.12 and
decimal(38, x) could not be stored at all. A scaled integer would keep 18 digits, not SQL Server's 38.
The emulator keeps each exact value as TEXT in one canonical form per scale — plain digits, a '-' for
negatives, exactly ``scale`` digits after the point ('-12.50', '0.0000') — which keeps every digit and
reads back as itself, with:

- the ``TSQL_DECIMAL`` collation on the column (``compare``), so that ORDER BY, MIN/MAX, GROUP BY,
  DISTINCT, keys, joins and comparisons with constants order by value, not by text;
- SQL functions for the operators and aggregates (``register``): the translator rewrites every + - * / %,
  unary minus, comparison of computed values, SUM, AVG, ABS, CEILING, FLOOR and SIGN of an exact value
  to them, so SQLite's float arithmetic is never used on one. Results have the precision and scale SQL
  Server gives them ("Precision, scale, and length (Transact-SQL)": the rewrite works the type out, the
  function gets it) and raise SQL Server's overflow (8115) and divide-by-zero (8134) errors.

Hand-written: Python's ``decimal`` does the arithmetic; nothing implements SQL Server's rules on top.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from . import errors
from .errors import SqlError, raise_in_function

# 80 digits: a product of two 38-digit values is exact before it is rounded to its result scale
CONTEXT = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_UP, Emin=-999999, Emax=999999,
                          traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
_QUANTA = [Decimal(1).scaleb(-scale) for scale in range(0, 39)]
MONEY_LIMIT = Decimal("922337203685477.5807")
SMALLMONEY_LIMIT = Decimal("214748.3647")


# -- values -----------------------------------------------------------------------------------------
def to_decimal(value: Any) -> Decimal | None:
    """An exact value from what SQLite or a client holds: canonical text, int, Decimal; a float by its
    shortest repr (what SQL Server's float-to-decimal conversion keeps of a float literal). None when the
    value is no number (the caller raises its conversion error)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str):
        text = value.strip()
        if not text or not _plain_number(text):
            return None
        return Decimal(text)
    return None


def _plain_number(text: str) -> bool:
    """[+-]digits[.digits] or [+-].digits: what converts from a string to decimal (no exponent)."""
    body = text[1:] if text[0] in "+-" else text
    whole, _, fraction = body.partition(".")
    return bool(whole or fraction) and (not whole or whole.isdigit()) and (not fraction or fraction.isdigit()) \
        and whole.isascii() and fraction.isascii()


def not_a_number(value: Any) -> SqlError:
    """A value an exact operator cannot read (text that is no number): SQL Server's 8114."""
    return errors.error_converting("nvarchar" if isinstance(value, str) else "varbinary", "numeric")


def canonical(number: Decimal, scale: int) -> str:
    """The stored text of a value already at ``scale``: plain digits, exactly ``scale`` after the point."""
    text = format(number, "f")
    if text.startswith("-") and not number:
        text = text[1:]  # no negative zero
    return text


def fit(number: Decimal, precision: int, scale: int, *, truncate: bool = False) -> Decimal | None:
    """The value at ``scale`` (rounded half away from zero, or cut), or None when it needs more than
    ``precision`` digits."""
    quantized = number.quantize(_QUANTA[scale], rounding=decimal.ROUND_DOWN if truncate else decimal.ROUND_HALF_UP,
                                context=CONTEXT)
    if quantized.adjusted() >= precision - scale and quantized:
        return None
    return quantized


def fits_type(number: Decimal, type_name: str) -> bool:
    """money is a 64-bit and smallmoney a 32-bit count of ten-thousandths: one more below zero than above."""
    limit = MONEY_LIMIT if type_name == "money" else SMALLMONEY_LIMIT if type_name == "smallmoney" else None
    return limit is None or -limit - Decimal("0.0001") <= number <= limit


def store(number: Decimal, type_name: str, precision: int, scale: int, source: str) -> str:
    """``number`` as a value of the exact type (decimal(p,s), money, smallmoney), or 8115 naming the source
    type as SQL Server does ('Arithmetic overflow error converting numeric to data type numeric.')."""
    fitted = fit(number, precision, scale)
    if fitted is None or not fits_type(fitted, type_name):
        raise errors.arithmetic_overflow(source, "numeric" if type_name == "decimal" else type_name)
    return canonical(fitted, scale)


# -- operators (registered as __tsql_decimal) ------------------------------------------------------------
def operate(operator: str, left: Any, right: Any, precision: int, scale: int, type_name: str) -> str | None:
    """``left <operator> right`` exactly, at the result's precision and scale (worked out by the rewrite):
    + - * % round to the scale where SQL Server reduced it, / cuts (SQL Server: 2.0/3 = 0.666666)."""
    if left is None or right is None:
        return None
    a, b = to_decimal(left), to_decimal(right)
    if a is None or b is None:
        raise_in_function(not_a_number(left if a is None else right))
    assert a is not None and b is not None
    try:
        if operator == "+":
            result = CONTEXT.add(a, b)
        elif operator == "-":
            result = CONTEXT.subtract(a, b)
        elif operator == "*":
            result = CONTEXT.multiply(a, b)
        elif operator == "/":
            if not b:
                raise_in_function(errors.divide_by_zero())
            result = CONTEXT.divide(a, b)
        else:
            if not b:
                raise_in_function(errors.divide_by_zero())
            result = CONTEXT.remainder(a, b)  # sign of the dividend, as SQL Server's %
    except decimal.DecimalException:
        raise_in_function(errors.arithmetic_overflow("expression", _shown(type_name)))
        raise
    fitted = fit(result, precision, scale, truncate=operator == "/")
    if fitted is None or not fits_type(fitted, type_name):
        raise_in_function(errors.arithmetic_overflow("expression", _shown(type_name)))
    assert fitted is not None
    return canonical(fitted, scale)


def negate(value: Any, scale: int) -> str | None:
    if value is None:
        return None
    number = to_decimal(value)
    if number is None:
        raise_in_function(not_a_number(value))
    assert number is not None
    return canonical(number.quantize(_QUANTA[scale], context=CONTEXT).copy_negate(), scale)


def _shown(type_name: str) -> str:
    return "numeric" if type_name == "decimal" else type_name


def compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1 (NULL with a NULL): the rewrite turns ``a < b`` of exact values into
    ``__tsql_compare(a, b) < 0``."""
    if left is None or right is None:
        return None
    a, b = to_decimal(left), to_decimal(right)
    if a is None or b is None:
        if isinstance(left, float) or isinstance(right, float):
            return None
        raise_in_function(not_a_number(left if a is None else right))
    assert a is not None and b is not None
    return (a > b) - (a < b)


def collate(left: str, right: str) -> int:
    """The TSQL_DECIMAL collation: numeric order of two stored (or constant) texts; text order for
    anything that is no number (a comparison SQL Server would refuse with a conversion error)."""
    if left == right:
        return 0
    try:
        a, b = Decimal(left), Decimal(right)
    except decimal.InvalidOperation:
        return (left > right) - (left < right)
    return (a > b) - (a < b)


def absolute(value: Any, scale: int) -> str | None:
    number = _number(value)
    return None if number is None else canonical(number.copy_abs().quantize(_QUANTA[scale], context=CONTEXT), scale)


def ceiling(value: Any) -> str | None:
    number = _number(value)
    return None if number is None else canonical(number.to_integral_value(rounding=decimal.ROUND_CEILING), 0)


def floor(value: Any) -> str | None:
    number = _number(value)
    return None if number is None else canonical(number.to_integral_value(rounding=decimal.ROUND_FLOOR), 0)


def sign(value: Any, scale: int) -> str | None:
    number = _number(value)
    if number is None:
        return None
    return canonical(Decimal((number > 0) - (number < 0)).quantize(_QUANTA[scale]), scale)


def _number(value: Any) -> Decimal | None:
    if value is None:
        return None
    number = to_decimal(value)
    if number is None:
        raise_in_function(not_a_number(value))
    return number


# -- aggregates ------------------------------------------------------------------------------------------
class Sum:
    """SUM of exact values: decimal(38, s) (money for money), exact, 8115 past 38 digits."""

    def __init__(self) -> None:
        self.total = Decimal(0)
        self.count = 0
        self.scale = 0
        self.type_name = "decimal"

    def step(self, value: Any, scale: int, type_name: str) -> None:
        self.scale, self.type_name = scale, type_name
        if value is None:
            return
        number = _number(value)
        assert number is not None
        self.total = CONTEXT.add(self.total, number)
        self.count += 1

    def inverse(self, value: Any, scale: int, type_name: str) -> None:  # a row leaves the window frame
        if value is None:
            return
        number = _number(value)
        assert number is not None
        self.total = CONTEXT.subtract(self.total, number)
        self.count -= 1

    def value(self) -> str | None:
        return self.finalize()

    def finalize(self) -> str | None:
        if not self.count:
            return None
        try:
            return store(self.total, self.type_name, 38 if self.type_name == "decimal" else 19, self.scale,
                         "expression")
        except SqlError as exc:
            raise_in_function(exc)
            raise


class Average(Sum):
    """AVG of exact values: decimal(38, max(s, 6)) cut to that scale (money: money), as SQL Server."""

    def finalize(self) -> str | None:
        if not self.count:
            return None
        quotient = CONTEXT.divide(self.total, Decimal(self.count))
        fitted = fit(quotient, 38, self.scale, truncate=True)
        if fitted is None or not fits_type(fitted, self.type_name):
            raise_in_function(errors.arithmetic_overflow("expression", _shown(self.type_name)))
        assert fitted is not None
        return canonical(fitted, self.scale)


def register(conn: Any, window_functions: bool) -> None:
    """The operators, aggregates and collation above, on one SQLite connection."""
    deterministic = {"deterministic": True}
    conn.create_function("__tsql_decimal", 6, operate, **deterministic)
    conn.create_function("__tsql_negate", 2, negate, **deterministic)
    conn.create_function("__tsql_compare", 2, compare, **deterministic)
    conn.create_function("__tsql_abs", 2, absolute, **deterministic)
    conn.create_function("__tsql_ceiling", 1, ceiling, **deterministic)
    conn.create_function("__tsql_floor", 1, floor, **deterministic)
    conn.create_function("__tsql_sign", 2, sign, **deterministic)
    conn.create_collation("TSQL_DECIMAL", collate)
    if window_functions:  # Python ≥ 3.11: SUM(…) OVER (…) too
        conn.create_window_function("__tsql_sum", 3, Sum)
        conn.create_window_function("__tsql_avg_exact", 3, Average)
    else:
        conn.create_aggregate("__tsql_sum", 3, Sum)
        conn.create_aggregate("__tsql_avg_exact", 3, Average)
