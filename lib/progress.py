"""Which steps of the workbook a learner got through, for the trainer's table of who finished what.

    from lib import progress
    progress.record("06", progress.DENIED, target=t)     # after the 403 the lesson shows
    progress.record("06", progress.EXERCISE, correct=prediction == attempt.status_code, target=t)

Each record goes to the learner's own emulator (its control plane, with the secret from the private
profile), which keeps it across restarts and across the world's ``reset``; ``azure-emulator progress``
prints it, and on JupyterHub the trainer's service reads it through the learner's server.
A record is only a notebook name, a step name, when, how often, and whether an exercise's answer was
right: never a token, a key or the learner's code. On target ``azure``, or when no emulator answers,
:func:`record` does nothing and returns False: a lesson never fails because progress was not kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .emulator import EmulatorControl, EmulatorControlError
from .target import Target, read_profile

# The steps every scenario shares (DESIGN §3); a notebook may record others, named the same way.
DENIED = "denied"        # the call before the grant was refused, as the lesson shows
GRANTED = "granted"      # the admin's grant was made
ALLOWED = "allowed"      # the same call succeeded after the grant
EXERCISE = "exercise"    # the exercise was answered (``correct`` says how)
FINISHED = "finished"    # the notebook ran to its clean-up and recap
STEP_ORDER = (DENIED, GRANTED, ALLOWED, EXERCISE, FINISHED)
STEP_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
NOTEBOOK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
RECORD_TIMEOUT_SECONDS = 2.0


class ProgressError(ValueError):
    """A notebook or step name the progress book does not take (a bug in the notebook, not the learner's)."""


def _control(target: Target | None) -> EmulatorControl | None:
    if target is not None:
        if not target.is_emulator:
            return None
        profile: Mapping[str, Any] | None = target.profile
    else:
        if os.environ.get("WORKBOOK_TARGET") == "azure":
            return None
        profile = read_profile()
    if not profile or not profile.get("control"):
        return None
    return EmulatorControl.from_profile(profile, timeout=RECORD_TIMEOUT_SECONDS)


def _check(notebook: str, step: str) -> None:
    if not NOTEBOOK_NAME.fullmatch(notebook.removesuffix(".ipynb")):
        raise ProgressError(f"not a notebook name: {notebook!r}")
    if not STEP_NAME.fullmatch(step):
        raise ProgressError(f"not a step name: {step!r} (lower-case letters, digits and '-', at most 32)")


def record(notebook: str, step: str, *, correct: bool | None = None, target: Target | None = None) -> bool:
    """Note that ``step`` of ``notebook`` succeeded; True when the learner's emulator kept it.

    ``target``: the notebook's resolved target (nothing is recorded on ``azure``); without it, the emulator
    named by ``WORKBOOK_PROFILE`` (or the default data dir), unless ``WORKBOOK_TARGET`` is ``azure``.
    """
    _check(notebook, step)
    control = _control(target)
    if control is None:
        return False
    try:
        control.record_progress(notebook, step, correct)
    except EmulatorControlError:
        return False
    return True


def read(target: Target | None = None) -> dict[str, Any] | None:
    """The learner's progress book (``{"notebooks": {…}}``), or None when no emulator answers."""
    control = _control(target)
    if control is None:
        return None
    try:
        return control.progress()
    except EmulatorControlError:
        return None


def ordered_steps(steps: Iterable[str]) -> list[str]:
    """The shared steps in lesson order, then a notebook's own steps by name."""
    names = set(steps)
    return [s for s in STEP_ORDER if s in names] + sorted(names - set(STEP_ORDER))


def summarize(steps: Mapping[str, Mapping[str, Any]]) -> str:
    """One notebook's steps as a table cell: ``denied granted allowed exercise✓ finished``."""
    words = []
    for step in ordered_steps(steps):
        correct = steps[step].get("correct")
        words.append(step + ("" if correct is None else "✓" if correct else "✗"))
    return " ".join(words)


def is_finished(steps: Mapping[str, Any]) -> bool:
    return FINISHED in steps


def table_rows(book: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(notebook, summary) rows of one learner's book, notebooks in order."""
    notebooks = book.get("notebooks", {}) if book else {}
    return [(name, summarize(notebooks[name])) for name in sorted(notebooks)]
