"""What every notebook does first: find the Azure it talks to, show it, or stop with one clear message.

    from lib.workbook import preflight
    t, summary = preflight(target)   # target: "auto", "azure" or "emulator" (the parameters cell)
    summary                          # a table: target, endpoints, CA bundle, subscription, VM

When nothing answers (no emulator running, not on an Azure VM), :func:`preflight` raises
:class:`PreflightFailed`. In Jupyter that shows as the one message below — no traceback — and
*Run All* stops there instead of failing in every later cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import imds
from . import target as targets

if TYPE_CHECKING:
    import pandas as pd

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
    return resolved, pd.Series(resolved.summary(), name="value").to_frame()
