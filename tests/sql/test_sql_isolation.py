"""Sessions side by side, as Azure SQL Database runs them (READ_COMMITTED_SNAPSHOT on): a reader sees
the last committed rows, never another session's open transaction, and is not blocked by it; the
writing session sees its own changes; a second writer waits for the first (1222 after the lock
timeout is covered in the engine's own rules, not here)."""

from __future__ import annotations

import pyodbc
from sql_helpers import SqlTarget

GARDEN = "SELECT COUNT(*) FROM Products WHERE Category = 'Garden'"


def _count(connection: pyodbc.Connection, query: str = "SELECT COUNT(*) FROM Products") -> int:
    return int(connection.execute(query).fetchone()[0])


def test_a_reader_does_not_see_an_open_transaction_until_it_commits(target: SqlTarget) -> None:
    with target.odbc(target.admin_token(), autocommit=False) as writer, target.admin() as reader:
        garden = _count(reader, GARDEN)
        other = _count(reader, "SELECT MIN(ProductID) FROM Products WHERE Category <> 'Garden'")
        name = f"SELECT Name FROM Products WHERE ProductID = {other}"
        assert garden > 0
        writer.execute("DELETE FROM Products WHERE Category = 'Garden'")
        writer.execute(f"UPDATE Products SET Name = N'renamed' WHERE ProductID = {other}")
        assert _count(writer, GARDEN) == 0  # the writer sees its own work
        assert _count(reader, GARDEN) == garden  # the reader, the committed rows, at once
        assert reader.execute(name).fetchone()[0] != "renamed"
        writer.commit()
        assert _count(reader, GARDEN) == 0
        assert reader.execute(name).fetchone()[0] == "renamed"


def test_a_rolled_back_transaction_was_never_visible(target: SqlTarget) -> None:
    with target.odbc(target.admin_token(), autocommit=False) as writer, target.admin() as reader:
        writer.execute("INSERT INTO Products (Name, Category, Price, InStock, AddedOn, Sku) "
                       "VALUES (N'ghost', N'Garden', 1.00, 1, SYSUTCDATETIME(), NEWID())")
        assert _count(writer) == 301
        assert _count(reader) == 300
        writer.rollback()
        assert _count(reader) == 300 and _count(writer) == 300


def test_functions_answer_for_the_reader_beside_an_open_transaction(target: SqlTarget) -> None:
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")
    with target.odbc(target.admin_token(), autocommit=False) as writer, target.vm() as vm:
        writer.execute("DELETE FROM Products WHERE ProductID <= 10")
        who, database, count = vm.execute("SELECT SUSER_SNAME(), DB_NAME(), COUNT(*) FROM Products").fetchone()
        writer.rollback()
    assert (who, database, count) == (target.vm_login, "workbookdb", 300)


def test_a_large_result_read_beside_an_open_transaction_is_the_committed_one(target: SqlTarget) -> None:
    with target.odbc(target.admin_token(), autocommit=False) as writer, target.admin() as reader:
        writer.execute("DELETE FROM Products WHERE ProductID > 150")
        rows = reader.execute("SELECT p.ProductID FROM Products p, Products q WHERE q.ProductID <= 10").fetchall()
        writer.commit()
    assert len(rows) == 3000
