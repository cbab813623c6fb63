"""What an error ends, as SQL Server decides it: a statement-terminating error (a constraint conflict, a duplicate
key, NULL into NOT NULL, a denied permission, COMMIT without BEGIN) is reported where it happened and the batch
goes on, an open transaction staying open; @@ERROR holds its number for the next statement. Under SET XACT_ABORT ON
the same error ends the batch and rolls the transaction back (the ENVCHANGE after the ERROR token). Conversion
errors and unknown names end the batch, as before.

The first two tests are Microsoft Learn's own example for SET XACT_ABORT (a foreign key conflict in a transaction:
with OFF the other rows are committed, with ON none is)."""

from __future__ import annotations

import raw_tds
from sql_helpers import SqlTarget

DONE_MORE, DONE_ERROR, DONE_INXACT = 0x1, 0x2, 0x4
ENV_COMMIT, ENV_ROLLBACK = 9, 10
TOKEN_ERROR, TOKEN_ENVCHANGE = 0xAA, 0xE3

PARENT_AND_CHILD = ("CREATE TABLE ScopeParent (a int NOT NULL PRIMARY KEY)",
                    "CREATE TABLE ScopeChild (a int NOT NULL REFERENCES ScopeParent(a))",
                    "INSERT INTO ScopeParent VALUES (1), (3), (4), (6)")


def _child_rows(target: SqlTarget) -> list[int]:
    with target.admin() as connection:
        return [row[0] for row in connection.execute("SELECT a FROM ScopeChild ORDER BY a").fetchall()]


def _batch(target: SqlTarget, text: str) -> raw_tds.Reply:
    with raw_tds.connect(target.port, target.ca, target.admin_token()) as raw:
        reply = raw.batch(text)
        after = raw.batch("SELECT @@TRANCOUNT")
    assert after.rows == [[0]], "the batch left a transaction open on its connection"
    return reply


def test_a_foreign_key_conflict_ends_the_statement_and_the_transaction_goes_on(target: SqlTarget) -> None:
    target.run_admin(*PARENT_AND_CHILD)
    reply = _batch(target, "SET XACT_ABORT OFF; BEGIN TRANSACTION; INSERT INTO ScopeChild VALUES (1); "
                           "INSERT INTO ScopeChild VALUES (2); INSERT INTO ScopeChild VALUES (3); "
                           "COMMIT TRANSACTION; SELECT COUNT(*) AS n FROM ScopeChild")
    assert reply.error_numbers == [547]
    assert reply.rows == [[2]]  # the batch went on after the error, to its last statement
    assert ENV_COMMIT in reply.envchanges and ENV_ROLLBACK not in reply.envchanges
    failed = [status & ~DONE_INXACT for status in reply.done if status & DONE_ERROR]
    assert failed == [DONE_ERROR | DONE_MORE]  # that statement's DONE: its error, and more to come
    assert _child_rows(target) == [1, 3]


def test_with_xact_abort_on_the_same_conflict_rolls_the_transaction_back_and_ends_the_batch(
        target: SqlTarget) -> None:
    target.run_admin(*PARENT_AND_CHILD)
    reply = _batch(target, "SET XACT_ABORT ON; BEGIN TRANSACTION; INSERT INTO ScopeChild VALUES (4); "
                           "INSERT INTO ScopeChild VALUES (5); INSERT INTO ScopeChild VALUES (6); "
                           "COMMIT TRANSACTION; SELECT COUNT(*) AS n FROM ScopeChild")
    assert reply.error_numbers == [547]
    assert reply.rows == []  # nothing after the error ran
    error_at = reply.tokens.index(TOKEN_ERROR)
    assert reply.tokens[error_at + 1] == TOKEN_ENVCHANGE and reply.envchanges[-1] == ENV_ROLLBACK
    assert reply.done[-1] == DONE_ERROR  # the final DONE: no transaction any more, nothing more to come
    assert _child_rows(target) == []


