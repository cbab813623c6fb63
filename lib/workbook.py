"""What every notebook does first: find the Azure it talks to, show it, or stop with one clear message.

    from lib.workbook import preflight
    t, summary = preflight(target)   # target: "auto", "azure" or "emulator" (the parameters cell)
    summary                          # a table: target, endpoints, CA bundle, subscription, VM

When nothing answers (no emulator running, not on an Azure VM), :func:`preflight` raises
:class:`PreflightFailed`. In Jupyter that shows as the one message below — no traceback — and
*Run All* stops there instead of failing in every later cell.

Where Azure is eventually consistent (a new role assignment, a revoked one, an identity just attached),
:func:`wait_until` tries again for a while and says why; on the emulator the first try normally settles it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from . import imds
from . import target as targets
from .display import readable_tables

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

#: How long to keep trying on Azure: role assignment changes take up to 10 minutes to take effect (Azure RBAC
#: troubleshooting, "Role assignment changes are not being detected"); a little more for the last try.
AZURE_WAIT_SECONDS = 660.0
AZURE_RETRY_SECONDS = 15.0
#: On the emulator changes count at once unless its RBAC propagation delay is switched on (at most a minute in
#: the lessons); a lesson whose expectation is wrong learns it within this.
EMULATOR_WAIT_SECONDS = 75.0
EMULATOR_RETRY_SECONDS = 1.0

HOW_TO_FIX = (
    "On a laptop, in Binder or in CI: start the emulator (`make workbook`, or `azure-emulator start` and "
    "restart this kernel). On an Azure VM: check that the VM has a managed identity (portal → the VM → "
    "Identity) and that nothing blocks http://169.254.169.254 (a proxy needs NO_PROXY=169.254.169.254)."
)


class PreflightFailed(Exception):
    """Nothing to talk to. Rendered by IPython as its message only, and it stops *Run All*."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Preflight failed: {problem}\n{HOW_TO_FIX}")

    def _render_traceback_(self) -> list[str]:  # IPython's hook: show this instead of a traceback
        return [f"\x1b[1;31m{line}\x1b[0m" if index == 0 else line
                for index, line in enumerate(str(self).splitlines())]


def preflight(target: str = "auto") -> tuple[targets.Target, pd.DataFrame]:
    """The resolved target and a one-column table describing it."""
    import pandas as pd

    try:
        resolved = targets.resolve(target)
    except (targets.TargetError, imds.ImdsError) as problem:
        raise PreflightFailed(str(problem)) from None
    readable_tables()
    return resolved, pd.Series(resolved.summary(), name="value").to_frame()


def wait_until(attempt: Callable[[], T], done: Callable[[T], bool], *, target: targets.Target, why: str,
               timeout: float | None = None, interval: float | None = None,
               on_retry: Callable[[str], object] | None = None,
               sleep: Callable[[float], object] = time.sleep, clock: Callable[[], float] = time.monotonic) -> T:
    """``attempt()`` again until ``done(result)`` or the time is up; the last result either way.

    ``why`` says what the learner is waiting for ("a new role assignment takes up to 10 minutes to reach
    Storage"); ``on_retry`` (e.g. ``print``) gets one line before each new try. Defaults: on Azure 11 minutes,
    every 15 s; on the emulator 75 s, every second.
    """
    azure = not target.is_emulator
    timeout = timeout if timeout is not None else (AZURE_WAIT_SECONDS if azure else EMULATOR_WAIT_SECONDS)
    interval = interval if interval is not None else (AZURE_RETRY_SECONDS if azure else EMULATOR_RETRY_SECONDS)
    started = clock()
    while True:
        result = attempt()
        elapsed = clock() - started
        if done(result) or elapsed + interval > timeout:
            return result
        if on_retry is not None:
            on_retry(f"not yet after {elapsed:.0f} s ({why}); trying again in {interval:.0f} s")
        sleep(interval)
