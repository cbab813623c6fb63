"""Stored procedures as definitions: CREATE / ALTER / CREATE OR ALTER / DROP PROCEDURE, kept in the database's
catalog (``__emulator_procedures``, made with the catalog: the definition as written), and the binding of a
call's arguments to the parameters. engine.py runs them (EXEC, RPC by name); RAISERROR's message formatting
lives here too.

What a body may hold is what a simple procedure needs: DECLARE, SET, IF … ELSE, BEGIN … END, SELECT, INSERT,
UPDATE, DELETE, RETURN, RAISERROR, THROW, PRINT, EXEC and the transaction statements. Anything else (WHILE,
TRY … CATCH, cursors, CREATE …) is refused by name when the procedure is created, never when it runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors
from .batches import keyword, split_batch, split_top_level, unquote
from .ddl import column_type, timestamp
from .sqltypes import SqlType, sql_type

if TYPE_CHECKING:
    from .models import Database

MAX_NESTING = 32  # SQL Server's limit on procedures calling procedures (error 217)
_NAME = r"(?:\[(?:[^\]]|\]\])+\]|\"[^\"]+\"|[\w@#$]+)"
_QUALIFIED = rf"({_NAME}(?:\s*\.\s*{_NAME}){{0,2}})"
_HEADER = re.compile(rf"^(CREATE(?:\s+OR\s+ALTER)?|ALTER)\s+PROC(?:EDURE)?\s+{_QUALIFIED}\s*(.*)$", re.I | re.S)
_DROP = re.compile(r"^DROP\s+PROC(?:EDURE)?\s+(IF\s+EXISTS\s+)?(.+)$", re.I | re.S)
_PARAMETER = re.compile(r"^@(\w+)\s+(?:AS\s+)?(.+?)(?:\s+VARYING)?(?:\s+NULL)?(?:\s*=\s*(.+?))?"
                        r"(\s+(?:OUT|OUTPUT))?(\s+READONLY)?\s*$", re.I | re.S)
_TOKENS = re.compile(r"'(?:[^']|'')*'|\[(?:[^\]]|\]\])*\]|\"[^\"]*\"|--[^\n]*|/\*.*?\*/|\w+|\S", re.S)
_LEADING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
# the statements a body may hold (the first word of each, as the splitter leaves them)
_BODY_STATEMENTS = frozenset({"DECLARE", "SET", "IF", "ELSE", "BEGIN", "END", "SELECT", "INSERT", "UPDATE",
                              "DELETE", "RETURN", "RAISERROR", "THROW", "PRINT", "EXEC", "EXECUTE", "COMMIT",
                              "ROLLBACK", "SAVE", "WITH"})

@dataclass(frozen=True)
class Parameter:
    name: str                   # without the @, as declared
    declared: SqlType
    default: str | None         # a T-SQL constant, as written; None: the caller must pass it
    output: bool


@dataclass(frozen=True)
class Procedure:
    name: str
    object_id: int
    parameters: tuple[Parameter, ...]
    body: str
    definition: str


@dataclass(frozen=True)
class Definition:
    """A CREATE / ALTER PROCEDURE batch, read."""

    verb: str                   # CREATE, ALTER or CREATE OR ALTER
    procedure: Procedure


def strip_leading_comments(text: str) -> str:
    return text[_LEADING.match(text).end():]  # type: ignore[union-attr]


def is_definition(text: str) -> bool:
    """Does this batch (or statement) define a procedure?"""
    return bool(re.match(r"^(?:CREATE(?:\s+OR\s+ALTER)?|ALTER)\s+PROC(?:EDURE)?\b", strip_leading_comments(text),
                         re.I))


def procedure_name(written: str) -> str:
    """'dbo.[Orders by id]' -> 'Orders by id'; a schema other than dbo does not exist here (2760)."""
    parts = [unquote(part.strip()) for part in re.findall(_NAME, written)]
    if len(parts) > 1 and parts[-2].lower() not in ("dbo", ""):
        raise errors.schema_not_found(parts[-2])
    return parts[-1]


def parse_definition(text: str) -> Definition:
    """A CREATE / ALTER PROCEDURE batch: its name, parameters and body, the body checked for what the
    emulator runs."""
    text = strip_leading_comments(text).rstrip().rstrip(";")
    found = _HEADER.match(text)
    if not found:
        raise errors.syntax_error("PROCEDURE")
    verb = " ".join(found.group(1).upper().split())
    name = procedure_name(found.group(2))
    if name.startswith("#"):
        raise errors.unsupported("temporary stored procedures")
    rest = found.group(3)
    header, body = _split_at_as(rest)
    if body is None:
        raise errors.syntax_error(rest.split()[-1] if rest.split() else name)
    header = header.strip()
    options = re.search(r"\bWITH\b(.*)$", header, re.I | re.S)
    if options:
        option = " ".join(options.group(1).upper().split())
        option = "EXECUTE AS" if option.startswith("EXECUTE") else option  # the header ends at EXECUTE AS's AS
        if option not in ("RECOMPILE", "ENCRYPTION", "RECOMPILE, ENCRYPTION", "ENCRYPTION, RECOMPILE"):
            raise errors.unsupported(f"WITH {option or 'EXECUTE AS'} on a stored procedure")
        header = header[:options.start()].strip()
    if re.search(r"\bFOR\s+REPLICATION\b", header, re.I):
        raise errors.unsupported("FOR REPLICATION")
    if header.startswith("(") and header.endswith(")"):
        header = header[1:-1]
    parameters = tuple(parameter(part) for part in split_top_level(header))
    seen: set[str] = set()
    for declared in parameters:
        if declared.name.lower() in seen:
            raise errors.parameter_declared_twice(declared.name, name)
        seen.add(declared.name.lower())
    check_body(body)
    return Definition(verb, Procedure(name, 0, parameters, body.strip(), text))


def _split_at_as(text: str) -> tuple[str, str | None]:
    """The header before the first AS outside parentheses, and the body after it."""
    depth = 0
    for token in _TOKENS.finditer(text):
        word = token.group(0)
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        elif depth == 0 and word.upper() == "AS":
            return text[:token.start()], text[token.end():]
    return text, None


def parameter(text: str) -> Parameter:
    """One parameter's declaration: '@id int', '@price decimal(10,2) = 0 OUTPUT'."""
    found = _PARAMETER.match(text.strip())
    if not found:
        raise errors.syntax_error(text.strip()[:30])
    name, declared_text, default, output, readonly = found.groups()
    if readonly or sql_type(declared_text) is None and declared_text.strip().upper() not in ("CURSOR",):
        raise errors.unsupported(f"parameters of type {declared_text.strip()} (table-valued or user-defined)")
    if declared_text.strip().upper() == "CURSOR":
        raise errors.unsupported("CURSOR parameters")
    return Parameter(name, column_type(declared_text, "@" + name, 1), default.strip() if default else None,
                     bool(output))


