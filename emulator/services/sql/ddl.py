"""CREATE TABLE and ALTER TABLE … ADD, as the emulator keeps them: the SQLite table and, beside it, the
declared T-SQL type of every column in the catalog (SQLite keeps only an affinity)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from . import conversions, errors
from .dialect import sqlite_dialect
from .sqltypes import NVARCHAR_4000, SqlType, check_type, max_length, sql_type, storage
from .temporary import TEMPDB
from .translate import Translation, sqlite_error

if TYPE_CHECKING:
    from sqlglot import exp


class TableHost(Protocol):
    """The database a table is made in (``models.Database``)."""

    name: str
    lock: threading.RLock

    @property
    def conn(self) -> sqlite3.Connection: ...

    def table_name(self, name: str) -> str | None: ...

    def changed(self) -> None: ...


def timestamp() -> str:
    """Now, as the catalog records creation and modification times (UTC, as Azure SQL Database's clock)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


_KEY_INTEGER = "KEYINT"  # an integer key column that is not SQLite's rowid (see create_table)


def create_table(database: TableHost, translation: Translation, temporary: bool = False) -> TableShape:
    """CREATE TABLE: the SQLite table (affinities and collations for the declared types, IDENTITY as
    AUTOINCREMENT) and its columns' declared types in the catalog, from which results are typed. A
    #table (``temporary``: the translator named it in tempdb) is made in the attached tempdb and not
    recorded in the catalog: its shape, returned, is kept with the session (temporary.py)."""
    from sqlglot import exp

    tree = translation.table_definition
    assert tree is not None and isinstance(tree.this, exp.Schema)
    tree = tree.copy()
    schema = tree.this
    table = schema.this
    name = table.name
    if not temporary and database.table_name(name) is not None:
        raise errors.object_exists(name)
    table.set("db", exp.to_identifier(TEMPDB) if temporary else None)
    table.set("catalog", None)
    primary_columns: set[str] = set()
    for item in schema.expressions:
        if isinstance(item, (exp.PrimaryKey, exp.Constraint)):
            for key in item.find_all(exp.PrimaryKey):
                primary_columns |= {c.name.lower() for c in key.find_all(exp.Identifier)} | {
                    c.name.lower() for c in key.expressions if hasattr(c, "name")}
    records = []
    ordinal = 0
    for item in list(schema.expressions):
        if not isinstance(item, exp.ColumnDef):
            continue
        ordinal += 1
        kind = item.args.get("kind")
        declared_text = kind.sql("tsql") if kind is not None else "SQL_VARIANT"
        declared = column_type(declared_text, item.name, ordinal)
        constraints = item.args.get("constraints") or []
        # IDENTITY(seed, increment), or bare IDENTITY (sqlglot reads it as AUTOINCREMENT): both are SQL Server's 1, 1
        identity_kinds = (exp.GeneratedAsIdentityColumnConstraint, exp.AutoIncrementColumnConstraint)
        identity = any(isinstance(c.args.get("kind"), identity_kinds) for c in constraints)
        # sqlglot reads an explicit NULL as NotNullColumnConstraint(allow_null=True)
        explicit_not_null = any(isinstance(c.args.get("kind"), exp.NotNullColumnConstraint)
                                and not c.args["kind"].args.get("allow_null") for c in constraints)
        key = item.name.lower() in primary_columns or any(
            isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in constraints)
        not_null = explicit_not_null or key
        if not_null and not explicit_not_null:
            # a key column is NOT NULL in SQL Server; SQLite lets NULL into a key that is not an INTEGER one.
            # First: AUTOINCREMENT must follow PRIMARY KEY directly.
            constraints.insert(0, exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        for constraint in list(constraints):
            if isinstance(constraint.args.get("kind"), exp.CollateColumnConstraint):
                constraints.remove(constraint)
            if isinstance(constraint.args.get("kind"), exp.DefaultColumnConstraint):
                stored_default(constraint.args["kind"], declared, f"{database.name}.dbo.{name}", item.name)
        storage_affinity, collation = storage(declared)
        if storage_affinity == "INTEGER" and key and not identity:
            # A key column typed exactly INTEGER would be SQLite's rowid: NULL, or the column left out, would be
            # given the next number where SQL Server answers 515. KEYINT has the same (integer) affinity.
            item.set("kind", exp.DataType.build(_KEY_INTEGER, udt=True))
        else:
            item.set("kind", exp.DataType.build(storage_affinity))
        if identity:
            if not declared.name.endswith("int"):
                raise errors.unsupported("IDENTITY on a non-integer column")
            constraints = [c for c in constraints if not isinstance(c.args.get("kind"), identity_kinds)]
            if not any(isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in constraints):
                if primary_columns - {item.name.lower()}:
                    raise errors.unsupported("IDENTITY column outside the primary key")
                constraints.append(exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint()))
            constraints.append(exp.ColumnConstraint(kind=exp.AutoIncrementColumnConstraint()))
        if collation is not None:
            constraints.append(exp.ColumnConstraint(kind=exp.CollateColumnConstraint(this=exp.var(collation))))
        item.set("constraints", constraints)
        records.append(_column_record(name, ordinal, item.name, declared, declared_text, not_null, identity))
    if identity_pk := [r for r in records if r[9]]:
        keep = []
        for item in schema.expressions:
            keys = list(item.find_all(exp.PrimaryKey)) if isinstance(item, (exp.PrimaryKey, exp.Constraint)) else []
            if keys and primary_columns == {identity_pk[0][2].lower()}:
                continue
            keep.append(item)
        schema.set("expressions", keep)
    sqlite_ddl = tree.sql(dialect=sqlite_dialect())
    now = timestamp()
    shape = TableShape([(r[2], sql_type(r[3]) or NVARCHAR_4000) for r in records],
                       frozenset(r[2].lower() for r in records if not r[8]),
                       frozenset(r[2].lower() for r in records if r[9]))
    with database.lock:
        try:
            database.conn.execute(sqlite_ddl)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, database.name, translation) from None
        if temporary:
            return shape
        (object_id,) = database.conn.execute(
            "SELECT COALESCE(MAX(object_id), 245575913) + 16000057 FROM __emulator_tables").fetchone()
        database.conn.execute("INSERT INTO __emulator_tables VALUES (?, ?, ?, ?)", (name, object_id, now, now))
        database.conn.executemany("INSERT INTO __emulator_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", records)
    database.changed()
    return shape


