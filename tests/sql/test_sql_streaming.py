"""Large results are sent while they are read (as SQL Server streams them): what a client sees must not
depend on it. Each test holds a result half-read in the driver while something else happens, and
checks that the emulator really had rows left in SQLite at that moment (``open_streams``), so the
streaming path is the one exercised."""

from __future__ import annotations

from collections.abc import Iterator

import pyodbc
import pytest
from sql_helpers import DATABASE, SqlTarget, sql_error

from emulator.services.sql import models, tds
from emulator.services.sql.transport import MessageStream

ROWS = 10_000
PADDING = 120  # characters per row: 10,000 rows are ~2.5 MB, more than the socket buffers hold


def open_streams(target: SqlTarget) -> int:
    return len(models.server_for(target.emulator.context).database(DATABASE).streams)


@pytest.fixture
def big(target: SqlTarget) -> Iterator[SqlTarget]:
    target.run_admin(
        "CREATE TABLE Digits (D INT NOT NULL)",
        "INSERT INTO Digits (D) VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
        "CREATE TABLE Big (N INT PRIMARY KEY, Qty INT NOT NULL, Label NVARCHAR(200) NOT NULL)",
        f"INSERT INTO Big (N, Qty, Label) SELECT a.D + 10*b.D + 100*c.D + 1000*e.D, b.D, "
        f"REPLICATE(N'x', {PADDING}) FROM Digits a, Digits b, Digits c, Digits e")
    yield target


def test_a_result_half_read_is_not_changed_by_another_sessions_write(big: SqlTarget) -> None:
    with big.admin() as reader, big.admin() as writer:
        cursor = reader.execute("SELECT N, Label FROM Big ORDER BY N")
        first = cursor.fetchmany(10)
        assert open_streams(big) == 1, "the result should still be partly in SQLite"
        writer.execute("DELETE FROM Big WHERE N >= 5000")
        writer.execute("INSERT INTO Big (N, Qty, Label) VALUES (20000, 1, N'late')")
        assert open_streams(big) == 0  # the writer's statement read the rest of the result first
        rest = cursor.fetchall()
        numbers = [row[0] for row in first + rest]
        assert numbers == list(range(ROWS))  # the rows as they were when the SELECT ran
        assert reader.execute("SELECT COUNT(*) FROM Big").fetchone()[0] == 5001


def test_a_statement_after_a_select_in_the_same_batch_sees_it_whole(big: SqlTarget) -> None:
    with big.admin() as connection:
        cursor = connection.execute("SELECT N FROM Big; DELETE FROM Big WHERE N >= 100; SELECT COUNT(*) FROM Big")
        assert len(cursor.fetchall()) == ROWS
        assert cursor.nextset() and cursor.rowcount == ROWS - 100
        assert cursor.nextset() and cursor.fetchone()[0] == 100


def test_a_parameterized_select_streams_then_returns_its_prepared_handle(big: SqlTarget) -> None:
    """pyodbc sends a query with parameters as sp_prepexec: the rows stream, then the RETURNVALUE of
    the handle follows them; the second execution reuses the handle (sp_execute)."""
    with big.admin() as connection:
        cursor = connection.cursor()
        first = cursor.execute("SELECT N, Label FROM Big WHERE N >= ? ORDER BY N", 0).fetchall()
        second = cursor.execute("SELECT N, Label FROM Big WHERE N >= ? ORDER BY N", 2500).fetchall()
    assert [row[0] for row in first] == list(range(ROWS))
    assert [row[0] for row in second] == list(range(2500, ROWS))


def test_rowcount_after_a_streamed_select(big: SqlTarget) -> None:
    with big.admin() as connection:
        assert len(connection.execute("SELECT N, Label FROM Big").fetchall()) == ROWS
        assert connection.execute("SELECT @@ROWCOUNT").fetchone()[0] == ROWS


