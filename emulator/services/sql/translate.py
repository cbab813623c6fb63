"""T-SQL → SQLite, one statement at a time, with sqlglot: what sqlglot leaves is done here (N-strings,
``dbo.``, ``OUTPUT INSERTED``, ``@@VERSION``, catalog views mapped to the emulator's, T-SQL functions to
the emulator's own through rewrite.py), together with what the engine needs to run the result: the kind
of statement, the tables it reads and writes, the first one that does not exist, the result's column
names and SQL Server types. Names of SQLite's and the emulator's own tables and functions are refused
here, for every statement, DDL included. ``sqlite_error`` turns what SQLite says about a translated
statement back into SQL Server's error."""

from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from . import errors, unsupported
from .assignments import assign_values
from .batches import keyword
from .catalog import CATALOG_NAMES
from .dialect import emulator_dialect, load_sqlglot, sqlite_dialect, tsql_dialect
from .errors import SqlError, pending_function_error
from .rewrite import DML_TOP, ddl_functions, limit_dml, rewrite_functions, written_function
from .sqltypes import NVARCHAR_4000, SqlType, affinity, sql_type
from .temporary import TEMPDB, SessionSchema
from .typer import UNICODE_META, SchemaSource, Typer

if TYPE_CHECKING:
    from sqlglot import exp

TRANSLATIONS_KEPT = 512  # per database: statements whose translation is remembered


@dataclass
class Translation:
    kind: str                          # select, insert, update, delete, create_table, drop_table, ddl, other
    sqlite: str
    target: str | None = None          # written table (canonical name)
    reads: tuple[str, ...] = ()        # tables read (canonical names)
    missing: str | None = None         # first referenced table that does not exist, as written
    names: list[str] | None = None     # result column names, None = take SQLite's
    types: list[SqlType | None] | None = None
    variables: list[str | None] | None = None  # per result column: the @variable it is, if only that
    returns_rows: bool = False
    table_definition: exp.Create | None = None
    if_exists: bool = False
    added: list[tuple[str, str]] = field(default_factory=list)  # ALTER TABLE … ADD: (column, T-SQL type)
    source: str = ""                   # the T-SQL text, to name functions in errors as the user wrote them
    temporary: dict[str, str] = field(default_factory=dict)  # #tables named: tempdb name (lower) -> as written
    into: str | None = None            # SELECT … INTO: the new table, as written
    identity_written: bool | None = None  # INSERT into a table with an identity column: its column list names it
    primary_key: frozenset[str] = frozenset()  # INSERT / UPDATE: the target's key columns (lower), for 2627's text


class TranslationSource(SchemaSource, Protocol):
    """The database a statement is translated for (``models.Database``): its tables, their identity
    columns and the translations it remembers."""

    translations: dict[Any, Translation]

    def identities(self) -> dict[str, frozenset[str]]: ...

    def primary_keys(self) -> dict[str, frozenset[str]]: ...


_GLOBALS = re.compile(r"('(?:[^']|'')*')|@@(\w+)")
# the @@ functions the emulator answers (models.py registers each as __global_<name>)
GLOBAL_VARIABLES = frozenset({"version", "servername", "spid", "rowcount", "identity", "trancount", "options",
                              "datefirst", "language", "langid", "textsize", "lock_timeout", "max_precision",
                              "nestlevel", "procid", "error", "servicename", "max_connections", "fetch_status",
                              "connections", "microsoftversion"})


# DELETE FROM <table> OUTPUT … / DELETE FROM <table> FROM …: the first FROM is left out before sqlglot reads it
_TABLE_PART = r"(?:\[(?:[^\]]|\]\])+\]|\"[^\"]+\"|[^\s(\[\].]+)"
_DELETE_FROM_BEFORE = re.compile(
    rf"^(\s*DELETE\s+)FROM\s+(?={_TABLE_PART}(?:\s*\.\s*{_TABLE_PART})*\s+(?:OUTPUT|FROM)\b)", re.I)