@dataclass(frozen=True)
class TableShape:
    """A new table's columns (declared types), its NOT NULL and its IDENTITY columns (lower-case)."""

    columns: list[tuple[str, SqlType]]
    not_null: frozenset[str]
    identity: frozenset[str]


def column_type(declared_text: str, column: str, ordinal: int) -> SqlType:
    """A column's declared type, or SQL Server's error for a type it cannot have."""
    declared = sql_type(declared_text)
    if declared is None:
        raise errors.unsupported(f"column type {declared_text}")
    problem = check_type(declared)
    if problem is not None:
        if problem.startswith("precision"):
            raise errors.precision_too_large(ordinal, declared.precision)
        if problem.startswith("scale") and declared.name == "decimal":
            raise errors.scale_too_large(ordinal, declared.scale, declared.precision)
        if problem.startswith("scale"):
            raise errors.invalid_scale(declared.scale)
        raise errors.invalid_length(0)
    if declared.length > max_length(declared):
        raise errors.size_too_large(column, declared.length, max_length(declared))
    return declared


def _column_record(table: str, ordinal: int, column: str, declared: SqlType, declared_text: str, not_null: bool,
                   identity: bool) -> tuple[object, ...]:
    """A row of __emulator_columns: the declared text, the type's name and facets as sys.columns shows them."""
    return (table, ordinal, column, declared_text, declared.name, declared.length if declared.is_string or
            declared.is_binary else None, declared.precision or None,
            declared.scale if declared.is_exact or declared.name in ("datetime2", "time", "datetimeoffset") else None,
            0 if not_null else 1, 1 if identity else 0)


def stored_default(constraint: exp.DefaultColumnConstraint, declared: SqlType, table: str, column: str) -> None:
    """A column default as the column keeps it: a constant converted to the column's type now (a decimal
    default 0 is '0.00'); an expression (GETDATE()) converted each time it is used."""
    from sqlglot import exp

    value = constraint.this
    inner = value.this if isinstance(value, exp.Paren) else value
    negative = isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal)
    literal = inner.this if negative else inner
    if isinstance(literal, exp.Literal):
        text = ("-" if negative else "") + literal.this
        source = SqlType("varchar", max(1, len(text))) if literal.is_string else None
        raw: object = text if literal.is_string or "." in text or "e" in text.lower() else int(text)
        if not literal.is_string and "e" in text.lower():
            raw = float(text)
        stored = conversions.assign(raw, declared, source, table, column)
        if isinstance(stored, bytes):
            constraint.set("this", exp.HexString(this=stored.hex()))
        elif isinstance(stored, (int, float)):
            constraint.set("this", exp.Literal.number(stored))
        else:
            constraint.set("this", exp.Literal.string(str(stored)))
        return
    if isinstance(inner, exp.Null):
        return
    call = exp.Anonymous(this="__tsql_assign", expressions=[
        inner.copy(), exp.Literal.string(declared.declaration()), exp.Literal.string(""), exp.Literal.string(table),
        exp.Literal.string(column)])
    constraint.set("this", exp.Paren(this=call))


def record_added_columns(database: TableHost, translation: Translation) -> None:
    """ALTER TABLE … ADD: the new columns' declared types in the catalog."""
    table = database.table_name(translation.target or "") or (translation.target or "")
    (ordinal,) = database.conn.execute(
        "SELECT COALESCE(MAX(ordinal), 0) FROM __emulator_columns WHERE table_name = ?", (table,)).fetchone()
    for name, declared_text in translation.added:
        ordinal += 1
        declared = sql_type(declared_text) or NVARCHAR_4000
        database.conn.execute("INSERT INTO __emulator_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              _column_record(table, ordinal, name, declared, declared_text, False, False))
