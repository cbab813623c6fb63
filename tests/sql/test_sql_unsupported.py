"""Valid T-SQL the emulator does not run answers with one "not supported" error (40517) that names the
feature — never a syntax error, an unknown-name error, or one of the emulator's own names; another database
or a linked server is Azure SQL Database's 40515. With pyodbc + ODBC Driver 18."""

from __future__ import annotations

from typing import Any

import pyodbc
import pytest
from sql_helpers import SqlTarget, error_number, sql_error

NAMED = [
    # statements
    ("DECLARE c CURSOR FOR SELECT a FROM T", "cursors (DECLARE … CURSOR)"),
    ("DECLARE c SCROLL CURSOR FOR SELECT a FROM T", "cursors (DECLARE … CURSOR)"),
    ("FETCH NEXT FROM c", "cursors (FETCH)"),
    ("DEALLOCATE c", "cursors (DEALLOCATE)"),
    ("MERGE T AS t USING T AS s ON t.a = s.a WHEN MATCHED THEN DELETE;", "MERGE"),
    ("WHILE 1 = 0 SELECT 1", "WHILE"),
    ("here:", "GOTO labels"),
    ("BEGIN TRY SELECT 1 END TRY BEGIN CATCH SELECT 2 END CATCH", "BEGIN TRY"),
    ("EXECUTE AS USER = 'dbo'", "EXECUTE AS"),
    ("UPDATE STATISTICS T", "UPDATE STATISTICS"),
    ("WAITFOR TIME '10:00'", "WAITFOR TIME"),
    ("BACKUP DATABASE workbookdb TO URL = 'https://x'", "BACKUP"),
    ("DBCC CHECKDB", "DBCC"),
    ("BULK INSERT T FROM 'x.csv'", "BULK"),
    ("OPEN SYMMETRIC KEY k DECRYPTION BY PASSWORD = 'x'", "OPEN SYMMETRIC KEY"),
    ("SET STATISTICS IO ON", "SET STATISTICS IO"),
    ("DECLARE @t TABLE (a int)", "DECLARE @table TABLE"),
    # objects
    ("CREATE FUNCTION dbo.f() RETURNS int AS BEGIN RETURN 1 END", "CREATE FUNCTION"),
    ("CREATE TRIGGER tr ON T AFTER INSERT AS SELECT 1", "CREATE TRIGGER"),
    ("CREATE SCHEMA sales", "CREATE SCHEMA"),
    ("CREATE SEQUENCE sq START WITH 1", "CREATE SEQUENCE"),
    ("CREATE TYPE tt FROM int", "CREATE TYPE"),
    ("CREATE SYNONYM sy FOR T", "CREATE SYNONYM"),
    ("CREATE ROLE auditors", "CREATE ROLE"),
    ("CREATE EXTERNAL DATA SOURCE x WITH (LOCATION = 'x')", "CREATE EXTERNAL DATA SOURCE"),
    ("ALTER DATABASE workbookdb SET READ_ONLY", "ALTER DATABASE"),
    ("ALTER TABLE T ALTER COLUMN b nvarchar(20)", "ALTER TABLE … ALTER COLUMN"),
    ("ALTER TABLE T DROP COLUMN b", "ALTER TABLE … DROP COLUMN"),
    ("ALTER TABLE T ADD CONSTRAINT ck CHECK (a > 0)", "ALTER TABLE … ADD CONSTRAINT"),
    ("CREATE TABLE Y (a int) WITH (SYSTEM_VERSIONING = ON)", "temporal tables (SYSTEM_VERSIONING)"),
    # query constructs
    ("SELECT * FROM T CROSS APPLY (SELECT 1 AS z) x", "CROSS APPLY / OUTER APPLY"),
    ("SELECT GETDATE() AT TIME ZONE 'UTC'", "AT TIME ZONE"),
    ("SELECT NEXT VALUE FOR sq", "sequences (NEXT VALUE FOR)"),
    ("SELECT 1 AS a FOR JSON PATH", "FOR JSON"),
    ("SELECT a FROM T FOR XML PATH('')", "FOR XML"),
    ("SELECT * FROM (SELECT 1 AS a, 'x' AS b) s PIVOT (MAX(a) FOR b IN ([x])) p", "PIVOT / UNPIVOT"),
    ("SELECT * FROM T TABLESAMPLE (10 PERCENT)", "TABLESAMPLE"),
    ("INSERT INTO T OUTPUT INSERTED.a INTO T (a) VALUES (1)", "OUTPUT … INTO"),
    ("UPDATE T SET a = a + 1 OUTPUT deleted.a, inserted.a", "OUTPUT deleted.… in an UPDATE (the values before it)"),
    ("SELECT b, COUNT(*) FROM T GROUP BY ROLLUP (b)", "GROUPING SETS / ROLLUP / CUBE"),
    ("SELECT geography::Point(1, 2, 4326)", "CLR type methods"),
    ("SELECT TOP 1 WITH TIES a FROM T ORDER BY a", "TOP … WITH TIES"),
    ("UPDATE T SET a = 1 FROM T LEFT JOIN T t2 ON T.a = t2.a", "UPDATE … FROM with an outer join"),
    ("SELECT * FROM T WHERE CONTAINS(b, 'x')", "full-text search"),
    # functions and globals
    ("SELECT * FROM OPENJSON('[1,2]')", "table-valued function OPENJSON"),
    ("SELECT value FROM STRING_SPLIT('a,b', ',')", "table-valued function STRING_SPLIT"),
    ("SELECT * FROM OPENROWSET('x', 'y', 'z')", "table-valued function OPENROWSET"),
    ("SELECT HASHBYTES('SHA2_256', 'abc')", "built-in function HASHBYTES"),
    ("SELECT DATETRUNC(day, GETDATE())", "built-in function DATETRUNC"),
    ("SELECT OBJECT_NAME(1)", "built-in function OBJECT_NAME"),
    ("SELECT ERROR_MESSAGE()", "built-in function ERROR_MESSAGE"),
    ("SELECT @@CURSOR_ROWS", "@@CURSOR_ROWS"),
    # catalog views and system procedures
    ("SELECT * FROM sys.dm_exec_sessions", "catalog view sys.dm_exec_sessions"),
    ("SELECT * FROM sys.dm_exec_connections", "catalog view sys.dm_exec_connections"),
    ("SELECT * FROM sys.indexes", "catalog view sys.indexes"),
    ("SELECT * FROM INFORMATION_SCHEMA.ROUTINES", "catalog view INFORMATION_SCHEMA.ROUTINES"),
    ("EXEC sp_help 'T'", "system procedure sp_help"),
    ("EXEC sp_who", "system procedure sp_who"),
    ("EXEC sp_rename 'T.b', 'c', 'COLUMN'", "system procedure sp_rename"),
]


