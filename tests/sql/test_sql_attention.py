"""TDS as SQL Server speaks it where requests end early: an attention (cancel, client timeout) is answered
with the cancelled request's own response, ended, and then the attention's own response, the
acknowledgement ([MS-TDS] 3.3.5.9: every client message gets one response; 4.19.2: a DONE without
DONE_MORE may precede the DONE_ATTN), so a client that reads one response per request (tedious) and
one that reads to the acknowledgement (ODBC Driver 18, pytds) both stay in step; a connection reset inside
a transaction says it rolled the transaction back (ENVCHANGE 10) before acknowledging the reset (18)."""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from typing import Any

import pyodbc
import pytds
import pytest
from raw_tds import ATTENTION, REPLY, SQL_BATCH, RawTds, packets, parse_tokens, sql_batch_payload
from raw_tds import connect as raw_connect
from sql_helpers import (
    DATABASE,
    SqlTarget,
    sql_error,
    sql_listener,
    sql_session,
    start_and_wait_until_it_runs,
    wait_until_running,
)

DONE_ATTN, DONE_MORE, DONE_INXACT = 0x20, 0x01, 0x04
RESET_CONNECTION = 0x08


@pytest.fixture
def raw(target: SqlTarget) -> Any:
    with raw_connect(target.port, target.ca, target.admin_token()) as client:
        yield client


def _messages(raw: RawTds, count: int) -> list[Any]:
    replies = []
    for _ in range(count):
        kind, payload = raw.read_message()
        assert kind == REPLY
        replies.append(parse_tokens(payload))
    return replies


def test_attention_during_a_request_gets_two_responses(raw: RawTds) -> None:
    raw.send(packets(SQL_BATCH, sql_batch_payload("WAITFOR DELAY '00:00:20'; SELECT 1 AS never")))
    time.sleep(0.3)
    started = time.perf_counter()
    raw.send(packets(ATTENTION, b""))
    request, acknowledgement = _messages(raw, 2)
    assert time.perf_counter() - started < 5
    assert request.done and not request.done[-1] & (DONE_ATTN | DONE_MORE) and request.rows == []
    assert acknowledgement.done == [DONE_ATTN]
    assert raw.batch("SELECT 7 AS n").rows == [[7]]  # the next request gets its own response


def test_attention_while_rows_stream_ends_them_then_acknowledges(raw: RawTds) -> None:
    raw.batch("CREATE TABLE Digits (D INT NOT NULL); INSERT INTO Digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)")
    raw.send(packets(SQL_BATCH, sql_batch_payload(
        "SELECT a.D + 10*b.D + 100*c.D + 1000*e.D + 10000*f.D AS n FROM Digits a, Digits b, Digits c, Digits e, "
        "Digits f")))
    kind, status, payload = raw.read_packet()  # the first packet: rows are on their way
    assert kind == REPLY and not status & 0x01
    raw.send(packets(ATTENTION, b""))
    while not status & 0x01:  # the rest of the cancelled request's response
        kind, status, chunk = raw.read_packet()
        payload += chunk
    request = parse_tokens(payload)
    (acknowledgement,) = _messages(raw, 1)
    assert request.done and not request.done[-1] & (DONE_ATTN | DONE_MORE)
    assert 0 < len(request.rows) < 100_000
    assert acknowledgement.done == [DONE_ATTN]
    assert raw.batch("SELECT 8 AS n").rows == [[8]]


def test_an_attention_that_arrives_before_its_request_starts_cancels_it(raw: RawTds) -> None:
    """The batch and its attention in one write: the attention is read while the batch still waits its turn.
    The batch never runs (before, it ran its 20 seconds and only then was the attention acknowledged)."""
    started = time.perf_counter()
    raw.send(packets(SQL_BATCH, sql_batch_payload("WAITFOR DELAY '00:00:20'; SELECT 1 AS never"))
             + packets(ATTENTION, b""))
    request, acknowledgement = _messages(raw, 2)
    assert time.perf_counter() - started < 5
    assert request.done and not request.done[-1] & (DONE_ATTN | DONE_MORE) and request.rows == []
    assert acknowledgement.done == [DONE_ATTN]
    assert raw.batch("SELECT 9 AS n").rows == [[9]]


def test_a_client_that_hangs_up_mid_request_ends_its_request_and_session(target: SqlTarget) -> None:
    """SQL Server stops the request of a client that closed its connection; the emulator ran it to its end (here
    20 seconds), holding its session (and any transaction's locks) for nobody."""
    listener = sql_listener(target)
    client = raw_connect(target.port, target.ca, target.admin_token())
    session = sql_session(target, client.batch("SELECT @@SPID AS spid").rows[0][0])
    client.send(packets(SQL_BATCH, sql_batch_payload("BEGIN TRANSACTION; WAITFOR DELAY '00:00:20'")))
    wait_until_running(session, running=True)
    client.close()
    deadline = time.monotonic() + 5
    while session in listener.logged_in and time.monotonic() < deadline:
        time.sleep(0.02)
    assert session not in listener.logged_in, "the session outlived its client"


