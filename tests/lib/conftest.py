"""Guards for the lib tests: loopback only, no endpoint variables from the developer's shell."""

from __future__ import annotations

import importlib.util
import ipaddress
import sys
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection

# lib is installed editable by the project's set-up; fall back to the checkout when it is not.
if importlib.util.find_spec("lib") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a DNS name: not loopback as far as tests are concerned
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test whose HTTP client tries to connect anywhere but loopback (169.254.169.254 above all)."""
    real = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        host = address[0]
        if not _is_loopback(host):
            raise AssertionError(f"test tried to connect to non-loopback {host}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)


@pytest.fixture(autouse=True)
def _no_ambient_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their endpoint explicitly; nothing from the developer's shell leaks in."""
    for name in ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
