"""Fixtures for the Azure SQL tests: the session emulator's SQL endpoint, reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sql_helpers import SqlTarget

from emulator.app import Emulator


@pytest.fixture
def target(fresh: Emulator) -> Iterator[SqlTarget]:
    """The SQL endpoint of the shared emulator, with the declared world (no VM user yet)."""
    assert fresh.profile is not None
    yield SqlTarget(fresh.profile, fresh)
