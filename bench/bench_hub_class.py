"""How big a class one machine holds: a real JupyterHub (the trainer's recipe), learners spawned until a
scenario takes over twice its single-learner time; and each learner's memory.

    .venv/bin/python bench/bench_hub_class.py [--max-learners 16] [--repeat 3] [--out output/bench-hub.json]

Runs as root (learners are system users that exist only in the bench's own namespaces) inside one
loopback-only network namespace with its own mount and pid namespaces, exactly like tests/hub (whose harness
it uses): nothing leaves loopback, nothing on the host changes, every process ends with it. Needs the
configurable-http-proxy that scripts/setup-test-tools.sh installs.

Printed:
1. one learner: the emulator's resident memory (RSS and PSS, from /proc) idle after the server started; then
   the whole workbook (every scenario notebook, each in a new kernel on the learner's server, as a learner
   would run them) and the emulator's peak (VmHWM) and RSS afterwards; the server's and a kernel's memory;
2. the scenario (notebook 06, Resource Manager: deny → grant → allow) alone: median of --repeat runs;
3. N learners running it at the same moment, N = 2, 3, 4, 6, 8, 12, 16 … until the slowest run takes over 2× the
   single-learner median: slowest and median per N (everyone pressing Run All in the same second: the worst
   case, bound by the CPUs);
4. a class at work: N learners each running the scenario again and again, a random pause of up to --pace
   seconds before each run (a learner reads and types between runs), for --window seconds; N = 4, 8, 12 … until
   the 95th percentile of the scenario's time is over 2× the single-learner median;
and the machine's load average before and after (the machine may be shared: the figures say what else ran).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "hub"))
import hub_harness as harness  # noqa: E402
from netns import loopback_only  # noqa: E402

SCENARIO = "06_resource_manager_system_assigned.ipynb"
STEPS = (2, 3, 4, 6, 8, 12, 16, 24, 32)
PACED_STEPS = (4, 8, 12, 16, 24, 32, 48, 64)


def memory_kib(pid: int) -> dict[str, int]:
    """RSS now, RSS at its peak (VmHWM), and PSS (shared pages divided among their users) in KiB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    pss = next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    return {"rss": int(status["VmRSS"].split()[0]), "peak": int(status["VmHWM"].split()[0]), "pss": pss}


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def emulator_pid(learner: str) -> int:
    profile = Path("/home") / learner / ".mi-workbook" / "emulator" / "profile.json"
    return int(json.loads(profile.read_text())["pid"])


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def one_learner(hub: harness.Hub, learner: str, repeat: int) -> dict[str, Any]:
    hub.spawn([learner])
    time.sleep(2)  # let the server settle
    emulator = emulator_pid(learner)
    server = int((Path(f"/proc/{emulator}/stat").read_text().rsplit(")", 1)[1]).split()[1])
    figures: dict[str, Any] = {"emulator_idle": memory_kib(emulator), "server_idle": memory_kib(server)}
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    kernel_peak = 0
    runs = {}
    for name in notebooks:
        kernel = harness.KernelRun(hub, learner).start()
        started = time.monotonic()
        try:
            results = kernel.run(harness.notebook_cells(name), timeout=300)
        finally:
            for pid in children(server):
                if pid != emulator:
                    kernel_peak = max(kernel_peak, memory_kib(pid)["peak"])
            kernel.shutdown()
        runs[name] = {"seconds": round(time.monotonic() - started, 2),
                      "ok": all(r["status"] == "ok" for r in results)}
    figures["workbook"] = runs
    figures["emulator_after_workbook"] = memory_kib(emulator)
    figures["server_after_workbook"] = memory_kib(server)
    figures["kernel_peak_kib"] = kernel_peak
    times = [harness.run_notebook(hub, learner, SCENARIO, timeout=300)["seconds"] for _ in range(repeat)]
    figures["scenario_alone_seconds"] = times
    return figures


def at_once(hub: harness.Hub, learners: list[str]) -> list[float]:
    with ThreadPoolExecutor(len(learners)) as pool:
        runs = list(pool.map(lambda name: harness.run_notebook(hub, name, SCENARIO, timeout=600), learners))
    failed = [run["failed"] for run in runs if not run["ok"]]
    if failed:
        raise RuntimeError(f"a scenario failed with {len(learners)} learners: {failed[0]}")
    return [run["seconds"] for run in runs]


