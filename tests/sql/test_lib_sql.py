"""lib.sql: the driver, the token structure and the connection strings (no network)."""

from __future__ import annotations

import struct
from pathlib import Path

import pyodbc

from lib import sql


def test_token_struct_is_length_prefixed_utf16() -> None:
    packed = sql.token_struct("eyJ0eXAi.abc")
    (length,) = struct.unpack_from("<I", packed)
    assert length == len("eyJ0eXAi.abc") * 2
    assert packed[4:].decode("utf-16-le") == "eyJ0eXAi.abc"


def test_find_driver_is_registered_name_or_an_existing_library() -> None:
    driver = sql.find_driver()
    if driver != sql.SYSTEM_DRIVER:
        assert Path(driver).is_file()
        assert Path(driver).name.startswith("libmsodbcsql-18")
    else:
        assert sql.SYSTEM_DRIVER in pyodbc.drivers()


def test_azure_connection_string_verifies_the_certificate() -> None:
    text = sql.connection_string("mi-workbook-sql", "workbookdb", driver="ODBC Driver 18 for SQL Server")
    assert text.startswith("DRIVER={ODBC Driver 18 for SQL Server};")
    assert "SERVER=tcp:mi-workbook-sql.database.windows.net,1433;" in text
    assert "Encrypt=yes;TrustServerCertificate=no;" in text
    assert "UID=" not in text and "PWD=" not in text and "Authentication=" not in text


def test_emulator_connection_string_is_strict_with_the_server_certificate(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("ca")
    (tmp_path / "server.pem").write_text("server")
    text = sql.connection_string("localhost,29407", "workbookdb", ca_file=str(ca), driver="x")
    assert "SERVER=tcp:localhost,29407;" in text
    assert f"Encrypt=strict;ServerCertificate={tmp_path / 'server.pem'};" in text
    assert "TrustServerCertificate" not in text


def test_a_certificate_without_a_sibling_is_used_as_given(tmp_path: Path) -> None:
    cert = tmp_path / "mine.pem"
    cert.write_text("cert")
    assert sql.server_certificate(str(cert)) == str(cert)
