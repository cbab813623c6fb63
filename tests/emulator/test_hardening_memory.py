"""The emulator's memory stays bounded through issue 11's memory cases (huge bodies, trickling sockets,
distinct resources, huge tags), measured on the emulator running as its own process.

The cases are bench/bench_memory.py's (which runs 100,000 distinct resources and prints the figures);
here with 2,000 resources, which already overflow IMDS's token cache (512 entries) four times. Peak
resident set size is read from /proc (Linux; the workbook's CI and Binder run there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_memory import run_cases  # noqa: E402
from common import spawn, stop  # noqa: E402

LIMIT_MIB = 200
RESOURCES = 2000


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc (Linux only)")
def test_the_emulator_stays_under_200_mib_through_the_memory_cases(tmp_path: Path) -> None:
    process, _ = spawn(tmp_path, "--no-throttling")
    lines: list[str] = []
    try:
        profile = json.loads((tmp_path / "profile.json").read_text())
        peaks = run_cases(process.pid, profile, RESOURCES, report=lines.append)
    finally:
        stop(process)
    print("\n".join(lines))
    report = "\n".join(lines)
    assert "(413, " in report and "{401: 120}" in report, report  # big bodies refused, not buffered
    assert "'refused_503': " in report and f"{{200: {RESOURCES}}}" in report, report
    assert "'tokens_200': 200" in report and "'huge_bodies': [400, 400, 400, 400]" in report, report
    assert max(peaks.values()) < LIMIT_MIB, report
