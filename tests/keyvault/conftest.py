"""Fixtures for the Key Vault tests: the shared emulator reset around each test, and a vault helper."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("emulator") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
# The emulator tests' helpers (world ids, ARM calls, the token forge) are reused here, not copied.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))

from kv_helpers import Vault  # noqa: E402

from emulator.app import Emulator  # noqa: E402


@pytest.fixture
def vault(fresh: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Vault]:
    """The declared world, freshly reset; IMDS throttling off; azure-identity pointed at the emulated IMDS."""
    fresh.settings.imds_throttling = False
    assert fresh.profile is not None
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT",
                 "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", fresh.profile.endpoints["imds"])
    helper = Vault(fresh.profile)
    yield helper
    helper.http.close()
