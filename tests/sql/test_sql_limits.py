"""Memory the SQL endpoint holds is bounded: a cap on a message before login (that a real login with a
large token still fits under), a cap on a request after login (answered with an error, the connection goes
on), a session limit answered with Azure SQL's 10928, and a cap on sockets beyond which a new one closes."""

from __future__ import annotations

import gc
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import mssql_python
import pyodbc
import pytest
import raw_tds
from sql_helpers import DATABASE, SQL, SqlTarget, error_number, sql_error, sql_listener

from emulator.services.sql.session import REQUEST_QUEUE, SqlListener
from emulator.services.sql.transport import LOGIN_MESSAGE_LIMIT, REQUEST_MESSAGE_LIMIT
from lib import sql


@pytest.fixture
def listener(target: SqlTarget) -> Iterator[SqlListener]:
    """The SQL listener, with the connections earlier tests left to the garbage collector closed (pyodbc's
    ``with`` commits but does not close), so that its counts are this test's."""
    found = sql_listener(target)
    gc.collect()
    time.sleep(0.2)
    limits = found.session_limit, found.connection_limit
    yield found
    found.session_limit, found.connection_limit = limits


def _wait_for(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _large_token(target: SqlTarget) -> str:
    """The admin's token with 300 group claims (an Entra token at its largest before the groups overage)."""
    context = target.emulator.context
    groups = [str(uuid.UUID(int=i)) for i in range(300)]
    return str(context.issuer.issue(context.world.admin_principal, SQL, extra={"groups": groups}).access_token)


def test_a_prelogin_message_past_the_cap_is_refused_and_closed(target: SqlTarget) -> None:
    """Packets of one PRELOGIN message that never ends: the emulator reads at most the cap, answers 17828
    and closes (before, it buffered up to 64 MiB per socket)."""
    connection = socket.create_connection(("127.0.0.1", target.port), timeout=5)
    chunk = raw_tds.HEADER.pack(raw_tds.PRELOGIN, 0x00, 4096, 0, 1, 0) + b"\x00" * 4088
    sent = 0
    try:
        while sent < 4 * 1024 * 1024:
            connection.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    received = b""
    connection.settimeout(5)
    try:
        while chunk_in := connection.recv(65536):
            received += chunk_in
    except ConnectionResetError:
        pass
    connection.close()
    assert sent < 4 * 1024 * 1024  # the emulator stopped reading and closed long before
    assert received[:1] == b"\x04"
    errors = raw_tds.parse_tokens(received[8:]).errors
    assert [number for number, _ in errors] == [17828]


def test_a_login_with_a_large_token_fits_under_the_cap(target: SqlTarget) -> None:
    token = _large_token(target)
    assert 15_000 < len(token) < LOGIN_MESSAGE_LIMIT // 2 - 1000, len(token)
    with target.odbc(token) as connection:
        assert connection.execute("SELECT DB_NAME()").fetchone()[0] == DATABASE
    connection = mssql_python.connect(
        f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;ServerCertificate={target.server_cert}",
        attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN: sql.token_struct(token)})
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT DB_NAME()")
        assert cursor.fetchone()[0] == DATABASE
    finally:
        connection.close()


def test_a_login_message_past_the_cap_is_refused(target: SqlTarget) -> None:
    client = raw_tds.RawTds(target.port, target.ca)
    try:
        client.prelogin()
        answer = client.login("", payload=raw_tds.login7_payload("x" * (LOGIN_MESSAGE_LIMIT // 2)))
    finally:
        client.close()
    assert answer.error_numbers == [17832]


def test_a_request_past_the_cap_gets_an_error_and_the_connection_goes_on(target: SqlTarget) -> None:
    with target.admin() as connection:
        cursor = connection.cursor()
        with pytest.raises(pyodbc.Error) as caught:
            cursor.execute("SELECT 1 WHERE ? IS NOT NULL", "x" * (REQUEST_MESSAGE_LIMIT // 2 + 1024))
        assert error_number(caught.value) == 40517 and "larger than 16 MiB" in sql_error(caught.value)
        assert connection.execute("SELECT 2 WHERE ? IS NOT NULL", "x" * 1_000_000).fetchone()[0] == 2


def test_the_session_limit_is_azures_10928(target: SqlTarget, listener: SqlListener) -> None:
    listener.session_limit = len(listener.logged_in) + 2
    token = target.admin_token()
    with ExitStack() as stack:
        first = stack.enter_context(target.odbc(token))
        stack.enter_context(target.odbc(token))
        with pytest.raises(pyodbc.Error) as caught:
            target.odbc(token)
        assert f"Resource ID : 2. The session limit for the database is {listener.session_limit} and has been " \
            "reached." in sql_error(caught.value)
        first.close()
        _wait_for(lambda: len(listener.logged_in) < listener.session_limit)
        with target.odbc(token) as again:
            assert again.execute("SELECT 1").fetchone()[0] == 1


def test_sockets_past_the_connection_cap_are_closed_at_once(target: SqlTarget, listener: SqlListener) -> None:
    listener.connection_limit = listener.connections + 3
    held = [socket.create_connection(("127.0.0.1", target.port), timeout=5) for _ in range(3)]
    try:
        _wait_for(lambda: listener.connections >= listener.connection_limit)
        extra = socket.create_connection(("127.0.0.1", target.port), timeout=5)
        extra.settimeout(3)
        started = time.monotonic()
        assert extra.recv(1) == b""  # closed by the emulator, not left waiting for a PRELOGIN
        assert time.monotonic() - started < 2
        extra.close()
        held[0].sendall(raw_tds.packets(raw_tds.PRELOGIN, raw_tds.prelogin_payload()))
        held[0].settimeout(3)
        assert held[0].recv(8)[:1] == b"\x04"  # the held ones are served
    finally:
        for connection in held:
            connection.close()
    _wait_for(lambda: listener.connections < listener.connection_limit)
    with target.admin() as connection:
        assert connection.execute("SELECT 1").fetchone()[0] == 1


def test_a_pipelining_client_is_read_no_further_than_a_few_requests(target: SqlTarget,
                                                                     listener: SqlListener) -> None:
    """Requests sent behind a slow one stay in the socket, not in the emulator's memory: it reads a few
    ahead, then waits; every answer arrives once the client reads."""
    client = raw_tds.connect(target.port, target.ca, target.admin_token())
    try:
        client.send(raw_tds.packets(raw_tds.SQL_BATCH, raw_tds.sql_batch_payload("WAITFOR DELAY '00:00:03'")))
        batch = raw_tds.packets(raw_tds.SQL_BATCH, raw_tds.sql_batch_payload("SELECT 1 AS n"))
        for _ in range(50):
            client.send(batch)

        def held() -> int:
            return max(session._queue.qsize() for session in listener.logged_in)  # noqa: SLF001 - the point

        _wait_for(lambda: held() == REQUEST_QUEUE)  # it reads ahead up to the cap, while the WAITFOR runs
        time.sleep(0.3)
        assert held() == REQUEST_QUEUE  # and no further
        answers = [client.reply() for _ in range(51)]
    finally:
        client.close()
    assert all(answer.rows == [[1]] for answer in answers[1:])
