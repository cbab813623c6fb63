"""Azure SQL with an access token: find the ODBC driver, build the connection string, connect.

The same code runs on an Azure VM and against the emulator; only the server and the certificate
options differ (see ``connection_string``). The token goes to the driver through the
``SQL_COPT_SS_ACCESS_TOKEN`` pre-connect attribute (``attrs_before``), never in the string.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyodbc

SQL_COPT_SS_ACCESS_TOKEN = 1256
SQL_RESOURCE = "https://database.windows.net/"
SYSTEM_DRIVER = "ODBC Driver 18 for SQL Server"


class DriverNotFound(RuntimeError):
    """Neither a registered ODBC Driver 18 nor the mssql-python-odbc wheel's library was found."""


def token_struct(token: str) -> bytes:
    """The ACCESSTOKEN structure the driver expects: a little-endian length, then UTF-16-LE bytes."""
    data = token.encode("utf-16-le")
    return struct.pack("<I", len(data)) + data


def _wheel_driver() -> Path | None:
    try:
        import mssql_python_odbc
    except ImportError:
        return None
    libs = Path(mssql_python_odbc.get_libs_dir())
    candidates = sorted(libs.rglob("libmsodbcsql-18*.so*")) + sorted(libs.rglob("msodbcsql18*.dll")) \
        + sorted(libs.rglob("libmsodbcsql.18*.dylib"))
    if not candidates:
        return None
    preferred = [p for p in candidates if "debian_ubuntu" in p.parts] or candidates
    import platform

    machine = platform.machine().lower()
    arch = "arm64" if machine in ("aarch64", "arm64") else "x86_64" if machine in ("x86_64", "amd64") else machine
    return next((p for p in preferred if arch in p.parts), preferred[0])


def find_driver() -> str:
    """The value for ``DRIVER={…}``: the registered driver's name, else the wheel's library path."""
    try:
        import pyodbc

        if SYSTEM_DRIVER in pyodbc.drivers():
            return SYSTEM_DRIVER
    except ImportError:
        pass
    found = _wheel_driver()
    if found is None:
        raise DriverNotFound(
            f"'{SYSTEM_DRIVER}' is not registered and the mssql-python-odbc package is not installed "
            "(pip install mssql-python).")
    return str(found)


def server_address(server: str, port: int = 1433) -> str:
    """``tcp:<server>.database.windows.net,1433`` for a logical server name; ``host,port`` is kept."""
    if server.startswith("tcp:"):
        return server
    if "," in server:
        return f"tcp:{server}"
    host = server if "." in server or server == "localhost" else f"{server}.database.windows.net"
    return f"tcp:{host},{port}"


def server_certificate(ca_file: str) -> str:
    """The file for ``ServerCertificate=``: the driver compares it with the certificate the server
    presents, so it must be the server's own certificate, not the CA. The emulator keeps that as
    ``server.pem`` next to its CA bundle; any other file is taken as the server certificate itself."""
    sibling = Path(ca_file).with_name("server.pem")
    return str(sibling) if sibling.is_file() else ca_file


def connection_string(server: str, database: str, *, ca_file: str | None = None,
                      driver: str | None = None, timeout: int = 15) -> str:
    """The ODBC connection string (no credentials in it: the token goes in ``attrs_before``).

    Azure: ``Encrypt=yes;TrustServerCertificate=no`` — the server's certificate chains to a public CA.
    Emulator (``ca_file`` given): TDS 8 ``Encrypt=strict`` with ``ServerCertificate=<server cert>``
    (see ``server_certificate``), the one mode in which the driver honours a certificate file.
    Never ``TrustServerCertificate=yes``: it accepts any server, which is what TLS is there to stop.
    """
    parts = [f"DRIVER={{{driver or find_driver()}}}", f"SERVER={server_address(server)}",
             f"DATABASE={database}"]
    if ca_file:
        parts += ["Encrypt=strict", f"ServerCertificate={server_certificate(ca_file)}"]
    else:
        parts += ["Encrypt=yes", "TrustServerCertificate=no"]
    parts.append(f"Connection Timeout={timeout}")
    return ";".join(parts) + ";"


def connect(token: str, server: str, database: str, ca_file: str | None = None, *,
            autocommit: bool = False, **kwargs: Any) -> pyodbc.Connection:
    """A pyodbc connection authenticated with ``token`` (resource ``https://database.windows.net/``)."""
    import pyodbc

    return pyodbc.connect(connection_string(server, database, ca_file=ca_file),
                          attrs_before={SQL_COPT_SS_ACCESS_TOKEN: token_struct(token)},
                          autocommit=autocommit, **kwargs)