def test_attention_after_the_response_is_acknowledged_alone(raw: RawTds) -> None:
    assert raw.batch("SELECT 1 AS n").rows == [[1]]
    raw.send(packets(ATTENTION, b""))
    (acknowledgement,) = _messages(raw, 1)
    assert acknowledgement.done == [DONE_ATTN]
    assert raw.batch("SELECT 2 AS n").rows == [[2]]


def test_client_timeout_and_cancel_leave_pyodbc_in_step(target: SqlTarget) -> None:
    with target.admin() as connection:
        connection.timeout = 1
        with pytest.raises(pyodbc.Error) as caught:
            connection.execute("WAITFOR DELAY '00:00:20'")
        assert "HYT00" in sql_error(caught.value)
        connection.timeout = 0
        for expected in range(3):  # each statement gets its own answer, not a leftover of the cancelled one
            assert connection.execute(f"SELECT {expected}").fetchone()[0] == expected
        cursor = connection.cursor()
        worker = threading.Thread(target=lambda: _run_quietly(cursor, "WAITFOR DELAY '00:00:20'"))
        start_and_wait_until_it_runs(target, connection, worker)
        cursor.cancel()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert [connection.execute(f"SELECT {n}").fetchone()[0] for n in (5, 6)] == [5, 6]


def test_pytds_cancel_and_timeout(target: SqlTarget) -> None:
    token = target.admin_token()
    with pytds.connect(dsn="localhost", port=target.port, database=DATABASE, cafile=target.ca,
                       access_token_callable=lambda: token, login_timeout=5, autocommit=True, timeout=1) as conn:
        with conn.cursor() as cursor, pytest.raises(pytds.TimeoutError):
            cursor.execute("WAITFOR DELAY '00:00:20'")
        with conn.cursor() as cursor:
            cursor.execute("SELECT 42")
            assert cursor.fetchone()[0] == 42


def test_reset_inside_a_transaction_says_it_rolled_back(target: SqlTarget, raw: RawTds) -> None:
    raw.batch("CREATE TABLE Kept (A INT)")
    began = raw.batch("BEGIN TRANSACTION; INSERT INTO Kept VALUES (1)")
    assert 8 in began.envchanges and began.done[-1] & DONE_INXACT
    reply = raw.request(SQL_BATCH, sql_batch_payload("SELECT COUNT(*) AS n FROM Kept"), status=RESET_CONNECTION)
    assert reply.envchanges[:2] == [10, 18]  # rollback transaction, then the reset's acknowledgement
    assert reply.rows == [[0]] and not reply.done[-1] & DONE_INXACT
    plain = raw.request(SQL_BATCH, sql_batch_payload("SELECT 1 AS n"), status=RESET_CONNECTION)
    assert plain.envchanges == [18]  # no transaction: the acknowledgement alone
    with target.admin() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Kept").fetchone()[0] == 0


def _run_quietly(cursor: Any, statement: str) -> None:
    with contextlib.suppress(pyodbc.Error):
        cursor.execute(statement)


# -- the legacy large types and sql_variant as RPC parameters ---------------------------------------------
COLLATION = b"\x09\x04\xd0\x00\x34"


def _executesql(statement: str, declaration: str, *params: bytes) -> bytes:
    from raw_tds import nvarchar_param, rpc_payload

    return rpc_payload(10, nvarchar_param("@stmt", statement) + nvarchar_param("@params", declaration)
                       + b"".join(params))


def test_text_ntext_image_and_sql_variant_parameters(raw: RawTds) -> None:
    from raw_tds import RPC, param

    text = param("@t", b"\x23" + struct.pack("<I", 0x7FFFFFFF) + COLLATION, struct.pack("<I", 5) + b"hello")
    ntext = param("@n", b"\x63" + struct.pack("<I", 0x7FFFFFFE) + COLLATION,
                  struct.pack("<I", 10) + "wörld".encode("utf-16-le"))
    image = param("@i", b"\x22" + struct.pack("<I", 0x7FFFFFFF), struct.pack("<I", 2) + b"\x01\x02")
    empty = param("@e", b"\x23" + struct.pack("<I", 0x7FFFFFFF) + COLLATION, struct.pack("<I", 0xFFFFFFFF))
    variant = param("@v", b"\x62" + struct.pack("<I", 8016),  # sql_variant: base type INT4, no properties
                    struct.pack("<I", 6) + b"\x38\x00" + struct.pack("<i", -42))
    reply = raw.request(RPC, _executesql("SELECT @t AS t, @n AS n, @i AS i, @e AS e, @v AS v",
                                         "@t text, @n ntext, @i image, @e text, @v sql_variant",
                                         text, ntext, image, empty, variant))
    assert reply.errors == []
    assert [c.type_id for c in reply.columns][:4] == [0x23, 0x63, 0x22, 0x23]
    assert reply.rows == [[b"hello", "wörld", b"\x01\x02", None, -42]]


def test_table_valued_parameters_are_refused_by_name(raw: RawTds) -> None:
    from raw_tds import RPC, param

    tvp = param("@rows", b"\xf3\x00\x00\x00", b"")
    reply = raw.request(RPC, _executesql("SELECT 1", "@rows dbo.Rows READONLY", tvp))
    assert [number for number, _ in reply.errors] == [40517]
    assert "table-valued parameters" in reply.errors[0][1]
    assert raw.batch("SELECT 3 AS n").rows == [[3]]
