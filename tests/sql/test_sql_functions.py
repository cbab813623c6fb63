"""T-SQL that learners type: built-in functions, decimal arithmetic and TOP give SQL Server's values and
types through the real pyodbc + ODBC Driver 18, or a SQL Server error that names what is unsupported.

Row 1 of the seeded Products table: Name 'Classic Hose', Price 58.99 (DECIMAL(10,2)), AddedOn
2024-03-14 18:13:37 (DATETIME2).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyodbc
import pytest
from sql_helpers import SqlTarget, error_number, sql_error

from emulator.services.sql.builtins import WINDOW_FUNCTIONS

ROW_1 = "FROM Products WHERE ProductID = 1"
ADDED = dt.datetime(2024, 3, 14, 18, 13, 37)


def _one(target: SqlTarget, query: str) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """The first row of a query and its description."""
    with target.admin() as connection:
        cursor = connection.execute(query)
        row = cursor.fetchone()
        description = list(cursor.description)
    assert row is not None
    return list(row), description


def _error(target: SqlTarget, query: str) -> str:
    with target.admin() as connection, pytest.raises(pyodbc.Error) as caught:
        connection.execute(query).fetchall()
    return sql_error(caught.value)


# -- wrong results first ------------------------------------------------------------------------------
def test_dateadd_keeps_the_rest_of_the_value_for_every_datepart(target: SqlTarget) -> None:
    parts = {"year": dt.datetime(2025, 3, 14, 18, 13, 37), "quarter": dt.datetime(2024, 6, 14, 18, 13, 37),
             "month": dt.datetime(2024, 4, 14, 18, 13, 37), "day": dt.datetime(2024, 3, 15, 18, 13, 37),
             "week": dt.datetime(2024, 3, 21, 18, 13, 37), "hour": dt.datetime(2024, 3, 14, 19, 13, 37),
             "minute": dt.datetime(2024, 3, 14, 18, 14, 37), "second": dt.datetime(2024, 3, 14, 18, 13, 38),
             "millisecond": dt.datetime(2024, 3, 14, 18, 13, 37, 1000)}
    columns = ", ".join(f"DATEADD({part}, 1, AddedOn)" for part in parts)
    row, description = _one(target, f"SELECT AddedOn, {columns} {ROW_1}")
    assert row[0] == ADDED
    assert row[1:] == list(parts.values())
    assert all(isinstance(v, dt.datetime) for v in row)
    assert [d[5] for d in description[1:]] == [7] * len(parts)  # datetime2(7), as the column


def test_dateadd_clamps_to_month_end_and_keeps_the_input_type(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT DATEADD(month, 1, '2024-01-31 10:20:30'), "
                                    "DATEADD(dd, -1, CAST('2024-03-01' AS DATE)), "
                                    "DATEADD(yy, 1, CAST('2024-02-29 18:13:37.1234567' AS DATETIME2)), "
                                    "DATEADD(mi, -90, CAST('2024-01-01 00:30' AS DATETIME))")
    assert row == [dt.datetime(2024, 2, 29, 10, 20, 30), dt.date(2024, 2, 29),
                   dt.datetime(2025, 2, 28, 18, 13, 37, 123456), dt.datetime(2023, 12, 31, 23, 0)]
    assert isinstance(row[1], dt.date) and not isinstance(row[1], dt.datetime)
    assert description[0][5] == 3 and description[2][5] == 7  # a string becomes datetime; datetime2 stays


def test_datediff_counts_boundaries_crossed(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT DATEDIFF(day, '2024-01-01 23:59', '2024-01-02 00:01'), "
                                    "DATEDIFF(year, '2023-12-31', '2024-01-01'), "
                                    "DATEDIFF(month, '2024-01-31', '2024-02-01'), "
                                    "DATEDIFF(week, '2024-01-06', '2024-01-07'), "
                                    "DATEDIFF(hour, '2024-01-01 10:59', '2024-01-01 11:00'), "
                                    "DATEDIFF(quarter, '2024-03-31', '2024-04-01'), "
                                    "DATEDIFF(second, '2024-01-01 00:00:00', '2024-01-01 00:01:00'), "
                                    "DATEDIFF(day, '2024-01-02', '2024-01-01'), "
                                    "DATEDIFF_BIG(millisecond, '2000-01-01', '2024-01-01')")
    assert row == [1, 1, 1, 1, 1, 1, 60, -1, 757382400000]
    assert all(type(v) is int for v in row)
    assert description[8][1] is int


def test_try_cast_and_try_convert_give_null_when_the_value_does_not_convert(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT TRY_CAST(Name AS INT), TRY_CONVERT(INT, 'abc'), TRY_CONVERT(INT, ' 12 '), "
                                    "TRY_CAST('12.5' AS INT), TRY_CAST('12.345' AS DECIMAL(5,2)), "
                                    "TRY_CAST(123456 AS DECIMAL(5,2)), TRY_CAST('2024-02-30' AS DATE), "
                                    f"TRY_CAST('2024-02-29' AS DATE) {ROW_1}")
    assert row == [None, None, 12, None, Decimal("12.35"), None, None, dt.date(2024, 2, 29)]
    assert description[0][1] is int and description[4][1] is Decimal


def test_cast_of_text_that_is_no_number_is_sql_servers_conversion_error(target: SqlTarget) -> None:
    message = _error(target, "SELECT CAST('abc' AS INT)")
    assert "(245)" in message and "Conversion failed when converting the varchar value 'abc' to data type int" \
        in message
    assert "(241)" in _error(target, "SELECT CAST('not a date' AS DATETIME2)")
    row, _ = _one(target, "SELECT CAST(' 42 ' AS INT), CAST(5 AS BIT), CAST(58.999 AS DECIMAL(10,2)), "
                          "CAST('2024-02-29 18:13:37.1234567' AS DATETIME2)")
    assert row == [42, True, Decimal("59.00"), dt.datetime(2024, 2, 29, 18, 13, 37, 123456)]


def test_decimal_arithmetic_follows_sql_server_precision_and_scale(target: SqlTarget) -> None:
    row, description = _one(target, f"SELECT Price * 1.2, Price / 3, Price + 1, Price - 0.5, 10 / 3.0, Price / 0.5 "
                                     f"{ROW_1}")
    assert row == [Decimal("70.788"), Decimal("19.663333"), Decimal("59.99"), Decimal("58.49"), Decimal("3.333333"),
                   Decimal("117.980000")]
    # decimal(10,2) * numeric(2,1) → (13,3); / int constant numeric(1,0) → (14,6); + 1 → (11,2);
    # 10/3.0 → (9,6); / 0.5 → (15,6)
    assert [(d[4], d[5]) for d in description] == [(13, 3), (14, 6), (11, 2), (11, 2), (9, 6), (15, 6)]
    assert all(isinstance(v, Decimal) for v in row)


def test_decimal_division_is_exact_when_sqlite_holds_the_decimal_as_an_integer(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Amounts (Id INT IDENTITY(1,1) PRIMARY KEY, Amount DECIMAL(10,2))")
        connection.execute("INSERT INTO Amounts (Amount) VALUES (59.00), (-7.00)")
        rows = connection.execute("SELECT Amount / 3, Amount / 2 FROM Amounts ORDER BY Id").fetchall()
    assert [tuple(r) for r in rows] == [(Decimal("19.666666"), Decimal("29.500000")),
                                        (Decimal("-2.333333"), Decimal("-3.500000"))]


def test_avg_and_round_keep_sql_server_types(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT AVG(Price), AVG(ProductID), ROUND(MIN(Price), 0), SUM(Price) "
                                    "FROM Products")
    with target.admin() as connection:
        prices = [r[0] for r in connection.execute("SELECT Price FROM Products").fetchall()]
    exact = sum(prices) / len(prices)
    assert row[0] == exact.quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
    assert (description[0][4], description[0][5]) == (38, 6)
    assert row[1] == 150 and type(row[1]) is int  # AVG of int is an int (45150 / 300 = 150.5, cut)
    assert row[2] == Decimal("5.00") and isinstance(row[2], Decimal)
    assert row[3] == sum(prices)
    row, description = _one(target, f"SELECT ROUND(Price, 0), ROUND(2.5, 0), ROUND(-2.5, 0), ROUND(123.456, -1), "
                                     f"ROUND(123.456, 1, 1), ROUND(15, -1), ROUND(CAST(2.5 AS FLOAT), 0) {ROW_1}")
    assert row == [Decimal("59.00"), Decimal("3.0"), Decimal("-3.0"), Decimal("120.000"), Decimal("123.400"), 20,
                   3.0]
    assert (description[0][4], description[0][5]) == (10, 2)
    assert isinstance(row[6], float)


def test_division_by_zero_is_an_error_not_null(target: SqlTarget) -> None:
    assert "(8134)" in _error(target, "SELECT 1 / 0")
    assert "(8134)" in _error(target, f"SELECT Price / 0 {ROW_1}")


def test_clock_functions_are_typed_with_their_fractions(target: SqlTarget) -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=5)
    row, description = _one(target, "SELECT GETUTCDATE(), SYSUTCDATETIME(), GETDATE(), SYSDATETIME(), "
                                    "CURRENT_TIMESTAMP")
    after = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=5)
    assert all(isinstance(v, dt.datetime) for v in row)
    assert all(before <= v <= after for v in row)  # Azure SQL Database's clock is UTC
    assert [d[5] for d in description] == [3, 7, 3, 7, 3]
    assert all(v.microsecond % 1000 == 0 for v in (row[0], row[2], row[4]))  # datetime: milliseconds


# -- functions that used to be errors ------------------------------------------------------------------
def test_date_parts_and_names(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT YEAR(AddedOn), MONTH(AddedOn), DAY(AddedOn), DATEPART(quarter, AddedOn), "
                                    "DATEPART(dw, AddedOn), DATEPART(hour, AddedOn), DATEPART(dayofyear, AddedOn), "
                                    "DATEPART(week, AddedOn), DATENAME(month, AddedOn), DATENAME(weekday, AddedOn), "
                                    f"DATENAME(year, AddedOn) {ROW_1}")
    assert row == [2024, 3, 14, 1, 5, 18, 74, 11, "March", "Thursday", "2024"]
    assert [d[1] for d in description] == [int] * 8 + [str] * 3


def test_unknown_datepart_is_sql_servers_error(target: SqlTarget) -> None:
    message = _error(target, f"SELECT DATEPART(fortnight, AddedOn) {ROW_1}")
    assert "(155)" in message and "'fortnight' is not a recognized datepart option" in message


def test_left_right_and_eomonth(target: SqlTarget) -> None:
    row, _ = _one(target, "SELECT LEFT(Name, 3), RIGHT(Name, 4), LEFT(Name, 50), RIGHT(Name, 0), EOMONTH(AddedOn), "
                          f"EOMONTH(AddedOn, -1), EOMONTH('2023-02-10') {ROW_1}")
    assert row == ["Cla", "Hose", "Classic Hose", "", dt.date(2024, 3, 31), dt.date(2024, 2, 29), dt.date(2023, 2, 28)]
    assert isinstance(row[4], dt.date) and not isinstance(row[4], dt.datetime)


def test_ascii_is_the_code_page_1252_code_of_the_first_character(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT ASCII('A'), ASCII('abc'), ASCII(''), ASCII(NULL), ASCII(N'€'), "
                                     "ASCII(N'Ω'), UNICODE(N'Ω')")
    assert row == [65, 97, None, None, 128, 63, 937]  # '€' is 128 in 1252; 'Ω' is not in it: '?'
    assert all(d[1] is int for d in description)


def test_str_right_justifies_a_rounded_number(target: SqlTarget) -> None:
    row, _ = _one(target, "SELECT STR(123.456, 8, 2), STR(123.456), STR(-2.5), STR(123456, 3), STR(1.5, 3, 2), "
                          "STR(NULL)")
    assert row == ["  123.46", "       123", "        -3", "***", "1.5", None]  # half away from zero; *** if too long


def test_in_compares_a_value_case_insensitively_too(target: SqlTarget) -> None:
    row, _ = _one(target, "DECLARE @x nvarchar(10) = 'garden'; SELECT CASE WHEN @x IN ('GARDEN', 'x') THEN 1 ELSE 0 "
                          "END, CASE WHEN 'B' IN ('a', 'b') THEN 1 ELSE 0 END, CASE WHEN 'c' IN ('a', 'b') THEN 1 "
                          "ELSE 0 END")
    assert row == [1, 1, 0]


def test_format_with_common_dotnet_formats(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT FORMAT(Price, 'N2'), FORMAT(1234567.891, 'N0'), FORMAT(1234.5, 'N2'), "
                                    "FORMAT(AddedOn, 'yyyy-MM-dd'), FORMAT(AddedOn, 'yyyy-MM'), "
                                    "FORMAT(AddedOn, 'dd/MM/yyyy'), FORMAT(AddedOn, 'HH:mm'), FORMAT(Price, 'C'), "
                                    "FORMAT(AddedOn, 'MMMM d, yyyy'), FORMAT(7, 'D3'), FORMAT(1234.5, '#,##0.00') "
                                    f"{ROW_1}")
    assert row == ["58.99", "1,234,568", "1,234.50", "2024-03-14", "2024-03", "14/03/2024", "18:13", "$58.99",
                   "March 14, 2024", "007", "1,234.50"]
    assert all(d[1] is str for d in description)


def test_format_the_emulator_cannot_render_is_refused_by_name(target: SqlTarget) -> None:
    message = _error(target, f"SELECT FORMAT(Price, 'P') {ROW_1}")
    assert "(40517)" in message and "FORMAT with format 'P'" in message
    message = _error(target, f"SELECT FORMAT(Price, 'N2', 'de-DE') {ROW_1}")
    assert "(40517)" in message and "de-DE" in message


def test_unknown_functions_are_named_as_written(target: SqlTarget) -> None:
    # a T-SQL built-in the emulator lacks is named as not supported (unsupported.py); an unknown name is 195
    assert "'built-in function DATEFROMPARTS' is not supported in this version of SQL Server. (40517)" in _error(
        target, "SELECT datefromparts(2024, 1, 2)")
    assert "'NO_SUCH_FN' is not a recognized built-in function name" in _error(target, "SELECT NO_SUCH_FN(1)")
    assert "'no_such_fn' is not a recognized" in _error(target, "SELECT no_such_fn(1)")


def test_object_id_and_database_ids(target: SqlTarget) -> None:
    with target.admin() as connection:
        (expected,) = connection.execute("SELECT object_id FROM sys.tables WHERE name = 'Products'").fetchone()
        row = list(connection.execute(
            "SELECT OBJECT_ID('dbo.Products'), OBJECT_ID('Products'), OBJECT_ID('[dbo].[Products]'), "
            "OBJECT_ID(N'workbookdb.dbo.Products', N'U'), OBJECT_ID('dbo.Products', 'V'), OBJECT_ID('dbo.Nope'), "
            "DB_ID(), DB_ID('master'), DB_ID('nope'), "
            "CASE WHEN OBJECT_ID('dbo.Nope') IS NULL THEN 'absent' ELSE 'present' END").fetchone())
    assert isinstance(expected, int)
    assert row == [expected, expected, expected, expected, None, None, 5, 1, None, "absent"]


def test_server_and_database_properties(target: SqlTarget) -> None:
    row, _ = _one(target, "SELECT SERVERPROPERTY('Edition'), SERVERPROPERTY('EngineEdition'), "
                          "SERVERPROPERTY('ProductVersion'), SERVERPROPERTY('NoSuchProperty'), "
                          "DATABASEPROPERTYEX(DB_NAME(), 'Edition'), "
                          "DATABASEPROPERTYEX(DB_NAME(), 'ServiceObjective'), "
                          "DATABASEPROPERTYEX('nope', 'Edition')")
    assert row == ["SQL Azure", 5, "12.0.2000.8", None, "GeneralPurpose", "GP_S_Gen5_2", None]


def test_role_and_permission_functions_answer_for_the_session(target: SqlTarget) -> None:
    row, _ = _one(target, "SELECT IS_ROLEMEMBER('db_owner'), IS_ROLEMEMBER('db_datareader'), IS_ROLEMEMBER('public'), "
                          "IS_ROLEMEMBER('no_such_role'), IS_MEMBER('db_owner'), "
                          "HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'SELECT'), "
                          "HAS_PERMS_BY_NAME('dbo.Nope', 'OBJECT', 'SELECT'), "
                          "HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE TABLE')")
    assert row == [1, 0, 1, None, 1, 1, None, 1]  # the Entra admin is dbo, owner of the database
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")
    with target.vm() as vm:
        row = list(vm.execute(
            "SELECT IS_ROLEMEMBER('db_datareader'), IS_ROLEMEMBER('db_owner'), IS_MEMBER('db_datawriter'), "
            "HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'SELECT'), "
            "HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'INSERT'), "
            "HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE TABLE'), OBJECT_ID('dbo.Products')").fetchone())
    assert row[:6] == [1, 0, 0, 1, 0, 0]
    assert isinstance(row[6], int)


def test_login_and_user_names(target: SqlTarget) -> None:
    row, _ = _one(target, "SELECT ORIGINAL_LOGIN(), SYSTEM_USER, SUSER_SNAME(), SESSION_USER, CURRENT_USER, USER, "
                          "USER_NAME()")
    assert row[0] == row[1] == row[2] != "dbo"  # the login: the admin principal's display name
    assert row[3:] == ["dbo", "dbo", "dbo", "dbo"]  # the database user


def test_schema_and_principal_ids_as_tools_ask_for_them(target: SqlTarget) -> None:
    """What SQLAlchemy and SSMS-style tools ask first: the default schema and the caller's principal."""
    row, _ = _one(target, "SELECT SCHEMA_NAME(), SCHEMA_ID(), SCHEMA_NAME(4), SCHEMA_ID('INFORMATION_SCHEMA'), "
                          "USER_ID(), DATABASE_PRINCIPAL_ID(), USER_ID('guest'), SCHEMA_NAME(99)")
    assert row == ["dbo", 1, "sys", 3, 1, 1, 2, None]
    target.run_admin(f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER",
                     f"ALTER ROLE db_datareader ADD MEMBER [{target.vm_name}]")
    with target.vm() as vm:
        mine = vm.execute("SELECT DATABASE_PRINCIPAL_ID(), SCHEMA_NAME()").fetchone()
        listed = vm.execute("SELECT principal_id FROM sys.database_principals WHERE name = ?",
                            target.vm_name).fetchone()
    assert tuple(mine) == (listed[0], "dbo") and listed[0] > 4


