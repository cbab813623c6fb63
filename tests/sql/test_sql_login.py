"""Logging in to the emulated Azure SQL with an Entra token: the three real clients, refusals, TLS modes."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time

import mssql_python
import pyodbc
import pytds
import pytest
from sql_helpers import (
    BAD_TOKENS,
    DATABASE,
    LOGIN_FAILED,
    SqlTarget,
    parse_prelogin_reply,
    prelogin_packet,
    recv_all,
    sql_error,
)

from lib import sql


def test_admin_logs_in_with_pyodbc_strict(target: SqlTarget) -> None:
    with target.admin() as connection:
        row = connection.execute("SELECT SUSER_SNAME(), DB_NAME(), @@VERSION").fetchone()
    assert row[0] == target.profile.admin["displayName"]
    assert row[1] == DATABASE
    assert row[2].startswith("Microsoft SQL Azure")


def test_admin_logs_in_with_encrypt_yes_in_band_tls(target: SqlTarget) -> None:
    """TDS 7.4: TLS inside PRELOGIN packets. The driver trusts the CA only through SSL_CERT_FILE,
    which is process-wide, so the client runs in its own process."""
    code = (
        "import sys, pyodbc\n"
        "from lib import sql\n"
        "token, server = sys.argv[1], sys.argv[2]\n"
        "cs = sql.connection_string(server, 'workbookdb')\n"
        "assert 'Encrypt=yes;TrustServerCertificate=no' in cs, cs\n"
        "c = pyodbc.connect(cs, attrs_before={1256: sql.token_struct(token)}, timeout=5)\n"
        "print(c.execute('SELECT COUNT(*), SUSER_SNAME() FROM dbo.Products').fetchone())\n"
    )
    env = {**os.environ, "SSL_CERT_FILE": target.ca}
    done = subprocess.run([sys.executable, "-c", code, target.admin_token(), target.server], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(300, 'workbook-admin')"


def test_encrypt_yes_without_the_ca_is_refused_by_the_driver(target: SqlTarget) -> None:
    code = (
        "import sys, pyodbc\n"
        "from lib import sql\n"
        "try:\n"
        "    pyodbc.connect(sql.connection_string(sys.argv[2], 'workbookdb'),\n"
        "                   attrs_before={1256: sql.token_struct(sys.argv[1])}, timeout=5)\n"
        "except pyodbc.Error as exc:\n"
        "    print('refused', exc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    done = subprocess.run([sys.executable, "-c", code, target.admin_token(), target.server], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("refused"), done.stdout + done.stderr
    assert "certificate" in done.stdout.lower()


def test_mssql_python_logs_in(target: SqlTarget) -> None:
    conn_str = (f"Server=tcp:{target.server};Database={DATABASE};Encrypt=strict;"
                f"ServerCertificate={target.server_cert}")
    connection = mssql_python.connect(conn_str, attrs_before={sql.SQL_COPT_SS_ACCESS_TOKEN:
                                                              sql.token_struct(target.admin_token())}, timeout=5)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT SUSER_SNAME(), COUNT(*) FROM Products")
        assert tuple(cursor.fetchall()[0]) == ("workbook-admin", 300)
    finally:
        connection.close()


def test_pytds_logs_in_with_access_token_callable(target: SqlTarget) -> None:
    token = target.admin_token()
    with pytds.connect(dsn="localhost", port=target.port, database=DATABASE, cafile=target.ca,
                       access_token_callable=lambda: token, login_timeout=5, autocommit=True) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT SUSER_SNAME(), DB_NAME()")
        assert cursor.fetchone() == ("workbook-admin", DATABASE)


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_token_is_refused_with_18456(target: SqlTarget, kind: str) -> None:
    token = BAD_TOKENS[kind](target)
    with pytest.raises(pyodbc.Error) as caught:
        target.odbc(token)
    assert "18456" in sql_error(caught.value)
    assert LOGIN_FAILED in sql_error(caught.value)


def test_vm_without_a_database_user_is_refused(target: SqlTarget) -> None:
    with pytest.raises(pyodbc.Error) as caught:
        target.vm()
    assert "18456" in sql_error(caught.value) and LOGIN_FAILED in sql_error(caught.value)


def test_unknown_database_is_refused(target: SqlTarget) -> None:
    with pytest.raises(pyodbc.Error) as caught:
        target.odbc(target.admin_token(), "nosuchdb")
    assert '"nosuchdb"' in sql_error(caught.value)


def test_admin_can_log_in_to_master(target: SqlTarget) -> None:
    with target.admin("master") as connection:
        assert connection.execute("SELECT DB_NAME()").fetchone()[0] == "master"


def test_plaintext_client_is_refused_before_login(target: SqlTarget) -> None:
    """A client that offers no encryption gets ENCRYPT_REQ and the connection closes: a LOGIN7 sent
    in clear is never read."""
    with socket.create_connection(("127.0.0.1", target.port), timeout=5) as connection:
        connection.sendall(prelogin_packet(encryption=0x02))  # ENCRYPT_NOT_SUP
        reply = recv_all(connection)
        options = parse_prelogin_reply(reply)
        assert options[0x01] == b"\x03"  # ENCRYPT_REQ
        login_in_clear = bytes([0x10, 0x01, 0x00, 0x10, 0, 0, 1, 0]) + b"\x00" * 8
        try:
            connection.sendall(login_in_clear)
            after = recv_all(connection, timeout=1)
        except (BrokenPipeError, ConnectionResetError):
            after = b""
        assert after == b""  # closed: nothing answers the cleartext login


def test_encrypt_off_client_is_upgraded_not_served_in_clear(target: SqlTarget) -> None:
    with socket.create_connection(("127.0.0.1", target.port), timeout=5) as connection:
        connection.sendall(prelogin_packet(encryption=0x00))  # ENCRYPT_OFF (login-only)
        options = parse_prelogin_reply(connection.recv(4096))
        assert options[0x01] == b"\x03"  # the whole connection must be encrypted


def test_garbage_closes_the_connection_and_the_server_keeps_serving(target: SqlTarget) -> None:
    with socket.create_connection(("127.0.0.1", target.port), timeout=5) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(200))
        assert recv_all(connection) == b""
    with socket.create_connection(("127.0.0.1", target.port), timeout=5) as connection:
        connection.sendall(b"\x16\x03\x01\x00\x05" + os.urandom(5))  # a broken TLS record
        assert recv_all(connection)[:1] in (b"", b"\x15")  # nothing, or a TLS alert
    with target.admin() as connection:
        assert connection.execute("SELECT 1").fetchone()[0] == 1


def test_strict_mode_offers_alpn_tds_8(target: SqlTarget) -> None:
    context = ssl.create_default_context(cafile=target.ca)
    context.set_alpn_protocols(["tds/8.0"])
    with socket.create_connection(("127.0.0.1", target.port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.selected_alpn_protocol() == "tds/8.0"
        tls.sendall(prelogin_packet(encryption=0x01))
        assert parse_prelogin_reply(tls.recv(4096))[0x01] in (b"\x01", b"\x02")


def test_connect_and_login_through_localhost_name(target: SqlTarget) -> None:
    assert target.server.startswith("localhost,")
    started = time.perf_counter()
    with target.admin() as connection:
        connection.execute("SELECT 1").fetchone()
    assert time.perf_counter() - started < 10  # no long fallback from an unreachable address
