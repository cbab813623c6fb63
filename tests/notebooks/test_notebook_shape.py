"""The shape every notebook shares (DESIGN §3): exercises committed unanswered with a hidden solution, the test
machinery out of sight, a recap and a link onwards, an index that lists them all, and a preflight that stops
*Run All* with one message when nothing answers."""

from __future__ import annotations

import json
import re

import nbformat
import papermill
import pytest
from test_notebooks import CELL_TIMEOUT, NOTEBOOKS, outputs_text

ALL_SCENARIOS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SCENARIOS = ALL_SCENARIOS
INDEX = NOTEBOOKS / "index.ipynb"


def _sources(notebook: nbformat.NotebookNode, kind: str) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == kind]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name[:2])
def test_exercises_are_committed_unanswered_with_the_solution_hidden(path):
    notebook = nbformat.read(path, as_version=4)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    assert re.search(r"^(exercise_answer|reports_permissions) = None\b", parameters.source, re.M), \
        "the exercise's answer is a parameter that starts as None"
    hidden = [c for c in notebook.cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    assert any("Solution" in c.source for c in hidden), "the solution is in a collapsed cell"
    text = outputs_text(notebook)
    assert "Set your answer above" in text, "committed unanswered: the check asks for an answer"
    assert "✓ Right" not in text and "✗" not in text, "committed unanswered: no verdict in the outputs"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name[:2])
def test_the_test_machinery_stays_out_of_sight(path):
    notebook = nbformat.read(path, as_version=4)
    code, markdown = _sources(notebook, "code"), _sources(notebook, "markdown")
    assert not any("NBVAL_" in source for source in code + markdown), "nbval cell tags, not comments"
    assert sum(source.count("preflight(target)") for source in code) == 1, "one preflight call"
    assert not any("papermill" in source.lower() for source in markdown), "prose for a learner"
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in notebook.cells)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name[:2])
def test_each_notebook_ends_with_a_recap_and_where_to_go_next(path):
    notebook = nbformat.read(path, as_version=4)
    last = _sources(notebook, "markdown")[-1]
    assert "Recap" in last, "a recap at the end"
    following = [p.name for p in ALL_SCENARIOS if p.name > path.name]
    expected = following[0] if following else "index.ipynb"
    assert f"]({expected})" in last, f"the last cell links to {expected}"
    first = _sources(notebook, "markdown")[0]
    assert "Prerequisites" in first and "Time" in first, "prerequisites and time at the top"


def test_the_index_links_every_notebook_with_what_it_teaches():
    notebook = nbformat.read(INDEX, as_version=4)
    assert all(cell.cell_type == "markdown" for cell in notebook.cells), "the index is markdown only"
    text = "\n".join(cell.source for cell in notebook.cells)
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    for path in ALL_SCENARIOS:
        row = next((r for r in rows if f"]({path.name})" in r), None)
        assert row is not None, f"the index links {path.name}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4 and all(cells), f"{path.name}: what it teaches, prerequisites, time"
        assert re.search(r"\d+(–\d+)? min", cells[3]), f"{path.name}: a time estimate"


def test_preflight_stops_run_all_with_one_message(tmp_path, monkeypatch):
    """No emulator and no VM: the preflight cell shows one message, and Run All stops there."""
    stale = tmp_path / "profile.json"
    stale.write_text(json.dumps({"control": "http://127.0.0.1:9/__emulator", "control_secret": "x"}))
    monkeypatch.setenv("WORKBOOK_PROFILE", str(stale))
    monkeypatch.setenv("WORKBOOK_AZ", "none")
    output = tmp_path / "stopped.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(str(NOTEBOOKS / "02_blob_storage.ipynb"), str(output),
                                   parameters={"target": "emulator"}, kernel_name="python3", cwd=str(NOTEBOOKS),
                                   execution_timeout=CELL_TIMEOUT, progress_bar=False)
    cells = [c for c in nbformat.read(output, as_version=4).cells if c.cell_type == "code"]
    errors = [(i, o) for i, c in enumerate(cells) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert len(errors) == 1, "one message, not one error per cell"
    at, error = errors[0]
    assert "preflight(target)" in cells[at].source and error["ename"] == "PreflightFailed"
    assert "The emulator is not running" in error["evalue"]
    assert all(c.get("execution_count") is None for c in cells[at + 1:]), "Run All stopped at preflight"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name[:2])
def test_progress_records_show_nothing_to_the_learner(path):
    """lib.progress.record returns whether the emulator kept the step: a cell ending with it would show True."""
    notebook = nbformat.read(path, as_version=4)
    code = _sources(notebook, "code")
    assert any("progress.record(" in source for source in code), "the notebook records the learner's progress"
    for source in code:
        last = source.strip().splitlines()[-1] if source.strip() else ""
        assert not last.startswith("progress.record("), f"a cell ends with a progress record: {last}"
