"""Benchmark of the emulated Azure SQL endpoint, loopback only. Prints figures; asserts nothing.

1. A 10,000-row SELECT through pyodbc + ODBC Driver 18 + the emulator, against reading the same
   rows from the same SQLite file directly with sqlite3 (floor: at most 3x).
2. Connect + login (TLS, LOGIN7 with an access token, login response) through pyodbc (floor: 50 ms).

Run: python bench/sql_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from emulator.app import Emulator
from emulator.core.settings import DEFAULT_PORTS, Settings
from emulator.services.sql import handlers
from lib import sql

SQL_RESOURCE = "https://database.windows.net/"
ROWS = 10_000
SETUP = [
    "CREATE TABLE Digits (D INT NOT NULL)",
    "INSERT INTO Digits (D) VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
    "CREATE TABLE Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(60) NOT NULL, Amount DECIMAL(10,2) NOT NULL, "
    "Shipped BIT NOT NULL, PlacedOn DATETIME2 NOT NULL, Reference UNIQUEIDENTIFIER NOT NULL)",
    "INSERT INTO Orders SELECT a.D + 10*b.D + 100*c.D + 1000*e.D, 'Customer ' + CAST(a.D + 10*b.D AS NVARCHAR(10)), "
    "(a.D * 7 + b.D * 3 + c.D) * 1.25, (a.D + b.D) % 2, "
    "'2024-0' + CAST(1 + c.D % 9 AS NVARCHAR(1)) + '-1' + CAST(e.D AS NVARCHAR(1)) + ' 10:' + "
    "CAST(10 + b.D AS NVARCHAR(2)) + ':' + CAST(10 + a.D AS NVARCHAR(2)), NEWID() "
    "FROM Digits a, Digits b, Digits c, Digits e",
]
QUERY = "SELECT OrderID, Customer, Amount, Shipped, PlacedOn, Reference FROM Orders"
NARROW = "SELECT OrderID, Customer, Shipped FROM Orders"  # types pyodbc converts cheaply


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up (translation cache, driver initialisation)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def admin_token(emulator: Emulator) -> str:
    profile = emulator.profile
    assert profile is not None
    response = requests.post(
        f"{profile.endpoints['login']}/{profile.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": profile.admin["clientId"],
              "client_secret": profile.admin["clientSecret"], "scope": SQL_RESOURCE + ".default"},
        verify=profile.ca_bundle, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


SERVER_SECONDS: list[float] = []


def _time_server_side() -> None:
    """Record how long the emulator spends per SQL batch (translate, SQLite, encode), to split the
    driver figure into server and client (ODBC driver + pyodbc building Python objects) shares."""
    original = handlers.Handlers.sql_batch

    async def timed(self: handlers.Handlers, state: object, text: str) -> bytes:
        started = time.perf_counter()
        try:
            return await original(self, state, text)  # type: ignore[arg-type]
        finally:
            SERVER_SECONDS.append(time.perf_counter() - started)

    handlers.Handlers.sql_batch = timed  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(ports={name: 0 for name in DEFAULT_PORTS}, data_dir=Path(directory), in_memory=False)
        emulator = Emulator(settings).start_in_thread()
        try:
            profile = emulator.profile
            assert profile is not None
            token = admin_token(emulator)
            server, ca = profile.endpoints["sql"], profile.ca_bundle
            with sql.connect(token, server, "workbookdb", ca, autocommit=True) as connection:
                for statement in SETUP:
                    connection.execute(statement)
                assert connection.execute("SELECT COUNT(*) FROM Orders").fetchone()[0] == ROWS

                def through_driver() -> None:
                    rows = connection.execute(QUERY).fetchall()
                    assert len(rows) == ROWS

                _time_server_side()
                driver_ms = median_ms(through_driver, args.runs)
                server_ms = statistics.median(SERVER_SECONDS[1:]) * 1000

                def narrow() -> None:
                    assert len(connection.execute(NARROW).fetchall()) == ROWS

                narrow_ms = median_ms(narrow, args.runs)

            database_file = Path(directory) / "sql" / "workbookdb.sqlite3"
            direct = sqlite3.connect(database_file)

            def through_sqlite() -> None:
                rows = direct.execute(QUERY).fetchall()
                assert len(rows) == ROWS

            sqlite_ms = median_ms(through_sqlite, args.runs)
            narrow_sqlite_ms = median_ms(lambda: direct.execute(NARROW).fetchall(), args.runs)
            direct.close()

            def connect_and_login() -> None:
                sql.connect(token, server, "workbookdb", ca, autocommit=True).close()

            login_ms = median_ms(connect_and_login, args.runs)
        finally:
            emulator.stop()
    ratio = driver_ms / sqlite_ms
    print(f"10,000-row SELECT via pyodbc + emulator : {driver_ms:8.1f} ms (median of {args.runs})")
    print(f"10,000-row SELECT via sqlite3 directly  : {sqlite_ms:8.1f} ms (median of {args.runs})")
    print(f"ratio                                   : {ratio:8.2f}x   (floor: <= 3x)  "
          f"{'OK' if ratio <= 3 else 'ABOVE FLOOR'}")
    print(f"  of which the emulator (SQL → SQLite → TDS): {server_ms:6.1f} ms; the rest is the ODBC driver and pyodbc "
          "building Decimal/datetime/str objects, and loopback TLS")
    print(f"narrow SELECT (int, nvarchar, bit)       : {narrow_ms:8.1f} ms vs sqlite3 {narrow_sqlite_ms:.1f} ms = "
          f"{narrow_ms / narrow_sqlite_ms:.2f}x")
    print(f"connect + login (pyodbc, TDS 8 strict)  : {login_ms:8.1f} ms (median of {args.runs})  (floor: <= 50 ms)  "
          f"{'OK' if login_ms <= 50 else 'ABOVE FLOOR'}")


if __name__ == "__main__":
    main()