def check_body(body: str) -> None:
    """Refuse, by name, a statement the emulator does not run inside a procedure."""
    for statement in split_batch(body):
        word = keyword(statement)
        if word == "BEGIN" and statement.upper() != "BEGIN":
            second = statement.split()[1].upper() if len(statement.split()) > 1 else ""
            if second not in ("TRAN", "TRANSACTION"):
                raise errors.unsupported(f"BEGIN {second} in a stored procedure")
            continue
        if word == "SET" and re.match(r"^SET\s+@", statement, re.I) is None and \
                re.match(r"^SET\s+(NOCOUNT|XACT_ABORT|ANSI_\w+|ARITHABORT|DATEFIRST|DATEFORMAT|LANGUAGE|"
                         r"TRANSACTION|LOCK_TIMEOUT|TEXTSIZE|QUOTED_IDENTIFIER|CONCAT_NULL_YIELDS_NULL)\b",
                         statement, re.I) is None:
            raise errors.unsupported(f"{' '.join(statement.split()[:2]).upper()} in a stored procedure")
        if word in _BODY_STATEMENTS:
            if word == "DECLARE" and re.search(r"\bCURSOR\b", statement, re.I):
                raise errors.unsupported("cursors")
            continue
        if word == "CREATE" or word == "DROP" or word == "ALTER":
            words = statement.split()
            raise errors.unsupported(f"{' '.join(words[:2]).upper()} in a stored procedure")
        raise errors.unsupported(f"{word} in a stored procedure")


