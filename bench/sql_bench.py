"""Benchmark of the emulated Azure SQL endpoint, loopback only. Prints figures; asserts nothing.

1. A 10,000-row SELECT through pyodbc + ODBC Driver 18 + the emulator (a plain ``fetchall()``),
   against reading the same rows — the same SQL on the same SQLite file — directly with sqlite3
   (floor: at most 3x); the two timed alternately. Six columns (int, nvarchar, decimal, bit,
   datetime2, uniqueidentifier) and three (int, nvarchar, bit). Then where the time goes: the
   emulator's own share, and the driver + pyodbc alone (the same response bytes replayed, no
   server work — a diagnostic run after the measured ones, never part of the ratio).
2. Connect + login (TLS, LOGIN7 with an access token, login response) through pyodbc (floor: 50 ms).

Run: python bench/sql_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
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


def paired_medians(first: Callable[[], object], second: Callable[[], object], runs: int) -> tuple[float, float]:
    """Medians of two actions timed alternately (first, second, first, …), so that a slower or faster
    patch of a shared machine weighs on both sides of the ratio alike."""
    first()
    second()  # warm-up of both
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for action, into in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            action()
            into.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


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


SERVER_SECONDS: dict[str, list[float]] = {}
RESPONSES: dict[str, bytes] = {}


def _time_server_side() -> None:
    """Record how long the emulator spends per SQL batch (translate, SQLite, encode), to split the
    driver figure into server and client (ODBC driver + pyodbc building Python objects) shares; keep
    the last response per batch text for ``_replay_responses``."""
    original = handlers.Handlers.sql_batch

    async def timed(self: handlers.Handlers, state: object, text: str) -> bytes:
        started = time.perf_counter()
        response = await original(self, state, text)  # type: ignore[arg-type]
        SERVER_SECONDS.setdefault(text, []).append(time.perf_counter() - started)
        RESPONSES[text] = response
        return response

    handlers.Handlers.sql_batch = timed  # type: ignore[method-assign]


def _replay_responses() -> None:
    """Diagnostic only, after the measurements above: answer a batch with the bytes recorded for the
    same text, so that a SELECT costs the emulator nothing and what remains is the ODBC driver and
    pyodbc (plus TLS and loopback) — the part of the figure no server can make faster."""
    original = handlers.Handlers.sql_batch

    async def replay(self: handlers.Handlers, state: object, text: str) -> bytes:
        if text in RESPONSES:
            return RESPONSES[text]
        return await original(self, state, text)  # type: ignore[arg-type]

    handlers.Handlers.sql_batch = replay  # type: ignore[method-assign]


def server_ms(text: str) -> float:
    return statistics.median(SERVER_SECONDS[text][1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(ports={name: 0 for name in DEFAULT_PORTS}, data_dir=Path(directory), in_memory=False)
        emulator = Emulator(settings).start_in_thread()
        try:
            profile = emulator.profile
            assert profile is not None
            token = admin_token(emulator)
            server, ca = profile.endpoints["sql"], profile.ca_bundle
            database_file = Path(directory) / "sql" / "workbookdb.sqlite3"
            with sql.connect(token, server, "workbookdb", ca, autocommit=True) as connection, \
                    contextlib.closing(sqlite3.connect(database_file)) as direct:
                for statement in SETUP:
                    connection.execute(statement)
                assert connection.execute("SELECT COUNT(*) FROM Orders").fetchone()[0] == ROWS

                def through_driver(query: str) -> Callable[[], None]:
                    def action() -> None:
                        assert len(connection.execute(query).fetchall()) == ROWS  # a normal cursor.fetchall()
                    return action

                def through_sqlite(query: str) -> Callable[[], None]:
                    def action() -> None:  # the same SQL on the same file: same table, columns and rows
                        assert len(direct.execute(query).fetchall()) == ROWS
                    return action

                _time_server_side()
                figures = {query: paired_medians(through_driver(query), through_sqlite(query), args.runs)
                           for query in (QUERY, NARROW)}
                _replay_responses()
                replayed = {query: median_ms(through_driver(query), args.runs) for query in (QUERY, NARROW)}

            def connect_and_login() -> None:
                sql.connect(token, server, "workbookdb", ca, autocommit=True).close()

            login_ms = median_ms(connect_and_login, args.runs)
        finally:
            emulator.stop()
    for label, query in (("6 columns", QUERY), ("3 columns", NARROW)):
        driver_ms, sqlite_ms = figures[query]
        ratio = driver_ms / sqlite_ms
        print(f"10,000-row SELECT, {label}: {query}")
        print(f"  via pyodbc + ODBC Driver 18 + emulator: {driver_ms:8.1f} ms (median of {args.runs})")
        print(f"  via sqlite3 directly                  : {sqlite_ms:8.1f} ms (median of {args.runs}, alternating)")
        print(f"  ratio                                 : {ratio:8.2f}x   (floor: <= 3x)  "
              f"{'OK' if ratio <= 3 else 'ABOVE FLOOR'}")
        print(f"  of which the emulator (SQL -> SQLite -> TDS tokens): {server_ms(query):6.1f} ms")
        print(f"  ODBC driver + pyodbc alone (the same response replayed, no server work): {replayed[query]:6.1f} ms "
              f"= {replayed[query] / sqlite_ms:.2f}x sqlite3 by itself")
    print(f"connect + login (pyodbc, TDS 8 strict)   : {login_ms:8.1f} ms (median of {args.runs})  (floor: <= 50 ms)  "
          f"{'OK' if login_ms <= 50 else 'ABOVE FLOOR'}")


if __name__ == "__main__":
    main()
