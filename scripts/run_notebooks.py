"""Run the workbook headless: every scenario notebook through papermill, each written as an
executed ``.ipynb`` and as HTML into an output folder, and one summary table (notebook, seconds,
result) printed and saved as ``summary.md``.

    python scripts/run_notebooks.py                   # against the running emulator
    python scripts/run_notebooks.py --target azure    # on an Azure VM

Exit status 1 when a notebook failed. Used by ``make workbook-headless``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def kernel_config(socket_dir: str) -> dict[str, Any]:
    """Kernels talk to this process over Unix sockets in a private folder where there are any (not Windows):
    nothing on the network to eavesdrop, so ipykernel has no "running over TCP without encryption" to warn of."""
    if os.name == "nt":
        return {}
    from traitlets.config import Config

    return {"config": Config({"KernelManager": {"transport": "ipc", "ip": str(Path(socket_dir) / "kernel")}})}


def _first_error(notebook_path: Path) -> str:
    import nbformat

    try:
        executed = nbformat.read(notebook_path, as_version=4)
    except (OSError, ValueError):
        return "the notebook could not be read back"
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {str(output.get('evalue'))[:160]}"
    return "failed"


def _html(executed: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    target = executed.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="emulator", choices=["emulator", "azure", "auto"])
    parser.add_argument("--out", default=str(ROOT / "output"), help="folder for the executed notebooks")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell (default: %(default)s)")
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: every scenario notebook)")
    args = parser.parse_args(argv)

    import papermill

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [Path(n) for n in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="kernels-") as sockets:  # private to this user (0700)
        for notebook in chosen:
            executed = out / notebook.name
            print(f"Running {notebook.name} (target {args.target}) ...", flush=True)
            started = time.perf_counter()
            try:
                papermill.execute_notebook(
                    str(notebook), str(executed), parameters={"target": args.target}, kernel_name="python3",
                    cwd=str(notebook.resolve().parent), execution_timeout=args.timeout, progress_bar=False,
                    **kernel_config(sockets),
                )
                result = "ok"
            except Exception as exc:  # papermill raises its own error types for a failed cell; report and go on
                result = _first_error(executed) if executed.exists() else f"{type(exc).__name__}: {exc}"[:200]
            seconds = time.perf_counter() - started
            if executed.exists():
                _html(executed)
            rows.append((notebook.name, seconds, result))

    table = ["| notebook | seconds | result |", "|---|---:|---|"]
    table += [f"| {name} | {seconds:.1f} | {result} |" for name, seconds, result in rows]
    (out / "summary.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    print()
    print("\n".join(table))
    print(f"\nExecuted notebooks and HTML are in {out}/ (summary.md has this table).")
    return 0 if all(result == "ok" for _, _, result in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
