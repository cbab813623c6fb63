"""Fixtures for the emulator tests: loopback-only sockets, and the world reset around each test."""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The project is meant to be installed editable; fall back to the checkout when it is not.
if importlib.util.find_spec("emulator") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from emu_helpers import Azure  # noqa: E402

from emulator.app import Emulator  # noqa: E402


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX and friends never leave the machine
        return True
    host = str(address[0]).split("%")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connect to a non-loopback address (169.254.169.254 above all) fails the test."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        assert _is_loopback(address), f"test tried to connect to non-loopback {address!r}"
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        assert _is_loopback(address), f"test tried to connect to non-loopback {address!r}"
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
def world(fresh: Emulator) -> Iterator[Azure]:
    """The declared world, freshly reset, with IMDS throttling off so bursts of test calls are not 429'd.

    Tests about throttling switch it back on through the control plane.
    """
    fresh.settings.imds_throttling = False
    assert fresh.profile is not None
    azure = Azure(fresh.profile)
    yield azure
    azure.http.close()
