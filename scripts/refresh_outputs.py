"""Re-execute notebooks in place, so they are committed with outputs a learner can read on the web.

    python scripts/refresh_outputs.py notebooks/02_blob_storage.ipynb …   # or no argument: every notebook

Each run is repeatable: it re-runs itself in a loopback-only network namespace (nothing can leave the
machine; needs root or user namespaces), with a scratch HOME so paths read ``~/.mi-workbook/emulator``,
starts the emulator there on its default ports, resets it before each notebook, and executes the
notebook with nbclient (widget state saved, so widgets render on first open; no timing metadata). The
Azure CLI runs where it is installed (``WORKBOOK_AZ``, else ``~/.cache/mi-workbook/az-venv/bin/az`` from
scripts/az-cli.sh); without it the notebooks only show their az commands. Tokens are masked by the
notebooks themselves; tests/notebooks checks that no whole token, key or signature was saved.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSIDE = "WORKBOOK_REFRESH_INSIDE_NAMESPACE"
CELL_TIMEOUT = 300


def _az() -> str:
    chosen = os.environ.get("WORKBOOK_AZ") or str(Path.home() / ".cache" / "mi-workbook" / "az-venv" / "bin" / "az")
    return chosen if Path(chosen).exists() else "none"


def _emulator(home: Path, *verb: str) -> str:
    done = subprocess.run([sys.executable, "-m", "emulator", *verb], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(home)}, cwd=ROOT, check=True)
    return done.stdout


def _execute(notebook: Path, env: dict[str, str]) -> None:
    import nbformat
    from nbclient import NotebookClient
    from run_notebooks import kernel_config  # this folder: the script's own, first on sys.path

    node = nbformat.read(notebook, as_version=4)
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(node, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                       store_widget_state=True, resources={"metadata": {"path": str(notebook.parent)}},
                       **kernel_config(env["HOME"])).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    nbformat.write(node, notebook)


def inside(notebooks: list[Path]) -> int:
    home = Path(tempfile.mkdtemp(prefix="workbook-refresh-home-"))
    (home / ".cache").symlink_to(Path.home() / ".cache")  # az's cached install; pip and friends
    env = {**os.environ, "HOME": str(home), "WORKBOOK_AZ": _az(), "PYTHONPATH": str(ROOT)}
    for name in ("WORKBOOK_EMULATOR_HOME", "WORKBOOK_PROFILE", "WORKBOOK_TARGET", "AZURE_POD_IDENTITY_AUTHORITY_HOST"):
        env.pop(name, None)
    started = _emulator(home, "start", "--in-memory")
    for line in started.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value.strip("'")
    try:
        for notebook in notebooks:
            _emulator(home, "reset")
            print(f"executing {notebook.relative_to(ROOT)} (az: {env['WORKBOOK_AZ']}) ...", flush=True)
            _execute(notebook, env)
    finally:
        _emulator(home, "stop")
        shutil.rmtree(home, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to re-execute (default: all in notebooks/)")
    args = parser.parse_args(argv)
    chosen = [Path(n).resolve() for n in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if os.environ.get(INSIDE) == "1":
        return inside(chosen)
    sys.path.insert(0, str(ROOT / "tests"))
    from netns import loopback_only

    command = loopback_only([sys.executable, str(Path(__file__).resolve()), *map(str, chosen)])
    return subprocess.run(command, env={**os.environ, INSIDE: "1"}, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
