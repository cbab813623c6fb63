"""JupyterLab in a real browser: every notebook opened, *Restart Kernel and Run All*, in Chromium; 07's
selector widget rendered on first open, then changed after Run All with the cells below run again.

The driver (drive_jupyterlab.py) runs with the emulator, JupyterLab and Chromium in a loopback-only
network namespace; screenshots and results are kept in ``output/browser/`` as test artifacts.
Chromium comes from Debian (scripts/setup-test-tools.sh installs it); Playwright drives it through
``executable_path`` (browser downloads are impossible here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from netns import NoNamespace, check_namespaces, loopback_only  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "output" / "browser"
CHROMIUM = os.environ.get("WORKBOOK_CHROMIUM", "/usr/bin/chromium")
# The browser run takes minutes: it starts after collection and overlaps the suite, but run on its own the
# first test waits for all of it.
pytestmark = pytest.mark.timeout(1200)
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_NOTEBOOKS = {"07_resource_manager_user_assigned.ipynb"}


_started: subprocess.Popen | None = None
_cannot_start: str | None = None


def start_driver() -> None:
    """Start the browser run in the background (tests/conftest.py calls this right after collection,
    so it overlaps the rest of the suite); the tests below wait for it and run last."""
    global _started, _cannot_start
    if _started is not None or _cannot_start is not None:
        return
    if not Path(CHROMIUM).exists():
        _cannot_start = f"{CHROMIUM} is missing: `make test` installs it (scripts/setup-test-tools.sh)"
        return
    try:
        check_namespaces()
    except NoNamespace as exc:
        _cannot_start = str(exc)
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*"):
        old.unlink()
    driver = Path(__file__).with_name("drive_jupyterlab.py")
    log = (ARTIFACTS / "driver.log").open("w", encoding="utf-8")
    # DEBUG=pw:browser: Chromium's own last lines go to driver.log, which a failure shows the end of.
    _started = subprocess.Popen(loopback_only([sys.executable, str(driver), str(ARTIFACTS)]),
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "DEBUG": "pw:browser"})


@pytest.fixture(scope="module")
def browser_run() -> dict:
    start_driver()
    assert _cannot_start is None, _cannot_start
    assert _started is not None
    code = _started.wait(timeout=900)
    assert code == 0, (ARTIFACTS / "driver.log").read_text(encoding="utf-8")[-3000:]
    return json.loads((ARTIFACTS / "results.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(browser_run: dict, name: str) -> None:
    outcome = browser_run.get(name)
    assert outcome is not None, f"{name} was not run; see {ARTIFACTS / 'driver.log'}"
    if outcome["browser_lost"]:  # Chromium went away and the notebook was run again in a new one: say so
        warnings.warn(f"{name}: the browser was lost and started again ({outcome['browser_lost']})", stacklevel=1)
    assert not outcome["timed_out"], f"{name}: a cell was still running after the timeout"
    assert outcome["errors"] == [], f"{name}: error outputs {outcome['errors']}"
    assert outcome["cells_not_run"] == 0, f"{name}: {outcome['cells_not_run']} code cells never ran"
    assert outcome["widgets_as_text"] == [], f"{name}: widgets shown as text {outcome['widgets_as_text']}"
    if name in WIDGET_NOTEBOOKS:
        assert outcome["widgets_on_open"] >= 1, f"{name}: its widget did not render on first open (saved state)"
        assert outcome["rendered_widgets"] >= 1, f"{name}: its widget did not render"
        rerun = outcome.get("rerun")
        assert rerun is not None, f"{name}: the widget was not changed after Run All"
        assert not rerun["timed_out"], f"{name}: after changing the widget, a cell below was still running"
        assert rerun["errors"] == [], f"{name}: after changing the widget, error outputs {rerun['errors']}"
        assert rerun["used_the_new_value"], f"{name}: the cells below did not use {rerun['value']!r}"
    assert (ARTIFACTS / f"{Path(name).stem}.png").exists()
