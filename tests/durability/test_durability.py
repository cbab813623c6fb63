"""Every acknowledged write survives ``kill -9``: the emulator runs as its own process on a data directory,
Resource Manager, Azure SQL and Blob Storage (small bodies as rows, large ones as files) take writes from
several threads at once, the process is killed in the
middle and started again on the same directory, and every write that was acknowledged is there (and every
SQLite file passes ``PRAGMA integrity_check``).

The scenario (durability_scenario.py) runs in a loopback-only network namespace: the emulator and the
clients it starts are processes outside this suite's socket guard, so they get a network with nothing but
``lo`` (tests/netns.py; where one cannot be made the test fails and says why). Bounded: 3 s of writes,
about 10-15 s in all on a 2-core machine (two emulator starts); the subprocess is stopped after 60 s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from netns import loopback_only, require_namespaces  # noqa: E402

SCENARIO = Path(__file__).with_name("durability_scenario.py")
WRITE_SECONDS = 3.0  # at least; longer when the machine is slow, until the writes below have been acknowledged
AT_LEAST_ASSIGNMENTS, AT_LEAST_ROWS = 5, 20


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    require_namespaces("the emulator and its clients run only inside a loopback-only namespace")
    data_dir = tmp_path / "data"
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "WORKBOOK_EMULATOR_HOME": str(data_dir)}
    command = loopback_only([sys.executable, str(SCENARIO), str(data_dir), str(WRITE_SECONDS),
                             str(AT_LEAST_ASSIGNMENTS), str(AT_LEAST_ROWS)])
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, env=env, cwd=ROOT)
    log = tmp_path / "emulator.log"
    details = f"{done.stderr[-3000:]}\n--- emulator log ---\n{log.read_text()[-3000:] if log.exists() else ''}"
    assert done.returncode == 0, details
    report = json.loads(done.stdout.strip().splitlines()[-1])
    acknowledged = report["acknowledged"]
    assert acknowledged["assignments"] >= AT_LEAST_ASSIGNMENTS and acknowledged["rows"] >= AT_LEAST_ROWS, report
    assert report["writers_stopped_by_the_kill"] >= 1, report  # the kill came in the middle of them
    assert acknowledged["small_blobs"] >= 1 and acknowledged["large_blobs"] >= 1, report
    assert report["missing"] == {"identities": [], "assignments": [], "rows": [], "blobs": []}, report
    assert report["integrity"] and set(report["integrity"].values()) == {"ok"}, report
