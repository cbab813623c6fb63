"""T-SQL the emulator does not run, named: every valid T-SQL feature it lacks answers with one 40517 ("Keyword or
statement option '<feature>' is not supported …") naming the feature, never a syntax error, an unknown-name
error that would make valid T-SQL look wrong, or one of the emulator's own names. The checks here run on the
statement's text before it is parsed (strings and quoted names blanked out), so that a construct sqlglot
cannot read, or would read into something else, is named rather than misreported."""

from __future__ import annotations

import re

from . import errors

# T-SQL built-in functions the emulator has no implementation of (an unknown name stays SQL Server's 195)
FUNCTIONS = frozenset({
    "TRANSLATE", "CHOOSE", "HASHBYTES", "CHECKSUM", "BINARY_CHECKSUM", "CHECKSUM_AGG", "PATINDEX", "STUFF", "REVERSE",
    "QUOTENAME", "PARSENAME", "CONCAT_WS", "DATETRUNC", "DATE_BUCKET", "DATEFROMPARTS", "DATETIMEFROMPARTS",
    "DATETIME2FROMPARTS", "DATETIMEOFFSETFROMPARTS", "SMALLDATETIMEFROMPARTS", "TIMEFROMPARTS", "SWITCHOFFSET",
    "TODATETIMEOFFSET", "ERROR_MESSAGE", "ERROR_NUMBER", "ERROR_SEVERITY", "ERROR_STATE", "ERROR_LINE",
    "ERROR_PROCEDURE", "SESSION_CONTEXT", "CONTEXT_INFO", "FORMATMESSAGE", "COMPRESS",
    "DECOMPRESS", "OBJECT_NAME", "OBJECT_SCHEMA_NAME", "OBJECT_DEFINITION", "OBJECTPROPERTY", "OBJECTPROPERTYEX",
    "COL_LENGTH", "COL_NAME", "COLUMNPROPERTY", "TYPE_NAME", "TYPE_ID", "TYPEPROPERTY", "INDEXPROPERTY", "INDEX_COL",
    "SUSER_ID", "SUSER_SID", "CERTENCODED", "CERTPRIVATEKEY", "ENCRYPTBYKEY", "DECRYPTBYKEY", "ENCRYPTBYPASSPHRASE",
    "DECRYPTBYPASSPHRASE", "ENCRYPTBYCERT", "DECRYPTBYCERT", "SIGNBYCERT", "KEY_ID", "KEY_GUID", "NEWSEQUENTIALID",
    "GROUPING", "GROUPING_ID", "APPROX_COUNT_DISTINCT", "APPROX_PERCENTILE_CONT", "APPROX_PERCENTILE_DISC",
    "PERCENTILE_CONT", "PERCENTILE_DISC", "STDEV", "STDEVP", "VAR", "VARP", "JSON_MODIFY", "ISJSON",
    "JSON_PATH_EXISTS", "STRING_ESCAPE", "DIFFERENCE", "CURRENT_TRANSACTION_ID", "MIN_ACTIVE_ROWVERSION",
    "CONNECTIONPROPERTY", "FILE_ID", "FILE_NAME", "FILEPROPERTY", "FULLTEXTCATALOGPROPERTY", "PWDCOMPARE",
    "PWDENCRYPT", "LOGINPROPERTY", "IS_SRVROLEMEMBER", "PERMISSIONS", "FN_MY_PERMISSIONS", "TRIGGER_NESTLEVEL",
    "EVENTDATA", "COLUMNS_UPDATED", "BIT_COUNT", "LEFT_SHIFT", "RIGHT_SHIFT", "GET_BIT", "SET_BIT",
})
# T-SQL's table-valued functions and rowset providers
TABLE_FUNCTIONS = frozenset({
    "OPENJSON", "STRING_SPLIT", "OPENROWSET", "OPENQUERY", "OPENDATASOURCE", "OPENXML", "CONTAINSTABLE",
    "FREETEXTTABLE", "GENERATE_SERIES", "CHANGETABLE", "PREDICT",
})
# the @@ functions the emulator does not keep (an unknown one stays "Must declare the scalar variable")
GLOBALS = frozenset({
    "CURSOR_ROWS", "PACK_RECEIVED", "PACK_SENT", "PACKET_ERRORS", "CPU_BUSY", "IDLE", "IO_BUSY", "TIMETICKS",
    "TOTAL_ERRORS", "TOTAL_READ", "TOTAL_WRITE", "DBTS", "DEF_SORTORDER_ID", "REMSERVER",
})
# constructs named by a pattern of the statement's text (strings and quoted names blanked out)
_CONSTRUCTS = [
    (re.compile(r"\b(?:CROSS|OUTER)\s+APPLY\b", re.I), "CROSS APPLY / OUTER APPLY"),
    (re.compile(r"\bAT\s+TIME\s+ZONE\b", re.I), "AT TIME ZONE"),
    (re.compile(r"\bNEXT\s+VALUE\s+FOR\b", re.I), "sequences (NEXT VALUE FOR)"),
    (re.compile(r"\b\w+\s*::\s*\w+", re.I), "CLR type methods (type::method)"),
    (re.compile(r"\$PARTITION\b", re.I), "$PARTITION"),
    (re.compile(r"\bFOR\s+XML\b", re.I), "FOR XML"),
    (re.compile(r"\bFOR\s+JSON\b", re.I), "FOR JSON"),
    (re.compile(r"\bFOR\s+BROWSE\b", re.I), "FOR BROWSE"),
    (re.compile(r"\bFOR\s+SYSTEM_TIME\b", re.I), "temporal tables (FOR SYSTEM_TIME)"),
    (re.compile(r"\bSYSTEM_VERSIONING\b", re.I), "temporal tables (SYSTEM_VERSIONING)"),
    (re.compile(r"\b(?:UN)?PIVOT\s*\(", re.I), "PIVOT / UNPIVOT"),
    (re.compile(r"\bTABLESAMPLE\b", re.I), "TABLESAMPLE"),
    (re.compile(r"\bGROUPING\s+SETS\b|\bWITH\s+(?:ROLLUP|CUBE)\b|\b(?:ROLLUP|CUBE)\s*\(", re.I),
     "GROUPING SETS / ROLLUP / CUBE"),
    (re.compile(r"\b(?:CONTAINS|FREETEXT)\s*\(", re.I), "full-text search (CONTAINS / FREETEXT)"),
    (re.compile(r"\bAS\s+(?:XML|GEOGRAPHY|GEOMETRY|HIERARCHYID)\b", re.I), "the xml and CLR types"),
    (re.compile(r"\bMATCH\s*\(", re.I), "graph tables (MATCH)"),
    (re.compile(r"\bAS\s+(?:NODE|EDGE)\b", re.I), "graph tables (AS NODE / AS EDGE)"),
]
_DML = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE)\b", re.I)
_OUTPUT_INTO = re.compile(r"\bOUTPUT\b[^;]*?\bINTO\b", re.I | re.S)
_BLANKED = re.compile(r"N?'(?:[^']|'')*'|\[(?:[^\]]|\]\])*\]|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)
_CALLED = re.compile(r"(?<![.@\w])([A-Za-z_][\w$]*)\s*\(")
_GLOBAL = re.compile(r"@@(\w+)")
# CREATE / ALTER / DROP of these the emulator runs; of anything else it names the kind
_KINDS = {"TABLE", "VIEW", "INDEX", "UNIQUE", "CLUSTERED", "NONCLUSTERED", "USER", "PROCEDURE", "PROC"}
_TWO_WORD_KINDS = {"EXTERNAL", "FULLTEXT", "SYMMETRIC", "ASYMMETRIC", "MASTER", "DATABASE", "PARTITION",
                   "SECURITY", "XML", "COLUMN", "SERVER", "EVENT", "MESSAGE", "APPLICATION", "COLUMNSTORE",
                   "SPATIAL", "WORKLOAD", "BROKER", "SEARCH", "SELECTIVE"}


def blank(text: str) -> str:
    """The statement with its strings, quoted names and comments blanked out."""
    return _BLANKED.sub("''", text)


def check_statement(text: str) -> None:
    """Raise 40517 naming the first T-SQL feature of the statement the emulator does not run."""
    plain = blank(text)
    for pattern, feature in _CONSTRUCTS:
        if pattern.search(plain):
            raise errors.unsupported(feature)
    for found in _CALLED.finditer(plain):
        name = found.group(1).upper()
        if name in TABLE_FUNCTIONS:
            raise errors.unsupported(f"table-valued function {name}")
        if name in FUNCTIONS:
            raise errors.unsupported(f"built-in function {name}")
    for found in _GLOBAL.finditer(plain):
        if found.group(1).upper() in GLOBALS:
            raise errors.unsupported(f"@@{found.group(1).upper()}")
    if _DML.match(plain) and _OUTPUT_INTO.search(plain):
        raise errors.unsupported("OUTPUT … INTO")


def object_kind(text: str) -> str | None:
    """CREATE / ALTER / DROP of an object kind the emulator has not: its name ('CREATE FUNCTION'); None
    for the kinds it runs."""
    words = blank(text).upper().split()
    if len(words) < 2 or words[0] not in ("CREATE", "ALTER", "DROP"):
        return None
    verb, position = words[0], 1
    if verb == "CREATE" and words[1:3] == ["OR", "ALTER"]:
        verb, position = "CREATE OR ALTER", 3
    kind = words[position].rstrip("(;") if position < len(words) else ""
    if kind in _KINDS or (verb, kind) == ("ALTER", "ROLE"):  # ALTER ROLE … ADD/DROP MEMBER: security.py
        return None
    if kind == "DATABASE" and (position + 1 >= len(words) or words[position + 1] not in ("SCOPED", "AUDIT",
                                                                                          "ENCRYPTION")):
        return f"{verb} DATABASE"
    if kind in _TWO_WORD_KINDS and position + 1 < len(words):
        kind += " " + words[position + 1]
        if kind in ("EXTERNAL DATA", "EXTERNAL FILE") and position + 2 < len(words):
            kind += " " + words[position + 2]
    return f"{verb} {kind}"


def alter_table_action(text: str) -> str:
    """ALTER TABLE t <action> the emulator does not run (it runs ADD of columns): the action's name."""
    found = re.match(r"^ALTER\s+TABLE\s+\S+\s+(\w+)(?:\s+(\w+))?", blank(text).strip(), re.I)
    if not found:
        return "ALTER TABLE"
    action = found.group(1).upper()
    second = (found.group(2) or "").upper()
    if action in ("ADD", "DROP", "ALTER", "WITH", "NOCHECK", "CHECK", "ENABLE", "DISABLE") and second in (
            "COLUMN", "CONSTRAINT", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "DEFAULT", "TRIGGER", "INDEX",
            "PERIOD", "CHANGE_TRACKING"):
        return f"ALTER TABLE … {action} {second}"
    if action in ("SWITCH", "REBUILD", "SET", "ENABLE", "DISABLE"):
        return f"ALTER TABLE … {action}"
    return f"ALTER TABLE … {action}"


def statement_feature(text: str, word: str) -> str | None:
    """A whole statement the emulator does not run, by its first word(s): its name, or None."""
    plain = blank(text).strip()
    upper = " ".join(plain.upper().split()[:4])
    if word == "DECLARE" and re.match(r"^DECLARE\s+\w+\s+(?:INSENSITIVE\s+|SCROLL\s+)*CURSOR\b", plain, re.I):
        return "cursors (DECLARE … CURSOR)"
    if word in ("OPEN", "CLOSE") and re.match(r"^\w+\s+(?:SYMMETRIC|ASYMMETRIC|MASTER)\s+KEY\b", plain, re.I):
        return " ".join(upper.split()[:3])
    if word in ("OPEN", "FETCH", "CLOSE", "DEALLOCATE"):
        return f"cursors ({word})"
    if re.match(r"^\w+\s*:$", plain):
        return "GOTO labels"
    if word in ("EXEC", "EXECUTE") and re.match(r"^EXEC(?:UTE)?\s+AS\b", plain, re.I):
        return "EXECUTE AS"
    if word == "UPDATE" and re.match(r"^UPDATE\s+STATISTICS\b", plain, re.I):
        return "UPDATE STATISTICS"
    if word == "WAITFOR" and not re.match(r"^WAITFOR\s+DELAY\b", plain, re.I):
        return " ".join(upper.split()[:2])
    if word in ("BACKUP", "RESTORE", "DBCC", "BULK", "CHECKPOINT", "KILL", "RECONFIGURE", "SHUTDOWN", "READTEXT",
                "WRITETEXT", "UPDATETEXT", "RECEIVE", "SEND", "GET", "MOVE", "ADD", "ENABLE", "DISABLE", "SETUSER",
                "REVERT", "BREAK", "CONTINUE", "GOTO", "WHILE", "MERGE", "INSERT BULK"):
        return word
    return None
