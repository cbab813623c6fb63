"""Fixtures for the conformance tests: official Azure clients against the in-thread emulator.

Loopback only: any socket connect elsewhere (169.254.169.254 above all) fails the test. The
endpoint variables that would switch azure-identity to other code paths are removed.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

if importlib.util.find_spec("emulator") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from conformance_helpers import World  # noqa: E402

from emulator.app import Emulator  # noqa: E402


# The loopback-only guard for every test lives in tests/conftest.py.
@pytest.fixture(autouse=True)
def _no_other_managed_identity_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """IDENTITY_ENDPOINT / MSI_ENDPOINT / IMDS_ENDPOINT switch azure-identity away from IMDS: never set."""
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT",
                 "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def world(fresh: Emulator, emulator_env: dict[str, str]) -> Iterator[World]:
    """Freshly reset world, AZURE_POD_IDENTITY_AUTHORITY_HOST pointing at the emulated IMDS, no throttling."""
    assert fresh.profile is not None
    assert emulator_env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == fresh.profile.endpoints["imds"]
    assert emulator_env["AZURE_POD_IDENTITY_AUTHORITY_HOST"].startswith("http://127.0.0.1:")
    fresh.settings.imds_throttling = False
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE must not override the emulator's CA
    http.verify = fresh.profile.ca_bundle
    yield World(fresh.profile, http)
    http.close()