def test_closing_a_half_read_cursor_stops_the_stream_and_the_connection_serves_on(big: SqlTarget) -> None:
    with big.admin() as connection:
        cursor = connection.execute("SELECT N, Label FROM Big ORDER BY N")
        assert cursor.fetchone()[0] == 0
        assert open_streams(big) == 1
        cursor.close()  # the driver cancels (attention) or reads to the end; either way the stream ends
        assert connection.execute("SELECT COUNT(*) FROM Big").fetchone()[0] == ROWS
        assert open_streams(big) == 0


def test_the_callers_name_is_kept_in_rows_read_after_another_session_ran(big: SqlTarget) -> None:
    big.run_admin(f"CREATE USER [{big.vm_name}] FROM EXTERNAL PROVIDER",
                  f"ALTER ROLE db_datareader ADD MEMBER [{big.vm_name}]")
    with big.vm() as vm, big.admin() as admin:
        cursor = vm.execute("SELECT N, SUSER_SNAME() AS who FROM Big ORDER BY N")
        first = cursor.fetchmany(5)
        admin_name = admin.execute("SELECT SUSER_SNAME()").fetchone()[0]
        rows = first + cursor.fetchall()
    assert len(rows) == ROWS
    assert {row[1] for row in rows} == {big.vm_login} and admin_name != big.vm_login


def test_a_value_that_cannot_be_sent_ends_the_result_with_error_245(big: SqlTarget) -> None:
    """A value SQLite kept but the declared type cannot carry (text in an INT column, written behind
    the emulator's back): the rows before it arrive, then SQL Server's conversion error, and the
    connection serves on."""
    database = models.server_for(big.emulator.context).database(DATABASE)
    with database.lock:
        database.conn.execute("UPDATE Big SET Qty = 'not a number' WHERE N = 7000")
    with big.admin() as connection:
        cursor = connection.execute("SELECT N, Qty FROM Big ORDER BY N")
        received = []
        with pytest.raises(pyodbc.Error) as caught:
            while (row := cursor.fetchone()) is not None:
                received.append(row[0])
        assert "245" in sql_error(caught.value) and "Conversion failed" in sql_error(caught.value)
        assert 0 < len(received) <= 7000 and received == list(range(len(received)))
        assert connection.execute("SELECT COUNT(*) FROM Big").fetchone()[0] == ROWS


class _Wire:
    packet_size = 512

    def __init__(self) -> None:
        self.sent = bytearray()

    def write(self, data: bytes) -> None:
        self.sent += data


def _packets(data: bytes) -> list[tuple[int, int, int, bytes]]:
    found, at = [], 0
    while at < len(data):
        kind, status, length, _spid, packet_id, _window = tds.HEADER.unpack_from(data, at)
        found.append((kind, status, packet_id, data[at + tds.HEADER_SIZE:at + length]))
        at += length
    return found


def test_message_stream_sends_full_packets_early_and_eom_only_last() -> None:
    wire = _Wire()
    stream = MessageStream(wire, tds.REPLY)  # type: ignore[arg-type]
    tokens = [bytes([n % 256]) * (37 * n + 1) for n in range(1, 90)]
    stream.write(tokens[0])
    assert wire.sent == b""  # less than a packet: nothing yet
    for token in tokens[1:]:
        stream.write(token)
    assert wire.sent and len(wire.sent) % 512 == 0  # only full packets before the end
    stream.end(b"\xfd" + b"\x00" * 12)
    packets = _packets(bytes(wire.sent))
    assert all(kind == tds.REPLY for kind, *_ in packets)
    assert [status for _, status, _, _ in packets] == [0] * (len(packets) - 1) + [tds.STATUS_EOM]
    assert all(len(payload) == 512 - tds.HEADER_SIZE for *_, payload in packets[:-1])
    assert [packet_id for _, _, packet_id, _ in packets] == [(1 + n) & 0xFF for n in range(len(packets))]
    assert len(packets) > 256  # the packet number wraps
    assert b"".join(payload for *_, payload in packets) == b"".join(tokens) + b"\xfd" + b"\x00" * 12
