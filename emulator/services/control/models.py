"""What the control plane drives: the running emulator, seen through a small interface.

``emulator.app.Emulator`` fits it; the control plane never imports the app (the app builds the
services, so imports run one way: app → services → control → this interface).
"""

from __future__ import annotations

from typing import Protocol

from emulator.core.context import EmulatorContext
from emulator.core.settings import Settings


class ControlledEmulator(Protocol):
    """The emulator as the control plane sees it."""

    settings: Settings
    context: EmulatorContext
    ports: dict[str, int]
    control_secret: str  # new at every start; only the private profile has it

    @property
    def pid(self) -> int | None:
        """The serving process's id (None before the profile is written)."""

    def reset(self) -> None:
        """Back to the declared world: no grants, no user-assigned identity, no pending fault."""

    def request_shutdown(self) -> None:
        """Stop serving (safe from inside a handler)."""
