"""The SQL listener's sockets: clients are given ``localhost``, which may resolve to [::1] first, so the
endpoint listens on 127.0.0.1 and [::1] at one port, and a port taken on [::1] is a clear error at start
(before, the emulator skipped [::1] silently and a client could reach whatever held that port)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import raw_tds
from sql_helpers import SqlTarget

from emulator.app import Emulator
from emulator.core.files import StartError
from emulator.core.settings import Settings


def test_the_endpoint_answers_on_both_loopbacks_at_one_port(target: SqlTarget) -> None:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect((host, target.port))
            connection.sendall(raw_tds.packets(raw_tds.PRELOGIN, raw_tds.prelogin_payload()))
            assert connection.recv(8)[:1] == b"\x04", host


def test_a_port_taken_on_ipv6_loopback_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as blocker:
        blocker.bind(("::1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        settings = Settings.for_tests(tmp_path)
        settings.ports["sql"] = port
        emulator = Emulator(settings)
        try:
            with pytest.raises(StartError, match=rf"SQL port {port} is taken on \[::1\] \(IPv6 loopback\)"):
                emulator.start_in_thread()
        finally:
            emulator.stop()
