"""Every acknowledged write survives ``kill -9``: the emulator runs as its own process on a data directory,
Resource Manager and Azure SQL take writes from several threads at once, the process is killed in the
middle and started again on the same directory, and every write that was acknowledged is there (and every
SQLite file passes ``PRAGMA integrity_check``).

The scenario (durability_scenario.py) runs in a loopback-only network namespace: the emulator and the
clients it starts are processes outside this suite's socket guard, so they get a network with nothing but
``lo`` (``unshare -n``, or ``unshare -rn`` as a user). Bounded: 3 s of writes, about 10-15 s in all on a
2-core machine (two emulator starts); the subprocess is stopped after 60 s whatever happens."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).with_name("durability_scenario.py")
WRITE_SECONDS = 3.0


def _namespace_prefix() -> list[str]:
    """A command prefix that runs a program with a network of loopback only, or a skip saying why not."""
    unshare = shutil.which("unshare")
    if unshare is None or not shutil.which("ip") or sys.platform != "linux":
        pytest.skip("needs Linux with unshare and ip for a loopback-only network namespace")
    prefix = [unshare, "-n"] if os.geteuid() == 0 else [unshare, "-rn"]
    probe = subprocess.run([*prefix, "sh", "-c", "ip link set lo up"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.decode(errors='replace').strip()}")
    return prefix


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    prefix = _namespace_prefix()
    data_dir = tmp_path / "data"
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "WORKBOOK_EMULATOR_HOME": str(data_dir)}
    script = 'ip link set lo up && exec "$0" "$@"'
    done = subprocess.run([*prefix, "sh", "-c", script, sys.executable, str(SCENARIO), str(data_dir),
                           str(WRITE_SECONDS)], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    log = tmp_path / "emulator.log"
    details = f"{done.stderr[-3000:]}\n--- emulator log ---\n{log.read_text()[-3000:] if log.exists() else ''}"
    assert done.returncode == 0, details
    report = json.loads(done.stdout.strip().splitlines()[-1])
    acknowledged = report["acknowledged"]
    assert acknowledged["assignments"] >= 5 and acknowledged["rows"] >= 20, report  # the writes really ran
    assert report["writers_stopped_by_the_kill"] >= 1, report  # the kill came in the middle of them
    assert report["missing"] == {"identities": [], "assignments": [], "rows": []}, report
    assert report["integrity"] and set(report["integrity"].values()) == {"ok"}, report
