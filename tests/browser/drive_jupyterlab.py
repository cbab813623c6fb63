"""Drive JupyterLab in a real Chromium the way a learner does, inside a loopback-only namespace.

Run by tests/browser/test_jupyterlab.py as ``unshare --net … python drive_jupyterlab.py <out>``:
starts the emulator (default ports: the namespace has its own), copies the notebooks to a scratch
folder (JupyterLab saves what it runs; the committed notebooks must stay as they are), starts
JupyterLab on it and loads it once in Chromium; for every notebook: open it in that page, as from the
file browser (and count the widgets that render from the saved state before anything runs), *Restart
Kernel and Run All Cells*, wait until no cell is running, save, screenshot, and record what the saved
notebook holds (error outputs, cells never run, widgets shown as text). A notebook with a widget is then
used as a learner would after *Run All*: the widget changed, the cells below it run again (*Run Selected
Cell and All Below*), and what they printed recorded too.
Results go to ``<out>/results.json``; the test asserts.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
# A widget changed after Run All, then the cells below it run again: (the widget cell's code, the new value).
WIDGET_RERUNS = {"07_resource_manager_user_assigned.ipynb": ("selector_widget = widgets.Dropdown", "object_id")}
# What ended the browser or its page, as it happened (Playwright's events): cleared once a new browser is running.
BROWSER_EVENTS: list[str] = []
_RENDERED_WIDGETS = "() => document.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length"
CHROMIUM = os.environ.get("WORKBOOK_CHROMIUM", "/usr/bin/chromium")
NOTEBOOK_TIMEOUT = float(os.environ.get("WORKBOOK_BROWSER_NOTEBOOK_TIMEOUT", "240"))
# Flags a root, headless, offline Chromium needs (no sandbox as root; no background calls home).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(kernel && kernel.status === 'idle' && w.content && w.content.widgets.length);
}"""
_STILL_RUNNING = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')].map(p => p.textContent);
  return prompts.some(t => t.includes('*')) || !kernel || kernel.status !== 'idle';
}"""


def start_emulator(data_dir: Path) -> dict[str, str]:
    started = subprocess.run(
        [sys.executable, "-m", "emulator", "start", "--data-dir", str(data_dir), "--in-memory", "--no-throttling"],
        capture_output=True, text=True, timeout=60, check=True)
    variables = {}
    for line in started.stdout.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            variables[name] = value.strip("'")
    return variables


def lab_config(folder: Path) -> Path:
    """A Jupyter config dir of our own: no news pop-up over the screenshots, nothing from the user's."""
    config = folder / "jupyter-config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}), encoding="utf-8")
    return config


def lab_settings(folder: Path) -> Path:
    """JupyterLab user settings of our own: every cell in the page (no windowing), so what the driver looks for
    (running prompts, rendered widgets, the dropdown) is there whether or not it is scrolled into view."""
    settings = folder / "lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}), encoding="utf-8")
    return settings


def trust(notebooks: list[Path], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "jupyter", "trust", *map(str, notebooks)], env=env, capture_output=True,
                   timeout=120, check=True)


def start_jupyterlab(folder: Path, env: dict[str, str], token: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = 8888  # the namespace is ours alone
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--notebook-dir={folder}", "--LabApp.expose_app_in_browser=True",
               "--allow-root"]
    process = subprocess.Popen(command, env={**env, "JUPYTER_TOKEN": token}, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/api/status", params={"token": token}, timeout=2).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not start; see {log}")


def saved_notebook_findings(path: Path) -> dict[str, Any]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    errors, not_run, widget_as_text = [], 0, []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        if cell.get("execution_count") is None:
            not_run += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {index}: {output.get('ename')}: {str(output.get('evalue'))[:200]}")
            text = "".join(output.get("data", {}).get("text/plain", ""))
            has_view = "application/vnd.jupyter.widget-view+json" in output.get("data", {})
            if not has_view and any(text.startswith(w + "(") for w in ("Dropdown", "VBox", "HBox", "Output")):
                widget_as_text.append(f"cell {index}: {text[:60]}")
    return {"errors": errors, "cells_not_run": not_run, "widgets_as_text": widget_as_text}


def _wait_until_idle(page: Any) -> bool:
    """Wait for a run to start, then for every cell to finish; False when the timeout came first."""
    try:  # a cell queued: the run has started (a loaded machine may take a while to restart the kernel)
        page.wait_for_function("() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
                               ".some(p => p.textContent.includes('*'))", timeout=60_000, polling=100)
    except Exception:  # playwright's TimeoutError: never seen busy; the idle check below still has to hold
        print("(the run was not seen starting)", flush=True)
    try:
        page.wait_for_function(f"() => !({_STILL_RUNNING})()", timeout=NOTEBOOK_TIMEOUT * 1000, polling=500)
    except Exception:  # playwright's TimeoutError: record it, keep the screenshot
        return False
    return True


