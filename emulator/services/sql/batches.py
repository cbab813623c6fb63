"""T-SQL text before translation: a batch split into its statements (at ';' and where a statement keyword
starts a new one, as T-SQL needs no ';'), names unquoted, lists split at their top level."""

from __future__ import annotations

import functools
import re

from . import errors
from .dialect import load_sqlglot, quoted_tokens, tsql_dialect

_STARTERS = {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "DECLARE", "SET", "BEGIN",
             "COMMIT", "ROLLBACK", "WAITFOR", "EXEC", "EXECUTE", "USE", "GRANT", "REVOKE", "DENY", "PRINT",
             "TRUNCATE", "MERGE", "IF", "WHILE", "SAVE", "RAISERROR", "THROW", "RETURN"}
_PERMISSION_WORDS = {"SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE", "EXEC", "ALTER", "CREATE", "CONTROL"}
_SPLIT_CACHE_SIZE = 512   # batch texts whose split is remembered …
_SPLIT_CACHE_TEXT = 8192  # … when no longer than this


# Parentheses nested deeper than this are refused with 191 before sqlglot sees them: its parser is recursive
# and, from the depth of the emulator's call stack, exhausts Python's default stack at about 48 levels.
# SQL Server allows deeper nesting; 32 covers what people write.
MAX_NESTING = 32


def split_batch(text: str) -> list[str]:
    """Statements of a batch: at ';', and where a new statement keyword starts one (T-SQL needs no ';').

    Splitting is pure (the same text always splits the same way), so it is remembered per batch text
    for the short batches that clients repeat; a batch that does not tokenize raises, and is not
    remembered."""
    return list(_split_cached(text) if len(text) <= _SPLIT_CACHE_TEXT else _split_batch(text))


def _split_batch(text: str) -> tuple[str, ...]:
    load_sqlglot()
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = tsql_dialect().tokenize(text)
    except TokenError as exc:
        raise errors.syntax_error(str(exc).split("\n")[0][:40]) from None
    quoted = quoted_tokens()
    semicolon, left, right = TokenType.SEMICOLON, TokenType.L_PAREN, TokenType.R_PAREN
    statements: list[str] = []
    start: int | None = None
    first = ""
    prev = ""
    depth = 0
    seen_select = False
    cases = 0  # open CASE expressions: their ELSE and END belong to them
    end = 0
    after_end = False
    for token in tokens:
        if after_end and token.token_type == TokenType.STRING:
            # sqlglot reads END at the start of a statement as a command and the text after it, up to
            # the next ';', as its string argument: that text is statements of its own (ELSE …)
            statements.extend(_split_batch(token.text))
            after_end = False
            continue
        after_end = False
        word = token.text.upper() if token.token_type not in quoted else ""
        if token.token_type == semicolon and depth == 0:
            if start is not None:
                statements.append(text[start:end + 1])
            start, first, prev, seen_select = None, "", "", False
            continue
        if word == "CASE":
            cases += 1
        elif word == "END" and cases:
            cases -= 1
        elif word in ("ELSE", "END") and depth == 0 and not cases:
            # IF … ELSE … and BEGIN … END: ELSE and END stand alone, for the engine to see the structure
            if start is not None:
                statements.append(text[start:end + 1])
            statements.append(word)
            start, first, prev, seen_select = None, "", "", False
            after_end = word == "END"
            continue
        if token.token_type == left:
            depth += 1
            if depth > MAX_NESTING:
                raise errors.nested_too_deeply()
        elif token.token_type == right:
            depth = max(0, depth - 1)
        if start is not None and depth == 0 and word in _STARTERS and _starts_statement(word, first, prev,
                                                                                         seen_select):
            statements.append(text[start:end + 1])
            start, first, seen_select = None, "", False
        if start is None:
            start, first = token.start, word
        if word == "SELECT" and depth == 0:
            seen_select = True
        prev = word or "?"
        end = token.end
    if start is not None:
        statements.append(text[start:end + 1])
    return tuple(s.strip() for s in statements if s.strip())


_split_cached = functools.lru_cache(maxsize=_SPLIT_CACHE_SIZE)(_split_batch)


def _starts_statement(word: str, first: str, prev: str, seen_select: bool) -> bool:
    if prev in ("UNION", "ALL", "EXCEPT", "INTERSECT", "(", ",", "THEN", "ON", "FOR", "AS"):
        return False
    if first in ("GRANT", "REVOKE", "DENY") and (prev in ("GRANT", "REVOKE", "DENY") or
                                                  word in _PERMISSION_WORDS and prev in ("", "?")):
        return False
    if word == "SELECT":
        return not ((first == "INSERT" and not seen_select) or (first == "CREATE" and prev == "AS")
                    or first == "WITH")
    if word == "SET":
        return first not in ("UPDATE", "MERGE", "ALTER")
    if word in ("DROP", "ADD", "ALTER"):  # ALTER TABLE t DROP / ADD / ALTER COLUMN …
        return first != "ALTER"
    if word in ("EXEC", "EXECUTE"):
        return first != "INSERT"
    if word == "IF":  # DROP TABLE IF EXISTS …: part of the DROP, not an IF block
        return not (first == "DROP" and prev in _DROPPABLE)
    return True


_DROPPABLE = {"TABLE", "VIEW", "USER", "PROCEDURE", "PROC", "FUNCTION", "INDEX", "SCHEMA", "ROLE"}


_FIRST_WORD = re.compile(r"^\s*([A-Za-z_]+)")


def unquote(name: str) -> str:
    if name.startswith("[") and name.endswith("]"):
        return name[1:-1].replace("]]", "]")
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    return name


def split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == separator:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def string_literals(text: str) -> list[str]:
    return [m.replace("''", "'") for m in re.findall(r"N?'((?:[^']|'')*)'", text)]


def keyword(text: str) -> str:
    found = _FIRST_WORD.match(text)
    return found.group(1).upper() if found else text[:20]
