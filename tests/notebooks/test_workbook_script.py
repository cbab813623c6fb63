"""scripts/workbook.sh, behind the README's `make workbook` and `make workbook-headless`: when the emulator cannot
start, it says why and runs no notebook (it used to run all nine into "the emulator is not running")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from netns import loopback_only, require_namespaces  # noqa: E402

ARM_PORT = 29402  # a default port: only inside the test's own network namespace


def test_a_start_that_fails_stops_the_run_with_the_reason(tmp_path: Path) -> None:
    require_namespaces("workbook.sh starts the emulator on its default ports: it runs only in a namespace")
    ready = tmp_path / "port-taken"
    holder = (f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {ARM_PORT})); s.listen(); "
              f"open({str(ready)!r}, 'w').close(); time.sleep(300)")
    script = (f'"{sys.executable}" -c "{holder}" & holder=$!; '
              f'while [ ! -e "{ready}" ]; do sleep 0.05; done; '
              'bash scripts/workbook.sh --headless; code=$?; kill $holder; exit $code')
    done = subprocess.run(loopback_only(["sh", "-c", script]), cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                               "VENV": sys.prefix, "WORKBOOK_EMULATOR_HOME": str(tmp_path / "emulator")})
    assert done.returncode != 0
    assert "Set-up: up to date" in done.stdout, done.stderr  # the set-up found everything (no apt-get here)
    assert f"Port {ARM_PORT} (arm) is in use" in done.stderr, done.stderr
    assert "no notebook was run" in done.stderr
    assert "Running 00_welcome" not in done.stdout, done.stdout