def _refusal(connection: Any, statement: str, *parameters: Any) -> tuple[int | None, str]:
    try:
        cursor = connection.execute(statement, *parameters)
        while cursor.nextset():
            pass
    except pyodbc.Error as exc:
        return error_number(exc), sql_error(exc)
    return None, "ran"


def test_each_unsupported_feature_is_named(target: SqlTarget) -> None:
    target.run_admin("CREATE TABLE T (a int, b nvarchar(10))", "INSERT INTO T VALUES (1, N'x')")
    wrong = []
    with target.admin() as connection:
        for statement, feature in NAMED:
            number, message = _refusal(connection, statement)
            expected = f"Keyword or statement option '{feature}"
            if number != 40517 or expected not in message or "__" in message:
                wrong.append((statement, number, message))
        assert connection.execute("SELECT COUNT(*) FROM T").fetchone()[0] == 1  # nothing ran
    assert not wrong, "\n".join(map(str, wrong))


def test_the_system_procedures_are_named_by_rpc_too(target: SqlTarget) -> None:
    with target.admin() as connection:
        number, message = _refusal(connection, "{CALL sp_helptext (?)}", "T")
    assert number == 40517 and "system procedure sp_helptext" in message, message


@pytest.mark.parametrize("name", ["otherdb.dbo.Products", "srv.workbookdb.dbo.Products"])
def test_another_database_or_server_is_40515(target: SqlTarget, name: str) -> None:
    with target.admin() as connection:
        number, message = _refusal(connection, f"SELECT * FROM {name}")
    assert number == 40515
    assert f"Reference to database and/or server name in '{name}' is not supported in this version of SQL " \
        "Server." in message


def test_sp_executesql_with_parameters_in_a_batch(target: SqlTarget) -> None:
    with target.admin() as connection:
        cursor = connection.execute("DECLARE @n int = 5, @o int; "
                                    "EXEC sp_executesql N'SELECT @p * 2 AS v', N'@p int', @p = @n; "
                                    "EXEC sp_executesql N'SET @out = @in + 1', N'@in int, @out int OUTPUT', "
                                    "@in = 41, @out = @o OUTPUT; SELECT @o")
        assert cursor.fetchone()[0] == 10
        assert cursor.nextset()
        assert cursor.fetchone()[0] == 42