def paced(hub: harness.Hub, learners: list[str], pace: float, window: float) -> list[float]:
    """Each learner: pause (0..pace s), run the scenario, again, until the window closes."""
    closes = time.monotonic() + window
    times: list[float] = []
    failures: list[Any] = []

    def learner(name: str) -> None:
        rng = random.Random(name)
        while True:
            time.sleep(rng.uniform(0, pace))
            if time.monotonic() > closes:
                return
            run = harness.run_notebook(hub, name, SCENARIO, timeout=600)
            (times if run["ok"] else failures).append(run["seconds"] if run["ok"] else run["failed"])

    threads = [threading.Thread(target=learner, args=(name,)) for name in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"a scenario failed with {len(learners)} learners at work: {failures[0]}")
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def inside(args: argparse.Namespace) -> dict[str, Any]:
    names = [f"wblearner{i}" for i in range(1, args.max_learners + 1)]
    staging = Path(args.staging)
    harness.prepare_namespace(staging, names)
    state = staging / "hub"
    state.mkdir()
    report: dict[str, Any] = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
    with harness.Hub(state, names, {name: name for name in names}) as hub:
        hub.create_users(names)
        report["one"] = one_learner(hub, names[0], args.repeat)
        alone = statistics.median(report["one"]["scenario_alone_seconds"])
        report["steps"] = []
        running = 1
        for count in [n for n in STEPS if n <= args.max_learners]:
            started = time.monotonic()
            hub.spawn(names[running:count])
            spawn_seconds = round(time.monotonic() - started, 1)
            running = count
            times = at_once(hub, names[:count])
            idle = sum(memory_kib(emulator_pid(name))["rss"] for name in names[:count])
            step = {"learners": count, "slowest": max(times), "median": statistics.median(times),
                    "spawn_seconds": spawn_seconds, "emulators_rss_kib": idle, "load": os.getloadavg()}
            report["steps"].append(step)
            print(json.dumps(step), flush=True)
            if max(times) > 2 * alone:
                break
        report["paced"] = []
        for count in [n for n in PACED_STEPS if n <= args.max_learners]:
            if count > running:
                hub.spawn(names[running:count])
                running = count
            times = paced(hub, names[:count], args.pace, args.window)
            step = {"learners": count, "runs": len(times), "median": statistics.median(times),
                    "p95": percentile(times, 0.95), "slowest": max(times), "load": os.getloadavg(),
                    "emulators_rss_kib": sum(memory_kib(emulator_pid(name))["rss"] for name in names[:count])}
            report["paced"].append(step)
            print(json.dumps(step), flush=True)
            if step["p95"] > 2 * alone:
                break
    report["pace"], report["window"] = args.pace, args.window
    report["load_after"] = os.getloadavg()
    return report


def show(report: dict[str, Any]) -> None:
    one = report["one"]
    alone = statistics.median(one["scenario_alone_seconds"])
    print(f"machine: {report['cpus']} CPUs; load average before {report['load_before'][0]:.2f}, "
          f"after {report['load_after'][0]:.2f} (1 min)")
    print("\none learner")
    print(f"  emulator idle:            RSS {mib(one['emulator_idle']['rss'])}, PSS {mib(one['emulator_idle']['pss'])}")
    print(f"  emulator after workbook:  RSS {mib(one['emulator_after_workbook']['rss'])}, "
          f"peak {mib(one['emulator_after_workbook']['peak'])}, PSS {mib(one['emulator_after_workbook']['pss'])}")
    print(f"  single-user server idle:  RSS {mib(one['server_idle']['rss'])}, PSS {mib(one['server_idle']['pss'])}; "
          f"after the workbook RSS {mib(one['server_after_workbook']['rss'])}")
    print(f"  a notebook's kernel peak: RSS {mib(one['kernel_peak_kib'])}")
    for name, run in one["workbook"].items():
        print(f"    {name:45} {run['seconds']:6.2f} s  {'ok' if run['ok'] else 'FAILED'}")
    print(f"  scenario {SCENARIO} alone: median {alone:.2f} s of {one['scenario_alone_seconds']}")
    print("\nlearners running the scenario at the same moment")
    print("  learners  slowest   median   (spawn of the new ones)  emulators' RSS")
    held = 1
    for step in report["steps"]:
        within = step["slowest"] <= 2 * alone
        held = step["learners"] if within else held
        print(f"  {step['learners']:8}  {step['slowest']:6.2f} s  {step['median']:6.2f} s  "
              f"({step['spawn_seconds']:5.1f} s)              {mib(step['emulators_rss_kib'])}"
              f"{'' if within else '   > 2x alone'}")
    print(f"\na class at work: each learner runs the scenario after a pause of 0-{report['pace']:.0f} s, again "
          f"and again, for {report['window']:.0f} s")
    print("  learners  runs   median     p95   slowest   emulators' RSS")
    held_paced = 0
    for step in report.get("paced", []):
        within = step["p95"] <= 2 * alone
        held_paced = step["learners"] if within else held_paced
        print(f"  {step['learners']:8}  {step['runs']:4}  {step['median']:6.2f} s  {step['p95']:6.2f} s  "
              f"{step['slowest']:6.2f} s   {mib(step['emulators_rss_kib'])}{'' if within else '   p95 > 2x alone'}")
    print(f"holds {held_paced} learners at work within 2x the single-learner time (95th percentile)")
    per_learner = (one["emulator_after_workbook"]["pss"] + one["server_after_workbook"]["pss"]
                   + one["kernel_peak_kib"])
    print(f"\nholds {held} learners running the scenario at once within 2x its single-learner time")
    print(f"memory per active learner (emulator + server PSS after the workbook + one kernel's peak RSS): "
          f"{mib(per_learner)} -> 24 GiB holds about {int(24 * 1024 * 1024 * 0.9 / per_learner)} such learners "
          "(90% of it)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-learners", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pace", type=float, default=60.0, help="longest pause between a learner's runs (s)")
    parser.add_argument("--window", type=float, default=90.0, help="how long each class-at-work step runs (s)")
    parser.add_argument("--out", default=str(ROOT / "output" / "bench-hub.json"))
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--staging", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        Path(args.out).write_text(json.dumps(inside(args), indent=1))
        return 0
    harness.chp_command()
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as folder:
        staging = Path(folder) / "staging"
        staging.mkdir()
        out = Path(folder) / "report.json"
        command = loopback_only([*harness.PRIVATE_NAMESPACES,
                                 sys.executable, __file__, "--inside", "--staging", str(staging), "--out", str(out),
                                 "--max-learners", str(args.max_learners), "--repeat", str(args.repeat),
                                 "--pace", str(args.pace), "--window", str(args.window)])
        done = subprocess.run(command, cwd=ROOT, timeout=3600, check=False)
        if done.returncode != 0 or not out.exists():
            print("the bench failed", file=sys.stderr)
            return 1
        report = json.loads(out.read_text())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    show(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