# Names of SQLite's own tables and functions (sqlite_master, pragma_table_info(), sqlite_version() …) and of
# the emulator's (__emulator_principals, __tsql_now() …): no statement may name them.
_RESERVED_PREFIXES = ("__", "sqlite_", "pragma_")
_RESERVED_FUNCTIONS = frozenset({"load_extension"})


def translate(database: TranslationSource, text: str, variables: dict[str, SqlType] | None = None) -> Translation:
    """The SQLite form of one T-SQL statement, with what the engine needs to run and type it; remembered
    per database, text and the declared types of the variables it names (the database forgets them when
    its tables change)."""
    key: Any = text
    if variables and "@" in text:
        lowered = text.lower()
        key = (text, tuple(sorted((name, found) for name, found in variables.items() if "@" + name in lowered)))
    if "#" in text and isinstance(database, SessionSchema):  # #tables are the session's own
        key = (key, database.cache_key())
    cached = database.translations.get(key)
    if cached is not None:
        return cached
    translation = _translate(database, text, variables or {})
    translation.source = text
    if len(database.translations) > TRANSLATIONS_KEPT:
        database.translations.clear()
    database.translations[key] = translation
    return translation


def _translate(database: TranslationSource, text: str,  # noqa: C901 - one pass over the tree
               variables: dict[str, SqlType]) -> Translation:
    load_sqlglot()
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    unsupported.check_statement(text)
    prepared = _GLOBALS.sub(_global_variable, text)
    dml_top = DML_TOP.match(prepared)
    if dml_top:  # UPDATE TOP (n) / DELETE TOP (n): sqlglot does not parse them; the rows are limited below
        prepared = dml_top.group(1) + prepared[dml_top.end():]
    # DELETE FROM t OUTPUT … WHERE … and DELETE FROM a FROM T a JOIN …: sqlglot misreads both once the first FROM is
    # written, and T-SQL makes it optional
    prepared = _DELETE_FROM_BEFORE.sub(r"\1", prepared, count=1)
    try:
        tree = sqlglot.parse_one(prepared, read=emulator_dialect())
    except (ParseError, TokenError) as exc:
        raise errors.syntax_error(_near(exc, text)) from None
    except RecursionError:  # sqlglot parses recursively: a deep enough tree exhausts Python's stack
        raise errors.nested_too_deeply() from None
    if tree is None:
        raise errors.syntax_error(text[:20])
    if isinstance(tree, exp.Command):
        if keyword(text) == "ALTER" and re.match(r"^\s*ALTER\s+TABLE\b", text, re.I):
            raise errors.unsupported(unsupported.alter_table_action(text))
        raise errors.unsupported(unsupported.object_kind(text) or keyword(text))
    if isinstance(tree, (exp.Merge,)):
        raise errors.unsupported("MERGE")
    if isinstance(tree, exp.Update):
        _update_from_join(tree)
    deleted = tree.args.get("tables") if isinstance(tree, exp.Delete) else None
    if deleted and len(deleted) == 1 and not isinstance(tree.this, exp.Table):
        tree.set("this", tree.args["tables"][0])  # DELETE Products WHERE … (T-SQL's FROM is optional)
        tree.set("tables", None)
    elif deleted and len(deleted) == 1:
        _delete_from_join(tree)  # DELETE a FROM T a JOIN U b ON … WHERE …
    elif deleted:
        raise errors.unsupported("DELETE of several tables at once")

    _refuse_reserved_names(tree, text)
    columns = database.columns()
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    missing: str | None = None
    referenced: list[str] = []
    into = tree.args.get("into") if isinstance(tree, exp.Select) else None
    if into is not None:  # SELECT … INTO t: the engine makes t from the SELECT's columns, then fills it
        tree.set("into", None)
    temporary: dict[str, str] = {}
    creating = tree.this.this if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema) else None
    for table in [t for t in tree.find_all(exp.Table)] + ([into.this] if into is not None else []):
        if not table.name:
            continue
        identifier = table.this
        if isinstance(identifier, exp.Identifier) and (identifier.args.get("temporary")
                                                       or identifier.args.get("global_")):
            written = ("##" if identifier.args.get("global_") else "#") + table.name
            physical = _temporary_table(database, written, created=table is creating or (
                into is not None and table is into.this))
            if physical is None:
                if isinstance(tree, exp.Drop):  # DROP TABLE #t of a table the session has not: 3701
                    table.set("this", exp.to_identifier(written, quoted=True))
                else:
                    missing = missing or written
                continue
            table.set("this", exp.to_identifier(physical, quoted=True))
            if table is creating:  # a table of tempdb, not one of SQLite's TEMP tables
                for temporary_property in list(tree.find_all(exp.TemporaryProperty)):
                    temporary_property.pop()
            table.set("db", None)
            table.set("catalog", None)
            temporary[physical.lower()] = written
            if not (table is creating or (into is not None and table is into.this)):
                referenced.append(physical)
            continue
        if into is not None and table is into.this:  # the table SELECT … INTO makes
            if table.db.lower() not in ("", "dbo") or is_reserved(table.name):
                raise errors.invalid_object(".".join(part.name for part in table.parts))
            table.set("db", None)
            table.set("catalog", None)
            continue
        schema = table.db.lower()
        written = ".".join(part.name for part in table.parts)  # as error 208 quotes it: 'dbo.Orders'
        key = (schema, table.name.lower())
        if key not in CATALOG_NAMES and schema in ("sys", "information_schema"):
            raise errors.unsupported(f"catalog view {written}")  # SQL Server has it; the emulator has not
        if key in CATALOG_NAMES:
            _refuse_catalog_change(tree, table)
            table.set("this", exp.to_identifier(CATALOG_NAMES[key]))
            table.set("db", None)
            table.set("catalog", None)
            continue
        if len(table.parts) > 3 or (table.catalog and table.catalog.lower() not in (database.name.lower(), "tempdb")):
            raise errors.cross_database(written)  # Azure SQL Database: no other database, no linked server
        if schema not in ("", "dbo") or (table.catalog and table.catalog.lower() != database.name.lower()):
            missing = missing or written
        if table.name.lower().startswith("__"):
            missing = missing or written
        table.set("db", None)
        table.set("catalog", None)
        if table.name.lower() in ctes:
            continue
        referenced.append(table.name)
        if table.name.lower() not in columns and missing is None and not isinstance(tree, exp.Create):
            missing = written
    for column in tree.find_all(exp.Column):  # [INFORMATION_SCHEMA].[TABLES].[TABLE_NAME], dbo.T.c
        if column.args.get("db") is not None and column.table:
            key = (column.db.lower(), column.table.lower())
            if key in CATALOG_NAMES:
                column.set("table", exp.to_identifier(CATALOG_NAMES[key]))
            column.set("db", None)
            column.set("catalog", None)
    for node in list(tree.find_all(exp.National)):
        literal = exp.Literal.string(node.this)
        literal.meta[UNICODE_META] = True
        node.replace(literal)
    if any(True for _ in tree.find_all(exp.Add)):  # T-SQL concatenates strings with +
        for node in _concatenations(tree, Typer(database, tree, variables)):  # inner ones first
            node.replace(exp.DPipe(this=node.left, expression=node.right))
    if isinstance(tree, (exp.Create, exp.Alter)):
        ddl_functions(tree)
    else:
        typer = rewrite_functions(database, tree, variables)
        if isinstance(tree, (exp.Insert, exp.Update)):
            assign_values(database, tree, typer)
        if dml_top:
            limit_dml(tree, dml_top)
    returning = tree.args.get("returning")
    if returning is not None:
        if isinstance(tree, exp.Update) and any(c.table.lower() == "deleted" for c in returning.find_all(exp.Column)):
            # SQLite's RETURNING has only the new row: deleted.x would answer the new value, not the old one
            raise errors.unsupported("OUTPUT deleted.… in an UPDATE (the values before it)")
        for column in returning.find_all(exp.Column):
            if column.table.lower() in ("inserted", "deleted"):
                column.set("table", None)

    translation = Translation(kind="other", sqlite="", missing=missing, temporary=temporary)
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind", "")).upper()
        if kind == "TABLE":
            translation.kind = "create_table"
            translation.table_definition = tree
            translation.target = tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name
            translation.missing = None
            return translation
        translation.kind = "ddl"
        translation.missing = None
    elif isinstance(tree, exp.Drop):
        translation.kind = "drop_table" if str(tree.args.get("kind", "")).upper() == "TABLE" else "ddl"
        # sqlglot ≥ 30 lists dropped tables under "tables"; older versions put the one table in "this".
        dropped = tree.args.get("tables") or ([tree.this] if isinstance(tree.this, exp.Table) else [])
        if len(dropped) > 1:
            raise errors.unsupported("DROP TABLE of several tables at once")
        translation.target = dropped[0].name if dropped else None
        translation.if_exists = bool(tree.args.get("exists"))
        translation.missing = None
    elif isinstance(tree, exp.Alter):
        translation.kind = "ddl"
        translation.target = tree.this.name if isinstance(tree.this, exp.Table) else None
        if any(not isinstance(action, exp.ColumnDef) for action in tree.args.get("actions", [])):
            raise errors.unsupported(unsupported.alter_table_action(text))
        for action in tree.args.get("actions", []):
            kind = action.args.get("kind")
            declared_text = kind.sql("tsql") if kind is not None else "NVARCHAR(4000)"
            declared = sql_type(declared_text) or NVARCHAR_4000
            translation.added.append((action.name, declared_text))
            action.set("kind", exp.DataType.build(affinity(declared)))
    elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
        translation.kind = type(tree).__name__.lower()
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        translation.target = target.name if isinstance(target, exp.Table) else None
        others = [t for t in referenced if translation.target is None or t.lower() != translation.target.lower()]
        reads_target = returning is not None or (translation.kind != "insert" and tree.args.get("where"))
        translation.reads = tuple(others + ([translation.target] if reads_target and translation.target else []))
        translation.returns_rows = returning is not None
        if not isinstance(tree, exp.Delete):
            translation.primary_key = database.primary_keys().get((translation.target or "").lower(), frozenset())
        identity = database.identities().get((translation.target or "").lower()) if isinstance(tree, exp.Insert) \
            else None
        if identity:  # IDENTITY_INSERT is the session's: the engine checks this against it (544, 545)
            written = tree.this.expressions if isinstance(tree.this, exp.Schema) else []
            translation.identity_written = any(column.name.lower() in identity for column in written)
    elif isinstance(tree, (exp.Select, exp.Union, exp.Subquery, exp.Query)):
        translation.kind = "select" if into is None else "select_into"
        if into is not None:
            target = into.this
            translation.into = temporary.get(target.name.lower(), target.name)
            translation.target = target.name
        translation.reads = tuple(referenced)
        translation.returns_rows = True
        translation.names, translation.types = _describe(database, tree, variables)
        translation.variables = [_variable(projection) for projection in tree.selects] \
            if isinstance(tree, exp.Select) else None
    elif isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback, exp.Use, exp.Set, exp.Declare)):
        raise errors.unsupported(keyword(text))
    else:
        raise errors.unsupported(keyword(text))

    for constraint in tree.find_all(exp.DefaultColumnConstraint):
        parenthesize_default(constraint)
    for table in tree.find_all(exp.Table):  # #tables live in the attached tempdb (temporary.py)
        if table.name.lower() in temporary:
            table.set("db", exp.to_identifier(TEMPDB))
    try:
        translation.sqlite = tree.sql(dialect=sqlite_dialect())
    except RecursionError:
        raise errors.nested_too_deeply() from None
    except Exception as exc:  # noqa: BLE001 - sqlglot refuses to generate some constructs
        raise errors.unsupported(str(exc).split(".")[0][:60]) from None
    return translation


