"""The class table: learners × scenarios, from each learner's progress book. Rendered as text (the
``workbook-trainer`` command) and HTML (the hub service's page); JSON is the data itself.

Names of notebooks and steps, times and counts only: a progress book holds nothing else.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.progress import is_finished, summarize

# The workbook's scenarios: always columns, in this order, even before anyone got there.
SCENARIOS = ("00", "01", "02", "03", "04", "05", "06", "07")


@dataclass
class LearnerRow:
    name: str
    server: str  # "running", "stopped", "unreachable" (running, but no answer), "no emulator"
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # notebook -> steps (from the book)
    seen_at: str | None = None  # when the progress shown was read (older than now for a stopped server)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "server": self.server, "seenAt": self.seen_at,
            "notebooks": {name: {"steps": steps, "summary": summarize(steps), "finished": is_finished(steps)}
                          for name, steps in sorted(self.notebooks.items())},
        }


def scenario_columns(rows: Iterable[LearnerRow]) -> list[str]:
    recorded = {name for row in rows for name in row.notebooks}
    return [*SCENARIOS, *sorted(recorded - set(SCENARIOS))]


def as_json(rows: list[LearnerRow], generated_at: str) -> dict[str, Any]:
    return {"generatedAt": generated_at, "scenarios": scenario_columns(rows),
            "learners": [row.as_json() for row in rows]}


def rows_from_json(data: Mapping[str, Any]) -> list[LearnerRow]:
    rows = []
    for learner in data.get("learners", []):
        notebooks = {name: dict(cell.get("steps", {})) for name, cell in learner.get("notebooks", {}).items()}
        rows.append(LearnerRow(learner["name"], learner.get("server", "?"), notebooks, learner.get("seenAt")))
    return rows


def _cell(steps: Mapping[str, Any] | None) -> str:
    if not steps:
        return "·"
    return ("✔ " if is_finished(steps) else "") + summarize({k: v for k, v in steps.items() if k != "finished"})


def as_text(rows: list[LearnerRow]) -> str:
    """A fixed-width table: one line per learner, one column per scenario."""
    columns = scenario_columns(rows)
    header = ["learner", "server", *columns]
    body = [[row.name, row.server, *(_cell(row.notebooks.get(c)) for c in columns)] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    finished = {c: sum(1 for row in rows if is_finished(row.notebooks.get(c, {}))) for c in columns}
    lines.append("")
    lines.append("finished: " + ", ".join(f"{c} {finished[c]}/{len(rows)}" for c in columns))
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; font-size: 0.9em; }
td.finished { background: #dff5df; }
td.started { background: #fff7d6; }
.muted { color: #777; }
"""


def as_html(rows: list[LearnerRow], generated_at: str, json_url: str) -> str:
    columns = scenario_columns(rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            steps = row.notebooks.get(column)
            kind = "finished" if steps and is_finished(steps) else "started" if steps else ""
            cells.append(f'<td class="{kind}">{html.escape(_cell(steps))}</td>')
        seen = f'<br><span class="muted">as of {html.escape(row.seen_at)}</span>' \
            if row.server != "running" and row.seen_at else ""
        body.append(f"<tr><th>{html.escape(row.name)}</th><td>{html.escape(row.server)}{seen}</td>{''.join(cells)}</tr>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='60'>"
            f"<title>Workbook progress</title>"
            f"<style>{_STYLE}</style></head><body><h1>Managed Identity Workbook: who finished what</h1>"
            f"<p class='muted'>{len(rows)} learners, read {html.escape(generated_at)} (this page reloads every "
            f"minute). ✔ = ran to the end; "
            f"steps that succeeded: denied (saw the refusal), granted, allowed, exercise ✓/✗. "
            f"<a href='{html.escape(json_url)}'>JSON</a></p>"
            f"<table><tr><th>learner</th><th>server</th>{head}</tr>{''.join(body)}</table></body></html>")
