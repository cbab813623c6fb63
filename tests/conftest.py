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

try:  # the README's test command runs the suite on every core with pytest-xdist
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # pragma: no cover - a bare environment runs the suite in one process
    LoadScopeScheduling = None

from emulator.app import Emulator
from emulator.core.settings import Settings
from emulator.profile import PROFILE_FILE, Profile

# Under pytest-xdist (the README's test command) these families start first, longest first: one that starts
# last keeps one core busy long after the other is done (longest-first scheduling).
_LONG_FIRST = ("tests/browser/", "tests/hub/", "tests/notebooks/test_notebooks.py",
               "tests/conformance/test_azure_cli.py", "tests/fuzz/", "tests/emulator/test_hardening_memory.py",
               "tests/durability/")
# Modules whose tests share nothing wider than a function and take seconds each: spread test by test. Every other
# module runs whole on one worker, so its module-wide fixtures (an emulator of its own, a hub) are set up once.
_SPREAD_TEST_BY_TEST = ("tests/notebooks/test_notebooks.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser run takes minutes of a browser's time and little of ours: it overlaps the rest of the suite.

    In one process the browser tests go last and their run starts in the background now. Under pytest-xdist the
    long families go first, the browser's before all, so one worker starts that run and waits for it while the
    other works through the suite.
    """
    paths = [item.nodeid.replace("\\", "/") for item in items]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {id(item): next((i for i, prefix in enumerate(_LONG_FIRST) if path.startswith(prefix)),
                               len(_LONG_FIRST)) for item, path in zip(items, paths, strict=True)}
        items.sort(key=lambda item: rank[id(item)])  # stable: the order within each family stays
        return
    browser = [item for item, path in zip(items, paths, strict=True) if path.startswith("tests/browser/")]
    if browser:
        items[:] = [item for item in items if item not in browser] + browser
        if not config.option.collectonly:
            browser[0].module.start_driver()  # the module object pytest imported (it holds the running process)


if LoadScopeScheduling is not None:

    class _ModulesTogether(LoadScopeScheduling):
        """Whole modules to workers in the collection's order, but the modules in _SPREAD_TEST_BY_TEST test by
        test. (xdist's own ``loadgroup`` marks cannot do it under pytest 9: they rename node ids, which pytest 9
        no longer allows.)"""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in _SPREAD_TEST_BY_TEST else module

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadscope":
            return None
        config.option.loadscopereorder = False  # keep the collection's order: the long families first
        return _ModulesTogether(config, log)


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