@functools.cache
def _text_types() -> frozenset[exp.DataType.Type]:
    from sqlglot import exp

    kinds = exp.DataType.Type
    return frozenset({kinds.VARCHAR, kinds.NVARCHAR, kinds.CHAR, kinds.NCHAR, kinds.TEXT})


def _target_among_joined(first: exp.Table, name: str) -> tuple[list[exp.Expression], exp.Table | None]:
    """The tables of ``first`` and its joins, and the one an UPDATE's or DELETE's target names (by alias, else by
    name), or None when no one table is so named."""
    from sqlglot import exp

    tables = [first, *(join.this for join in first.args.get("joins") or [])]
    named = [t for t in tables if isinstance(t, exp.Table) and t.alias_or_name.lower() == name.lower()]
    return tables, named[0] if len(named) == 1 else None


def _update_from_join(tree: exp.Update) -> None:
    """T-SQL's UPDATE a SET … FROM T AS a JOIN U AS b ON … WHERE … (the target named by its alias, or by its name,
    among the FROM's tables) as SQLite's UPDATE T AS a SET … FROM U AS b WHERE (on) AND (where): the target leaves
    the FROM (SQLite refuses it there) and the inner joins' conditions join the WHERE. Outer joins are refused."""
    from sqlglot import exp

    target, source = tree.this, tree.args.get("from_")
    if not (isinstance(target, exp.Table) and not target.db and isinstance(source, exp.From)
            and isinstance(source.this, exp.Table)):
        return
    first = source.this
    joins = list(first.args.get("joins") or [])
    tables, chosen = _target_among_joined(first, target.name)
    if chosen is None:
        return  # the target is not among the FROM's tables: SQLite's UPDATE … FROM reads it as T-SQL does
    if any(join.args.get("side") or (join.args.get("kind") or "INNER").upper() not in ("INNER", "CROSS")
           for join in joins):
        raise errors.unsupported("UPDATE … FROM with an outer join")
    conditions = [join.args["on"] for join in joins if join.args.get("on") is not None]
    if any(join.args.get("using") for join in joins):
        raise errors.unsupported("UPDATE … FROM … JOIN … USING")
    updated = chosen.copy()
    updated.set("joins", None)
    rest = [t.copy() for t in tables if t is not chosen]
    for table in rest:
        table.set("joins", None)
    if rest:
        rest[0].set("joins", [exp.Join(this=table) for table in rest[1:]] or None)
        tree.set("from_", exp.From(this=rest[0]))
    else:
        tree.set("from_", None)
    where = tree.args.get("where")
    if where is not None:
        conditions.append(where.this)
    if conditions:
        tree.set("where", exp.Where(this=exp.and_(*(exp.Paren(this=c.copy()) for c in conditions))))
    tree.set("this", updated)
    for assignment in tree.expressions:  # SET a.qty = …: SQLite names the updated column bare
        if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
            assignment.this.set("table", None)


