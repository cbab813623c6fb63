"""Run another program with no way off the machine: a loopback-only network namespace.

The suite's socket guard (tests/conftest.py) covers this process only. Programs a test starts —
a browser, JupyterLab, the Azure CLI, a hub — get their own network namespace in which ``lo`` is the
only interface, so a misconfiguration fails (ENETUNREACH) instead of dialling out to
169.254.169.254 or the internet. Needs ``unshare`` (util-linux) and ``ip`` (iproute2) and the right
to create a namespace (root, as in CI).
"""

from __future__ import annotations

import shutil
import subprocess


class NoNamespace(RuntimeError):
    """A loopback-only network namespace cannot be made here: the test must not run the program."""


def loopback_only(command: list[str]) -> list[str]:
    """``command`` wrapped so that it runs in a new network namespace with only ``lo`` up."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise NoNamespace("`unshare` (util-linux) and `ip` (iproute2) are needed to isolate the program")
    return ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]


def check_namespaces() -> None:
    """Raise NoNamespace with the reason when namespaces cannot be created (e.g. not root)."""
    probe = subprocess.run(loopback_only(["true"]), capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        raise NoNamespace(f"cannot create a loopback-only network namespace: {probe.stderr.strip()}")


def require_namespaces(why: str) -> None:
    """In a test: fail (never skip) with the reason when a loopback-only namespace cannot be made."""
    import pytest

    try:
        check_namespaces()
    except NoNamespace as exc:
        pytest.fail(f"{exc}: {why}")
