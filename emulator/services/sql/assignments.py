"""Values written into columns (INSERT … VALUES, INSERT … SELECT, UPDATE … SET) go through
``__tsql_assign``, SQL Server's implicit conversion to the column's declared type (conversions.assign):
a decimal rounded to the column's scale or refused with 8115, a string longer than the column refused
with 2628 naming the table and column (cut when ANSI_WARNINGS is OFF), char(n) padded, a date read from
any of SQL Server's formats and rounded to the type (datetime to 1/300 s) … SQLite would store what it
was given: 'abcdefgh' in a varchar(5), 1.234 in a decimal(10,2), '2011-12-4' as text that sorts wrong.
A value already of the column's exact type is written as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from . import errors
from .operators import call
from .sqltypes import SqlType
from .typer import TYPE_META, SchemaSource, Typer

if TYPE_CHECKING:
    from sqlglot import exp


class AssignmentTarget(SchemaSource, Protocol):
    """The database whose columns are written (``models.Database``)."""

    def identities(self) -> dict[str, frozenset[str]]: ...


def assign_values(database: AssignmentTarget, tree: exp.Expression, typer: Typer) -> None:
    from sqlglot import exp

    if isinstance(tree, exp.Insert):
        _insert(database, tree, typer)
    elif isinstance(tree, exp.Update):
        _update(database, tree, typer)


def _columns(database: AssignmentTarget, table: str) -> list[tuple[str, SqlType]]:
    return database.columns().get(table.lower(), [])


def _wrapped(database: AssignmentTarget, value: exp.Expression, column: str, declared: SqlType, table: str,
             typer: Typer) -> exp.Expression:
    from sqlglot import exp

    if isinstance(value, (exp.Null, exp.Var)) or (isinstance(value, exp.Column) and value.name.upper() == "DEFAULT"):
        return value
    source = typer.type_of(value)
    if source is not None and source == declared:
        return value  # already the column's type: stored as it is
    wrapped = call("__tsql_assign", value, exp.Literal.string(declared.declaration()),
                   exp.Literal.string(source.declaration() if source is not None else ""),
                   exp.Literal.string(f"{database.name}.dbo.{table}"), exp.Literal.string(column))
    wrapped.meta[TYPE_META] = declared
    return wrapped


def _insert(database: AssignmentTarget, tree: exp.Insert, typer: Typer) -> None:
    from sqlglot import exp

    schema = tree.this
    table = schema.this if isinstance(schema, exp.Schema) else schema
    if not isinstance(table, exp.Table):
        return
    declared = {name.lower(): (name, found) for name, found in _columns(database, table.name)}
    if not declared:
        return
    identity_left_out = False
    if isinstance(schema, exp.Schema) and schema.expressions:
        names = [c.name for c in schema.expressions]
    else:  # no column list: every column but the identity one, in order
        identity = database.identities().get(table.name.lower(), frozenset())
        names = [name for name, _ in _columns(database, table.name) if name.lower() not in identity]
        identity_left_out = bool(identity)
        if identity_left_out:  # SQLite would want a value for every column: name the others, as SQL Server reads it
            tree.set("this", exp.Schema(this=table.copy(), expressions=[exp.to_identifier(n) for n in names]))
    targets = [declared.get(name.lower()) for name in names]
    source = tree.expression
    if isinstance(source, exp.Values):
        for row in source.expressions:
            values = row.expressions if isinstance(row, exp.Tuple) else [row]
            if len(values) != len(targets):
                if identity_left_out and len(values) == len(targets) + 1:  # a value for the identity column too
                    raise errors.identity_needs_column_list(table.name)
                raise errors.insert_values_mismatch(len(values) > len(targets))
            wrapped = [value if target is None else _wrapped(database, value, target[0], target[1], table.name, typer)
                       for value, target in zip(list(values), targets, strict=True)]
            if isinstance(row, exp.Tuple):
                row.set("expressions", wrapped)
            else:
                row.replace(wrapped[0])
        return
    if not isinstance(source, exp.Query):
        return
    selects = source.selects if isinstance(source, exp.Select) else []
    simple = isinstance(source, exp.Select) and selects and not any(
        isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star)) for s in selects)
    if simple:
        if len(selects) != len(targets):
            raise errors.insert_values_mismatch(len(selects) > len(targets))
        projections = []
        for projection, target in zip(list(selects), targets, strict=True):
            if target is None:
                projections.append(projection)
                continue
            if isinstance(projection, exp.Alias):
                projection.set("this", _wrapped(database, projection.this, target[0], target[1], table.name, typer))
                projections.append(projection)
            else:
                projections.append(_wrapped(database, projection, target[0], target[1], table.name, typer))
        source.set("expressions", projections)
        return
    # a UNION, a SELECT *: read it as a CTE with one name per target column, then convert each
    aliases = [f"c{index}" for index in range(len(targets))]
    cte = exp.CTE(this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("__source"),
                                                           columns=[exp.to_identifier(a) for a in aliases]))
    projections = []
    for alias, target in zip(aliases, targets, strict=True):
        column = exp.column(alias)
        projections.append(column if target is None else call(
            "__tsql_assign", column, exp.Literal.string(target[1].declaration()), exp.Literal.string(""),
            exp.Literal.string(f"{database.name}.dbo.{table.name}"), exp.Literal.string(target[0])))
    query = exp.select(*projections).from_("__source")
    query.set("with_", exp.With(expressions=[cte]))
    tree.set("expression", query)


def _update(database: AssignmentTarget, tree: exp.Update, typer: Typer) -> None:
    from sqlglot import exp

    table = tree.this
    if not isinstance(table, exp.Table):
        return
    declared = {name.lower(): (name, found) for name, found in _columns(database, table.name)}
    for assignment in tree.expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.left, exp.Column):
            continue
        target = declared.get(assignment.left.name.lower())
        if target is not None:
            assignment.set("expression", _wrapped(database, assignment.right, target[0], target[1], table.name,
                                                  typer))