def _delete_from_join(tree: exp.Delete) -> None:
    """T-SQL's DELETE a FROM T a JOIN U b ON … WHERE … (the deleted table named by its alias or its name among the
    FROM's tables) as SQLite's DELETE FROM T WHERE rowid IN (SELECT a.rowid FROM T a JOIN U b ON … WHERE …)."""
    from sqlglot import exp

    target, source = tree.args["tables"][0], tree.this
    _, chosen = _target_among_joined(source, target.name)
    if chosen is None:
        raise errors.invalid_object(target.name)
    rows = exp.select(exp.column("rowid", table=chosen.alias_or_name)).from_(source.copy())
    where = tree.args.get("where")
    if where is not None:
        rows.set("where", where.copy())
    tree.set("tables", None)
    tree.set("this", exp.Table(this=chosen.this.copy()))
    tree.set("where", exp.Where(this=exp.In(this=exp.column("rowid"), query=exp.Subquery(this=rows))))


def _concatenations(tree: exp.Expression, typer: Typer) -> list[exp.Add]:
    """The + operators that are T-SQL's string concatenation, inner ones first: those with an operand that is a
    string for sure and another that is not a number. A number has the higher precedence, so '5' + 1 is 6 and
    'Item ' + ProductID is error 245, as in SQL Server (the arithmetic rewrite converts the string); an operand of a
    type not known here leaves it a concatenation. One pass, children before parents: a 500-term sum is flat."""
    from sqlglot import exp

    text: dict[int, bool] = {}  # an Add seen already: is it a concatenation?

    def is_text(node: exp.Expression) -> bool:
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Add):
            return text.get(id(node), False)
        if isinstance(node, exp.Literal):
            return node.is_string
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return node.to.this in _text_types()
        return isinstance(node, exp.DPipe)

    found = []
    for node in reversed(list(tree.walk())):  # breadth first, reversed: children before their parents
        if not isinstance(node, exp.Add):
            continue
        left, right = is_text(node.left), is_text(node.right)
        if left != right:
            other = typer.type_of(node.right if left else node.left)
            concatenation = other is None or not other.is_number
        else:
            concatenation = left
        text[id(node)] = concatenation
        if concatenation:
            found.append(node)
    return found