# -- the catalog ------------------------------------------------------------------------------------
def find(database: Database, name: str) -> Procedure | None:
    with database.lock:
        row = database.conn.execute("SELECT name, object_id, definition FROM __emulator_procedures WHERE name = ?",
                                    (name,)).fetchone()
    if row is None:
        return None
    read = parse_definition(row[2]).procedure
    return Procedure(row[0], int(row[1]), read.parameters, read.body, row[2])


def store(database: Database, definition: Definition) -> None:
    """CREATE / ALTER / CREATE OR ALTER (the writer slot held, the permission checked)."""
    procedure = definition.procedure
    existing = find(database, procedure.name)
    if definition.verb == "CREATE" and (existing is not None or database.table_name(procedure.name) is not None):
        raise errors.object_exists(procedure.name)
    if definition.verb == "ALTER" and existing is None:
        raise errors.invalid_object(procedure.name)
    now = timestamp()
    with database.lock:
        if existing is not None:
            database.conn.execute("UPDATE __emulator_procedures SET definition = ?, modified = ? WHERE name = ?",
                                  (procedure.definition, now, existing.name))
        else:
            (object_id,) = database.conn.execute(
                "SELECT COALESCE(MAX(object_id), 245575913) + 16000057 FROM (SELECT object_id FROM __emulator_tables "
                "UNION ALL SELECT object_id FROM __emulator_procedures)").fetchone()
            database.conn.execute("INSERT INTO __emulator_procedures VALUES (?, ?, ?, ?, ?)",
                                  (procedure.name, object_id, procedure.definition, now, now))


def parse_drop(text: str) -> tuple[list[str], bool]:
    """DROP PROCEDURE [IF EXISTS] p [, q …]: the names, and IF EXISTS."""
    found = _DROP.match(text.strip().rstrip(";"))
    if not found:
        raise errors.syntax_error("PROCEDURE")
    return [procedure_name(part) for part in split_top_level(found.group(2))], bool(found.group(1))


def drop(database: Database, names: list[str], if_exists: bool) -> None:
    for name in names:
        if find(database, name) is None:
            if if_exists:
                continue
            raise errors.cannot_drop_procedure(name)
    with database.lock:
        for name in names:
            database.conn.execute("DELETE FROM __emulator_procedures WHERE name = ?", (name,))
            database.conn.execute("DELETE FROM __emulator_permissions WHERE object = ?", (name,))


# -- calls ------------------------------------------------------------------------------------------
@dataclass
class Argument:
    """One argument of a call: by position (``name`` None) or by name; a value, or DEFAULT."""

    name: str | None
    value: Any = None
    source: SqlType | None = None   # the value's type, when known (a variable's, an RPC parameter's)
    output: bool = False
    default: bool = False
    variable: str | None = None     # EXEC p @x OUTPUT: the caller's variable that receives the value


def bind(procedure: Procedure, arguments: list[Argument]) -> list[tuple[Parameter, Argument | None]]:
    """Each parameter with the argument that gives it (None: its default), by SQL Server's rules: positional
    arguments first, then by name (8144 too many, 8145 unknown name, 8162 OUTPUT on an input parameter,
    201 a parameter without default not given)."""
    by_name = {p.name.lower(): p for p in procedure.parameters}
    given: dict[str, Argument] = {}
    named = False
    for position, argument in enumerate(arguments):
        if argument.name is None:
            if named:
                raise errors.positional_after_named()
            if position >= len(procedure.parameters):
                raise errors.too_many_arguments(procedure.name)
            parameter = procedure.parameters[position]
        else:
            named = True
            parameter = by_name.get(argument.name.lstrip("@").lower())
            if parameter is None:
                raise errors.not_a_parameter(argument.name, procedure.name)
        if argument.output and not parameter.output:
            raise errors.not_an_output_parameter(parameter.name)
        given[parameter.name.lower()] = argument
    bound: list[tuple[Parameter, Argument | None]] = []
    for parameter in procedure.parameters:
        argument = given.get(parameter.name.lower())
        if (argument is None or argument.default) and parameter.default is None:
            raise errors.procedure_expects(procedure.name, "@" + parameter.name)
        bound.append((parameter, None if argument is None or argument.default else argument))
    return bound


