"""Stored procedures made with CREATE PROCEDURE: create / alter / drop, called by EXEC in a batch and by RPC
(pyodbc's and mssql-python's ``{CALL …}``, pytds's callproc with OUTPUT parameters and the RETURN status),
RAISERROR and THROW with their numbers, severities and states, and the EXECUTE permission."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import mssql_python
import pyodbc
import pytds
import pytest
import raw_tds
from sql_helpers import DATABASE, SqlTarget, error_number, sql_error

from lib import sql

PRICE_OF = """CREATE PROCEDURE dbo.PriceOf
    @id int,
    @factor decimal(5,2) = 1.00,
    @price decimal(10,2) OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @found int = (SELECT COUNT(*) FROM Products WHERE ProductID = @id);
    IF @found = 0
        RETURN 1;
    SET @price = (SELECT Price * @factor FROM Products WHERE ProductID = @id);
    SELECT Name FROM Products WHERE ProductID = @id;
    RETURN 0;
END"""

CHEAPEST = """CREATE PROCEDURE Cheapest (@count int = 3, @category nvarchar(50) = NULL) AS
    SELECT TOP (@count) ProductID, Price FROM Products
    WHERE @category IS NULL OR Category = @category ORDER BY Price, ProductID"""


def _rows(cursor: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in cursor.fetchall()]


def _error(connection: Any, statement: str, *parameters: Any) -> pyodbc.Error:
    with pytest.raises(pyodbc.Error) as caught:
        cursor = connection.execute(statement, *parameters)
        while cursor.nextset():
            pass
    return caught.value


def _pytds(target: SqlTarget, token: str | None = None) -> Any:
    token = token or target.admin_token()
    return pytds.connect(dsn="localhost", port=target.port, database=DATABASE, cafile=target.ca,
                         access_token_callable=lambda: token, login_timeout=5, autocommit=True)


def test_exec_with_input_output_parameters_and_return_status(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute(PRICE_OF)
        expected = connection.execute("SELECT Name, Price FROM Products WHERE ProductID = 7").fetchone()
        cursor = connection.execute("DECLARE @p decimal(10,2), @rc int = -1; "
                                    "EXEC @rc = dbo.PriceOf 7, @price = @p OUTPUT; SELECT @rc, @p")
        assert _rows(cursor) == [(expected[0],)]  # the procedure's own result first
        assert cursor.nextset()
        assert _rows(cursor) == [(0, expected[1])]
        cursor = connection.execute("DECLARE @p decimal(10,2) = 5, @rc int; "
                                    "EXEC @rc = PriceOf @id = 99999, @price = @p OUTPUT; SELECT @rc, @p")
        assert _rows(cursor) == [(1, Decimal("5.00"))]  # RETURN 1 before the OUTPUT parameter was set
        cursor = connection.execute("DECLARE @p decimal(10,2); EXECUTE [dbo].[PriceOf] @price = @p OUTPUT, "
                                    "@id = 7, @factor = 2; SELECT @p")
        cursor.nextset()
        assert _rows(cursor) == [(expected[1] * 2,)]


def test_exec_in_a_batch_answers_with_doneinproc_returnstatus_and_doneproc(target: SqlTarget) -> None:
    """[MS-TDS] 2.2.2.5: a procedure run by EXEC in a SQL batch returns its status too (RETURNSTATUS); the
    statements inside end with DONEINPROC and the procedure with DONEPROC, then the batch goes on."""
    target.run_admin(PRICE_OF)
    with raw_tds.connect(target.port, target.ca, target.admin_token()) as raw:
        reply = raw.batch("DECLARE @p decimal(10,2); EXEC PriceOf 7, @price = @p OUTPUT; "
                          "EXEC PriceOf 99999, @price = @p OUTPUT; SELECT @p AS p")
    done, doneproc, doneinproc, returnstatus = 0xFD, 0xFE, 0xFF, 0x79
    assert [t for t in reply.tokens if t in (done, doneproc, doneinproc, returnstatus)] == [
        doneinproc, returnstatus, doneproc,  # PriceOf 7: its SELECT Name, then RETURN 0
        returnstatus, doneproc,              # PriceOf 99999: RETURN 1 before any statement gave a result
        done]                                # SELECT @p
    assert reply.return_statuses == [0, 1]
    assert reply.done[-1] == 0x10 and all(status & 0x1 for status in reply.done[:-1])  # only the last is final
    with _pytds(target) as connection, connection.cursor() as cursor:  # a client reads the status of a batch
        cursor.execute("DECLARE @p decimal(10,2); EXEC PriceOf 99999, @price = @p OUTPUT")
        assert cursor.return_value == 1


def test_set_options_a_procedure_or_dynamic_sql_sets_end_with_it(target: SqlTarget) -> None:
    """SQL Server restores a SET option set inside a procedure, sp_executesql or EXEC('…') when it returns."""
    with target.admin() as connection:
        connection.execute("CREATE PROCEDURE Quiet AS BEGIN SET NOCOUNT ON; SET DATEFORMAT dmy; "
                           "SELECT @@OPTIONS & 512 AS nocount END")
        cursor = connection.execute("EXEC Quiet; SELECT @@OPTIONS & 512, CONVERT(date, '02/03/2026')")
        assert _rows(cursor) == [(512,)]  # inside: on
        assert cursor.nextset()
        outside = _rows(cursor)[0]
        assert outside[0] == 0 and str(outside[1]) == "2026-02-03"  # outside: off again, and mdy again
        for dynamic in ("EXEC ('SET NOCOUNT ON')", "EXEC sp_executesql N'SET NOCOUNT ON'"):
            assert _rows(connection.execute(f"{dynamic}; SELECT @@OPTIONS & 512")) == [(0,)], dynamic
        cursor = connection.execute("SET NOCOUNT ON; EXEC Quiet; SELECT @@OPTIONS & 512")
        assert cursor.nextset() and _rows(cursor) == [(512,)]  # one set before the call stays set after it
        connection.execute("SET NOCOUNT OFF")


@pytest.mark.parametrize("client", ["pyodbc", "mssql-python"])
def test_call_escape_runs_a_users_procedure(target: SqlTarget, client: str) -> None:
    target.run_admin(CHEAPEST)
    if client == "pyodbc":
        connection = target.admin()
    else:
        connection = mssql_python.connect(
            f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert}",
            attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(target.admin_token())}, autocommit=True)
    try:
        cursor = connection.cursor()
        expected = _rows(cursor.execute("SELECT TOP 2 ProductID, Price FROM Products WHERE Category = 'Garden' "
                                        "ORDER BY Price, ProductID"))
        cursor.execute("{CALL Cheapest (?, ?)}", (2, "Garden"))
        assert _rows(cursor) == expected
        cursor.execute("{CALL dbo.Cheapest}")
        assert len(_rows(cursor)) == 3  # the defaults
    finally:
        connection.close()


def test_rpc_by_name_gives_output_parameters_and_the_return_status(target: SqlTarget) -> None:
    target.run_admin(PRICE_OF)
    with _pytds(target) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT Name, Price FROM Products WHERE ProductID = 12")
        name, price = cursor.fetchone()
        cursor.callproc("PriceOf", (12, Decimal("1.50"), pytds.output(value=None, param_type="decimal(10,2)")))
        assert cursor.fetchall() == [(name,)]
        assert cursor.get_proc_return_status() == 0
        cursor.execute("CREATE PROCEDURE Doubled @value decimal(10,2), @result decimal(10,2) OUTPUT AS "
                       "BEGIN SET @result = @value * 2; RETURN 7 END")
        # (pytds reads OUTPUT values when the procedure sends no rows; with rows, its get_proc_outputs fails)
        result = cursor.callproc("Doubled", (Decimal("1.25"), pytds.output(value=None, param_type="decimal(10,2)")))
        assert result[1] == Decimal("2.50")
        assert cursor.get_proc_return_status() == 7
        result = cursor.callproc("Doubled", {"@result": pytds.output(value=None, param_type="decimal(10,2)"),
                                             "@value": Decimal("-4.5")})
        assert result[0] == Decimal("-9.00")  # by name: in the order given
        cursor.callproc("PriceOf", {"@id": 99999, "@price": pytds.output(value=None, param_type="decimal(10,2)")})
        assert cursor.get_proc_return_status() == 1


def test_create_alter_drop(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE PROCEDURE Answer AS SELECT 42")
        assert connection.execute("EXEC Answer").fetchone()[0] == 42
        exists = _error(connection, "CREATE PROCEDURE Answer AS SELECT 1")
        assert error_number(exists) == 2714 and "'Answer'" in sql_error(exists)
        connection.execute("ALTER PROCEDURE dbo.Answer @plus int = 0 AS SELECT 42 + @plus")
        assert connection.execute("EXEC Answer 1").fetchone()[0] == 43
        connection.execute("-- a comment first\nCREATE OR ALTER PROCEDURE Answer AS SELECT 'changed'")
        assert connection.execute("EXEC Answer").fetchone()[0] == "changed"
        not_first = _error(connection, "SELECT 1; CREATE PROCEDURE Other AS SELECT 2")
        assert error_number(not_first) == 111
        listed = connection.execute("SELECT p.name, p.type, o.type_desc FROM sys.procedures p "
                                    "JOIN sys.objects o ON o.object_id = p.object_id").fetchall()
        assert [tuple(r) for r in listed] == [("Answer", "P", "SQL_STORED_PROCEDURE")]
        connection.execute("IF OBJECT_ID('dbo.Answer', 'P') IS NOT NULL DROP PROCEDURE dbo.Answer")
        missing = _error(connection, "EXEC Answer")
        assert error_number(missing) == 2812 and "Could not find stored procedure 'Answer'." in sql_error(missing)
        assert connection.execute("SELECT OBJECT_ID('Answer')").fetchone()[0] is None
        assert error_number(_error(connection, "DROP PROCEDURE Answer")) == 3701
        connection.execute("DROP PROCEDURE IF EXISTS Answer")
        assert error_number(_error(connection, "ALTER PROCEDURE Nothing AS SELECT 1")) == 208
        assert error_number(_error(connection, "CREATE PROCEDURE sales.P AS SELECT 1")) == 2760


@pytest.mark.parametrize(("body", "named"), [
    ("WHILE 1 = 0 SELECT 1", "WHILE in a stored procedure"),
    ("CREATE TABLE T (a int)", "CREATE TABLE in a stored procedure"),
    ("BEGIN TRY SELECT 1 END TRY BEGIN CATCH SELECT 2 END CATCH", "BEGIN TRY in a stored procedure"),
    ("DECLARE c CURSOR FOR SELECT 1", "cursors"),
    ("MERGE Products AS t USING Products AS s ON t.ProductID = s.ProductID WHEN MATCHED THEN DELETE;",
     "MERGE in a stored procedure"),
    ("WITH EXECUTE AS OWNER AS SELECT 1", "EXECUTE AS"),
])
def test_what_a_body_may_not_hold_is_refused_by_name_at_create(target: SqlTarget, body: str, named: str) -> None:
    with target.admin() as connection:
        statement = f"CREATE PROCEDURE Refused {body}" if body.startswith("WITH") else \
            f"CREATE PROCEDURE Refused AS {body}"
        refused = _error(connection, statement)
        assert error_number(refused) == 40517 and named in sql_error(refused), sql_error(refused)
        assert error_number(_error(connection, "EXEC Refused")) == 2812  # nothing was stored


def test_argument_errors(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute(PRICE_OF)
        for statement, number, text in [
            ("EXEC PriceOf", 201, "Procedure or function 'PriceOf' expects parameter '@id', which was not supplied."),
            ("DECLARE @p decimal(10,2); EXEC PriceOf 1, 1, @p OUTPUT, 4", 8144,
             "Procedure or function PriceOf has too many arguments specified."),
            ("EXEC PriceOf @id = 1, @nope = 2", 8145, "@nope is not a parameter for procedure PriceOf."),
            ("DECLARE @f decimal(5,2); EXEC PriceOf 1, @f OUTPUT", 8162, 'The formal parameter "@factor"'),
            ("EXEC PriceOf @id = 1, 2", 119, "Must pass parameter number 2"),
        ]:
            refused = _error(connection, statement)
            assert error_number(refused) == number and text in sql_error(refused), sql_error(refused)


def test_raiserror_and_throw(target: SqlTarget) -> None:
    with target.admin() as connection:
        refused = _error(connection, "RAISERROR('Order %d of %s is late', 16, 3, 42, N'Contoso')")
        assert error_number(refused) == 50000 and "Order 42 of Contoso is late" in sql_error(refused)
        cursor = connection.execute("RAISERROR('just saying', 10, 1); SELECT 1")
        assert "just saying" in str(cursor.messages) and cursor.fetchone()[0] == 1
        assert error_number(_error(connection, "THROW 51000, 'The order is closed.', 2")) == 51000
        assert error_number(_error(connection, "THROW 100, 'too low', 1")) == 35100
        assert error_number(_error(connection, "RAISERROR('fatal', 20, 1)")) == 2754
        assert error_number(_error(connection, "RAISERROR(50001, 16, 1)")) == 18054
        assert error_number(_error(connection, "THROW")) == 10704
        assert error_number(_error(connection, "RETURN 5")) == 178
        assert connection.execute("SELECT 1; RETURN; SELECT 2").fetchone()[0] == 1
    with _pytds(target) as connection, connection.cursor() as cursor:  # severity and state on the wire
        cursor.execute("CREATE PROCEDURE Refuse @why nvarchar(20) AS BEGIN RAISERROR('No: %s', 16, 7, @why); "
                       "RETURN 3 END")
        with pytest.raises(pytds.Error) as caught:
            cursor.callproc("Refuse", ("closed",))
            cursor.fetchall()
        assert (caught.value.number, caught.value.severity, caught.value.state) == (50000, 16, 7), repr(caught.value)
        assert caught.value.text == "No: closed"
        with pytest.raises(pytds.Error) as thrown:
            cursor.execute("THROW 51234, N'Thrown', 9")
        assert (thrown.value.number, thrown.value.severity, thrown.value.state) == (51234, 16, 9)


def test_execute_permission(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"ALTER ROLE db_datawriter ADD MEMBER [{target.vm_name}]", CHEAPEST)
    with target.vm() as connection:
        denied = _error(connection, "EXEC Cheapest 1")
        assert error_number(denied) == 229
        assert "The EXECUTE permission was denied on the object 'Cheapest', database 'workbookdb', schema 'dbo'." \
            in sql_error(denied)
        assert error_number(_error(connection, "{CALL Cheapest (?)}", 1)) == 229
        assert error_number(_error(connection, "CREATE PROCEDURE Mine AS SELECT 1")) == 262
        assert error_number(_error(connection, "SELECT COUNT(*) FROM Products")) == 229  # it cannot read the table
    target.run_admin(f"GRANT EXECUTE ON dbo.Cheapest TO [{target.vm_name}]")
    with target.vm() as connection:
        # ownership chaining: the procedure reads the table for it
        assert len(_rows(connection.execute("EXEC Cheapest 2"))) == 2
        assert len(_rows(connection.execute("{CALL Cheapest (?)}", 4))) == 4
    target.run_admin(f"REVOKE EXECUTE ON Cheapest FROM [{target.vm_name}]", f"GRANT EXECUTE TO [{target.vm_name}]")
    with target.vm() as connection:
        assert len(_rows(connection.execute("EXEC Cheapest 1"))) == 1  # granted on the whole database