def _global_variable(found: re.Match[str]) -> str:
    """@@VERSION and the other global variables the emulator keeps, as calls of its own functions; an
    unknown one is an undeclared variable, as in SQL Server."""
    if found.group(1):
        return found.group(1)
    name = found.group(2).lower()
    if name not in GLOBAL_VARIABLES:
        raise errors.must_declare("@@" + found.group(2))
    return f"__global_{name}()"


def _temporary_table(database: TranslationSource, written: str, created: bool) -> str | None:
    """The tempdb name of a #table for the session running the statement (None: it has no such table); a
    CREATE TABLE #t or SELECT … INTO #t names the one it makes."""
    if not isinstance(database, SessionSchema):
        raise errors.unsupported(f"temporary table {written} here")
    found = database.find(written)
    if created:
        return found.physical if found is not None else database.scope.physical_name(written)
    return found.physical if found is not None else None


def is_reserved(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(_RESERVED_PREFIXES) or lowered in _RESERVED_FUNCTIONS


def written_name(table: exp.Table) -> str:
    """A table's name as the statement wrote it, with its schema, without brackets (as SQL Server quotes it)."""
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def _refuse_reserved_names(tree: exp.Expression, text: str) -> None:
    """No statement names SQLite's or the emulator's own tables and functions, DDL included: a function
    is unknown (195), a table does not exist (208, 3701 for DROP), a new object may not take such a name."""
    from sqlglot import exp

    created = tree.this.this if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema) else tree.this
    for table in tree.find_all(exp.Table):
        if not is_reserved(table.name):
            continue
        name = written_name(table)
        if isinstance(tree, exp.Drop):
            dropped_view = str(tree.args.get("kind", "")).upper() == "VIEW"
            raise errors.cannot_drop_view(name) if dropped_view else errors.cannot_drop_table(name)
        if isinstance(tree, exp.Create) and table is created:
            raise errors.reserved_name(table.name)
        raise errors.invalid_object(name)
    functions = [node for node in tree.find_all(exp.Anonymous) if is_reserved(node.name)]
    if functions:
        # the emulator writes calls of its own functions into statements (@@VERSION becomes __global_version());
        # only a name the user wrote is refused
        load_sqlglot()
        from sqlglot.tokens import TokenType

        written = {token.text.lower() for token in tsql_dialect().tokenize(text)
                   if token.token_type in (TokenType.VAR, TokenType.IDENTIFIER)}
        for node in functions:
            if node.name.lower() in written:  # in FROM, a table-valued function is an object
                raise errors.invalid_object(node.name) if isinstance(node.parent, exp.Table) \
                    else errors.not_builtin_function(node.name)


