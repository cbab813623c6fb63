"""Benchmark of the emulated Azure SQL endpoint, loopback only. Prints figures; asserts nothing.

The emulator runs in its own process, as ``azure-emulator start`` runs it for the workbook.

1. A 10,000-row SELECT through pyodbc + ODBC Driver 18 + the emulator (a plain ``fetchall()``),
   against reading the same rows — the same SQL on the same SQLite file — directly with sqlite3
   (floor: at most 3x), each pair timed alternately. Two sqlite3 baselines: as it comes (float for
   decimal, text for datetime2, int for bit), and handing back the values pyodbc hands back
   (Decimal, datetime, bool) — the same rows as Python objects. Three columns (int, nvarchar, bit)
   and six (those + decimal, datetime2, uniqueidentifier). Also the time to the first row
   (``execute()`` returning): the emulator streams a result while it reads it.
2. Where the time goes (diagnostic): the ODBC driver and pyodbc alone, against an emulator process
   that answers with the bytes it sent before (no server work) — the part no server can make faster.
3. Connect + login (TLS, LOGIN7 with an access token, login response) through pyodbc (floor: 50 ms).

Run: python bench/sql_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from common import spawn, stop

from emulator.profile import Profile, read_profile
from emulator.services.sql import session
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
# label, T-SQL through the driver, the same read through sqlite3 giving pyodbc's Python types
QUERIES = [
    ("3 columns (int, nvarchar, bit)", "SELECT OrderID, Customer, Shipped FROM Orders",
     'SELECT OrderID, Customer, Shipped AS "Shipped [bench_bit]" FROM Orders'),
    ("6 columns (+ decimal, datetime2, uniqueidentifier)",
     "SELECT OrderID, Customer, Amount, Shipped, PlacedOn, Reference FROM Orders",
     'SELECT OrderID, Customer, Amount AS "Amount [bench_decimal]", Shipped AS "Shipped [bench_bit]", '
     'PlacedOn AS "PlacedOn [bench_datetime]", Reference FROM Orders'),
]
sqlite3.register_converter("bench_decimal", lambda raw: Decimal(raw.decode()))
sqlite3.register_converter("bench_bit", lambda raw: raw != b"0")
sqlite3.register_converter("bench_datetime", lambda raw: dt.datetime.fromisoformat(raw.decode()))


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up (translation cache, driver initialisation)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def interleaved_medians(actions: list[Callable[[], object]], runs: int) -> list[float]:
    """Medians of actions timed in turn (a, b, c, a, b, c, …), so that a slower or faster patch of a
    shared machine weighs on every side of a ratio alike."""
    for action in actions:
        action()  # warm-up
    samples: list[list[float]] = [[] for _ in actions]
    for _ in range(runs):
        for action, into in zip(actions, samples, strict=True):
            started = time.perf_counter()
            action()
            into.append((time.perf_counter() - started) * 1000)
    return [statistics.median(s) for s in samples]


def admin_token(profile: Profile) -> str:
    response = requests.post(
        f"{profile.endpoints['login']}/{profile.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": profile.admin["clientId"],
              "client_secret": profile.admin["clientSecret"], "scope": SQL_RESOURCE + ".default"},
        verify=profile.ca_bundle, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


@contextlib.contextmanager
def emulator_process(**options: Any) -> Iterator[tuple[Profile, Path]]:
    """The emulator as its own process on free ports, keeping its SQLite files in a temporary folder."""
    with tempfile.TemporaryDirectory() as directory:
        process, _ = spawn(Path(directory), in_memory=False, **options)
        try:
            profile = read_profile(Path(directory))
            assert profile is not None
            yield profile, Path(directory) / "sql" / "workbookdb.sqlite3"
        finally:
            stop(process)


def measure(runs: int) -> tuple[dict[str, tuple[float, float, float, float]], float]:
    with emulator_process() as (profile, database_file):
        token = admin_token(profile)
        server, ca = profile.endpoints["sql"], profile.ca_bundle
        figures: dict[str, tuple[float, float, float, float]] = {}
        with sql.connect(token, server, "workbookdb", ca, autocommit=True) as connection, \
                contextlib.closing(sqlite3.connect(database_file)) as raw, \
                contextlib.closing(sqlite3.connect(database_file, detect_types=sqlite3.PARSE_COLNAMES)) as typed:
            for statement in SETUP:
                connection.execute(statement)
            for label, query, typed_query in QUERIES:
                through_driver = connection.execute(query).fetchall()
                same = typed.execute(typed_query).fetchall()
                if [tuple(r) for r in through_driver] != [tuple(v.upper() if isinstance(v, str) and len(v) == 36
                                                                else v for v in r) for r in same] and \
                        [tuple(r) for r in through_driver] != same:
                    raise SystemExit(f"{label}: sqlite3 and the driver do not return the same rows")

                def driver(query: str = query) -> None:
                    assert len(connection.execute(query).fetchall()) == ROWS  # a normal cursor.fetchall()

                def first_row(query: str = query) -> float:
                    started = time.perf_counter()
                    cursor = connection.execute(query)  # returns once the first rows have arrived
                    cursor.fetchone()
                    elapsed = (time.perf_counter() - started) * 1000
                    cursor.fetchall()  # not timed: the rest
                    return elapsed

                def sqlite_raw(query: str = query) -> None:
                    assert len(raw.execute(query).fetchall()) == ROWS

                def sqlite_typed(query: str = typed_query) -> None:
                    assert len(typed.execute(query).fetchall()) == ROWS

                driver_ms, raw_ms, typed_ms = interleaved_medians([driver, sqlite_raw, sqlite_typed], runs)
                figures[label] = (driver_ms, raw_ms, typed_ms, statistics.median(first_row() for _ in range(runs)))

        def connect_and_login() -> None:
            sql.connect(token, server, "workbookdb", ca, autocommit=True).close()

        return figures, median_ms(connect_and_login, runs)


REPLAYING = "--as-replaying-emulator"


def replaying_emulator(argv: list[str]) -> int:
    """(In a child process.) The emulator, answering every request it has answered before with the
    very bytes it sent then: the server does no work, what remains is the client."""
    from emulator import cli

    recorded: dict[bytes, bytes] = {}
    original = session.Session._respond

    async def respond(self: session.Session, kind: int, payload: bytes, prefix: bytes) -> None:
        if payload in recorded:
            self.transport.write(recorded[payload])
            return
        written = bytearray()
        write = self.transport.write

        def capture(data: bytes) -> None:
            written.extend(data)
            write(data)

        self.transport.write = capture  # type: ignore[method-assign]
        try:
            await original(self, kind, payload, prefix)
        finally:
            del self.transport.write
        recorded[payload] = bytes(written)

    session.Session._respond = respond  # type: ignore[method-assign]
    return cli.main(argv)


def driver_alone(runs: int) -> dict[str, float]:
    """Diagnostic: each query answered by a replaying emulator process (see ``replaying_emulator``)."""
    results = {}
    with emulator_process(launcher=(sys.executable, __file__, REPLAYING)) as (profile, _), \
            sql.connect(admin_token(profile), profile.endpoints["sql"], "workbookdb", profile.ca_bundle,
                        autocommit=True) as connection:
        for statement in SETUP:
            connection.execute(statement)
        for label, query, _typed in QUERIES:  # the warm-up run is recorded, the timed runs replayed
            results[label] = median_ms(lambda q=query: connection.execute(q).fetchall(), runs)
    return results


def main() -> None:
    if sys.argv[1:2] == [REPLAYING]:
        raise SystemExit(replaying_emulator(sys.argv[2:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    figures, login_ms = measure(args.runs)
    alone = driver_alone(args.runs)
    for label, _query, _typed in QUERIES:
        driver_ms, raw_ms, typed_ms, first_ms = figures[label]
        print(f"10,000-row SELECT, {label}:")
        print(f"  pyodbc + ODBC Driver 18 + emulator       : {driver_ms:7.1f} ms (median of {args.runs}); "
              f"first row after {first_ms:.1f} ms")
        for name, baseline in (("sqlite3 directly, as it comes", raw_ms),
                               ("sqlite3 directly, pyodbc's Python types", typed_ms)):
            ratio = driver_ms / baseline
            print(f"  {name:41}: {baseline:7.1f} ms -> ratio {ratio:4.2f}x (floor <= 3x: "
                  f"{'met' if ratio <= 3 else 'ABOVE'})")
        print(f"  diagnostic, driver + pyodbc alone (replayed bytes, no server): {alone[label]:5.1f} ms "
              f"= {alone[label] / raw_ms:.2f}x raw sqlite3")
    print(f"connect + login (pyodbc, TDS 8 strict): {login_ms:.1f} ms (median of {args.runs}; floor <= 50 ms: "
          f"{'met' if login_ms <= 50 else 'ABOVE'})")


if __name__ == "__main__":
    main()
