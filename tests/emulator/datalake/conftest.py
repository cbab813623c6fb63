"""Fixtures for the Data Lake Gen1 tests: the shared emulator, reset once per module.

Tests in a module share the account and work in folders of their own (``Lake.scratch``), so the
world is not re-seeded (SQL included) before each of the many matrix cases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from datalake_helpers import Lake
from emu_helpers import Azure

from emulator.app import Emulator


@pytest.fixture(scope="module")
def lake(emulator: Emulator) -> Iterator[Lake]:
    emulator.reset()
    emulator.settings.imds_throttling = False  # bursts of token requests are the tests', not a lesson
    assert emulator.profile is not None
    azure = Azure(emulator.profile)
    yield Lake(azure)
    azure.http.close()
    emulator.reset()
    emulator.settings.imds_throttling = True