def _refuse_catalog_change(tree: exp.Expression, table: exp.Table) -> None:
    """The catalog views are read-only: DML on them is 259, DDL on them 3701 (DROP) or 259."""
    from sqlglot import exp

    if isinstance(tree, exp.Drop):
        raise errors.cannot_drop_view(written_name(table))
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    changes_it = isinstance(tree, exp.Alter) or (
        isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() != "VIEW")  # a view may read it
    if changes_it or (isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Create)) and table is target):
        raise errors.system_catalog_update()


def _near(exc: Exception, text: str) -> str:
    from sqlglot.errors import ParseError

    if isinstance(exc, ParseError) and exc.errors:
        highlight = exc.errors[0].get("highlight") or ""
        if highlight:
            return str(highlight)
    return text.split()[-1] if text.split() else text


def parenthesize_default(constraint: exp.DefaultColumnConstraint) -> None:
    from sqlglot import exp

    value = constraint.this
    if isinstance(value, (exp.Literal, exp.Null, exp.Paren, exp.Boolean)) or (
            isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal)):
        return
    if isinstance(value, exp.Expression):
        constraint.set("this", exp.Paren(this=value.copy()))


def _describe(database: SchemaSource, tree: exp.Expression, variables: dict[str, SqlType]
              ) -> tuple[list[str] | None, list[SqlType | None] | None]:
    """Column names (None when a * is involved) and SQL Server types of a SELECT's result, where known: the
    (rewritten) statement is qualified on a copy, so that stars are expanded and each column knows its
    table, then each projection typed by SQL Server's rules (typer.py)."""
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify

    names: list[str] | None = None
    selects = tree.selects if isinstance(tree, exp.Query) else []
    if selects and not any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star))
                           for s in selects):
        names = []
        for projection in selects:
            if isinstance(projection, exp.Alias):
                names.append(projection.alias)
            elif isinstance(projection, exp.Column):
                names.append(projection.name)
            else:
                names.append("")
    try:
        typed = qualify(tree.copy(), schema=database.schema(), dialect="tsql", quote_identifiers=False,
                        validate_qualify_columns=False, identify=False)
    except Exception:  # noqa: BLE001 - unknown shapes fall back to typing from the values
        return names, None
    typer = Typer(database, typed, variables)
    types: list[SqlType | None] = []
    not_null = _not_null_sources(database, typed)
    for projection in typed.selects if isinstance(typed, exp.Query) else []:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        found = typer.type_of(inner)
        if found is not None and isinstance(inner, exp.Column) and inner.name.lower() in not_null.get(inner.table, ()):
            found = replace(found, nullable=False)
        types.append(found)
    return names, types


