"""An IDENTITY column takes the numbers SQL Server gives it: an explicit value is 544 unless the session has
SET IDENTITY_INSERT <table> ON (one table at a time, 8107), which then needs the value (545) and a column list
(8101); the numbering goes on after the highest value written. Messages as sys.messages has them."""

from __future__ import annotations

import raw_tds
from sql_helpers import SqlTarget

TABLES = ("CREATE TABLE Tickets (TicketID int IDENTITY(1,1) PRIMARY KEY, Title nvarchar(50) NOT NULL)",
          "CREATE TABLE Notes (NoteID int IDENTITY(10,10) PRIMARY KEY, Body nvarchar(50) NULL)",
          "CREATE TABLE Plain (id int PRIMARY KEY, name nvarchar(20))")


def _batches(target: SqlTarget, *texts: str) -> list[raw_tds.Reply]:
    with raw_tds.connect(target.port, target.ca, target.admin_token()) as raw:
        return [raw.batch(text) for text in texts]


def test_an_explicit_identity_value_needs_identity_insert_on(target: SqlTarget) -> None:
    target.run_admin(*TABLES)
    refused, allowed, numbered, off_again, rows = _batches(
        target,
        "INSERT INTO Tickets (TicketID, Title) VALUES (7, N'seven')",
        "SET IDENTITY_INSERT dbo.Tickets ON; INSERT INTO Tickets (TicketID, Title) VALUES (7, N'seven'); "
        "SET IDENTITY_INSERT dbo.Tickets OFF",
        "INSERT INTO Tickets (Title) VALUES (N'next'); SELECT SCOPE_IDENTITY() AS id",
        "INSERT INTO [Tickets] ([TicketID], [Title]) VALUES (20, N'twenty')",
        "SELECT TicketID, Title FROM Tickets ORDER BY TicketID")
    assert refused.errors == [(544, "Cannot insert explicit value for identity column in table 'Tickets' when "
                                    "IDENTITY_INSERT is set to OFF.")]
    assert allowed.errors == []
    assert numbered.errors == []  # the numbering goes on after the highest value written
    assert off_again.error_numbers == [544]
    assert rows.rows == [[7, "seven"], [8, "next"]]


def test_identity_insert_on_needs_the_value_and_a_column_list(target: SqlTarget) -> None:
    target.run_admin(*TABLES)
    left_out, no_list = _batches(
        target,
        "SET IDENTITY_INSERT Tickets ON; INSERT INTO Tickets (Title) VALUES (N'no number')",
        "SET IDENTITY_INSERT Tickets OFF; INSERT INTO Tickets VALUES (3, N'every column')")
    assert left_out.error_numbers == [545]
    assert "Explicit value must be specified for identity column in table 'Tickets'" in left_out.errors[0][1]
    assert no_list.errors == [(8101, "An explicit value for the identity column in table 'Tickets' can only be "
                                     "specified when a column list is used and IDENTITY_INSERT is ON.")]


def test_identity_insert_is_for_one_table_with_an_identity_at_a_time(target: SqlTarget) -> None:
    target.run_admin(*TABLES)
    plain, missing, second, switched = _batches(
        target,
        "SET IDENTITY_INSERT Plain ON",
        "SET IDENTITY_INSERT NoSuchTable ON",
        "SET IDENTITY_INSERT Tickets ON; SET IDENTITY_INSERT Notes ON",
        "SET IDENTITY_INSERT Tickets OFF; SET IDENTITY_INSERT Notes ON; "
        "INSERT INTO Notes (NoteID, Body) VALUES (5, N'five'); SELECT NoteID FROM Notes")
    assert plain.errors == [(8106, "Table 'Plain' does not have the identity property. Cannot perform SET "
                                   "operation.")]
    assert missing.error_numbers == [208]
    assert second.errors == [(8107, "IDENTITY_INSERT is already ON for table 'workbookdb.dbo.Tickets'. Cannot "
                                    "perform SET operation for table 'Notes'.")]
    assert switched.errors == [] and switched.rows == [[5]]


def test_identity_insert_belongs_to_the_session(target: SqlTarget) -> None:
    target.run_admin(*TABLES)
    with raw_tds.connect(target.port, target.ca, target.admin_token()) as first, \
            raw_tds.connect(target.port, target.ca, target.admin_token()) as second:
        assert first.batch("SET IDENTITY_INSERT Tickets ON").errors == []
        assert second.batch("INSERT INTO Tickets (TicketID, Title) VALUES (4, N'x')").error_numbers == [544]
        assert first.batch("INSERT INTO Tickets (TicketID, Title) VALUES (4, N'x')").errors == []


def test_a_temporary_table_takes_identity_insert_too(target: SqlTarget) -> None:
    refused, allowed = _batches(
        target,
        "CREATE TABLE #Queue (n int IDENTITY(1,1), item nvarchar(10)); INSERT INTO #Queue (n, item) VALUES (5, N'x')",
        "SET IDENTITY_INSERT #Queue ON; INSERT INTO #Queue (n, item) VALUES (5, N'five'); "
        "SET IDENTITY_INSERT #Queue OFF; INSERT INTO #Queue (item) VALUES (N'six'); SELECT n, item FROM #Queue")
    assert refused.errors == [(544, "Cannot insert explicit value for identity column in table '#Queue' when "
                                    "IDENTITY_INSERT is set to OFF.")]
    assert allowed.errors == [] and allowed.rows == [[5, "five"], [6, "six"]]


def test_bare_identity_is_an_identity_column_too(target: SqlTarget) -> None:
    """IDENTITY with no seed and increment (1, 1), before or after PRIMARY KEY: numbered, left out of an INSERT with
    no column list, and under IDENTITY_INSERT like any identity column."""
    target.run_admin("CREATE TABLE Bare (id int IDENTITY PRIMARY KEY, v nvarchar(5))",
                     "CREATE TABLE BareAfter (id int PRIMARY KEY IDENTITY, v nvarchar(5))")
    reply, explicit = _batches(
        target,
        "INSERT INTO Bare VALUES (N'a'); INSERT INTO Bare (v) VALUES (N'b'); INSERT INTO BareAfter VALUES (N'c'); "
        "SELECT id, v FROM Bare UNION ALL SELECT id, v FROM BareAfter",
        "INSERT INTO Bare (id, v) VALUES (9, N'x')")
    assert reply.errors == [] and reply.rows == [[1, "a"], [2, "b"], [1, "c"]]
    assert explicit.error_numbers == [544]
