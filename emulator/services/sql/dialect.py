"""sqlglot, imported on first use (not at start-up: it costs ~75-150 ms), and the T-SQL dialect the
emulator reads statements with."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot.tokens import TokenType

_SQLGLOT_LOCK = threading.Lock()
_sqlglot_loaded = False


def load_sqlglot() -> None:
    """Import the parts of sqlglot the SQL endpoint uses: once, when the first batch is split or the
    first statement translated, not at start-up (it costs ~75-150 ms). One thread imports, any other
    waits: a package with import cycles must not be imported from two threads at once."""
    global _sqlglot_loaded
    if _sqlglot_loaded:
        return
    with _SQLGLOT_LOCK:
        if not _sqlglot_loaded:
            import sqlglot
            import sqlglot.optimizer.annotate_types
            import sqlglot.optimizer.qualify  # noqa: F401 - imported here, under the lock

            for dialect in ("tsql", "sqlite"):  # dialect modules are themselves imported on first use
                sqlglot.Dialect.get_or_raise(dialect)
            _sqlglot_loaded = True


@functools.cache
def tsql_dialect() -> Any:
    import sqlglot

    return sqlglot.Dialect.get_or_raise("tsql")


@functools.cache
def quoted_tokens() -> frozenset[TokenType]:
    from sqlglot.tokens import TokenType

    return frozenset({TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.IDENTIFIER})


# Functions the emulator parses itself (as Anonymous calls, arguments as written): sqlglot maps them to
# other functions (FORMAT → NUMBER_TO_STR/STRFTIME, DATEPART → EXTRACT, GETDATE and SYSDATETIME both
# to CURRENT_TIMESTAMP, SUSER_SNAME to CURRENT_USER …) whose SQLite forms give other answers.
OWN_FUNCTIONS = frozenset({
    "DATEADD", "DATEDIFF", "DATEDIFF_BIG", "DATEPART", "DATENAME", "YEAR", "MONTH", "DAY", "EOMONTH", "FORMAT",
    "LEFT", "RIGHT", "GETDATE", "GETUTCDATE", "SYSDATETIME", "SYSUTCDATETIME", "SYSDATETIMEOFFSET", "SUSER_SNAME",
    "SUSER_NAME", "SCHEMA_NAME", "DATALENGTH", "COUNT_BIG"})


@functools.cache
def emulator_dialect() -> Any:
    """T-SQL as sqlglot reads it, except the functions in ``OWN_FUNCTIONS`` (kept as written), SYSTEM_USER
    (sqlglot reads it as CURRENT_USER, which is the user, not the login) and the type names below."""
    load_sqlglot()
    from sqlglot.dialects.tsql import TSQL
    from sqlglot.tokens import TokenType

    class EmulatorTSQL(TSQL):  # type: ignore[misc, valid-type]
        class Tokenizer(TSQL.Tokenizer):  # type: ignore[misc, name-defined]
            # TEXT, NTEXT and REAL are read as names of types, so that they keep their own names (sqlglot maps
            # NTEXT to VARCHAR(MAX) and REAL to FLOAT, which are other types in T-SQL)
            KEYWORDS = {k: v for k, v in TSQL.Tokenizer.KEYWORDS.items()
                        if k not in ("SYSTEM_USER", "TEXT", "NTEXT", "REAL")}

            def tokenize(self, sql: str) -> list[Any]:
                """T-SQL's ``0x`` alone is an empty binary constant; sqlglot reads it as an identifier (as it
                reads [0x], which stays one)."""
                tokens: list[Any] = super().tokenize(sql)
                for token in tokens:
                    if token.token_type == TokenType.IDENTIFIER and sql[token.start:token.end + 1].lower() == "0x":
                        token.token_type, token.text = TokenType.HEX_STRING, ""
                return tokens

        class Parser(TSQL.Parser):  # type: ignore[misc, name-defined]
            FUNCTIONS = {k: v for k, v in TSQL.Parser.FUNCTIONS.items() if k not in OWN_FUNCTIONS}
            FUNCTION_PARSERS = {k: v for k, v in TSQL.Parser.FUNCTION_PARSERS.items() if k not in OWN_FUNCTIONS}

    return EmulatorTSQL()


@functools.cache
def sqlite_dialect() -> Any:
    """SQLite as the emulator writes it: identifiers quoted with backticks, not double quotes. SQLite reads a
    double-quoted name that matches no column as a string ("double-quoted string literals"), so
    ``SELECT [NoSuchColumn]`` would answer the text 'NoSuchColumn' instead of SQL Server's 207; a
    backticked name is always a name."""
    load_sqlglot()
    from sqlglot.dialects.sqlite import SQLite

    class EmulatorSQLite(SQLite):  # type: ignore[misc, valid-type]
        class Tokenizer(SQLite.Tokenizer):  # type: ignore[misc, name-defined]
            IDENTIFIERS = ["`", '"', ("[", "]")]

    return EmulatorSQLite()