def test_columns_qualified_with_their_schema(target: SqlTarget) -> None:
    with target.admin() as connection:
        tables = connection.execute(
            "SELECT [INFORMATION_SCHEMA].[TABLES].[TABLE_NAME] FROM [INFORMATION_SCHEMA].[TABLES] "
            "WHERE [INFORMATION_SCHEMA].[TABLES].[TABLE_SCHEMA] = 'dbo'").fetchall()
        name = connection.execute("SELECT dbo.Products.Name FROM dbo.Products WHERE dbo.Products.ProductID = 1"
                                  ).fetchone()[0]
    assert [t[0] for t in tables] == ["Products"] and name == "Classic Hose"


def test_top_percent(target: SqlTarget) -> None:
    with target.admin() as connection:
        rows = connection.execute("SELECT TOP (5) PERCENT ProductID FROM Products ORDER BY ProductID DESC").fetchall()
        few = connection.execute("SELECT TOP 1 PERCENT Name FROM Products WHERE Category = 'Kitchen' "
                                 "ORDER BY ProductID").fetchall()
        (kitchen,) = connection.execute("SELECT COUNT(*) FROM Products WHERE Category = 'Kitchen'").fetchone()
    assert [r[0] for r in rows] == list(range(300, 285, -1))  # ceiling(300 × 5%) = 15
    assert len(few) == -(-kitchen // 100)  # ceiling, so at least one row


def test_update_top_and_delete_top_touch_n_rows(target: SqlTarget) -> None:
    with target.admin() as connection:
        (kitchen,) = connection.execute("SELECT COUNT(*) FROM Products WHERE Category = 'Kitchen'").fetchone()
        updated = connection.execute("UPDATE TOP (1) Products SET Price = 1.00 WHERE Category = 'Kitchen'").rowcount
        deleted = connection.execute("DELETE TOP (1) FROM Products WHERE Category = 'Kitchen' AND Price > 1").rowcount
        deleted += connection.execute("DELETE TOP (1) Products WHERE Category = 'Kitchen' AND Price > 1").rowcount
        (cheap,) = connection.execute("SELECT COUNT(*) FROM Products WHERE Price = 1.00").fetchone()
        (left,) = connection.execute("SELECT COUNT(*) FROM Products WHERE Category = 'Kitchen'").fetchone()
        (total,) = connection.execute("SELECT COUNT(*) FROM Products").fetchone()
    assert (updated, deleted, cheap) == (1, 2, 1)
    assert (left, total) == (kitchen - 2, 298)


def test_clock_defaults_keep_their_fraction(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.execute("CREATE TABLE Stamped (Id INT IDENTITY(1,1) PRIMARY KEY, "
                           "At DATETIME2 DEFAULT SYSDATETIME(), Day DATETIME DEFAULT GETDATE(), Note NVARCHAR(10))")
        for _ in range(3):
            connection.execute("INSERT INTO Stamped (Note) VALUES ('x')")
        rows = connection.execute("SELECT At, Day FROM Stamped").fetchall()
    assert all(isinstance(v, dt.datetime) for row in rows for v in row)
    # SYSDATETIME has microseconds (7 digits on the wire): three of them all on whole seconds is ~impossible
    assert any(row[0].microsecond for row in rows)
    assert all(row[1].microsecond % 1000 == 0 for row in rows)


# -- IF … ELSE, BEGIN … END ----------------------------------------------------------------------------
def test_if_not_exists_create_user_is_idempotent(target: SqlTarget) -> None:
    script = (f"IF NOT EXISTS (SELECT * FROM sys.database_principals WHERE name = '{target.vm_name}') "
              f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    with target.admin() as connection:
        connection.execute(script)
        connection.execute(script)  # the second run finds the user and does nothing
        rows = connection.execute("SELECT name, type FROM sys.database_principals WHERE name = ?",
                                  target.vm_name).fetchall()
    assert [tuple(r) for r in rows] == [(target.vm_name, "E")]
    with target.vm() as vm:
        assert vm.execute("SELECT USER_NAME()").fetchone()[0] == target.vm_name


def test_if_else_with_blocks_and_object_id(target: SqlTarget) -> None:
    script = ("IF OBJECT_ID('dbo.Settings') IS NULL BEGIN "
              "CREATE TABLE Settings (Id INT IDENTITY(1,1) PRIMARY KEY, Name NVARCHAR(20)); "
              "INSERT INTO Settings (Name) VALUES ('created') END "
              "ELSE BEGIN INSERT INTO Settings (Name) VALUES ('again') END")
    with target.admin() as connection:
        connection.execute(script)
        connection.execute(script)
        names = [r[0] for r in connection.execute("SELECT Name FROM Settings ORDER BY Id").fetchall()]
        chosen = connection.execute("DECLARE @n INT = 2; IF @n > 2 SELECT 'big' ELSE IF @n > 1 SELECT 'mid' "
                                    "ELSE SELECT 'small'").fetchone()[0]
        case = connection.execute("IF EXISTS (SELECT 1 FROM Products WHERE Price > 1000) SELECT 'expensive' "
                                  "ELSE SELECT CASE WHEN COUNT(*) > 0 THEN 'cheap' ELSE 'none' END FROM Products"
                                  ).fetchone()[0]
    assert names == ["created", "again"]
    assert (chosen, case) == ("mid", "cheap")


def test_malformed_if_block_runs_nothing(target: SqlTarget) -> None:
    message = _error(target, "IF 1 = 1 BEGIN INSERT INTO Products (Name, Category, Price, InStock, AddedOn, Sku) "
                             "VALUES ('x', 'y', 1, 1, '2024-01-01', NEWID())")
    assert "(102)" in message
    with target.admin() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300


# -- #temp tables ----------------------------------------------------------------------------------------
def test_convert_styles_and_casts_to_text_are_cut_to_their_length(target: SqlTarget) -> None:
    row, description = _one(target, "SELECT CONVERT(VARCHAR(10), AddedOn, 120), CONVERT(VARCHAR(19), AddedOn, 120), "
                                    "CONVERT(VARCHAR(10), AddedOn, 103), CONVERT(VARCHAR(10), AddedOn, 101), "
                                    "CONVERT(VARCHAR(8), AddedOn, 112), CONVERT(VARCHAR(8), AddedOn, 108), "
                                    "CONVERT(VARCHAR(11), AddedOn, 106), CONVERT(VARCHAR, AddedOn, 23), "
                                    "CONVERT(NVARCHAR(30), AddedOn, 126), CONVERT(VARCHAR(10), AddedOn), "
                                    "CAST('abcdefgh' AS VARCHAR(3)), CAST(Price AS VARCHAR(10)), "
                                    f"CONVERT(DATE, '14/03/2024', 103), CONVERT(DATETIME, '2024-01-02 03:04:05', 120) "
                                    f"{ROW_1}")
    assert row == ["2024-03-14", "2024-03-14 18:13:37", "14/03/2024", "03/14/2024", "20240314", "18:13:37",
                   "14 Mar 2024", "2024-03-14", "2024-03-14T18:13:37", "2024-03-14", "abc", "58.99",
                   dt.date(2024, 3, 14), dt.datetime(2024, 1, 2, 3, 4, 5)]
    assert description[0][3] == 10 and description[7][3] == 30  # varchar(10); CONVERT(VARCHAR, …) is varchar(30)
    with target.admin() as connection:
        connection.execute("CREATE TABLE Money (Id INT IDENTITY(1,1) PRIMARY KEY, Amount DECIMAL(10,2))")
        connection.execute("INSERT INTO Money (Amount) VALUES (59.00)")
        text = connection.execute("SELECT 'Total: ' + CAST(Amount AS VARCHAR(12)) FROM Money").fetchone()[0]
    assert text == "Total: 59.00"  # SQLite holds 59.00 as 59: the text keeps the column's scale


def test_window_average_and_parameters(target: SqlTarget) -> None:
    windows = ("SELECT TOP 1 AVG(Price) OVER (PARTITION BY Category), AVG(Price) OVER () FROM Products "
               "ORDER BY ProductID")
    with target.admin() as connection:
        if WINDOW_FUNCTIONS:
            cursor = connection.execute(windows)
            windowed = list(cursor.fetchone())
            kinds = [(d[1], d[4], d[5]) for d in cursor.description]
            (overall,) = connection.execute("SELECT AVG(Price) FROM Products").fetchone()
            assert windowed[1] == overall and isinstance(windowed[0], Decimal)
            assert kinds == [(Decimal, 38, 6), (Decimal, 38, 6)]
        else:  # Python 3.10's sqlite3 has no create_window_function: refused, naming the feature and the fix
            with pytest.raises(pyodbc.Error) as refused:
                connection.execute(windows).fetchall()
            assert error_number(refused.value) == 40517
            named = "'AVG() OVER (…) with the emulator on Python 3.10 (3.11 or later runs it)'"
            assert named in sql_error(refused.value)
        formatted, later = connection.execute("SELECT FORMAT(?, 'N2'), DATEADD(day, ?, AddedOn) FROM Products "
                                              "WHERE ProductID = ?", Decimal("1234.5"), 2, 1).fetchone()
    assert (formatted, later) == ("1,234.50", dt.datetime(2024, 3, 16, 18, 13, 37))


def test_division_of_a_sum_is_not_thrown_off_by_float_noise(target: SqlTarget) -> None:
    with target.admin() as connection:
        rows = connection.execute("WITH c AS (SELECT Category, SUM(Price) AS total FROM Products GROUP BY Category) "
                                  "SELECT total, total / 2 FROM c ORDER BY Category").fetchall()
    assert rows and all(isinstance(half, Decimal) for _, half in rows)
    assert [half for _, half in rows] == [(total / 2).quantize(Decimal("0.000001")) for total, _ in rows]
    assert any(total.as_tuple().digits[-1] % 2 for total, _ in rows)  # an odd cent: the half is .xx5000


def test_idempotent_setup_script_with_blocks_and_security_statements(target: SqlTarget) -> None:
    vm = target.vm_name
    script = (f"IF NOT EXISTS (SELECT * FROM sys.database_principals WHERE name = '{vm}')\n"
              "BEGIN\n"
              f"    CREATE USER [{vm}] FROM EXTERNAL PROVIDER;\n"
              f"    ALTER ROLE db_datareader ADD MEMBER [{vm}];\n"
              f"    GRANT INSERT ON dbo.Products TO [{vm}];\n"
              "    PRINT 'created';\n"
              "END\n"
              "ELSE\n"
              "    PRINT 'exists';\n")
    with target.admin() as connection:
        printed = []
        for _ in range(2):
            cursor = connection.execute(script)
            printed += [text for _, text in cursor.messages]
    assert [p.rsplit("]", 1)[-1] for p in printed] == ["created", "exists"]
    with target.vm() as connection:
        row = list(connection.execute("SELECT IS_ROLEMEMBER('db_datareader'), "
                                      "HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'INSERT'), "
                                      "HAS_PERMS_BY_NAME('dbo.Products', 'OBJECT', 'DELETE')").fetchone())
    assert row == [1, 1, 0]