def widgets_rendered(page: Any, timeout_ms: float) -> int:
    """Widgets rendered in the notebook, waiting up to ``timeout_ms`` for the first (0 when none came)."""
    try:
        page.wait_for_function(f"() => ({_RENDERED_WIDGETS})() > 0", timeout=timeout_ms, polling=250)
    except Exception:  # playwright's TimeoutError: none rendered
        return 0
    return page.evaluate(_RENDERED_WIDGETS)


def widgets_on_open(page: Any) -> int:
    """Widgets rendered from the notebook's saved widget state, before any cell ran (0 after 15 s)."""
    return widgets_rendered(page, 15_000)


def change_widget_and_run_below(page: Any, cell_code: str, value: str) -> bool:
    """Choose ``value`` in the notebook's dropdown, select the cell below the widget's, Run Selected Cell and All
    Below — what a learner does after Run All to try another choice. False when a cell was still running."""
    page.locator(".jp-OutputArea-output .widget-dropdown select").first.select_option(value)
    found = page.evaluate("""(code) => {
      const notebook = window.jupyterapp.shell.currentWidget.content;
      const index = notebook.widgets.findIndex(cell => cell.model.sharedModel.getSource().includes(code));
      if (index < 0) { return false; }
      notebook.activeCellIndex = index + 1;
      window.jupyterapp.commands.execute('notebook:run-all-below');
      return true;
    }""", cell_code)
    if not found:
        raise RuntimeError(f"no cell with {cell_code!r}")
    return _wait_until_idle(page)


def end_sessions(base: str, token: str) -> None:
    """Shut down every kernel session JupyterLab holds: the next notebook starts with its own kernel alone."""
    for session in requests.get(f"{base}/api/sessions", params={"token": token}, timeout=10).json():
        requests.delete(f"{base}/api/sessions/{session['id']}", params={"token": token}, timeout=30)


def launch_browser(playwright: Any, base: str, token: str, reset_workspace: bool = False) -> tuple[Any, Any]:
    """Chromium with one page holding JupyterLab. What ends it is printed when it happens (with a timestamp), so a
    lost browser in CI leaves its reason in driver.log beside Chromium's own last lines (DEBUG=pw:browser)."""
    def happened(event: str) -> None:
        BROWSER_EVENTS.append(f"{time.strftime('%H:%M:%S')} {event}")
        print(BROWSER_EVENTS[-1], flush=True)

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    browser.on("disconnected", lambda _: happened("the browser disconnected"))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("crash", lambda _: happened("the page crashed"))
    open_jupyterlab(page, base, token, reset_workspace)
    return browser, page


def open_jupyterlab(page: Any, base: str, token: str, reset_workspace: bool = False) -> None:
    """Load JupyterLab once: every notebook is then opened inside it, as a learner opens one from the file browser
    (loading the whole app again for each cost Chromium ~7 s of CPU; opening a notebook in it, ~3 s). A reset
    workspace opens no notebook the previous browser left open."""
    page.goto(f"{base}/lab?{'reset&' if reset_workspace else ''}token={token}")
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")


def close_every_notebook(page: Any) -> None:
    """Close the notebook just run, so the next one opens alone: what was saved is what the test reads, so a
    change after the save (a widget drawn late) is dropped rather than answered with a "Save changes?" dialog
    (that dialog would wait over the page, and the next notebook's restart dialog would not be the first)."""
    page.evaluate("""async () => {
      for (const widget of window.jupyterapp.shell.widgets('main')) {
        if (widget.context && widget.context.model) { widget.context.model.dirty = false; }
      }
      await window.jupyterapp.commands.execute('application:close-all');
    }""")
    page.wait_for_function("() => ![...window.jupyterapp.shell.widgets('main')].some(w => w.sessionContext)",
                           timeout=30_000)


