"""Memory of the emulator process through the SQL endpoint's hostile cases, loopback only. Prints figures;
asserts nothing (the caps themselves are tested in tests/sql/test_sql_limits.py).

The emulator runs in its own process. Its resident set size (RSS, sampled every 20 ms) is reported at rest
after a login, and at its peak through each case:

1. 200 sockets that each send 60 KiB of one PRELOGIN message and hold it (the emulator keeps 128 sockets;
   before the caps it kept every socket and up to 64 MiB each);
2. 200 sockets that each send 1 MiB of one never-ending PRELOGIN message (refused at 64 KiB);
3. 4 logged-in clients (pyodbc + ODBC Driver 18) at once, each sending a 17 MiB request (over the
   16 MiB cap: dropped as read, answered with an error), then each a 14 MiB one (under it: run).

Run: python bench/sql_memory.py   (Linux: reads /proc/<pid>/status)
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyodbc
from common import admin_token, running_emulator

from lib import sql

PRELOGIN = 0x12


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Peak:
    """The highest RSS of a process while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.value = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.value = max(self.value, rss_mib(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.value = max(self.value, rss_mib(self.pid))


def packet(payload: bytes, last: bool) -> bytes:
    return struct.pack(">BBHHBB", PRELOGIN, 1 if last else 0, len(payload) + 8, 0, 1, 0) + payload


def hold_sockets(port: int, count: int, size: int) -> list[socket.socket]:
    """``count`` sockets, each sending ``size`` bytes of one PRELOGIN message that never ends."""
    held = []
    chunk = packet(b"\x00" * 4088, last=False)
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.settimeout(5)
        sent = 0
        try:
            while sent < size:
                connection.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # refused and closed by the emulator
        held.append(connection)
    return held


def main() -> None:
    with running_emulator() as (process, profile):
        port = int(profile.endpoints["sql"].split(",")[1])
        token = admin_token(profile, "https://database.windows.net/", timeout=10)

        def connect() -> pyodbc.Connection:
            return sql.connect(token, profile.endpoints["sql"], "workbookdb", ca_file=profile.ca_bundle,
                               autocommit=True)

        with connect() as first:
            first.execute("SELECT COUNT(*) FROM Products").fetchone()
        print(f"at rest after a login: {rss_mib(process.pid):.0f} MiB")

        def case(label: str, action: Callable[[], object]) -> None:
            with Peak(process.pid) as peak:
                action()
            print(f"{label}: peak {peak.value:.0f} MiB, after {rss_mib(process.pid):.0f} MiB")

        def held(count: int, size: int) -> None:
            sockets = hold_sockets(port, count, size)
            time.sleep(0.5)
            for connection in sockets:
                connection.close()

        case("200 sockets x 60 KiB of PRELOGIN, held", lambda: held(200, 60 * 1024))
        case("200 sockets x 1 MiB of PRELOGIN", lambda: held(200, 1024 * 1024))

        def requests_of(size: int) -> list[str]:
            def one(_: int) -> str:
                with connect() as connection:
                    try:
                        connection.execute("SELECT 1 WHERE ? IS NOT NULL", "x" * (size // 2)).fetchall()
                        return "answered"
                    except pyodbc.Error as exc:
                        return "refused" if "40517" in str(exc) else f"error {exc}"

            with ThreadPoolExecutor(4) as pool:
                return list(pool.map(one, range(4)))

        case("4 clients x 17 MiB request (over the cap)", lambda: print("   ", requests_of(17 * 1024 * 1024)))
        case("4 clients x 14 MiB request (under the cap)", lambda: print("   ", requests_of(14 * 1024 * 1024)))


if __name__ == "__main__":
    main()