def _variable(projection: exp.Expression) -> str | None:
    """The variable a result column is (``SELECT @p``, ``SELECT @p AS v``), lower-case; None otherwise."""
    from sqlglot import exp

    inner = projection.this if isinstance(projection, exp.Alias) else projection
    return inner.name.lower() if isinstance(inner, exp.Parameter) and inner.name else None


def _not_null_sources(database: SchemaSource, select: exp.Expression) -> dict[str, frozenset[str]]:
    """The NOT NULL columns of each table a SELECT reads directly, by the alias the qualified tree gives
    it: none for a UNION, a derived table or a CTE, nor for a table an outer join may fill with NULLs."""
    from sqlglot import exp

    if not isinstance(select, exp.Select):
        return {}
    source = select.args.get("from_") or select.args.get("from")
    sources = [source.this if source is not None else None]
    nullable: set[int] = set()
    for join in select.args.get("joins") or []:
        side = (join.side or "").upper()
        if side in ("RIGHT", "FULL"):
            nullable.update(range(len(sources)))
        if side in ("LEFT", "FULL"):
            nullable.add(len(sources))
        sources.append(join.this)
    ctes = {cte.alias_or_name.lower() for cte in select.find_all(exp.CTE)}
    declared = database.not_null()
    found: dict[str, frozenset[str]] = {}
    for index, table in enumerate(sources):
        if not isinstance(table, exp.Table) or index in nullable or table.name.lower() in ctes:
            continue
        found[table.alias_or_name] = declared.get(table.name.lower(), frozenset())
    return found


