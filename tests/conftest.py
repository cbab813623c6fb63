"""Shared fixtures: an in-thread emulator on ephemeral loopback ports, and helpers to call it."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.app import Emulator
from emulator.core.settings import Settings
from emulator.profile import PROFILE_FILE, Profile


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests go last: their run starts in the background now and overlaps the others."""
    browser = [item for item in items if "tests/browser/" in item.nodeid.replace("\\", "/")]
    if not browser:
        return
    items[:] = [item for item in items if item not in browser] + browser
    browser[0].module.start_driver()  # the module object pytest imported (it holds the running process)


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


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the session (state in memory); tests that change state call ``reset``."""
    data_dir = tmp_path_factory.mktemp("emulator")
    instance = Emulator(Settings.for_tests(data_dir)).start_in_thread()
    yield instance
    instance.stop()


@pytest.fixture
def fresh(emulator: Emulator) -> Iterator[Emulator]:
    """The shared emulator, reset to the declared world before and after the test."""
    emulator.reset()
    emulator.settings.imds_throttling = True
    emulator.settings.rbac_propagation_seconds = 0.0
    yield emulator
    emulator.reset()
    emulator.settings.imds_throttling = True
    emulator.settings.rbac_propagation_seconds = 0.0


@pytest.fixture
def profile(emulator: Emulator) -> Profile:
    assert emulator.profile is not None
    return emulator.profile


@pytest.fixture
def emulator_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment variables a notebook kernel or azure-identity needs to find this emulator."""
    assert emulator.profile is not None
    variables = emulator.profile.env(Path(emulator.settings.data_dir) / PROFILE_FILE)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


def admin_token(profile: Profile, resource: str = "https://management.azure.com/") -> str:
    response = requests.post(
        f"{profile.endpoints['login']}/{profile.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": profile.admin["clientId"],
              "client_secret": profile.admin["clientSecret"], "scope": resource.rstrip("/") + "/.default"},
        verify=profile.ca_bundle, timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def imds_token(profile: Profile, resource: str = "https://management.azure.com/", **selectors: str) -> str:
    response = requests.get(
        f"{profile.endpoints['imds']}/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": resource, **selectors},
        headers={"Metadata": "true"}, timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


assert "169.254.169.254" not in os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST", ""), \
    "tests must never point at the real IMDS"
