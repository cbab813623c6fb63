"""Fixtures for the Data Lake Gen2 tests: the declared world, reset around each test."""

from __future__ import annotations

import pytest
from dfs_helpers import Gen2
from emu_helpers import Azure


@pytest.fixture
def gen2(world: Azure) -> Gen2:
    return Gen2(world)
