"""Notebook kernels on Unix sockets for the test runs (papermill and the nbval subprocess), not TCP ports.

jupyter_client picks a kernel's five TCP ports by binding port 0 and closing it; on a loaded machine another
process (an emulator on port 0, another test's kernel) can take one before the kernel binds it, and the kernel
dies before its first reply ("Kernel died before replying to kernel_info", seen once in a full run). Sockets in
a private folder cannot collide. Windows has no ipc transport: there the defaults stay.

Used two ways: ``papermill_config(folder)`` gives papermill's engine its config; as a pytest plugin
(``-p ipc_kernels`` with this folder on PYTHONPATH) it makes nbval's kernels use ipc too.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from run_notebooks import kernel_config  # noqa: E402


def papermill_config(socket_dir: Path) -> dict[str, Any]:
    """Keyword arguments for papermill.execute_notebook: the headless runner's own kernel config
    (scripts/run_notebooks.py), kernels on sockets in ``socket_dir``."""
    return kernel_config(str(socket_dir))


_SOCKETS: list[Path] = []  # the plugin's private folder, made at configure and removed at unconfigure


class IpcKernelManager(KernelManager):
    """nbval makes its KernelManager with no config: this one defaults to ipc, a folder per kernel."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(Path(tempfile.mkdtemp(dir=_SOCKETS[0])) / "kernel"))
        super().__init__(**kwargs)


def pytest_configure(config: Any) -> None:
    """As a plugin in the nbval subprocess: swap the class nbval starts its kernels with."""
    if os.name == "nt":
        return
    import nbval.kernel

    _SOCKETS.append(Path(tempfile.mkdtemp(prefix="nbval-kernels-")))
    nbval.kernel.KernelManager = IpcKernelManager


def pytest_unconfigure(config: Any) -> None:
    for folder in _SOCKETS:
        shutil.rmtree(folder, ignore_errors=True)
