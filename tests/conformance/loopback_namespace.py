"""An emulator in a network namespace that has nothing but loopback, and programs run inside it.

The suite's socket guard (tests/conftest.py) covers only the test process. Programs a test starts (the
Azure CLI here) escape it, so they run where no packet can leave loopback: a new network namespace made
by tests/netns.py (`unshare --net`, then `ip link set lo up`) in which the emulator itself serves, as a
process of its own, and which every such program joins (`nsenter --net=/proc/<pid>/ns/net`). If the
namespace cannot be made (not root), the tests fail and say why: they never run a program outside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from netns import NoNamespace, check_namespaces, loopback_only  # noqa: E402

AZ_SCRIPT = ROOT / "scripts" / "az-cli.sh"
START_TIMEOUT_SECONDS = 30


def azure_cli() -> str:
    """The real `az`, from its own cached environment (scripts/az-cli.sh installs it once; scripts/test.sh
    runs it first and passes the path as $MI_WORKBOOK_TEST_AZ)."""
    prepared = os.environ.get("MI_WORKBOOK_TEST_AZ")
    if prepared:
        return prepared
    result = subprocess.run(["bash", str(AZ_SCRIPT)], capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        pytest.fail(f"scripts/az-cli.sh could not install the Azure CLI:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1]


def _fail_without(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"`{tool}` is not installed ({package}; scripts/setup-test-tools.sh installs it): the Azure "
                    "CLI tests run az only inside a loopback-only network namespace.")


class LoopbackNamespace:
    """``with LoopbackNamespace(data_dir) as ns:`` an emulator serving in a loopback-only namespace."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}-serve.log"

    # -- start and stop ----------------------------------------------------------------------------
    def __enter__(self) -> LoopbackNamespace:
        _fail_without("nsenter", "util-linux")
        try:
            check_namespaces()
            serve = loopback_only([sys.executable, "-m", "emulator", "serve", "--in-memory", "--no-throttling",
                                   "--data-dir", str(self.data_dir)])
        except NoNamespace as exc:
            pytest.fail(f"{exc}. The Azure CLI tests never run az outside a loopback-only namespace; run them "
                        "as root (CI does).")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(serve, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (self.data_dir / "profile.json").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                said = self.log.read_text(errors="replace")[-2000:]
                self.__exit__()
                pytest.fail(f"The emulator did not start in its namespace:\n{said}")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: Any) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.run(sys.executable, "-m", "emulator", "stop", "--data-dir", str(self.data_dir), timeout=15)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    # -- inside the namespace ----------------------------------------------------------------------
    @property
    def launcher(self) -> list[str]:
        """What a command is prefixed with to run inside the namespace."""
        assert self.process is not None, "the namespace is not running"
        return ["nsenter", f"--net=/proc/{self.process.pid}/ns/net", "--"]

    def run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.launcher, *command], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)

    @property
    def profile(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "profile.json").read_text(encoding="utf-8"))

    def reset(self) -> None:
        """Back to the declared world (the emulator's own CLI, through its control plane, inside)."""
        done = self.run(sys.executable, "-m", "emulator", "reset", "--data-dir", str(self.data_dir))
        assert done.returncode == 0, done.stdout + done.stderr

    def outside_has_no_route(self) -> bool:
        """True when the namespace has no interface but loopback (what makes it safe)."""
        links = self.run("ip", "-o", "link", "show").stdout.splitlines()
        return len(links) == 1 and ": lo:" in links[0]
