"""Fixtures for the emulator tests: loopback-only sockets, and the world reset around each test."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The project is meant to be installed editable; fall back to the checkout when it is not.
if importlib.util.find_spec("emulator") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from emu_helpers import Azure  # noqa: E402

from emulator.app import Emulator  # noqa: E402


# The loopback-only guard for every test lives in tests/conftest.py.
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