def test_error_holds_the_number_for_the_next_statement_only(target: SqlTarget) -> None:
    target.run_admin("CREATE TABLE ScopeKeys (id int PRIMARY KEY)", "INSERT INTO ScopeKeys VALUES (1)")
    reply = _batch(target, "INSERT INTO ScopeKeys VALUES (1); SELECT @@ERROR AS e; SELECT @@ERROR AS e; "
                           "INSERT INTO ScopeKeys VALUES (NULL); IF @@ERROR <> 0 PRINT 'the insert failed'; "
                           "SELECT @@ERROR AS e")
    assert reply.error_numbers == [2627, 515]
    assert reply.rows == [[2627], [0], [0]]  # read once, then cleared by the SELECT that read it
    assert [number for number, _ in reply.infos] == [0]  # PRINT's message: the IF saw 515
    assert reply.done[-1] & DONE_ERROR == 0


def test_commit_without_begin_and_a_denied_select_end_only_their_statement(target: SqlTarget) -> None:
    target.run_admin("CREATE TABLE ScopeSecret (id int)", f"CREATE USER [{target.vm_name}] FROM EXTERNAL PROVIDER")
    reply = _batch(target, "COMMIT; SELECT 1 AS one")
    assert reply.error_numbers == [3902] and reply.rows == [[1]]
    with raw_tds.connect(target.port, target.ca, target.vm_token()) as raw:
        denied = raw.batch("SELECT * FROM ScopeSecret; SELECT 2 AS two")
    assert denied.error_numbers == [229] and denied.rows == [[2]]


def test_an_error_in_the_last_statement_ends_the_answer_with_one_done(target: SqlTarget) -> None:
    target.run_admin("CREATE TABLE ScopeLast (id int PRIMARY KEY)", "INSERT INTO ScopeLast VALUES (1)")
    reply = _batch(target, "SELECT 1 AS one; INSERT INTO ScopeLast VALUES (1)")
    assert reply.error_numbers == [2627] and reply.rows == [[1]]
    assert reply.done == [DONE_MORE | 0x10, DONE_ERROR]  # the SELECT's (with its count), then the error's, final
    with target.admin() as connection:  # and a client reports it
        cursor = connection.execute("SELECT 1 AS one; INSERT INTO ScopeLast VALUES (1)")
        assert cursor.fetchall()[0][0] == 1
        try:
            cursor.nextset()
        except Exception as exc:  # pyodbc.IntegrityError: the duplicate key
            assert "(2627)" in str(exc), exc
        else:
            raise AssertionError("the duplicate key was not reported")


def test_a_conversion_error_still_ends_the_batch(target: SqlTarget) -> None:
    reply = _batch(target, "SELECT CONVERT(int, 'seven') AS n; SELECT 1 AS one")
    assert reply.error_numbers == [245] and reply.rows == []


def test_inside_a_procedure_a_statement_terminating_error_lets_the_procedure_go_on(target: SqlTarget) -> None:
    target.run_admin("CREATE TABLE ScopeProc (id int PRIMARY KEY)", "INSERT INTO ScopeProc VALUES (1)",
                     "CREATE PROCEDURE AddTwo AS BEGIN INSERT INTO ScopeProc VALUES (1); "
                     "INSERT INTO ScopeProc VALUES (2); RETURN 7; END")
    reply = _batch(target, "DECLARE @rc int; EXEC @rc = AddTwo; SELECT @rc AS rc, COUNT(*) AS n FROM ScopeProc")
    assert reply.error_numbers == [2627]
    assert reply.return_statuses == [7] and reply.rows == [[7, 2]]


