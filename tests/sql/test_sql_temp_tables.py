"""#temp tables (a session's own, ##tables shared, dropped when their session ends or its connection is
reset, SELECT … INTO) and SAVE TRANSACTION / ROLLBACK TRANSACTION <savepoint>, with pyodbc + ODBC Driver 18
over two connections, and the raw reset flag."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pyodbc
import pytest
from raw_tds import SQL_BATCH, sql_batch_payload
from raw_tds import connect as raw_connect
from sql_helpers import SqlTarget, error_number, sql_error


def _rows(connection: Any, query: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in connection.execute(query).fetchall()]


def _error(connection: Any, statement: str) -> pyodbc.Error:
    with pytest.raises(pyodbc.Error) as caught:
        connection.execute(statement).fetchall()
    return caught.value


def test_a_temp_table_is_the_sessions_own(target: SqlTarget) -> None:
    with target.admin() as first, target.admin() as second:
        first.execute("CREATE TABLE #orders (id int IDENTITY(1,1) PRIMARY KEY, amount decimal(9,2) NOT NULL, "
                      "note nvarchar(20))")
        assert _rows(first, "SET NOCOUNT ON; INSERT INTO #orders (amount, note) VALUES (12.5, N'first'), "
                            "(7.25, NULL); SELECT SCOPE_IDENTITY()") == [(Decimal(2),)]
        refused = _error(second, "SELECT * FROM #orders")
        assert error_number(refused) == 208 and "Invalid object name '#orders'." in sql_error(refused)
        second.execute("CREATE TABLE #orders (id int, label varchar(5))")  # its own, of another shape
        second.execute("INSERT INTO #orders VALUES (9, 'x')")
        assert _rows(first, "SELECT id, amount, note FROM #orders ORDER BY id") == [
            (1, Decimal("12.50"), "first"), (2, Decimal("7.25"), None)]
        assert _rows(second, "SELECT * FROM #orders") == [(9, "x")]
        assert first.execute("SELECT amount FROM #orders").description[0][1] is Decimal  # typed as declared
        assert _rows(first, "SELECT COUNT(*) FROM sys.tables WHERE name LIKE '%orders%'") == [(0,)]
        assert _rows(first, "SELECT CASE WHEN OBJECT_ID('tempdb..#orders') IS NULL THEN 0 ELSE 1 END, "
                            "CASE WHEN OBJECT_ID('tempdb..#nothing') IS NULL THEN 0 ELSE 1 END") == [(1, 0)]
        exists = _error(first, "CREATE TABLE #orders (id int)")
        assert error_number(exists) == 2714 and "'#orders'" in sql_error(exists)
        too_long = _error(second, "INSERT INTO #orders VALUES (1, 'abcdefgh')")
        assert error_number(too_long) == 2628 and "@" not in sql_error(too_long)  # never the tempdb name
        first.execute("DROP TABLE #orders")
        assert error_number(_error(first, "SELECT * FROM #orders")) == 208
        assert _rows(second, "SELECT COUNT(*) FROM #orders") == [(1,)]
        assert error_number(_error(first, "DROP TABLE #orders")) == 3701
        first.execute("DROP TABLE IF EXISTS #orders")


def test_a_reader_makes_temp_tables_without_create_table_permission(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")
    with target.vm() as connection:
        connection.execute("SELECT ProductID, Name INTO #mine FROM Products WHERE ProductID <= 3")
        connection.execute("UPDATE #mine SET Name = N'renamed' WHERE ProductID = 1")
        assert _rows(connection, "SELECT ProductID, Name FROM #mine ORDER BY ProductID")[0] == (1, "renamed")
        denied = _error(connection, "SELECT ProductID INTO Copied FROM Products")
        assert error_number(denied) == 262  # a table of the database still needs CREATE TABLE


def test_select_into_keeps_the_columns_types_and_counts_rows(target: SqlTarget) -> None:
    with target.admin() as connection:
        cursor = connection.execute("SELECT ProductID, Name, Price, Price * 2 AS doubled "
                                    "INTO #priced FROM Products WHERE ProductID <= 5")
        assert cursor.rowcount == 5
        cursor = connection.execute("SELECT * FROM #priced ORDER BY ProductID")
        rows = [tuple(r) for r in cursor.fetchall()]
        reference = _rows(connection, "SELECT ProductID, Name, Price, Price * 2 FROM Products "
                                      "WHERE ProductID <= 5 ORDER BY ProductID")
        assert rows == reference
        assert [d[0] for d in cursor.description] == ["ProductID", "Name", "Price", "doubled"]
        assert [d[1] for d in cursor.description] == [int, str, Decimal, Decimal]
        unnamed = _error(connection, "SELECT ProductID + 1 INTO #nameless FROM Products")
        assert error_number(unnamed) == 8155
        connection.execute("SELECT TOP 3 ProductID INTO CopiedProducts FROM Products ORDER BY ProductID")
        assert _rows(connection, "SELECT name FROM sys.tables WHERE name = 'CopiedProducts'") == [("CopiedProducts",)]
        assert error_number(_error(connection, "SELECT ProductID INTO CopiedProducts FROM Products")) == 2714


def _eventually(check: Any) -> Any:
    deadline = time.monotonic() + 5
    while True:
        try:
            return check()
        except (AssertionError, pyodbc.Error):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_global_temp_table_is_shared_until_its_session_ends(target: SqlTarget) -> None:
    with target.admin() as keeper:
        maker = target.admin()
        maker.execute("CREATE TABLE ##shared (id int)")
        maker.execute("INSERT INTO ##shared VALUES (1)")
        keeper.execute("INSERT INTO ##shared VALUES (2)")
        assert _rows(maker, "SELECT COUNT(*) FROM ##shared") == [(2,)]
        maker.close()

        def gone() -> None:
            assert error_number(_error(keeper, "SELECT * FROM ##shared")) == 208

        _eventually(gone)
        keeper.execute("CREATE TABLE ##shared (other nvarchar(5))")  # the name is free again, the rows gone
        assert _rows(keeper, "SELECT COUNT(*) FROM ##shared") == [(0,)]


def test_a_connection_reset_drops_the_temp_tables(target: SqlTarget) -> None:
    with raw_connect(target.port, target.ca, target.admin_token()) as raw:
        raw.batch("CREATE TABLE #kept (id int); INSERT INTO #kept VALUES (1)")
        assert raw.batch("SELECT COUNT(*) AS n FROM #kept").rows == [[1]]
        reset = raw.request(SQL_BATCH, sql_batch_payload("SELECT OBJECT_ID('tempdb..#kept') AS id"), status=0x08)
        assert reset.rows == [[None]]
        assert raw.batch("SELECT * FROM #kept").error_numbers == [208]


def test_a_temp_table_made_in_a_rolled_back_transaction_is_gone(target: SqlTarget) -> None:
    with target.odbc(target.admin_token(), autocommit=False) as connection:
        connection.execute("CREATE TABLE #draft (id int)")
        connection.execute("INSERT INTO #draft VALUES (1)")
        connection.rollback()
        assert error_number(_error(connection, "SELECT * FROM #draft")) == 208
        connection.execute("CREATE TABLE #draft (id int)")  # and may be made again
        connection.commit()


def test_savepoints(target: SqlTarget) -> None:
    with target.admin() as connection, target.admin() as other:
        connection.execute("CREATE TABLE Ledger (id int)")
        connection.execute("BEGIN TRANSACTION outer_work; INSERT INTO Ledger VALUES (1); SAVE TRANSACTION step; "
                           "INSERT INTO Ledger VALUES (2); SAVE TRAN later; INSERT INTO Ledger VALUES (3)")
        assert _rows(connection, "SELECT COUNT(*), @@TRANCOUNT FROM Ledger") == [(3, 1)]
        assert _rows(other, "SELECT COUNT(*) FROM Ledger") == [(0,)]  # nothing committed yet
        connection.execute("ROLLBACK TRANSACTION step")
        assert _rows(connection, "SELECT id, @@TRANCOUNT FROM Ledger") == [(1, 1)]  # still in the transaction
        connection.execute("INSERT INTO Ledger VALUES (4)")
        refused = _error(connection, "ROLLBACK TRANSACTION later")  # undone with what followed 'step'
        assert error_number(refused) == 6401 and "Cannot roll back later." in sql_error(refused)
        connection.execute("ROLLBACK TRAN step")  # a savepoint may be rolled back to again
        connection.execute("INSERT INTO Ledger VALUES (5); COMMIT TRANSACTION")
        assert _rows(other, "SELECT id FROM Ledger ORDER BY id") == [(1,), (5,)]
        connection.execute("BEGIN TRAN named; INSERT INTO Ledger VALUES (6); SAVE TRAN s; ROLLBACK TRAN named")
        assert _rows(connection, "SELECT COUNT(*), @@TRANCOUNT FROM Ledger") == [(2, 0)]  # the transaction's name
        outside = _error(connection, "SAVE TRANSACTION nowhere")
        assert error_number(outside) == 628


def test_rollback_to_a_savepoint_of_an_unnamed_transaction_by_its_name_only(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Ledger (id int)")
        connection.execute("BEGIN TRAN; INSERT INTO Ledger VALUES (1); SAVE TRAN s")
        refused = _error(connection, "ROLLBACK TRAN nosuch")
        assert error_number(refused) == 6401
        assert _rows(connection, "SELECT COUNT(*), @@TRANCOUNT FROM Ledger") == [(1, 1)]
        connection.execute("ROLLBACK")
        assert _rows(connection, "SELECT COUNT(*), @@TRANCOUNT FROM Ledger") == [(0, 0)]
