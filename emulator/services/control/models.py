"""What the control plane drives: the running emulator, seen through a small interface, and the
learner's progress book.

``emulator.app.Emulator`` fits the interface; the control plane never imports the app (the app builds the
services, so imports run one way: app → services → control → this interface).
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from emulator.core.context import EmulatorContext
from emulator.core.files import write_private
from emulator.core.settings import Settings

PROGRESS_FILE = "progress.json"
# Names only, never free text: a step or notebook name cannot carry a token, a key or a learner's answer.
NOTEBOOK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
STEP_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
MAX_NOTEBOOKS = 64
MAX_STEPS_PER_NOTEBOOK = 32
_NUMBERED = re.compile(r"(\d\d)(?:_|$)")


class ProgressFull(ValueError):
    """More notebooks or steps than a progress book keeps."""


def notebook_key(name: str) -> str:
    """The scenario a notebook name stands for: ``06_resource_manager_system_assigned`` and ``06`` are ``06``."""
    name = name.removesuffix(".ipynb")
    numbered = _NUMBERED.match(name)
    return numbered.group(1) if numbered else name


class ProgressBook:
    """Which steps of which notebook the learner got through: when first and last, how often, and (for an
    exercise) whether the last answer was right.

    Kept in ``progress.json`` in the data dir (0600, written atomically), or in memory for an in-memory
    emulator. The world's ``reset`` leaves it alone (a learner who starts a scenario again has still done
    what they did); ``azure-emulator reset --hard`` deletes the file with the rest of the state.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._notebooks: dict[str, dict[str, dict[str, Any]]] = self._load()

    def _load(self) -> dict[str, dict[str, dict[str, Any]]]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # a damaged book starts again empty rather than stopping the emulator from starting
        notebooks = data.get("notebooks") if isinstance(data, dict) else None
        if not isinstance(notebooks, dict):
            return {}
        return {name: dict(steps) for name, steps in notebooks.items()
                if NOTEBOOK_NAME.fullmatch(str(name)) and isinstance(steps, dict)}

    def _save(self) -> None:
        if self.path is not None:
            write_private(self.path, json.dumps({"notebooks": self._notebooks}, indent=1).encode("utf-8"))

    def record(self, notebook: str, step: str, correct: bool | None = None) -> dict[str, Any]:
        """Count one more success of ``step`` in ``notebook``; the entry as it is now."""
        key = notebook_key(notebook)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            steps = self._notebooks.get(key)
            if steps is None and len(self._notebooks) >= MAX_NOTEBOOKS:
                raise ProgressFull(f"The progress book keeps at most {MAX_NOTEBOOKS} notebooks.")
            steps = steps if steps is not None else {}
            entry = steps.get(step)
            if entry is None and len(steps) >= MAX_STEPS_PER_NOTEBOOK:
                raise ProgressFull(f"The progress book keeps at most {MAX_STEPS_PER_NOTEBOOK} steps per notebook.")
            entry = dict(entry) if entry else {"firstAt": now, "count": 0}
            entry.update(lastAt=now, count=int(entry.get("count", 0)) + 1)
            if correct is not None:
                entry["correct"] = correct
            steps[step] = entry
            self._notebooks[key] = steps
            self._save()
            return {"notebook": key, "step": step, **entry}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"notebooks": {name: {step: dict(entry) for step, entry in steps.items()}
                                  for name, steps in sorted(self._notebooks.items())}}

    def clear(self) -> None:
        with self._lock:
            self._notebooks = {}
            self._save()


class ControlledEmulator(Protocol):
    """The emulator as the control plane sees it."""

    settings: Settings
    context: EmulatorContext
    ports: dict[str, int]
    control_secret: str  # new at every start; only the private profile has it
    progress: ProgressBook

    @property
    def pid(self) -> int | None:
        """The serving process's id (None before the profile is written)."""

    def reset(self) -> None:
        """Back to the declared world: no grants, no user-assigned identity, no pending fault."""

    def request_shutdown(self) -> None:
        """Stop serving (safe from inside a handler)."""