def test_an_integer_key_column_takes_no_null(target: SqlTarget) -> None:
    """SQLite numbers a NULL put into an INTEGER PRIMARY KEY (its rowid); SQL Server refuses it with 515, whether
    the key is declared on the column or on the table, and whether the NULL is written or the column left out."""
    target.run_admin("CREATE TABLE KeyOnColumn (id int PRIMARY KEY, v int)",
                     "CREATE TABLE KeyOnTable (id bigint NOT NULL, v int, CONSTRAINT PK_KeyOnTable PRIMARY KEY (id))")
    for table in ("KeyOnColumn", "KeyOnTable"):
        reply = _batch(target, f"INSERT INTO {table} VALUES (NULL, 1); INSERT INTO {table} (v) VALUES (2); "
                               f"INSERT INTO {table} VALUES (5, 3); SELECT id, v FROM {table}")
        assert reply.error_numbers == [515, 515], table
        assert reply.rows == [[5, 3]], table


def test_xact_state_says_whether_the_transaction_is_still_open(target: SqlTarget) -> None:
    """XACT_STATE(): 1 in a transaction, 0 outside one; after a statement-terminating error the transaction is still
    there, after XACT_ABORT's rollback it is not. ROWCOUNT_BIG() is @@ROWCOUNT as a bigint."""
    target.run_admin("CREATE TABLE ScopeState (id int PRIMARY KEY)", "INSERT INTO ScopeState VALUES (1), (2)")
    reply = _batch(target, "SELECT XACT_STATE() AS s; BEGIN TRANSACTION; INSERT INTO ScopeState VALUES (1); "
                           "SELECT XACT_STATE() AS s, @@TRANCOUNT AS n; ROLLBACK; "
                           "UPDATE ScopeState SET id = id + 10; SELECT ROWCOUNT_BIG() AS r")
    assert reply.error_numbers == [2627]
    assert reply.rows == [[0], [1, 1], [2]]
    column = reply.columns[0]
    assert column.type_id == 0x7F or (column.type_id == 0x26 and column.size == 8)  # bigint: INT8, or INTN(8)
    with target.admin() as connection:
        connection.execute("SET XACT_ABORT ON")
        try:
            connection.execute("BEGIN TRANSACTION; INSERT INTO ScopeState VALUES (11)")
        except Exception as exc:  # pyodbc.IntegrityError
            assert "(2627)" in str(exc), exc
        else:
            raise AssertionError("the duplicate key was not reported")
        assert tuple(connection.execute("SELECT XACT_STATE(), @@TRANCOUNT").fetchone()) == (0, 0)


def test_a_duplicate_key_names_the_primary_key_or_the_unique_constraint(target: SqlTarget) -> None:
    """2627 says which constraint the duplicate broke (it said UNIQUE KEY for a primary key too)."""
    target.run_admin("CREATE TABLE ScopeKeyed (id int PRIMARY KEY, code nvarchar(5) UNIQUE)",
                     "CREATE TABLE ScopePair (a int, b int, CONSTRAINT PK_ScopePair PRIMARY KEY (a, b))",
                     "INSERT INTO ScopeKeyed VALUES (1, 'x')", "INSERT INTO ScopePair VALUES (1, 1)")
    reply = _batch(target, "INSERT INTO ScopeKeyed VALUES (1, 'y'); INSERT INTO ScopeKeyed VALUES (2, 'x'); "
                           "INSERT INTO ScopePair VALUES (1, 1); UPDATE ScopeKeyed SET id = 1 WHERE code = 'y'")
    assert reply.errors == [
        (2627, "Violation of PRIMARY KEY constraint 'PK_ScopeKeyed'. Cannot insert duplicate key in object "
               "'dbo.ScopeKeyed'."),
        (2627, "Violation of UNIQUE KEY constraint 'UQ_ScopeKeyed'. Cannot insert duplicate key in object "
               "'dbo.ScopeKeyed'."),
        (2627, "Violation of PRIMARY KEY constraint 'PK_ScopePair'. Cannot insert duplicate key in object "
               "'dbo.ScopePair'.")]  # the UPDATE found no row: nothing to break