def sqlite_error(exc: sqlite3.Error, database: str, translation: Translation) -> SqlError:
    """SQL Server's error for what SQLite said about a translated statement (``database``: its name),
    never naming one of the emulator's own functions or tables the statement did not name itself."""
    error = _sqlite_error(exc, database, translation)
    error.message = errors.public(error.message, translation.source)
    for physical, written in translation.temporary.items():  # a #table by the name the statement wrote
        pattern = re.escape(f"{TEMPDB}.{physical}") + "|" + re.escape(physical)
        error.message = re.sub(pattern, lambda _, name=written: name, error.message, flags=re.I)
    return error


def _sqlite_error(exc: sqlite3.Error, database: str, translation: Translation) -> SqlError:
    text = str(exc)
    table = translation.temporary.get((translation.target or "").lower(), translation.target or "")
    if text.startswith("no such table:"):
        return errors.invalid_object(text.split(":", 1)[1].strip())
    if text.startswith("no such column:"):
        return errors.invalid_column(text.split(":", 1)[1].strip().split(".")[-1])
    if text.startswith("no such function:"):
        return errors.not_builtin_function(written_function(translation.source, text.split(":", 1)[1].strip()))
    if "may not appear in FROM clause" in text:  # UPDATE t … FROM t JOIN …: SQLite's UPDATE … FROM may not
        return errors.unsupported("UPDATE … FROM naming the updated table again (a join)")  # name t again
    if "user-defined function raised exception" in text:
        return pending_function_error() or errors.emulator_failure(text)
    if text.startswith("misuse of aggregate"):
        return errors.aggregate_of_aggregate()
    if text.endswith("may not be used as a window function"):  # Python 3.10: no sqlite3 create_window_function
        function = errors.public(text.split("(", 1)[0].strip())
        return errors.unsupported(f"{function}() OVER (…) with the emulator on Python 3.10 (3.11 or later runs it)")
    if text.startswith("wrong number of arguments to function"):
        function = text.rsplit(" ", 1)[-1].rstrip("()")
        return errors.wrong_argument_count(errors.public(function))
    if "syntax error" in text:
        near = re.search(r'near "([^"]*)"', text)
        return errors.syntax_error(near.group(1) if near else "")
    if text.startswith("UNIQUE constraint failed") or text.startswith("PRIMARY KEY"):
        failed = {part.strip().rsplit(".", 1)[-1].lower() for part in text.split(":", 1)[-1].split(",")}
        if translation.primary_key and failed == translation.primary_key:
            return errors.primary_key_violation(table)
        return errors.unique_violation(table)
    if text.startswith("NOT NULL constraint failed:"):
        column = text.split(":", 1)[1].strip().split(".")[-1]
        action = {"update": "UPDATE"}.get(translation.kind, "INSERT")
        return errors.null_not_allowed(column, table, database, action)
    if "constraint failed" in text:
        return errors.constraint_conflict(text)
    if "already exists" in text:
        return errors.object_exists(table)
    if "datatype mismatch" in text:
        return errors.conversion_failed(text)
    return errors.emulator_failure(text)
