"""Fixtures for the fuzz family: the session's emulator, reset around each test, with the helpers of the
emulator tests (tokens, the control plane) at hand."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))  # emu_helpers

from emu_helpers import Azure  # noqa: E402

from emulator.app import Emulator  # noqa: E402


@pytest.fixture
def world(fresh: Emulator) -> Iterator[Azure]:
    """The declared world with IMDS throttling off, so a burst of fuzz requests is not simply 429'd."""
    fresh.settings.imds_throttling = False
    assert fresh.profile is not None
    azure = Azure(fresh.profile)
    yield azure
    azure.http.close()
    fresh.context.faults.clear()