def run_notebook(page: Any, base: str, token: str, name: str, shots: Path, saved: Path) -> dict[str, Any]:
    started = time.monotonic()
    page.evaluate("(path) => { window.jupyterapp.commands.execute('docmanager:open', {path}); }", name)
    page.wait_for_function(_KERNEL_IDLE, timeout=60_000)
    on_open = widgets_on_open(page) if name in WIDGET_RERUNS else None
    # Not awaited: the command's promise settles only once its dialog is answered.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-run-all'); }")
    page.locator(".jp-Dialog .jp-mod-accept").click(timeout=15_000)  # "Restart kernel?" → Restart
    timed_out = not _wait_until_idle(page)
    # A widget's view is drawn after its cell has finished, once the page's widget manager has the kernel's comm
    # open: on a loaded machine that can take seconds more (CI once counted 0 at once), so wait for it.
    rendered_widgets = widgets_rendered(page, 30_000) if name in WIDGET_RERUNS else page.evaluate(_RENDERED_WIDGETS)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.screenshot(path=str(shots / f"{Path(name).stem}.png"), full_page=False)
    outcome: dict[str, Any] = {"timed_out": timed_out, "rendered_widgets": rendered_widgets,
                               "widgets_on_open": on_open}
    if name in WIDGET_RERUNS and not timed_out:
        outcome.update(saved_notebook_findings(saved))  # the Run All's findings, before the re-run changes them
        cell_code, value = WIDGET_RERUNS[name]
        finished = change_widget_and_run_below(page, cell_code, value)
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / f"{Path(name).stem}-rerun.png"), full_page=False)
        rerun = saved_notebook_findings(saved)
        outputs = "".join("".join(o.get("text", "")) for c in json.loads(saved.read_text(encoding="utf-8"))["cells"]
                          for o in c.get("outputs", []) if o.get("output_type") == "stream")
        outcome["rerun"] = {"value": value, "timed_out": not finished, "errors": rerun["errors"],
                            "used_the_new_value": f"token request selector: {{'{value}'" in outputs}
    end_sessions(base, token)
    close_every_notebook(page)
    outcome["seconds"] = round(time.monotonic() - started, 1)
    return outcome


def main(out: Path) -> int:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="workbook-browser-"))
    folder = scratch / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = {**os.environ, "WORKBOOK_EMULATOR_HOME": str(scratch / "emulator"),
           "JUPYTER_CONFIG_DIR": str(lab_config(scratch)), "JUPYTERLAB_SETTINGS_DIR": str(lab_settings(scratch)),
           "JUPYTER_DATA_DIR": str(scratch / "jupyter-data")}  # the trust database too: nothing in your own
    env.update(start_emulator(scratch / "emulator"))
    # As `make workbook` does: trusted notebooks render their saved widget state on first open.
    trust(list(folder.glob("*.ipynb")), env)
    token = secrets.token_urlsafe(16)
    lab, base = start_jupyterlab(folder, env, token, out / "jupyterlab.log")
    results: dict[str, Any] = {}
    try:
        with sync_playwright() as playwright:
            browser, page = launch_browser(playwright, base, token)
            for notebook in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
                browser_lost = None
                try:
                    outcome = run_notebook(page, base, token, notebook.name, out, notebook)
                except PlaywrightError as exc:
                    if not (BROWSER_EVENTS or page.is_closed() or not browser.is_connected()):
                        raise  # the page is alive: a failure of the notebook or of the driver, not of Chromium
                    # Chromium or its page went away (CI saw it once, mid-suite). Say so, start a new browser on a
                    # fresh workspace, and run this notebook again, once: a second loss fails the run.
                    browser_lost = f"{'; '.join(BROWSER_EVENTS)}; {type(exc).__name__}: {str(exc).splitlines()[0]}"
                    print(f"{notebook.name}: the browser was lost ({browser_lost}); starting a new one", flush=True)
                    if browser.is_connected():
                        browser.close()  # its "disconnected" event comes now: cleared with the rest below
                    BROWSER_EVENTS.clear()
                    end_sessions(base, token)
                    # The lost run may have saved the notebook already: it is run again from the committed copy.
                    shutil.copy2(ROOT / "notebooks" / notebook.name, notebook)
                    trust([notebook], env)
                    browser, page = launch_browser(playwright, base, token, reset_workspace=True)
                    outcome = run_notebook(page, base, token, notebook.name, out, notebook)
                if "errors" not in outcome:  # widget notebooks recorded the Run All's findings before re-running
                    outcome.update(saved_notebook_findings(notebook))
                outcome["browser_lost"] = browser_lost
                results[notebook.name] = outcome
                print(notebook.name, outcome, flush=True)
            browser.close()
    finally:
        lab.terminate()
        lab.wait(timeout=20)
        subprocess.run([sys.executable, "-m", "emulator", "stop", "--data-dir", str(scratch / "emulator")],
                       capture_output=True, timeout=30)
        (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