_FORMAT = re.compile(r"%([-+ 0#]*)(\d+|\*)?(?:\.(\d+|\*))?(?:h|l|I64)?([diosuxX%])")


def raiserror_message(template: str, values: list[Any]) -> str:
    """RAISERROR's printf-style substitution (%s, %d, %i, %u, %o, %x, %X, widths and precisions, * taking
    them from the arguments); a missing argument prints (null), as SQL Server does."""
    remaining = list(values)

    def take() -> Any:
        return remaining.pop(0) if remaining else None

    def substitute(found: re.Match[str]) -> str:
        flags, width, precision, kind = found.groups()
        if kind == "%":
            return "%"
        if width == "*":
            width = str(take() or 0)
        if precision == "*":
            precision = str(take() or 0)
        value = take()
        if value is None:
            return "(null)"
        spec = "%" + flags + (width or "") + (f".{precision}" if precision else "")
        try:
            if kind == "s":
                return (spec + "s") % (value if isinstance(value, str) else str(value))
            number = int(value)
            if kind == "u" and number < 0:
                number += 2 ** 32
            return (spec + {"i": "d", "u": "d"}.get(kind, kind)) % number
        except (TypeError, ValueError):
            return "(null)"

    return _FORMAT.sub(substitute, template)



# System procedures of SQL Server that the emulator does not have: named as not supported (an unknown name is
# 2812, as in SQL Server). sp_executesql, sp_addrolemember, sp_droprolemember and the driver's prepare/execute
# and catalog procedures are answered (engine.py, handlers.py).
SYSTEM_PROCEDURES = frozenset({
    "sp_help", "sp_helptext", "sp_helpindex", "sp_helpconstraint", "sp_helpuser", "sp_helprole",
    "sp_helprolemember", "sp_helprotect", "sp_helpdb", "sp_helpfile", "sp_who", "sp_who2", "sp_lock",
    "sp_columns", "sp_tables", "sp_pkeys", "sp_fkeys", "sp_statistics", "sp_special_columns",
    "sp_stored_procedures", "sp_sproc_columns", "sp_databases", "sp_server_info", "sp_depends", "sp_spaceused",
    "sp_rename", "sp_configure", "sp_recompile", "sp_refreshview", "sp_set_session_context", "sp_getapplock",
    "sp_releaseapplock", "sp_addextendedproperty", "sp_updateextendedproperty", "sp_dropextendedproperty",
    "sp_addmessage", "sp_dropmessage", "sp_describe_first_result_set", "sp_describe_undeclared_parameters",
    "sp_xml_preparedocument", "sp_xml_removedocument", "sp_oacreate", "sp_execute_external_script",
    "sp_invoke_external_rest_endpoint", "sp_cursoropen", "sp_cursorfetch", "sp_cursorclose", "sp_cursor",
    "sp_cursorexecute", "sp_cursorprepare", "sp_cursorprepexec", "sp_cursoroption", "sp_cursorunprepare",
    "sp_addlogin", "sp_adduser", "sp_dropuser", "sp_addrole", "sp_droprole", "sp_change_users_login",
    "sp_readerrorlog", "sp_monitor", "sp_updatestats", "sp_msforeachtable", "sp_msforeachdb", "xp_cmdshell",
    "xp_msver", "xp_fixeddrives", "xp_readerrorlog", "sp_query_store_flush_db", "sp_wait_for_database_copy_sync",
})


def refuse_system_procedure(name: str) -> None:
    """A system procedure the emulator does not have: 40517 naming it."""
    if name.lower() in SYSTEM_PROCEDURES:
        raise errors.unsupported(f"system procedure {name.lower()}")
